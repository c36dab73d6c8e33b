// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "manifest/retention.h"

#include <filesystem>

#include "manifest/manifest.h"

namespace lockstep::manifest {

namespace {

void AddRoot(const Json& digest_text, const std::string& reason,
             std::vector<registry::KeptBlob>* roots) {
  if (!digest_text.is_string()) {
    return;
  }
  Result<Digest> digest = Digest::Parse(digest_text.get<std::string>());
  if (digest.ok()) {
    roots->push_back({*digest, reason});
  }
}

}  // namespace

std::vector<registry::KeptBlob> ManifestRoots(const Json& manifest) {
  std::vector<registry::KeptBlob> roots;
  std::string run = "run " + manifest.value("run_id", std::string("?"));
  const Json pipeline = manifest.value("pipeline", Json::object());
  AddRoot(pipeline.value("spec_digest", Json()), run + " needs it (pipeline "
          "file)", &roots);
  const Json code = manifest.value("code", Json::object());
  if (code.is_object() && code.value("patch_stored", false)) {
    AddRoot(code.value("patch_digest", Json()),
            run + " needs it (uncommitted code patch)", &roots);
  }
  const Json data_list = manifest.value("data", Json::array());
  for (const Json& data : data_list) {
    AddRoot(data.value("digest", Json()),
            run + " needs it (snapshot " + data.value("name", "") + "@" +
                std::to_string(data.value("version", 0)) + ")",
            &roots);
  }
  const Json steps = manifest.value("steps", Json::array());
  for (const Json& step : steps) {
    std::string where = run + " needs it (step " + step.value("name", "");
    // Named locals: value() returns a temporary, and a range-for over
    // temporary.items() iterates a destroyed object (ASan caught it in gc).
    const Json invocation = step.value("invocation", Json::object());
    const Json code_files = invocation.value("code", Json::object());
    for (const auto& [path, file] : code_files.items()) {
      AddRoot(file.value("digest", Json()), where + ", code " + path + ")",
              &roots);
    }
    const Json inputs = invocation.value("inputs", Json::object());
    for (const auto& [name, digest] : inputs.items()) {
      AddRoot(digest, where + ", input " + name + ")", &roots);
    }
    const Json outputs = step.value("outputs", Json::object());
    for (const auto& [name, output] : outputs.items()) {
      AddRoot(output.value("digest", Json()),
              where + ", output " + name + ")", &roots);
    }
  }
  return roots;
}

Result<std::vector<registry::KeptBlob>> LineageRetentionRoots::Roots() {
  std::vector<registry::KeptBlob> roots;
  ASSIGN_OR_RETURN(std::vector<metadata::Run> runs,
                   metadata_->ListRuns({}));
  for (const metadata::Run& run : runs) {
    if (run.manifest_path.empty()) {
      continue;  // Still running, or died before its manifest: no outputs
                 // were promised to anyone yet.
    }
    Result<Json> manifest = LoadManifest(run.manifest_path);
    if (!manifest.ok()) {
      return Status::DataLoss("cannot read the manifest of run " +
                              run.run_id + " (" +
                              manifest.status().message() +
                              "); refusing to collect garbage without it");
    }
    std::vector<registry::KeptBlob> needed = ManifestRoots(*manifest);
    roots.insert(roots.end(), needed.begin(), needed.end());
  }

  ASSIGN_OR_RETURN(std::vector<metadata::Snapshot> snapshots,
                   metadata_->ListSnapshots());
  for (const metadata::Snapshot& snapshot : snapshots) {
    ASSIGN_OR_RETURN(metadata::Artifact artifact,
                     metadata_->GetArtifact(snapshot.artifact_id));
    std::string reason = "snapshot " + snapshot.name + "@" +
                         std::to_string(snapshot.version);
    AddRoot(Json(artifact.digest), reason, &roots);
    for (const char* key : {"tree", "tree_digest", "tree_blob"}) {
      AddRoot(artifact.properties.value(key, Json()), reason + " (tree)",
              &roots);
    }
  }
  return roots;
}

}  // namespace lockstep::manifest
