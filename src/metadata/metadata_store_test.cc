// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "metadata/metadata_store.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/files.h"
#include "metadata/run_view.h"
#include "metadata/testing_backends.h"

namespace lockstep::metadata {
namespace {

using testing::BackendTest;

class MetadataStoreTest : public BackendTest {};
LOCKSTEP_INSTANTIATE_BACKENDS(MetadataStoreTest);

// A lost or emptied metadata.db beside run manifests is not replaced by
// a fresh database (gc would then sweep those runs' outputs); a store
// without manifests still gets one.
TEST(MetadataStoreOpenTest, RefusesAFreshDatabaseBesideRunManifests) {
  std::filesystem::path root =
      *MakeTempDirectory(std::filesystem::temp_directory_path(), "md-");
  std::filesystem::path db = root / "metadata.db";
  ASSERT_TRUE(MetadataStore::Open(db.string()).ok());  // No runs yet.
  std::filesystem::create_directories(root / "runs" / "r1");
  ASSERT_TRUE(WriteFileAtomically(root / "runs" / "r1" / "manifest.json",
                                  "{}")
                  .ok());
  EXPECT_TRUE(MetadataStore::Open(db.string()).ok());  // Intact: fine.

  std::filesystem::remove(db);
  std::filesystem::remove(root / "metadata.db-wal");
  std::filesystem::remove(root / "metadata.db-shm");
  Result<std::unique_ptr<MetadataStore>> missing =
      MetadataStore::Open("sqlite:" + db.string());
  ASSERT_TRUE(missing.status().IsDataLoss()) << missing.status().message();
  EXPECT_NE(missing.status().message().find(db.string() +
                                            ": the metadata database is "
                                            "missing"),
            std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(db));

  ASSERT_TRUE(WriteFileAtomically(db, "").ok());
  Result<std::unique_ptr<SqlDatabase>> empty = OpenDatabase(db.string());
  ASSERT_TRUE(empty.status().IsDataLoss());
  EXPECT_NE(empty.status().message().find("is empty"), std::string::npos);
  EXPECT_EQ(std::filesystem::file_size(db), 0u);
  RemoveAllQuietly(root);
}

// A URL scheme that is neither PostgreSQL's nor SQLite's was taken as a
// SQLite file name ("mysql:" folder, "//h/db" inside it); found by a
// tester with --metadata bogus://x.
TEST(MetadataStoreOpenTest, RefusesAnUnknownUrlScheme) {
  EXPECT_EQ(MetadataUrlProblem("mysql://h/db"),
            "'mysql://' is not a metadata database this build opens: give "
            "a SQLite file path, sqlite:PATH or postgresql://...");
  EXPECT_NE(MetadataUrlProblem("Bogus+x.y-z://"), "");
  for (const char* fine :
       {"postgresql://u@h/db", "postgres://h/db", "sqlite:///tmp/x.db",
        "sqlite:x.db", "x.db", "/a/b.db", ":memory:", "a b://c.db",
        "dir/x://y.db", "1x://y.db", "://x.db"}) {
    EXPECT_EQ(MetadataUrlProblem(fine), "") << fine;
  }

  std::filesystem::path root =
      *MakeTempDirectory(std::filesystem::temp_directory_path(), "md-");
  std::string url = "bogus://" + (root / "x.db").string();
  Result<std::unique_ptr<MetadataStore>> opened = MetadataStore::Open(url);
  EXPECT_TRUE(opened.status().IsInvalidArgument());
  EXPECT_TRUE(std::filesystem::is_empty(root));
  RemoveAllQuietly(root);
}

// A store with snapshots but no runs: the marker written when the
// database was first opened tells a lost database from a new one.
TEST(MetadataStoreOpenTest, RefusesAFreshDatabaseWhereOneWasLost) {
  std::filesystem::path root =
      *MakeTempDirectory(std::filesystem::temp_directory_path(), "md-");
  std::filesystem::path db = root / "metadata.db";
  ASSERT_TRUE(MetadataStore::Open(db.string()).ok());
  EXPECT_TRUE(std::filesystem::exists(root / ".metadata.db.created"));
  std::filesystem::remove(db);
  Result<std::unique_ptr<MetadataStore>> lost =
      MetadataStore::Open(db.string());
  ASSERT_TRUE(lost.status().IsDataLoss()) << lost.status().message();
  EXPECT_NE(lost.status().message().find(".metadata.db.created shows it "
                                         "held lineage"),
            std::string::npos);
  RemoveAllQuietly(root);
}

// A run's writes are checkpointed once, when the last connection closes
// (wal_autocheckpoint 10,000 pages, not 1,000); a process killed before
// that leaves a WAL the next open recovers, every commit intact.
TEST(MetadataStoreOpenTest, SqliteCheckpointsAtCloseAndKilledWritesSurvive) {
  std::filesystem::path root =
      *MakeTempDirectory(std::filesystem::temp_directory_path(), "md-");
  std::filesystem::path db = root / "metadata.db";
  auto record = [](MetadataStore* store) {
    std::vector<ExecutionRecord> records(3000);
    for (size_t i = 0; i < records.size(); ++i) {
      records[i].execution = {
          .type = "command", .name = "s" + std::to_string(i),
          .state = ExecutionState::kComplete,
          .cache_key = "sha256:" + std::to_string(i),
          .properties = {{"pad", std::string(1000, 'x')}}};
    }
    return store->RecordExecutions(&records);
  };
  {
    auto store = MetadataStore::Open(db.string());
    ASSERT_TRUE(store.ok());
    auto pages = (*store)->database()->Query("PRAGMA wal_autocheckpoint");
    ASSERT_TRUE(pages.ok());
    EXPECT_EQ(AsInt((*pages)[0][0]), 10000);
    ASSERT_TRUE(record(store->get()).ok());
  }
  EXPECT_FALSE(std::filesystem::exists(root / "metadata.db-wal"));

  pid_t child = ::fork();
  if (child == 0) {
    auto store = MetadataStore::Open(db.string());
    ::_exit(store.ok() && record(store->get()).ok() ? 0 : 1);  // No close.
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_TRUE(std::filesystem::exists(root / "metadata.db-wal"));
  auto reopened = MetadataStore::Open(db.string());
  ASSERT_TRUE(reopened.ok());
  auto rows = (*reopened)->database()->Query(
      "SELECT count(*) FROM executions");
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(AsInt((*rows)[0][0]), 6000);
  RemoveAllQuietly(root);
}

TEST_P(MetadataStoreTest, RecordsExecutionWithEventsAndFindsItByCacheKey) {
  Artifact data{.type = "Dataset", .uri = "data.csv",
                .digest = "sha256:aa"};
  int64_t data_id = *store_->PutArtifact(data);
  int64_t run = *store_->PutContext({.type = "run", .name = "r1"});

  ExecutionRecord record;
  record.execution = {.type = "lockstep/ml-train", .name = "train",
                      .state = ExecutionState::kComplete,
                      .cache_key = "sha256:key",
                      .properties = {{"run_id", "r1"},
                                     {"cache_key_parts", {{"a", {1, 2}}}},
                                     {"argv", {"x"}},
                                     {"duration_ms", 5}}};
  record.inputs = {{"data", data_id}};
  record.outputs = {{"model", Artifact{.type = "Model",
                                       .digest = "sha256:bb"}}};
  record.context_ids = {run};
  ASSERT_TRUE(store_->RecordExecution(&record).ok());

  auto cached = store_->FindCachedExecution("sha256:key");
  ASSERT_TRUE(cached.ok());
  EXPECT_EQ(cached->execution.name, "train");
  ASSERT_EQ(cached->outputs.count("model"), 1u);
  EXPECT_EQ(cached->outputs["model"].digest, "sha256:bb");
  EXPECT_EQ(cached->outputs["model"].type, "Model");
  // Only the top-level scalars of the properties come back from a lookup.
  EXPECT_EQ(cached->execution.properties,
            Json({{"run_id", "r1"}, {"duration_ms", 5}}));
  EXPECT_EQ(store_->GetExecution(cached->execution.id)
                ->properties["cache_key_parts"]["a"][1],
            2);
  EXPECT_TRUE(store_->FindCachedExecution("sha256:other")
                  .status()
                  .IsNotFound());

  auto events = *store_->EventsOfArtifact(data_id);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, EventType::kInput);
  EXPECT_EQ(events[0].port, "data");
  EXPECT_EQ(store_->ExecutionsInContext(run)->size(), 1u);
}

TEST_P(MetadataStoreTest, FailedExecutionIsNeverACacheHit) {
  ExecutionRecord record;
  record.execution = {.type = "command", .name = "s",
                      .state = ExecutionState::kFailed,
                      .cache_key = "sha256:k"};
  ASSERT_TRUE(store_->RecordExecution(&record).ok());
  EXPECT_TRUE(store_->FindCachedExecution("sha256:k").status().IsNotFound());
}

// The replay's grouped lookup answers, for every key at once, what
// FindCachedExecution answers for each: the newest complete execution
// (not a failed or cached one), its outputs with the last event of a
// port winning, nothing for a key without one; odd characters in a key
// reach the database intact.
TEST_P(MetadataStoreTest, CacheAnswersForAgreesWithFindCachedExecution) {
  auto record = [&](const std::string& key, ExecutionState state,
                    std::vector<std::pair<std::string, std::string>> outs) {
    ExecutionRecord r;
    r.execution = {.type = "command", .name = "s", .state = state,
                   .cache_key = key};
    for (const auto& [port, digest] : outs) {
      r.outputs.push_back({port, Artifact{.type = "Artifact",
                                          .digest = digest}});
    }
    EXPECT_TRUE(store_->RecordExecution(&r).ok());
    return r.execution.id;
  };
  const std::string odd = "sha256:\"q\\,{}";
  record("sha256:a", ExecutionState::kComplete, {{"o", "sha256:1"}});
  int64_t a = record("sha256:a", ExecutionState::kComplete,
                     {{"o", "sha256:2"}, {"p", "sha256:3"}});
  record("sha256:a", ExecutionState::kFailed, {{"o", "sha256:4"}});
  record("sha256:a", ExecutionState::kCached, {{"o", "sha256:5"}});
  int64_t none = record(odd, ExecutionState::kComplete, {});
  record("sha256:f", ExecutionState::kFailed, {{"o", "sha256:6"}});
  int64_t twice = record("sha256:t", ExecutionState::kComplete,
                         {{"o", "sha256:7"}, {"o", "sha256:8"}});
  std::vector<std::string> keys = {"sha256:a", odd, "sha256:f", "sha256:t",
                                   "sha256:missing", "sha256:a"};
  auto answers = store_->CacheAnswersFor(keys);
  ASSERT_TRUE(answers.ok()) << answers.status().message();
  using Answer = MetadataStore::CacheAnswer;
  EXPECT_EQ(*answers, (std::map<std::string, Answer>{
                          {"sha256:a",
                           {a, {{"o", "sha256:2"}, {"p", "sha256:3"}}}},
                          {odd, {none, {}}},
                          {"sha256:t", {twice, {{"o", "sha256:8"}}}}}));
  for (const std::string& key : keys) {
    auto found = store_->FindCachedExecution(key);
    ASSERT_EQ(found.ok(), answers->count(key) == 1) << key;
    if (!found.ok()) {
      continue;
    }
    Answer answer{found->execution.id, {}};
    for (const auto& [port, artifact] : found->outputs) {
      answer.outputs[port] = artifact.digest;
    }
    EXPECT_EQ(answer, answers->at(key)) << key;
  }
  EXPECT_TRUE(store_->CacheAnswersFor({})->empty());
}

TEST_P(MetadataStoreTest, ContextsAreGetOrCreate) {
  int64_t a = *store_->PutContext({.type = "pipeline", .name = "p"});
  int64_t b = *store_->PutContext({.type = "pipeline", .name = "p"});
  int64_t c = *store_->PutContext({.type = "run", .name = "p"});
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
}

TEST_P(MetadataStoreTest, RunsListNewestFirstWithFilters) {
  int64_t ctx = *store_->PutContext({.type = "run", .name = "r"});
  for (int i = 0; i < 5; ++i) {
    metadata::Run run{.run_id = "run-" + std::to_string(i), .context_id = ctx,
            .pipeline = i % 2 ? "odd" : "even", .status = "succeeded",
            .started_ms = 1000 + i};
    ASSERT_TRUE(store_->CreateRun(run).ok());
  }
  auto all = *store_->ListRuns({});
  ASSERT_EQ(all.size(), 5u);
  EXPECT_EQ(all[0].run_id, "run-4");
  EXPECT_EQ(store_->ListRuns({.pipeline = "odd"})->size(), 2u);
  EXPECT_EQ(store_->ListRuns({.since_ms = 1003})->size(), 2u);
  ASSERT_TRUE(store_->FinishRun("run-1", "failed", "m.json", "sha256:h").ok());
  EXPECT_EQ(store_->ListRuns({.status = "failed"})->at(0).run_id, "run-1");
}

// A run that failed other than by a step's own doing keeps the reason
// beside its other labels; without one, the labels stay as they were.
TEST_P(MetadataStoreTest, FinishRunRecordsTheFailureReason) {
  int64_t ctx = *store_->PutContext({.type = "run", .name = "r"});
  for (const char* id : {"run-a", "run-b"}) {
    metadata::Run run{.run_id = id, .context_id = ctx, .pipeline = "p",
                      .status = "running", .started_ms = 1000};
    run.labels = {{"team", "x"}};
    ASSERT_TRUE(store_->CreateRun(run).ok());
  }
  ASSERT_TRUE(store_->FinishRun("run-a", "failed", "m.json", "sha256:h",
                                "step b: lockstep could not run the step: "
                                "disk full")
                  .ok());
  ASSERT_TRUE(store_->FinishRun("run-b", "failed", "n.json", "sha256:i")
                  .ok());
  metadata::Run failed = *store_->GetRun("run-a");
  EXPECT_EQ(failed.status, "failed");
  EXPECT_EQ(failed.labels,
            (Json{{"team", "x"},
                  {"lockstep.failure",
                   "step b: lockstep could not run the step: disk full"}}));
  EXPECT_EQ(store_->GetRun("run-b")->labels, (Json{{"team", "x"}}));
}

TEST_P(MetadataStoreTest, SnapshotVersionsAreImmutable) {
  int64_t id = *store_->PutArtifact({.type = "Dataset", .digest = "sha256:d"});
  ASSERT_TRUE(store_->PutSnapshot({"iris", 1, id}).ok());
  Status again = store_->PutSnapshot({"iris", 1, id});
  EXPECT_EQ(again.code(), StatusCode::kAlreadyExists);
  ASSERT_TRUE(store_->PutSnapshot({"iris", 2, id}).ok());
  EXPECT_EQ(store_->LatestSnapshot("iris")->version, 2);
}

TEST_P(MetadataStoreTest, RemovedArtifactIsMarkedWithReasonNotDeleted) {
  int64_t id = *store_->PutArtifact({.type = "Model", .digest = "sha256:m"});
  ASSERT_TRUE(store_->MarkArtifactRemoved(id, "gc: older than 90d").ok());
  auto artifact = store_->GetArtifact(id);
  ASSERT_TRUE(artifact.ok());
  EXPECT_EQ(artifact->state, "marked_for_deletion");
  EXPECT_EQ(artifact->removal_reason, "gc: older than 90d");
}

TEST_P(MetadataStoreTest, PropertiesRoundTripWithTypes) {
  Artifact metrics{.type = "Metrics", .digest = "sha256:x"};
  metrics.properties = {{"metrics", {{"accuracy", 0.9667}, {"n", 30}}}};
  metrics.custom_properties = {{"owner", "ana"}};
  int64_t id = *store_->PutArtifact(metrics);
  Artifact read = *store_->GetArtifact(id);
  EXPECT_EQ(read.properties["metrics"]["accuracy"].get<double>(), 0.9667);
  EXPECT_EQ(read.properties["metrics"]["n"].get<int>(), 30);
  EXPECT_EQ(read.custom_properties["owner"], "ana");
}

TEST_P(MetadataStoreTest, StepsOfRunListExecutionsWithTheirPorts) {
  int64_t ctx = *store_->PutContext({.type = "run", .name = "run-a"});
  ASSERT_TRUE(store_->CreateRun({.run_id = "run-a", .context_id = ctx,
                                 .pipeline = "iris", .status = "running",
                                 .started_ms = 1767225600000}).ok());
  int64_t raw = *store_->PutArtifact({.type = "Dataset", .uri = "iris.csv",
                                      .digest = "sha256:raw"});
  ExecutionRecord split;
  split.execution = {.type = "lockstep/data-split", .name = "split",
                     .state = ExecutionState::kComplete,
                     .cache_key = "sha256:k1"};
  split.inputs = {{"data", raw}};
  split.outputs = {{"train", Artifact{.type = "Dataset",
                                      .digest = "sha256:tr"}},
                   {"test", Artifact{.type = "Dataset",
                                     .digest = "sha256:te"}}};
  split.context_ids = {ctx};
  ASSERT_TRUE(store_->RecordExecution(&split).ok());

  metadata::Run run = *store_->GetRun("run-a");
  auto steps = StepsOfRun(store_.get(), run);
  ASSERT_TRUE(steps.ok()) << steps.status().ToString();
  ASSERT_EQ(steps->size(), 1u);
  Json json = RunDetailsToJson(run, *steps);
  EXPECT_EQ(json["run_id"], "run-a");
  EXPECT_EQ(json["started"], "2026-01-01T00:00:00.000Z");
  const Json& step = json["steps"][0];
  EXPECT_EQ(step["name"], "split");
  EXPECT_EQ(step["state"], "complete");
  EXPECT_EQ(step["cache_key"], "sha256:k1");
  EXPECT_EQ(step["inputs"]["data"]["digest"], "sha256:raw");
  EXPECT_EQ(step["inputs"]["data"]["uri"], "iris.csv");
  EXPECT_EQ(step["outputs"]["train"]["digest"], "sha256:tr");
  EXPECT_EQ(step["outputs"]["test"]["type"], "Dataset");
}

TEST_P(MetadataStoreTest, RunsFilterByLabel) {
  int64_t ctx = *store_->PutContext({.type = "run", .name = "r"});
  ASSERT_TRUE(store_->CreateRun({.run_id = "a", .context_id = ctx,
                                 .pipeline = "p", .status = "succeeded",
                                 .labels = {{"team", "x"}}}).ok());
  ASSERT_TRUE(store_->CreateRun({.run_id = "b", .context_id = ctx,
                                 .pipeline = "p", .status = "succeeded",
                                 .labels = {{"team", "y"}}}).ok());
  auto runs = *store_->ListRuns({.label = "team=y"});
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].run_id, "b");
}

