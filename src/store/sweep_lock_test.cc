// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "store/sweep_lock.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

#include "core/files.h"
#include "core/subprocess.h"
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

// gc waited silently for a lock a stopped snapshot held (found by a
// tester): a wait is told once, with the holder, and a signal ends it.
TEST_F(SweepLockTest, AWaitIsToldOnceAndEndsOnCancellation) {
  fs::path path = root_ / "locks" / "sweep.lock";
  ASSERT_TRUE(SweepLock::Acquire(root_, SweepLock::Mode::kShared).ok());
  int held = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(held, 0);
  ASSERT_EQ(::flock(held, LOCK_SH), 0);  // A holder of this test's own.

  InstallCancellationHandlers(SafePoints::kStop);
  std::thread signal([] {
    std::this_thread::sleep_for(std::chrono::milliseconds(1600));
    ::kill(::getpid(), SIGTERM);
  });
  int told = 0;
  fs::path told_path;
  std::vector<int> told_holders;
  auto start = std::chrono::steady_clock::now();
  Result<SweepLock> lock = SweepLock::Acquire(
      root_, SweepLock::Mode::kExclusive,
      [&](const fs::path& lock_path, const std::vector<int>& holders) {
        ++told;
        told_path = lock_path;
        told_holders = holders;
      });
  auto waited = std::chrono::steady_clock::now() - start;
  signal.join();
  ResetCancellation();
  InstallCancellationHandlers(SafePoints::kIgnore);
  for (int number : {SIGINT, SIGTERM, SIGHUP}) ::signal(number, SIG_DFL);
  ::close(held);

  ASSERT_FALSE(lock.ok());
  EXPECT_EQ(lock.status().message(), "interrupted by a signal");
  EXPECT_GE(waited, std::chrono::milliseconds(1600));
  EXPECT_EQ(told, 1);
  EXPECT_EQ(told_path, path);
  EXPECT_EQ(told_holders, std::vector<int>{::getpid()});
  // Let go, the lock is taken at once, and no wait is told.
  told = 0;
  auto taken = SweepLock::Acquire(
      root_, SweepLock::Mode::kExclusive,
      [&](const fs::path&, const std::vector<int>&) { ++told; });
  EXPECT_TRUE(taken.ok());
  EXPECT_EQ(told, 0);
}

}  // namespace
}  // namespace lockstep::store
