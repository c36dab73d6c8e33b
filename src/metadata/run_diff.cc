// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "metadata/run_diff.h"

#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

#include "core/json_keys.h"
#include "core/canonical_json.h"
#include "core/files.h"
#include "metadata/compare.h"
#include "metadata/run_view.h"

namespace lockstep::metadata {

namespace {

using Values = std::map<std::string, Json>;

// Everything known about one side of the comparison, keyed per section.
struct Side {
  std::map<std::string, Values> sections;
  // Metrics documents by "step.port", compared with CompareMetrics.
  Json metrics = Json::object();
};

// Flattens nested objects to JSON Pointer paths appended to `prefix`:
// {"a": {"b": 1}} -> "/a/b": 1, and {"a.b": 1} -> "/a.b": 1. Dotted
// paths made those two the same key, so different params compared equal.
void FlattenToPointers(const Json& value, const std::string& prefix,
                       Values* out) {
  if (value.is_object() && !value.empty()) {
    for (const auto& [key, item] : value.items()) {
      FlattenToPointers(item, prefix + "/" + PointerToken(key), out);
    }
    return;
  }
  if (!prefix.empty()) {
    (*out)[prefix] = value;
  }
}

// Flattens nested objects to dotted keys: {"a": {"b": 1}} -> "a.b": 1,
// the keys CompareMetrics reports deltas under.
void Flatten(const Json& value, const std::string& prefix, Values* out) {
  if (value.is_object() && !value.empty()) {
    for (const auto& [key, item] : value.items()) {
      Flatten(item, prefix.empty() ? key : prefix + "." + key, out);
    }
    return;
  }
  if (!prefix.empty()) {
    (*out)[prefix] = value;
  }
}

Result<Json> ReadManifest(const Run& run) {
  if (run.manifest_path.empty()) {
    return Json::object();
  }
  auto text = ReadFile(run.manifest_path);
  if (text.status().IsNotFound()) {
    return Json::object();  // A run that never finished has none yet.
  }
  RETURN_IF_ERROR(text.status());
  // A repeated key would make the diff read another value than the hash.
  ASSIGN_OR_RETURN(Json manifest,
                   ParseJsonWithUniqueKeys(*text, run.manifest_path));
  if (!manifest.is_object()) {
    return Status::InvalidArgument(run.manifest_path +
                                   ": the run manifest is not a JSON object");
  }
  return manifest;
}


// Steps recorded in the store: states, keys, digests and metrics.
void AddStoreSteps(const std::vector<RunStep>& steps, Side* side) {
  std::set<int64_t> produced;
  for (const RunStep& step : steps) {
    for (const StepArtifact& output : step.outputs) {
      produced.insert(output.artifact.id);
    }
  }
  for (const RunStep& step : steps) {
    const std::string& name = step.execution.name;
    side->sections["steps"][name] =
        std::string(ExecutionStateName(step.execution.state));
    side->sections["cache_keys"][name] = RecordedCacheKey(step.execution);
    for (const StepArtifact& input : step.inputs) {
      // Inputs of the run: what no step of this run produced.
      if (!produced.contains(input.artifact.id)) {
        side->sections["inputs"][name + "." + input.port] =
            input.artifact.digest;
      }
    }
    for (const StepArtifact& output : step.outputs) {
      std::string key = name + "." + output.port;
      side->sections["outputs"][key] = output.artifact.digest;
      const Json& metrics = output.artifact.properties.contains("metrics")
                                ? output.artifact.properties["metrics"]
                                : Json();
      if (IsMetricsType(output.artifact.type) && metrics.is_object()) {
        Flatten(metrics, key, &side->sections["metrics"]);
        side->metrics[key] = metrics;
      }
    }
  }
}

// Steps from the manifest, for runs whose store records are missing.
void AddManifestSteps(const Json& manifest, Side* side) {
  if (!manifest.contains("steps") || !manifest["steps"].is_array()) {
    return;
  }
  for (const Json& step : manifest["steps"]) {
    std::string name = step.value("name", "");
    side->sections["cache_keys"][name] = step.value("cache_key", "");
    if (step.contains("state")) {
      side->sections["steps"][name] = step["state"];
    }
    for (const char* port_kind : {"inputs", "outputs"}) {
      if (step.contains(port_kind) && step[port_kind].is_object()) {
        for (const auto& [port, digest] : step[port_kind].items()) {
          side->sections[port_kind][name + "." + port] = digest;
        }
      }
    }
  }
}

Result<Side> Collect(MetadataStore* store, const Run& run) {
  Side side;
  side.sections["run"] = {{"pipeline", run.pipeline},
                          {"status", run.status}};
  ASSIGN_OR_RETURN(Json manifest, ReadManifest(run));
  for (const char* section : {"params", "environment"}) {
    if (manifest.contains(section)) {
      FlattenToPointers(manifest[section], "", &side.sections[section]);
    }
  }
  ASSIGN_OR_RETURN(auto steps, StepsOfRun(store, run));
  if (steps.empty()) {
    AddManifestSteps(manifest, &side);
  } else {
    AddStoreSteps(steps, &side);
  }
  if (side.sections["metrics"].empty() && manifest.contains("metrics")) {
    Flatten(manifest["metrics"], "", &side.sections["metrics"]);
    side.metrics = manifest["metrics"];
  }
  return side;
}

DiffSection Compare(const std::string& name, const Values& a,
                    const Values& b) {
  DiffSection section{name, {}};
  std::set<std::string> keys;
  for (const auto& [key, value] : a) {
    keys.insert(key);
  }
  for (const auto& [key, value] : b) {
    keys.insert(key);
  }
  for (const std::string& key : keys) {
    Json left = a.contains(key) ? a.at(key) : Json();
    Json right = b.contains(key) ? b.at(key) : Json();
    section.rows.push_back({key, left, right, left != right});
  }
  return section;
}

// The deltas reproduce reports (metadata/compare.h), on the matching rows.
void AddMetricDeltas(const Json& a, const Json& b, DiffSection* section) {
  std::map<std::string, Json> deltas;
  for (const Json& change : CompareMetrics(a, b)) {
    if (change.contains("delta")) {
      deltas[change["key"].get<std::string>()] = change["delta"];
    }
  }
  for (DiffRow& row : section->rows) {
    auto delta = deltas.find(row.key);
    if (row.differs && delta != deltas.end()) {
      row.delta = delta->second;
    }
  }
}

std::string Cell(const Json& value) {
  if (value.is_null()) {
    return "-";
  }
  return value.is_string() ? value.get<std::string>() : value.dump();
}

}  // namespace

Result<RunDiff> DiffRuns(MetadataStore* store, const std::string& a,
                         const std::string& b) {
  ASSIGN_OR_RETURN(Run run_a, store->GetRun(a));
  ASSIGN_OR_RETURN(Run run_b, store->GetRun(b));
  ASSIGN_OR_RETURN(Side side_a, Collect(store, run_a));
  ASSIGN_OR_RETURN(Side side_b, Collect(store, run_b));

  RunDiff diff{a, b, {}, true};
  for (const char* name : {"run", "params", "environment", "inputs", "steps",
                           "cache_keys", "outputs", "metrics"}) {
    DiffSection section =
        Compare(name, side_a.sections[name], side_b.sections[name]);
    if (section.name == "metrics") {
      AddMetricDeltas(side_a.metrics, side_b.metrics, &section);
    }
    for (const DiffRow& row : section.rows) {
      diff.identical = diff.identical && !row.differs;
    }
    diff.sections.push_back(std::move(section));
  }
  return diff;
}

Json RunDiffToJson(const RunDiff& diff) {
  Json sections = Json::object();
  for (const DiffSection& section : diff.sections) {
    Json rows = Json::array();
    for (const DiffRow& row : section.rows) {
      Json entry = {{"key", row.key},
                    {"a", row.a},
                    {"b", row.b},
                    {"differs", row.differs}};
      if (!row.delta.is_null()) {
        entry["delta"] = row.delta;
      }
      rows.push_back(entry);
    }
    sections[section.name] = rows;
  }
  return {{"run_a", diff.run_a},
          {"run_b", diff.run_b},
          {"identical", diff.identical},
          {"sections", sections}};
}

std::string RunDiffToText(const RunDiff& diff) {
  std::string out = fmt::format("  {:<32} {:<30} {}\n", "", diff.run_a,
                                diff.run_b);
  for (const DiffSection& section : diff.sections) {
    if (section.rows.empty()) {
      continue;
    }
    out += section.name + ":\n";
    // An environment capture holds every package and tool on the host:
    // hundreds of equal rows would hide the one that changed.
    bool fold_matching = section.name == "environment";
    size_t folded = 0;
    for (const DiffRow& row : section.rows) {
      if (fold_matching && !row.differs) {
        ++folded;
        continue;
      }
      std::string delta =
          row.delta.is_null() ? "" : " (delta " + row.delta.dump() + ")";
      out += fmt::format("{} {:<32} {:<30} {}{}\n", row.differs ? "*" : " ",
                         row.key, Cell(row.a), Cell(row.b), delta);
    }
    if (folded > 0) {
      out += fmt::format("  ({} matching {} not shown; --json lists "
                         "them)\n", folded, folded == 1 ? "row" : "rows");
    }
  }
  out += diff.identical ? "the runs match\n"
                        : "rows marked * differ\n";
  return out;
}

}  // namespace lockstep::metadata
