// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "manifest/reproduce.h"

#include <cmath>
#include <map>

#include "core/log.h"
#include "pipeline/executor.h"
#include "pipeline/expression.h"
#include "pipeline/params.h"
#include "pipeline/runner.h"

namespace lockstep::manifest {

namespace {

using pipeline::StepInvocation;

void CollectMetricChanges(const std::string& prefix, const Json& before,
                          const Json& after, Json* changes) {
  if (before.is_object() && after.is_object()) {
    for (const auto& [key, value] : before.items()) {
      std::string path = prefix.empty() ? key : prefix + "." + key;
      CollectMetricChanges(path, value,
                           after.contains(key) ? after[key] : Json(), changes);
    }
    for (const auto& [key, value] : after.items()) {
      if (!before.contains(key)) {
        std::string path = prefix.empty() ? key : prefix + "." + key;
        changes->push_back({{"key", path}, {"old", nullptr}, {"new", value}});
      }
    }
    return;
  }
  if (before == after) {
    return;
  }
  Json change = {{"key", prefix}, {"old", before}, {"new", after}};
  if (before.is_number() && after.is_number()) {
    change["delta"] = after.get<double>() - before.get<double>();
  }
  changes->push_back(change);
}

// Whether every change is numeric and within `tolerance`.
bool WithinTolerance(const Json& changes, double tolerance) {
  for (const Json& change : changes) {
    if (!change.contains("delta") ||
        std::fabs(change["delta"].get<double>()) > tolerance) {
      return false;
    }
  }
  return true;
}

class Reproducer {
 public:
  Reproducer(const Json& manifest, store::BlobStore* blobs,
             const ReproduceOptions& options)
      : manifest_(manifest), blobs_(blobs), options_(options) {}

  Result<ReproduceReport> Run();

 private:
  Status ReproduceStep(const Json& step);
  StepVerdict CheckSnapshot(const Json& step);
  Result<bool> ConditionHolds(const Json& step);
  Result<StepInvocation> Rewire(const Json& step, StepVerdict* verdict);
  void Compare(const Json& step, const pipeline::StepOutcome& outcome,
               StepVerdict* verdict);
  OutputVerdict CompareOutput(const std::string& name, const Json& recorded,
                              const Digest& actual);

