// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "store/space_reserve.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "core/files.h"
#include "store/location.h"

namespace lockstep::store {
namespace {

namespace fs = std::filesystem;

// What the file system really set aside for `path`, in bytes.
uint64_t AllocatedBytes(const fs::path& path) {
  struct stat info;
  if (::stat(path.c_str(), &info) != 0) return 0;
  return static_cast<uint64_t>(info.st_blocks) * 512;
}

TEST(SpaceReserveTest, ANewStoreHoldsItsReserveAllocated) {
  fs::path root = *MakeTempDirectory(fs::temp_directory_path(), "reserve-");
  ASSERT_TRUE(InitializeStoreLayout(root).ok());

  fs::path reserve = root / kSpaceReserveFile;
  EXPECT_EQ(fs::file_size(reserve), uint64_t{1} << 20);
  EXPECT_GE(AllocatedBytes(reserve), uint64_t{1} << 20);
  EXPECT_TRUE(fs::is_empty(root / "tmp"));  // No temporary left behind.
  RemoveAllQuietly(root);
}

// With room on the disk the reserve stays; once gone it comes back.
// (Its release on a full disk is tests/e2e/gc_full_disk_test.sh's.)
TEST(SpaceReserveTest, StaysWhileThereIsRoomAndIsMadeAgain) {
  fs::path root = *MakeTempDirectory(fs::temp_directory_path(), "reserve-");
  ASSERT_TRUE(InitializeStoreLayout(root).ok());
  fs::path reserve = root / kSpaceReserveFile;

  EXPECT_FALSE(ReleaseSpaceReserveIfLow(root));
  EXPECT_TRUE(fs::exists(reserve));
  fs::remove(reserve);
  ASSERT_TRUE(RefillSpaceReserve(root).ok());
  EXPECT_EQ(fs::file_size(reserve), kSpaceReserveBytes);
  ASSERT_TRUE(RefillSpaceReserve(root).ok());  // Already there.
  EXPECT_EQ(fs::file_size(reserve), kSpaceReserveBytes);
  RemoveAllQuietly(root);
}

}  // namespace
}  // namespace lockstep::store
