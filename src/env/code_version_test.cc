// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "env/code_version.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <map>

#include "core/files.h"

namespace lockstep::env {
namespace {

// Every regular file and symlink under `root` except .git, as
// path -> (mode char + bytes or link target), for byte-for-byte equality.
std::map<std::string, std::string> Snapshot(const fs::path& root) {
  std::map<std::string, std::string> files;
  for (auto it = fs::recursive_directory_iterator(root);
       it != fs::recursive_directory_iterator(); ++it) {
    if (it->path().filename() == ".git") {
      it.disable_recursion_pending();
      continue;
    }
    std::string relative = fs::relative(it->path(), root).string();
    if (it->is_symlink()) {
      files[relative] = "L" + fs::read_symlink(it->path()).string();
    } else if (it->is_regular_file()) {
      struct stat info;
      ::stat(it->path().c_str(), &info);
      files[relative] = ((info.st_mode & 0100) ? "X" : "F") +
                        *ReadFile(it->path());
    }
  }
  return files;
}

class CodeVersionTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = *MakeTempDirectory(fs::temp_directory_path(), "code");
    repo_ = dir_ / "repo";
    fs::create_directories(repo_ / "sub");
    Git("init -q -b main");
    Git("config user.name Test");
    Git("config user.email test@example.com");
    Write("a.txt", "line one\nline two\n");
    Write("sub/x.txt", "to be deleted\n");
    Write("bin.dat", std::string("\x00\x01\x02\xff binary", 11));
    Write("run.sh", "#!/bin/sh\necho hi\n");
    ::chmod((repo_ / "run.sh").c_str(), 0755);
    Write(".gitignore", "*.log\n");
    fs::create_symlink("a.txt", repo_ / "link");
    Git("add -A");
    Git("commit -q -m first");
  }
  void TearDown() override { RemoveAllQuietly(dir_); }

  void Git(const std::string& args) {
    std::string command = "git -C '" + repo_.string() + "' " + args;
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
  }
  void Write(const std::string& path, const std::string& bytes) {
    ASSERT_TRUE(WriteFileAtomically(repo_ / path, bytes).ok());
  }
  std::string Head() {
    std::string out = (dir_ / "head.txt").string();
    Git("rev-parse HEAD > '" + out + "'");
    std::string text = *ReadFile(out);
    fs::remove(out);
    return text.substr(0, 40);
  }

  size_t CountObjects() {
    size_t count = 0;
    for (const auto& entry :
         fs::recursive_directory_iterator(repo_ / ".git/objects")) {
      count += entry.is_regular_file() ? 1 : 0;
    }
    return count;
  }

  fs::path dir_;
  fs::path repo_;
};

TEST_F(CodeVersionTest, CleanTreeRecordsCommitBranchAndRemote) {
  Git("remote add origin https://user:s3cret@example.com/team/repo.git");
  Write("debug.log", "ignored files do not make the tree dirty\n");
  auto version = CaptureCodeVersion(repo_ / "sub");
  ASSERT_TRUE(version.ok()) << version.status().ToString();
  EXPECT_TRUE(version->in_git_work_tree);
  EXPECT_EQ(version->commit, Head());
  EXPECT_EQ(version->branch, "main");
  EXPECT_FALSE(version->detached);
  EXPECT_EQ(version->remote_url, "https://example.com/team/repo.git");
  EXPECT_FALSE(version->dirty);
  EXPECT_TRUE(version->patch.empty());
  EXPECT_EQ(version->work_tree, fs::canonical(repo_).string());
}

TEST_F(CodeVersionTest, OriginWinsElseTheFirstRemote) {
  EXPECT_EQ(CaptureCodeVersion(repo_)->remote_url, "");
  Git("remote add upstream https://example.com/up.git");
  Git("remote add fork https://example.com/fork.git");
  EXPECT_EQ(CaptureCodeVersion(repo_)->remote_url,
            "https://example.com/up.git");
  Git("remote add origin git@example.com:team/repo.git");
  EXPECT_EQ(CaptureCodeVersion(repo_)->remote_url,
            "git@example.com:team/repo.git");
}

TEST_F(CodeVersionTest, DetachedHead) {
  Git("checkout -q --detach HEAD");
  auto version = CaptureCodeVersion(repo_);
  EXPECT_TRUE(version->detached);
  EXPECT_EQ(version->branch, "");
}

TEST_F(CodeVersionTest, StagedChangeAloneIsDirty) {
  Write("a.txt", "staged\n");
  Git("add a.txt");
  auto version = CaptureCodeVersion(repo_);
  EXPECT_TRUE(version->dirty);
}