TEST_P(MetadataStoreTest, BatchRecordingMatchesSingleRecording) {
  int64_t ctx = *store_->PutContext({.type = "run", .name = "batch"});
  int64_t source = *store_->PutArtifact({.type = "Dataset",
                                        .digest = "sha256:src"});
  std::vector<ExecutionRecord> records(3);
  for (int i = 0; i < 3; ++i) {
    records[i].execution = {.type = "command",
                            .name = "s" + std::to_string(i),
                            .state = ExecutionState::kComplete};
    records[i].inputs = {{"in", source}};
    records[i].outputs = {{"out", Artifact{.type = "Artifact",
                                           .digest = "sha256:o" +
                                                     std::to_string(i)}}};
    records[i].context_ids = {ctx};
  }
  ASSERT_TRUE(store_->RecordExecutions(&records).ok());
  EXPECT_EQ(store_->ExecutionsInContext(ctx)->size(), 3u);
  int64_t out1 = records[1].outputs[0].second.id;
  EXPECT_EQ(store_->GetArtifact(out1)->digest, "sha256:o1");
  auto events = *store_->EventsOfArtifacts({source}, EventType::kInput);
  EXPECT_EQ(events.size(), 3u);

  // Single inserts after a batch get fresh ids (PostgreSQL sequences too).
  int64_t next = *store_->PutArtifact({.type = "Model",
                                      .digest = "sha256:after"});
  EXPECT_GT(next, records[2].outputs[0].second.id);
}

