// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// libFuzzer target for the pipeline file parser: any text must parse or
// fail with a Status (never crash or throw), and a parsed pipeline must
// have a topological order.

#include <cstddef>
#include <cstdint>
#include <string>

#include "pipeline/dag.h"
#include "pipeline/spec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  lockstep::Result<lockstep::pipeline::PipelineSpec> spec =
      lockstep::pipeline::ParsePipeline(text, "fuzz.yaml");
  if (spec.ok() && !lockstep::pipeline::TopologicalOrder(*spec).ok()) {
    __builtin_trap();
  }
  return 0;
}
