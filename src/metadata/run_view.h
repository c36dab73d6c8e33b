// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// Read-side views of runs for the CLI and for other modules: a run as JSON,
// the steps of a run (its executions with their inputs and outputs), and
// the parsing of `--since` values. Shapes are documented in docs/lineage.md.

#ifndef LOCKSTEP_METADATA_RUN_VIEW_H_
#define LOCKSTEP_METADATA_RUN_VIEW_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "metadata/metadata_store.h"

namespace lockstep::metadata {

// One artifact seen through an event port.
struct StepArtifact {
  std::string port;
  Artifact artifact;
};

// One execution of a run with what it read and wrote.
struct RunStep {
  Execution execution;
  std::vector<StepArtifact> inputs;
  std::vector<StepArtifact> outputs;
};

// The executions in the run's context, oldest first, with their events.
Result<std::vector<RunStep>> StepsOfRun(MetadataStore* store,
                                        const Run& run);

// {"run_id", "pipeline", "status", "started", "started_ms", "finished",
//  "finished_ms", "labels", "manifest_path", "manifest_hash"}.
Json RunToJson(const Run& run);

// Whether `execution` was recorded by a pull (share/), not run here.
bool IsPulledExecution(const Execution& execution);

// The cache key `execution` ran under: its own, or for a pulled one,
// which is no cache entry here and has none, the key its manifest
// recorded (kept among its properties).
std::string RecordedCacheKey(const Execution& execution);

// RunToJson plus "steps": [{"execution_id", "name", "type", "state",
// "cache_key", "inputs": {port: artifact}, "outputs": {port: artifact}}]
// where an artifact is {"artifact_id", "type", "uri", "digest", "state"}
// and "cache_key" is RecordedCacheKey; a pulled step also has
// "pulled": true, and a step that ran "stdout" and "stderr", the digests
// of its logs.
Json RunDetailsToJson(const Run& run, const std::vector<RunStep>& steps);

// Parses a `--since` value: a duration back from `now_ms` ("7d", "12h")
// or a date ("2026-01-01", RFC 3339). InvalidArgument otherwise, in
// words that do not name the flag (the command line adds it).
Result<int64_t> ParseSince(std::string_view text, int64_t now_ms);

}  // namespace lockstep::metadata

#endif  // LOCKSTEP_METADATA_RUN_VIEW_H_
