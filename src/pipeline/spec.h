// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// The pipeline file: its parsed form and the parser. A pipeline is a name,
// typed params with defaults, and named steps; each step runs an argv
// (`run:`) or a built-in component (`uses:`), reads inputs wired from other
// steps' outputs or from data snapshots, and declares typed outputs.
// Every element remembers where it was written, so that errors name the
// file, line and column. docs/pipeline-file.md is the user's reference.

#ifndef LOCKSTEP_PIPELINE_SPEC_H_
#define LOCKSTEP_PIPELINE_SPEC_H_

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/digest.h"
#include "core/status.h"

namespace lockstep::pipeline {

using Json = nlohmann::json;

struct SourceLocation {
  std::string file;
  int line = 0;    // 1-based; 0 when unknown.
  int column = 0;  // 1-based.

  // "file:line:column: " (or "file: " when the line is unknown).
  std::string Prefix() const;
};

// InvalidArgument "file:line:column: message".
Status SpecError(const SourceLocation& where, const std::string& message);

// The most JSON values one YAML document may turn into. YAML aliases (*a)
// repeat what their anchor names, so a few hundred bytes can stand for
// billions of values; past this the document is refused, not expanded.
inline constexpr size_t kMaxYamlValues = 100000;

enum class ParamType { kInt, kFloat, kString, kBool, kList, kMap };

std::string ParamTypeName(ParamType type);
std::optional<ParamType> ParseParamType(const std::string& name);

// The type a JSON value carries (an integral JSON number is an int).
ParamType TypeOfValue(const Json& value);

struct ParamSpec {
  std::string name;
  ParamType type = ParamType::kString;
  std::optional<Json> default_value;  // Unset means required.
  SourceLocation where;
};

// Where an input's bytes come from.
struct InputSpec {
  enum class Kind { kStepOutput, kSnapshot };
  std::string name;
  Kind kind = Kind::kStepOutput;
  std::string step;            // kStepOutput
  std::string output;          // kStepOutput
  std::string snapshot_name;   // kSnapshot
  int64_t snapshot_version = 0;  // kSnapshot; 0 means the latest.
  bool optional = false;
  std::string type;  // Declared artifact type; empty when not declared.
  SourceLocation where;
};

enum class ReproducePolicy { kExact, kTolerance, kIgnore };

struct OutputSpec {
  std::string name;
  std::string type = "Artifact";  // Dataset, Model, Metrics, ...
  ReproducePolicy reproduce = ReproducePolicy::kExact;
  double tolerance = 0;
  SourceLocation where;
};

// `environment:` on the pipeline or a step: a pinned image the step runs
// in, and/or a hash-pinned Python lockfile verified before the run.
struct EnvironmentSpec {
  std::string image;  // reference as written; empty when none
  SourceLocation image_where;
  std::string lockfile;  // relative to the pipeline's folder
  SourceLocation lockfile_where;
  bool drift_fails = true;    // on_drift: fail (default) or warn
  std::string site_packages;  // installed environment to check, or
  std::string files;          // a folder of wheels and sdists to hash

  bool empty() const { return image.empty() && lockfile.empty(); }
};

struct StepSpec {
  std::string name;
  std::vector<std::string> run;  // argv templates, when `run:` is used.
  std::vector<SourceLocation> run_where;  // Of each `run:` item.
  std::string uses;              // built-in component, when `uses:` is.
  std::map<std::string, Json> with;  // component arguments (templates).
  std::map<std::string, SourceLocation> with_where;  // Of each value.
  std::vector<InputSpec> inputs;
  std::vector<OutputSpec> outputs;
  std::string condition;  // `if:` expression, empty when absent.
  SourceLocation condition_where;
  std::vector<std::string> needs;
  std::vector<std::string> env;   // host variables allowed through.
  std::vector<SourceLocation> env_where;  // Of each `env:` item.
  std::vector<std::string> code;  // files/folders copied in and hashed.
  std::vector<SourceLocation> code_where;  // Of each `code:` item.
  bool cache = true;
  bool always_run = false;
  int retries = 0;                     // Extra attempts after a failure.
  int64_t retry_backoff_millis = 1000;  // Doubled after every attempt.
  int64_t timeout_millis = 0;           // Per attempt; 0 means none.
  // `finally: true`: an exit handler, run after every other step whatever
  // happened; never restored from the cache.
  bool is_finally = false;
  // `for_each:` a list literal, or a string holding one `${{ }}`
  // expression that evaluates to a list; null when the step runs once.
  Json for_each;
  SourceLocation for_each_where;
  int parallelism = 0;  // Iterations at once; 0 means no limit.
  // The step's own `environment:`; its image and lockfile override the
  // pipeline's.
  EnvironmentSpec environment;
  SourceLocation where;

