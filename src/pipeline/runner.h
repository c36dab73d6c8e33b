// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// The Runner executes a pipeline run: it resolves params, walks the step
// graph in dependency order (independent steps in parallel, up to
// `jobs`), evaluates `if:` conditions, restores steps from the cache when
// their key matches an execution whose outputs still verify, runs the
// others, and records every step as an execution with its events in the
// lineage store. The result is a RunReport, from which the manifest is
// built (manifest/). Not thread-safe; one Run at a time per Runner.

#ifndef LOCKSTEP_PIPELINE_RUNNER_H_
#define LOCKSTEP_PIPELINE_RUNNER_H_

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "metadata/metadata_store.h"
#include "pipeline/executor.h"
#include "pipeline/params.h"
#include "pipeline/replay.h"
#include "pipeline/run_lock.h"
#include "pipeline/spec.h"
#include "store/blob_store.h"

namespace lockstep::pipeline {

struct RunOptions {
  std::vector<std::string> param_overrides;  // -p name=value
  std::optional<ParamsFile> params_file;     // --params FILE, as read
  int jobs = 0;                              // 0: one per core
  bool no_cache = false;
  bool explain = false;
  SandboxMode sandbox = SandboxMode::kBubblewrap;
  bool keep_work = false;
  std::filesystem::path lockstep_binary;
  // Versions of libraries built-in components use (e.g. xgboost); they
  // enter the built-ins' cache keys.
  std::map<std::string, std::string> builtin_versions;
  std::map<std::string, std::string> labels;
  // --resume RUN: reuse the steps that succeeded in that failed or
  // cancelled run when their key is unchanged, even cache: false ones.
  std::string resume_run;
  // Resolve images given by tag once (pinning them in the manifest with a
  // warning) instead of refusing them.
  bool allow_tags = false;
};

// A data snapshot a run read or made.
struct SnapshotUse {
  std::string name;
  int64_t version = 0;
  Digest digest;
  int64_t rows = -1;  // -1 when not a CSV file.
  uint64_t size = 0;
};

struct StepReport {
  std::string name;
  std::string component;
  // ran | cached | reused (a data-snapshot step whose content was a
  // version already) | skipped | failed | cancelled
  std::string state;
  std::string message;  // Why it failed or was skipped.
  std::vector<std::string> explanation;  // --explain: why it hit or ran.
  Digest cache_key;
  Json cache_key_parts;
  StepInvocation invocation;
  std::map<std::string, std::string> input_sources;  // "split.train",
                                                     // "snapshot:N@V"
  std::map<std::string, Digest> outputs;
  std::set<std::string> folder_outputs;  // Outputs that are tar blobs.
  std::set<std::string> tree_outputs;    // Folder snapshots (tree blobs).
  std::map<std::string, int64_t> output_artifacts;
  std::vector<OutputSpec> output_specs;
  std::string condition;
  bool condition_value = true;
  int64_t execution_id = 0;
  std::string produced_by_run;  // For cached steps: the original run.
  // For cached steps: the complete execution whose outputs were reused.
  int64_t cached_execution_id = 0;
  int64_t duration_ms = 0;
  int attempts = 0;  // Executions tried (1 + retries used); 0 if none.
};

struct RunReport {
  std::string run_id;
  std::string pipeline;
  std::string status;  // succeeded | failed | cancelled
  ParamValues params;
  std::vector<StepReport> steps;  // In the order they were decided.
  std::vector<SnapshotUse> snapshots;
  std::vector<std::string> warnings;
  // Why the run failed other than by a step's own doing: lockfile drift
  // with on_drift: fail (no step ran), or `error`; empty otherwise. The
  // run's record keeps it as the label lockstep.failure.
  std::string failure;
  // The first error Lockstep itself met running a step: an I/O or
  // internal error (a step folder it could not lay out, outputs it could
  // not store, a failed step's stderr it could not write to its log).
  // That step failed with it, and the run went on as after any failed
  // step, to its finally: steps and its manifest; `run` then exits with
  // this error's code. OK when there was none.
  Status error;
  // Each lockfile's verification (env::LockVerification::ToJson plus
  // "on_drift") and each image the steps ran in ({"reference", "digest",
  // "resolved_from_tag"}), for the manifest's environment.
  Json lockfiles = Json::array();
  Json images = Json::array();
  Json toolchain;
  SandboxMode sandbox = SandboxMode::kBubblewrap;
  int64_t started_ms = 0;
  int64_t finished_ms = 0;
  // The run stays recorded as running, under this lock, until the caller
  // records its end with its manifest (MetadataStore::FinishRun). A
  // process killed before then leaves a run that RecoverAbandonedRuns
  // finds and marks failed, so it can be resumed: never a finished run
  // without a manifest.
  std::shared_ptr<RunLock> lock;
  // What the keys were computed from, for a replay record (replay.h).
  ReplayInputs replay;

  const StepReport* FindStep(const std::string& name) const;
};

class Runner {
 public:
  Runner(store::BlobStore* blobs, metadata::MetadataStore* metadata);

  // Runs the pipeline. An error Status means the run could not start
  // (bad params, missing snapshot, broken store); a step failure is a
  // RunReport with status "failed".
  Result<RunReport> Run(const PipelineSpec& spec, const RunOptions& options);

 private:
  store::BlobStore* blobs_;
  metadata::MetadataStore* metadata_;
};

// A fresh run id: "20261204-160000-1a2b3c" (UTC time and 24 random bits).
std::string NewRunId();

// The host toolchain recorded in keys and manifests: OS, architecture,
// C library, and Lockstep's version. Nothing volatile (no memory, no time).
Json HostToolchain();

// Whether a step's argv[0] names a program of the host (an absolute path,
// or a name looked up on the fixed PATH) rather than a file in the step
// folder (a relative path with a '/').
bool IsHostProgram(const std::string& name);

// Finds a program on the fixed step PATH, as the step's shell would;
// empty when there is none.
std::filesystem::path FindStepProgram(const std::string& name);

// Reads a step output's bytes as an `if:` value: JSON when it parses,
// else the text without surrounding whitespace.
Json OutputValue(const std::string& bytes);

}  // namespace lockstep::pipeline

#endif  // LOCKSTEP_PIPELINE_RUNNER_H_