// Bulk inserts (COPY on PostgreSQL) keep text that looks like delimiters
// and escapes byte for byte.
TEST_P(MetadataStoreTest, BatchRecordingKeepsAwkwardTextExactly) {
  const std::string awkward = "tab\there\nnew line\\N back\\slash\r \xc3\xa9";
  std::vector<ExecutionRecord> records(1);
  records[0].execution = {.type = "command", .name = awkward,
                          .properties = {{"note", awkward}}};
  records[0].outputs = {{"out\t1", Artifact{.type = "Artifact",
                                              .uri = awkward,
                                              .digest = "",
                                              .custom_properties =
                                                  {{"k", awkward}}}}};
  ASSERT_TRUE(store_->RecordExecutions(&records).ok());

  Artifact artifact = *store_->GetArtifact(records[0].outputs[0].second.id);
  EXPECT_EQ(artifact.uri, awkward);
  EXPECT_EQ(artifact.digest, "");
  EXPECT_EQ(artifact.custom_properties["k"], awkward);
  Execution execution = *store_->GetExecution(records[0].execution.id);
  EXPECT_EQ(execution.name, awkward);
  EXPECT_EQ(execution.properties["note"], awkward);
  auto events = *store_->EventsOfExecution(execution.id);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].port, "out\t1");
}

