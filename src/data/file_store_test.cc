// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "data/file_store.h"

#include <gtest/gtest.h>

#include <random>

#include "core/files.h"
#include "data/test_util.h"

namespace lockstep::data {
namespace {

using testing::Sha256Sum;
using testing::WriteBytes;

class FileStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = *MakeTempDirectory(fs::temp_directory_path(), "file-store-");
  }
  void TearDown() override { RemoveAllQuietly(root_); }

  // 1 MiB + 3 bytes of pseudo-random data: crosses every chunk size tried.
  fs::path RandomFile() {
    std::mt19937 random(42);
    std::string bytes((1 << 20) + 3, '\0');
    for (char& c : bytes) c = static_cast<char>(random());
    fs::path path = root_ / "random.bin";
    WriteBytes(path, bytes);
    return path;
  }

  fs::path root_;
};

TEST_F(FileStoreTest, StreamedDigestEqualsSha256sumForEveryChunkSize) {
  fs::path path = RandomFile();
  std::string expected = Sha256Sum(path);
  for (size_t chunk : {size_t{1}, size_t{4095}, size_t{65536},
                       size_t{1} << 20}) {
    size_t chunks = 0;
    auto hashed = HashFile(path, chunk, [&](std::string_view) {
      ++chunks;
      return Status::Ok();
    });
    ASSERT_TRUE(hashed.ok()) << hashed.status().ToString();
    EXPECT_EQ(hashed->digest.ToString(), expected) << "chunk size " << chunk;
    EXPECT_EQ(hashed->size, (1u << 20) + 3);
    EXPECT_EQ(chunks, ((1u << 20) + 3 + chunk - 1) / chunk);
  }
}

TEST_F(FileStoreTest, LargeFileIsStoredByteForByteInOneRead) {
  fs::path path = RandomFile();
  store::BlobStore blobs(root_ / "store");
  uint64_t visited = 0;
  auto stored = StoreLargeFile(&blobs, path, [&](std::string_view chunk) {
    visited += chunk.size();
    return Status::Ok();
  });
  ASSERT_TRUE(stored.ok()) << stored.status().ToString();
  EXPECT_EQ(stored->digest.ToString(), Sha256Sum(path));
  EXPECT_EQ(visited, stored->size);
  EXPECT_EQ(Sha256Sum(blobs.PathOf(stored->digest)), Sha256Sum(path));
  EXPECT_TRUE(fs::is_empty(blobs.TempDirectory()));
}

TEST_F(FileStoreTest, SmallFileStoresAndNoticesAChangedSize) {
  store::BlobStore blobs(root_ / "store");
  WriteBytes(root_ / "small.txt", "hello\n");
  auto stored = StoreSmallFile(&blobs, root_ / "small.txt", 6);
  ASSERT_TRUE(stored.ok()) << stored.status().ToString();
  // sha256sum of "hello\n".
  EXPECT_EQ(stored->digest.hex(),
            "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03");
  ASSERT_TRUE(SyncStore(blobs).ok());
  EXPECT_TRUE(blobs.Verify(stored->digest).ok());

  EXPECT_TRUE(StoreSmallFile(&blobs, root_ / "small.txt", 5)
                  .status()
                  .IsAborted());
}

TEST_F(FileStoreTest, AVisitorErrorStopsTheStoreAndLeavesNoBlob) {
  fs::path path = RandomFile();
  store::BlobStore blobs(root_ / "store");
  auto stored = StoreLargeFile(&blobs, path, [](std::string_view) {
    return Status::InvalidArgument("bad record");
  });
  EXPECT_TRUE(stored.status().IsInvalidArgument());
  EXPECT_TRUE(blobs.List()->empty());
}

}  // namespace
}  // namespace lockstep::data