  const Json& manifest_;
  store::BlobStore* blobs_;
  const ReproduceOptions& options_;
  ReproduceReport report_;
  // Step name -> output name -> digest produced by this re-run.
  std::map<std::string, std::map<std::string, Digest>> produced_;
};

StepVerdict Reproducer::CheckSnapshot(const Json& step) {
  StepVerdict verdict{step["name"], "identical", "", {}};
  std::string digest_text = step["outputs"]["dataset"]["digest"];
  Result<Digest> digest = Digest::Parse(digest_text);
  Status status = digest.ok() ? blobs_->Verify(*digest) : digest.status();
  std::string label;
  for (const Json& snapshot : manifest_.value("data", Json::array())) {
    if (snapshot.value("digest", "") == digest_text) {
      label = snapshot["name"].get<std::string>() + "@" +
              std::to_string(snapshot["version"].get<int64_t>());
    }
  }
  if (!status.ok()) {
    verdict.status = "missing";
    verdict.note = "data snapshot " + label + " (" + digest_text +
                   ") is not in the store; pull it with `lockstep pull` or "
                   "snapshot the original data again";
    report_.missing.push_back(verdict.note);
    return verdict;
  }
  produced_[verdict.name]["dataset"] = *digest;
  verdict.note = "snapshot " + label + " present and verified";
  verdict.outputs.push_back(
      {"dataset", "exact", digest_text, digest_text, true, true, nullptr});
  return verdict;
}

Result<bool> Reproducer::ConditionHolds(const Json& step) {
  if (!step.contains("if")) {
    return true;
  }
  std::string text = step["if"]["expression"];
  ASSIGN_OR_RETURN(pipeline::Expression condition,
                   pipeline::Expression::Parse(text));
  auto resolve = [&](const std::string& reference) -> Result<Json> {
    if (reference.starts_with("params.")) {
      return pipeline::UntypedParam(
          manifest_["params"][reference.substr(7)]);
    }
    size_t dot = reference.find('.', 6);
    std::string producer = reference.substr(6, dot - 6);
    std::string output = reference.substr(reference.rfind('.') + 1);
    auto found = produced_.find(producer);
    if (found == produced_.end() || !found->second.contains(output)) {
      return Status::NotFound("output " + producer + "." + output +
                              " was not reproduced");
    }
    ASSIGN_OR_RETURN(std::string bytes,
                     blobs_->ReadVerified(found->second.at(output)));
    return pipeline::OutputValue(bytes);
  };
  ASSIGN_OR_RETURN(Json value, condition.Evaluate(resolve));
  return pipeline::IsTruthy(value);
}

// Builds the step's invocation with inputs taken from this re-run.
Result<StepInvocation> Reproducer::Rewire(const Json& step,
                                          StepVerdict* verdict) {
  ASSIGN_OR_RETURN(StepInvocation invocation,
                   StepInvocation::FromJson(step["invocation"]));
  for (const auto& [name, input] : step["inputs"].items()) {
    std::string from = input["from"];
    if (!from.starts_with("snapshot:")) {
      size_t dot = from.find('.');
      auto producer = produced_.find(from.substr(0, dot));
      if (producer != produced_.end() &&
          producer->second.contains(from.substr(dot + 1))) {
        invocation.inputs[name] = producer->second.at(from.substr(dot + 1));
        continue;
      }
    }
    if (!blobs_->Contains(invocation.inputs[name])) {
      verdict->status = "missing";
      verdict->note = "input " + name + " (" + from + ", " +
                      invocation.inputs[name].ToString() +
                      ") is not in the store";
      report_.missing.push_back(verdict->note);
    }
  }
  for (const auto& [path, file] : invocation.code) {
    if (!blobs_->Contains(file.digest)) {
      verdict->status = "missing";
      verdict->note = "code file " + path + " (" + file.digest.ToString() +
                      ") is not in the store; check out the commit the "
                      "manifest names and run it once, or pull the run";
      report_.missing.push_back(verdict->note);
    }
  }
  return invocation;
}

OutputVerdict Reproducer::CompareOutput(const std::string& name,
                                        const Json& recorded,
                                        const Digest& actual) {
  OutputVerdict verdict;
  verdict.name = name;
  verdict.policy = recorded.value("reproduce", "exact");
  verdict.expected = recorded.value("digest", "");
  verdict.actual = actual.ToString();
  verdict.identical = verdict.expected == verdict.actual;
  verdict.accepted = verdict.identical || verdict.policy == "ignore";
  std::string type = recorded.value("type", "");
  bool metrics = type == "Metrics" || type == "ClassificationMetrics";
  if (!verdict.identical && metrics) {
    Result<Digest> expected = Digest::Parse(verdict.expected);
    Result<std::string> before =
        expected.ok() ? blobs_->ReadVerified(*expected)
                      : Result<std::string>(expected.status());
    Result<std::string> after = blobs_->ReadVerified(actual);
    if (before.ok() && after.ok()) {
      Json old_metrics = Json::parse(*before, nullptr, false);
      Json new_metrics = Json::parse(*after, nullptr, false);
      verdict.metric_changes = CompareMetrics(old_metrics, new_metrics);
      if (verdict.policy == "tolerance") {
        verdict.accepted = WithinTolerance(
            verdict.metric_changes, recorded.value("tolerance", 0.0));
      }
    }
  }
  return verdict;
}

void Reproducer::Compare(const Json& step,
                         const pipeline::StepOutcome& outcome,
                         StepVerdict* verdict) {
  bool all_accepted = true;
  bool all_identical = true;
  for (const auto& [name, recorded] : step["outputs"].items()) {
    auto actual = outcome.outputs.find(name);
    if (actual == outcome.outputs.end()) {
      continue;
    }
    produced_[verdict->name][name] = actual->second;
    OutputVerdict output = CompareOutput(name, recorded, actual->second);
    all_accepted &= output.accepted;
    all_identical &= output.identical;
    if (!output.accepted && report_.first_divergence.empty()) {
      report_.first_divergence = "step " + verdict->name + ", output " + name;
    }
    verdict->outputs.push_back(std::move(output));
  }
  verdict->status = !all_accepted   ? "diverged"
                    : all_identical ? "identical"
                                    : "accepted";
}

Status Reproducer::ReproduceStep(const Json& step) {
  std::string name = step["name"];
  std::string state = step["state"];
  if (step["component"] == "lockstep/data-snapshot") {
    report_.steps.push_back(CheckSnapshot(step));
    return Status::Ok();
  }
  if (step["component"] == "lockstep/collect") {
    // A for_each: collection has no command of its own; its iterations
    // (NAME[i]) are reproduced and compared one by one.
    report_.steps.push_back({name, "skipped",
                             "collects the outputs of its for_each "
                             "iterations, which are compared one by one",
                             {}});
    return Status::Ok();
  }
  if (state == "failed" || state == "cancelled") {
    report_.steps.push_back({name, state,
                             "the original step " + state +
                                 "; nothing to compare",
                             {}});
    return Status::Ok();
  }
  StepVerdict verdict{name, "identical", "", {}};

  // A step skipped by its condition must be skipped again, and vice versa.
  Result<bool> holds = ConditionHolds(step);
  if (state == "skipped") {
    bool was_true = step.contains("if") && step["if"].value("value", true);
    if (holds.ok() && *holds && !was_true) {
      verdict.status = "diverged";
      verdict.note = "its if: condition is now true (it was false)";
      report_.first_divergence = report_.first_divergence.empty()
                                     ? "step " + name + " (condition)"
                                     : report_.first_divergence;
    } else {
      verdict.status = "skipped";
      verdict.note = step.value("message", "skipped");
    }
    report_.steps.push_back(verdict);
    return Status::Ok();
  }
  if (holds.ok() && !*holds) {
    verdict.status = "diverged";
    verdict.note = "its if: condition is now false (it was true)";
    if (report_.first_divergence.empty()) {
      report_.first_divergence = "step " + name + " (condition)";
    }
    report_.steps.push_back(verdict);
    return Status::Ok();
  }

  ASSIGN_OR_RETURN(StepInvocation invocation, Rewire(step, &verdict));
  if (verdict.status == "missing") {
    report_.steps.push_back(verdict);
    return Status::Ok();
  }
  pipeline::ExecutorConfig config;
  config.work_root = options_.work_directory.empty()
                         ? blobs_->root() / "work"
                         : options_.work_directory;
  config.lockstep_binary = options_.lockstep_binary;
  config.keep_work = options_.keep;
  ASSIGN_OR_RETURN(pipeline::StepOutcome outcome,
                   pipeline::ExecuteStep(invocation, blobs_, config));
  if (!outcome.succeeded()) {
    verdict.status = "diverged";
    verdict.note = "the step failed when re-run: " + outcome.failure;
    if (report_.first_divergence.empty()) {
      report_.first_divergence = "step " + name + " (failed)";
    }
    report_.steps.push_back(verdict);
    return Status::Ok();
  }
  Compare(step, outcome, &verdict);
  report_.steps.push_back(verdict);
  return Status::Ok();
}

Result<ReproduceReport> Reproducer::Run() {
  report_.run_id = manifest_.value("run_id", "");
  for (const Json& step : manifest_["steps"]) {
    LogInfo("reproducing step {}", step["name"].get<std::string>());
    RETURN_IF_ERROR(ReproduceStep(step));
  }
  report_.reproduced = report_.missing.empty() &&
                       report_.first_divergence.empty();
  return report_;
}

}  // namespace

int ReproduceReport::ExitCode() const {
  if (!missing.empty()) {
    return 2;
  }
  return first_divergence.empty() ? 0 : 1;
}

Json ReproduceReport::ToJson() const {
  Json steps_json = Json::array();
  for (const StepVerdict& step : steps) {
    Json outputs = Json::array();
    bool identical = step.status == "identical" || step.status == "skipped";
    for (const OutputVerdict& output : step.outputs) {
      Json entry = {{"name", output.name},  {"policy", output.policy},
                    {"identical", output.identical},
                    {"accepted", output.accepted},
                    {"expected", output.expected},
                    {"actual", output.actual}};
      if (!output.metric_changes.is_null()) {
        entry["metric_changes"] = output.metric_changes;
      }
      outputs.push_back(entry);
    }
    Json entry = {{"name", step.name}, {"status", step.status},
                  {"identical", identical}, {"outputs", outputs}};
    if (!step.note.empty()) {
      entry["note"] = step.note;
    }
    for (const OutputVerdict& output : step.outputs) {
      if (!output.identical) {
        entry["expected"] = output.expected;
        entry["actual"] = output.actual;
        break;
      }
    }
    steps_json.push_back(entry);
  }
  Json result = {{"run_id", run_id}, {"reproduced", reproduced},
                 {"steps", steps_json}};
  if (!first_divergence.empty()) {
    result["first_divergence"] = first_divergence;
  }
  if (!missing.empty()) {
    result["missing"] = missing;
  }
  return result;
}

Result<ReproduceReport> Reproduce(const Json& manifest,
                                  store::BlobStore* blobs,
                                  const ReproduceOptions& options) {
  if (!manifest.contains("steps") || !manifest["steps"].is_array()) {
    return Status::InvalidArgument("the manifest has no steps");
  }
  try {
    return Reproducer(manifest, blobs, options).Run();
  } catch (const Json::exception& error) {
    return Status::InvalidArgument(std::string("malformed manifest: ") +
                                   error.what());
  }
}

Json CompareMetrics(const Json& before, const Json& after) {
  Json changes = Json::array();
  CollectMetricChanges("", before, after, &changes);
  return changes;
}

}  // namespace lockstep::manifest