// A batch naming an artifact that does not exist fails as a whole, writes
// nothing, and leaves the connection usable.
TEST_P(MetadataStoreTest, FailedBatchWritesNothing) {
  std::vector<ExecutionRecord> records(2);
  for (int i = 0; i < 2; ++i) {
    records[i].execution = {.type = "command",
                            .name = "s" + std::to_string(i)};
    records[i].outputs = {{"out", Artifact{.type = "Artifact",
                                           .digest = "sha256:f" +
                                                     std::to_string(i)}}};
  }
  records[1].inputs = {{"in", 987654}};
  EXPECT_FALSE(store_->RecordExecutions(&records).ok());
  EXPECT_TRUE(store_->FindArtifactsByDigest("sha256:f0")->empty());

  records[1].inputs.clear();
  for (auto& record : records) {
    record.outputs[0].second.id = 0;
  }
  ASSERT_TRUE(store_->RecordExecutions(&records).ok());
  EXPECT_EQ(store_->FindArtifactsByDigest("sha256:f1")->size(), 1u);
}

// More ids than the old 500-id chunks, in one query, with ids that name
// nothing and a repeat: exactly the stored ones come back, by id.
TEST_P(MetadataStoreTest, BatchReadsTakeAnyNumberOfIds) {
  std::vector<ExecutionRecord> records(1200);
  for (size_t i = 0; i < records.size(); ++i) {
    records[i].execution = {.type = "command",
                            .name = "s" + std::to_string(i)};
    records[i].outputs = {{"out", Artifact{.type = "Artifact",
                                           .digest = "sha256:d" +
                                                     std::to_string(i)}}};
  }
  ASSERT_TRUE(store_->RecordExecutions(&records).ok());
  std::vector<int64_t> wanted;
  for (size_t i = records.size(); i-- > 0;) {
    wanted.push_back(records[i].outputs[0].second.id);
  }
  int64_t first = records[0].outputs[0].second.id;
  int64_t last = records.back().outputs[0].second.id;
  wanted.push_back(first);          // A repeat.
  wanted.push_back(last + 100000);  // Nothing has this id.

  auto artifacts = store_->GetArtifacts(wanted);
  ASSERT_TRUE(artifacts.ok()) << artifacts.status().ToString();
  ASSERT_EQ(artifacts->size(), 1200u);
  EXPECT_EQ(artifacts->front().id, first);
  EXPECT_EQ(artifacts->front().digest, "sha256:d0");
  EXPECT_EQ(artifacts->back().digest, "sha256:d1199");
  for (size_t i = 1; i < artifacts->size(); ++i) {
    ASSERT_EQ((*artifacts)[i].id, (*artifacts)[i - 1].id + 1);
  }
  auto executions = store_->GetExecutions({records[5].execution.id});
  ASSERT_EQ(executions->size(), 1u);
  EXPECT_EQ((*executions)[0].name, "s5");
  EXPECT_TRUE(store_->GetArtifacts({})->empty());
}

