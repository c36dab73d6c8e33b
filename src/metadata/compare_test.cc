// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "metadata/compare.h"

#include <gtest/gtest.h>

#include <fstream>

#include "core/files.h"
#include "store/tar.h"

namespace lockstep::metadata {
namespace {

namespace fs = std::filesystem;

TEST(CompareMetricsTest, ListsMovedAddedAndRemovedLeavesWithDeltas) {
  Json before = {{"auc", 0.5}, {"per_class", {{"M", 1}, {"B", 2}}},
                 {"gone", 3}, {"same", 7}};
  Json after = {{"auc", 0.75}, {"per_class", {{"M", 1}, {"B", 5}}},
                {"new", "x"}, {"same", 7}};
  Json changes = CompareMetrics(before, after);
  // nlohmann orders object keys, so the walk is alphabetical.
  Json expected = Json::parse(R"([
    {"key": "auc", "old": 0.5, "new": 0.75, "delta": 0.25},
    {"key": "gone", "old": 3, "new": null},
    {"key": "per_class.B", "old": 2, "new": 5, "delta": 3.0},
    {"key": "new", "old": null, "new": "x"}])");
  EXPECT_EQ(changes, expected);
  EXPECT_EQ(CompareMetrics(before, before), Json::array());
  EXPECT_EQ(CompareMetrics({{"a", 1}}, {{"a", 2}}, "train.m")[0]["key"],
            "train.m.a");
}

TEST(CompareMetricsTest, ToleranceAndFormatting) {
  Json small = CompareMetrics({{"a", 1.0}}, {{"a", 1.0 + 1e-12}});
  EXPECT_TRUE(WithinTolerance(small, 1e-9));
  EXPECT_FALSE(WithinTolerance(small, 1e-13));
  // A change that is not a number is never within a tolerance.
  EXPECT_FALSE(WithinTolerance(CompareMetrics({{"a", "x"}}, {{"a", "y"}}),
                               1e9));
  EXPECT_EQ(FormatMetricChange(CompareMetrics({{"a", 1}}, {{"a", 3}})[0]),
            "a: 1 -> 3 (delta 2.0)");
  EXPECT_EQ(FormatMetricChange(CompareMetrics({{"a", "x"}}, {{"a", 3}})[0]),
            "a: \"x\" -> 3");
}

class CompareFoldersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = *MakeTempDirectory(fs::temp_directory_path(), "compare-test-");
    blobs_ = std::make_unique<store::BlobStore>(root_ / "store");
  }
  void TearDown() override { RemoveAllQuietly(root_); }

  // Packs a folder holding `files` (path -> text).
  Digest Pack(const std::string& name,
              const std::map<std::string, std::string>& files) {
    fs::path dir = root_ / name;
    fs::create_directories(dir);
    for (const auto& [path, text] : files) {
      fs::create_directories((dir / path).parent_path());
      std::ofstream(dir / path) << text;
    }
    return *store::PackFolder(dir, blobs_.get());
  }

  fs::path root_;
  std::unique_ptr<store::BlobStore> blobs_;
};

TEST_F(CompareFoldersTest, NamesChangedAddedAndRemovedFiles) {
  Digest a = Pack("a", {{"keep.txt", "1"}, {"sub/when.txt", "100"},
                        {"old.txt", "o"}});
  Digest b = Pack("b", {{"keep.txt", "1"}, {"sub/when.txt", "200"},
                        {"new.txt", "n"}});
  Result<FolderChanges> changes = CompareFolders(*blobs_, a, b);
  ASSERT_TRUE(changes.ok()) << changes.status().message();
  EXPECT_EQ(changes->changed, std::vector<std::string>{"sub/when.txt"});
  EXPECT_EQ(changes->added, std::vector<std::string>{"new.txt"});
  EXPECT_EQ(changes->removed, std::vector<std::string>{"old.txt"});
  EXPECT_EQ(changes->FirstPath(), "new.txt");
  EXPECT_TRUE(CompareFolders(*blobs_, a, a)->empty());
}

