// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "metadata/run_view.h"

#include <map>

#include "core/clock.h"

namespace lockstep::metadata {

namespace {

Json ArtifactSummary(const Artifact& artifact) {
  return {{"artifact_id", artifact.id},
          {"type", artifact.type},
          {"uri", artifact.uri},
          {"digest", artifact.digest},
          {"state", artifact.state}};
}

std::string TimeOrEmpty(int64_t unix_millis) {
  return unix_millis == 0 ? "" : FormatRfc3339(unix_millis);
}

}  // namespace

Result<std::vector<RunStep>> StepsOfRun(MetadataStore* store,
                                        const Run& run) {
  ASSIGN_OR_RETURN(auto executions, store->ExecutionsInContext(run.context_id));
  std::vector<RunStep> steps;
  std::map<int64_t, Artifact> artifacts;  // Read each artifact once.
  for (Execution& execution : executions) {
    RunStep step;
    step.execution = std::move(execution);
    ASSIGN_OR_RETURN(auto events, store->EventsOfExecution(step.execution.id));
    for (const Event& event : events) {
      auto found = artifacts.find(event.artifact_id);
      if (found == artifacts.end()) {
        ASSIGN_OR_RETURN(Artifact artifact,
                         store->GetArtifact(event.artifact_id));
        found = artifacts.emplace(event.artifact_id, artifact).first;
      }
      auto& side = event.type == EventType::kInput ? step.inputs
                                                   : step.outputs;
      side.push_back({event.port, found->second});
    }
    steps.push_back(std::move(step));
  }
  return steps;
}

Json RunToJson(const Run& run) {
  return {{"run_id", run.run_id},
          {"pipeline", run.pipeline},
          {"status", run.status},
          {"started", TimeOrEmpty(run.started_ms)},
          {"started_ms", run.started_ms},
          {"finished", TimeOrEmpty(run.finished_ms)},
          {"finished_ms", run.finished_ms},
          {"labels", run.labels},
          {"manifest_path", run.manifest_path},
          {"manifest_hash", run.manifest_hash}};
}

bool IsPulledExecution(const Execution& execution) {
  return execution.properties.contains("pulled_from");
}

std::string RecordedCacheKey(const Execution& execution) {
  const Json& recorded = execution.properties.value("cache_key", Json());
  if (execution.cache_key.empty() && IsPulledExecution(execution) &&
      recorded.is_string()) {
    return recorded.get<std::string>();
  }
  return execution.cache_key;
}

Json RunDetailsToJson(const Run& run, const std::vector<RunStep>& steps) {
  Json json = RunToJson(run);
  json["steps"] = Json::array();
  for (const RunStep& step : steps) {
    Json inputs = Json::object();
    for (const StepArtifact& input : step.inputs) {
      inputs[input.port] = ArtifactSummary(input.artifact);
    }
    Json outputs = Json::object();
    for (const StepArtifact& output : step.outputs) {
      outputs[output.port] = ArtifactSummary(output.artifact);
    }
    Json entry = {
        {"execution_id", step.execution.id},
        {"name", step.execution.name},
        {"type", step.execution.type},
        {"state", std::string(ExecutionStateName(step.execution.state))},
        {"cache_key", RecordedCacheKey(step.execution)},
        {"inputs", inputs},
        {"outputs", outputs}};
    if (IsPulledExecution(step.execution)) entry["pulled"] = true;
    for (const char* log : {"stdout", "stderr"}) {
      const Json& properties = step.execution.properties;
      if (properties.contains(log) && properties[log].is_string()) {
        entry[log] = properties[log];
      }
    }
    json["steps"].push_back(entry);
  }
  return json;
}

Result<int64_t> ParseSince(std::string_view text, int64_t now_ms) {
  Result<int64_t> duration = ParseDurationMillis(text);
  if (duration.ok()) {
    return AddMillis(now_ms, -*duration);
  }
  if (auto date = ParseRfc3339(text)) {
    return *date;
  }
  if (text.find('-') == std::string_view::npos) {
    // Not a date: say what is wrong with it as a duration (too long).
    return duration.status();
  }
  return Status::InvalidArgument(
      "'" + std::string(text) +
      "' is neither a duration (7d, 12h) nor a date (2026-01-01)");
}

}  // namespace lockstep::metadata
