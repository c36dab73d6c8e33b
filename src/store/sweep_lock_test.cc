// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "store/sweep_lock.h"

#include <gtest/gtest.h>

#include "core/files.h"
#include "store/blob_store.h"

namespace lockstep::store {
namespace {

namespace fs = std::filesystem;

class SweepLockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = *MakeTempDirectory(fs::temp_directory_path(), "sweep-lock-");
  }
  void TearDown() override { RemoveAllQuietly(root_); }

  std::string Stamp(SweepLock::Mode mode) {
    auto lock = SweepLock::Acquire(root_, mode);
    EXPECT_TRUE(lock.ok()) << lock.status().ToString();
    return lock.ok() ? lock->stamp() : "";
  }

  fs::path root_;
};

TEST_F(SweepLockTest, SharedHoldersReadOneStampUntilAnExclusiveOne) {
  std::string first = Stamp(SweepLock::Mode::kShared);
  EXPECT_EQ(first.size(), 32u);  // A store without one gets one.
  EXPECT_EQ(Stamp(SweepLock::Mode::kShared), first);
  std::string gc = Stamp(SweepLock::Mode::kExclusive);
  EXPECT_NE(gc, first);
  EXPECT_EQ(Stamp(SweepLock::Mode::kShared), gc);
}

TEST_F(SweepLockTest, RemovingABlobRestamps) {
  BlobStore blobs(root_);
  Digest digest = *blobs.PutBytes("removed");
  std::string before = Stamp(SweepLock::Mode::kShared);
  ASSERT_TRUE(blobs.Remove(digest).ok());
  EXPECT_NE(Stamp(SweepLock::Mode::kShared), before);
}

// A lock file from before stamps (empty) is given one, not read as a
// stamp that a later empty file could repeat.
TEST_F(SweepLockTest, AnEmptyLockFileGetsAStamp) {
  fs::create_directories(root_ / "locks");
  ASSERT_TRUE(WriteFileAtomically(root_ / "locks" / "sweep.lock", "").ok());
  std::string stamp = Stamp(SweepLock::Mode::kShared);
  EXPECT_EQ(stamp.size(), 32u);
  EXPECT_EQ(*ReadFile(root_ / "locks" / "sweep.lock"), stamp);
}

}  // namespace
}  // namespace lockstep::store
