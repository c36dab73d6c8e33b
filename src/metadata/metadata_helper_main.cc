// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// A test helper the concurrency tests start several times at once:
//   lockstep_metadata_helper open URL START_MS
//   lockstep_metadata_helper record URL START_MS N TAG
// Each waits until START_MS (Unix millis) so that all start together, then
// opens the store (creating the schema if empty) and, for `record`,
// records N executions, each with one input and one output event. Any
// error goes to stderr with exit code 1.

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "core/clock.h"
#include "metadata/metadata_store.h"

namespace lockstep::metadata {
namespace {

Status Record(MetadataStore* store, int count, const std::string& tag) {
  ASSIGN_OR_RETURN(int64_t context,
                   store->PutContext({.type = "run", .name = tag}));
  ASSIGN_OR_RETURN(int64_t input,
                   store->PutArtifact({.type = "Dataset", .uri = tag,
                                       .digest = "sha256:in-" + tag}));
  for (int i = 0; i < count; ++i) {
    ExecutionRecord record;
    record.execution = {.type = "command",
                        .name = tag + "-" + std::to_string(i),
                        .state = ExecutionState::kComplete};
    record.inputs = {{"data", input}};
    record.outputs = {{"out", Artifact{.type = "Artifact",
                                       .digest = "sha256:" + tag + "-" +
                                                 std::to_string(i)}}};
    record.context_ids = {context};
    RETURN_IF_ERROR(store->RecordExecution(&record).status());
  }
  return Status::Ok();
}

int Main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s open|record URL START_MS [N TAG]\n",
                 argv[0]);
    return 64;
  }
  std::string mode = argv[1];
  std::string url = argv[2];
  int64_t start_ms = std::stoll(argv[3]);
  int64_t wait = start_ms - NowUnixMillis();
  if (wait > 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(wait));
  }

  auto store = MetadataStore::Open(url);
  Status status = store.status();
  if (status.ok() && mode == "record" && argc >= 6) {
    status = Record(store->get(), std::stoi(argv[4]), argv[5]);
  }
  if (!status.ok()) {
    std::fprintf(stderr, "%s\n", status.ToString().c_str());
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace lockstep::metadata

int main(int argc, char** argv) {
  return lockstep::metadata::Main(argc, argv);
}
