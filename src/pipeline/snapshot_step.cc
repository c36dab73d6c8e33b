// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "pipeline/snapshot_step.h"

#include "core/clock.h"
#include "data/csv.h"

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

// Hashes the file and, for CSV, counts its records in the same read.
struct SourceFacts {
  Digest digest;
  uint64_t size = 0;
  int64_t rows = -1;
  std::vector<std::string> columns;
};

Result<SourceFacts> Examine(const fs::path& path, const StepSpec& step) {
  SourceFacts facts;
  bool is_csv = path.extension() == ".csv";
  data::CsvRecordCounter counter;
  ASSIGN_OR_RETURN(facts.digest,
                   Sha256OfFile(path,
                                [&](std::string_view chunk) {
                                  if (is_csv) {
                                    counter.Feed(chunk);
                                  }
                                  return Status::Ok();
                                },
                                &facts.size));
  if (is_csv) {
    Status parsed = counter.Finish();
    if (!parsed.ok()) {
      return SpecError(step.where, path.string() + ": " + parsed.message());
    }
    facts.rows = static_cast<int64_t>(counter.records());
    facts.columns = counter.columns();
  }
  return facts;
}

// The latest version of `name`, when its bytes equal `digest` and verify.
std::optional<metadata::Snapshot> ReusableVersion(
    const std::string& name, const Digest& digest, store::BlobStore* blobs,
    metadata::MetadataStore* metadata) {
  Result<metadata::Snapshot> latest = metadata->LatestSnapshot(name);
  if (!latest.ok()) {
    return std::nullopt;
  }
  Result<Artifact> artifact = metadata->GetArtifact(latest->artifact_id);
  if (!artifact.ok() || artifact->digest != digest.ToString() ||
      !blobs->Verify(digest).ok()) {
    return std::nullopt;
  }
  return *latest;
}

Result<int64_t> SourceArtifact(const fs::path& path, const SourceFacts& facts,
                               metadata::MetadataStore* metadata) {
  std::string uri = "file://" + path.string();
  ASSIGN_OR_RETURN(std::vector<Artifact> known,
                   metadata->FindArtifactsByDigest(facts.digest.ToString()));
  for (const Artifact& artifact : known) {
    if (artifact.type == "Artifact" && artifact.uri == uri) {
      return artifact.id;
    }
  }
  Artifact raw{.type = "Artifact", .uri = uri,
               .digest = facts.digest.ToString(),
               .properties = {{"size", facts.size}}};
  return metadata->PutArtifact(raw);
}

}  // namespace

Result<SnapshotStepResult> TakeSnapshotForStep(
    const StepSpec& step, const fs::path& pipeline_directory,
    store::BlobStore* blobs, metadata::MetadataStore* metadata) {
  ASSIGN_OR_RETURN(std::string source, WithString(step, "source"));
  ASSIGN_OR_RETURN(std::string name, WithString(step, "name"));
  fs::path path = fs::absolute(pipeline_directory / source);
  std::error_code error;
  if (!fs::is_regular_file(path, error)) {
    return SpecError(step.where, "snapshot source " + path.string() +
                                     " is not a readable file");
  }
  ASSIGN_OR_RETURN(SourceFacts facts, Examine(path, step));

  SnapshotStepResult result;
  result.source_path = source;
  result.snapshot = {name, 0, facts.digest, facts.rows, facts.size};

  // The raw source, as an artifact of its own, for lineage; the same
  // file with the same bytes is one artifact however often it is read.
  ASSIGN_OR_RETURN(result.source_artifact_id,
                   SourceArtifact(path, facts, metadata));

  if (auto reused = ReusableVersion(name, facts.digest, blobs, metadata)) {
    result.snapshot.version = reused->version;
    result.artifact_id = reused->artifact_id;
    return result;
  }

  ASSIGN_OR_RETURN(Digest stored, blobs->PutFile(path));
  if (stored != facts.digest) {
    return Status::Aborted(path.string() + " changed while being read");
  }
  Result<metadata::Snapshot> latest = metadata->LatestSnapshot(name);
  int64_t version = latest.ok() ? latest->version + 1 : 1;
  Artifact dataset{
      .type = "Dataset",
      .uri = "lockstep://snapshots/" + name + "@" + std::to_string(version),
      .digest = facts.digest.ToString(),
      .properties = {{"name", name},
                     {"version", version},
                     {"size", facts.size},
                     {"source", path.string()},
                     {"kind", "file"},
                     {"created", FormatRfc3339(NowUnixMillis())}}};
  if (facts.rows >= 0) {
    dataset.properties["row_count"] = facts.rows;
    dataset.properties["columns"] = facts.columns;
  }
  ASSIGN_OR_RETURN(result.artifact_id, metadata->PutArtifact(dataset));
  RETURN_IF_ERROR(metadata->PutSnapshot({name, version, result.artifact_id}));
  result.snapshot.version = version;
  result.created = true;
  return result;
}

}  // namespace lockstep::pipeline
