// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// `lockstep run`'s no-op fast path (pipeline/replay.h, docs/caching.md):
// saving a replay record after a normal run, and recording a run as a
// cached replay of an earlier one when its record still holds.

#ifndef LOCKSTEP_CLI_RUN_REPLAY_H_
#define LOCKSTEP_CLI_RUN_REPLAY_H_

#include <optional>
#include <string>
#include <vector>

#include "cli/run_support.h"
#include "pipeline/replay.h"

namespace lockstep::cli {

// The run options a replay record is keyed by.
struct ReplayRequest {
  std::string pipeline_file;
  // Read once by the run: a FIFO or `<(...)` has no second reading.
  std::string pipeline_bytes;
  std::vector<std::string> params;
  std::string params_file;
  std::string params_bytes;  // Read once by the run (see ParamsFile).
  std::string sandbox;
  bool allow_tags = false;
  std::vector<std::string> labels;
};

struct ReplayedRun {
  pipeline::RunReport report;
  std::string manifest_path;
  OpenedStore opened;
};

// Records the run as a replay when a record for `request` exists and
// every thing it lists is unchanged; nullopt (having written nothing)
// when the normal path must run instead.
std::optional<Result<ReplayedRun>> TryReplayRun(
    const GlobalOptions& globals, const ReplayRequest& request);

// After a normal run that succeeded: saves its replay record, unless the
// run refused one. Failures only cost the fast path, so they are logged.
void SaveReplayRecord(const GlobalOptions& globals,
                      const ReplayRequest& request,
                      const pipeline::PipelineSpec& spec,
                      const pipeline::RunReport& report,
                      const Json& manifest, OpenedStore& opened);

}  // namespace lockstep::cli

#endif  // LOCKSTEP_CLI_RUN_REPLAY_H_
