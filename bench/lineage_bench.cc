// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// Lineage store benchmark (docs/performance.md, "Lineage store"). Loads a
// synthetic history and times the two queries users run most:
//
//   lockstep_lineage_bench [--runs N] [--backend sqlite|postgresql|both]
//
// Each run has 10 steps in a chain; a step reads one artifact and writes
// one, and each run's first step reads an output of an earlier run, so
// lineage crosses runs. At --runs 100000: 1,000,000 artifacts, 2,000,000
// events. Prints insert throughput, p50/p99 of a 5-hop upstream lineage
// walk and of `runs list --since` returning the latest 100 runs, and the
// store size. PostgreSQL runs on a throwaway local server with fsync on
// (setup that is not timed commits asynchronously, see Load).

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "core/files.h"
#include "metadata/lineage.h"
#include "metadata/metadata_store.h"
#include "metadata/testing_pg.h"

namespace lockstep::metadata {
namespace {

constexpr int kStepsPerRun = 10;
constexpr int kRunsPerBatch = 500;
constexpr int64_t kFirstStartMs = 1700000000000;
// Enough samples that the p99 is the 20th slowest, not the 3rd.
constexpr int kQueries = 2000;

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

struct Percentiles {
  double p50_ms = 0;
  double p99_ms = 0;
};

Percentiles Summarise(std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  return {ms[ms.size() / 2], ms[std::min(ms.size() - 1, ms.size() * 99 / 100)]};
}

// PostgreSQL only: whether a commit waits for its WAL to reach disk.
Status SetSynchronousCommit(MetadataStore* store, bool on) {
  SqlDatabase* db = store->database();
  if (db->dialect() != SqlDialect::kPostgresql) {
    return Status::Ok();
  }
  return db->ExecuteScript(on ? "SET synchronous_commit = on"
                              : "SET synchronous_commit = off");
}

// Loads `runs` runs; returns the id of each run's last output.
Result<std::vector<int64_t>> Load(MetadataStore* store, int runs,
                                  double* events_per_second) {
  std::mt19937_64 random(42);
  std::vector<int64_t> fifth_outputs;  // Step 4's output of each run.
  std::vector<int64_t> last_outputs;
  int64_t events = 0;
  double seconds = 0;
  for (int first = 0; first < runs; first += kRunsPerBatch) {
    int count = std::min(kRunsPerBatch, runs - first);
    std::vector<ExecutionRecord> records;
    std::vector<int64_t> contexts;
    // Runs and contexts are created one by one (as the engine does); the
    // timed part is the batched executions and events. On PostgreSQL the
    // untimed part commits without waiting for its WAL flush (200,000
    // fsyncs would take most of an hour); the timed part waits as usual.
    RETURN_IF_ERROR(SetSynchronousCommit(store, false));
    for (int r = first; r < first + count; ++r) {
      std::string run_id = "run-" + std::to_string(r);
      ASSIGN_OR_RETURN(int64_t ctx,
                       store->PutContext({.type = "run", .name = run_id}));
      contexts.push_back(ctx);
      RETURN_IF_ERROR(store->CreateRun(
          {.run_id = run_id, .context_id = ctx, .pipeline = "bench",
           .status = "succeeded", .started_ms = kFirstStartMs + r * 1000LL}));
    }
    RETURN_IF_ERROR(SetSynchronousCommit(store, true));
    auto start = Clock::now();
    // A batch is recorded in two halves so the second can read the first's
    // output ids: a chain needs the previous step's artifact id.
    for (int r = 0; r < count; ++r) {
      int64_t input = 0;
      if (!fifth_outputs.empty()) {
        input = fifth_outputs[random() % fifth_outputs.size()];
      }
      std::vector<ExecutionRecord> chain(kStepsPerRun);
      for (int s = 0; s < kStepsPerRun; ++s) {
        chain[s].execution = {.type = "command",
                              .name = "step" + std::to_string(s),
                              .state = ExecutionState::kComplete,
                              .cache_key = "sha256:k" +
                                           std::to_string(first + r) + "-" +
                                           std::to_string(s)};
        chain[s].outputs = {{"out", Artifact{
            .type = "Artifact",
            .digest = "sha256:" + std::to_string(first + r) + "-" +
                      std::to_string(s)}}};
        chain[s].context_ids = {contexts[r]};
      }
      // Step 0 of the first run reads nothing; one input each otherwise.
      if (input != 0) {
        chain[0].inputs = {{"in", input}};
      }
      for (int s = 0; s < kStepsPerRun; ++s) {
        if (s > 0) {
          // Filled after the batch assigns ids; see below.
          chain[s].inputs = {{"in", -1}};
        }
        records.push_back(std::move(chain[s]));
      }
    }
    // Assign the chain inputs: ids are allocated densely in record order,
    // so step s's output id is known once the batch's first id is known.
    ASSIGN_OR_RETURN(auto max_rows,
                     store->database()->Query(
                         "SELECT COALESCE(MAX(id), 0) FROM artifacts"));
    int64_t next_artifact = AsInt(max_rows[0][0]) + 1;
    for (size_t i = 0; i < records.size(); ++i) {
      if (!records[i].inputs.empty() && records[i].inputs[0].second == -1) {
        records[i].inputs[0].second =
            next_artifact + static_cast<int64_t>(i) - 1;
      }
    }
    RETURN_IF_ERROR(store->RecordExecutions(&records));
    seconds += Seconds(start);
    for (size_t i = 0; i < records.size(); ++i) {
      events += static_cast<int64_t>(records[i].inputs.size() +
                                     records[i].outputs.size());
      int step = static_cast<int>(i % kStepsPerRun);
      if (step == 4) {
        fifth_outputs.push_back(records[i].outputs[0].second.id);
      }
      if (step == kStepsPerRun - 1) {
        last_outputs.push_back(records[i].outputs[0].second.id);
      }
    }
  }
  *events_per_second = static_cast<double>(events) / seconds;
  return last_outputs;
}

Status Measure(const std::string& name, const std::string& url, int runs,
               const std::function<int64_t()>& size_bytes) {
  ASSIGN_OR_RETURN(auto store, MetadataStore::Open(url));
  double events_per_second = 0;
  auto load_start = Clock::now();
  ASSIGN_OR_RETURN(auto last_outputs,
                   Load(store.get(), runs, &events_per_second));
  double load_seconds = Seconds(load_start);

  std::mt19937_64 random(7);
  std::vector<double> lineage_ms;
  size_t nodes = 0;
  for (int q = 0; q < kQueries; ++q) {
    int64_t root = last_outputs[random() % last_outputs.size()];
    auto start = Clock::now();
    ASSIGN_OR_RETURN(auto graph, WalkLineage(store.get(), {root},
                                             LineageDirection::kUp, 5));
    lineage_ms.push_back(Seconds(start) * 1000);
    nodes += graph.artifacts.size() + graph.executions.size();
  }

  std::vector<double> list_ms;
  int64_t since = kFirstStartMs + (runs - 100) * 1000LL;
  size_t listed = 0;
  for (int q = 0; q < kQueries; ++q) {
    auto start = Clock::now();
    ASSIGN_OR_RETURN(auto list, store->ListRuns({.since_ms = since}));
    list_ms.push_back(Seconds(start) * 1000);
    listed = list.size();
  }

  Percentiles lineage = Summarise(lineage_ms);
  Percentiles list = Summarise(list_ms);
  std::printf(
      "%-10s runs=%d artifacts=%d events=%d load=%.1fs "
      "insert=%.0f events/s\n"
      "%-10s lineage --up --depth 5: p50 %.3f ms  p99 %.3f ms "
      "(%.1f nodes per walk)\n"
      "%-10s runs list --since (latest %zu): p50 %.3f ms  p99 %.3f ms\n"
      "%-10s store size: %.1f MiB\n",
      name.c_str(), runs, runs * kStepsPerRun,
      runs * kStepsPerRun * 2 - 1, load_seconds, events_per_second,
      name.c_str(), lineage.p50_ms, lineage.p99_ms,
      static_cast<double>(nodes) / kQueries, name.c_str(), listed,
      list.p50_ms, list.p99_ms, name.c_str(),
      static_cast<double>(size_bytes()) / (1024.0 * 1024.0));
  std::fflush(stdout);
  return Status::Ok();
}

int Main(int argc, char** argv) {
  int runs = 100000;
  std::string backend = "both";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--runs") {
      runs = std::stoi(argv[i + 1]);
    } else if (flag == "--backend") {
      backend = argv[i + 1];
    }
  }
  if (runs < 200) {
    std::fprintf(stderr, "--runs must be at least 200\n");
    return 64;
  }

