// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "data/stat_cache.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace lockstep::data
