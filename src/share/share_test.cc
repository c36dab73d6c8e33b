// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <functional>

#include "core/files.h"
#include "data/file_store.h"
#include "data/snapshot.h"
#include "data/test_util.h"
#include "manifest/manifest.h"
#include "manifest/retention.h"
#include "registry/gc.h"
#include "registry/registry.h"
#include "registry/retention.h"
#include "share/expiry.h"
#include "share/share.h"

namespace lockstep::share {
namespace {

namespace fs = std::filesystem;
using data::testing::Sha256Sum;
using data::testing::WriteBytes;

constexpr int64_t kDay = 24 * 3600 * 1000;

class ShareTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = *MakeTempDirectory(fs::temp_directory_path(), "share-");
    blobs_ = std::make_unique<store::BlobStore>(root_ / "store");
    metadata_ = std::move(
        *metadata::MetadataStore::Open((root_ / "metadata.db").string()));
    snapshots_ = std::make_unique<data::DataSnapshots>(
        blobs_.get(), metadata_.get(), root_ / "store" / "cache");
  }
  void TearDown() override { RemoveAllQuietly(root_); }

  data::SnapshotInfo Snap(const fs::path& source, const std::string& name,
                          int64_t expires_after_ms) {
    data::SnapshotRequest request;
    request.source = source.string();
    request.name = name;
    request.expires_after_ms = expires_after_ms;
    auto info = snapshots_->Create(request);
    EXPECT_TRUE(info.ok()) << info.status().ToString();
    return info.ok() ? *info : data::SnapshotInfo{};
  }

  // Records a finished run whose sealed manifest reads `data`.
  void RecordRun(const std::string& run_id, const Json& data,
                 const Json& steps = Json::array()) {
    Json manifest = {{"manifest_version", 1}, {"kind", "lockstep.run"},
                     {"run_id", run_id},     {"status", "succeeded"},
                     {"data", data},         {"steps", steps}};
    auto text = manifest::SealManifest(&manifest);
    ASSERT_TRUE(text.ok()) << text.status().ToString();
    fs::path path = manifest::ManifestPath(root_ / "store", run_id);
    ASSERT_TRUE(WriteFileAtomically(path, *text).ok());
    auto context = metadata_->PutContext({.type = "run", .name = run_id});
    ASSERT_TRUE(context.ok());
    metadata::Run run;
    run.run_id = run_id;
    run.context_id = *context;
    run.pipeline = "p";
    run.status = "succeeded";
    run.manifest_path = path.string();
    run.manifest_hash = manifest["manifest_hash"].get<std::string>();
    ASSERT_TRUE(metadata_->CreateRun(run).ok());
  }

  std::vector<std::string> RootDigests() {
    manifest::LineageRetentionRoots roots(metadata_.get(), blobs_.get());
    auto kept = roots.Roots();
    EXPECT_TRUE(kept.ok()) << kept.status().ToString();
    std::vector<std::string> out;
    for (const auto& root : *kept) out.push_back(root.digest.ToString());
    std::sort(out.begin(), out.end());
    return out;
  }

  fs::path root_;
  std::unique_ptr<store::BlobStore> blobs_;
  std::unique_ptr<metadata::MetadataStore> metadata_;
  std::unique_ptr<data::DataSnapshots> snapshots_;
};

