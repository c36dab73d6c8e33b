// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// Pinned Python environments: the hash-pinned requirements format that
// pip-compile writes (`name==version --hash=sha256:...`, with `\`
// continuations and `# via` comments), and checks of that lock against an
// installed site-packages folder (dist-info METADATA and RECORD) or a
// folder of wheels and sdists. The result goes into run manifests, and the
// lockfile's digest into the cache keys of the steps that use it.

#ifndef LOCKSTEP_ENV_LOCKFILE_H_
#define LOCKSTEP_ENV_LOCKFILE_H_

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/canonical_json.h"
#include "core/digest.h"
#include "core/status.h"

namespace lockstep::env {

namespace fs = std::filesystem;

// One requirement of the lock.
struct LockedPackage {
  std::string name;                 // PEP 503 normalised ("zope-interface")
  std::string version;              // as pinned after "==", or from the URL
  std::vector<std::string> extras;  // normalised, in file order
  std::string marker;               // environment marker, verbatim
  std::string url;                  // for "name @ url" and editable lines
  std::vector<std::string> sha256;  // lowercase hex, any one may match
  // Hashes in other algorithms ("sha512:..."): kept and reported, never
  // checked.
  std::vector<std::string> other_hashes;
  // Editable or VCS requirement accepted by allow_unhashable; it can be
  // neither pinned nor hashed and is reported as unverified.
  std::string unhashable_kind;  // "", "editable" or "vcs"
  int line = 0;                 // 1-based line where the requirement starts
};

struct Lockfile {
  std::string source;  // the path as given, for messages
  Digest digest;       // sha256 of the file's bytes
  std::vector<LockedPackage> packages;
};

struct LockfileOptions {
  // Accept `-e ...` and VCS (git+...) lines, reported as unverified,
  // instead of failing on them.
  bool allow_unhashable = false;
};

// PEP 503: lowercase, runs of "-", "_", "." become one "-".
std::string NormalizePackageName(std::string_view name);

// Parses lockfile text. InvalidArgument listing every problem, one per
// line, each "source:line: reason".
Result<Lockfile> ParseLockfile(std::string_view text, std::string_view source,
                               const LockfileOptions& options = {});

// Reads and parses the file at `path` (NotFound when absent).
Result<Lockfile> LoadLockfile(const fs::path& path,
                              const LockfileOptions& options = {});

// A difference between the lock and what was checked.
struct LockFinding {
  // "missing", "extra", "other_version", "modified_file", "missing_file",
  // "hash_mismatch", "unverifiable".
  std::string kind;
  std::string package;                // normalised name
  std::string file;                   // file involved, when any
  std::vector<std::string> expected;  // versions or "sha256:<hex>" hashes
  std::string actual;                 // version or "sha256:<hex>"
  std::string message;                // one human line
};

// A package that was accepted without being checked, and why.
struct UnverifiedPackage {
  std::string package;
  int line = 0;
  std::string reason;
};

struct LockVerification {
  std::string lockfile;
  Digest lockfile_digest;
  std::string target_kind;  // "site-packages", "files" or "parse-only"
  std::string target;       // folder checked
  int packages_checked = 0;
  int files_checked = 0;
  std::vector<LockFinding> findings;  // drift; empty means verified
  std::vector<UnverifiedPackage> unverified;

  bool ok() const { return findings.empty(); }
  // The manifest form: {"lockfile", "lockfile_digest", "target", "ok",
  // "packages_checked", "files_checked", "findings", "unverified"}.
  Json ToJson() const;
};

// An installed distribution, from <name>-<version>.dist-info.
struct InstalledDistribution {
  std::string name;     // normalised
  std::string version;  // METADATA "Version:"
  fs::path dist_info;   // the .dist-info folder
};

// Reads every *.dist-info/METADATA directly under `site_packages`, keyed
// by normalised name. InvalidArgument naming the file when a METADATA has
// no Name or Version.
Result<std::map<std::string, InstalledDistribution>> ReadInstalledDistributions(
    const fs::path& site_packages);

struct SitePackagesOptions {
  // Installed but unlocked distributions not reported as "extra": the
  // installer's own tools, which pip-compile leaves out of locks.
  std::set<std::string> ignore_extra = {"pip", "setuptools", "wheel"};
};

// Compares the lock with an installed environment: each locked package's
// version against its METADATA, each file of its RECORD against the
// recorded sha256, and unlocked installed distributions as "extra".
Result<LockVerification> VerifyInstalled(
    const Lockfile& lock, const fs::path& site_packages,
    const SitePackagesOptions& options = {});

// Compares the lock with a folder of wheels and sdists: each artifact is
// matched to its package by the name and version in its file name and
// passes when its sha256 equals any of the package's hashes.
Result<LockVerification> VerifyArtifacts(const Lockfile& lock,
                                         const fs::path& folder);

// Name and version from a wheel or sdist file name; false when the name
// is not one ("foo-1.0-py3-none-any.whl", "foo-1.0.tar.gz").
bool ParseArtifactName(std::string_view file_name, std::string* name,
                       std::string* version);

}  // namespace lockstep::env

#endif  // LOCKSTEP_ENV_LOCKFILE_H_
