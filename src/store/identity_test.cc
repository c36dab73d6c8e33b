// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "store/identity.h"

#include <gtest/gtest.h>

#include <set>
#include <thread>
#include <vector>

#include "core/files.h"
#include "store/location.h"

namespace lockstep::store {
namespace {

namespace fs = std::filesystem;

class IdentityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = *MakeTempDirectory(fs::temp_directory_path(), "identity-");
  }
  void TearDown() override { RemoveAllQuietly(root_); }

  fs::path root_;
};

TEST_F(IdentityTest, ANewStoreGetsAnIdThatNeverChanges) {
  ASSERT_TRUE(InitializeStoreLayout(root_).ok());
  Result<std::string> id = ReadStoreId(root_);
  ASSERT_TRUE(id.ok()) << id.status().message();
  EXPECT_EQ(id->size(), 32u);
  EXPECT_EQ(*ReadFile(root_ / "store-id"), *id + "\n");
  ASSERT_TRUE(InitializeStoreLayout(root_).ok());
  EXPECT_EQ(*EnsureStoreId(root_), *id);
  EXPECT_TRUE(fs::is_empty(root_ / "tmp"));  // No temporary left behind.
}

// A store from an older Lockstep gets its id from `store migrate`, which
// records it in the database too, not from whichever command opens it.
TEST_F(IdentityTest, AnExistingStoreWithoutAnIdIsLeftWithout) {
  fs::create_directories(root_ / "blobs");
  ASSERT_TRUE(WriteFileAtomically(root_ / "metadata.db", "").ok());
  ASSERT_TRUE(InitializeStoreLayout(root_).ok());
  EXPECT_TRUE(ReadStoreId(root_).status().IsNotFound());
  Result<StoreLocation> located =
      LocateStore(root_.string(), CreateIfMissing::kNo);
  ASSERT_TRUE(located.ok()) << located.status().message();
  EXPECT_FALSE(located->created);
  EXPECT_TRUE(ReadStoreId(root_).status().IsNotFound());
}

// What a creation killed after its folders but before its id left (an
// earlier Lockstep made the folders first): no store to a command that
// only reads, and a new store, finished with an id, to one that writes.
TEST_F(IdentityTest, TheEmptyFoldersOfAStoppedCreationAreNoStoreYet) {
  for (const char* sub : {"blobs/sha256", "runs", "tmp", "work"}) {
    fs::create_directories(root_ / sub);
  }
  ASSERT_TRUE(WriteFileAtomically(root_ / "tmp" / "x.tmp", "").ok());
  Result<StoreLocation> read =
      LocateStore(root_.string(), CreateIfMissing::kNo);
  ASSERT_TRUE(read.status().IsNotFound());
  EXPECT_EQ(read.status().message(),
            "no Lockstep store at " + root_.string() +
                " (run a pipeline or snapshot data to create one, or pass "
                "--store)");
  Result<StoreLocation> written =
      LocateStore(root_.string(), CreateIfMissing::kYes);
  ASSERT_TRUE(written.ok()) << written.status().message();
  EXPECT_TRUE(written->created);
  Result<std::string> id = ReadStoreId(root_);
  ASSERT_TRUE(id.ok()) << id.status().message();
  written = LocateStore(root_.string(), CreateIfMissing::kNo);
  ASSERT_TRUE(written.ok()) << written.status().message();
  EXPECT_FALSE(written->created);
  EXPECT_EQ(*ReadStoreId(root_), *id);
}

// A creation that fails part way (out of space, say) leaves the id and no
// blobs/, so the folder is no store until the next command finishes it.
TEST_F(IdentityTest, AStoreGetsItsIdBeforeTheFolderThatMarksIt) {
  ASSERT_TRUE(WriteFileAtomically(root_ / "work", "in the way").ok());
  Status failed = InitializeStoreLayout(root_);
  ASSERT_FALSE(failed.ok());
  EXPECT_TRUE(failed.message().starts_with(
      "cannot create " + (root_ / "work").string() + ": "))
      << failed.message();
  Result<std::string> id = ReadStoreId(root_);
  ASSERT_TRUE(id.ok()) << id.status().message();
  EXPECT_FALSE(fs::exists(root_ / "blobs"));
  EXPECT_TRUE(LocateStore(root_.string(), CreateIfMissing::kNo)
                  .status()
                  .IsNotFound());
  fs::remove(root_ / "work");
  ASSERT_TRUE(LocateStore(root_.string(), CreateIfMissing::kYes).ok());
  EXPECT_EQ(*ReadStoreId(root_), *id);
  EXPECT_TRUE(fs::is_directory(root_ / "blobs" / "sha256"));
}

TEST_F(IdentityTest, TwoStoresGetDifferentIds) {
  fs::path other = root_ / "other";
  ASSERT_TRUE(InitializeStoreLayout(root_).ok());
  ASSERT_TRUE(InitializeStoreLayout(other).ok());
  EXPECT_NE(*ReadStoreId(root_), *ReadStoreId(other));
}

TEST_F(IdentityTest, AStoreWithoutAnIdIsNotFoundAndADamagedOneDataLoss) {
  EXPECT_TRUE(ReadStoreId(root_).status().IsNotFound());
  ASSERT_TRUE(WriteFileAtomically(root_ / "store-id", "not-an-id\n").ok());
  Result<std::string> damaged = ReadStoreId(root_);
  ASSERT_TRUE(damaged.status().IsDataLoss());
  EXPECT_EQ(damaged.status().message(),
            (root_ / "store-id").string() +
                ": not a store id (32 hex digits)");
  EXPECT_TRUE(EnsureStoreId(root_).status().IsDataLoss());  // Not replaced.
}

TEST_F(IdentityTest, RacingCreatorsAgreeOnOneId) {
  std::vector<std::string> ids(8);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < ids.size(); ++i) {
    threads.emplace_back([&, i] { ids[i] = *EnsureStoreId(root_); });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 1u);
  EXPECT_EQ(*ReadStoreId(root_), ids[0]);
}

TEST_F(IdentityTest, TheGenerationOnlyRises) {
  EXPECT_EQ(*ReadStoreGeneration(root_), 0);
  ASSERT_TRUE(RaiseStoreGeneration(root_, 5).ok());
  EXPECT_EQ(*ReadStoreGeneration(root_), 5);
  ASSERT_TRUE(RaiseStoreGeneration(root_, 3).ok());
  EXPECT_EQ(*ReadStoreGeneration(root_), 5);
  EXPECT_EQ(*ReadFile(root_ / "store-generation"), "5\n");

  std::vector<std::thread> threads;
  for (int64_t g = 6; g <= 40; ++g) {
    threads.emplace_back([&, g] { (void)RaiseStoreGeneration(root_, g); });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(*ReadStoreGeneration(root_), 40);
}

TEST_F(IdentityTest, ADamagedGenerationIsDataLoss) {
  ASSERT_TRUE(WriteFileAtomically(root_ / "store-generation", "x7\n").ok());
  Result<int64_t> damaged = ReadStoreGeneration(root_);
  ASSERT_TRUE(damaged.status().IsDataLoss());
  EXPECT_EQ(damaged.status().message(),
            (root_ / "store-generation").string() +
                ": not a store generation (a number)");
}

}  // namespace
}  // namespace lockstep::store
