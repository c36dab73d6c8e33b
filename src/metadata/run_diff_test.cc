// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "metadata/run_diff.h"

#include <gtest/gtest.h>

#include "core/files.h"
#include "metadata/testing_backends.h"

namespace lockstep::metadata {
namespace {

using testing::BackendTest;

class RunDiffTest : public BackendTest {
 protected:
  // A run that reads data.csv, trains a model and writes metrics.
  void RecordRun(const std::string& run_id, double learning_rate,
                 const std::string& model_digest, double accuracy,
                 ExecutionState state) {
    int64_t ctx = *store_->PutContext({.type = "run", .name = run_id});
    fs::path manifest = dir_ / (run_id + ".json");
    Json body = {{"params", {{"train", {{"learning_rate", learning_rate}}}}},
                 {"environment", {{"python", "3.11.2"},
                                  {"host", "host-" + run_id}}}};
    ASSERT_TRUE(WriteFileAtomically(manifest, body.dump()).ok());
    ASSERT_TRUE(store_->CreateRun({.run_id = run_id, .context_id = ctx,
                                   .pipeline = "iris",
                                   .status = "succeeded",
                                   .manifest_path = manifest.string()})
                    .ok());
    if (data_ == 0) {
      data_ = *store_->PutArtifact({.type = "Dataset",
                                    .digest = "sha256:data"});
    }
    Artifact metrics{.type = "Metrics", .digest = "sha256:m-" + run_id};
    metrics.properties = {{"metrics", {{"accuracy", accuracy}}}};
    ExecutionRecord record;
    record.execution = {.type = "lockstep/ml-train", .name = "train",
                        .state = state, .cache_key = "sha256:k"};
    record.inputs = {{"data", data_}};
    record.outputs = {{"model", Artifact{.type = "Model",
                                         .digest = model_digest}},
                      {"metrics", metrics}};
    record.context_ids = {ctx};
    ASSERT_TRUE(store_->RecordExecution(&record).ok());
  }

  static const DiffRow* Row(const RunDiff& diff, const std::string& section,
                            const std::string& key) {
    for (const DiffSection& s : diff.sections) {
      for (const DiffRow& row : s.rows) {
        if (s.name == section && row.key == key) {
          return &row;
        }
      }
    }
    return nullptr;
  }

  int64_t data_ = 0;
};
LOCKSTEP_INSTANTIATE_BACKENDS(RunDiffTest);

TEST_P(RunDiffTest, MarksDifferingParamsOutputsStatesAndMetrics) {
  RecordRun("a", 0.1, "sha256:model-a", 0.9, ExecutionState::kComplete);
  RecordRun("b", 0.2, "sha256:model-b", 0.8, ExecutionState::kCached);
  auto diff = DiffRuns(store_.get(), "a", "b");
  ASSERT_TRUE(diff.ok()) << diff.status().ToString();
  EXPECT_FALSE(diff->identical);

  const DiffRow* lr = Row(*diff, "params", "/train/learning_rate");
  ASSERT_NE(lr, nullptr);
  EXPECT_EQ(lr->a, 0.1);
  EXPECT_EQ(lr->b, 0.2);
  EXPECT_TRUE(lr->differs);
  EXPECT_FALSE(Row(*diff, "environment", "/python")->differs);
  EXPECT_FALSE(Row(*diff, "inputs", "train.data")->differs);
  EXPECT_EQ(Row(*diff, "inputs", "train.data")->a, "sha256:data");
  EXPECT_EQ(Row(*diff, "steps", "train")->b, "cached");
  EXPECT_TRUE(Row(*diff, "outputs", "train.model")->differs);
  const DiffRow* accuracy = Row(*diff, "metrics", "train.metrics.accuracy");
  ASSERT_NE(accuracy, nullptr);
  EXPECT_EQ(accuracy->a, 0.9);
  EXPECT_EQ(accuracy->b, 0.8);
  // The same delta reproduce reports: 0.8 - 0.9 in doubles.
  EXPECT_EQ(accuracy->delta, Json(0.8 - 0.9));
  EXPECT_TRUE(Row(*diff, "params", "/train/learning_rate")->delta.is_null());

  std::string text = RunDiffToText(*diff);
  EXPECT_NE(text.find("* /train/learning_rate"), std::string::npos) << text;
  // Matching environment rows are counted, not printed.
  EXPECT_EQ(text.find("/python"), std::string::npos) << text;
  EXPECT_NE(text.find("environment:\n* /host "), std::string::npos)
      << text;
  EXPECT_NE(text.find("host-b\n  (1 matching row not shown"),
            std::string::npos) << text;
  EXPECT_NE(text.find("0.8 (delta " + Json(0.8 - 0.9).dump() + ")"),
            std::string::npos) << text;
  Json json = RunDiffToJson(*diff);
  EXPECT_EQ(json["sections"]["params"][0]["key"], "/train/learning_rate");
  EXPECT_FALSE(Row(*diff, "run", "status")->differs);
  EXPECT_EQ(Row(*diff, "run", "pipeline")->a, "iris");
}

// {"a": {"b": 1}} and {"a.b": 1} are different params; dotted paths
// made both "o.a.b" and the runs compared identical.
TEST_P(RunDiffTest, NestedAndDottedParamKeysStayApart) {
  for (const auto& [run_id, params] :
       {std::pair{"n", Json{{"o", {{"a", {{"b", 1}}}}}}},
        std::pair{"d", Json{{"o", {{"a.b", 1}}}}}}) {
    int64_t ctx = *store_->PutContext({.type = "run", .name = run_id});
    fs::path manifest = dir_ / (std::string(run_id) + ".json");
    Json body = {{"params", params}};
    ASSERT_TRUE(WriteFileAtomically(manifest, body.dump()).ok());
    ASSERT_TRUE(store_->CreateRun({.run_id = run_id, .context_id = ctx,
                                   .pipeline = "t",
                                   .status = "succeeded",
                                   .manifest_path = manifest.string()})
                    .ok());
  }
  auto diff = DiffRuns(store_.get(), "n", "d");
  ASSERT_TRUE(diff.ok()) << diff.status().ToString();
  EXPECT_FALSE(diff->identical);
  EXPECT_EQ(Row(*diff, "params", "/o/a/b")->a, 1);
  EXPECT_TRUE(Row(*diff, "params", "/o/a/b")->b.is_null());
  EXPECT_TRUE(Row(*diff, "params", "/o/a.b")->a.is_null());
  EXPECT_EQ(Row(*diff, "params", "/o/a.b")->b, 1);
}

TEST_P(RunDiffTest, SameRunIsIdenticalAndUnknownRunIsNotFound) {
  RecordRun("a", 0.1, "sha256:model-a", 0.9, ExecutionState::kComplete);
  auto same = DiffRuns(store_.get(), "a", "a");
  ASSERT_TRUE(same.ok());
  EXPECT_TRUE(same->identical);
  EXPECT_TRUE(DiffRuns(store_.get(), "a", "zz").status().IsNotFound());
}

}  // namespace
}  // namespace lockstep::metadata
