// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "image/layer.h"

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "core/files.h"

namespace lockstep::image {
namespace {

namespace fs = std::filesystem;

// One entry of a layer written by the test.
struct Entry {
  std::string name;
  mode_t type = AE_IFREG;
  mode_t mode = 0644;
  std::string data;  // file bytes, or a symlink or hard link target
  bool hardlink = false;
};

// Writes `entries` in order as a tar (gzip-compressed when asked) with
// libarchive, so names the project's own writer would never produce
// (absolute, "..", whiteouts) can be tested.
void WriteLayer(const fs::path& path, const std::vector<Entry>& entries,
                bool gzip = false) {
  archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  if (gzip) archive_write_add_filter_gzip(a);
  ASSERT_EQ(archive_write_open_filename(a, path.c_str()), ARCHIVE_OK);
  for (const Entry& e : entries) {
    archive_entry* entry = archive_entry_new();
    archive_entry_set_pathname(entry, e.name.c_str());
    archive_entry_set_filetype(entry, e.type);
    archive_entry_set_perm(entry, e.mode);
    if (e.hardlink) {
      archive_entry_set_hardlink(entry, e.data.c_str());
    } else if (e.type == AE_IFLNK) {
      archive_entry_set_symlink(entry, e.data.c_str());
    } else if (e.type == AE_IFREG) {
      archive_entry_set_size(entry, static_cast<la_int64_t>(e.data.size()));
    }
    ASSERT_EQ(archive_write_header(a, entry), ARCHIVE_OK) << e.name;
    if (e.type == AE_IFREG && !e.hardlink) {
      archive_write_data(a, e.data.data(), e.data.size());
    }
    archive_entry_free(entry);
  }
  archive_write_close(a);
  archive_write_free(a);
}

class LayerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = *MakeTempDirectory(fs::temp_directory_path(), "layer-test-");
    root_ = dir_ / "root";
    fs::create_directories(root_);
  }
  void TearDown() override { RemoveAllQuietly(dir_); }

  Result<LayerStats> Apply(const std::vector<Entry>& entries,
                           bool gzip = false) {
    fs::path path = dir_ / ("layer" + std::to_string(++count_) + ".tar");
    WriteLayer(path, entries, gzip);
    return ApplyLayer(path, "sha256:layer" + std::to_string(count_), root_);
  }

  std::string Read(const std::string& relative) {
    Result<std::string> text = ReadFile(root_ / relative);
    return text.ok() ? *text : "<missing>";
  }

  fs::path dir_;
  fs::path root_;
  int count_ = 0;
};

