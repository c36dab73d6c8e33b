// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "registry/store_check.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "core/files.h"
#include "registry/oci.h"

namespace lockstep::registry {
namespace {

namespace fs = std::filesystem;

class StoreCheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = *MakeTempDirectory(fs::temp_directory_path(), "store-check-");
    blobs_ = std::make_unique<store::BlobStore>(root_);
    index_ = std::move(*Index::Open(root_ / "index.db"));
  }
  void TearDown() override {
    index_.reset();
    RemoveAllQuietly(root_);
  }

  // "kind digest" for each problem, sorted.
  std::vector<std::string> Problems(RetentionRoots& roots) {
    auto report = CheckStore(*blobs_, index_.get(), roots, {});
    EXPECT_TRUE(report.ok()) << report.status().ToString();
    std::vector<std::string> found;
    for (const StoreProblem& problem : report->problems) {
      found.push_back(problem.kind + " " + problem.digest);
    }
    std::sort(found.begin(), found.end());
    return found;
  }

  fs::path root_;
  std::unique_ptr<store::BlobStore> blobs_;
  std::unique_ptr<Index> index_;
};

// Found by a tester: an index whose child manifest cleanup had deleted
// was left in place, and nothing in Lockstep could tell.
TEST_F(StoreCheckTest, NamesEveryKindOfDamage) {
  Digest index_bytes = *blobs_->PutBytes("an index");
  Digest layer = *blobs_->PutBytes("a layer");
  Digest gone_child = Sha256Of("a child manifest");
  Digest gone_layer = Sha256Of("a layer removed");
  ASSERT_TRUE(index_
                  ->PutManifest({"app", index_bytes, std::string(kOciIndex),
                                 8, "", "", "", 1},
                                {{gone_child, true}, {layer, false},
                                 {gone_layer, false}})
                  .ok());
  ASSERT_TRUE(index_->SetTag({"app", "v1", index_bytes, 1}).ok());
  ASSERT_TRUE(index_->SetTag({"app", "v2", Sha256Of("nothing"), 1}).ok());
  Digest corrupt = *blobs_->PutBytes("intact");
  fs::path file = blobs_->PathOf(corrupt);
  fs::permissions(file, fs::perms::owner_write, fs::perm_options::add);
  ASSERT_TRUE(WriteFileAtomically(file, "damage").ok());
  Digest needed = Sha256Of("needed by a run");
  FixedRetentionRoots roots({{needed, "run r1 needs it"}, {layer, "r2"}});

  std::vector<std::string> expected = {
      "corrupt " + corrupt.ToString(),
      "dangling " + gone_child.ToString(),
      "dangling " + gone_layer.ToString(),
      "dangling " + Sha256Of("nothing").ToString(),
      "missing " + needed.ToString()};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(Problems(roots), expected);
}

TEST_F(StoreCheckTest, ASoundStoreHasNoProblems) {
  Digest layer = *blobs_->PutBytes("a layer");
  Digest manifest = *blobs_->PutBytes("a manifest");
  ASSERT_TRUE(index_
                  ->PutManifest({"app", manifest, std::string(kOciManifest),
                                 10, "", "", "", 1},
                                {{layer, false}})
                  .ok());
  FixedRetentionRoots roots({{layer, "run r1 needs it"}});

  auto report = CheckStore(*blobs_, index_.get(), roots, {});

  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->problems.empty());
  EXPECT_EQ(report->blobs_checked, 2u);
  EXPECT_EQ(report->bytes_checked, 17u);
}

}  // namespace
}  // namespace lockstep::registry
