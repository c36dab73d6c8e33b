// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "pipeline/snapshot_step.h"

#include "data/snapshot.h"
#include "data/table_source.h"

namespace lockstep::pipeline {

namespace fs = std::filesystem;
using metadata::Artifact;

namespace {

Result<std::string> WithString(const StepSpec& step, const std::string& key) {
  auto found = step.with.find(key);
  if (found == step.with.end() || !found->second.is_string() ||
      found->second.get<std::string>().empty()) {
    return SpecError(step.where, "step '" + step.name +
                                     "' (lockstep/data-snapshot) needs "
                                     "with: " + key + ": TEXT");
  }
  return found->second.get<std::string>();
}

// The source artifact the data module linked to the snapshot (docs/data.md:
// type Artifact, uri the source, same digest), for the run's lineage.
Result<int64_t> SourceArtifactOf(const data::SnapshotInfo& info,
                                 metadata::MetadataStore* metadata) {
  ASSIGN_OR_RETURN(std::vector<Artifact> known,
                   metadata->FindArtifactsByDigest(info.digest));
  for (const Artifact& artifact : known) {
    if (artifact.type == "Artifact" && artifact.uri == info.source) {
      return artifact.id;
    }
  }
  return Status::NotFound("no source artifact for snapshot " + info.Ref());
}


}  // namespace

bool IsFolderSnapshot(const Artifact& artifact) {
  auto kind = artifact.properties.find("kind");
  return kind != artifact.properties.end() && *kind == "folder";
}

SnapshotUse SnapshotUseOf(const metadata::Snapshot& snapshot,
                          const Digest& digest, const Artifact& artifact) {
  SnapshotUse use{snapshot.name, snapshot.version, digest, -1, 0};
  const Json& properties = artifact.properties;
  auto rows = properties.find("row_count");
  if (rows != properties.end() && rows->is_number_unsigned()) {
    use.rows = static_cast<int64_t>(rows->get<uint64_t>());
  }
  auto size = properties.find("size");
  if (size != properties.end() && size->is_number_unsigned()) {
    use.size = size->get<uint64_t>();
  }
  return use;
}

Result<SnapshotStepResult> TakeSnapshotForStep(
    const StepSpec& step, const fs::path& pipeline_directory,
    store::BlobStore* blobs, metadata::MetadataStore* metadata) {
  ASSIGN_OR_RETURN(std::string source, WithString(step, "source"));
  ASSIGN_OR_RETURN(std::string name, WithString(step, "name"));

  // The same snapshot `lockstep data snapshot` takes: a file, a folder or
  // a table URL; paths are relative to the pipeline file.
  data::SnapshotRequest request;
  std::error_code error;
  request.source = data::IsTableUrl(source)
                       ? data::AnchorSqliteUrl(source, pipeline_directory)
                       : fs::absolute(pipeline_directory / source, error)
                             .string();
  request.name = name;
  request.reuse_unchanged = true;
  data::DataSnapshots snapshots(blobs, metadata, blobs->root() / "cache");
  Result<data::SnapshotInfo> before = snapshots.Get({name, 0});
  Result<data::SnapshotInfo> info = snapshots.Create(request);
  if (!info.ok()) {
    // Its code is kept: a missing source exits 2, as `data snapshot` does.
    return info.status().WithContext(step.WithWhere("source").Prefix() +
                                     "step '" + step.name + "' (" +
                                     step.uses + ")");
  }

  SnapshotStepResult result;
  result.source_path = source;
  ASSIGN_OR_RETURN(Digest digest, Digest::Parse(info->digest));
  result.snapshot = {info->name, info->version, digest,
                     info->row_count ? static_cast<int64_t>(*info->row_count)
                                     : -1,
                     info->size};
  result.folder = info->kind == data::SourceKind::kFolder;
  result.artifact_id = info->artifact_id;
  result.created = !before.ok() || before->artifact_id != info->artifact_id;
  ASSIGN_OR_RETURN(result.source_artifact_id,
                   SourceArtifactOf(*info, metadata));
  return result;
}

}  // namespace lockstep::pipeline
