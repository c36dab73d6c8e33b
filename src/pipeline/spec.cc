// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "pipeline/spec.h"

#include <algorithm>
#include <map>
#include <regex>
#include <set>

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>

#include "core/clock.h"
#include "core/files.h"
#include "core/utf8.h"
#include "data/snapshot.h"
#include "env/lockfile.h"
#include "image/reference.h"
#include "pipeline/code_files.h"
#include "pipeline/components.h"
#include "pipeline/dag.h"
#include "pipeline/expression.h"
#include "pipeline/params.h"
#include "pipeline/step_paths.h"

namespace lockstep::pipeline {

namespace {

const std::set<std::string> kTopLevelKeys = {
    "pipeline", "name", "description", "params", "steps", "cache",
    "environment"};
const std::set<std::string> kEnvironmentKeys = {
    "image", "lockfile", "on_drift", "site_packages", "files"};
const std::set<std::string> kStepKeys = {
    "run", "uses", "with", "inputs", "outputs", "if", "needs", "env",
    "code", "cache", "always_run", "retries", "timeout", "description",
    "finally", "for_each", "parallelism", "environment"};
const std::set<std::string> kArtifactTypes = {
    "Dataset", "Model", "Metrics", "ClassificationMetrics", "HTML",
    "Markdown", "Artifact"};

// Parses one file; holds its name for locations.
class SpecParser {
 public:
  SpecParser(const std::string& text, const std::filesystem::path& file)
      : text_(text), file_(file) {}

  Result<PipelineSpec> Parse();

 private:
  SourceLocation Where(const YAML::Node& node) const {
    YAML::Mark mark = node.Mark();
    if (mark.line < 0) {
      return {file_.string(), 0, 0};
    }
    return {file_.string(), mark.line + 1, mark.column + 1};
  }

  Status Error(const YAML::Node& node, const std::string& message) const {
    return SpecError(Where(node), message);
  }

  Result<std::string> Scalar(const YAML::Node& node,
                             const std::string& what) const {
    if (!node.IsScalar()) {
      return Error(node, what + " must be a single value");
    }
    return node.Scalar();
  }

  // The node as JSON; refuses documents past kMaxYamlValues in all.
  Result<Json> ToJson(const YAML::Node& node) const;
  Result<Json> ScalarValue(const YAML::Node& node) const;
  Result<Json> ConvertNode(const YAML::Node& node) const;
  Status CheckKeys(const YAML::Node& map, const std::set<std::string>& keys,
                   const std::string& what) const;
  Status CheckUniqueKeys(const YAML::Node& node, size_t* visited) const;
  Result<std::vector<std::string>> StringList(const YAML::Node& node,
                                              const std::string& what) const;
  Status ParseParams(const YAML::Node& node, PipelineSpec* spec) const;
  Result<ParamSpec> ParseParam(const std::string& name,
                               const YAML::Node& key,
                               const YAML::Node& value) const;
  Status ParseStep(const std::string& name, const YAML::Node& key,
                   const YAML::Node& node, StepSpec* step) const;
  Status ParseCommand(const YAML::Node& node, StepSpec* step) const;
  Status ParseEnvironment(const YAML::Node& node,
                          EnvironmentSpec* environment) const;
  Result<InputSpec> ParseInput(const std::string& name,
                               const YAML::Node& node) const;
  Result<OutputSpec> ParseOutput(const std::string& name,
                                 const YAML::Node& node) const;
  Status ParseReproduce(const YAML::Node& node, OutputSpec* output) const;
  Status CheckPortName(const YAML::Node& key, const std::string& what,
                       const std::string& name) const;
  Status AddComponentOutputs(StepSpec* step) const;
  Status ParseRetries(const YAML::Node& node, StepSpec* step) const;
  Result<int64_t> Duration(const YAML::Node& node,
                           const std::string& what) const;
  Status CheckExactIntegers(const YAML::Node& node) const;
  Status ParseForEach(const YAML::Node& node, StepSpec* step) const;
  Result<bool> Bool(const YAML::Node& node, const std::string& what) const;
  Result<int64_t> NonNegativeInt(const YAML::Node& node,
                                 const std::string& what) const;

