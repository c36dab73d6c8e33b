// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "registry/upload_file.h"

#include <gtest/gtest.h>

#include "core/files.h"

namespace lockstep::registry {
namespace {

class UploadFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = *MakeTempDirectory(fs::temp_directory_path(), "upload-file-");
    store_ = std::make_unique<store::BlobStore>(root_);
  }
  void TearDown() override { RemoveAllQuietly(root_); }

  // Files left in the store's tmp folder.
  size_t TempFiles() const {
    std::error_code error;
    size_t count = 0;
    for (auto it = fs::directory_iterator(store_->TempDirectory(), error);
         !error && it != fs::directory_iterator(); it.increment(error)) {
      ++count;
    }
    return count;
  }

  fs::path root_;
  // Made in SetUp, once root_ is known.
  std::unique_ptr<store::BlobStore> store_;
};

// sha256("abcdef"), computed independently (coreutils sha256sum).
constexpr char kAbcdef[] =
    "sha256:bef57ec7f53a6d40beb640a780a639c83bc29ac8a9816f1fc6c5c6dcd93c4721";

TEST_F(UploadFileTest, SealedAndPublishedBytesAreTheBlob) {
  auto upload = *UploadFile::Create(*store_);
  ASSERT_TRUE(upload->Append("abc").ok());
  ASSERT_TRUE(upload->Append("def").ok());
  Digest digest = *Digest::Parse(kAbcdef);
  ASSERT_TRUE(upload->Seal(digest).ok());
  ASSERT_TRUE(upload->Publish().ok());
  upload.reset();
  EXPECT_EQ(*store_->ReadVerified(digest), "abcdef");
  EXPECT_EQ(TempFiles(), 0u);
}

TEST_F(UploadFileTest, WrongDigestIsRefusedAndLeavesNothing) {
  auto upload = *UploadFile::Create(*store_);
  ASSERT_TRUE(upload->Append("abcdeX").ok());
  Status sealed = upload->Seal(*Digest::Parse(kAbcdef));
  EXPECT_TRUE(sealed.IsInvalidArgument()) << sealed.ToString();
  EXPECT_FALSE(upload->Publish().ok());
  upload.reset();
  EXPECT_FALSE(store_->Contains(*Digest::Parse(kAbcdef)));
  EXPECT_EQ(TempFiles(), 0u);
}

// A sync ahead of the commit covers only the bytes it saw: bytes that
// arrive after it are synced by the seal.
TEST_F(UploadFileTest, BytesAfterAnEarlySyncAreSyncedBySeal) {
  auto upload = *UploadFile::Create(*store_);
  EXPECT_TRUE(upload->synced());  // nothing to sync yet
  ASSERT_TRUE(upload->Append("abc").ok());
  EXPECT_FALSE(upload->synced());
  ASSERT_TRUE(upload->SyncData().ok());
  EXPECT_TRUE(upload->synced());
  ASSERT_TRUE(upload->Append("def").ok());
  EXPECT_FALSE(upload->synced());
  ASSERT_TRUE(upload->Seal(*Digest::Parse(kAbcdef)).ok());
  EXPECT_TRUE(upload->synced());
}

TEST_F(UploadFileTest, RewindTakesBackWhatCameAfterTheMark) {
  auto upload = *UploadFile::Create(*store_);
  ASSERT_TRUE(upload->Append("abc").ok());
  upload->Mark();
  ASSERT_TRUE(upload->Append("a chunk of the wrong length").ok());
  ASSERT_TRUE(upload->SyncData().ok());
  ASSERT_TRUE(upload->RewindToMark().ok());
  EXPECT_EQ(upload->size(), 3u);
  EXPECT_TRUE(upload->synced());
  ASSERT_TRUE(upload->Append("def").ok());
  Digest digest = *Digest::Parse(kAbcdef);
  ASSERT_TRUE(upload->Seal(digest).ok());
  ASSERT_TRUE(upload->Publish().ok());
  EXPECT_EQ(*store_->ReadVerified(digest), "abcdef");
  EXPECT_EQ(fs::file_size(store_->PathOf(digest)), 6u);
}

TEST_F(UploadFileTest, AppendAfterSealIsRefused) {
  auto upload = *UploadFile::Create(*store_);
  ASSERT_TRUE(upload->Append("abcdef").ok());
  ASSERT_TRUE(upload->Seal(*Digest::Parse(kAbcdef)).ok());
  EXPECT_FALSE(upload->Append("x").ok());
  EXPECT_FALSE(upload->Seal(*Digest::Parse(kAbcdef)).ok());
}

TEST_F(UploadFileTest, AbandonedUploadRemovesItsFile) {
  auto upload = *UploadFile::Create(*store_);
  ASSERT_TRUE(upload->Append("abc").ok());
  EXPECT_EQ(TempFiles(), 1u);
  upload.reset();
  EXPECT_EQ(TempFiles(), 0u);
}

}  // namespace
}  // namespace lockstep::registry
