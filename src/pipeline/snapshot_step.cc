// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "pipeline/snapshot_step.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

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

// `error` about the step's source, at its `source:` line and naming the
// step, with its code kept (a missing source exits 2, as `data
// snapshot` does).
Status SourceError(const StepSpec& step, const Status& error) {
  return error.WithContext(step.WithWhere("source").Prefix() + "step '" +
                           step.name + "' (" + step.uses + ")");
}

// A file or folder source as `data snapshot` is given it: relative to
// the pipeline file. Table URLs are anchored by the data module.
std::string SourcePath(const std::string& source,
                       const fs::path& pipeline_directory) {
  std::error_code error;
  return fs::absolute(pipeline_directory / source, error).string();
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
  request.source = data::IsTableUrl(source)
                       ? data::AnchorSqliteUrl(source, pipeline_directory)
                       : SourcePath(source, pipeline_directory);
  request.name = name;
  request.reuse_unchanged = true;
  data::DataSnapshots snapshots(blobs, metadata, blobs->root() / "cache");
  Result<data::SnapshotInfo> before = snapshots.Get({name, 0});
  Result<data::SnapshotInfo> info = snapshots.Create(request);
  if (!info.ok()) {
    return SourceError(step, info.status());
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

Status CheckSnapshotSources(const PipelineSpec& spec) {
  for (const StepSpec& step : spec.steps) {
    auto source = step.with.find("source");
    if (step.uses != "lockstep/data-snapshot" || source == step.with.end() ||
        !source->second.is_string() ||
        data::IsTableUrl(source->second.get<std::string>())) {
      continue;
    }
    // A source named by a template (a param, an item) is known only when
    // its step runs, which then fails with a manifest if it is missing.
    // Checked as written, every such pipeline was refused (a tester's
    // finding).
    if (source->second.get<std::string>().find("${{") != std::string::npos) {
      continue;
    }
    std::string path = SourcePath(source->second.get<std::string>(),
                                  spec.directory);
    // Followed, as the snapshot follows a link; the same words and code
    // as the snapshot's own refusal.
    struct stat status;
    if (::stat(path.c_str(), &status) != 0) {
      int error = errno;
      std::string reason = path + ": " + std::strerror(error);
      return SourceError(step, error == ENOENT
                                   ? Status::NotFound(reason)
                                   : Status::InvalidArgument(reason));
    }
  }
  return Status::Ok();
}

}  // namespace lockstep::pipeline