  const std::string& text_;
  std::filesystem::path file_;
  mutable size_t values_made_ = 0;  // By ToJson, for kMaxYamlValues.
};

Result<Json> SpecParser::ToJson(const YAML::Node& node) const {
  Result<Json> value = ConvertNode(node);
  if (values_made_ > kMaxYamlValues) {
    return Error(node, "this value brings the file past " +
                           std::to_string(kMaxYamlValues) +
                           " values (YAML aliases repeat what their anchor "
                           "names); refusing to expand it");
  }
  return value;
}

// A scalar's value as YAML types it (TypeYamlScalar), or an error at it.
Result<Json> SpecParser::ScalarValue(const YAML::Node& node) const {
  Result<Json> value = TypeYamlScalar(node.Scalar(), node.Tag());
  if (!value.ok()) return Error(node, value.status().message());
  return value;
}

Result<Json> SpecParser::ConvertNode(const YAML::Node& node) const {
  if (++values_made_ > kMaxYamlValues) {
    return Status::InvalidArgument("too many values");
  }
  if (node.IsScalar()) return ScalarValue(node);
  if (node.IsNull()) {
    return Json(nullptr);
  }
  if (node.IsSequence()) {
    Json list = Json::array();
    for (const YAML::Node& item : node) {
      ASSIGN_OR_RETURN(Json value, ConvertNode(item));
      list.push_back(std::move(value));
    }
    return list;
  }
  Json map = Json::object();
  for (const auto& entry : node) {
    ASSIGN_OR_RETURN(std::string key, Scalar(entry.first, "a key"));
    // A param's map (`m: {<<: *base}`) was taken with the key "<<"
    // where a merge was meant; CheckKeys refuses one in the file's own
    // maps.
    if (Status merge = CheckMergeKey(entry.first); !merge.ok()) {
      return Error(entry.first, merge.message());
    }
    ASSIGN_OR_RETURN(map[key], ConvertNode(entry.second));
  }
  return map;
}

Status SpecParser::CheckKeys(const YAML::Node& map,
                             const std::set<std::string>& keys,
                             const std::string& what) const {
  for (const auto& entry : map) {
    ASSIGN_OR_RETURN(std::string key, Scalar(entry.first, "a key"));
    if (key == "<<" && !keys.contains(key)) {
      // yaml-cpp reads a merge key as a plain key named "<<".
      return Error(entry.first,
                   "YAML merge keys (<<) are not supported in " + what +
                       "; write the keys out (an alias of a whole value, "
                       "*name, works)");
    }
    if (!keys.contains(key)) {
      std::string known;
      for (const std::string& k : keys) {
        known += (known.empty() ? "" : ", ") + k;
      }
      return Error(entry.first, "unknown key '" + key + "' in " + what +
                                    " (known: " + known + ")");
    }
  }
  return Status::Ok();
}

// YAML requires a map's keys to be unique, but yaml-cpp keeps both and
// a lookup finds one: `n: 1` then `n: 2` ran with whichever it found.
Status SpecParser::CheckUniqueKeys(const YAML::Node& node,
                                   size_t* visited) const {
  // Aliases can make a small file a huge tree; ToJson refuses that later.
  if (++*visited > kMaxYamlValues) return Status::Ok();
  // Tags too, everywhere (keys and collections included): one that is
  // not understood is an error rather than a guess.
  if (Status tagged = CheckYamlTag(node); !tagged.ok()) {
    return Error(node, tagged.message());
  }
  if (node.IsSequence()) {
    for (const YAML::Node& item : node) {
      RETURN_IF_ERROR(CheckUniqueKeys(item, visited));
    }
    return Status::Ok();
  }
  if (!node.IsMap()) return Status::Ok();
  std::map<std::string, YAML::Mark> seen;
  for (const auto& entry : node) {
    if (Status tagged = CheckYamlTag(entry.first); !tagged.ok()) {
      return Error(entry.first, tagged.message());
    }
    if (entry.first.IsScalar()) {
      auto [first, inserted] =
          seen.emplace(entry.first.Scalar(), entry.first.Mark());
      if (!inserted) {
        return Error(entry.first,
                     "duplicate key '" + entry.first.Scalar() +
                         "' (first at line " +
                         std::to_string(first->second.line + 1) + ")");
      }
    }
    RETURN_IF_ERROR(CheckUniqueKeys(entry.second, visited));
  }
  return Status::Ok();
}

Result<std::vector<std::string>> SpecParser::StringList(
    const YAML::Node& node, const std::string& what) const {
  std::vector<std::string> items;
  if (node.IsScalar()) {
    items.push_back(node.Scalar());
    return items;
  }
  if (!node.IsSequence()) {
    return Error(node, what + " must be a list");
  }
  for (const YAML::Node& item : node) {
    ASSIGN_OR_RETURN(std::string value, Scalar(item, "each item of " + what));
    items.push_back(value);
  }
  return items;
}

Result<ParamSpec> SpecParser::ParseParam(const std::string& name,
                                         const YAML::Node& key,
                                         const YAML::Node& value) const {
  ParamSpec param;
  param.name = name;
  param.where = Where(key);
  bool declared = value.IsMap() && value["type"].IsDefined();
  if (!declared) {
    // `name: default`: the default's own type is the param's type.
    ASSIGN_OR_RETURN(Json default_value, ToJson(value));
    if (default_value.is_null()) {
      return Error(value, "param '" + name + "' has a null default; write "
                          "{type: ..., default: ...} or give a value");
    }
    param.type = TypeOfValue(default_value);
    param.default_value = default_value;
    return param;
  }

  RETURN_IF_ERROR(CheckKeys(value, {"type", "default", "description"},
                            "param '" + name + "'"));
  ASSIGN_OR_RETURN(std::string type_name, Scalar(value["type"], "type"));
  std::optional<ParamType> type = ParseParamType(type_name);
  if (!type) {
    return Error(value["type"], "unknown param type '" + type_name +
                                    "' (int, float, string, bool, list, "
                                    "map)");
  }
  param.type = *type;
  if (value["default"].IsDefined()) {
    ASSIGN_OR_RETURN(Json default_value, ToJson(value["default"]));
    // As for `name: null` above; a null read as a string default. Named
    // at the param: yaml-cpp marks an empty `default:` at the next line.
    if (default_value.is_null()) {
      return Error(key,
                   "param '" + name + "' has a null default; no param "
                   "takes null (leave default: out to make it required)");
    }
    ParamType actual = TypeOfValue(default_value);
    bool widened = *type == ParamType::kFloat && actual == ParamType::kInt;
    if (actual != *type && !widened) {
      return Error(value["default"], "default of param '" + name + "' is " +
                                         ParamTypeName(actual) + ", not " +
                                         type_name);
    }
    param.default_value =
        widened ? Json(default_value.get<double>()) : default_value;
  }
  return param;
}

Status SpecParser::ParseParams(const YAML::Node& node,
                               PipelineSpec* spec) const {
  if (!node.IsMap()) {
    return Error(node, "params must be a map of names to defaults");
  }
  static const std::regex kName("[A-Za-z_][A-Za-z0-9_]*");
  for (const auto& entry : node) {
    ASSIGN_OR_RETURN(std::string name, Scalar(entry.first, "a param name"));
    if (!std::regex_match(name, kName)) {
      return Error(entry.first, "param name '" + name +
                                    "' must be letters, digits and _");
    }
    ASSIGN_OR_RETURN(ParamSpec param,
                     ParseParam(name, entry.first, entry.second));
    spec->params.push_back(std::move(param));
  }
  return Status::Ok();
}

// Input and output names become inputs/NAME and outputs/NAME in the step
// folder: a `/` or `..` would reach a file outside it.
Status SpecParser::CheckPortName(const YAML::Node& key,
                                 const std::string& what,
                                 const std::string& name) const {
  if (!IsSimpleName(name)) {
    return Error(key, what + " name '" + name +
                          "' must be letters, digits, _ and - (it names "
                          "the file " + what + "s/NAME in the step folder)");
  }
  if (std::string problem = PortNameLengthProblem(what, name);
      !problem.empty()) {
    return Error(key, problem);
  }
  return Status::Ok();
}

Result<InputSpec> SpecParser::ParseInput(const std::string& name,
                                         const YAML::Node& node) const {
  InputSpec input;
  input.name = name;
  input.where = Where(node);
  YAML::Node source = node;
  if (node.IsMap()) {
    RETURN_IF_ERROR(CheckKeys(node, {"from", "optional", "type"},
                              "input '" + name + "'"));
    if (node["type"].IsDefined()) {
      ASSIGN_OR_RETURN(input.type, Scalar(node["type"], "input type"));
      if (!kArtifactTypes.contains(input.type)) {
        return Error(node["type"], "unknown artifact type '" + input.type +
                                       "'");
      }
    }
    if (node["optional"].IsDefined()) {
      // Anything but a boolean (maybe, 1, "true") is refused, as
      // cache: and always_run: are; it used to mean false silently.
      ASSIGN_OR_RETURN(input.optional, Bool(node["optional"], "optional:"));
    }
    if (!node["from"].IsDefined()) {
      if (!input.optional) {
        return Error(node, "input '" + name + "' needs 'from:'");
      }
      input.kind = InputSpec::Kind::kStepOutput;
      return input;
    }
    // reset(), not =: assigning a yaml-cpp node overwrites its referent.
    source.reset(node["from"]);
  }
  ASSIGN_OR_RETURN(std::string text, Scalar(source, "input '" + name + "'"));

  // NAME@VERSION names a data snapshot (NAME may be team/iris, parts
  // joined by '/'); STEP.OUTPUT another step's output.
  static const std::regex kSnapshot(
      "([A-Za-z0-9._-]+(?:/[A-Za-z0-9._-]+)*)@([0-9]+|latest)");
  static const std::regex kOutput("([A-Za-z0-9_-]+)\\.([A-Za-z0-9_-]+)");
  std::smatch match;
  if (std::regex_match(text, match, kSnapshot)) {
    input.kind = InputSpec::Kind::kSnapshot;
    input.snapshot_name = match[1];
    if (match[2] == "latest") return input;  // Version 0: the latest.
    // `@0` read as "latest" once: a pin that floated with new versions.
    Result<int64_t> version = data::ParseSnapshotVersion(match[2].str());
    if (!version.ok()) {
      return Error(source, "input '" + name + "': " +
                               version.status().message());
    }
    input.snapshot_version = *version;
    return input;
  }
  if (std::regex_match(text, match, kOutput)) {
    input.step = match[1];
    input.output = match[2];
    return input;
  }
  return Error(source, "input '" + name + "' must be STEP.OUTPUT or a "
                       "snapshot NAME@VERSION, not '" + text + "'");
}

Status SpecParser::ParseReproduce(const YAML::Node& node,
                                  OutputSpec* output) const {
  if (node.IsScalar()) {
    if (node.Scalar() == "exact") {
      output->reproduce = ReproducePolicy::kExact;
      return Status::Ok();
    }
    if (node.Scalar() == "ignore") {
      output->reproduce = ReproducePolicy::kIgnore;
      return Status::Ok();
    }
  } else if (node.IsMap() && node["tolerance"].IsDefined()) {
    ASSIGN_OR_RETURN(Json tolerance, ToJson(node["tolerance"]));
    if (!tolerance.is_number() || tolerance.get<double>() < 0) {
      return Error(node["tolerance"], "tolerance must be a number >= 0");
    }
    output->reproduce = ReproducePolicy::kTolerance;
    output->tolerance = tolerance.get<double>();
    return Status::Ok();
  }
  return Error(node, "reproduce must be exact, ignore or {tolerance: X}");
}

Result<OutputSpec> SpecParser::ParseOutput(const std::string& name,
                                           const YAML::Node& node) const {
  OutputSpec output;
  output.name = name;
  output.where = Where(node);
  YAML::Node type = node;
  bool typed = true;
  if (node.IsMap()) {
    RETURN_IF_ERROR(CheckKeys(node, {"type", "reproduce"},
                              "output '" + name + "'"));
    typed = node["type"].IsDefined();
    if (typed) {
      type.reset(node["type"]);
    }
    if (node["reproduce"].IsDefined()) {
      RETURN_IF_ERROR(ParseReproduce(node["reproduce"], &output));
    }
  }
  if (typed && !type.IsNull()) {
    ASSIGN_OR_RETURN(output.type, Scalar(type, "output type"));
    if (!kArtifactTypes.contains(output.type)) {
      return Error(type, "unknown artifact type '" + output.type +
                             "' (Dataset, Model, Metrics, "
                             "ClassificationMetrics, HTML, Markdown, "
                             "Artifact)");
    }
  }
  if (output.reproduce == ReproducePolicy::kTolerance &&
      output.type != "Metrics" && output.type != "ClassificationMetrics") {
    return Error(node, "a tolerance applies only to Metrics outputs");
  }
  return output;
}

Status SpecParser::ParseCommand(const YAML::Node& node,
                                StepSpec* step) const {
  bool has_run = node["run"].IsDefined();
  bool has_uses = node["uses"].IsDefined();
  if (has_run == has_uses) {
    return Error(node, "step '" + step->name +
                           "' needs exactly one of run: or uses:");
  }
  if (has_run) {
    const YAML::Node& run = node["run"];
    ASSIGN_OR_RETURN(step->run, StringList(run, "run"));
    if (step->run.empty() || step->run[0].empty()) {
      return Error(run, "run: needs a program to run");
    }
    const YAML::Node& program = run.IsScalar() ? run : run[0];
    // `run: 42` used to pass validation and fail in the sandbox. No
    // program is named like a number; `true` and `false` are programs.
    ASSIGN_OR_RETURN(Json typed, ScalarValue(program));
    if (typed.is_number() || typed.is_null()) {
      std::string what = typed.is_null()
                             ? std::string("null")
                             : "the " + ParamTypeName(TypeOfValue(typed)) +
                                   " " + typed.dump();
      return Error(program,
                   "run: the program must be a command name, not " + what +
                       " (run: is an argv list: [program, args...]; quote "
                       "a program named like a number)");
    }
    if (run.IsScalar()) {
      step->run_where.push_back(Where(run));
    }
    for (const YAML::Node& item : run) {
      step->run_where.push_back(Where(item));
    }
    return Status::Ok();
  }
  ASSIGN_OR_RETURN(step->uses, Scalar(node["uses"], "uses"));
  if (FindComponent(step->uses) == nullptr) {
    std::string known;
    for (const std::string& name : ComponentNames()) {
      known += (known.empty() ? "" : ", ") + name;
    }
    return Error(node["uses"], "unknown component '" + step->uses +
                                   "' (known: " + known + ")");
  }
  if (node["with"].IsDefined()) {
    if (!node["with"].IsMap()) {
      return Error(node["with"], "with: must be a map");
    }
    for (const auto& entry : node["with"]) {
      ASSIGN_OR_RETURN(std::string key, Scalar(entry.first, "a with: key"));
      ASSIGN_OR_RETURN(step->with[key], ToJson(entry.second));
      step->with_where[key] = Where(entry.second);
    }
  }
  return Status::Ok();
}

// A component's outputs exist whether or not the step declares them.
Status SpecParser::AddComponentOutputs(StepSpec* step) const {
  const ComponentSpec* component = FindComponent(step->uses);
  for (const OutputSpec& output : step->outputs) {
    bool known = false;
    for (const ComponentPort& port : component->outputs) {
      known |= port.name == output.name;
    }
    if (!known) {
      return SpecError(output.where, "component " + step->uses +
                                         " has no output '" + output.name +
                                         "'");
    }
  }
  for (const ComponentPort& port : component->outputs) {
    bool declared = false;
    for (const OutputSpec& output : step->outputs) {
      declared |= output.name == port.name;
    }
    if (!declared && port.required) {
      step->outputs.push_back({port.name, port.type, ReproducePolicy::kExact,
                               0, step->where});
    }
  }
  for (const InputSpec& input : step->inputs) {
    bool known = false;
    for (const ComponentPort& port : component->inputs) {
      known |= port.name == input.name;
    }
    if (!known) {
      return SpecError(input.where, "component " + step->uses +
                                        " has no input '" + input.name +
                                        "'");
    }
  }
  for (const ComponentPort& port : component->inputs) {
    bool wired = false;
    for (const InputSpec& input : step->inputs) {
      wired |= input.name == port.name;
    }
    if (!wired && port.required) {
      return SpecError(step->where, "step '" + step->name + "' (" +
                                        step->uses + ") needs input '" +
                                        port.name + "'");
    }
  }
  return Status::Ok();
}

Result<bool> SpecParser::Bool(const YAML::Node& node,
                              const std::string& what) const {
  ASSIGN_OR_RETURN(Json value, ToJson(node));
  if (!value.is_boolean()) {
    return Error(node, what + " must be true or false");
  }
  return value.get<bool>();
}

Result<int64_t> SpecParser::NonNegativeInt(const YAML::Node& node,
                                           const std::string& what) const {
  ASSIGN_OR_RETURN(Json value, ToJson(node));
  if (!value.is_number_integer() || value.get<int64_t>() < 0) {
    return Error(node, what + " must be a whole number >= 0");
  }
  return value.get<int64_t>();
}

// "250ms", "30s", "5m", "2h": a positive duration in milliseconds.
Result<int64_t> SpecParser::Duration(const YAML::Node& node,
                                     const std::string& what) const {
  ASSIGN_OR_RETURN(std::string text, Scalar(node, what));
  Result<int64_t> millis = ParseDurationMillis(text);
  if (!millis.ok() && text.find_first_not_of("0123456789") != 0) {
    return Error(node, what + ": " + millis.status().message());
  }
  if (!millis.ok() || *millis <= 0) {
    return Error(node, what + " must be a duration such as 500ms, 30s, 5m "
                       "or 2h, not '" + text + "'");
  }
  return *millis;
}

// `retries: N` or `retries: {limit: N, backoff: 2s}`.
Status SpecParser::ParseRetries(const YAML::Node& node,
                                StepSpec* step) const {
  YAML::Node limit = node;
  if (node.IsMap()) {
    RETURN_IF_ERROR(CheckKeys(node, {"limit", "backoff"}, "retries"));
    limit.reset(node["limit"]);
    if (!limit.IsDefined()) {
      return Error(node, "retries: needs limit:");
    }
    if (node["backoff"].IsDefined()) {
      ASSIGN_OR_RETURN(step->retry_backoff_millis,
                       Duration(node["backoff"], "retries backoff"));
    }
  }
  ASSIGN_OR_RETURN(int64_t retries, NonNegativeInt(limit, "retries"));
  if (retries > 100) {
    return Error(limit, "retries must be at most 100");
  }
  step->retries = static_cast<int>(retries);
  return Status::Ok();
}

// Refuses a plain integer outside +-(2^53 - 1) in a literal list: it
// would become the nearest double, and two items one item (params refuse
// them the same way).
Status SpecParser::CheckExactIntegers(const YAML::Node& node) const {
  std::optional<YAML::Node> inexact = FindInexactIntegerNode(node);
  if (!inexact) return Status::Ok();
  return Error(*inexact, "for_each: the integer " + inexact->Scalar() +
                             " is outside +-9007199254740991 (2^53 - 1), "
                             "the integers a manifest's RFC 8785 numbers "
                             "record exactly; quote it as a string");
}

// `for_each: [a, b]` or `for_each: ${{ params.list }}`.
Status SpecParser::ParseForEach(const YAML::Node& node,
                                StepSpec* step) const {
  step->for_each_where = Where(node);
  if (node.IsSequence()) {
    RETURN_IF_ERROR(CheckExactIntegers(node));
    ASSIGN_OR_RETURN(step->for_each, ToJson(node));
    return Status::Ok();
  }
  ASSIGN_OR_RETURN(std::string text, Scalar(node, "for_each"));
  Result<std::vector<TemplatePart>> parts = ParseTemplate(text);
  if (!parts.ok()) {
    return Error(node, "bad for_each: " + parts.status().message());
  }
  if (parts->size() != 1 || !(*parts)[0].is_expression) {
    return Error(node, "for_each: must be a list or one ${{ expression }} "
                       "that gives a list");
  }
  step->for_each = text;
  return Status::Ok();
}

Status SpecParser::ParseEnvironment(const YAML::Node& node,
                                    EnvironmentSpec* environment) const {
  if (!node.IsMap()) {
    return Error(node, "environment: must be a map with image: and/or "
                       "lockfile:");
  }
  RETURN_IF_ERROR(CheckKeys(node, kEnvironmentKeys, "environment"));
  if (node["image"].IsDefined()) {
    ASSIGN_OR_RETURN(environment->image, Scalar(node["image"], "image"));
    environment->image_where = Where(node["image"]);
    Result<registry::Reference> ref = image::ParseImageRef(environment->image);
    if (!ref.ok()) {
      return Error(node["image"], ref.status().message());
    }
  }
  if (node["lockfile"].IsDefined()) {
    ASSIGN_OR_RETURN(environment->lockfile,
                     Scalar(node["lockfile"], "lockfile"));
    environment->lockfile_where = Where(node["lockfile"]);
  }
  for (const char* key : {"on_drift", "site_packages", "files"}) {
    if (node[key].IsDefined() && !node["lockfile"].IsDefined()) {
      return Error(node[key], std::string(key) + ": needs a lockfile:");
    }
  }
  if (node["on_drift"].IsDefined()) {
    ASSIGN_OR_RETURN(std::string on_drift,
                     Scalar(node["on_drift"], "on_drift"));
    if (on_drift != "fail" && on_drift != "warn") {
      return Error(node["on_drift"], "on_drift: must be fail or warn");
    }
    environment->drift_fails = on_drift == "fail";
  }
  if (node["site_packages"].IsDefined()) {
    ASSIGN_OR_RETURN(environment->site_packages,
                     Scalar(node["site_packages"], "site_packages"));
  }
  if (node["files"].IsDefined()) {
    if (node["site_packages"].IsDefined()) {
      return Error(node["files"],
                   "give either site_packages: or files:, not both");
    }
    ASSIGN_OR_RETURN(environment->files, Scalar(node["files"], "files"));
  }
  return Status::Ok();
}

Status SpecParser::ParseStep(const std::string& name, const YAML::Node& key,
                             const YAML::Node& node, StepSpec* step) const {
  step->name = name;
  step->where = Where(key);
  if (!node.IsMap()) {
    return Error(node, "step '" + name + "' must be a map");
  }
  RETURN_IF_ERROR(CheckKeys(node, kStepKeys, "step '" + name + "'"));
  RETURN_IF_ERROR(ParseCommand(node, step));

  if (const YAML::Node& inputs = node["inputs"]; inputs.IsDefined()) {
    if (!inputs.IsMap()) {
      return Error(inputs, "inputs: must be a map of names to sources");
    }
    for (const auto& entry : inputs) {
      ASSIGN_OR_RETURN(std::string input_name,
                       Scalar(entry.first, "an input name"));
      RETURN_IF_ERROR(CheckPortName(entry.first, "input", input_name));
      ASSIGN_OR_RETURN(InputSpec input, ParseInput(input_name, entry.second));
      step->inputs.push_back(std::move(input));
    }
  }
  if (const YAML::Node& outputs = node["outputs"]; outputs.IsDefined()) {
    if (!outputs.IsMap()) {
      return Error(outputs, "outputs: must be a map of names to types");
    }
    for (const auto& entry : outputs) {
      ASSIGN_OR_RETURN(std::string output_name,
                       Scalar(entry.first, "an output name"));
      RETURN_IF_ERROR(CheckPortName(entry.first, "output", output_name));
      ASSIGN_OR_RETURN(OutputSpec output,
                       ParseOutput(output_name, entry.second));
      step->outputs.push_back(std::move(output));
    }
  }
  if (!step->uses.empty()) {
    RETURN_IF_ERROR(AddComponentOutputs(step));
  }

  if (const YAML::Node& condition = node["if"]; condition.IsDefined()) {
    ASSIGN_OR_RETURN(step->condition, Scalar(condition, "if"));
    step->condition_where = Where(condition);
  }
  if (node["environment"].IsDefined()) {
    RETURN_IF_ERROR(ParseEnvironment(node["environment"], &step->environment));
    if (!step->environment.image.empty() && !step->uses.empty()) {
      return Error(node["environment"]["image"],
                   "built-in components (uses:) run on the host; only run: "
                   "steps can run in an image");
    }
  }
  if (node["needs"].IsDefined()) {
    ASSIGN_OR_RETURN(step->needs, StringList(node["needs"], "needs"));
  }
  if (node["env"].IsDefined()) {
    ASSIGN_OR_RETURN(step->env, StringList(node["env"], "env"));
    const YAML::Node& env = node["env"];
    for (size_t i = 0; i < step->env.size(); ++i) {
      step->env_where.push_back(Where(env.IsScalar() ? env : env[i]));
      if (!IsEnvName(step->env[i])) {
        return Error(env.IsScalar() ? env : env[i],
                     "env: '" + step->env[i] + "' is not a variable name "
                     "([A-Za-z_][A-Za-z0-9_]*); env: lists the names of "
                     "host variables to pass, not NAME=VALUE");
      }
      if (std::string why = RefusedEnvReason(step->env[i]);
          !why.empty()) {
        return Error(env.IsScalar() ? env : env[i], why);
      }
    }
  }
  if (node["code"].IsDefined()) {
    ASSIGN_OR_RETURN(step->code, StringList(node["code"], "code"));
    const YAML::Node& code = node["code"];
    if (code.IsScalar()) {
      step->code_where.push_back(Where(code));
    }
    for (const YAML::Node& item : code) {
      step->code_where.push_back(Where(item));
    }
    for (size_t i = 0; i < step->code.size(); ++i) {
      Status path = CheckCodePath(step->code[i]);
      if (!path.ok()) {
        return SpecError(step->CodeWhere(i), path.message());
      }
    }
  }
  if (node["cache"].IsDefined()) {
    ASSIGN_OR_RETURN(Json cache, ToJson(node["cache"]));
    if (!cache.is_boolean()) {
      return Error(node["cache"], "cache: must be true or false");
    }
    step->cache = cache.get<bool>();
  }
  if (node["always_run"].IsDefined()) {
    ASSIGN_OR_RETURN(Json always, ToJson(node["always_run"]));
    if (!always.is_boolean()) {
      return Error(node["always_run"], "always_run: must be true or false");
    }
    step->always_run = always.get<bool>();
  }
  if (node["retries"].IsDefined()) {
    RETURN_IF_ERROR(ParseRetries(node["retries"], step));
  }
  if (node["timeout"].IsDefined()) {
    ASSIGN_OR_RETURN(step->timeout_millis,
                     Duration(node["timeout"], "timeout"));
  }
  if (node["finally"].IsDefined()) {
    ASSIGN_OR_RETURN(step->is_finally, Bool(node["finally"], "finally:"));
  }
  if (node["for_each"].IsDefined()) {
    RETURN_IF_ERROR(ParseForEach(node["for_each"], step));
  }
  if (node["parallelism"].IsDefined()) {
    if (!step->fans_out()) {
      return Error(node["parallelism"],
                   "parallelism: applies only to a for_each: step");
    }
    ASSIGN_OR_RETURN(int64_t parallelism,
                     NonNegativeInt(node["parallelism"], "parallelism"));
    // 0 is what leaving it out means; written, it reads as "none at once".
    if (parallelism == 0) {
      return Error(node["parallelism"],
                   "parallelism: must be at least 1 (leave it out for no "
                   "limit)");
    }
    step->parallelism = static_cast<int>(parallelism);
  }
  return Status::Ok();
}

// Checks that every reference in a template or condition names something
// the step can see.
class ReferenceChecker {
 public:
  ReferenceChecker(const PipelineSpec& spec, const StepSpec& step)
      : spec_(spec), step_(step) {}