bool Has(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

TEST_F(ShareTest, FolderSnapshotFilesAreRetentionRoots) {
  WriteBytes(root_ / "docs" / "a.txt", "alpha\n");
  WriteBytes(root_ / "docs" / "sub" / "b.txt", "beta\n");
  data::SnapshotInfo info = Snap(root_ / "docs", "docs", 0);

  std::vector<std::string> roots = RootDigests();
  EXPECT_TRUE(Has(roots, info.digest));  // the tree
  EXPECT_TRUE(Has(roots, Sha256Sum(root_ / "docs" / "a.txt")));
  EXPECT_TRUE(Has(roots, Sha256Sum(root_ / "docs" / "sub" / "b.txt")));
}

TEST_F(ShareTest, ExpiredSnapshotNoRunNeedsIsRemovedAndStopsBeingARoot) {
  WriteBytes(root_ / "old.csv", "x\n1\n");
  data::SnapshotInfo info = Snap(root_ / "old.csv", "old", 1000);
  std::string digest = Sha256Sum(root_ / "old.csv");
  ASSERT_EQ(info.digest, digest);

  // Not yet expired: nothing to decide.
  auto early = ExpireSnapshots(metadata_.get(), info.created_ms, true);
  ASSERT_TRUE(early.ok());
  EXPECT_TRUE(early->empty());

  // A dry run decides but changes nothing.
  int64_t later = info.created_ms + kDay;
  auto dry = ExpireSnapshots(metadata_.get(), later, false);
  ASSERT_TRUE(dry.ok());
  ASSERT_EQ(dry->size(), 1u);
  EXPECT_TRUE((*dry)[0].remove);
  EXPECT_EQ((*dry)[0].snapshot, "old@1");
  EXPECT_TRUE(Has(RootDigests(), digest));

  auto applied = ExpireSnapshots(metadata_.get(), later, true);
  ASSERT_TRUE(applied.ok());
  ASSERT_EQ(applied->size(), 1u);
  EXPECT_FALSE(Has(RootDigests(), digest));
  auto shown = snapshots_->Get({"old", 1});
  ASSERT_TRUE(shown.ok());
  EXPECT_TRUE(shown->Removed());
  EXPECT_NE(shown->removal_reason.find("no kept run needs it"),
            std::string::npos);

  // Already removed: not decided again.
  auto again = ExpireSnapshots(metadata_.get(), later, true);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->empty());
}

// Found by a tester: an artifact pulled on its own (not in a run or a
// snapshot) had a record but no root, so gc took its bytes. Its pull is
// now recorded, and its output kept while it lives.
TEST_F(ShareTest, AnArtifactPulledOnItsOwnIsARoot) {
  Digest model = *blobs_->PutBytes("model bytes");
  metadata::Artifact artifact;
  artifact.type = "Model";
  artifact.digest = model.ToString();
  metadata::ExecutionRecord pull;
  pull.execution.type = manifest::kPulledArtifactExecution;
  pull.execution.name = model.ToString();
  pull.execution.state = metadata::ExecutionState::kComplete;
  pull.outputs.emplace_back("artifact", artifact);
  ASSERT_TRUE(metadata_->RecordExecution(&pull).ok());
  EXPECT_TRUE(Has(RootDigests(), model.ToString()));

  // Another execution type's outputs are not kept by this rule.
  Digest other = *blobs_->PutBytes("other bytes");
  metadata::ExecutionRecord step;
  step.execution.type = "command";
  step.execution.name = "train";
  step.execution.state = metadata::ExecutionState::kComplete;
  artifact.digest = other.ToString();
  step.outputs.emplace_back("model", artifact);
  ASSERT_TRUE(metadata_->RecordExecution(&step).ok());
  EXPECT_FALSE(Has(RootDigests(), other.ToString()));
}

// Found by a tester: `store verify` said "missing sha256:...: pulled
// artifact 2", naming neither the reference nor the file.
TEST_F(ShareTest, APulledFileIsNamedByItsReferenceAndTitle) {
  metadata::Artifact artifact;
  artifact.type = kPulledFileType;
  artifact.uri = "127.0.0.1:5000/app/files:v1@sha256:" + std::string(64, 'a');
  artifact.digest = Sha256Of("gone").ToString();
  artifact.custom_properties = {{"title", "model/weights.bin"}};
  metadata::ExecutionRecord pull;
  pull.execution.type = manifest::kPulledArtifactExecution;
  pull.execution.name = artifact.uri;
  pull.execution.state = metadata::ExecutionState::kComplete;
  pull.outputs.emplace_back("layer", artifact);
  ASSERT_TRUE(metadata_->RecordExecution(&pull).ok());
  int64_t id = pull.outputs[0].second.id;

  manifest::LineageRetentionRoots roots(metadata_.get(), blobs_.get());
  auto kept = roots.Roots();

  ASSERT_TRUE(kept.ok()) << kept.status().ToString();
  ASSERT_EQ(kept->size(), 1u);
  EXPECT_EQ((*kept)[0].reason, "pulled artifact " + std::to_string(id) +
                                   " (" + artifact.uri +
                                   ", model/weights.bin)");
}

