// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "store/blob_store.h"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <fstream>

#include "core/files.h"

namespace lockstep::store {
namespace {

class BlobStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = *MakeTempDirectory(fs::temp_directory_path(), "blob-store-");
  }
  void TearDown() override { RemoveAllQuietly(root_); }

  void FlipFirstByte(const fs::path& path) {
    ::chmod(path.c_str(), 0644);
    std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
    char c;
    file.read(&c, 1);
    c ^= 0x01;
    file.seekp(0);
    file.write(&c, 1);
  }

  fs::path root_;
};

TEST_F(BlobStoreTest, PutBytesIsNamedBySha256) {
  BlobStore blobs(root_);
  auto digest = blobs.PutBytes("abc");
  ASSERT_TRUE(digest.ok());
  EXPECT_EQ(digest->hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_TRUE(blobs.Contains(*digest));
  EXPECT_EQ(*blobs.ReadVerified(*digest), "abc");
  EXPECT_EQ(*blobs.SizeOf(*digest), 3u);
}

// Bytes the store holds intact are not written again: the blob keeps
// its inode and no temp file is made (a re-run stores its pipeline file
// this way on every run).
TEST_F(BlobStoreTest, PutBytesOfHeldBytesWritesNothingNew) {
  BlobStore blobs(root_);
  Digest digest = *blobs.PutBytes("pipeline bytes");
  struct stat before;
  ASSERT_EQ(::stat(blobs.PathOf(digest).c_str(), &before), 0);
  fs::remove_all(root_ / "tmp");
  EXPECT_EQ(*blobs.PutBytes("pipeline bytes"), digest);
  struct stat after;
  ASSERT_EQ(::stat(blobs.PathOf(digest).c_str(), &after), 0);
  EXPECT_EQ(after.st_ino, before.st_ino);
  EXPECT_FALSE(fs::exists(root_ / "tmp"));
}

TEST_F(BlobStoreTest, CorruptBlobIsDetectedAndReplacedOnReuse) {
  BlobStore blobs(root_);
  Digest digest = *blobs.PutBytes("model bytes");
  FlipFirstByte(blobs.PathOf(digest));
  EXPECT_TRUE(blobs.Verify(digest).IsDataLoss());
  EXPECT_TRUE(blobs.ReadVerified(digest).status().IsDataLoss());

  ASSERT_TRUE(blobs.PutBytes("model bytes").ok());
  EXPECT_TRUE(blobs.Verify(digest).ok());
}

// A gc that began marking before a writer reused an old, unheld blob
// judges it by its mtime; reuse must make it look fresh, or the blob a
// run just recorded could be swept (found when gc tests flaked).
TEST_F(BlobStoreTest, ReuseRefreshesTheBlobsModificationTime) {
  BlobStore blobs(root_);
  Digest digest = *blobs.PutBytes("reused bytes");
  struct timespec long_ago[2] = {{1000000000, 0}, {1000000000, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, blobs.PathOf(digest).c_str(), long_ago, 0),
            0);

  ASSERT_TRUE(blobs.PutBytes("reused bytes").ok());
  struct stat info;
  ASSERT_EQ(::stat(blobs.PathOf(digest).c_str(), &info), 0);
  EXPECT_GT(info.st_mtim.tv_sec, 1000000000);
  EXPECT_FALSE(blobs.ReuseIfIntact(*Digest::Parse(
      "sha256:0000000000000000000000000000000000000000000000000000000000000000"
  )));
}

// ReuseIfIntact lists the shard folders once: a loose blob in a shard
// that existed then is found, one published later by another process
// into a new shard is not (the caller then only stores a duplicate).
TEST_F(BlobStoreTest, ReuseSeesLooseBlobsOfShardsThatExistedWhenFirstAsked) {
  BlobStore writer(root_);
  Digest early = *writer.PutBytes("early");
  BlobStore reader(root_);
  EXPECT_TRUE(reader.ReuseIfIntact(early));
  std::string late_bytes;
  Digest late;
  for (int i = 0;; ++i) {  // Bytes whose shard folder does not exist.
    late_bytes = "late " + std::to_string(i);
    late = Sha256Of(late_bytes);
    if (!fs::exists(writer.PathOf(late).parent_path())) break;
  }
  ASSERT_TRUE(writer.PutBytes(late_bytes).ok());
  EXPECT_FALSE(reader.ReuseIfIntact(late));
  EXPECT_TRUE(BlobStore(root_).ReuseIfIntact(late));
}

TEST_F(BlobStoreTest, WriterWithWrongExpectedDigestStoresNothing) {
  BlobStore blobs(root_);
  auto writer = *blobs.NewWriter();
  ASSERT_TRUE(writer->Append("hello").ok());
  Digest wrong = Sha256Of("other");
  auto result = writer->Commit(&wrong);
  EXPECT_TRUE(result.status().IsInvalidArgument());
  EXPECT_FALSE(blobs.Contains(Sha256Of("hello")));
  EXPECT_FALSE(blobs.Contains(wrong));
  writer.reset();
  EXPECT_TRUE(fs::is_empty(blobs.TempDirectory()));
}

TEST_F(BlobStoreTest, AbandonedWriterLeavesNoTempFile) {
  BlobStore blobs(root_);
  {
    auto writer = *blobs.NewWriter();
    ASSERT_TRUE(writer->Append("partial").ok());
  }
  EXPECT_TRUE(fs::is_empty(blobs.TempDirectory()));
  EXPECT_TRUE(blobs.List()->empty());
}

TEST_F(BlobStoreTest, PutFileAndCopyOutRoundTrip) {
  BlobStore blobs(root_);
  std::string bytes(5 * kHashChunkSize / 2, 'q');
  ASSERT_TRUE(WriteFileAtomically(root_ / "in", bytes).ok());
  Digest digest = *blobs.PutFile(root_ / "in");
  EXPECT_EQ(digest, Sha256Of(bytes));
  ASSERT_TRUE(blobs.CopyOut(digest, root_ / "out").ok());
  EXPECT_EQ(*ReadFile(root_ / "out"), bytes);
}

TEST_F(BlobStoreTest, CopyOutOfCorruptBlobCreatesNothing) {
  BlobStore blobs(root_);
  Digest digest = *blobs.PutBytes("data");
  FlipFirstByte(blobs.PathOf(digest));
  EXPECT_TRUE(blobs.CopyOut(digest, root_ / "out").IsDataLoss());
  EXPECT_FALSE(fs::exists(root_ / "out"));
}

TEST_F(BlobStoreTest, AdoptFileMovesIntoStore) {
  BlobStore blobs(root_);
  ASSERT_TRUE(WriteFileAtomically(root_ / "output", "trained").ok());
  Digest digest = *blobs.AdoptFile(root_ / "output");
  EXPECT_EQ(digest, Sha256Of("trained"));
  EXPECT_FALSE(fs::exists(root_ / "output"));
  EXPECT_TRUE(blobs.Verify(digest).ok());
}

}  // namespace
}  // namespace lockstep::store
