// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "pipeline/components.h"

#include "core/digest.h"
#include "data/snapshot.h"

namespace lockstep::pipeline {

namespace {

using Kind = ComponentArgument::Kind;

const std::vector<ComponentSpec>& Components() {
  static const std::vector<ComponentSpec> kComponents = {
      {.name = "lockstep/data-snapshot",
       .outputs = {{"dataset", "", "Dataset"}},
       .arguments = {{"source", Kind::kText, true},
                     {"name", Kind::kSnapshotName, true}},
       .in_process = true},
      {.name = "lockstep/data-validate",
       .command = {"ml", "validate"},
       .inputs = {{"data", "--data", ""}},
       .outputs = {{"valid", "--valid", "Artifact"},
                   {"report", "--report", "Metrics", false}},
       .renamed_arguments = {{"expected_digest", "--expected-digest"},
                             {"expected_rows", "--expected-rows"}},
       .arguments = {{"expected_digest", Kind::kDigest},
                     {"expected_rows", Kind::kInt, false, 0}}},
      {.name = "lockstep/ml-split",
       .command = {"ml", "split"},
       .inputs = {{"data", "--input", ""}},
       .outputs = {{"train", "--train", "Dataset"},
                   {"test", "--test", "Dataset"}},
       .renamed_arguments = {{"test_fraction", "--test-fraction"}},
       .arguments = {{"label", Kind::kText, true},
                     {"test_fraction", Kind::kNumber, false, 0, 1, true},
                     {"seed", Kind::kInt, false, 0}}},
      {.name = "lockstep/ml-train",
       .command = {"ml", "train"},
       .inputs = {{"train", "--train", ""}},
       .outputs = {{"model", "--model", "Model"}},
       .renamed_arguments = {{"positive_label", "--positive-label"}},
       .arguments = {{"label", Kind::kText, true},
                     {"positive_label", Kind::kText},
                     {"learning_rate", Kind::kNumber, false, 0, {}, true},
                     {"n_estimators", Kind::kInt, false, 1},
                     {"max_depth", Kind::kInt, false, 0},
                     {"seed", Kind::kInt},
                     {"nthread", Kind::kInt, false, 0}},
       // Any other key is an XGBoost parameter (`lockstep ml train`).
       .passes_other_arguments = true,
       .reserved = {"train", "model", "timings", "store", "metadata",
                    "json", "quiet", "verbose", "help"}},
      {.name = "lockstep/ml-evaluate",
       .command = {"ml", "evaluate"},
       .inputs = {{"model", "--model", ""}, {"test", "--test", ""}},
       .outputs = {{"metrics", "--metrics", "Metrics"}},
       .renamed_arguments = {{"positive_label", "--positive-label"}},
       .arguments = {{"label", Kind::kText},
                     {"positive_label", Kind::kText}}},
  };
  return kComponents;
}

}  // namespace

const ComponentSpec* FindComponent(const std::string& name) {
  for (const ComponentSpec& component : Components()) {
    if (component.name == name) {
      return &component;
    }
  }
  return nullptr;
}

std::vector<std::string> ComponentNames() {
  std::vector<std::string> names;
  for (const ComponentSpec& component : Components()) {
    names.push_back(component.name);
  }
  return names;
}

const ComponentArgument* FindArgument(const ComponentSpec& component,
                                      const std::string& key) {
  for (const ComponentArgument& argument : component.arguments) {
    if (argument.key == key) {
      return &argument;
    }
  }
  return nullptr;
}

namespace {

std::string Number(double value) {
  nlohmann::json json = value;
  if (value == static_cast<double>(static_cast<int64_t>(value))) {
    json = static_cast<int64_t>(value);
  }
  return json.dump();
}

// "a number", "a whole number >= 1", "a number between 0 and 1
// (exclusive)", ...
std::string Describe(const ComponentArgument& argument) {
  std::string what = argument.kind == Kind::kInt ? "a whole number"
                                                  : "a number";
  std::string above = argument.exclusive ? " > " : " >= ";
  std::string below = argument.exclusive ? " < " : " <= ";
  if (argument.min && argument.max) {
    return what + " between " + Number(*argument.min) + " and " +
           Number(*argument.max) +
           (argument.exclusive ? " (exclusive)" : " (inclusive)");
  }
  if (argument.min) return what + above + Number(*argument.min);
  if (argument.max) return what + below + Number(*argument.max);
  return what;
}

bool InRange(const ComponentArgument& argument, double value) {
  if (argument.min && (argument.exclusive ? value <= *argument.min
                                          : value < *argument.min)) {
    return false;
  }
  return !argument.max || (argument.exclusive ? value < *argument.max
                                              : value <= *argument.max);
}

}  // namespace

std::string ArgumentProblem(const ComponentArgument& argument,
                            const nlohmann::json& value) {
  if (value.is_null() || value.is_array() || value.is_object()) {
    return "must be a single value, not " +
           std::string(value.is_null() ? "null" : value.dump());
  }
  if (argument.kind == Kind::kText) {
    return "";
  }
  if (argument.kind == Kind::kSnapshotName) {
    if (!value.is_string()) {
      return "must be a snapshot name (text), not " + value.dump();
    }
    if (!data::IsValidNewSnapshotName(value.get<std::string>())) {
      return data::InvalidSnapshotNameMessage(value.get<std::string>());
    }
    return "";
  }
  if (argument.kind == Kind::kDigest) {
    // A digest without its "sha256:" never matched, so the data was
    // reported invalid whatever it held (found by a tester).
    if (!value.is_string() || !Digest::Parse(value.get<std::string>()).ok()) {
      return "must be a digest (sha256: and 64 hex digits), not " +
             value.dump();
    }
    return "";
  }
  bool fits = argument.kind == Kind::kInt ? value.is_number_integer()
                                          : value.is_number();
  if (!fits || !InRange(argument, value.get<double>())) {
    return "must be " + Describe(argument) + ", not " + value.dump();
  }
  return "";
}

}  // namespace lockstep::pipeline