  bool fans_out() const { return !for_each.is_null(); }
  // Where code item `i` is written (the step, for specs built in code).
  const SourceLocation& CodeWhere(size_t i) const {
    return i < code_where.size() ? code_where[i] : where;
  }
  // Where env item `i` is written (the step, for specs built in code).
  const SourceLocation& EnvWhere(size_t i) const {
    return i < env_where.size() ? env_where[i] : where;
  }
  // Where `run:` item `i` and `with:` value `key` are written (the step,
  // for specs built in code).
  const SourceLocation& RunWhere(size_t i) const {
    return i < run_where.size() ? run_where[i] : where;
  }
  const SourceLocation& WithWhere(const std::string& key) const {
    auto found = with_where.find(key);
    return found == with_where.end() ? where : found->second;
  }
};

struct PipelineSpec {
  std::string name;
  std::filesystem::path file;       // The pipeline file as given.
  std::filesystem::path directory;  // Its folder: code paths start here.
  Digest spec_digest;               // sha256 of the file's bytes.
  std::string text;                 // The file's bytes.
  std::vector<ParamSpec> params;
  std::vector<StepSpec> steps;      // In file order.
  bool cache = true;
  EnvironmentSpec environment;  // pipeline-wide `environment:`
  // Non-fatal findings of validation (e.g. unused outputs), each prefixed
  // with file:line:column.
  std::vector<std::string> warnings;

  const StepSpec* FindStep(const std::string& name) const;
  const ParamSpec* FindParam(const std::string& name) const;
  // The image a step runs in (its own, else the pipeline's), with where
  // it was written; empty for built-in components, which run on the host.
  const EnvironmentSpec* ImageOf(const StepSpec& step) const;
  // The lockfile a step uses (its own, else the pipeline's), or null.
  const EnvironmentSpec* LockfileOf(const StepSpec& step) const;
};

// The param a template substitutes whole (`${{ params.NAME }}`), or
// nullptr when the text is literal, a larger template or names no param.
const ParamSpec* WholeParamOf(const PipelineSpec& spec,
                              const std::string& text);

// Parses and validates the pipeline file. InvalidArgument with
// file:line:column for malformed YAML, unknown keys, bad types, unknown
// step or output references, cycles and bad expressions; and, since it
// reads the disk, `code:` paths that are missing or cannot be followed
// (symlink loops, dangling links: pipeline/code_files.h).
Result<PipelineSpec> LoadPipeline(const std::filesystem::path& file);

// LoadPipeline of bytes the caller read once (`file` names them in
// messages and anchors `code:` paths): a FIFO or `<(...)` cannot be read
// a second time.
Result<PipelineSpec> LoadPipelineBytes(const std::string& text,
                                       const std::filesystem::path& file);

// Refuses an image given by tag only, at its line, in the words `run`
// uses without --allow-tags.
Status CheckImagesPinned(const PipelineSpec& spec);

// Refuses an `environment: lockfile:` that cannot be read or parsed, at
// its line, in the words `run` uses: validate passed a missing one that
// run then refused.
Status CheckLockfilesLoad(const PipelineSpec& spec);

// ReadFile with LoadPipeline's message when the file cannot be read.
Result<std::string> ReadPipelineFile(const std::filesystem::path& file);

// Same, from text already read (`file` names it in messages).
Result<PipelineSpec> ParsePipeline(const std::string& text,
                                   const std::filesystem::path& file);

}  // namespace lockstep::pipeline

#endif  // LOCKSTEP_PIPELINE_SPEC_H_