TEST_F(CodeVersionTest, NotAGitWorkTree) {
  fs::path plain = dir_ / "plain";
  fs::create_directories(plain);
  // The temp folder's parents hold no repository.
  auto version = CaptureCodeVersion(plain);
  ASSERT_TRUE(version.ok());
  EXPECT_FALSE(version->in_git_work_tree);
  EXPECT_EQ(version->note, "not in a git work tree");
  EXPECT_EQ(version->ToJson()["in_git_work_tree"], false);
}

TEST_F(CodeVersionTest, DirtyTreeMaterialisesByteForByte) {
  Write("a.txt", "line one\nline 2, changed\n");
  Write("new/untracked.txt", "brand new\n");
  Write("new/blob.bin", std::string("\x00\xfe\x10\x00 raw", 9));
  Write("bin.dat", std::string("\x00\x01\x03\xff binary!", 12));
  fs::remove(repo_ / "sub/x.txt");
  ::chmod((repo_ / "a.txt").c_str(), 0755);
  Write("debug.log", "ignored, so not in the patch\n");

  store::BlobStore blobs(dir_ / "store");
  auto version = CaptureCodeVersion(repo_, &blobs);
  ASSERT_TRUE(version.ok()) << version.status().ToString();
  EXPECT_TRUE(version->dirty);
  EXPECT_TRUE(version->patch_stored);
  EXPECT_EQ(version->patch_digest, Sha256Of(version->patch));
  EXPECT_TRUE(blobs.Contains(version->patch_digest));
  EXPECT_EQ(version->patch.find("ignored, so not"), std::string::npos);

  // Through JSON, as reproduce will see it: the patch comes from the store.
  auto recorded = CodeVersion::FromJson(version->ToJson());
  ASSERT_TRUE(recorded.ok()) << recorded.status().ToString();
  size_t objects_before = CountObjects();
  fs::path out = dir_ / "out";
  Status status = MaterializeCode(repo_, *recorded, out, &blobs);
  ASSERT_TRUE(status.ok()) << status.ToString();

  fs::remove(repo_ / "debug.log");
  EXPECT_EQ(Snapshot(out), Snapshot(repo_));
  EXPECT_FALSE(fs::exists(out / "sub/x.txt"));

  // The source repository is untouched: no new objects (the patch's blobs
  // went to memory), and still dirty the same way.
  EXPECT_EQ(CountObjects(), objects_before);
  auto after = CaptureCodeVersion(repo_);
  EXPECT_EQ(after->patch_digest, version->patch_digest);
}

TEST_F(CodeVersionTest, CleanTreeMaterialises) {
  auto version = CaptureCodeVersion(repo_);
  fs::path out = dir_ / "clean";
  ASSERT_TRUE(MaterializeCode(repo_, *version, out).ok());
  EXPECT_EQ(Snapshot(out), Snapshot(repo_));
  EXPECT_EQ(MaterializeCode(repo_, *version, out).code(),
            StatusCode::kAlreadyExists);
}

TEST_F(CodeVersionTest, MissingCommitSuggestsFetch) {
  auto version = CaptureCodeVersion(repo_);
  version->commit = std::string(40, 'a');
  Status status = MaterializeCode(repo_, *version, dir_ / "never");
  EXPECT_TRUE(status.IsNotFound());
  EXPECT_NE(status.message().find(std::string(40, 'a')), std::string::npos);
  EXPECT_NE(status.message().find("git fetch"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir_ / "never"));
}

TEST_F(CodeVersionTest, TamperedPatchIsDataLoss) {
  Write("a.txt", "changed\n");
  auto version = CaptureCodeVersion(repo_);
  version->patch += "\n";
  EXPECT_TRUE(MaterializeCode(repo_, *version, dir_ / "x").IsDataLoss());
}

TEST(StripUrlCredentialsTest, RemovesSecretsOnly) {
  EXPECT_EQ(StripUrlCredentials("https://u:p@host/r.git"),
            "https://host/r.git");
  EXPECT_EQ(StripUrlCredentials("https://ghp_token@host/r"), "https://host/r");
  EXPECT_EQ(StripUrlCredentials("ssh://git@host/r"), "ssh://git@host/r");
  EXPECT_EQ(StripUrlCredentials("ssh://git:pw@host/r"), "ssh://host/r");
  EXPECT_EQ(StripUrlCredentials("git@github.com:o/r.git"),
            "git@github.com:o/r.git");
  EXPECT_EQ(StripUrlCredentials("https://host/a@b"), "https://host/a@b");
}

}  // namespace
}  // namespace lockstep::env
