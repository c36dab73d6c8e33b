// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "share/bundle.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>

#include "core/files.h"
#include "data/file_store.h"

namespace lockstep::share {
namespace {

namespace fs = std::filesystem;

// A digest ending in `low` (8 hex digits), which decides bundle cuts.
SizedBlob Blob(int n, const std::string& low, uint64_t size) {
  std::string hex = std::to_string(n);
  hex.insert(0, 56 - hex.size(), '0');
  return {Digest::FromHex(hex + low), size};
}

std::vector<std::vector<size_t>> Split(const std::vector<SizedBlob>& blobs,
                                       uint64_t target, uint64_t max) {
  return SplitIntoBundles(blobs, {.target_bytes = target, .max_bytes = max});
}

using Bundles = std::vector<std::vector<size_t>>;

TEST(SplitIntoBundlesTest, CutsWhereADigestSaysSo) {
  // Weight 10 + 48 = 58 of 1000: a cut needs the low 32 bits below
  // 2^32 * 58 / 1000; 0 always is, ffffffff never.
  std::vector<SizedBlob> blobs = {Blob(1, "ffffffff", 10),
                                  Blob(2, "00000000", 10),
                                  Blob(3, "ffffffff", 10),
                                  Blob(4, "ffffffff", 10)};
  EXPECT_EQ(Split(blobs, 1000, 1 << 20), (Bundles{{0, 1}, {2, 3}}));
  EXPECT_EQ(Split({}, 1000, 1 << 20), Bundles{});
}

TEST(SplitIntoBundlesTest, ProbabilityIsWeightOverTarget) {
  // Weight 16 + 48 = 64 of 128: the cut is below 2^31 exactly.
  std::vector<SizedBlob> blobs = {Blob(1, "7fffffff", 16),
                                  Blob(2, "80000000", 16),
                                  Blob(3, "ffffffff", 16)};
  EXPECT_EQ(Split(blobs, 128, 1 << 20), (Bundles{{0}, {1, 2}}));
}

TEST(SplitIntoBundlesTest, NeverPastTheMaximum) {
  // Weight 40 + 48 = 88 each: two would pass 100.
  std::vector<SizedBlob> blobs = {Blob(1, "ffffffff", 40),
                                  Blob(2, "ffffffff", 40),
                                  Blob(3, "ffffffff", 40)};
  EXPECT_EQ(Split(blobs, 1 << 20, 100), (Bundles{{0}, {1}, {2}}));
}

class BundleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = *MakeTempDirectory(fs::temp_directory_path(), "bundle-");
    blobs_ = std::make_unique<store::BlobStore>(root_ / "a");
  }
  void TearDown() override { RemoveAllQuietly(root_); }

  registry::PushLayer FileLayer(const std::string& bytes) {
    registry::PushLayer layer;
    layer.digest = *blobs_->PutBytes(bytes);
    layer.annotations = {{"org.opencontainers.image.title", "f"},
                         {"lockstep.role", std::string(kFileRole)}};
    return layer;
  }

  // `count` small files, packed as a snapshot packs them (one fsync).
  std::vector<registry::PushLayer> Files(int count) {
    store::PackWriter packs(blobs_.get());
    std::vector<registry::PushLayer> layers;
    for (int i = 0; i < count; ++i) {
      std::string bytes = "file " + std::to_string(i) + "\n";
      EXPECT_TRUE(packs.Add(Sha256Of(bytes), bytes).ok());
      registry::PushLayer layer;
      layer.digest = Sha256Of(bytes);
      layer.annotations = {{"lockstep.role", std::string(kFileRole)}};
      layers.push_back(std::move(layer));
    }
    EXPECT_TRUE(packs.Finish().ok());
    return layers;
  }

  std::vector<Digest> Bundled(std::vector<registry::PushLayer> layers) {
    Status status = BundleSmallFiles(blobs_.get(), "x/", sizes_, &layers);
    EXPECT_TRUE(status.ok()) << status.ToString();
    std::vector<Digest> digests;
    for (const registry::PushLayer& layer : layers) {
      digests.push_back(layer.digest);
    }
    return digests;
  }

  BundleSizes sizes_{.target_bytes = 2 << 10, .max_bytes = 8 << 10};
  fs::path root_;
  std::unique_ptr<store::BlobStore> blobs_;
};

TEST_F(BundleTest, SameFilesInAnyOrderGiveTheSameBundles) {
  std::vector<registry::PushLayer> layers = Files(600);
  std::vector<Digest> first = Bundled(layers);
  // About 600 * (7 + 48) / 2 KiB = 16 bundles; far fewer than files.
  EXPECT_GT(first.size(), 5u);
  EXPECT_LT(first.size(), 40u);
  std::shuffle(layers.begin(), layers.end(), std::mt19937(7));
  EXPECT_EQ(Bundled(layers), first);
}

