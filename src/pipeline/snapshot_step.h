// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// The in-process `lockstep/data-snapshot` step: pins a file, folder or
// table as a versioned Dataset snapshot through the data module, exactly
// as `lockstep data snapshot` does. Re-running with the same content
// reuses the latest version instead of minting a new one.

#ifndef LOCKSTEP_PIPELINE_SNAPSHOT_STEP_H_
#define LOCKSTEP_PIPELINE_SNAPSHOT_STEP_H_

#include <filesystem>
#include <string>

#include "metadata/metadata_store.h"
#include "pipeline/runner.h"
#include "pipeline/spec.h"
#include "store/blob_store.h"

namespace lockstep::pipeline {

struct SnapshotStepResult {
  SnapshotUse snapshot;
  int64_t artifact_id = 0;         // The Dataset artifact.
  int64_t source_artifact_id = 0;  // The raw source it was taken from.
  std::string source_path;
  bool folder = false;   // A folder snapshot: the digest names its tree.
  bool created = false;  // False when an identical version was reused.
};

// True when a Dataset artifact is a folder snapshot: its digest names a
// tree blob (data/tree_digest.h), not the bytes of one file.
bool IsFolderSnapshot(const metadata::Artifact& artifact);

// What a run records about a snapshot it reads. The record's row_count is
// null for anything but CSV files and tables, and may be absent or of
// another type in records from elsewhere: rows is then -1.
SnapshotUse SnapshotUseOf(const metadata::Snapshot& snapshot,
                          const Digest& digest,
                          const metadata::Artifact& artifact);

// Snapshots `with.source` (a path relative to `pipeline_directory`, or a
// table URL) under `with.name`. InvalidArgument (with the step's location)
// for a missing or unreadable source.
Result<SnapshotStepResult> TakeSnapshotForStep(
    const StepSpec& step, const std::filesystem::path& pipeline_directory,
    store::BlobStore* blobs, metadata::MetadataStore* metadata);

// Checks, before a run is recorded, that every data-snapshot step's file
// or folder source exists: a run that would fail at its third step on a
// missing file refuses to start, recording and minting nothing. NotFound
// (InvalidArgument when it cannot be reached) at the step's `source:`.
// Table URLs and sources named by a template (`${{ params.src }}`) are
// checked only when their step runs, as is a source deleted after this
// check.
Status CheckSnapshotSources(const PipelineSpec& spec);

}  // namespace lockstep::pipeline

#endif  // LOCKSTEP_PIPELINE_SNAPSHOT_STEP_H_
