// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "store/pack.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include "core/files.h"
#include "store/blob_store.h"
#include "store/scratch.h"

namespace lockstep::store {
namespace {

class PackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = *MakeTempDirectory(fs::temp_directory_path(), "pack-");
  }
  void TearDown() override { RemoveAllQuietly(root_); }

  // Packs `blobs` into `store`, in packs of `target` bytes.
  void Pack(BlobStore* store, const std::vector<std::string>& blobs,
            uint64_t target = kPackTargetBytes) {
    PackWriter writer(store, target);
    for (const std::string& bytes : blobs) {
      ASSERT_TRUE(writer.Add(Sha256Of(bytes), bytes).ok());
    }
    ASSERT_TRUE(writer.Finish().ok());
  }

  std::vector<fs::path> PackFiles() {
    std::vector<fs::path> files;
    std::error_code error;
    for (auto& entry : fs::directory_iterator(root_ / "packs", error)) {
      files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
    return files;
  }

  // Flips one bit of the byte at `offset` of `path`.
  void FlipByte(const fs::path& path, uint64_t offset) {
    ::chmod(path.c_str(), 0644);
    std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
    file.seekg(static_cast<std::streamoff>(offset));
    char c;
    file.read(&c, 1);
    c ^= 0x01;
    file.seekp(static_cast<std::streamoff>(offset));
    file.write(&c, 1);
  }

  fs::path root_;
};

TEST_F(PackTest, PackedBlobsReadBackVerifiedFromAFreshStore) {
  {
    BlobStore writer(root_);
    Pack(&writer, {"alpha", "bravo", "", "charlie"});
  }
  BlobStore blobs(root_);  // Sees the pack only through the folder.
  ASSERT_EQ(PackFiles().size(), 1u);
  for (std::string bytes : {"alpha", "bravo", "", "charlie"}) {
    Digest digest = Sha256Of(bytes);
    EXPECT_TRUE(blobs.Contains(digest)) << bytes;
    EXPECT_FALSE(fs::exists(blobs.PathOf(digest))) << "no loose file";
    EXPECT_EQ(*blobs.SizeOf(digest), bytes.size());
    EXPECT_EQ(*blobs.ReadVerified(digest), bytes);
    EXPECT_TRUE(blobs.Verify(digest).ok());
    EXPECT_TRUE(blobs.Locate(digest)->packed);
  }
  EXPECT_EQ(*blobs.ReadPrefix(Sha256Of("charlie"), 4), "char");
  ASSERT_TRUE(blobs.CopyOut(Sha256Of("bravo"), root_ / "out").ok());
  EXPECT_EQ(*ReadFile(root_ / "out"), "bravo");
  EXPECT_EQ(blobs.List()->size(), 4u);
  EXPECT_TRUE(blobs.ListLoose()->empty());
  EXPECT_FALSE(blobs.Contains(Sha256Of("delta")));
}

TEST_F(PackTest, FileLayoutIsDataIndexFooterNamedByTheIndexHash) {
  BlobStore blobs(root_);
  Pack(&blobs, {"bb", "a"});
  std::vector<fs::path> files = PackFiles();
  ASSERT_EQ(files.size(), 1u);
  std::string bytes = *ReadFile(files[0]);
  // 3 data bytes, 2 entries of 48 bytes, a 64-byte footer.
  ASSERT_EQ(bytes.size(), 3u + 2 * 48 + 64);
  EXPECT_EQ(bytes.substr(0, 3), "bba");
  std::string index = bytes.substr(3, 96);
  EXPECT_EQ(files[0].filename().string(), Sha256Of(index).hex() + ".pack");
  EXPECT_EQ(bytes.substr(99, 16), "lockstep-pack-v1");
  // The entries are sorted by digest: sha256("a") = ca97..., "bb" = 3b64...
  EXPECT_EQ(FromRaw(*reinterpret_cast<const RawDigest*>(index.data())),
            Sha256Of("bb"));
  Result<PackIndex> read = ReadPackIndex(files[0]);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  ASSERT_EQ(read->entries.size(), 2u);
  EXPECT_EQ(read->entries[0].offset, 0u);
  EXPECT_EQ(read->entries[0].length, 2u);
  EXPECT_EQ(read->entries[1].offset, 2u);
  EXPECT_EQ(read->entries[1].length, 1u);
}

TEST_F(PackTest, AFullPackIsPublishedAndANewOneStarted) {
  BlobStore blobs(root_);
  Pack(&blobs, {"0123456789", "abcdefghij", "klmnopqrst"}, 15);
  EXPECT_EQ(PackFiles().size(), 3u);
  EXPECT_EQ(*BlobStore(root_).ReadVerified(Sha256Of("abcdefghij")),
            "abcdefghij");
}

TEST_F(PackTest, ACorruptByteIsDataLossNamingThePack) {
  BlobStore blobs(root_);
  Pack(&blobs, {"first blob", "second blob"});
  fs::path pack = PackFiles().at(0);
  Digest second = Sha256Of("second blob");
  uint64_t offset = blobs.Locate(second)->offset;
  FlipByte(pack, offset + 3);

  BlobStore fresh(root_);
  Status verify = fresh.Verify(second);
  EXPECT_TRUE(verify.IsDataLoss()) << verify.ToString();
  EXPECT_NE(verify.message().find(pack.filename().string()),
            std::string::npos) << verify.message();
  EXPECT_TRUE(fresh.ReadVerified(second).status().IsDataLoss());
  EXPECT_TRUE(fresh.CopyOut(second, root_ / "out").IsDataLoss());
  EXPECT_FALSE(fs::exists(root_ / "out"));
  EXPECT_FALSE(fresh.ReuseIfIntact(second));
  EXPECT_TRUE(fresh.Verify(Sha256Of("first blob")).ok());
}

TEST_F(PackTest, ACorruptIndexIsRefusedAndItsBlobsReadAsMissing) {
  BlobStore blobs(root_);
  Pack(&blobs, {"x"});
  fs::path pack = PackFiles().at(0);
  FlipByte(pack, 1 + 5);  // Inside the index's first digest.
  EXPECT_TRUE(ReadPackIndex(pack).status().IsDataLoss());
  EXPECT_FALSE(BlobStore(root_).Contains(Sha256Of("x")));
  std::vector<std::string> problems;
  EXPECT_TRUE(BlobStore(root_).ListPacks(&problems)->empty());
  EXPECT_EQ(problems.size(), 1u);
}

TEST_F(PackTest, AKilledWriterLeavesNothingVisible) {
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // Dies mid-pack: no destructor runs, as after a SIGKILL.
    BlobStore blobs(root_);
    PackWriter writer(&blobs);
    Status added = writer.Add(Sha256Of("orphan"), "orphan");
    ::_exit(added.ok() ? 0 : 1);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_EQ(WEXITSTATUS(status), 0);

  BlobStore blobs(root_);
  EXPECT_FALSE(blobs.Contains(Sha256Of("orphan")));
  EXPECT_TRUE(PackFiles().empty());
  EXPECT_TRUE(blobs.List()->empty());
  // Only a temp file is left, which the scratch sweep removes.
  auto swept = SweepStaleScratch(blobs.TempDirectory(), INT64_MAX, nullptr,
                                 false);
  ASSERT_TRUE(swept.ok());
  ASSERT_EQ(swept->size(), 1u);
  EXPECT_EQ((*swept)[0].path.filename().string().substr(0, 5), "pack-");
}

TEST_F(PackTest, AStoreSeesPacksOtherWritersPublishLater) {
  BlobStore reader(root_);
  EXPECT_FALSE(reader.Contains(Sha256Of("late")));  // Scans: no packs.
  BlobStore writer(root_);
  Pack(&writer, {"late"});
  EXPECT_TRUE(reader.Contains(Sha256Of("late")));
  EXPECT_EQ(*reader.ReadVerified(Sha256Of("late")), "late");
}

TEST_F(PackTest, PutKeepsALooseFileEvenWhenTheBytesArePacked) {
  BlobStore blobs(root_);
  Pack(&blobs, {"shared"});
  Digest digest = *blobs.PutBytes("shared");
  EXPECT_TRUE(fs::exists(blobs.PathOf(digest)));
}

TEST_F(PackTest, EnsureLooseGivesAPackedBlobAFile) {
  BlobStore blobs(root_);
  Pack(&blobs, {"layer"});
  Digest digest = Sha256Of("layer");
  ASSERT_TRUE(blobs.EnsureLoose(digest).ok());
  EXPECT_EQ(*ReadFile(blobs.PathOf(digest)), "layer");
}

TEST_F(PackTest, RepeatedBlobsAreIndexedOnce) {
  BlobStore blobs(root_);
  Pack(&blobs, {"same", "same", "other"});
  Result<PackIndex> index = ReadPackIndex(PackFiles().at(0));
  ASSERT_TRUE(index.ok());
  EXPECT_EQ(index->entries.size(), 2u);
  EXPECT_EQ(*BlobStore(root_).ReadVerified(Sha256Of("same")), "same");
}

TEST_F(PackTest, RemovePackForgetsItsBlobs) {
  BlobStore blobs(root_);
  Pack(&blobs, {"gone"});
  ASSERT_TRUE(blobs.Contains(Sha256Of("gone")));
  ASSERT_TRUE(blobs.RemovePack(PackFiles().at(0)).ok());
  EXPECT_FALSE(blobs.Contains(Sha256Of("gone")));
}

TEST_F(PackTest, EncodePackGivesTheBytesAWriterWrites) {
  BlobStore blobs(root_);
  Pack(&blobs, {"bb", "a", "bb"});
  std::string written = *ReadFile(PackFiles().at(0));
  std::string encoded = EncodePack({{Sha256Of("bb"), "bb"},
                                    {Sha256Of("a"), "a"},
                                    {Sha256Of("bb"), "bb"}});
  EXPECT_EQ(encoded, written);
  // 5 data bytes, 2 entries (the repeat is indexed once), the footer.
  EXPECT_EQ(encoded.size(), 5u + 2 * 48 + 64);
}

TEST_F(PackTest, DecodePackReadsEntriesAndRefusesDamage) {
  std::string pack = EncodePack({{Sha256Of("bb"), "bb"},
                                 {Sha256Of("a"), "a"}});
  Result<std::vector<PackEntry>> entries = DecodePack(pack, "bundle");
  ASSERT_TRUE(entries.ok()) << entries.status().ToString();
  ASSERT_EQ(entries->size(), 2u);
  EXPECT_EQ(FromRaw((*entries)[0].digest), Sha256Of("bb"));
  EXPECT_EQ((*entries)[0].offset, 0u);
  EXPECT_EQ((*entries)[1].offset, 2u);
  EXPECT_EQ((*entries)[1].length, 1u);

  std::string bad_index = pack;
  bad_index[3 + 40] ^= 1;  // The first entry's length.
  Result<std::vector<PackEntry>> refused = DecodePack(bad_index, "bundle");
  EXPECT_TRUE(refused.status().IsDataLoss());
  EXPECT_EQ(refused.status().message(),
            "pack bundle is corrupt: its index does not hash to its footer");
  EXPECT_TRUE(DecodePack(pack.substr(1), "bundle").status().IsDataLoss());
  EXPECT_TRUE(DecodePack("short", "bundle").status().IsDataLoss());
}

}  // namespace
}  // namespace lockstep::store
