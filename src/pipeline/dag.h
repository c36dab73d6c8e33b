// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// The step graph: which steps a step waits for (the producers of its
// inputs, its `needs:`, and the steps its `if:` reads), and an order that
// respects them.

#ifndef LOCKSTEP_PIPELINE_DAG_H_
#define LOCKSTEP_PIPELINE_DAG_H_

#include <set>
#include <string>
#include <vector>

#include "pipeline/spec.h"

namespace lockstep::pipeline {

// The names of the steps `step` depends on.
std::set<std::string> StepDependencies(const StepSpec& step);

// Step indexes in an order where every step follows its dependencies; ties
// keep file order. InvalidArgument naming the cycle ("a -> b -> a") at the
// first step on it.
Result<std::vector<size_t>> TopologicalOrder(const PipelineSpec& spec);

}  // namespace lockstep::pipeline

#endif  // LOCKSTEP_PIPELINE_DAG_H_
