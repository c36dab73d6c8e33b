// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// Reproduce: re-run every step a manifest records, with no cache, from the
// manifest alone (each step's invocation, code blobs and input sources),
// and compare every output with the recorded digest. Inputs that came
// from upstream steps are taken from the re-run, so a divergence shows at
// the first step that produced different bytes.

#ifndef LOCKSTEP_MANIFEST_REPRODUCE_H_
#define LOCKSTEP_MANIFEST_REPRODUCE_H_

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "store/blob_store.h"

namespace lockstep::manifest {

using Json = nlohmann::json;

struct OutputVerdict {
  std::string name;
  std::string policy;  // exact | tolerance | ignore
  std::string expected;
  std::string actual;
  bool identical = false;
  bool accepted = false;    // identical, or within the output's policy
  Json metric_changes;      // For Metrics: [{key, old, new, delta}]
};

struct StepVerdict {
  std::string name;
  std::string status;  // identical | diverged | missing | skipped | failed
  std::string note;
  std::vector<OutputVerdict> outputs;
};

struct ReproduceReport {
  std::string run_id;
  bool reproduced = false;
  std::string first_divergence;  // "step train, output model"
  std::vector<std::string> missing;
  std::vector<StepVerdict> steps;

  // 0 identical, 1 diverged, 2 something needed is missing.
  int ExitCode() const;
  Json ToJson() const;
};

struct ReproduceOptions {
  std::filesystem::path lockstep_binary;
  std::filesystem::path work_directory;  // --in DIR; default in the store
  bool keep = false;                     // --keep: keep step folders
};

// Re-runs the steps of `manifest` (already hash-checked). An error Status
// only for infrastructure failures.
Result<ReproduceReport> Reproduce(const Json& manifest,
                                  store::BlobStore* blobs,
                                  const ReproduceOptions& options);

// Compares two Metrics documents: numbers that moved, with their delta.
Json CompareMetrics(const Json& before, const Json& after);

}  // namespace lockstep::manifest

#endif  // LOCKSTEP_MANIFEST_REPRODUCE_H_
