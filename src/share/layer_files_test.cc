// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "share/layer_files.h"

#include <gtest/gtest.h>

#include "core/digest.h"
#include "core/files.h"

namespace lockstep::share {
namespace {

namespace fs = std::filesystem;

registry::PushLayer Titled(const std::string& title, char fill = 'a') {
  registry::PushLayer layer;
  layer.digest = Sha256Of(std::string(3, fill));
  layer.annotations = {{"org.opencontainers.image.title", title}};
  return layer;
}

TEST(LayerFilesTest, TitlesInsideTheFolderAreKept) {
  EXPECT_EQ(LayerFileName(Titled("model.json")), "model.json");
  EXPECT_EQ(LayerFileName(Titled("model/weights.json")),
            "model/weights.json");
  EXPECT_EQ(LayerFileName(Titled("a..b")), "a..b");
}

// Found by a tester: a title with a folder in it was written under the
// digest. Titles that would leave the folder still are.
TEST(LayerFilesTest, TitlesThatLeaveTheFolderFallBackToTheDigest) {
  for (const char* title :
       {"", "/etc/passwd", "../up", "a/../../up", "a//b", "./a", "a/.",
        "a/", ".."}) {
    registry::PushLayer layer = Titled(title);
    EXPECT_EQ(LayerFileName(layer), layer.digest.hex()) << title;
  }
  // Found by a tester: a 300-byte title failed the pull after it was
  // registered (exit 6, "File name too long").
  registry::PushLayer long_name = Titled("d/" + std::string(256, 'q'));
  EXPECT_EQ(LayerFileName(long_name), long_name.digest.hex());
  EXPECT_EQ(LayerFileName(Titled(std::string(255, 'q'))),
            std::string(255, 'q'));
  registry::PushLayer with_nul = Titled(std::string("a\0b", 3));
  EXPECT_EQ(LayerFileName(with_nul), with_nul.digest.hex());
  registry::PushLayer untitled;
  untitled.digest = Sha256Of("x");
  EXPECT_EQ(LayerFileName(untitled), untitled.digest.hex());
}

TEST(LayerFilesTest, ClashingNamesAreRefused) {
  EXPECT_TRUE(CheckLayerFileNames({Titled("a", 'x'), Titled("a", 'x')}).ok());
  Status same_title = CheckLayerFileNames({Titled("a", 'x'), Titled("a")});
  EXPECT_EQ(same_title.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(same_title.message().find("both titled a"), std::string::npos);
  Status file_and_folder =
      CheckLayerFileNames({Titled("a/b", 'x'), Titled("a")});
  EXPECT_EQ(file_and_folder.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(file_and_folder.message().find("titled a, the folder of"),
            std::string::npos);
  EXPECT_TRUE(CheckLayerFileNames({Titled("a/b", 'x'), Titled("ab")}).ok());
}

// Found by a tester: `push a/x b/x` titled both layers "x", and the
// same tool's pull --output then refused them.
TEST(LayerFilesTest, PushedFilesAreTitledByTheirRelativePath) {
  fs::path root = *MakeTempDirectory(fs::temp_directory_path(), "layers-");
  store::BlobStore blobs(root / "store");
  fs::create_directories(root / "a");
  fs::create_directories(root / "b");
  ASSERT_TRUE(WriteFileAtomically(root / "a" / "x", "one").ok());
  ASSERT_TRUE(WriteFileAtomically(root / "b" / "x", "two").ok());
  fs::path previous = fs::current_path();
  fs::current_path(root);

  auto relative = LayersOfFiles(blobs, {"a/x", "./b//x"});
  auto absolute = LayersOfFiles(blobs, {(root / "a" / "x").string()});
  auto clash = LayersOfFiles(blobs, {"a/x", (root / "b" / "x").string()});
  auto above = LayersOfFiles(blobs, {"../" + root.filename().string() +
                                     "/a/x"});
  fs::current_path(previous);
  RemoveAllQuietly(root);

  ASSERT_TRUE(relative.ok()) << relative.status().ToString();
  EXPECT_EQ(LayerFileName((*relative)[0]), "a/x");
  EXPECT_EQ(LayerFileName((*relative)[1]), "b/x");
  EXPECT_EQ((*relative)[0].digest, Sha256Of("one"));
  ASSERT_TRUE(absolute.ok());
  EXPECT_EQ(LayerFileName((*absolute)[0]), "x");
  ASSERT_TRUE(clash.ok()) << "a/x and x do not clash";
  ASSERT_TRUE(above.ok());
  EXPECT_EQ(LayerFileName((*above)[0]), "x");
}

TEST(LayerFilesTest, PushedNamesThatClashAreRefused) {
  fs::path root = *MakeTempDirectory(fs::temp_directory_path(), "layers-");
  store::BlobStore blobs(root / "store");
  ASSERT_TRUE(WriteFileAtomically(root / "x", "one").ok());
  fs::create_directories(root / "other");
  ASSERT_TRUE(WriteFileAtomically(root / "other" / "x", "two").ok());

  auto clash = LayersOfFiles(
      blobs, {(root / "x").string(), (root / "other" / "x").string()});
  RemoveAllQuietly(root);

  EXPECT_EQ(clash.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(clash.status().message().find("both titled x; nothing was "
                                          "pushed"),
            std::string::npos)
      << clash.status().message();
}

// Found by a tester: with out/ok a symbolic link to a folder outside,
// a layer titled ok/authorized_keys was written through it.
TEST(LayerFilesTest, NothingIsWrittenThroughALinkOrOverAFolder) {
  fs::path root = *MakeTempDirectory(fs::temp_directory_path(), "layers-");
  store::BlobStore blobs(root / "store");
  Digest key = *blobs.PutBytes("ssh-ed25519 AAAA");
  registry::PushLayer through{key, "application/octet-stream",
                              {{"org.opencontainers.image.title",
                                "ok/authorized_keys"}}};
  fs::create_directories(root / "out");
  fs::create_directories(root / "victim");
  fs::create_directory_symlink("../victim", root / "out" / "ok");

  Status checked = CheckOutputFolder({through}, root / "out");
  auto written = WriteLayerFiles(blobs, {through}, root / "out");
  bool victim_empty = fs::is_empty(root / "victim");
  fs::remove(root / "out" / "ok");
  ASSERT_TRUE(WriteFileAtomically(root / "out" / "ok", "a file").ok());
  Status under_file = CheckOutputFolder({through}, root / "out");
  fs::remove(root / "out" / "ok");
  fs::create_directories(root / "out" / "ok" / "authorized_keys");
  Status over_folder = CheckOutputFolder({through}, root / "out");
  RemoveAllQuietly(root);

  EXPECT_EQ(checked.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(checked.message().find("is a symbolic link"), std::string::npos)
      << checked.message();
  EXPECT_EQ(written.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(victim_empty);
  EXPECT_NE(under_file.message().find("is not a folder"), std::string::npos)
      << under_file.message();
  EXPECT_NE(over_folder.message().find("is a folder"), std::string::npos)
      << over_folder.message();
}

TEST(LayerFilesTest, WritesEachLayerUnderItsTitle) {
  fs::path root = *MakeTempDirectory(fs::temp_directory_path(), "layers-");
  store::BlobStore blobs(root / "store");
  Digest weights = *blobs.PutBytes("weights");
  Digest card = *blobs.PutBytes("card");
  registry::PushLayer nested{weights, "application/octet-stream",
                             {{"org.opencontainers.image.title",
                               "model/weights.bin"}}};
  registry::PushLayer untitled{card, "application/octet-stream", nullptr};

  // The same layer twice is written, and listed, once.
  auto written =
      WriteLayerFiles(blobs, {nested, untitled, nested}, root / "out");

  ASSERT_TRUE(written.ok()) << written.status().ToString();
  ASSERT_EQ(written->size(), 2u);
  EXPECT_EQ((*written)[0], root / "out" / "model" / "weights.bin");
  EXPECT_EQ(*ReadFile((*written)[0]), "weights");
  EXPECT_EQ((*written)[1], root / "out" / card.hex());
  EXPECT_EQ(*ReadFile((*written)[1]), "card");
  RemoveAllQuietly(root);
}

}  // namespace
}  // namespace lockstep::share
