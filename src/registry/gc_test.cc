// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "registry/gc.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "core/files.h"
#include "registry/registry.h"
#include "store/pack.h"
#include "store/sweep_lock.h"

namespace lockstep::registry {
namespace {

class GcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = *MakeTempDirectory(fs::temp_directory_path(), "registry-gc-");
    registry_ = std::move(*Registry::Open(root_));
  }
  void TearDown() override {
    registry_.reset();
    RemoveAllQuietly(root_);
  }

  std::string Blob(const std::string& repo, const std::string& bytes) {
    std::string digest = Sha256Of(bytes).ToString();
    EXPECT_TRUE(registry_->PutBlob(repo, bytes, digest).ok());
    return digest;
  }

  // Pushes an image manifest over one layer, by digest (untagged) or tag.
  std::string Image(const std::string& repo, const std::string& layer,
                    const std::string& reference = "") {
    std::string config = "{\"of\":\"" + layer + "\"}";
    std::string manifest =
        "{\"schemaVersion\":2,\"mediaType\":\"" + std::string(kOciManifest) +
        "\",\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1"
        "+json\",\"digest\":\"" + Blob(repo, config) + "\",\"size\":" +
        std::to_string(config.size()) + "},\"layers\":[{\"mediaType\":\"a/b"
        "\",\"digest\":\"" + Blob(repo, layer) + "\",\"size\":" +
        std::to_string(layer.size()) + "}]}";
    std::string digest = Sha256Of(manifest).ToString();
    auto put = registry_->PutManifest(
        repo, reference.empty() ? digest : reference,
        std::string(kOciManifest), manifest);
    EXPECT_TRUE(put.ok()) << put.error().message;
    return digest;
  }

  bool Present(const std::string& digest) {
    return registry_->blobs().Contains(*Digest::Parse(digest));
  }

  GcReport Collect(GcOptions options = {}) {
    // Grace 0: everything written before the mark is eligible; the sleep
    // puts the test's writes strictly before it, on the file system's
    // clock too, whose ticks lag the fine clock by several milliseconds.
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    options.grace_ms = 0;
    NoRetentionRoots none;
    auto report = CollectGarbage(registry_->index(), registry_->blobs(),
                                 roots_ ? *roots_ : none, options);
    EXPECT_TRUE(report.ok()) << report.status().ToString();
    return report.ok() ? *report : GcReport{};
  }

  fs::path root_;
  std::unique_ptr<Registry> registry_;
  RetentionRoots* roots_ = nullptr;
};

TEST_F(GcTest, IndexKeepsItsUntaggedChildren) {
  std::string amd64 = Image("demo", "amd64 layer");
  std::string arm64 = Image("demo", "arm64 layer");
  std::string index = "{\"schemaVersion\":2,\"mediaType\":\"" +
                      std::string(kOciIndex) + "\",\"manifests\":[";
  for (const std::string& child : {amd64, arm64}) {
    auto body = registry_->GetManifest("demo", child)->body;
    index += std::string(child == amd64 ? "" : ",") + "{\"mediaType\":\"" +
             std::string(kOciManifest) + "\",\"digest\":\"" + child +
             "\",\"size\":" + std::to_string(body.size()) + "}";
  }
  index += "]}";
  ASSERT_TRUE(registry_->PutManifest("demo", "multi", std::string(kOciIndex),
                                     index).ok());
  std::string orphan_layer = Blob("demo", "pushed but never used");

  GcReport report = Collect();
  for (const char* layer : {"amd64 layer", "arm64 layer"}) {
    EXPECT_TRUE(Present(Sha256Of(layer).ToString())) << layer;
  }
  EXPECT_TRUE(Present(amd64));
  EXPECT_TRUE(Present(arm64));
  EXPECT_TRUE(registry_->GetManifest("demo", "multi").ok());
  EXPECT_TRUE(registry_->GetManifest("demo", amd64).ok());

  // The unused upload is dropped and swept; HEAD then says unknown.
  ASSERT_EQ(report.swept.size(), 1u);
  EXPECT_EQ(report.swept[0].digest.ToString(), orphan_layer);
  EXPECT_FALSE(Present(orphan_layer));
  EXPECT_EQ(registry_->StatBlob("demo", orphan_layer).error().code,
            "BLOB_UNKNOWN");
}

TEST_F(GcTest, DeletedManifestsBlobsGoAndSharedOnesStay) {
  std::string keep = Image("demo", "shared", "keep");
  std::string gone = Image("other", "shared", "gone");
  std::string solo = Image("other", "only here", "solo");
  ASSERT_TRUE(registry_->DeleteManifest("other", solo).ok());
  GcReport report = Collect();
  EXPECT_TRUE(Present(Sha256Of("shared").ToString()));
  EXPECT_FALSE(Present(Sha256Of("only here").ToString()));
  EXPECT_FALSE(Present(solo));
  EXPECT_TRUE(Present(keep));
  EXPECT_TRUE(Present(gone));
  EXPECT_EQ(report.swept.size(), 3u);  // manifest, config, layer
}

