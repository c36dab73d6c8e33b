// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "data/stat_cache.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "core/files.h"

namespace lockstep::data {
namespace {

constexpr int64_t kSecond = 1'000'000'000;

StatKey Key(int64_t mtime_ns) {
  StatKey key;
  key.device = 1;
  key.inode = 2;
  key.size = 3;
  key.mtime_ns = mtime_ns;
  key.ctime_ns = mtime_ns;
  return key;
}

Digest Some() {
  return Digest::FromHex(std::string(64, 'a'));
}

TEST(StatCacheTest, TrustsOnlyMatchingEntriesHashedWellAfterTheirMtime) {
  StatCache cache;
  int64_t mtime = 1000 * kSecond;
  cache.Put("/old", Key(mtime), mtime + 5 * kSecond, Some());
  cache.Put("/racy", Key(mtime), mtime + kSecond, Some());

  EXPECT_EQ(cache.Lookup("/old", Key(mtime)), Some());
  EXPECT_EQ(cache.Lookup("/racy", Key(mtime)), std::nullopt);
  EXPECT_EQ(cache.Lookup("/old", Key(mtime + 1)), std::nullopt);
  StatKey other_inode = Key(mtime);
  other_inode.inode = 9;
  EXPECT_EQ(cache.Lookup("/old", other_inode), std::nullopt);
  EXPECT_EQ(cache.Lookup("/missing", Key(mtime)), std::nullopt);
}

TEST(StatCacheTest, SavesAndLoadsAtomicallyAndIgnoresGarbage) {
  fs::path root = *MakeTempDirectory(fs::temp_directory_path(), "statc-");
  fs::path file = root / "cache" / "stat";
  StatCache cache = StatCache::Load(file);
  EXPECT_EQ(cache.size(), 0u);
  cache.Put("/a b/\xff", Key(kSecond), 10 * kSecond, Some());
  ASSERT_TRUE(cache.Save().ok());

  StatCache loaded = StatCache::Load(file);
  EXPECT_EQ(loaded.Lookup("/a b/\xff", Key(kSecond)), Some());

  ASSERT_TRUE(WriteFileAtomically(file, "not a cache").ok());
  EXPECT_EQ(StatCache::Load(file).size(), 0u);
  RemoveAllQuietly(root);
}

Digest Other() {
  return Digest::FromHex(std::string(64, 'b'));
}

// One entry in the file's layout (see stat_cache.cc), for hand-made files.
std::string RawEntry(const std::string& path, int64_t mtime,
                     int64_t hashed_at, char digest_byte) {
  std::string out;
  auto put = [&out](auto value) {
    out.append(reinterpret_cast<const char*>(&value), sizeof(value));
  };
  put(static_cast<uint32_t>(path.size()));
  out += path;
  StatKey key = Key(mtime);
  put(key.device);
  put(key.inode);
  put(key.size);
  put(key.mtime_ns);
  put(key.ctime_ns);
  put(hashed_at);
  out += std::string(32, digest_byte);
  return out;
}

// Paths in the order the file holds them.
std::vector<std::string> PathsInFile(const fs::path& file) {
  std::string bytes = *ReadFile(file);
  std::vector<std::string> paths;
  size_t at = std::string_view("lockstep-stat-cache-v1\n").size();
  while (at + 4 <= bytes.size()) {
    uint32_t length;
    std::memcpy(&length, bytes.data() + at, 4);
    paths.push_back(bytes.substr(at + 4, length));
    at += 4 + length + 6 * 8 + 32;
  }
  return paths;
}

// A file written unsorted (as versions before the sorted layout did),
// with one path twice: the later entry wins, and Save writes the merged
// entries sorted by their bytes.
TEST(StatCacheTest, ReadsUnsortedFilesAndSavesSorted) {
  fs::path root = *MakeTempDirectory(fs::temp_directory_path(), "statc-");
  fs::path file = root / "stat";
  int64_t mtime = kSecond;
  std::string old_file = "lockstep-stat-cache-v1\n";
  old_file += RawEntry("/z", mtime, 10 * kSecond, '\xaa');
  old_file += RawEntry("/\xff", mtime, 10 * kSecond, '\xaa');
  old_file += RawEntry("/a", mtime, 10 * kSecond, '\x01');
  old_file += RawEntry("/a", mtime, 10 * kSecond, '\xaa');
  ASSERT_TRUE(WriteFileAtomically(file, old_file).ok());

  StatCache cache = StatCache::Load(file);
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_EQ(cache.Lookup("/a", Key(mtime)), Some());
  EXPECT_EQ(cache.Lookup("/z", Key(mtime)), Some());
  EXPECT_EQ(cache.Lookup("/\xff", Key(mtime)), Some());

  cache.Put("/m", Key(mtime), 10 * kSecond, Other());
  cache.Put("/z", Key(mtime), 10 * kSecond, Other());
  EXPECT_EQ(cache.size(), 4u);
  ASSERT_TRUE(cache.Save().ok());
  EXPECT_EQ(PathsInFile(file),
            (std::vector<std::string>{"/a", "/m", "/z", "/\xff"}));

  StatCache loaded = StatCache::Load(file);
  EXPECT_EQ(loaded.size(), 4u);
  // In-order lookups with a cursor, skipping entries and missing some.
  size_t cursor = 0;
  EXPECT_EQ(loaded.Lookup("/0", Key(mtime), &cursor), std::nullopt);
  EXPECT_EQ(loaded.Lookup("/a", Key(mtime), &cursor), Some());
  EXPECT_EQ(loaded.Lookup("/b", Key(mtime), &cursor), std::nullopt);
  EXPECT_EQ(loaded.Lookup("/z", Key(mtime), &cursor), Other());
  EXPECT_EQ(loaded.Lookup("/\xff", Key(mtime), &cursor), Some());
  EXPECT_EQ(loaded.Lookup("/\xff\xff", Key(mtime), &cursor), std::nullopt);
  EXPECT_EQ(loaded.Lookup("/a", Key(mtime)), Some());
  EXPECT_EQ(loaded.Lookup("/m", Key(mtime)), Other());
  EXPECT_EQ(loaded.Lookup("/z", Key(mtime)), Other());
  EXPECT_EQ(loaded.Lookup("/y", Key(mtime)), std::nullopt);
  RemoveAllQuietly(root);
}

// Putting what the file already holds changes nothing, so nothing is
// written (an unchanged folder does not rewrite the cache).
TEST(StatCacheTest, UnchangedEntriesAreNotRewritten) {
  fs::path root = *MakeTempDirectory(fs::temp_directory_path(), "statc-");
  fs::path file = root / "stat";
  StatCache cache = StatCache::Load(file);
  cache.Put("/a", Key(kSecond), 10 * kSecond, Some());
  ASSERT_TRUE(cache.Save().ok());
  struct stat before;
  ASSERT_EQ(::stat(file.c_str(), &before), 0);

  StatCache again = StatCache::Load(file);
  again.Put("/a", Key(kSecond), 10 * kSecond, Some());
  ::unlink(file.c_str());
  ASSERT_TRUE(again.Save().ok());
  EXPECT_FALSE(fs::exists(file));
  RemoveAllQuietly(root);
}

// Puts out of path order (a pipeline's files, hashed as met): the last
// Put of a path wins in lookups, in HoldsAnyUnder and in the saved file.
TEST(StatCacheTest, PutsOutOfOrderKeepTheLastOfEachPath) {
  fs::path root = *MakeTempDirectory(fs::temp_directory_path(), "statc-");
  fs::path file = root / "stat";
  int64_t mtime = kSecond;
  StatCache cache = StatCache::Load(file);
  cache.Put("/d/b", Key(mtime), 10 * kSecond, Some());
  cache.Put("/d/a", Key(mtime), 10 * kSecond, Some());
  cache.Put("/d/b", Key(mtime), 10 * kSecond, Other());
  cache.Put("/c", Key(mtime), 10 * kSecond, Other());

  EXPECT_EQ(cache.Lookup("/d/b", Key(mtime)), Other());
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_TRUE(cache.HoldsAnyUnder("/d/"));
  EXPECT_FALSE(cache.HoldsAnyUnder("/e/"));
  ASSERT_TRUE(cache.Save().ok());

  StatCache loaded = StatCache::Load(file);
  EXPECT_EQ(loaded.size(), 3u);
  size_t cursor = 0;  // The saved file is sorted: one run of lookups.
  EXPECT_EQ(loaded.Lookup("/c", Key(mtime), &cursor), Other());
  EXPECT_EQ(loaded.Lookup("/d/a", Key(mtime), &cursor), Some());
  EXPECT_EQ(loaded.Lookup("/d/b", Key(mtime), &cursor), Other());
  RemoveAllQuietly(root);
}

}  // namespace
}  // namespace lockstep::data
