// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// Comparing two runs side by side: parameters and environment (from each
// run's manifest), input digests, per-step states and cache keys, output
// digests and metrics (from Metrics artifacts, else the manifest). Each
// section is a list of rows keyed the same way on both sides, with the
// rows that differ marked.

#ifndef LOCKSTEP_METADATA_RUN_DIFF_H_
#define LOCKSTEP_METADATA_RUN_DIFF_H_

#include <string>
#include <vector>

#include "core/status.h"
#include "metadata/metadata_store.h"

namespace lockstep::metadata {

// One compared value; a side that lacks the key holds JSON null.
struct DiffRow {
  std::string key;
  Json a;
  Json b;
  bool differs = false;
  Json delta;  // Metrics rows with two numbers: b - a (as reproduce says).
};

struct DiffSection {
  std::string name;  // run (pipeline, status), params, environment,
                     // inputs, steps, cache_keys, outputs, metrics
  std::vector<DiffRow> rows;
};

struct RunDiff {
  std::string run_a;
  std::string run_b;
  std::vector<DiffSection> sections;
  bool identical = true;  // No row differs.
};

// Compares runs `a` and `b`. NotFound when either run is unknown;
// InvalidArgument when a manifest the run names is not valid JSON.
Result<RunDiff> DiffRuns(MetadataStore* store, const std::string& a,
                         const std::string& b);

// {"run_a", "run_b", "identical", "sections": {NAME: [{"key", "a", "b",
// "differs"}]}}; metrics rows that moved also carry "delta".
Json RunDiffToJson(const RunDiff& diff);

// Side-by-side text; differing rows start with "*".
std::string RunDiffToText(const RunDiff& diff);

}  // namespace lockstep::metadata

#endif  // LOCKSTEP_METADATA_RUN_DIFF_H_
