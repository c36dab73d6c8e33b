// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// The lineage model, after ML Metadata: artifacts (typed, content-addressed
// things), executions (one per step run), contexts (a pipeline, a run, a
// user label) and the edges between them: events tie an execution to the
// artifacts it read (input) and wrote (output) through a named port;
// attributions put artifacts in a context, associations put executions in
// one. Runs and dataset snapshots get their own tables for fast lookup,
// each pointing at its context or artifact.

#ifndef LOCKSTEP_METADATA_MODEL_H_
#define LOCKSTEP_METADATA_MODEL_H_

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace lockstep::metadata {

using Json = nlohmann::json;

// Artifact types users know from Kubeflow: Dataset, Model, Metrics,
// ClassificationMetrics, HTML, Markdown, Artifact.
struct Artifact {
  int64_t id = 0;
  std::string type;        // "Dataset", "Model", ...
  std::string uri;         // Where it came from or lives (informational).
  std::string digest;      // "sha256:..." of its bytes (or tree).
  std::string state = "live";  // live | marked_for_deletion | deleted
  Json properties = Json::object();         // Set by Lockstep.
  Json custom_properties = Json::object();  // Set by users.
  int64_t create_time_ms = 0;
  std::string removal_reason;  // Why it was marked, when it was.
};

enum class ExecutionState { kNew, kRunning, kComplete, kFailed, kCached,
                            kCancelled, kSkipped };

std::string_view ExecutionStateName(ExecutionState state);
ExecutionState ParseExecutionState(std::string_view name);

struct Execution {
  int64_t id = 0;
  std::string type;       // Component: "lockstep/ml-train", "command".
  std::string name;       // The step's name in its pipeline.
  ExecutionState state = ExecutionState::kNew;
  std::string cache_key;  // "sha256:..." or empty when not cacheable.
  Json properties = Json::object();
  int64_t create_time_ms = 0;
  int64_t update_time_ms = 0;
};

struct Context {
  int64_t id = 0;
  std::string type;  // "pipeline", "run", "label"
  std::string name;
  Json properties = Json::object();
  int64_t create_time_ms = 0;
};

enum class EventType { kInput, kOutput };

struct Event {
  int64_t artifact_id = 0;
  int64_t execution_id = 0;
  EventType type = EventType::kInput;
  std::string port;  // The input or output name on the step.
  int64_t time_ms = 0;
};

// A pipeline run: the unit users list, diff and reproduce.
struct Run {
  std::string run_id;
  int64_t context_id = 0;
  std::string pipeline;
  std::string status;  // running | succeeded | failed | cancelled
  int64_t started_ms = 0;
  int64_t finished_ms = 0;
  std::string manifest_path;
  std::string manifest_hash;
  Json labels = Json::object();
};

// A named, versioned, immutable dataset snapshot.
struct Snapshot {
  std::string name;
  int64_t version = 0;
  int64_t artifact_id = 0;
};

}  // namespace lockstep::metadata

#endif  // LOCKSTEP_METADATA_MODEL_H_
