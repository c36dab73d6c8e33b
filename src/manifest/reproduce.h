// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// Reproduce: re-run every step a manifest records, with no cache, from the
// manifest alone (each step's invocation, code blobs and input sources),
// and compare every output with the recorded digest. Inputs that came
// from upstream steps are taken from the re-run, so a divergence shows at
// the first step that produced different bytes. Code files missing from
// the store are rebuilt from the git commit the manifest names. The same
// machinery checks a fresh run for determinism (CheckDeterminism).

#ifndef LOCKSTEP_MANIFEST_REPRODUCE_H_
#define LOCKSTEP_MANIFEST_REPRODUCE_H_

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "metadata/compare.h"
#include "store/blob_store.h"

namespace lockstep::manifest {

using Json = nlohmann::json;

// One output compared (shared with `lockstep diff`, metadata/compare.h).
using OutputVerdict = metadata::OutputComparison;

struct StepVerdict {
  std::string name;
  std::string status;  // identical | accepted | diverged | missing |
                       // skipped | failed | cancelled
  std::string note;
  std::vector<OutputVerdict> outputs;
  bool executed = false;  // The step's command was run again.
};

struct ReproduceReport {
  std::string run_id;
  bool reproduced = false;
  std::string first_divergence;  // "step train, output model"
  std::vector<std::string> missing;
  std::vector<StepVerdict> steps;
  // Code files rebuilt from git: {"commit", "folder", "files": [path]}.
  Json code_restored;

  // Outputs that came out different but that their reproduce policy
  // (tolerance, ignore) accepted: a run with any is reproduced, but not
  // bit-identical, and the report must not say it is.
  size_t AcceptedNotIdentical() const;
  // 0 identical, 1 diverged, 2 something needed is missing.
  int ExitCode() const;
  Json ToJson() const;
  // The steps that ran again: [{"step", "identical", "accepted",
  // "outputs": [...]}], for `run --check-determinism`.
  Json DeterminismJson() const;
};

struct ReproduceOptions {
  std::filesystem::path lockstep_binary;
  std::filesystem::path work_directory;  // --in DIR; default in the store
  bool keep = false;                     // --keep: keep step folders
  // The git repository to rebuild missing code from (default: the
  // current folder).
  std::filesystem::path source_repository;
};

// Re-runs the steps of `manifest` (already hash-checked). An error Status
// only for infrastructure failures.
Result<ReproduceReport> Reproduce(const Json& manifest,
                                  store::BlobStore* blobs,
                                  const ReproduceOptions& options);

// Runs every non-snapshot step of a just-finished run once more, each
// with the exact inputs it had (so one non-deterministic step does not
// taint the ones after it), and compares its outputs with the run's own.
Result<ReproduceReport> CheckDeterminism(const Json& manifest,
                                         store::BlobStore* blobs,
                                         const ReproduceOptions& options);

}  // namespace lockstep::manifest

#endif  // LOCKSTEP_MANIFEST_REPRODUCE_H_
