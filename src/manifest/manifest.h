// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// The run manifest: one canonical JSON document (RFC 8785) that binds
// everything a run depended on and produced: the pipeline spec digest, the
// code version, data snapshots, params, seeds, environment, and per step
// its cache key, invocation, and input and output digests.
// `manifest_hash` is sha256 over the canonical form without that field;
// `field_hashes` holds the same for each top-level field, so a tampered
// manifest is reported by the field that changed. docs/manifest.md and
// docs/manifest.schema.json define the format.

#ifndef LOCKSTEP_MANIFEST_MANIFEST_H_
#define LOCKSTEP_MANIFEST_MANIFEST_H_

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/digest.h"
#include "core/status.h"
#include "pipeline/runner.h"
#include "pipeline/spec.h"

namespace lockstep::manifest {

using Json = nlohmann::json;

inline constexpr int kManifestVersion = 1;

// What the run's caller knows beyond the RunReport.
struct ManifestContext {
  Json code = nullptr;         // Code version (git), or null.
  Json environment;            // Environment capture.
  Digest spec_blob;            // The pipeline file's bytes in the store.
};

// Builds the manifest (without the hashes).
Result<Json> BuildManifest(const pipeline::PipelineSpec& spec,
                           const pipeline::RunReport& report,
                           const ManifestContext& context);

// Adds `field_hashes` and `manifest_hash` and returns the canonical text
// to write. InvalidArgument when a value cannot be canonicalised (NaN).
Result<std::string> SealManifest(Json* manifest);

// A manifest given as the canonical JSON text of each top-level field
// but the hashes, sealed without canonicalising any field again.
struct SealedFields {
  std::string text;           // What SealManifest returns.
  std::string manifest_hash;  // "sha256:..."
  std::map<std::string, std::string> field_hashes;
};
// `known_hashes` may give the digests of some fields' texts already
// computed (a replay checked its steps' text on reading it); they are
// used as given.
SealedFields SealFields(
    const std::map<std::string, std::string>& fields,
    const std::map<std::string, std::string>& known_hashes = {});

// The canonical text of each top-level field of `manifest` but the
// hashes. InvalidArgument when a value cannot be canonicalised.
Result<std::map<std::string, std::string>> CanonicalFields(
    const Json& manifest);

// Checks `manifest_hash` (and `field_hashes`). InvalidArgument naming the
// fields whose content no longer matches.
Status VerifyManifestHash(const Json& manifest);

// Checks what every reader relies on before the hash: the known
// manifest_version, kind "lockstep.run", a known status and a steps
// list. InvalidArgument naming the field.
Status CheckManifestKind(const Json& manifest);

// CheckManifestKind and the rest of the top level of
// docs/manifest.schema.json (every required field with its JSON type,
// sandbox among its values), as `manifest verify` checks it.
Status CheckManifestShape(const Json& manifest);

// Reads and parses a manifest file, checking its kind and hash.
// InvalidArgument for malformed JSON, an unknown version or a bad hash.
Result<Json> LoadManifest(const std::filesystem::path& path);

// Where a run's manifest is written inside the store.
std::filesystem::path ManifestPath(const std::filesystem::path& store_root,
                                   const std::string& run_id);

}  // namespace lockstep::manifest

#endif  // LOCKSTEP_MANIFEST_MANIFEST_H_