TEST_F(BundleTest, OneChangedFileChangesAtMostThreeBundles) {
  std::vector<registry::PushLayer> layers = Files(600);
  std::vector<Digest> before = Bundled(layers);
  layers[345] = FileLayer("changed\n");
  std::vector<Digest> after = Bundled(layers);
  std::set<Digest> old(before.begin(), before.end());
  size_t shared = std::count_if(after.begin(), after.end(),
                                [&](const Digest& d) { return old.count(d); });
  // The bundle that lost the old file, the one that gained the new one,
  // and a neighbour when either file was a cut point.
  EXPECT_GE(shared + 3, before.size());
  EXPECT_GE(shared + 3, after.size());
}

TEST_F(BundleTest, LargeFilesAndOtherLayersStayWhereTheyWere) {
  registry::PushLayer record;
  record.digest = *blobs_->PutBytes("{}");
  std::string large(data::kPackedFileLimit + 1, 'L');
  std::vector<registry::PushLayer> layers = {record, FileLayer("small"),
                                             FileLayer(large),
                                             FileLayer("tiny")};
  Status status = BundleSmallFiles(blobs_.get(), "x/", sizes_, &layers);
  ASSERT_TRUE(status.ok()) << status.ToString();
  ASSERT_EQ(layers.size(), 3u);
  EXPECT_EQ(layers[0].digest, record.digest);
  EXPECT_EQ(layers[1].media_type, kPackLayer);
  EXPECT_EQ(layers[1].annotations["org.opencontainers.image.title"],
            "x/files-1.pack");
  EXPECT_EQ(layers[1].annotations["lockstep.files"], "2");
  EXPECT_EQ(layers[2].digest, Sha256Of(large));
  // The bundle: the two files in digest order (sha256("small") = 81db...,
  // sha256("tiny") = 8950...).
  EXPECT_EQ(*blobs_->ReadVerified(layers[1].digest),
            store::EncodePack({{Sha256Of("small"), "small"},
                               {Sha256Of("tiny"), "tiny"}}));
}

TEST_F(BundleTest, UnpackStoresVerifiedFilesInPacks) {
  registry::PushLayer layer;
  layer.digest = *blobs_->PutBytes(store::EncodePack(
      {{Sha256Of("one"), "one"}, {Sha256Of("two"), "two"}}));
  store::BlobStore pulled(root_ / "b");
  ASSERT_TRUE(pulled.PutBytes(*blobs_->ReadVerified(layer.digest)).ok());
  store::PackWriter packs(&pulled);
  Result<size_t> files = UnpackBundle(&pulled, layer, sizes_, &packs);
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  EXPECT_EQ(*files, 2u);
  ASSERT_TRUE(packs.Finish().ok());
  EXPECT_EQ(*pulled.ReadVerified(Sha256Of("two")), "two");
  EXPECT_TRUE(pulled.Locate(Sha256Of("one"))->packed);
}

TEST_F(BundleTest, AFileThatDoesNotHashToItsNameIsRefused) {
  registry::PushLayer layer;
  layer.digest = *blobs_->PutBytes(store::EncodePack(
      {{Sha256Of("one"), "one"}, {Sha256Of("TWO"), "two"}}));
  layer.annotations = {{"org.opencontainers.image.title", "d@1/files-1.pack"}};
  store::PackWriter packs(blobs_.get());
  Result<size_t> files = UnpackBundle(blobs_.get(), layer, sizes_, &packs);
  EXPECT_TRUE(files.status().IsDataLoss());
  EXPECT_EQ(files.status().message(),
            "bundle " + layer.digest.ToString() +
                " (d@1/files-1.pack) is corrupt: its file " +
                Sha256Of("TWO").ToString() + " hashes to " +
                Sha256Of("two").ToString());
  ASSERT_TRUE(packs.Finish().ok());
  EXPECT_FALSE(blobs_->Contains(Sha256Of("one")));  // Nothing of it kept.
}

TEST_F(BundleTest, AnOversizedBundleIsRefusedUnread) {
  registry::PushLayer layer;
  layer.digest = *blobs_->PutBytes(std::string(100, 'x'));
  store::PackWriter packs(blobs_.get());
  sizes_.max_bytes = 30;  // 30 + 64 < 100
  Result<size_t> files = UnpackBundle(blobs_.get(), layer, sizes_, &packs);
  EXPECT_TRUE(files.status().IsInvalidArgument());
}

}  // namespace
}  // namespace lockstep::share