TEST_F(ShareTest, ExpiredSnapshotARunNeedsIsKeptNamingTheRun) {
  WriteBytes(root_ / "train.csv", "x\n1\n2\n");
  data::SnapshotInfo info = Snap(root_ / "train.csv", "train", 1000);
  RecordRun("20260101-000000-abcdef",
            Json::array({{{"name", "train"}, {"version", 1},
                          {"digest", info.digest}}}));

  auto decided =
      ExpireSnapshots(metadata_.get(), info.created_ms + kDay, true);
  ASSERT_TRUE(decided.ok()) << decided.status().ToString();
  ASSERT_EQ(decided->size(), 1u);
  EXPECT_FALSE((*decided)[0].remove);
  EXPECT_EQ((*decided)[0].reason,
            "expired, but run 20260101-000000-abcdef needs it");
  auto shown = snapshots_->Get({"train", 1});
  ASSERT_TRUE(shown.ok());
  EXPECT_FALSE(shown->Removed());
  EXPECT_TRUE(Has(RootDigests(), info.digest));
}

TEST_F(ShareTest, ManifestNeedsListsFolderFilesOnceEach) {
  WriteBytes(root_ / "docs" / "a.txt", "same\n");
  WriteBytes(root_ / "docs" / "b.txt", "same\n");
  WriteBytes(root_ / "docs" / "c.txt", "other\n");
  data::SnapshotInfo info = Snap(root_ / "docs", "docs", 0);
  std::string model = "sha256:" + std::string(64, 'a');
  Json steps = Json::array(
      {{{"name", "train"},
        {"invocation", {{"inputs", {{"docs", info.digest}}}}},
        {"outputs", {{"model", {{"type", "Model"}, {"digest", model}}}}}}});
  Json manifest = {{"run_id", "r1"},
                   {"data", Json::array({{{"name", "docs"},
                                          {"version", 1},
                                          {"digest", info.digest}}})},
                   {"steps", steps}};

  std::vector<manifest::NeededBlob> needs =
      manifest::ManifestNeeds(manifest, blobs_.get());
  std::vector<std::string> names;
  for (const auto& need : needs) names.push_back(need.name);
  // The snapshot's input use repeats its digest and a.txt and b.txt
  // share bytes: each digest is listed once, under its first name.
  EXPECT_EQ(names, (std::vector<std::string>{"data/docs@1",
                                             "data/docs@1/a.txt",
                                             "data/docs@1/c.txt",
                                             "train/model"}));
  EXPECT_EQ(needs[1].digest.ToString(),
            Sha256Sum(root_ / "docs" / "b.txt"));
  EXPECT_EQ(needs[2].digest.ToString(), Sha256Sum(root_ / "docs" / "c.txt"));
  EXPECT_EQ(needs[3].type, "Model");
  EXPECT_EQ(needs[3].reason, "run r1 needs it (step train, output model)");

  // Without a blob store, trees are not opened.
  EXPECT_EQ(manifest::ManifestNeeds(manifest).size(), 2u);
}

TEST_F(ShareTest, ATooLargeManifestIsRefusedBeforeAnyUpload) {
  // 1,200 files over 64 KiB (a layer each) under a path of 3,500 bytes:
  // each layer's descriptor holds its 3,500-byte title, so the manifest
  // passes 4 MiB.
  fs::path deep = root_ / "big";
  for (int i = 0; i < 14; ++i) deep /= std::string(250, 'a' + i);
  std::string bytes(data::kPackedFileLimit + 1, 'x');
  for (int i = 0; i < 1200; ++i) {
    std::string n = std::to_string(i);
    bytes.replace(0, n.size(), n);
    WriteBytes(deep / ("f" + n), bytes);
  }
  Snap(root_ / "big", "big", 0);
  // Nothing listens on port 1: an upload would fail as unavailable.
  registry::Client client(*blobs_, registry::ClientOptions{});
  Sharer sharer(blobs_.get(), metadata_.get(), &client);
  auto target = registry::ParseReference("127.0.0.1:1/data/big:v1", true);
  ASSERT_TRUE(target.ok());
  auto pushed = sharer.PushSnapshot("big@1", *target);
  EXPECT_TRUE(pushed.status().IsInvalidArgument())
      << pushed.status().ToString();
  const std::string& message = pushed.status().message();
  EXPECT_NE(message.find("its OCI manifest would be "), std::string::npos);
  EXPECT_NE(message.find(" bytes for 1202 layers (1200 of them files over "
                         "64 KiB, a layer each), more than the 4194304 "
                         "bytes registries accept; nothing was uploaded"),
            std::string::npos)
      << message;
}