  Status CheckTemplate(const std::string& text, const SourceLocation& where,
                       bool allow_paths) const {
    int column = 0;
    Result<std::vector<TemplatePart>> parts = ParseTemplate(text, &column);
    if (!parts.ok()) {
      return SpecError(where, parts.status().message());
    }
    for (const TemplatePart& part : *parts) {
      if (part.is_expression) {
        RETURN_IF_ERROR(Check(*part.expression, where, allow_paths));
      }
    }
    return Status::Ok();
  }

  Status Check(const Expression& expression, const SourceLocation& where,
               bool allow_paths) const {
    for (const std::string& reference : expression.references()) {
      RETURN_IF_ERROR(CheckReference(reference, where, allow_paths));
    }
    return Status::Ok();
  }

 private:
  // `item.KEY` over a literal list: every item must be a map with KEY,
  // refused in the words `run` uses when it substitutes the item.
  Status CheckItemField(const std::string& reference) const {
    if (reference == "item" || !step_.for_each.is_array()) {
      return Status::Ok();
    }
    std::string key = reference.substr(5);
    for (const Json& item : step_.for_each) {
      if (!item.is_object() || !item.contains(key)) {
        return SpecError(step_.for_each_where,
                         "the for_each item " + item.dump() +
                             " has no field '" + key + "'");
      }
    }
    return Status::Ok();
  }