// Statements are prepared once per connection and reused: one first
// prepared inside a transaction that rolls back still runs afterwards, and
// one that failed still reports the same error the next time.
TEST_P(MetadataStoreTest, ReusedStatementsSurviveRollbackAndErrors) {
  SqlDatabase* db = store_->database();
  const char* count = "SELECT count(*) FROM artifacts WHERE digest = ?";
  ASSERT_TRUE(db->BeginWrite().ok());
  ASSERT_TRUE(db->Execute("INSERT INTO types (kind, name) VALUES (?, ?)",
                          {"artifact", "Tmp"}).ok());
  auto inside = db->Query(count, {"sha256:x"});
  ASSERT_TRUE(inside.ok()) << inside.status().ToString();
  ASSERT_TRUE(db->Rollback().ok());

  ASSERT_TRUE(store_->PutArtifact({.type = "Dataset",
                                   .digest = "sha256:x"}).ok());
  auto after = db->Query(count, {"sha256:x"});
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(AsInt((*after)[0][0]), 1);

  Snapshot snapshot{"s", 1, *store_->PutArtifact({.type = "Dataset",
                                                 .digest = "sha256:y"})};
  ASSERT_TRUE(store_->PutSnapshot(snapshot).ok());
  for (int i = 0; i < 2; ++i) {
    Status again = store_->PutSnapshot(snapshot);
    EXPECT_EQ(again.code(), StatusCode::kAlreadyExists) << again.ToString();
  }
  // The rolled-back type is gone; a new one gets created normally.
  auto types = db->Query("SELECT count(*) FROM types WHERE name = ?",
                         {"Tmp"});
  EXPECT_EQ(AsInt((*types)[0][0]), 0);
}

