// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// Built-in components: what `uses: lockstep/...` means. Each maps to a
// `lockstep` subcommand whose argv the engine builds from the step's
// inputs, outputs and `with:` arguments, except data-snapshot, which the
// engine runs in-process because it writes to the store.

#ifndef LOCKSTEP_PIPELINE_COMPONENTS_H_
#define LOCKSTEP_PIPELINE_COMPONENTS_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace lockstep::pipeline {

struct ComponentPort {
  std::string name;
  std::string flag;   // e.g. "--train"
  std::string type;   // Artifact type of an output.
  bool required = true;
};

// What a `with:` key of a component takes. Ranges are inclusive unless
// marked exclusive; they mirror what the component's command refuses.
struct ComponentArgument {
  // kSnapshotName: text that names a new snapshot (data::
  // IsValidNewSnapshotName), checked when the file is validated.
  // kDigest: "sha256:" and 64 lowercase hex digits.
  enum class Kind { kText, kNumber, kInt, kSnapshotName, kDigest };
  std::string key;
  Kind kind = Kind::kText;
  bool required = false;
  std::optional<double> min;
  std::optional<double> max;
  bool exclusive = false;  // min and max themselves are out of range
};

struct ComponentSpec {
  std::string name;                  // "lockstep/ml-train"
  std::vector<std::string> command;  // {"ml", "train"}
  std::vector<ComponentPort> inputs;
  std::vector<ComponentPort> outputs;
  // `with:` keys whose flag is not "--<key>".
  std::map<std::string, std::string> renamed_arguments;
  // The `with:` keys it accepts.
  std::vector<ComponentArgument> arguments;
  // Whether other `with:` keys pass through as `--KEY VALUE` (ml-train's
  // XGBoost parameters), except the command's own flags in `reserved`.
  bool passes_other_arguments = false;
  std::vector<std::string> reserved;
  // Bumped whenever the component's behaviour changes; part of the key.
  int version = 1;
  bool in_process = false;
};

// The component named `name`, or nullptr.
const ComponentSpec* FindComponent(const std::string& name);

// All component names, for error messages.
std::vector<std::string> ComponentNames();

// The argument `key` of `component`, or nullptr when it takes none such.
const ComponentArgument* FindArgument(const ComponentSpec& component,
                                      const std::string& key);

// Why `value`, given literally, does not fit `argument`, or "" when it
// does: "must be a number between 0 and 1 (exclusive), not 1.5".
std::string ArgumentProblem(const ComponentArgument& argument,
                            const nlohmann::json& value);

}  // namespace lockstep::pipeline

#endif  // LOCKSTEP_PIPELINE_COMPONENTS_H_