  Status CheckReference(const std::string& reference,
                        const SourceLocation& where, bool allow_paths) const {
    std::vector<std::string> parts;
    for (size_t start = 0;;) {
      size_t dot = reference.find('.', start);
      parts.push_back(reference.substr(start, dot - start));
      if (dot == std::string::npos) {
        break;
      }
      start = dot + 1;
    }
    const std::string& root = parts[0];
    if (root == "item" && allow_paths) {
      if (!step_.fans_out()) {
        return SpecError(where, "'" + reference + "' is available only in "
                                "a for_each: step");
      }
      return CheckItemField(reference);
    }
    if (reference == "run.status" && allow_paths) {
      if (!step_.is_finally) {
        return SpecError(where, "'run.status' is available only in a "
                                "finally: step");
      }
      return Status::Ok();
    }
    if (root == "params" && parts.size() == 2) {
      if (spec_.FindParam(parts[1]) == nullptr) {
        return SpecError(where, "unknown param '" + parts[1] + "' in '" +
                                    reference + "'");
      }
      return Status::Ok();
    }
    if ((root == "inputs" || root == "outputs") && parts.size() == 2 &&
        allow_paths) {
      return CheckPort(root, parts[1], reference, where);
    }
    if (root == "steps" && parts.size() == 4 && parts[2] == "outputs" &&
        !allow_paths) {
      return CheckStepOutput(parts[1], parts[3], where);
    }
    return SpecError(where, "unknown reference '" + reference +
                                (allow_paths
                                     ? "' (use params.NAME, inputs.NAME or "
                                       "outputs.NAME)"
                                     : "' (use params.NAME or "
                                       "steps.STEP.outputs.NAME)"));
  }

