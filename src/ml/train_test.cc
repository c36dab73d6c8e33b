// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "ml/train.h"

#include <cstdlib>
#include <regex>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/files.h"
#include "ml/dataset.h"

namespace lockstep::ml {
namespace {

using ::testing::HasSubstr;

std::filesystem::path BreastCancerPath() {
  const char* dir = std::getenv("LOCKSTEP_SOURCE_DIR");
  return std::filesystem::path(dir ? dir : ".") /
         "tests/data/breast_cancer.csv";
}

class TrainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::filesystem::path> dir =
        MakeTempDirectory(std::filesystem::temp_directory_path(), "train");
    ASSERT_TRUE(dir.ok());
    dir_ = *dir;
  }
  void TearDown() override { RemoveAllQuietly(dir_); }

  std::filesystem::path Write(const std::string& name,
                              const std::string& text) {
    EXPECT_TRUE(WriteFileAtomically(dir_ / name, text).ok());
    return dir_ / name;
  }

  std::filesystem::path dir_;
};

TEST_F(TrainTest, LoadsBreastCancer) {
  Result<Dataset> data = LoadDataset(BreastCancerPath(), {"diagnosis", "M"});
  ASSERT_TRUE(data.ok()) << data.status().ToString();
  EXPECT_EQ(data->rows, 569u);
  EXPECT_EQ(data->columns(), 30u);
  EXPECT_EQ(data->features.size(), 569u * 30u);
  EXPECT_EQ(data->feature_names.front(), "mean_radius");
  // The first record starts 17.99,10.38 and is malignant (M).
  EXPECT_EQ(data->features[0], 17.99f);
  EXPECT_EQ(data->features[1], 10.38f);
  EXPECT_EQ(data->labels[0], 1.0f);
  double positives = 0;
  for (float label : data->labels) positives += label;
  EXPECT_EQ(positives, 212);  // 212 malignant per the data set's README.
}

TEST_F(TrainTest, PositiveLabelIsRequiredUnlessLabelsAreZeroOne) {
  Result<Dataset> data = LoadDataset(BreastCancerPath(), {"diagnosis", ""});
  ASSERT_FALSE(data.ok());
  EXPECT_THAT(data.status().message(),
              HasSubstr("breast_cancer.csv:2: column 'diagnosis': label 'M' "
                        "is not 0 or 1; pass --positive-label"));

  Result<Dataset> zero_one =
      LoadDataset(Write("z.csv", "x,y\n1.5,0\n2,1\n"), {"y", ""});
  ASSERT_TRUE(zero_one.ok());
  EXPECT_EQ(zero_one->labels, (std::vector<float>{0, 1}));
  EXPECT_EQ(zero_one->positive_label, "1");
}

TEST_F(TrainTest, BadCellsNameFileLineAndColumn) {
  auto path = Write("bad.csv", "a,label,b\n1,x,2\n\"3\",y,\"4\"\n\n5,x,abc\n");
  Result<Dataset> data = LoadDataset(path, {"label", "x"});
  ASSERT_FALSE(data.ok());
  EXPECT_EQ(data.status().message(),
            path.string() + ":5: column 'b': not a finite number: 'abc'");

  auto third = Write("third.csv", "a,label\n1,x\n2,y\n3,z\n");
  EXPECT_THAT(LoadDataset(third, {"label", "x"}).status().message(),
              HasSubstr(":4: column 'label': a third label value 'z'"));
  auto empty = Write("empty.csv", "a,label\n1,\n");
  EXPECT_THAT(LoadDataset(empty, {"label", "x"}).status().message(),
              HasSubstr(":2: column 'label': empty label"));
  auto nan = Write("nan.csv", "a,label\nnan,x\n");
  EXPECT_THAT(LoadDataset(nan, {"label", "x"}).status().message(),
              HasSubstr(":2: column 'a': not a finite number: 'nan'"));
  EXPECT_FALSE(LoadDataset(third, {"nope", "x"}).ok());
}

// Found by a tester: a label column named twice crashed `ml train` (the
// first copy was read as a feature past the end of the names), and a
// feature named twice was trained on. Both get `ml split`'s message.
TEST_F(TrainTest, RepeatedColumnNamesAreRefused) {
  auto label = Write("duplab.csv", "x,diagnosis,diagnosis\n1,M,B\n3,B,M\n");
  Result<Dataset> data = LoadDataset(label, {"diagnosis", "M"});
  ASSERT_FALSE(data.ok());
  EXPECT_TRUE(data.status().IsInvalidArgument());
  EXPECT_EQ(data.status().message(),
            label.string() + ":1: duplicate column name 'diagnosis'");

  auto feature = Write("dupfeat.csv", "x,x,diagnosis\n1,2,M\n3,4,B\n");
  data = LoadDataset(feature, {"diagnosis", "M"});
  ASSERT_FALSE(data.ok());
  EXPECT_EQ(data.status().message(),
            feature.string() + ":1: duplicate column name 'x'");

  // The header's line, after blank lines.
  auto later = Write("later.csv", "\n\nx,y,x\n1,0,2\n");
  EXPECT_EQ(LoadDataset(later, {"y", ""}).status().message(),
            later.string() + ":3: duplicate column name 'x'");
}