TEST_P(MetadataStoreTest, BatchInputsLinkToOutputsOfEarlierRecords) {
  int64_t ctx = *store_->PutContext({.type = "run", .name = "chain"});
  std::vector<ExecutionRecord> records(2);
  records[0].execution = {.type = "command", .name = "a",
                          .state = ExecutionState::kComplete,
                          .create_time_ms = 1234};
  records[0].outputs = {{"o", Artifact{.type = "Artifact",
                                       .digest = "sha256:a"}}};
  records[1].execution = {.type = "command", .name = "b",
                          .state = ExecutionState::kComplete};
  records[1].batch_inputs = {{.port = "i", .record = 0, .output = "o"}};
  records[1].context_ids = records[0].context_ids = {ctx};
  ASSERT_TRUE(store_->RecordExecutions(&records).ok());

  int64_t made = records[0].outputs[0].second.id;
  auto inputs = *store_->EventsOfExecution(records[1].execution.id);
  ASSERT_EQ(inputs.size(), 1u);
  EXPECT_EQ(inputs[0].artifact_id, made);
  EXPECT_EQ(inputs[0].port, "i");
  EXPECT_EQ(inputs[0].type, EventType::kInput);
  EXPECT_EQ(store_->GetExecution(records[0].execution.id)->create_time_ms,
            1234);
  EXPECT_LT(records[0].execution.id, records[1].execution.id);

  // A reference forwards, or to a port the producer lacks, is refused.
  std::vector<ExecutionRecord> bad(1);
  bad[0].execution = {.type = "command", .name = "c"};
  bad[0].batch_inputs = {{.port = "i", .record = 0, .output = "o"}};
  EXPECT_TRUE(store_->RecordExecutions(&bad).IsInvalidArgument());
  EXPECT_TRUE(store_->RecordExecution(&bad[0]).status().IsInvalidArgument());
}

TEST(RunViewTest, SinceAcceptsDurationsAndDates) {
  EXPECT_EQ(*ParseSince("7d", 10 * 86400000LL), 3 * 86400000LL);
  EXPECT_EQ(*ParseSince("2026-01-01", 0), 1767225600000);
  EXPECT_TRUE(ParseSince("soon", 0).status().IsInvalidArgument());
  // The command line names the flag (a usage error, exit 64).
  EXPECT_EQ(ParseSince("-1d", 0).status().message(),
            "'-1d' is neither a duration (7d, 12h) nor a date (2026-01-01)");
}

TEST(PlaceholderTest, RewritesOnlyOutsideQuotes) {
  EXPECT_EQ(RewritePlaceholders("SELECT ? , '?', \"a?\", ?"),
            "SELECT $1 , '?', \"a?\", $2");
  EXPECT_EQ(RewritePlaceholders("x = 'it''s?' AND y = ?"),
            "x = 'it''s?' AND y = $1");
}

