// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "ml/split.h"

#include <algorithm>
#include <cstdlib>
#include <map>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/files.h"
#include "data/csv.h"

namespace lockstep::ml {
namespace {

std::filesystem::path SourceDir() {
  const char* dir = std::getenv("LOCKSTEP_SOURCE_DIR");
  return dir ? dir : ".";
}

TEST(SplitTest, EngineIsTheStandardMt19937_64) {
  // The C++ standard ([rand.predef]) fixes the 10000th output of a
  // default-constructed mt19937_64 to this value.
  std::mt19937_64 engine;
  engine.discard(9999);
  EXPECT_EQ(engine(), 9981545732273789042ull);
}

TEST(SplitTest, UniformBelowIsTheRawDrawModuloTheBound) {
  // For bound 10 only draws above 2^64 - 7 are rejected (2^64 mod 10 = 6),
  // so the first accepted draw is the first raw one, reduced mod 10.
  std::mt19937_64 engine(7);
  std::mt19937_64 copy(7);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(UniformBelow(engine, 10), copy() % 10);
  }
  EXPECT_EQ(UniformBelow(engine, 1), 0u);
}

TEST(SplitTest, FisherYatesIsUniformOverPermutations) {
  // 60000 shuffles of 3 items: each of the 6 orders expects 10000 (sd ~91),
  // so a biased swap range (e.g. [0, i) instead of [0, i]) fails clearly.
  std::mt19937_64 engine(1);
  std::map<std::vector<size_t>, int> counts;
  for (int i = 0; i < 60000; ++i) {
    std::vector<size_t> items = {0, 1, 2};
    FisherYatesShuffle(&items, engine);
    ++counts[items];
  }
  ASSERT_EQ(counts.size(), 6u);
  for (const auto& [order, count] : counts) {
    EXPECT_NEAR(count, 10000, 500);
  }
}

TEST(SplitTest, StratifiedCountsPerLabel) {
  // 10 "a" and 5 "b" at 0.2: round(2.0) = 2 and round(1.0) = 1 to test.
  std::vector<std::string> labels(10, "a");
  labels.insert(labels.end(), 5, "b");
  Result<SplitIndices> split = StratifiedSplit(labels, 0.2, 3);
  ASSERT_TRUE(split.ok());
  ASSERT_EQ(split->test.size(), 3u);
  EXPECT_EQ(split->train.size(), 12u);
  size_t test_b = std::count_if(split->test.begin(), split->test.end(),
                                [](size_t i) { return i >= 10; });
  EXPECT_EQ(test_b, 1u);
  EXPECT_TRUE(std::is_sorted(split->test.begin(), split->test.end()));

  // Same seed, same split; the test side moves with the seed.
  Result<SplitIndices> again = StratifiedSplit(labels, 0.2, 3);
  EXPECT_EQ(again->test, split->test);
  bool any_differs = false;
  for (uint64_t seed = 4; seed < 10; ++seed) {
    any_differs |= StratifiedSplit(labels, 0.2, seed)->test != split->test;
  }
  EXPECT_TRUE(any_differs);
}

TEST(SplitTest, FractionMustBeStrictlyBetweenZeroAndOne) {
  std::vector<std::string> labels = {"a", "b"};
  EXPECT_FALSE(StratifiedSplit(labels, 0, 1).ok());
  EXPECT_FALSE(StratifiedSplit(labels, 1, 1).ok());
  EXPECT_FALSE(StratifiedSplit(labels, -0.5, 1).ok());
}

TEST(SplitTest, BreastCancerFilesPartitionTheRows) {
  Result<std::filesystem::path> dir =
      MakeTempDirectory(std::filesystem::temp_directory_path(), "split");
  ASSERT_TRUE(dir.ok());
  std::filesystem::path input = SourceDir() / "tests/data/breast_cancer.csv";
  SplitOptions options{"diagnosis", 0.2, 42};
  Result<SplitCounts> counts =
      SplitCsvFile(input, options, *dir / "train.csv", *dir / "test.csv");
  ASSERT_TRUE(counts.ok()) << counts.status().ToString();
  // 212 M and 357 B: round(42.4) + round(71.4) = 42 + 71 = 113 to test.
  EXPECT_EQ(counts->test, 113u);
  EXPECT_EQ(counts->train, 456u);

  Result<data::CsvTable> all = data::ReadCsvFile(input);
  Result<data::CsvTable> train = data::ReadCsvFile(*dir / "train.csv");
  Result<data::CsvTable> test = data::ReadCsvFile(*dir / "test.csv");
  ASSERT_TRUE(all.ok() && train.ok() && test.ok());
  EXPECT_EQ(train->columns, all->columns);
  EXPECT_EQ(test->columns, all->columns);
  size_t test_m = std::count_if(test->rows.begin(), test->rows.end(),
                                [](const auto& r) { return r[30] == "M"; });
  EXPECT_EQ(test_m, 42u);

  // Together the sides hold exactly the original rows.
  auto together = train->rows;
  together.insert(together.end(), test->rows.begin(), test->rows.end());
  auto original = all->rows;
  std::sort(together.begin(), together.end());
  std::sort(original.begin(), original.end());
  EXPECT_EQ(together, original);

  // The input has LF ends and no quoting, so the canonical train file
  // is the input's header line followed by its lines.
  Result<std::string> train_text = ReadFile(*dir / "train.csv");
  Result<std::string> input_text = ReadFile(input);
  EXPECT_EQ(train_text->substr(0, train_text->find('\n')),
            input_text->substr(0, input_text->find('\n')));
  RemoveAllQuietly(*dir);
}

TEST(SplitTest, MissingLabelColumnIsNamed) {
  Result<std::filesystem::path> dir =
      MakeTempDirectory(std::filesystem::temp_directory_path(), "split");
  ASSERT_TRUE(dir.ok());
  Result<SplitCounts> counts = SplitCsvFile(
      SourceDir() / "tests/data/breast_cancer.csv", {"label", 0.2, 1},
      *dir / "a.csv", *dir / "b.csv");
  ASSERT_FALSE(counts.ok());
  EXPECT_THAT(counts.status().message(),
              ::testing::HasSubstr("no column named 'label'"));
  RemoveAllQuietly(*dir);
}

}  // namespace
}  // namespace lockstep::ml
