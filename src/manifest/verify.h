// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// What an auditor runs: check a manifest's hash and detached Ed25519
// signature, and list what it pins (code, data, params, seeds,
// environment, outputs). Signing signs the manifest file's exact bytes;
// the signature lives next to it as MANIFEST.sig.

#ifndef LOCKSTEP_MANIFEST_VERIFY_H_
#define LOCKSTEP_MANIFEST_VERIFY_H_

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace lockstep::manifest {

using Json = nlohmann::json;

struct VerifyOutcome {
  Status hash;                 // OK, or which fields no longer match.
  bool signature_present = false;
  Status signature;            // OK when verified (or not asked for).
  std::string signed_by;       // Fingerprint of the signing key.
  Json pins;                   // What the manifest pins.

  bool ok() const { return hash.ok() && signature.ok(); }
  Json ToJson() const;
};

// Verifies the manifest at `path`; with `public_key_path` set, a missing
// or wrong signature fails. An error Status only when the file cannot be
// read or is not JSON (InvalidArgument) or is absent (NotFound).
Result<VerifyOutcome> VerifyManifestFile(
    const std::filesystem::path& path,
    const std::filesystem::path& public_key_path);

// Signs the manifest file's bytes with the PEM private key; writes and
// returns the path of the detached signature. Refuses a manifest whose
// hash does not match (InvalidArgument).
Result<std::filesystem::path> SignManifestFile(
    const std::filesystem::path& path,
    const std::filesystem::path& private_key_path);

// The pinned inputs and outputs of a manifest, in a compact JSON form.
Json PinnedSummary(const Json& manifest);

// A few human lines for PinnedSummary's result.
std::string FormatPinnedSummary(const Json& pins);

}  // namespace lockstep::manifest

#endif  // LOCKSTEP_MANIFEST_VERIFY_H_
