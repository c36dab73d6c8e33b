// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "pipeline/components.h"

namespace lockstep::pipeline {

namespace {

const std::vector<ComponentSpec>& Components() {
  static const std::vector<ComponentSpec> kComponents = {
      {.name = "lockstep/data-snapshot",
       .outputs = {{"dataset", "", "Dataset"}},
       .in_process = true},
      {.name = "lockstep/data-validate",
       .command = {"ml", "validate"},
       .inputs = {{"data", "--data", ""}},
       .outputs = {{"valid", "--valid", "Artifact"},
                   {"report", "--report", "Metrics", false}},
       .renamed_arguments = {{"expected_digest", "--expected-digest"},
                             {"expected_rows", "--expected-rows"}}},
      {.name = "lockstep/ml-split",
       .command = {"ml", "split"},
       .inputs = {{"data", "--input", ""}},
       .outputs = {{"train", "--train", "Dataset"},
                   {"test", "--test", "Dataset"}},
       .renamed_arguments = {{"test_fraction", "--test-fraction"}}},
      {.name = "lockstep/ml-train",
       .command = {"ml", "train"},
       .inputs = {{"train", "--train", ""}},
       .outputs = {{"model", "--model", "Model"}},
       .renamed_arguments = {{"positive_label", "--positive-label"}}},
      {.name = "lockstep/ml-evaluate",
       .command = {"ml", "evaluate"},
       .inputs = {{"model", "--model", ""}, {"test", "--test", ""}},
       .outputs = {{"metrics", "--metrics", "Metrics"}},
       .renamed_arguments = {{"positive_label", "--positive-label"}}},
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

}  // namespace lockstep::pipeline
