// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "store/tar.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <utime.h>

#include <fstream>

#include "core/files.h"
#include "core/subprocess.h"

namespace lockstep::store {
namespace {

class TarTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = *MakeTempDirectory(fs::temp_directory_path(), "tar-test-");
    blobs_ = std::make_unique<BlobStore>(root_ / "store");
  }
  void TearDown() override { RemoveAllQuietly(root_); }

  void Write(const fs::path& path, const std::string& text) {
    fs::create_directories(path.parent_path());
    std::ofstream(path) << text;
  }

  // A folder with a nested file, an executable and a symlink.
  fs::path MakeFolder(const std::string& name) {
    fs::path dir = root_ / name;
    Write(dir / "b.txt", "bee\n");
    Write(dir / "sub" / "a.txt", "ay\n");
    Write(dir / "run.sh", "echo hi\n");
    ::chmod((dir / "run.sh").c_str(), 0755);
    fs::create_symlink("b.txt", dir / "link");
    return dir;
  }

  std::string Run(const std::string& command) {
    ProcessSpec spec;
    spec.argv = {"sh", "-c", command + " > " + (root_ / "out").string()};
    EXPECT_TRUE(RunProcess(spec).ok());
    return *ReadFile(root_ / "out");
  }

  fs::path root_;
  std::unique_ptr<BlobStore> blobs_;
};

TEST_F(TarTest, GnuTarSeesSortedNormalisedEntries) {
  fs::path dir = MakeFolder("one");
  Result<Digest> digest = PackFolder(dir, blobs_.get());
  ASSERT_TRUE(digest.ok()) << digest.status().message();
  // GNU tar, an independent reader, lists the entries sorted, owned by
  // 0/0, dated 1970-01-01, with normalised modes.
  std::string listing = Run("tar --numeric-owner --full-time -tvf " +
                            blobs_->PathOf(*digest).string() +
                            " | awk '{print $1, $2, $4, $5, $6, $7, $8}'");
  EXPECT_EQ(listing,
            "-rw-r--r-- 0/0 1970-01-01 00:00:00 b.txt  \n"
            "lrwxrwxrwx 0/0 1970-01-01 00:00:00 link -> b.txt\n"
            "-rwxr-xr-x 0/0 1970-01-01 00:00:00 run.sh  \n"
            "drwxr-xr-x 0/0 1970-01-01 00:00:00 sub/  \n"
            "-rw-r--r-- 0/0 1970-01-01 00:00:00 sub/a.txt  \n");
}

TEST_F(TarTest, SameContentSameDigestWhateverTimesAndModes) {
  Result<Digest> first = PackFolder(MakeFolder("one"), blobs_.get());
  fs::path two = MakeFolder("two");
  struct utimbuf old_time = {1000, 1000};
  ::utime((two / "b.txt").c_str(), &old_time);
  ::chmod((two / "b.txt").c_str(), 0600);  // Not an exec bit change.
  Result<Digest> second = PackFolder(two, blobs_.get());
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(*first, *second);
}

TEST_F(TarTest, ExecBitContentAndLinkTargetChangeTheDigest) {
  Result<Digest> base = PackFolder(MakeFolder("base"), blobs_.get());
  fs::path exec = MakeFolder("exec");
  ::chmod((exec / "b.txt").c_str(), 0744);
  fs::path content = MakeFolder("content");
  Write(content / "sub" / "a.txt", "AY\n");
  fs::path link = MakeFolder("link");
  fs::remove(link / "link");
  fs::create_symlink("sub/a.txt", link / "link");
  fs::path name = MakeFolder("name");
  fs::rename(name / "b.txt", name / "c.txt");
  std::set<std::string> digests = {base->ToString()};
  for (const fs::path& dir : {exec, content, link, name}) {
    Result<Digest> digest = PackFolder(dir, blobs_.get());
    ASSERT_TRUE(digest.ok());
    EXPECT_TRUE(digests.insert(digest->ToString()).second) << dir;
  }
}

TEST_F(TarTest, ListFolderHashesEachEntryLikeSha256sum) {
  Result<Digest> digest = PackFolder(MakeFolder("list"), blobs_.get());
  ASSERT_TRUE(digest.ok());
  Result<std::vector<FolderEntry>> entries = ListFolder(*blobs_, *digest);
  ASSERT_TRUE(entries.ok()) << entries.status().message();
  std::string listing;
  for (const FolderEntry& entry : *entries) {
    listing += entry.path + " " + entry.kind + " " +
               (entry.executable ? "x" : "-") + " " +
               (entry.digest.empty() ? entry.target
                                     : entry.digest.ToString()) + "\n";
  }
  // File digests come from sha256sum, an independent hasher.
  auto sum = [&](const std::string& text) {
    return "sha256:" +
           Run("printf '" + text + "' | sha256sum | cut -c1-64").substr(0, 64);
  };
  EXPECT_EQ(listing, "b.txt file - " + sum("bee\\n") + "\n" +
                         "link symlink x b.txt\n" +
                         "run.sh file x " + sum("echo hi\\n") + "\n" +
                         "sub folder x \n" +
                         "sub/a.txt file - " + sum("ay\\n") + "\n");
  EXPECT_TRUE(ListFolder(*blobs_, Sha256Of("absent")).status().IsNotFound());
  Result<Digest> not_tar = blobs_->PutBytes(std::string(1024, 'x'));
  EXPECT_TRUE(ListFolder(*blobs_, *not_tar).status().IsDataLoss());
}

