// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "metadata/metadata_store.h"

#include <gtest/gtest.h>

#include "core/files.h"

namespace lockstep::metadata {
namespace {

class MetadataStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = *MakeTempDirectory(fs::temp_directory_path(), "metadata-");
    auto opened = MetadataStore::Open((dir_ / "metadata.db").string());
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store_ = std::move(opened).value();
  }
  void TearDown() override {
    store_.reset();
    RemoveAllQuietly(dir_);
  }

  fs::path dir_;
  std::unique_ptr<MetadataStore> store_;
};

TEST_F(MetadataStoreTest, RecordsExecutionWithEventsAndFindsItByCacheKey) {
  Artifact data{.type = "Dataset", .uri = "data.csv",
                .digest = "sha256:aa"};
  int64_t data_id = *store_->PutArtifact(data);
  int64_t run = *store_->PutContext({.type = "run", .name = "r1"});

  ExecutionRecord record;
  record.execution = {.type = "lockstep/ml-train", .name = "train",
                      .state = ExecutionState::kComplete,
                      .cache_key = "sha256:key"};
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
  EXPECT_TRUE(store_->FindCachedExecution("sha256:other")
                  .status()
                  .IsNotFound());

  auto events = *store_->EventsOfArtifact(data_id);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, EventType::kInput);
  EXPECT_EQ(events[0].port, "data");
  EXPECT_EQ(store_->ExecutionsInContext(run)->size(), 1u);
}

TEST_F(MetadataStoreTest, FailedExecutionIsNeverACacheHit) {
  ExecutionRecord record;
  record.execution = {.type = "command", .name = "s",
                      .state = ExecutionState::kFailed,
                      .cache_key = "sha256:k"};
  ASSERT_TRUE(store_->RecordExecution(&record).ok());
  EXPECT_TRUE(store_->FindCachedExecution("sha256:k").status().IsNotFound());
}

TEST_F(MetadataStoreTest, ContextsAreGetOrCreate) {
  int64_t a = *store_->PutContext({.type = "pipeline", .name = "p"});
  int64_t b = *store_->PutContext({.type = "pipeline", .name = "p"});
  int64_t c = *store_->PutContext({.type = "run", .name = "p"});
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
}

TEST_F(MetadataStoreTest, RunsListNewestFirstWithFilters) {
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

TEST_F(MetadataStoreTest, SnapshotVersionsAreImmutable) {
  int64_t id = *store_->PutArtifact({.type = "Dataset", .digest = "sha256:d"});
  ASSERT_TRUE(store_->PutSnapshot({"iris", 1, id}).ok());
  Status again = store_->PutSnapshot({"iris", 1, id});
  EXPECT_EQ(again.code(), StatusCode::kAlreadyExists);
  ASSERT_TRUE(store_->PutSnapshot({"iris", 2, id}).ok());
  EXPECT_EQ(store_->LatestSnapshot("iris")->version, 2);
}

TEST_F(MetadataStoreTest, NewerSchemaIsRefusedWithBothVersions) {
  store_->database()->Execute("UPDATE schema_version SET version = 99");
  store_.reset();
  auto reopened = MetadataStore::Open((dir_ / "metadata.db").string());
  ASSERT_FALSE(reopened.ok());
  EXPECT_EQ(reopened.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(reopened.status().message().find("version 99"), std::string::npos);
  EXPECT_NE(reopened.status().message().find("version 1 "), std::string::npos);
}

}  // namespace
}  // namespace lockstep::metadata
