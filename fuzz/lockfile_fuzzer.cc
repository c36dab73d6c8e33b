// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// libFuzzer target for the requirements-lock parser and the other text
// the env module reads from untrusted files: wheel and sdist names, RECORD
// base64, dpkg status, /proc/cpuinfo and os-release.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "env/base64.h"
#include "env/capture.h"
#include "env/lockfile.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  for (bool allow : {false, true}) {
    lockstep::env::LockfileOptions options;
    options.allow_unhashable = allow;
    auto lock = lockstep::env::ParseLockfile(text, "fuzz.lock", options);
    if (lock.ok()) {
      for (const auto& package : lock->packages) {
        // Every accepted package is pinned and hashed, or unhashable.
        if (package.unhashable_kind.empty() &&
            (package.version.empty() ||
             (package.sha256.empty() && package.other_hashes.empty()))) {
          __builtin_trap();
        }
      }
    }
  }

  std::string name, version;
  lockstep::env::ParseArtifactName(text, &name, &version);
  auto decoded = lockstep::env::Base64Decode(text);
  if (decoded &&
      lockstep::env::Base64Decode(lockstep::env::Base64Encode(*decoded)) !=
          decoded) {
    __builtin_trap();
  }
  lockstep::env::ParseDpkgStatus(text);
  lockstep::env::ParseCpuInfo(text);
  lockstep::env::ParseOsRelease(text);
  return 0;
}
