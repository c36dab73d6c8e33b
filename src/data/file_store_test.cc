// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "data/file_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
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

// Sizes around the copy thread's 4 MiB direct writes: whole slots only,
// a tail of one byte, a tail shorter than a disk block, and a file
// smaller than one block. The stored bytes must equal the source (cmp)
// and both must hash as sha256sum says.
TEST_F(FileStoreTest, ConcurrentCopyStoresExactBytesAtEverySize) {
  std::mt19937 random(7);
  for (size_t size : {size_t{8} << 20, (size_t{8} << 20) + 1,
                      (size_t{9} << 20) + 4097, size_t{100}}) {
    std::string bytes(size, '\0');
    for (char& c : bytes) c = static_cast<char>(random());
    fs::path path = root_ / ("source-" + std::to_string(size));
    WriteBytes(path, bytes);
    store::BlobStore blobs(root_ / ("store-" + std::to_string(size)));
    auto stored = StoreLargeFile(&blobs, path);
    ASSERT_TRUE(stored.ok()) << stored.status().ToString();
    EXPECT_EQ(stored->digest.ToString(), Sha256Sum(path)) << size;
    EXPECT_EQ(stored->size, size);
    fs::path blob = blobs.PathOf(stored->digest);
    EXPECT_EQ(fs::file_size(blob), size);
    EXPECT_EQ(testing::Shell("cmp '" + path.string() + "' '" +
                             blob.string() + "' && echo same"),
              "same")
        << size;
    EXPECT_TRUE(fs::is_empty(blobs.TempDirectory()));
  }
}

TEST_F(FileStoreTest, SmallFilesAreInvisibleUntilPublished) {
  store::BlobStore blobs(root_ / "store");
  WriteBytes(root_ / "small.txt", "hello\n");
  WriteBytes(root_ / "same.txt", "hello\n");
  WriteBytes(root_ / "crlf.txt", "hello\r\n");
  SmallFileBatch batch(&blobs);
  auto stored = batch.Add(root_ / "small.txt", 6);
  ASSERT_TRUE(stored.ok()) << stored.status().ToString();
  // sha256sum of "hello\n".
  EXPECT_EQ(stored->digest.hex(),
            "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03");
  EXPECT_EQ(stored->size, 6u);
  auto same = batch.Add(root_ / "same.txt", 6);
  auto crlf = batch.Add(root_ / "crlf.txt", 7);
  ASSERT_TRUE(same.ok() && crlf.ok());
  EXPECT_EQ(same->digest, stored->digest);
  EXPECT_EQ(crlf->digest.ToString(), Sha256Sum(root_ / "crlf.txt"));

  // Nothing is a blob before Publish; identical content waits once.
  EXPECT_TRUE(blobs.List()->empty());
  EXPECT_EQ(batch.pending(), 2u);
  ASSERT_TRUE(batch.Publish().ok());
  EXPECT_EQ(blobs.List()->size(), 2u);
  EXPECT_TRUE(blobs.Verify(stored->digest).ok());
  EXPECT_TRUE(blobs.Verify(crlf->digest).ok());

  EXPECT_TRUE(batch.Add(root_ / "small.txt", 5).status().IsAborted());
}

TEST_F(FileStoreTest, FilesUnderTheRootAreReadRelativeToIt) {
  store::BlobStore blobs(root_ / "store");
  fs::create_directories(root_ / "tree" / "sub");
  fs::create_directories(root_ / "elsewhere");
  WriteBytes(root_ / "tree" / "sub" / "in.txt", "inside\n");
  WriteBytes(root_ / "elsewhere" / "out.txt", "outside\n");
  SmallFileBatch batch(&blobs);
  batch.OpenRelativeTo(root_ / "tree");
  auto inside = batch.Add(root_ / "tree" / "sub" / "in.txt", 7);
  auto outside = batch.Add(root_ / "elsewhere" / "out.txt", 8);
  ASSERT_TRUE(inside.ok() && outside.ok());
  EXPECT_EQ(inside->digest, Sha256Of("inside\n"));
  EXPECT_EQ(outside->digest, Sha256Of("outside\n"));
  EXPECT_TRUE(batch.Add(root_ / "tree" / "missing", 1).status().IsNotFound());
}

