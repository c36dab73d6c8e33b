// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// Tests for core/files.h: the status a failed read maps to decides the
// exit code a user sees (docs/exit-codes.md).

#include "core/files.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace lockstep {
namespace {

class FilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = *MakeTempDirectory(fs::temp_directory_path(), "files-test-");
  }
  void TearDown() override { RemoveAllQuietly(dir_); }
  fs::path dir_;
};

TEST_F(FilesTest, ReadsBackWhatWasWritten) {
  ASSERT_TRUE(WriteFileAtomically(dir_ / "a" / "b.txt", "x\ny").ok());
  Result<std::string> read = ReadFile(dir_ / "a" / "b.txt");
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(*read, "x\ny");
}

// `lockstep run some-folder/` used to report "Is a directory" as an I/O
// error (exit 6); naming a folder where a file belongs is bad input.
TEST_F(FilesTest, ReadingAFolderIsInvalidArgument) {
  Result<std::string> read = ReadFile(dir_);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(read.status().message().find(dir_.string()), std::string::npos);
}

// Found by a tester: `lockstep validate /dev/zero` (or `<(yes)`, or a
// params file of 1 GB) read until memory ran out and aborted.
TEST_F(FilesTest, DocumentBeyondTheLimitIsRefusedNamingIt) {
  Result<std::string> endless = ReadDocument("/dev/zero");
  ASSERT_FALSE(endless.ok());
  EXPECT_EQ(endless.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(endless.status().message(),
            "/dev/zero: larger than 64 MiB, the most read as a document");

  std::string at_limit(kMaxDocumentBytes, 'a');
  ASSERT_TRUE(WriteFileAtomically(dir_ / "big", at_limit).ok());
  EXPECT_EQ(ReadDocument(dir_ / "big")->size(), kMaxDocumentBytes);
  ASSERT_TRUE(WriteFileAtomically(dir_ / "big", at_limit + "b").ok());
  EXPECT_EQ(ReadDocument(dir_ / "big").status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(FilesTest, MissingFileIsNotFound) {
  EXPECT_EQ(ReadFile(dir_ / "nope").status().code(), StatusCode::kNotFound);
}

// A file used as a folder on the path: the named file does not exist.
TEST_F(FilesTest, FileAsParentFolderIsNotFound) {
  ASSERT_TRUE(WriteFileAtomically(dir_ / "plain", "x").ok());
  EXPECT_EQ(ReadFile(dir_ / "plain" / "child").status().code(),
            StatusCode::kNotFound);
}

}  // namespace
}  // namespace lockstep
