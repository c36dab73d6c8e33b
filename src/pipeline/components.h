// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// Built-in components: what `uses: lockstep/...` means. Each maps to a
// `lockstep` subcommand whose argv the engine builds from the step's
// inputs, outputs and `with:` arguments, except data-snapshot, which the
// engine runs in-process because it writes to the store.

#ifndef LOCKSTEP_PIPELINE_COMPONENTS_H_
#define LOCKSTEP_PIPELINE_COMPONENTS_H_

#include <map>
#include <string>
#include <vector>

namespace lockstep::pipeline {

struct ComponentPort {
  std::string name;
  std::string flag;   // e.g. "--train"
  std::string type;   // Artifact type of an output.
  bool required = true;
};

struct ComponentSpec {
  std::string name;                  // "lockstep/ml-train"
  std::vector<std::string> command;  // {"ml", "train"}
  std::vector<ComponentPort> inputs;
  std::vector<ComponentPort> outputs;
  // `with:` keys whose flag is not "--<key>".
  std::map<std::string, std::string> renamed_arguments;
  // Bumped whenever the component's behaviour changes; part of the key.
  int version = 1;
  bool in_process = false;
};

// The component named `name`, or nullptr.
const ComponentSpec* FindComponent(const std::string& name);

// All component names, for error messages.
std::vector<std::string> ComponentNames();

}  // namespace lockstep::pipeline

#endif  // LOCKSTEP_PIPELINE_COMPONENTS_H_
