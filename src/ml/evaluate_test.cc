// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "ml/evaluate.h"

#include <cmath>
#include <cstdlib>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/canonical_json.h"
#include "core/files.h"
#include "ml/dataset.h"
#include "ml/split.h"
#include "ml/train.h"

namespace lockstep::ml {
namespace {

TEST(ComputeMetricsTest, HandWorkedFourPoints) {
  // y = 0 0 1 1, p = 0.1 0.4 0.35 0.8.
  // AUC: positive/negative pairs ranked correctly: 0.35>0.1, 0.8>0.1,
  //   0.8>0.4 (0.35<0.4 is wrong) = 3 of 4 = 0.75.
  // At 0.5 only 0.8 is positive: tp 1, fn 1, tn 2, fp 0; accuracy 3/4,
  //   precision 1/1, recall 1/2, f1 = 2 * 1 * 0.5 / 1.5 = 2/3.
  // Log loss = -(ln 0.9 + ln 0.6 + ln 0.35 + ln 0.8) / 4
  //   = (0.1053605 + 0.5108256 + 1.0498221 + 0.2231436) / 4 = 0.4722880.
  BinaryMetrics m = ComputeMetrics({0, 0, 1, 1}, {0.1, 0.4, 0.35, 0.8});
  EXPECT_EQ(m.n, 4u);
  EXPECT_EQ(m.tp, 1u);
  EXPECT_EQ(m.fn, 1u);
  EXPECT_EQ(m.tn, 2u);
  EXPECT_EQ(m.fp, 0u);
  EXPECT_DOUBLE_EQ(m.accuracy, 0.75);
  EXPECT_DOUBLE_EQ(m.precision, 1.0);
  EXPECT_DOUBLE_EQ(m.recall, 0.5);
  EXPECT_DOUBLE_EQ(m.f1, 2.0 / 3.0);
  EXPECT_NEAR(m.log_loss, 0.4722880, 1e-7);
  ASSERT_TRUE(m.roc_auc.has_value());
  EXPECT_DOUBLE_EQ(*m.roc_auc, 0.75);
}

TEST(ComputeMetricsTest, TiedScoresShareTheirAverageRank) {
  // y = 0 1 0 1, p = 0.5 0.5 0.2 0.9. Pairs (pos, neg): (0.5, 0.5) tie
  // counts 1/2, (0.5, 0.2) 1, (0.9, 0.5) 1, (0.9, 0.2) 1: 3.5 / 4.
  // Ranks: 0.2 -> 1, the two 0.5s -> 2.5 each, 0.9 -> 4; positives sum
  // 6.5, minus 2*3/2 = 3.5, over 2*2 = 0.875, the same.
  // 0.5 is at the threshold, so it predicts positive: tp 2, fp 1, tn 1.
  BinaryMetrics m = ComputeMetrics({0, 1, 0, 1}, {0.5, 0.5, 0.2, 0.9});
  EXPECT_DOUBLE_EQ(*m.roc_auc, 0.875);
  EXPECT_EQ(m.tp, 2u);
  EXPECT_EQ(m.fp, 1u);
  EXPECT_EQ(m.tn, 1u);
  EXPECT_EQ(m.fn, 0u);
  EXPECT_DOUBLE_EQ(m.precision, 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(m.recall, 1.0);
  EXPECT_DOUBLE_EQ(m.f1, 0.8);  // 2 * (2/3) * 1 / (5/3).
}

TEST(ComputeMetricsTest, DegenerateCases) {
  // One class only: AUC undefined; nothing predicted positive: precision 0.
  BinaryMetrics m = ComputeMetrics({0, 0}, {0.2, 0.1});
  EXPECT_FALSE(m.roc_auc.has_value());
  EXPECT_EQ(m.precision, 0.0);
  EXPECT_EQ(m.f1, 0.0);
  EXPECT_DOUBLE_EQ(m.accuracy, 1.0);
  // A certain, wrong prediction is clipped at 1e-15: loss -ln(1e-15) / 1.
  BinaryMetrics sure = ComputeMetrics({1}, {0.0});
  EXPECT_NEAR(sure.log_loss, 34.538776, 1e-5);
  EXPECT_TRUE(MetricsToJson(m)["roc_auc"].is_null());
}

TEST(EvaluateTest, BreastCancerPipelineIsGoodAndByteIdentical) {
  const char* source = std::getenv("LOCKSTEP_SOURCE_DIR");
  std::filesystem::path input = std::filesystem::path(source ? source : ".") /
                                "tests/data/breast_cancer.csv";
  Result<std::filesystem::path> dir =
      MakeTempDirectory(std::filesystem::temp_directory_path(), "eval");
  ASSERT_TRUE(dir.ok());

  std::string outputs[2];
  for (std::string& output : outputs) {
    ASSERT_TRUE(SplitCsvFile(input, {"diagnosis", 0.2, 42},
                             *dir / "train.csv", *dir / "test.csv")
                    .ok());
    Result<Dataset> train =
        LoadDataset(*dir / "train.csv", {"diagnosis", "M"});
    ASSERT_TRUE(train.ok());
    Result<std::string> model = TrainModel(
        *train, "diagnosis",
        {{"learning_rate", "0.1"}, {"n_estimators", "100"},
         {"max_depth", "6"}});
    ASSERT_TRUE(model.ok()) << model.status().ToString();
    ASSERT_TRUE(WriteFileAtomically(*dir / "model.json", *model).ok());

    Result<Evaluation> evaluation =
        EvaluateModel(*dir / "model.json", *dir / "test.csv", {});
    ASSERT_TRUE(evaluation.ok()) << evaluation.status().ToString();
    const BinaryMetrics& m = evaluation->metrics;
    EXPECT_EQ(m.n, 113u);
    EXPECT_EQ(m.tp + m.fn, 42u);  // The malignant rows of the test side.
    EXPECT_GT(*m.roc_auc, 0.95);
    EXPECT_GT(m.accuracy, 0.9);
    output = evaluation->json;
  }
  EXPECT_EQ(outputs[0], outputs[1]);
  Result<Json> parsed = ParseJson(outputs[0], "metrics");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ((*parsed)["positive_label"], "M");
  EXPECT_EQ((*parsed)["confusion_matrix"]["tp"].get<int>() +
                (*parsed)["confusion_matrix"]["fn"].get<int>(),
            42);

  // A contradicting positive label, or a test file without the features,
  // is refused.
  EXPECT_FALSE(EvaluateModel(*dir / "model.json", *dir / "test.csv",
                             {"", "B"})
                   .ok());
  ASSERT_TRUE(
      WriteFileAtomically(*dir / "other.csv", "a,diagnosis\n1,M\n").ok());
  EXPECT_FALSE(
      EvaluateModel(*dir / "model.json", *dir / "other.csv", {}).ok());
  // A CSV given as the model: refused before XGBoost trusts a length
  // read from its bytes (under ASan this aborted on a 7 EiB allocation).
  Result<Evaluation> not_a_model =
      EvaluateModel(*dir / "test.csv", *dir / "test.csv", {});
  ASSERT_FALSE(not_a_model.ok());
  EXPECT_NE(not_a_model.status().message().find("test.csv: not an XGBoost "
                                                "model"),
            std::string::npos)
      << not_a_model.status().message();
  RemoveAllQuietly(*dir);
}

// Found by a tester: a test CSV with its label column twice printed
// heap bytes as a column name. A repeated name is refused before any row
// is read, with `ml split`'s message.
TEST(EvaluateTest, RepeatedColumnNamesAreRefused) {
  Result<std::filesystem::path> dir =
      MakeTempDirectory(std::filesystem::temp_directory_path(), "eval");
  ASSERT_TRUE(dir.ok());
  const std::filesystem::path train = *dir / "train.csv";
  ASSERT_TRUE(WriteFileAtomically(
                  train, "x,diagnosis\n1,M\n3,B\n2,M\n4,B\n")
                  .ok());
  Result<Dataset> data = LoadDataset(train, {"diagnosis", "M"});
  ASSERT_TRUE(data.ok()) << data.status().ToString();
  Result<std::string> model =
      TrainModel(*data, "diagnosis", {{"n_estimators", "2"}});
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  ASSERT_TRUE(WriteFileAtomically(*dir / "model.json", *model).ok());

  const std::pair<std::string, std::string> cases[] = {
      {"x,diagnosis,diagnosis\n1,M,B\n3,B,M\n", "diagnosis"},
      {"x,x,diagnosis\n1,2,M\n3,4,B\n", "x"},
  };
  for (const auto& [text, repeated] : cases) {
    const std::filesystem::path test = *dir / "test.csv";
    ASSERT_TRUE(WriteFileAtomically(test, text).ok());
    Result<Evaluation> evaluation = EvaluateModel(*dir / "model.json", test,
                                                  {});
    ASSERT_FALSE(evaluation.ok()) << text;
    EXPECT_TRUE(evaluation.status().IsInvalidArgument());
    EXPECT_EQ(evaluation.status().message(),
              test.string() + ":1: duplicate column name '" + repeated + "'");
  }
  RemoveAllQuietly(*dir);
}

}  // namespace
}  // namespace lockstep::ml