TEST_F(GcTest, DryRunRemovesNothing) {
  std::string unused = Blob("demo", "unused");
  GcOptions options;
  options.dry_run = true;
  GcReport report = Collect(options);
  ASSERT_EQ(report.swept.size(), 1u);
  EXPECT_TRUE(Present(unused));
  EXPECT_TRUE(registry_->StatBlob("demo", unused).ok());
}

TEST_F(GcTest, BlobsWrittenDuringGcAreKept) {
  // An upload in flight when gc starts, finished after marking.
  auto upload = registry_->StartUpload("demo");
  std::string early = "started before gc";
  ASSERT_TRUE(registry_->AppendChunk("demo", upload->id, std::nullopt,
      [&](const Registry::ChunkSink& sink) {
        return sink(early.data(), early.size());
      }).ok());
  // Stored long ago, held by nothing, and pushed again during gc.
  std::string old = registry_->blobs().PutBytes("old and unheld")->ToString();
  std::string direct;
  GcOptions options;
  options.after_mark = [&] {
    // Between mark and sweep: one upload completes, one unrelated
    // component writes a blob into the shared store.
    EXPECT_TRUE(registry_->FinishUpload("demo", upload->id,
                                        Sha256Of(early).ToString()).ok());
    direct = registry_->blobs().PutBytes("written by a run")->ToString();
    Blob("demo", "pushed during gc");
    Blob("demo", "old and unheld");
  };
  GcReport report = Collect(options);
  EXPECT_TRUE(report.swept.empty());
  EXPECT_TRUE(Present(Sha256Of(early).ToString()));
  EXPECT_TRUE(Present(direct));
  EXPECT_TRUE(Present(Sha256Of("pushed during gc").ToString()));
  EXPECT_TRUE(Present(old));
  EXPECT_TRUE(registry_->StatBlob("demo", old).ok());
  EXPECT_TRUE(registry_->StatBlob("demo", Sha256Of(early).ToString()).ok());
}

// Found by a tester: a data snapshot that reused an old blob while gc
// ran had it swept between its check and its record. A writer holding
// the sweep lock shared (from refreshing the blob to recording it) makes
// the sweep wait, and then the refreshed blob is young and spared.
TEST_F(GcTest, SweepWaitsForAWriterHoldingTheSweepLock) {
  Digest reused = *registry_->blobs().PutBytes("reused by a snapshot");
  std::atomic<bool> locked = false;
  bool refreshed = false;
  std::thread writer;
  GcOptions options;
  options.after_mark = [&] {
    writer = std::thread([&] {
      auto lock = store::SweepLock::Acquire(
          root_, store::SweepLock::Mode::kShared);
      ASSERT_TRUE(lock.ok()) << lock.status().ToString();
      locked = true;
      // Long enough that a sweep not waiting would have removed it.
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      refreshed = registry_->blobs().Refresh(reused);
    });
    while (!locked) std::this_thread::yield();
  };
  GcReport report = Collect(options);
  writer.join();
  EXPECT_TRUE(refreshed);
  EXPECT_TRUE(report.swept.empty());
  EXPECT_EQ(report.spared_young, std::vector<Digest>{reused});
  EXPECT_TRUE(registry_->blobs().Contains(reused));
}

TEST_F(GcTest, RetentionRootsAreKeptWithTheirReason) {
  std::string model = registry_->blobs().PutBytes("model")->ToString();
  std::string stray = registry_->blobs().PutBytes("stray")->ToString();
  FixedRetentionRoots roots(
      {{*Digest::Parse(model), "run train-1 needs it"}});
  roots_ = &roots;
  GcReport report = Collect();
  EXPECT_TRUE(Present(model));
  EXPECT_FALSE(Present(stray));
  ASSERT_EQ(report.kept_by_roots.size(), 1u);
  EXPECT_EQ(report.kept_by_roots[0].reason, "run train-1 needs it");
}

TEST_F(GcTest, PacksGoWholeOnlyWhenNoBlobOfThemIsKept) {
  store::BlobStore& blobs = registry_->blobs();
  for (auto names : {std::vector<std::string>{"kept", "dead in kept pack"},
                     std::vector<std::string>{"dead", "also dead"}}) {
    store::PackWriter writer(&blobs);
    for (const std::string& bytes : names) {
      ASSERT_TRUE(writer.Add(Sha256Of(bytes), bytes).ok());
    }
    ASSERT_TRUE(writer.Finish().ok());
  }
  FixedRetentionRoots roots({{Sha256Of("kept"), "snapshot s@1"}});
  roots_ = &roots;
  GcReport report = Collect();
  EXPECT_TRUE(Present(Sha256Of("kept").ToString()));
  EXPECT_TRUE(Present(Sha256Of("dead in kept pack").ToString()));
  EXPECT_FALSE(Present(Sha256Of("dead").ToString()));
  EXPECT_FALSE(Present(Sha256Of("also dead").ToString()));
  EXPECT_EQ(report.packs_removed.size(), 1u);
  EXPECT_EQ(report.swept.size(), 2u);
  EXPECT_EQ(report.dead_bytes_in_kept_packs,
            std::string("dead in kept pack").size());
  EXPECT_EQ(blobs.ListPacks()->size(), 1u);
}

}  // namespace
}  // namespace lockstep::registry
