// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "image/build.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "core/canonical_json.h"
#include "core/files.h"
#include "core/subprocess.h"
#include "image/rootfs.h"

namespace lockstep::image {
namespace {

namespace fs = std::filesystem;

class BuildTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = *MakeTempDirectory(fs::temp_directory_path(), "image-build-");
    blobs_ = std::make_unique<store::BlobStore>(dir_ / "store");
  }
  void TearDown() override { RemoveAllQuietly(dir_); }

  fs::path MakeSource(const std::string& name) {
    fs::path source = dir_ / name;
    fs::create_directories(source / "pkg");
    std::ofstream(source / "pkg" / "train.py") << "print('train')\n";
    std::ofstream(source / "run.sh") << "#!/bin/sh\necho hi\n";
    ::chmod((source / "run.sh").c_str(), 0755);
    return source;
  }

  BuildRequest Request(const fs::path& source) {
    BuildRequest request;
    request.base = "scratch";
    request.added.push_back({source, "/app/src"});
    request.env = {"PATH=/app/src:/bin", "MODE=train"};
    request.workdir = "/app/src";
    request.entrypoint = {"/app/src/run.sh"};
    return request;
  }

  std::string Shell(const std::string& command) {
    ProcessSpec spec;
    spec.argv = {"sh", "-c", command + " > " + (dir_ / "out").string()};
    EXPECT_TRUE(RunProcess(spec).ok());
    return *ReadFile(dir_ / "out");
  }

  fs::path dir_;
  std::unique_ptr<store::BlobStore> blobs_;
};

TEST_F(BuildTest, SameInputsInDifferentFoldersGiveTheSameDigest) {
  fs::path one = MakeSource("one");
  fs::path two = MakeSource("elsewhere/two");
  // Different times on the copies: they must not matter.
  fs::last_write_time(two / "run.sh", fs::file_time_type::clock::now() -
                                          std::chrono::hours(30));
  Result<BuiltImage> first = BuildImage(*blobs_, Request(one));
  Result<BuiltImage> second = BuildImage(*blobs_, Request(two));
  ASSERT_TRUE(first.ok()) << first.status().message();
  ASSERT_TRUE(second.ok()) << second.status().message();
  EXPECT_EQ(first->manifest, second->manifest);

  std::ofstream(two / "pkg" / "train.py") << "print('changed')\n";
  Result<BuiltImage> changed = BuildImage(*blobs_, Request(two));
  ASSERT_TRUE(changed.ok());
  EXPECT_NE(changed->manifest, first->manifest);
  EXPECT_NE(changed->layers.back(), first->layers.back());
}

TEST_F(BuildTest, LayerAndConfigFollowTheDeterminismRules) {
  Result<BuiltImage> image = BuildImage(*blobs_, Request(MakeSource("src")));
  ASSERT_TRUE(image.ok()) << image.status().message();
  // GNU tar, an independent reader, sees the folder under app/src with
  // zero times and root owners.
  std::string listing = Shell(
      "tar --numeric-owner --full-time -tvf " +
      blobs_->PathOf(image->layers.back()).string() +
      " | awk '{print $1, $2, $4, $5, $6}'");
  EXPECT_EQ(listing,
            "drwxr-xr-x 0/0 1970-01-01 00:00:00 app/\n"
            "drwxr-xr-x 0/0 1970-01-01 00:00:00 app/src/\n"
            "drwxr-xr-x 0/0 1970-01-01 00:00:00 app/src/pkg/\n"
            "-rw-r--r-- 0/0 1970-01-01 00:00:00 app/src/pkg/train.py\n"
            "-rwxr-xr-x 0/0 1970-01-01 00:00:00 app/src/run.sh\n");

  Json config = Json::parse(*blobs_->ReadVerified(image->config));
  EXPECT_FALSE(config.contains("created"));
  EXPECT_EQ(config["config"]["Env"],
            Json::array({"PATH=/app/src:/bin", "MODE=train"}));
  EXPECT_EQ(config["config"]["WorkingDir"], "/app/src");
  EXPECT_EQ(config["rootfs"]["diff_ids"],
            Json::array({image->layers.back().ToString()}));
  // The manifest's bytes are what its digest says.
  Json manifest = Json::parse(image->manifest_body);
  EXPECT_EQ(manifest["config"]["digest"], image->config.ToString());
  EXPECT_EQ(Sha256Of(image->manifest_body), image->manifest);
}

TEST_F(BuildTest, BuildsOnABaseAndUnpacksBothLayers) {
  fs::path base_source = dir_ / "base";
  fs::create_directories(base_source / "etc");
  std::ofstream(base_source / "etc" / "os-release") << "ID=base\n";
  BuildRequest base_request;
  base_request.base = "scratch";
  base_request.added.push_back({base_source, "/"});
  base_request.env = {"PATH=/bin", "KEEP=1"};
  Result<BuiltImage> base = BuildImage(*blobs_, base_request);
  ASSERT_TRUE(base.ok()) << base.status().message();

  BuildRequest request = Request(MakeSource("src"));
  request.base = "127.0.0.1:1/test/base@" + base->manifest.ToString();
  Result<BuiltImage> image = BuildImage(*blobs_, request);
  ASSERT_TRUE(image.ok()) << image.status().message();
  EXPECT_EQ(image->layers.size(), 2u);
  Json config = Json::parse(*blobs_->ReadVerified(image->config));
  EXPECT_EQ(config["config"]["Env"],
            Json::array({"PATH=/app/src:/bin", "KEEP=1", "MODE=train"}));

  Result<registry::Reference> ref = registry::ParseReference(
      "127.0.0.1:1/test/app@" + image->manifest.ToString(), true);
  ASSERT_TRUE(ref.ok());
  Result<fs::path> rootfs = PrepareRootfs(*blobs_, *ref);
  ASSERT_TRUE(rootfs.ok()) << rootfs.status().message();
  EXPECT_EQ(*rootfs, dir_ / "store" / "rootfs" / image->manifest.hex());
  EXPECT_EQ(*ReadFile(*rootfs / "etc/os-release"), "ID=base\n");
  EXPECT_EQ(*ReadFile(*rootfs / "app/src/pkg/train.py"), "print('train')\n");
  EXPECT_TRUE(fs::is_directory(*rootfs / "lockstep"));
  EXPECT_TRUE(fs::is_directory(*rootfs / "proc"));
}

TEST_F(BuildTest, BaseByTagOnlyIsRefused) {
  BuildRequest request = Request(MakeSource("src"));
  request.base = "127.0.0.1:1/test/base:latest";
  Result<BuiltImage> image = BuildImage(*blobs_, request);
  ASSERT_FALSE(image.ok());
  EXPECT_NE(image.status().message().find("given by tag only"),
            std::string::npos);
}

TEST_F(BuildTest, ParsesAddedFolders) {
  Result<AddedFolder> added = ParseAddedFolder("some/dir:/app/src");
  ASSERT_TRUE(added.ok());
  EXPECT_EQ(added->source, "some/dir");
  EXPECT_EQ(added->destination, "/app/src");
  EXPECT_FALSE(ParseAddedFolder("dir:relative").ok());
  EXPECT_FALSE(ParseAddedFolder("dir:/a/../b").ok());
  EXPECT_FALSE(ParseAddedFolder("nocolon").ok());
  EXPECT_EQ(CommitTag("1.4.0", "0123456789abcdef0123"), "1.4.0-01234567");
}

}  // namespace
}  // namespace lockstep::image