  Status CheckPort(const std::string& root, const std::string& name,
                   const std::string& reference,
                   const SourceLocation& where) const {
    bool found = false;
    if (root == "inputs") {
      for (const InputSpec& input : step_.inputs) {
        found |= input.name == name;
      }
    } else {
      for (const OutputSpec& output : step_.outputs) {
        found |= output.name == name;
      }
    }
    if (!found) {
      return SpecError(where, "step '" + step_.name + "' declares no " +
                                  root.substr(0, root.size() - 1) + " '" +
                                  name + "' (in '" + reference + "')");
    }
    return Status::Ok();
  }

  Status CheckStepOutput(const std::string& step_name,
                         const std::string& output_name,
                         const SourceLocation& where) const {
    const StepSpec* producer = spec_.FindStep(step_name);
    if (producer == nullptr) {
      return SpecError(where, "unknown step '" + step_name + "'");
    }
    if (producer == &step_) {
      return SpecError(where, "step '" + step_name +
                                  "' cannot read its own output");
    }
    // Its outputs are folders of one entry per iteration: no value.
    if (producer->fans_out()) {
      return SpecError(where, "step '" + step_name + "' is a for_each: "
                              "step, whose outputs are folders; an "
                              "expression reads only a file output");
    }
    for (const OutputSpec& output : producer->outputs) {
      if (output.name == output_name) {
        return Status::Ok();
      }
    }
    return SpecError(where, "step '" + step_name + "' has no output '" +
                                output_name + "'");
  }