TEST_F(TarTest, UnpackRestoresTheFolderReadOnly) {
  Result<Digest> digest = PackFolder(MakeFolder("src"), blobs_.get());
  ASSERT_TRUE(digest.ok());
  fs::path out = root_ / "out-dir";
  ASSERT_TRUE(UnpackFolder(*blobs_, *digest, out, true).ok());
  EXPECT_EQ(*ReadFile(out / "sub" / "a.txt"), "ay\n");
  EXPECT_EQ(fs::read_symlink(out / "link"), "b.txt");
  struct stat info;
  ::stat((out / "run.sh").c_str(), &info);
  EXPECT_EQ(info.st_mode & 0777, 0555u);
  ::stat((out / "b.txt").c_str(), &info);
  EXPECT_EQ(info.st_mode & 0777, 0444u);
  // Packing the unpacked copy gives the same bytes back.
  Result<Digest> again = PackFolder(out, blobs_.get());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *digest);
}

// Names are exact bytes: a name that is not UTF-8 used to abort packing
// with "Can't translate pathname ... to UTF-8".
TEST_F(TarTest, NonUtf8NamesRoundTripAsRawBytes) {
  fs::path dir = root_ / "raw";
  const std::string bad = "bad\xff";
  const std::string cafe = "caf\xc3\xa9";
  Write(dir / "d" / bad, "x");
  Write(dir / cafe, "y");
  fs::create_symlink("d/" + bad, dir / "link");
  Result<Digest> digest = PackFolder(dir, blobs_.get());
  ASSERT_TRUE(digest.ok()) << digest.status().message();
  fs::path out = root_ / "raw-out";
  ASSERT_TRUE(UnpackFolder(*blobs_, *digest, out, false).ok());
  EXPECT_EQ(*ReadFile(out / "d" / bad), "x");
  EXPECT_EQ(*ReadFile(out / cafe), "y");
  EXPECT_EQ(fs::read_symlink(out / "link").string(), "d/" + bad);
  Result<Digest> again = PackFolder(out, blobs_.get());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *digest);
}

// All-ASCII folders are written exactly as before (no pax charset
// header), so digests recorded earlier still match.
TEST_F(TarTest, AsciiNamesGetNoCharsetHeader) {
  Result<Digest> digest = PackFolder(MakeFolder("plain"), blobs_.get());
  ASSERT_TRUE(digest.ok());
  std::string bytes = *ReadFile(blobs_->PathOf(*digest));
  EXPECT_EQ(bytes.find("hdrcharset"), std::string::npos);
}

TEST_F(TarTest, UnpackRefusesDotDotNames) {
  fs::path evil = root_ / "evil";
  Write(evil / "x", "x");
  fs::path archive = root_ / "evil.tar";
  Run("tar -cf " + archive.string() + " -C " + evil.string() +
      " --transform 's,^x,../escape,' x");
  Result<Digest> digest = blobs_->PutFile(archive);
  ASSERT_TRUE(digest.ok());
  Status status = UnpackFolder(*blobs_, *digest, root_ / "dest", false);
  EXPECT_FALSE(status.ok());
  EXPECT_FALSE(fs::exists(root_ / "escape"));
}

TEST_F(TarTest, UnpackRefusesWritingThroughSymlinksAndHardLinks) {
  // An archive made by GNU tar: a symlink to a folder outside, then a
  // file "through" it; and one holding a hard link.
  fs::path outside = root_ / "outside";
  fs::create_directories(outside);
  fs::path evil = root_ / "evil";
  Write(evil / "real" / "x", "x");
  fs::create_symlink(outside, evil / "link");
  fs::path archive = root_ / "evil.tar";
  Run("tar -cf " + archive.string() + " -C " + evil.string() +
      " link real/x --transform 's,^real,link,'");
  Result<Digest> digest = blobs_->PutFile(archive);
  ASSERT_TRUE(digest.ok());
  EXPECT_FALSE(UnpackFolder(*blobs_, *digest, root_ / "dest", false).ok());
  EXPECT_FALSE(fs::exists(outside / "x"));

  fs::path linked = root_ / "linked";
  Write(linked / "a", "a");
  fs::create_hard_link(linked / "a", linked / "b");
  fs::path hard = root_ / "hard.tar";
  Run("tar -cf " + hard.string() + " -C " + linked.string() + " a b");
  Result<Digest> hard_digest = blobs_->PutFile(hard);
  ASSERT_TRUE(hard_digest.ok());
  Status status = UnpackFolder(*blobs_, *hard_digest, root_ / "dest2", false);
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("hard link"), std::string::npos);
}

}  // namespace
}  // namespace lockstep::store