// Found by a tester: a folder on a file's path swapped for a link to
// elsewhere was followed, and a file swapped for a FIFO hung the read.
TEST_F(FileStoreTest, ALinkOnThePathOrAFifoIsRefusedAsAChange) {
  store::BlobStore blobs(root_ / "store");
  WriteBytes(root_ / "secret" / "f", "secret\n");
  fs::create_directories(root_ / "tree");
  fs::create_directory_symlink("../secret", root_ / "tree" / "sub");
  ASSERT_EQ(::mkfifo((root_ / "tree" / "fifo").c_str(), 0644), 0);
  SmallFileBatch batch(&blobs);
  batch.OpenRelativeTo(root_ / "tree");

  std::string linked = (root_ / "tree" / "sub" / "f").string();
  auto through_link = batch.Add(linked, 7);
  ASSERT_FALSE(through_link.ok());
  EXPECT_EQ(through_link.status().message(),
            linked + " changed while being snapshotted: a link is now on "
                     "its path");
  std::string fifo = (root_ / "tree" / "fifo").string();
  for (bool statted : {true, false}) {
    struct stat info;
    Status status = statted ? batch.Add(fifo, 0).status()
                            : batch.AddUnstatted(fifo, &info).status();
    EXPECT_TRUE(status.IsAborted());
    EXPECT_EQ(status.message(),
              fifo + " changed while being read: no longer a regular file");
  }
}

TEST_F(FileStoreTest, AnUnpublishedBatchLeavesNothingBehind) {
  store::BlobStore blobs(root_ / "store");
  WriteBytes(root_ / "a.txt", "abc");
  {
    SmallFileBatch batch(&blobs);
    ASSERT_TRUE(batch.Add(root_ / "a.txt", 3).ok());
    EXPECT_EQ(batch.pending(), 1u);
  }
  EXPECT_TRUE(blobs.List()->empty());
  EXPECT_TRUE(fs::is_empty(blobs.TempDirectory()));
}

TEST_F(FileStoreTest, ACorruptBlobIsReplacedOnPublish) {
  // Above kPackedFileLimit: a loose blob, rewritten in place.
  store::BlobStore blobs(root_ / "store");
  std::string bytes(kPackedFileLimit + 1, 'a');
  WriteBytes(root_ / "a.txt", bytes);
  SmallFileBatch first(&blobs);
  Digest digest = first.Add(root_ / "a.txt", bytes.size())->digest;
  ASSERT_TRUE(first.Publish().ok());
  fs::permissions(blobs.PathOf(digest), fs::perms::owner_write,
                  fs::perm_options::add);
  WriteBytes(blobs.PathOf(digest), "abd");
  ASSERT_TRUE(blobs.Verify(digest).IsDataLoss());

  SmallFileBatch second(&blobs);
  ASSERT_TRUE(second.Add(root_ / "a.txt", bytes.size()).ok());
  EXPECT_EQ(second.pending(), 1u);
  ASSERT_TRUE(second.Publish().ok());
  EXPECT_TRUE(blobs.Verify(digest).ok());
}

TEST_F(FileStoreTest, ACorruptPackedBlobIsPackedAgainAndReadFromThere) {
  store::BlobStore blobs(root_ / "store");
  WriteBytes(root_ / "a.txt", "abc");
  SmallFileBatch first(&blobs);
  Digest digest = first.Add(root_ / "a.txt", 3)->digest;
  ASSERT_TRUE(first.Publish().ok());
  store::BlobStore::Location where = *blobs.Locate(digest);
  ASSERT_TRUE(where.packed);
  EXPECT_FALSE(fs::exists(blobs.PathOf(digest)));
  fs::permissions(where.file, fs::perms::owner_write, fs::perm_options::add);
  {
    std::fstream pack(where.file, std::ios::in | std::ios::out);
    pack.seekp(static_cast<std::streamoff>(where.offset));
    pack.put('x');
  }
  ASSERT_TRUE(store::BlobStore(root_ / "store").Verify(digest).IsDataLoss());

  SmallFileBatch second(&blobs);
  ASSERT_TRUE(second.Add(root_ / "a.txt", 3).ok());
  EXPECT_EQ(second.pending(), 1u);
  ASSERT_TRUE(second.Publish().ok());
  store::BlobStore fresh(root_ / "store");
  EXPECT_TRUE(fresh.Verify(digest).ok());
  EXPECT_EQ(*fresh.ReadVerified(digest), "abc");
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