// A replay copies a run's executions as cached ones of a new run: the
// same names, keys and events, properties naming the new run and the run
// that produced each output; and the newest complete execution per key
// is what a cache lookup would find.
TEST_P(MetadataStoreTest, ReplayExecutionsCopiesARunAsCachedExecutions) {
  int64_t pipeline = *store_->PutContext({.type = "pipeline", .name = "p"});
  int64_t first = *store_->PutContext({.type = "run", .name = "r1"});
  std::vector<ExecutionRecord> records(2);
  records[0].execution = {.type = "command", .name = "a",
                          .state = ExecutionState::kComplete,
                          .cache_key = "sha256:ka",
                          .properties = {{"run_id", "r1"},
                                         {"cache_key_parts", {{"x", 1.5}}},
                                         {"duration_ms", 7},
                                         {"stdout", "sha256:o"},
                                         {"stderr", "sha256:e"}}};
  records[0].outputs = {{"out", Artifact{.type = "Dataset",
                                         .digest = "sha256:aa"}}};
  records[0].context_ids = {first, pipeline};
  records[1].execution = {.type = "command", .name = "b",
                          .state = ExecutionState::kCached,
                          .cache_key = "sha256:kb",
                          .properties = {{"run_id", "r1"},
                                         {"produced_by_run", "r0"},
                                         {"duration_ms", 0}}};
  Artifact old{.type = "Dataset", .digest = "sha256:bb"};
  int64_t old_id = *store_->PutArtifact(old);
  records[1].outputs = {{"copy", Artifact{.id = old_id}}};
  records[1].batch_inputs = {{.port = "data", .record = 0, .output = "out"}};
  records[1].context_ids = {first, pipeline};
  ASSERT_TRUE(store_->RecordExecutions(&records).ok());
  int64_t out_id = records[0].outputs[0].second.id;

  auto answers = store_->CacheAnswersFor({"sha256:ka", "sha256:kb"});
  ASSERT_TRUE(answers.ok()) << answers.status().message();
  EXPECT_EQ(*answers,
            (std::map<std::string, MetadataStore::CacheAnswer>{
                {"sha256:ka",
                 {records[0].execution.id, {{"out", "sha256:aa"}}}}}));

  int64_t second = *store_->PutContext({.type = "run", .name = "r2"});
  auto copied = store_->ReplayExecutions(first, "r1", {second, pipeline},
                                         "r2");
  ASSERT_TRUE(copied.ok()) << copied.status().message();
  EXPECT_EQ(*copied, 2);
  auto executions = *store_->ExecutionsInContext(second);
  ASSERT_EQ(executions.size(), 2u);
  EXPECT_EQ(executions[0].name, "a");
  EXPECT_EQ(executions[0].state, ExecutionState::kCached);
  EXPECT_EQ(executions[0].cache_key, "sha256:ka");
  EXPECT_EQ(executions[0].properties,
            Json({{"run_id", "r2"},
                  {"produced_by_run", "r1"},
                  {"cache_key_parts", {{"x", 1.5}}},
                  {"duration_ms", 0}}));
  EXPECT_EQ(executions[1].properties,
            Json({{"run_id", "r2"}, {"produced_by_run", "r0"},
                  {"duration_ms", 0}}));
  auto a_events = *store_->EventsOfExecution(executions[0].id);
  ASSERT_EQ(a_events.size(), 1u);
  EXPECT_EQ(a_events[0].artifact_id, out_id);
  EXPECT_EQ(a_events[0].type, EventType::kOutput);
  auto b_events = *store_->EventsOfExecution(executions[1].id);
  ASSERT_EQ(b_events.size(), 2u);
  EXPECT_EQ(b_events[0].artifact_id, out_id);
  EXPECT_EQ(b_events[0].type, EventType::kInput);
  EXPECT_EQ(b_events[1].artifact_id, old_id);
  EXPECT_EQ(store_->ExecutionsInContext(pipeline)->size(), 4u);
  // A cached copy is never a cache entry of its own.
  EXPECT_EQ(store_->FindCachedExecution("sha256:ka")->execution.id,
            records[0].execution.id);
  // New ids continue after the copies on both backends.
  ExecutionRecord later;
  later.execution = {.type = "command", .name = "c",
                     .state = ExecutionState::kComplete};
  EXPECT_TRUE(store_->RecordExecution(&later).ok());
  EXPECT_GT(later.execution.id, executions[1].id);
}