// gc against snapshots of an unchanged folder whose tree vouches for its
// files (data/vouched_trees.h). The snapshots are no roots here (as if
// never recorded), so only the refreshes and the stamps protect them.
class ResnapshotGcTest : public ShareTest {
 protected:
  void SetUp() override {
    ShareTest::SetUp();
    registry_ = std::move(*registry::Registry::Open(root_ / "store"));
    folder_ = root_ / "data";
    WriteBytes(folder_ / "a.txt", "alpha\n");
    WriteBytes(folder_ / "sub" / "b.txt", "beta\n");
    // Past the racy window, so re-snapshots take digests from the cache.
    ::usleep(2'200'000);
  }

  registry::GcReport Collect(const std::function<void()>& after_mark) {
    // As in registry's gc tests: the sleep puts earlier writes before
    // the cutoff on the file system's coarser clock too.
    ::usleep(30'000);
    registry::GcOptions options;
    options.grace_ms = 0;
    options.after_mark = after_mark;
    registry::NoRetentionRoots none;
    auto report = registry::CollectGarbage(
        registry_->index(), registry_->blobs(), none, options);
    EXPECT_TRUE(report.ok()) << report.status().ToString();
    return report.ok() ? *report : registry::GcReport{};
  }

  void ExpectIntact(const std::string& name, int64_t version) {
    auto report = snapshots_->Verify({name, version});
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    EXPECT_EQ(report->problems, std::vector<std::string>{});
  }

  std::unique_ptr<registry::Registry> registry_;
  fs::path folder_;
};

// The snapshot before gc vouched under the old stamp; gc's cutoff is a
// new one, so a re-snapshot between its mark and its sweep refreshes
// every file (young: spared) instead of trusting the tree.
TEST_F(ResnapshotGcTest, SnapshotDuringGcRefreshesEveryFile) {
  Snap(folder_, "s", 0);
  registry::GcReport report =
      Collect([&] { Snap(folder_, "s", 0); });
  EXPECT_TRUE(report.swept.empty());
  ExpectIntact("s", 2);
}

// gc fixed its cutoff before both snapshots: the first wrote the files
// after it, the second trusts them under the same stamp, and the sweep
// finds them young.
TEST_F(ResnapshotGcTest, SnapshotsAfterTheCutoffAreSpared) {
  registry::GcReport report = Collect([&] {
    Snap(folder_, "s", 0);
    Snap(folder_, "s", 0);
  });
  EXPECT_TRUE(report.swept.empty());
  ExpectIntact("s", 2);
}

// gc after both: without roots it sweeps them (they are old and nothing
// holds them), and its stamps end the vouch, so the next snapshot
// stores the files again instead of naming swept blobs.
TEST_F(ResnapshotGcTest, SnapshotAfterAGcThatSweptStoresAgain) {
  Snap(folder_, "s", 0);
  Snap(folder_, "s", 0);
  registry::GcReport report = Collect(nullptr);
  EXPECT_EQ(report.swept.size(), 3u);  // The tree and both files.
  Snap(folder_, "s", 0);
  ExpectIntact("s", 3);
}

TEST(RunIdTest, OnlyOnePathComponent) {
  EXPECT_TRUE(IsValidRunId("20260101-000000-abcdef"));
  EXPECT_FALSE(IsValidRunId(""));
  EXPECT_FALSE(IsValidRunId(".."));
  EXPECT_FALSE(IsValidRunId("a/b"));
  EXPECT_FALSE(IsValidRunId("../../etc"));
  // Found by a tester: a pulled run could not be named on a command line.
  EXPECT_FALSE(IsValidRunId("--help"));
  EXPECT_FALSE(IsValidRunId("-r"));
  EXPECT_FALSE(IsValidRunId(".hidden"));
  EXPECT_TRUE(IsValidRunId("r1.x_y-z"));
}

// A sealed run manifest whose steps are `steps`: its hash verifies,
// whatever the steps hold.
Json SealedRunManifest(Json steps) {
  Json manifest = {
      {"manifest_version", manifest::kManifestVersion},
      {"kind", "lockstep.run"}, {"run_id", "20260101-000000-abcdef"},
      {"status", "succeeded"}, {"started", ""}, {"finished", ""},
      {"pipeline", Json::object()}, {"code", Json::object()},
      {"params", Json::object()}, {"seeds", Json::object()},
      {"data", Json::array()}, {"environment", Json::object()},
      {"sandbox", "none"}, {"warnings", Json::array()},
      {"steps", std::move(steps)}};
  EXPECT_TRUE(manifest::SealManifest(&manifest).ok());
  return manifest;
}

Json GoodStep() {
  return {{"name", "train"}, {"component", "command"}, {"state", "ran"},
          {"cache_key", "sha256:" + std::string(64, 'a')},
          {"inputs", {{"data", {{"digest", "sha256:" + std::string(64, 'b')},
                                {"from", "snapshot:d@1"}}}}},
          {"outputs", {{"model", {{"digest", nullptr}, {"type", "Model"}}}}}};
}

// Found by a tester: a sealed manifest's hash proves nothing about its
// shape, and `"component": 5` ended a pull in a JSON exception (exit 6)
// after parts of the run were registered; a run without steps blocked
// every later gc. Each is refused up front, naming the field.
TEST(RunIdTest, APulledManifestIsCheckedBeforeItsRunIsRecorded) {
  auto refusal = [](Json step) {
    Result<std::string> id =
        Sharer::RunIdOf(SealedRunManifest(Json::array({step})), "r:t");
    EXPECT_TRUE(id.status().IsInvalidArgument()) << id.status().message();
    return id.status().message();
  };
  EXPECT_EQ(*Sharer::RunIdOf(SealedRunManifest(Json::array({GoodStep()})),
                             "r:t"),
            "20260101-000000-abcdef");
  Json step = GoodStep();
  step["component"] = 5;
  EXPECT_EQ(refusal(step), "r:t manifest steps[0].component: want a string");
  step = GoodStep();
  step["name"] = "../x";
  EXPECT_EQ(refusal(step), "r:t manifest steps[0].name: not a step name");
  step = GoodStep();
  step["outputs"]["model"]["digest"] = "hello";
  EXPECT_EQ(refusal(step),
            "r:t manifest steps[0].outputs.model.digest: want a digest");
  step = GoodStep();
  step["inputs"]["../d"] = step["inputs"]["data"];
  EXPECT_EQ(refusal(step),
            "r:t manifest steps[0].inputs.../d: not a port name");
  step = GoodStep();
  step["inputs"]["data"]["digest"] = nullptr;  // Only outputs may be.
  EXPECT_EQ(refusal(step),
            "r:t manifest steps[0].inputs.data.digest: want a digest");
  EXPECT_EQ(Sharer::RunIdOf(SealedRunManifest(
                                Json::array({GoodStep(), GoodStep()})),
                            "r:t")
                .status()
                .message(),
            "r:t manifest steps[1].name: 'train' appears twice");

  Json no_steps = SealedRunManifest(Json::array());
  no_steps.erase("steps");
  ASSERT_TRUE(manifest::SealManifest(&no_steps).ok());
  EXPECT_EQ(Sharer::RunIdOf(no_steps, "r:t").status().message(),
            "r:t manifest: steps: missing or not a list");
}

}  // namespace
}  // namespace lockstep::share