// Found by a tester: names that are not UTF-8 came out of `reproduce
// --json` as U+FFFD, so caf\xe9 and caf\xe8 read the same.
TEST_F(CompareFoldersTest, NamesThatAreNotUtf8AreEscapedInJson) {
  Digest a = Pack("a", {{"caf\xe9", "1"}, {"caf\xe8", "1"}});
  Digest b = Pack("b", {{"caf\xe9", "2"}, {"caf\xe8", "1"}});
  RecordedOutput folder{"Dataset", "exact", 0, a.ToString(), true};
  OutputComparison verdict = CompareOutput("tree", folder, b, *blobs_);
  EXPECT_EQ(verdict.first_file, "caf\\xe9");
  EXPECT_EQ(verdict.ToJson()["folder_changes"]["changed"],
            Json({"caf\\xe9"}));
}

TEST_F(CompareFoldersTest, CompareOutputAppliesPoliciesAndOpensOutputs) {
  Digest a = Pack("a", {{"x", "1"}, {"when", "100"}});
  Digest b = Pack("b", {{"x", "1"}, {"when", "200"}});
  RecordedOutput folder{"Dataset", "exact", 0, a.ToString(), true};
  OutputComparison verdict = CompareOutput("tree", folder, b, *blobs_);
  EXPECT_FALSE(verdict.identical);
  EXPECT_FALSE(verdict.accepted);
  EXPECT_EQ(verdict.first_file, "when");
  EXPECT_EQ(verdict.ToJson()["folder_changes"]["changed"], Json({"when"}));

  folder.policy = "ignore";
  EXPECT_TRUE(CompareOutput("tree", folder, b, *blobs_).accepted);
  EXPECT_TRUE(CompareOutput("tree", folder, a, *blobs_).identical);

  Digest m1 = *blobs_->PutBytes(R"({"auc": 0.5})");
  Digest m2 = *blobs_->PutBytes(R"({"auc": 0.5000000001})");
  RecordedOutput metrics{"Metrics", "tolerance", 1e-9, m1.ToString(), false};
  OutputComparison close = CompareOutput("m", metrics, m2, *blobs_);
  EXPECT_FALSE(close.identical);
  EXPECT_TRUE(close.accepted);
  EXPECT_EQ(close.metric_changes[0]["key"], "auc");
  metrics.tolerance = 1e-11;
  EXPECT_FALSE(CompareOutput("m", metrics, m2, *blobs_).accepted);
  metrics.policy = "exact";
  metrics.tolerance = 1;
  EXPECT_FALSE(CompareOutput("m", metrics, m2, *blobs_).accepted);
}

// Found by a tester: Python's json.dumps writes NaN, and one NaN made a
// whole Metrics file unreadable, so no tolerance applied to the rest.
TEST(ParseMetricsTest, ReadsPythonsNonFiniteTokensAsStrings) {
  Json parsed = ParseMetrics(
      R"({"p": NaN, "q": [Infinity, -Infinity], "s": "NaN in a string",)"
      R"( "t": 0.5})");
  ASSERT_FALSE(parsed.is_discarded());
  EXPECT_EQ(parsed["p"], "NaN");
  EXPECT_EQ(parsed["q"], Json({"Infinity", "-Infinity"}));
  EXPECT_EQ(parsed["s"], "NaN in a string");
  EXPECT_EQ(parsed["t"], 0.5);
  EXPECT_TRUE(ParseMetrics(R"({"p": NaNa})").is_discarded());
  EXPECT_TRUE(ParseMetrics(R"({"p": nan})").is_discarded());
}

TEST_F(CompareFoldersTest, ANaNMetricLeavesTheOthersComparable) {
  Digest m1 = *blobs_->PutBytes(R"({"precision": NaN, "loss": 0.5})");
  Digest m2 = *blobs_->PutBytes(R"({"precision": NaN, "loss": 0.505})");
  Digest m3 = *blobs_->PutBytes(R"({"precision": 0.9, "loss": 0.5})");
  RecordedOutput metrics{"Metrics", "tolerance", 0.01, m1.ToString(), false};
  OutputComparison close = CompareOutput("m", metrics, m2, *blobs_);
  EXPECT_TRUE(close.accepted);
  ASSERT_EQ(close.metric_changes.size(), 1u);
  EXPECT_EQ(close.metric_changes[0]["key"], "loss");
  // NaN to a number has no delta, so no tolerance accepts it.
  EXPECT_FALSE(CompareOutput("m", metrics, m3, *blobs_).accepted);
}

}  // namespace
}  // namespace lockstep::metadata