  if (backend == "sqlite" || backend == "both") {
    auto dir = *MakeTempDirectory(std::filesystem::temp_directory_path(),
                                  "lineage-bench-");
    std::string path = (dir / "metadata.db").string();
    Status status = Measure("sqlite", path, runs, [&] {
      std::error_code error;
      auto size = std::filesystem::file_size(path, error);
      auto wal = std::filesystem::file_size(path + "-wal", error);
      return static_cast<int64_t>(size + (error ? 0 : wal));
    });
    RemoveAllQuietly(dir);
    if (!status.ok()) {
      std::fprintf(stderr, "sqlite: %s\n", status.ToString().c_str());
      return 1;
    }
  }
  if (backend == "postgresql" || backend == "both") {
    auto server = testing::TestPostgres::Start({.durable = true});
    if (!server.ok()) {
      std::fprintf(stderr, "%s\n", server.status().ToString().c_str());
      return 1;
    }
    std::string url = *(*server)->CreateDatabase();
    Status status = Measure("postgresql", url, runs, [&]() -> int64_t {
      auto db = OpenPostgresql(url);
      auto rows = (*db)->Query(
          "SELECT pg_database_size(current_database())");
      return rows.ok() ? AsInt((*rows)[0][0]) : -1;
    });
    if (!status.ok()) {
      std::fprintf(stderr, "postgresql: %s\n", status.ToString().c_str());
      return 1;
    }
  }
  return 0;
}

}  // namespace
}  // namespace lockstep::metadata

int main(int argc, char** argv) { return lockstep::metadata::Main(argc, argv); }
