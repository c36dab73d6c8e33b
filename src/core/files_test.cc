// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// Tests for core/files.h: the status a failed read maps to decides the
// exit code a user sees (docs/exit-codes.md).

#include "core/files.h"

#include <gtest/gtest.h>
#include <cerrno>
#include <unistd.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

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

std::vector<std::string> NamesIn(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

TEST_F(FilesTest, PendingFileReplacesTheDestinationOnlyOnCommit) {
  ASSERT_TRUE(WriteFileAtomically(dir_ / "out", "old").ok());
  Result<PendingFile> file = PendingFile::Create(dir_ / "out");
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  ASSERT_TRUE(WriteAll(file->fd(), "new bytes", dir_ / "out").ok());
  EXPECT_EQ(*ReadFile(dir_ / "out"), "old");

  ASSERT_TRUE(file->Commit().ok());
  EXPECT_EQ(*ReadFile(dir_ / "out"), "new bytes");
  EXPECT_EQ(NamesIn(dir_), std::vector<std::string>{"out"});
}

TEST_F(FilesTest, UncommittedPendingFileLeavesNothing) {
  {
    Result<PendingFile> file = PendingFile::Create(dir_ / "out");
    ASSERT_TRUE(file.ok());
    ASSERT_TRUE(WriteAll(file->fd(), "partial", dir_ / "out").ok());
  }
  EXPECT_TRUE(NamesIn(dir_).empty());
}

// A `data export` killed mid-copy left a .copy-*.tmp in the user's
// folder. Killed with no chance to clean up, a pending file on a file
// system with O_TMPFILE leaves no name behind.
TEST_F(FilesTest, PendingFileOfAKilledProcessLeavesNothing) {
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    Result<PendingFile> file = PendingFile::Create(dir_ / "out");
    if (file.ok()) {
      (void)WriteAll(file->fd(), std::string(1 << 20, 'x'), dir_ / "out");
    }
    ::raise(SIGKILL);
  }
  int wait_status = 0;
  ASSERT_EQ(::waitpid(child, &wait_status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(wait_status));

  int probe = ::open(dir_.c_str(), O_TMPFILE | O_WRONLY, 0600);
  if (probe < 0) GTEST_SKIP() << "no O_TMPFILE on this file system";
  ::close(probe);
  EXPECT_TRUE(NamesIn(dir_).empty());
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

// SQLite says only "unable to open database file" for a database in a
// folder it cannot write (brk-P finding 7); a read-only file system is
// covered by tests/e2e/store_read_only_test.sh.
TEST_F(FilesTest, AnUnwritableDatabaseFolderIsNamed) {
  Status opaque = Status::Internal("x.db: unable to open database file");
  fs::path database = dir_ / "store" / "registry" / "index.db";
  fs::create_directories(dir_ / "store");
  EXPECT_EQ(ExplainUnwritableDatabase(database, opaque).message(),
            opaque.message());  // Writable: SQLite's word stands.
  Status damaged = Status::DataLoss("x.db: file is not a database");
  fs::permissions(dir_ / "store", fs::perms::owner_read |
                                      fs::perms::owner_exec);
  EXPECT_EQ(ExplainUnwritableDatabase(database, damaged).message(),
            damaged.message());
  if (::geteuid() == 0) {
    fs::permissions(dir_ / "store", fs::perms::owner_all);
    GTEST_SKIP() << "root writes to any folder it may not";
  }
  Status explained = ExplainUnwritableDatabase(database, opaque);
  fs::permissions(dir_ / "store", fs::perms::owner_all);
  EXPECT_TRUE(explained.code() == StatusCode::kUnavailable);
  EXPECT_EQ(explained.message(),
            database.string() + ": cannot open the database: " +
                (dir_ / "store").string() +
                " is not writable by this user, and SQLite writes beside "
                "a database even to read it");
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

// A folder on the way swapped for a link (to outside) is never followed,
// nor a link at the end; a FIFO opens at once (no writer waited for).
TEST(OpenWithoutLinksTest, FollowsNoLinkAnywhere) {
  fs::path root = *MakeTempDirectory(fs::temp_directory_path(), "nolink-");
  ASSERT_TRUE(WriteFileAtomically(root / "in/a/file", "inside").ok());
  ASSERT_TRUE(WriteFileAtomically(root / "out/file", "outside").ok());
  fs::create_directory_symlink("../out", root / "in" / "l");
  fs::create_symlink("a/file", root / "in" / "fl");
  ASSERT_EQ(::mkfifo((root / "in" / "fifo").c_str(), 0644), 0);
  int dir = ::open((root / "in").c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(dir, 0);

  Result<int> good = OpenWithoutLinks(dir, "a/file", O_RDONLY, "a/file");
  ASSERT_TRUE(good.ok()) << good.status().ToString();
  ::close(*good);
  errno = 0;
  EXPECT_FALSE(OpenWithoutLinks(dir, "l/file", O_RDONLY, "l/file").ok());
  EXPECT_EQ(errno, ELOOP);
  EXPECT_FALSE(OpenWithoutLinks(dir, "fl", O_RDONLY, "fl").ok());
  EXPECT_FALSE(OpenWithoutLinks(dir, "../out/file", O_RDONLY, "x").ok());
  Result<int> fifo = OpenWithoutLinks(dir, "fifo", O_RDONLY, "fifo");
  ASSERT_TRUE(fifo.ok()) << fifo.status().ToString();
  ::close(*fifo);
  ::close(dir);
  RemoveAllQuietly(root);
}

// Found by a tester: `ml split --train` naming its own --input replaced
// the data. Every spelling of one file must count as that file.
TEST_F(FilesTest, SameFileSeesEverySpellingOfOneFile) {
  fs::path data = dir_ / "data.csv";
  ASSERT_TRUE(WriteFileAtomically(data, "a\n").ok());
  fs::create_hard_link(data, dir_ / "hard.csv");
  fs::create_symlink(data, dir_ / "soft.csv");
  fs::create_directory(dir_ / "sub");
  EXPECT_TRUE(SameFile(data, data));
  EXPECT_TRUE(SameFile(data, dir_ / "hard.csv"));
  EXPECT_TRUE(SameFile(data, dir_ / "soft.csv"));
  EXPECT_TRUE(SameFile(data, dir_ / "sub" / ".." / "data.csv"));
  EXPECT_FALSE(SameFile(data, dir_ / "other.csv"));

  // Files not made yet are compared by their absolute paths.
  EXPECT_TRUE(SameFile(dir_ / "new.csv", dir_ / "sub" / ".." / "new.csv"));
  EXPECT_TRUE(SameFile(dir_ / "sub" / "x" / "y.csv",
                       dir_ / "sub" / "x" / "." / "y.csv"));
  EXPECT_FALSE(SameFile(dir_ / "new.csv", dir_ / "new2.csv"));
  fs::create_directory_symlink(dir_ / "sub", dir_ / "link");
  EXPECT_TRUE(SameFile(dir_ / "link" / "new.csv", dir_ / "sub" / "new.csv"));
}

// Found by a tester: a killed `data export` of a folder left its staging
// folder beside DEST forever. A dead process's folder is swept; one in
// use, and a user's folder of a similar name, are not.
TEST_F(FilesTest, OnlyAbandonedTempDirectoriesAreSwept) {
  fs::path dead = dir_ / ".export-0123456789abcdef";
  fs::create_directories(dead / "sub");
  ASSERT_TRUE(WriteFileAtomically(dead / "sub" / "f", "x").ok());
  fs::create_directory(dir_ / ".export-config");
  fs::create_directory(dir_ / ".export-0123456789ABCDEF");
  Result<LockedTempDirectory> live =
      LockedTempDirectory::Create(dir_, ".export-");
  ASSERT_TRUE(live.ok()) << live.status().ToString();
  fs::path live_path = live->path();

  RemoveAbandonedTempDirectories(dir_, ".export-");
  EXPECT_FALSE(fs::exists(dead));
  EXPECT_TRUE(fs::is_directory(live_path));
  EXPECT_TRUE(fs::is_directory(dir_ / ".export-config"));
  EXPECT_TRUE(fs::is_directory(dir_ / ".export-0123456789ABCDEF"));

  // Its lock goes with the object (or with the process).
  { LockedTempDirectory released = std::move(*live); }
  RemoveAbandonedTempDirectories(dir_, ".export-");
  EXPECT_FALSE(fs::exists(live_path));
}

}  // namespace
}  // namespace lockstep
