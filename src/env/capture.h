// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// Environment capture: what machine and software a run executed on (OS,
// kernel, CPU, memory, compiler, libc, Debian packages, Python packages,
// GPU), recorded as JSON in every manifest so two runs can be compared
// field by field. A smaller toolchain fingerprint, without volatile facts,
// feeds cache keys.

#ifndef LOCKSTEP_ENV_CAPTURE_H_
#define LOCKSTEP_ENV_CAPTURE_H_

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/canonical_json.h"
#include "core/status.h"
#include "store/host_facts.h"

namespace lockstep::env {

namespace fs = std::filesystem;

struct CaptureOptions {
  // A Python interpreter whose installed packages are listed; empty for
  // none. Failing to run it is an error (it was declared).
  std::string python;
  // Prefix for /etc, /proc and /var/lib/dpkg; tests point it at a fake
  // tree. uname, libc and the compilers always describe this machine.
  fs::path root = "/";
  // A store folder whose cache keeps the compiler's version line between
  // runs (store/host_facts.h), saving a `gcc --version` process; empty
  // to always run it.
  fs::path cache_root;
};

// Captures the environment:
//   {"os": {"id", "version_id", "pretty_name"},
//    "kernel": {"name", "release", "version", "machine"},
//    "cpu": {"model", "flags": [...sorted], "cores"},
//    "memory_bytes", "compiler": {"lockstep_build", "gcc"},
//    "libc": {"name", "version"},
//    "debian_packages": {"name:arch": "version", ...},
//    "python": {"executable", "version", "packages": {name: version}},
//    "gpu": null or {"driver", "models": [...]}}
// Facts that cannot be read are null; only a declared Python that fails
// to run is an error.
Result<Json> CaptureEnvironment(const CaptureOptions& options = {});

// The key the compiler's version line is cached under: the gcc that
// PATH resolves to (every link and the file, by stat) and the locale
// variables its messages follow. Exposed for tests.
store::HostFactKey CompilerKey(const fs::path& gcc);

// /etc/os-release: {"id", "version_id", "pretty_name"} (quotes removed).
Json ParseOsRelease(std::string_view text);

// /proc/cpuinfo: {"model", "flags"} of the first processor.
Json ParseCpuInfo(std::string_view text);

// /proc/meminfo "MemTotal:" in bytes; 0 when absent.
uint64_t ParseMemTotal(std::string_view text);

// dpkg's status file: installed packages ("Status: install ok installed")
// as "name:arch" -> version.
std::map<std::string, std::string> ParseDpkgStatus(std::string_view text);

// One difference between two captures. `field` is a JSON pointer
// ("/os/version_id"); for lists of names (CPU flags, GPU models) each
// added or removed element is one change with the other side null.
struct EnvironmentChange {
  std::string field;
  Json old_value;  // null when absent in the first capture
  Json new_value;  // null when absent in the second
};

// Every field that differs between captures `a` and `b`, in field order.
std::vector<EnvironmentChange> DiffEnvironments(const Json& a, const Json& b);

// [{"field", "old", "new"}, ...]
Json ChangesToJson(const std::vector<EnvironmentChange>& changes);

// The part of a capture that decides what a build or step produces, for
// cache keys: {"os", "arch", "compiler", "libc", "debian_packages":
// {name: version or null}} for the named packages ("libc6" or
// "libc6:amd64"). Memory, kernel build, CPU speed and the package list at
// large are left out so that keys survive reboots and unrelated upgrades.
Json ToolchainFingerprint(const Json& capture,
                          const std::vector<std::string>& debian_packages);

// A few human lines for `lockstep env capture` without --json.
std::string FormatEnvironmentSummary(const Json& capture);

}  // namespace lockstep::env

#endif  // LOCKSTEP_ENV_CAPTURE_H_
