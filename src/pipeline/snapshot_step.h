// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// The in-process `lockstep/data-snapshot` step: pins a source file as a
// versioned Dataset snapshot at the start of a run. Re-running with the
// same bytes reuses the latest version instead of minting a new one.

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
  bool created = false;  // False when an identical version was reused.
};

// Snapshots `with.source` (relative to `pipeline_directory`) under
// `with.name`. InvalidArgument (with the step's location) for a missing
// source or a malformed CSV.
Result<SnapshotStepResult> TakeSnapshotForStep(
    const StepSpec& step, const std::filesystem::path& pipeline_directory,
    store::BlobStore* blobs, metadata::MetadataStore* metadata);

}  // namespace lockstep::pipeline

#endif  // LOCKSTEP_PIPELINE_SNAPSHOT_STEP_H_
