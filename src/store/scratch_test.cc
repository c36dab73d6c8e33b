// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "store/scratch.h"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <fstream>
#include <map>

#include "core/files.h"

namespace lockstep::store {
namespace {

namespace fs = std::filesystem;

// Sets the modification time of `path` (not following links).
void SetMtimeSeconds(const fs::path& path, time_t seconds) {
  struct timespec times[2] = {{seconds, 0}, {seconds, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW),
            0);
}

void WriteBytes(const fs::path& path, size_t count) {
  std::ofstream(path) << std::string(count, 'x');
}

class ScratchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = *MakeTempDirectory(fs::temp_directory_path(), "scratch-");
  }
  void TearDown() override { RemoveAllQuietly(root_); }

  fs::path root_;
};

TEST_F(ScratchTest, NewestModificationLooksInsideFolders) {
  fs::create_directories(root_ / "a" / "b");
  WriteBytes(root_ / "a" / "b" / "f", 1);
  SetMtimeSeconds(root_ / "a", 1000);
  SetMtimeSeconds(root_ / "a" / "b", 2000);
  SetMtimeSeconds(root_ / "a" / "b" / "f", 3000);

  EXPECT_EQ(NewestModificationMillis(root_ / "a"), 3000 * 1000);
  EXPECT_EQ(NewestModificationMillis(root_ / "missing"), std::nullopt);
}

TEST_F(ScratchTest, SweepsOnlyOldUnclaimedEntries) {
  WriteBytes(root_ / "old-file", 10);
  fs::create_directories(root_ / "old-folder" / "sub");
  WriteBytes(root_ / "old-folder" / "sub" / "f", 7);
  fs::create_directories(root_ / "fresh-inside" / "sub");
  WriteBytes(root_ / "fresh-inside" / "sub" / "f", 1);
  WriteBytes(root_ / "claimed", 1);
  for (const char* name : {"old-file", "old-folder", "old-folder/sub",
                           "old-folder/sub/f", "fresh-inside",
                           "fresh-inside/sub", "claimed"}) {
    SetMtimeSeconds(root_ / name, 1000);
  }
  // Only the deepest file of this folder is recent: it is in use.
  SetMtimeSeconds(root_ / "fresh-inside" / "sub" / "f", 5000);
  auto claimed = [](const std::string& name) { return name == "claimed"; };

  auto listed = SweepStaleScratch(root_, 2000 * 1000, claimed, true);
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_TRUE(fs::exists(root_ / "old-file"));  // A dry run removes nothing.

  auto swept = SweepStaleScratch(root_, 2000 * 1000, claimed, false);
  ASSERT_TRUE(swept.ok()) << swept.status().ToString();
  std::map<std::string, uint64_t> bytes;
  for (const ScratchEntry& entry : *swept) {
    bytes[entry.path.filename().string()] = entry.bytes;
  }
  EXPECT_EQ(bytes, (std::map<std::string, uint64_t>{{"old-file", 10},
                                                    {"old-folder", 7}}));
  EXPECT_FALSE(fs::exists(root_ / "old-file"));
  EXPECT_FALSE(fs::exists(root_ / "old-folder"));
  EXPECT_TRUE(fs::exists(root_ / "fresh-inside" / "sub" / "f"));
  EXPECT_TRUE(fs::exists(root_ / "claimed"));
}

TEST_F(ScratchTest, ReadOnlyLeftoversAreRemovedToo) {
  fs::create_directories(root_ / "outputs");
  WriteBytes(root_ / "outputs" / "model", 3);
  ::chmod((root_ / "outputs").c_str(), 0555);
  SetMtimeSeconds(root_ / "outputs" / "model", 1000);
  SetMtimeSeconds(root_ / "outputs", 1000);

  auto swept = SweepStaleScratch(root_, 2000 * 1000, nullptr, false);

  ASSERT_TRUE(swept.ok()) << swept.status().ToString();
  EXPECT_EQ(swept->size(), 1u);
  EXPECT_FALSE(fs::exists(root_ / "outputs"));
}

TEST_F(ScratchTest, MissingFolderHasNothingToSweep) {
  auto swept = SweepStaleScratch(root_ / "nope", 0, nullptr, false);
  ASSERT_TRUE(swept.ok());
  EXPECT_TRUE(swept->empty());
}

TEST_F(ScratchTest, FileClockIsNeverAheadOfTheFineClock) {
  int64_t stamped = FileClockNowMillis(root_);
  EXPECT_GT(stamped, 1'700'000'000'000);  // After November 2023.
  EXPECT_TRUE(fs::is_empty(root_));        // Its probe file is gone.
}

}  // namespace
}  // namespace lockstep::store