TEST_F(LayerTest, CreatesFilesFoldersLinksAndSkipsDevices) {
  Result<LayerStats> stats = Apply({
      {"./", AE_IFDIR, 0755},
      {"bin/", AE_IFDIR, 0755},
      {"bin/busybox", AE_IFREG, 0755, "ELF"},
      {"bin/sh", AE_IFLNK, 0777, "busybox"},
      {"bin/cat", AE_IFREG, 0755, "bin/busybox", true},
      {"dev/null", AE_IFCHR, 0666},
      {"etc/os-release", AE_IFREG, 0644, "ID=test\n"},
  });
  ASSERT_TRUE(stats.ok()) << stats.status().message();
  EXPECT_EQ(Read("etc/os-release"), "ID=test\n");
  EXPECT_EQ(fs::read_symlink(root_ / "bin/sh"), "busybox");
  EXPECT_EQ(Read("bin/cat"), "ELF");
  struct stat a, b;
  ASSERT_EQ(::stat((root_ / "bin/cat").c_str(), &a), 0);
  ASSERT_EQ(::stat((root_ / "bin/busybox").c_str(), &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino);  // a hard link, not a copy
  EXPECT_EQ(b.st_mode & 07777, 0755u);
  EXPECT_FALSE(fs::exists(fs::symlink_status(root_ / "dev/null")));
  EXPECT_EQ(stats->skipped, 1);
  EXPECT_EQ(stats->files, 2);
}

TEST_F(LayerTest, WhiteoutRemovesOnlyTheNamedLowerEntry) {
  ASSERT_TRUE(Apply({{"a/x", AE_IFREG, 0644, "x"},
                     {"a/y", AE_IFREG, 0644, "y"},
                     {"a/sub/z", AE_IFREG, 0644, "z"}})
                  .ok());
  Result<LayerStats> upper = Apply({{"a/.wh.x", AE_IFREG, 0644, ""},
                                    {"a/.wh.sub", AE_IFREG, 0644, ""}});
  ASSERT_TRUE(upper.ok()) << upper.status().message();
  EXPECT_FALSE(fs::exists(root_ / "a/x"));
  EXPECT_FALSE(fs::exists(root_ / "a/sub"));
  EXPECT_EQ(Read("a/y"), "y");
  EXPECT_FALSE(fs::exists(root_ / "a/.wh.x"));  // markers are not files
  EXPECT_EQ(upper->whiteouts, 2);
}

TEST_F(LayerTest, OpaqueFolderHidesLowerContentButKeepsItsOwn) {
  ASSERT_TRUE(Apply({{"d/old", AE_IFREG, 0644, "old"},
                     {"d/keep/deep", AE_IFREG, 0644, "deep"},
                     {"other", AE_IFREG, 0644, "other"}})
                  .ok());
  // The marker comes after this layer's own entry in the tar: it must
  // still hide only the lower layer's content.
  ASSERT_TRUE(Apply({{"d/new", AE_IFREG, 0644, "new"},
                     {"d/.wh..wh..opq", AE_IFREG, 0644, ""}})
                  .ok());
  EXPECT_FALSE(fs::exists(root_ / "d/old"));
  EXPECT_FALSE(fs::exists(root_ / "d/keep"));
  EXPECT_EQ(Read("d/new"), "new");
  EXPECT_EQ(Read("other"), "other");
}

TEST_F(LayerTest, RefusesDotDotNamingEntryAndLayer) {
  Result<LayerStats> stats = Apply({{"ok", AE_IFREG, 0644, "fine"},
                                    {"../escape", AE_IFREG, 0644, "bad"}});
  ASSERT_FALSE(stats.ok());
  EXPECT_TRUE(stats.status().IsInvalidArgument());
  EXPECT_EQ(stats.status().message(),
            "layer sha256:layer1: entry '../escape': a '..' component would "
            "escape the image root");
  EXPECT_FALSE(fs::exists(dir_ / "escape"));
}

TEST_F(LayerTest, RefusesAbsoluteNames) {
  Result<LayerStats> stats = Apply({{"/etc/evil", AE_IFREG, 0644, "bad"}});
  ASSERT_FALSE(stats.ok());
  EXPECT_NE(stats.status().message().find("'/etc/evil': absolute"),
            std::string::npos)
      << stats.status().message();
}

TEST_F(LayerTest, RefusesRelativeSymlinkClimbingOutOfTheRoot) {
  Result<LayerStats> stats =
      Apply({{"a/link", AE_IFLNK, 0777, "../../outside"}});
  ASSERT_FALSE(stats.ok());
  EXPECT_NE(stats.status().message().find(
                "entry 'a/link': symlink to '../../outside' escapes"),
            std::string::npos)
      << stats.status().message();
  // One level up from a/ is still the root: allowed.
  EXPECT_TRUE(Apply({{"a/up", AE_IFLNK, 0777, "../b"}}).ok());
}

TEST_F(LayerTest, WritesThroughSymlinksLandInsideTheRoot) {
  fs::path host_target = dir_ / "host-target";
  // An absolute link to a host folder, then a file written "through" it:
  // the link is resolved inside the image root, never on the host.
  ASSERT_TRUE(Apply({{"evil", AE_IFLNK, 0777, host_target.string()},
                     {"up", AE_IFLNK, 0777, "."}})
                  .ok());
  ASSERT_TRUE(Apply({{"evil/file", AE_IFREG, 0644, "inside"}}).ok());
  EXPECT_FALSE(fs::exists(host_target));
  EXPECT_EQ(Read(host_target.relative_path().string() + "/file"), "inside");
  Result<fs::path> resolved = ResolveInRoot(root_, "up/up/up/x");
  ASSERT_TRUE(resolved.ok());
  EXPECT_EQ(*resolved, root_ / "x");
}

TEST_F(LayerTest, StripsSetuidAndSetgidBits) {
  ASSERT_TRUE(Apply({{"sbin/su", AE_IFREG, 04755, "su"},
                     {"shared", AE_IFDIR, 02775},
                     {"tmp", AE_IFDIR, 01777}})
                  .ok());
  struct stat info;
  ASSERT_EQ(::stat((root_ / "sbin/su").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 07777, 0755u);
  ASSERT_EQ(::stat((root_ / "shared").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 07000, 0u);
  ASSERT_EQ(::stat((root_ / "tmp").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 07777, 01777u);  // sticky is harmless
}

TEST_F(LayerTest, GzipLayersAndReplacedEntries) {
  ASSERT_TRUE(Apply({{"f", AE_IFDIR, 0755}, {"f/inner", AE_IFREG, 0644, "1"}},
                    true)
                  .ok());
  // A file replaces the folder of a lower layer with the same name.
  ASSERT_TRUE(Apply({{"f", AE_IFREG, 0644, "now a file"}}, true).ok());
  EXPECT_EQ(Read("f"), "now a file");
}

TEST_F(LayerTest, NotATarIsAnError) {
  fs::path path = dir_ / "junk";
  std::ofstream(path) << "this is not a tar archive at all";
  Result<LayerStats> stats = ApplyLayer(path, "sha256:junk", root_);
  ASSERT_FALSE(stats.ok());
  EXPECT_NE(stats.status().message().find("layer sha256:junk"),
            std::string::npos);
}

}  // namespace
}  // namespace lockstep::image