// A deferred replay writes one row and no execution; the next Open that
// does not defer replays makes the same copy ReplayExecutions makes, once,
// even when two processes materialize at the same time.
TEST_P(MetadataStoreTest, DeferredReplayIsCopiedOnceByTheNextOpen) {
  int64_t pipeline = *store_->PutContext({.type = "pipeline", .name = "p"});
  int64_t first = *store_->PutContext({.type = "run", .name = "r1"});
  std::vector<ExecutionRecord> records(2);
  for (int i = 0; i < 2; ++i) {
    std::string name = i == 0 ? "a" : "b";
    records[i].execution = {.type = "command", .name = name,
                            .state = ExecutionState::kComplete,
                            .cache_key = "sha256:k" + name,
                            .properties = {{"run_id", "r1"},
                                           {"duration_ms", 3}}};
    records[i].outputs = {{"o", Artifact{.type = "Dataset",
                                         .digest = "sha256:d" + name}}};
    records[i].context_ids = {first, pipeline};
  }
  ASSERT_TRUE(store_->RecordExecutions(&records).ok());
  int64_t eager = *store_->PutContext({.type = "run", .name = "r2"});
  ASSERT_EQ(*store_->ReplayExecutions(first, "r1", {eager}, "r2"), 2);

  auto deferring = MetadataStore::Open(url_, {.defer_replays = true});
  ASSERT_TRUE(deferring.ok()) << deferring.status().message();
  int64_t deferred = *(*deferring)->PutContext({.type = "run", .name = "r3"});
  auto count = (*deferring)->DeferReplayExecutions(first, "r1",
                                                   {deferred, pipeline}, "r3");
  ASSERT_TRUE(count.ok()) << count.status().message();
  EXPECT_EQ(*count, 2);
  EXPECT_EQ((*deferring)->ExecutionsInContext(deferred)->size(), 0u);
  auto other = MetadataStore::Open(url_, {.defer_replays = true});
  ASSERT_TRUE(other.ok());
  EXPECT_EQ((*other)->ExecutionsInContext(deferred)->size(), 0u);

  // Both take the row; only the first copies.
  ASSERT_TRUE((*deferring)->MaterializeReplays().ok());
  ASSERT_TRUE((*other)->MaterializeReplays().ok());
  auto reopened = MetadataStore::Open(url_);
  ASSERT_TRUE(reopened.ok());
  auto copies = *(*reopened)->ExecutionsInContext(deferred);
  auto expected = *(*reopened)->ExecutionsInContext(eager);
  ASSERT_EQ(copies.size(), 2u);
  for (size_t i = 0; i < copies.size(); ++i) {
    EXPECT_EQ(copies[i].name, expected[i].name);
    EXPECT_EQ(copies[i].state, ExecutionState::kCached);
    EXPECT_EQ(copies[i].cache_key, expected[i].cache_key);
    Json properties = expected[i].properties;
    properties["run_id"] = "r3";
    EXPECT_EQ(copies[i].properties, properties);
    auto events = *(*reopened)->EventsOfExecution(copies[i].id);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].artifact_id, records[i].outputs[0].second.id);
  }
  // The pipeline context holds the two originals and the two r3 copies.
  EXPECT_EQ((*reopened)->ExecutionsInContext(pipeline)->size(), 4u);
  auto pending = (*reopened)->database()->Query(
      "SELECT COUNT(*) FROM pending_replays");
  ASSERT_TRUE(pending.ok());
  EXPECT_EQ(AsInt((*pending)[0][0]), 0);
}

// Every write that can change a cache answer advances the cache
// generation; reads do not. On SQLite a replay's cached copies (never
// answers) leave it alone too.
TEST_P(MetadataStoreTest, CacheGenerationAdvancesWithWritesThatChangeAnswers) {
  auto generation = [&]() { return *store_->CacheGeneration(); };
  int64_t run = *store_->PutContext({.type = "run", .name = "r1"});

  ExecutionRecord running;
  running.execution = {.type = "command", .name = "a",
                       .state = ExecutionState::kRunning,
                       .cache_key = "sha256:ka"};
  running.context_ids = {run};
  ASSERT_TRUE(store_->RecordExecution(&running).ok());
  int64_t after_running = generation();
  ASSERT_TRUE(store_->UpdateExecutionState(running.execution.id,
                                           ExecutionState::kComplete,
                                           Json::object())
                  .ok());
  EXPECT_GT(generation(), after_running) << "running -> complete";

  int64_t before = generation();
  std::vector<ExecutionRecord> records(1);
  records[0].execution = {.type = "command", .name = "b",
                          .state = ExecutionState::kComplete,
                          .cache_key = "sha256:kb"};
  records[0].outputs = {{"o", Artifact{.type = "Dataset",
                                       .digest = "sha256:b"}}};
  records[0].context_ids = {run};
  ASSERT_TRUE(store_->RecordExecutions(&records).ok());
  EXPECT_GT(generation(), before) << "a complete execution recorded";

  before = generation();
  ASSERT_TRUE(store_->database()
                  ->Execute("UPDATE artifacts SET digest = 'sha256:c' "
                            "WHERE id = ?",
                            {records[0].outputs[0].second.id})
                  .ok());
  EXPECT_GT(generation(), before) << "an output's digest changed";

  before = generation();
  ASSERT_TRUE(store_->database()
                  ->Execute("DELETE FROM events WHERE execution_id = ?",
                            {records[0].execution.id})
                  .ok());
  EXPECT_GT(generation(), before) << "an output event removed";

  before = generation();
  (void)store_->CacheAnswersFor({"sha256:ka", "sha256:kb"});
  (void)store_->FindCachedExecution("sha256:ka");
  EXPECT_EQ(generation(), before) << "reads";

  int64_t copy = *store_->PutContext({.type = "run", .name = "r2"});
  ASSERT_EQ(*store_->ReplayExecutions(run, "r1", {copy}, "r2"), 2);
  if (GetParam() == testing::Backend::kSqlite) {
    EXPECT_EQ(generation(), before) << "cached copies";
  }
}

}  // namespace
}  // namespace lockstep::metadata