TEST_F(TrainTest, OtherMalformedHeaders) {
  auto only_label = Write("only.csv", "diagnosis\nM\nB\n");
  EXPECT_EQ(LoadDataset(only_label, {"diagnosis", "M"}).status().message(),
            only_label.string() +
                ": no feature columns, only the label 'diagnosis'");

  auto absent = Write("absent.csv", "x,y\n1,M\n");
  EXPECT_EQ(LoadDataset(absent, {"diagnosis", "M"}).status().message(),
            absent.string() + ": no label column named 'diagnosis'");

  auto short_header = Write("short.csv", "x,diagnosis\n1,M,5\n");
  EXPECT_EQ(
      LoadDataset(short_header, {"diagnosis", "M"}).status().message(),
      short_header.string() + ":2: expected 2 fields as in the header, "
                              "found 3");

  // An empty name is a name like any other (`ml split` keeps it too); a
  // bad cell under it is reported with it, not with a neighbour's.
  auto unnamed = Write("unnamed.csv", "diagnosis,,z\nM,1,2\nB,q,4\n");
  Result<Dataset> data = LoadDataset(unnamed, {"diagnosis", "M"});
  ASSERT_FALSE(data.ok());
  EXPECT_EQ(data.status().message(),
            unnamed.string() + ":3: column '': not a finite number: 'q'");
  auto two_unnamed = Write("two.csv", ",diagnosis,\n1,M,2\n");
  EXPECT_EQ(LoadDataset(two_unnamed, {"diagnosis", "M"}).status().message(),
            two_unnamed.string() + ":1: duplicate column name ''");
}

TEST_F(TrainTest, ModelBytesAreDeterministicAcrossRunsAndThreads) {
  Result<Dataset> data = LoadDataset(BreastCancerPath(), {"diagnosis", "M"});
  ASSERT_TRUE(data.ok());
  TrainParams params = {{"n_estimators", "20"}, {"max_depth", "4"}};
  Result<std::string> first = TrainModel(*data, "diagnosis", params);
  Result<std::string> second = TrainModel(*data, "diagnosis", params);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*first, *second);

  params.emplace_back("nthread", "2");
  Result<std::string> two_threads = TrainModel(*data, "diagnosis", params);
  ASSERT_TRUE(two_threads.ok()) << two_threads.status().ToString();
  EXPECT_EQ(*first, *two_threads);

  // The parameters reach XGBoost: fewer rounds, a different model.
  params.emplace_back("n_estimators", "5");
  Result<std::string> fewer = TrainModel(*data, "diagnosis", params);
  ASSERT_TRUE(fewer.ok());
  EXPECT_LT(fewer->size(), first->size());
  EXPECT_THAT(*first, HasSubstr("\"lockstep_positive_label\":\"M\""));
  EXPECT_THAT(*first, HasSubstr("\"num_trees\":\"20\""));
}

TEST_F(TrainTest, PassThroughAndRejectedParameters) {
  Result<Dataset> data =
      LoadDataset(Write("s.csv", "x,y\n1,0\n2,1\n3,0\n4,1\n"), {"y", ""});
  ASSERT_TRUE(data.ok());

  TrainParams known = {{"n_estimators", "2"}, {"min_child_weight", "0"},
                       {"reg_lambda", "2"}};
  Result<std::string> model = TrainModel(*data, "y", known);
  EXPECT_TRUE(model.ok()) << model.status().ToString();

  Result<std::string> typo =
      TrainModel(*data, "y", {{"n_estimators", "2"}, {"max_dept", "3"}});
  ASSERT_FALSE(typo.ok());
  EXPECT_THAT(typo.status().message(),
              HasSubstr("does not know the parameter --max_dept"));

  Result<std::string> bad_value =
      TrainModel(*data, "y", {{"max_depth", "deep"}});
  ASSERT_FALSE(bad_value.ok());
  EXPECT_TRUE(bad_value.status().IsInvalidArgument());

  Result<std::string> bad_rounds =
      TrainModel(*data, "y", {{"n_estimators", "0"}});
  EXPECT_THAT(bad_rounds.status().message(),
              HasSubstr("--n_estimators must be a positive integer"));
}

TEST(XgboostVersionTest, IsMajorMinorPatch) {
  EXPECT_TRUE(std::regex_match(XgboostVersion(),
                               std::regex(R"([0-9]+\.[0-9]+\.[0-9]+)")))
      << XgboostVersion();
}

}  // namespace
}  // namespace lockstep::ml