  const PipelineSpec& spec_;
  const StepSpec& step_;
};

// A `with:` value against what the component takes: a literal is checked
// as written; a whole `${{ params.NAME }}` by the param's type and
// default (a -p value is checked against that type before the run).
Status CheckArgument(const PipelineSpec& spec, const StepSpec& step,
                     const ComponentArgument& argument, const Json& value) {
  const SourceLocation& where = step.WithWhere(argument.key);
  std::string prefix = step.uses + " with: " + argument.key + " ";
  if (!value.is_string() ||
      value.get<std::string>().find("${{") == std::string::npos) {
    std::string problem = ArgumentProblem(argument, value);
    return problem.empty() ? Status::Ok()
                           : SpecError(where, prefix + problem);
  }
  const ParamSpec* param = WholeParamOf(spec, value.get<std::string>());
  if (param == nullptr) {
    return Status::Ok();  // Only known once substituted.
  }
  bool fits = argument.kind == ComponentArgument::Kind::kText ||
              ((argument.kind == ComponentArgument::Kind::kSnapshotName ||
                argument.kind == ComponentArgument::Kind::kDigest) &&
               param->type == ParamType::kString) ||
              param->type == ParamType::kInt ||
              (param->type == ParamType::kFloat &&
               argument.kind == ComponentArgument::Kind::kNumber);
  if (!fits) {
    using Kind = ComponentArgument::Kind;
    return SpecError(where, prefix + "takes a " +
                                (argument.kind == Kind::kInt ? "whole number"
                                 : argument.kind == Kind::kSnapshotName
                                     ? "snapshot name"
                                 : argument.kind == Kind::kDigest
                                     ? "digest"
                                     : "number") +
                                ", but param '" + param->name + "' is a " +
                                ParamTypeName(param->type));
  }
  if (param->default_value) {
    std::string problem = ArgumentProblem(argument, *param->default_value);
    if (!problem.empty()) {
      return SpecError(where, prefix + problem + " (the default of param '" +
                                  param->name + "')");
    }
  }
  return Status::Ok();
}

// Unknown `with:` keys, values of the wrong type or out of range, and
// missing required keys fail here rather than inside the step.
Status CheckComponentArguments(const PipelineSpec& spec,
                               const StepSpec& step) {
  const ComponentSpec* component = FindComponent(step.uses);
  static const std::regex kPassedKey("[a-z_][a-z0-9_]*");
  for (const auto& [key, value] : step.with) {
    const ComponentArgument* argument = FindArgument(*component, key);
    if (argument != nullptr) {
      RETURN_IF_ERROR(CheckArgument(spec, step, *argument, value));
      continue;
    }
    bool reserved = std::find(component->reserved.begin(),
                              component->reserved.end(),
                              key) != component->reserved.end();
    if (component->passes_other_arguments && !reserved &&
        std::regex_match(key, kPassedKey)) {
      ComponentArgument passed{key};
      RETURN_IF_ERROR(CheckArgument(spec, step, passed, value));
      continue;
    }
    std::string known;
    for (const ComponentArgument& each : component->arguments) {
      known += (known.empty() ? "" : ", ") + each.key;
    }
    return SpecError(step.WithWhere(key),
                     "unknown with: key '" + key + "' for " + step.uses +
                         " (known: " + known +
                         (component->passes_other_arguments
                              ? "; other lowercase keys are passed to "
                                "XGBoost"
                              : "") +
                         ")");
  }
  for (const ComponentArgument& argument : component->arguments) {
    if (argument.required && !step.with.contains(argument.key)) {
      return SpecError(step.where, "step '" + step.name + "' (" + step.uses +
                                       ") needs with: " + argument.key);
    }
  }
  return Status::Ok();
}

// Where `step` names `producer`: the input reading it, else its `if:` or
// `for_each:`, else the step (for `needs:`).
const SourceLocation& DependencyWhere(const StepSpec& step,
                                      const std::string& producer) {
  for (const InputSpec& input : step.inputs) {
    if (input.kind == InputSpec::Kind::kStepOutput &&
        input.step == producer) {
      return input.where;
    }
  }
  std::string reference = "steps." + producer + ".";
  if (step.condition.find(reference) != std::string::npos) {
    return step.condition_where;
  }
  if (step.for_each.is_string() &&
      step.for_each.get<std::string>().find(reference) != std::string::npos) {
    return step.for_each_where;
  }
  return step.where;
}

// A finally: step waits for every other step, so a normal step that
// waited for one would wait for itself: the run could never end.
Status CheckFinallyDependencies(const PipelineSpec& spec,
                                const StepSpec& step) {
  if (step.is_finally) {
    return Status::Ok();
  }
  for (const std::string& dependency : StepDependencies(step)) {
    const StepSpec* producer = spec.FindStep(dependency);
    if (producer != nullptr && producer->is_finally) {
      return SpecError(DependencyWhere(step, dependency),
                       "step '" + step.name + "' cannot depend on finally: "
                       "step '" + dependency + "', which runs after every "
                       "other step");
    }
  }
  return Status::Ok();
}

// A `for_each: ${{ }}` that can never give a list: a param declared as
// anything but a list (no -p or --params value can change a param's
// type: Coerce refuses another), or an expression that is not a bare
// reference. `run` would fail on it every time (found by a tester:
// `validate` passed `for_each: ${{ params.n }}` over an int).
Status CheckForEachGivesList(const PipelineSpec& spec,
                             const StepSpec& step) {
  if (!step.for_each.is_string()) return Status::Ok();
  Result<std::vector<TemplatePart>> parts =
      ParseTemplate(step.for_each.get<std::string>());
  if (!parts.ok() || parts->size() != 1) return Status::Ok();
  const Expression& expression = *(*parts)[0].expression;
  std::optional<std::string> reference = expression.BareReference();
  if (!reference) {
    return SpecError(step.for_each_where,
                     "for_each: '" + step.for_each.get<std::string>() +
                         "' gives one value, never a list (use a list "
                         "param or a step's output)");
  }
  if (!reference->starts_with("params.")) return Status::Ok();
  const ParamSpec* param = spec.FindParam(reference->substr(7));
  if (param == nullptr || param->type == ParamType::kList) {
    return Status::Ok();
  }
  return SpecError(step.for_each_where,
                   "for_each: param '" + param->name + "' is " +
                       ParamTypeName(param->type) +
                       ", not a list, and no -p or --params value can "
                       "change its type (declare it as a list)");
}

Status CheckStepReferences(const PipelineSpec& spec, const StepSpec& step) {
  for (const InputSpec& input : step.inputs) {
    if (input.kind != InputSpec::Kind::kStepOutput || input.step.empty()) {
      continue;
    }
    const StepSpec* producer = spec.FindStep(input.step);
    if (producer == nullptr) {
      return SpecError(input.where, "input '" + input.name +
                                        "' reads unknown step '" +
                                        input.step + "'");
    }
    if (producer == &step) {
      return SpecError(input.where, "step '" + step.name +
                                        "' cannot read its own output");
    }
    bool found = false;
    for (const OutputSpec& output : producer->outputs) {
      found |= output.name == input.output;
    }
    if (!found) {
      return SpecError(input.where, "input '" + input.name + "': step '" +
                                        input.step + "' has no output '" +
                                        input.output + "'");
    }
    for (const OutputSpec& output : producer->outputs) {
      if (output.name == input.output && !input.type.empty() &&
          input.type != output.type) {
        return SpecError(input.where,
                         "input '" + input.name + "' expects " + input.type +
                             " but " + input.step + "." + input.output +
                             " is " + output.type);
      }
    }
  }
  for (const std::string& need : step.needs) {
    if (spec.FindStep(need) == nullptr) {
      return SpecError(step.where, "step '" + step.name +
                                       "' needs unknown step '" + need + "'");
    }
  }

  ReferenceChecker checker(spec, step);
  for (size_t i = 0; i < step.run.size(); ++i) {
    RETURN_IF_ERROR(checker.CheckTemplate(step.run[i], step.RunWhere(i),
                                          true));
  }
  for (const auto& [key, value] : step.with) {
    if (value.is_string()) {
      RETURN_IF_ERROR(checker.CheckTemplate(value.get<std::string>(),
                                            step.WithWhere(key), true));
    }
  }
  if (step.for_each.is_string()) {
    RETURN_IF_ERROR(checker.CheckTemplate(step.for_each.get<std::string>(),
                                          step.for_each_where, false));
    RETURN_IF_ERROR(CheckForEachGivesList(spec, step));
  }
  if (!step.condition.empty()) {
    int column = 0;
    Result<Expression> condition = Expression::Parse(step.condition, &column);
    SourceLocation where = step.condition_where;
    if (!condition.ok()) {
      return SpecError(where, "bad if: expression: " +
                                  condition.status().message());
    }
    RETURN_IF_ERROR(checker.Check(*condition, where, false));
  }
  if (!step.uses.empty()) {
    RETURN_IF_ERROR(CheckComponentArguments(spec, step));
  }
  return Status::Ok();
}

// An output nobody reads is a pipeline result when its step is a sink
// (no step reads any of its outputs). On a step whose other outputs feed
// later steps, an unread output is most likely a wiring mistake: warn.
std::vector<std::string> UnusedOutputWarnings(const PipelineSpec& spec) {
  std::set<std::string> read;  // "step.output"
  for (const StepSpec& step : spec.steps) {
    for (const InputSpec& input : step.inputs) {
      read.insert(input.step + "." + input.output);
    }
    std::vector<std::string> texts = step.run;
    texts.push_back(step.condition.empty()
                        ? ""
                        : "${{ " + step.condition + " }}");
    if (step.for_each.is_string()) {
      texts.push_back(step.for_each.get<std::string>());
    }
    for (const std::string& text : texts) {
      Result<std::vector<TemplatePart>> parts = ParseTemplate(text);
      for (const TemplatePart& part :
           parts.ok() ? *parts : std::vector<TemplatePart>()) {
        if (!part.is_expression) {
          continue;
        }
        for (const std::string& reference : part.expression->references()) {
          if (reference.starts_with("steps.")) {
            size_t dot = reference.find('.', 6);
            read.insert(reference.substr(6, dot - 6) + "." +
                        reference.substr(reference.rfind('.') + 1));
          }
        }
      }
    }
  }
  std::vector<std::string> warnings;
  for (const StepSpec& step : spec.steps) {
    bool sink = true;
    for (const OutputSpec& output : step.outputs) {
      sink &= !read.contains(step.name + "." + output.name);
    }
    for (const OutputSpec& output : step.outputs) {
      if (!sink && !read.contains(step.name + "." + output.name)) {
        warnings.push_back(output.where.Prefix() + "output '" +
                           output.name + "' of step '" + step.name +
                           "' is never read by a later step");
      }
    }
  }
  return warnings;
}

Result<PipelineSpec> SpecParser::Parse() {
  YAML::Node root;
  try {
    // All documents, so a second one (after `---`) is refused rather
    // than silently left out, as `validate` and `run` once did.
    std::vector<YAML::Node> documents = YAML::LoadAll(text_);
    if (documents.size() > 1) {
      YAML::Mark second = documents[1].Mark();
      return SpecError(
          {file_.string(), second.line + 1, second.column + 1},
          "a second YAML document: a pipeline file holds one");
    }
    if (!documents.empty()) root = documents[0];
  } catch (const YAML::DeepRecursion& error) {
    // yaml-cpp says only "bad file" when its recursion guard trips: a
    // few hundred nested [ ] or { }, valid YAML but more than it reads.
    return SpecError({file_.string(), error.mark.line + 1,
                      error.mark.column + 1},
                     "YAML nested too deeply to read (the parser stops "
                     "at a few hundred levels of [ ] or { })");
  } catch (const YAML::ParserException& error) {
    return SpecError({file_.string(), error.mark.line + 1,
                      error.mark.column + 1},
                     "malformed YAML: " + error.msg);
  }
  if (!root.IsMap()) {
    return SpecError({file_.string(), 1, 1},
                     "a pipeline file is a YAML map with pipeline: and "
                     "steps:");
  }
  size_t visited = 0;
  RETURN_IF_ERROR(CheckUniqueKeys(root, &visited));
  RETURN_IF_ERROR(CheckKeys(root, kTopLevelKeys, "the pipeline"));

  PipelineSpec spec;
  spec.file = file_;
  spec.directory = file_.parent_path();
  spec.text = text_;
  spec.spec_digest = Sha256Of(text_);
  if (root["pipeline"].IsDefined() && root["name"].IsDefined()) {
    // Which one names the pipeline would be a guess.
    return Error(root["name"], "name: the pipeline is already named by "
                               "pipeline:; give one of the two");
  }
  YAML::Node name = root["pipeline"].IsDefined() ? root["pipeline"]
                                                 : root["name"];
  if (!name.IsDefined()) {
    return SpecError({file_.string(), 1, 1},
                     "the pipeline needs a name (pipeline: NAME)");
  }
  ASSIGN_OR_RETURN(spec.name, Scalar(name, "pipeline"));
  // A name is one line of text that shows as itself: listings print it
  // in a column (a right-to-left override reordered the line there).
  bool blank = spec.name.find_first_not_of(' ') == std::string::npos;
  if (blank || HasHiddenCharacters(spec.name)) {
    return Error(name, "pipeline: the name must be one line of visible "
                       "text");
  }
  if (root["cache"].IsDefined()) {
    // As a step's cache: only true or false; `maybe` and "false" were
    // taken as true and as false.
    ASSIGN_OR_RETURN(spec.cache, Bool(root["cache"], "cache:"));
  }
  if (root["params"].IsDefined()) {
    RETURN_IF_ERROR(ParseParams(root["params"], &spec));
  }
  if (root["environment"].IsDefined()) {
    RETURN_IF_ERROR(ParseEnvironment(root["environment"], &spec.environment));
  }

  const YAML::Node& steps = root["steps"];
  if (!steps.IsDefined() || !steps.IsMap() || steps.size() == 0) {
    return SpecError(Where(steps.IsDefined() ? steps : root),
                     "steps: must be a map of step names to steps");
  }
  std::set<std::string> seen;
  for (const auto& entry : steps) {
    ASSIGN_OR_RETURN(std::string step_name,
                     Scalar(entry.first, "a step name"));
    if (!IsSimpleName(step_name)) {
      return Error(entry.first, "step name '" + step_name +
                                    "' must be letters, digits, _ and -");
    }
    if (std::string problem = StepNameLengthProblem(step_name);
        !problem.empty()) {
      return Error(entry.first, problem);
    }
    if (!seen.insert(step_name).second) {
      return Error(entry.first, "step '" + step_name + "' is defined twice");
    }
    StepSpec step;
    RETURN_IF_ERROR(ParseStep(step_name, entry.first, entry.second, &step));
    spec.steps.push_back(std::move(step));
  }

  for (const StepSpec& step : spec.steps) {
    RETURN_IF_ERROR(CheckStepReferences(spec, step));
    RETURN_IF_ERROR(CheckFinallyDependencies(spec, step));
  }
  RETURN_IF_ERROR(TopologicalOrder(spec).status());
  spec.warnings = UnusedOutputWarnings(spec);
  return spec;
}

}  // namespace

std::string SourceLocation::Prefix() const {
  if (line <= 0) {
    return file + ": ";
  }
  return file + ":" + std::to_string(line) + ":" + std::to_string(column) +
         ": ";
}

Status SpecError(const SourceLocation& where, const std::string& message) {
  return Status::InvalidArgument(where.Prefix() + message);
}

std::string ParamTypeName(ParamType type) {
  switch (type) {
    case ParamType::kInt:
      return "int";
    case ParamType::kFloat:
      return "float";
    case ParamType::kString:
      return "string";
    case ParamType::kBool:
      return "bool";
    case ParamType::kList:
      return "list";
    case ParamType::kMap:
      return "map";
  }
  return "string";
}

std::optional<ParamType> ParseParamType(const std::string& name) {
  for (ParamType type : {ParamType::kInt, ParamType::kFloat,
                         ParamType::kString, ParamType::kBool,
                         ParamType::kList, ParamType::kMap}) {
    if (ParamTypeName(type) == name) {
      return type;
    }
  }
  return std::nullopt;
}

ParamType TypeOfValue(const Json& value) {
  if (value.is_number_integer()) {
    return ParamType::kInt;
  }
  if (value.is_number()) {
    return ParamType::kFloat;
  }
  if (value.is_boolean()) {
    return ParamType::kBool;
  }
  if (value.is_array()) {
    return ParamType::kList;
  }
  if (value.is_object()) {
    return ParamType::kMap;
  }
  return ParamType::kString;
}

const StepSpec* PipelineSpec::FindStep(const std::string& step_name) const {
  for (const StepSpec& step : steps) {
    if (step.name == step_name) {
      return &step;
    }
  }
  return nullptr;
}

const EnvironmentSpec* PipelineSpec::ImageOf(const StepSpec& step) const {
  if (!step.environment.image.empty()) {
    return &step.environment;
  }
  if (!environment.image.empty() && step.uses.empty()) {
    return &environment;
  }
  return nullptr;
}

const EnvironmentSpec* PipelineSpec::LockfileOf(const StepSpec& step) const {
  if (!step.environment.lockfile.empty()) {
    return &step.environment;
  }
  return environment.lockfile.empty() ? nullptr : &environment;
}

const ParamSpec* PipelineSpec::FindParam(const std::string& param_name) const {
  for (const ParamSpec& param : params) {
    if (param.name == param_name) {
      return &param;
    }
  }
  return nullptr;
}

const ParamSpec* WholeParamOf(const PipelineSpec& spec,
                              const std::string& text) {
  Result<std::vector<TemplatePart>> parts = ParseTemplate(text);
  if (!parts.ok() || parts->size() != 1 || !(*parts)[0].is_expression) {
    return nullptr;
  }
  const Expression& expression = *(*parts)[0].expression;
  std::string trimmed = expression.text();
  trimmed.erase(0, trimmed.find_first_not_of(' '));
  trimmed.erase(trimmed.find_last_not_of(' ') + 1);
  if (expression.references().size() != 1 ||
      expression.references()[0] != trimmed ||
      !trimmed.starts_with("params.")) {
    return nullptr;
  }
  return spec.FindParam(trimmed.substr(7));
}

namespace {

// A pipeline file is UTF-8 text (YAML 1.2 section 5.2): a stray byte in
// `run:` would reach the manifest and the cache key, which are UTF-8 JSON,
// only after steps ran, so it is refused here at its line and column.
Status CheckPipelineUtf8(const std::string& text,
                         const std::filesystem::path& file) {
  size_t bad = FirstNonUtf8(text);
  if (bad == std::string::npos) {
    return Status::Ok();
  }
  size_t line_start = text.rfind('\n', bad);
  line_start = line_start == std::string::npos ? 0 : line_start + 1;
  int line = 1 + static_cast<int>(std::count(
                     text.begin(), text.begin() + bad, '\n'));
  int column = 1 + static_cast<int>(bad - line_start);
  return SpecError({file.string(), line, column},
                   "byte " + EscapeBytes(text.substr(bad, 1)) +
                       " is not UTF-8; a pipeline file must be UTF-8 "
                       "text");
}

}  // namespace

Result<PipelineSpec> ParsePipeline(const std::string& text,
                                   const std::filesystem::path& file) {
  RETURN_IF_ERROR(CheckPipelineUtf8(text, file));
  try {
    return SpecParser(text, file).Parse();
  } catch (const YAML::Exception& error) {
    return SpecError({file.string(), error.mark.line + 1,
                      error.mark.column + 1},
                     error.msg);
  }
}

namespace {

// Every step's `code:` entries can be listed (pipeline/code_files.h).
Status CheckCodePaths(const PipelineSpec& spec) {
  for (const StepSpec& step : spec.steps) {
    for (size_t i = 0; i < step.code.size(); ++i) {
      Result<std::vector<CodeFile>> files =
          ListCodeFiles(spec.directory, step.code[i]);
      if (!files.ok()) {
        return SpecError(step.CodeWhere(i), files.status().message());
      }
    }
  }
  return Status::Ok();
}

}  // namespace

Status CheckImagesPinned(const PipelineSpec& spec) {
  for (const StepSpec& step : spec.steps) {
    const EnvironmentSpec* environment = spec.ImageOf(step);
    if (environment == nullptr) {
      continue;
    }
    Result<registry::Reference> ref = image::ParseImageRef(environment->image);
    if (!ref.ok()) {
      return SpecError(environment->image_where, ref.status().message());
    }
    if (!image::IsPinned(*ref)) {
      return SpecError(environment->image_where,
                       image::RequirePinned(*ref, "").message() +
                           " (or run with --allow-tags to resolve it once)");
    }
  }
  return Status::Ok();
}

Status CheckLockfilesLoad(const PipelineSpec& spec) {
  std::set<std::string> checked;
  auto check = [&](const EnvironmentSpec& environment) -> Status {
    if (environment.lockfile.empty() ||
        !checked.insert(environment.lockfile).second) {
      return Status::Ok();
    }
    Result<env::Lockfile> lock =
        env::LoadLockfile(spec.directory / environment.lockfile);
    return lock.ok() ? Status::Ok()
                     : SpecError(environment.lockfile_where,
                                 lock.status().message());
  };
  RETURN_IF_ERROR(check(spec.environment));
  for (const StepSpec& step : spec.steps) {
    RETURN_IF_ERROR(check(step.environment));
  }
  return Status::Ok();
}

Result<std::string> ReadPipelineFile(const std::filesystem::path& file) {
  Result<std::string> text = ReadDocument(file);
  if (!text.ok()) {
    return Status(text.status().code(),
                  file.string() + ": cannot read the pipeline file: " +
                      text.status().message());
  }
  return text;
}

Result<PipelineSpec> LoadPipelineBytes(const std::string& text,
                                       const std::filesystem::path& file) {
  ASSIGN_OR_RETURN(PipelineSpec spec, ParsePipeline(text, file));
  RETURN_IF_ERROR(CheckCodePaths(spec));
  return spec;
}

Result<PipelineSpec> LoadPipeline(const std::filesystem::path& file) {
  ASSIGN_OR_RETURN(std::string text, ReadPipelineFile(file));
  return LoadPipelineBytes(text, file);
}

}  // namespace lockstep::pipeline
