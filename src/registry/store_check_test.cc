// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "registry/store_check.h"

#include <sqlite3.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

#include "core/files.h"
#include "registry/oci.h"
#include "store/pack.h"

namespace lockstep::registry {
namespace {

namespace fs = std::filesystem;

// The bytes of an OCI image manifest with the empty config and `layers`,
// written out by hand as a client would send it.
std::string ImageManifest(const Digest& config,
                          const std::vector<Digest>& layers) {
  std::string body =
      "{\"schemaVersion\":2,\"mediaType\":\"" + std::string(kOciManifest) +
      "\",\"config\":{\"mediaType\":\"" + std::string(kOciEmptyConfig) +
      "\",\"digest\":\"" + config.ToString() + "\",\"size\":2},\"layers\":[";
  for (size_t i = 0; i < layers.size(); ++i) {
    if (i > 0) body += ",";
    body += "{\"mediaType\":\"application/octet-stream\",\"digest\":\"" +
            layers[i].ToString() + "\",\"size\":1}";
  }
  return body + "]}";
}

std::string IndexManifest(const Digest& child, int64_t child_size) {
  return "{\"schemaVersion\":2,\"mediaType\":\"" + std::string(kOciIndex) +
         "\",\"manifests\":[{\"mediaType\":\"" + std::string(kOciManifest) +
         "\",\"digest\":\"" + child.ToString() +
         "\",\"size\":" + std::to_string(child_size) + "}]}";
}

// Flips the lowest bit of the byte at `offset` of `file`.
void FlipBit(const fs::path& file, uint64_t offset) {
  fs::permissions(file, fs::perms::owner_write, fs::perm_options::add);
  std::fstream stream(file, std::ios::in | std::ios::out | std::ios::binary);
  stream.seekg(static_cast<std::streamoff>(offset));
  char byte = 0;
  stream.get(byte);
  stream.seekp(static_cast<std::streamoff>(offset));
  stream.put(static_cast<char>(byte ^ 1));
}

class StoreCheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = *MakeTempDirectory(fs::temp_directory_path(), "store-check-");
    blobs_ = std::make_unique<store::BlobStore>(root_);
    index_ = std::move(*Index::Open(root_ / "index.db"));
    // A second connection, as `registry serve` in another process has.
    server_ = std::move(*Index::Open(root_ / "index.db"));
    config_ = *blobs_->PutBytes("{}");
  }
  void TearDown() override {
    server_.reset();
    index_.reset();
    RemoveAllQuietly(root_);
  }

  // An image of `layers` stored as the registry stores a push: the blobs,
  // then the manifest's bytes, its row, its references and `tag`, in one
  // write transaction of `index`.
  Digest PushImage(Index& index, const std::string& repo,
                   const std::string& tag,
                   const std::vector<std::string>& layers) {
    std::vector<Digest> digests;
    std::vector<ManifestRef> refs = {{config_, false}};
    for (const std::string& layer : layers) {
      digests.push_back(*blobs_->PutBytes(layer));
      refs.push_back({digests.back(), false});
    }
    std::string body = ImageManifest(config_, digests);
    Digest manifest = Sha256Of(body);
    EXPECT_TRUE(index
                    .InWriteTransaction([&]() -> Status {
                      for (const ManifestRef& ref : refs) {
                        RETURN_IF_ERROR(
                            index.LinkBlob(repo, ref.digest, 1, 1));
                      }
                      RETURN_IF_ERROR(blobs_->PutBytes(body).status());
                      RETURN_IF_ERROR(index.PutManifest(
                          {repo, manifest, std::string(kOciManifest),
                           static_cast<int64_t>(body.size()), "", "", "", 1},
                          refs));
                      return index.SetTag({repo, tag, manifest, 1});
                    })
                    .ok());
    return manifest;
  }

  // An index listing `child`, tagged `tag`.
  Digest PushIndex(const std::string& repo, const std::string& tag,
                   const Digest& child) {
    std::string body = IndexManifest(child, 100);
    Digest digest = *blobs_->PutBytes(body);
    EXPECT_TRUE(index_
                    ->PutManifest({repo, digest, std::string(kOciIndex),
                                   static_cast<int64_t>(body.size()), "", "",
                                   "", 1},
                                  {{child, true}})
                    .ok());
    EXPECT_TRUE(index_->SetTag({repo, tag, digest, 1}).ok());
    return digest;
  }

  // Runs `sql` on the index's database file directly, as a person with
  // the sqlite3 shell would.
  void RunSql(const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((root_ / "index.db").c_str(), &db), SQLITE_OK);
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr),
              SQLITE_OK)
        << sqlite3_errmsg(db);
    sqlite3_close(db);
  }

  Result<StoreCheckReport> Check(const StoreCheckOptions& options = {}) {
    FixedRetentionRoots none({});
    return CheckStore(*blobs_, index_.get(), none, options);
  }

  // "kind digest file" for each problem, sorted.
  std::vector<std::string> Problems(const StoreCheckOptions& options = {}) {
    FixedRetentionRoots none({});
    return Problems(none, options);
  }
  std::vector<std::string> Problems(RetentionRoots& roots,
                                    const StoreCheckOptions& options = {}) {
    auto report = CheckStore(*blobs_, index_.get(), roots, options);
    EXPECT_TRUE(report.ok()) << report.status().ToString();
    std::vector<std::string> found;
    for (const StoreProblem& problem : report->problems) {
      std::string line = problem.kind + " " + problem.digest;
      if (!problem.file.empty()) line += " " + problem.file;
      found.push_back(line);
    }
    std::sort(found.begin(), found.end());
    return found;
  }

  // A pack of `members`, published into the store; returns its file.
  fs::path WritePack(const std::vector<std::string>& members) {
    store::PackWriter writer(blobs_.get());
    for (const std::string& member : members) {
      EXPECT_TRUE(writer.Add(Sha256Of(member), member).ok());
    }
    EXPECT_TRUE(writer.Finish().ok());
    return blobs_->PacksDirectory() /
           (writer.published().at(0).hex() + ".pack");
  }

  fs::path root_;
  std::unique_ptr<store::BlobStore> blobs_;
  std::unique_ptr<Index> index_;
  std::unique_ptr<Index> server_;
  Digest config_;
};

// Found by a tester: an index whose child manifest cleanup had deleted
// was left in place, and nothing in Lockstep could tell.
TEST_F(StoreCheckTest, NamesEveryKindOfDamage) {
  Digest image = PushImage(*index_, "app", "v1", {"a layer", "gone layer"});
  PushIndex("app", "list", Sha256Of("a child manifest"));
  ASSERT_TRUE(index_->SetTag({"app", "v2", Sha256Of("nothing"), 1}).ok());
  ASSERT_TRUE(blobs_->Remove(Sha256Of("gone layer")).ok());
  Digest corrupt = *blobs_->PutBytes("intact");
  FlipBit(blobs_->PathOf(corrupt), 2);
  Digest needed = Sha256Of("needed by a run");
  FixedRetentionRoots roots(
      {{needed, "run r1 needs it"}, {Sha256Of("a layer"), "r2"}});

  std::vector<std::string> expected = {
      "corrupt " + corrupt.ToString(),
      "dangling " + Sha256Of("a child manifest").ToString(),
      "dangling " + Sha256Of("gone layer").ToString(),
      "dangling " + Sha256Of("nothing").ToString(),
      "missing " + needed.ToString()};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(Problems(roots), expected);
  (void)image;
}

// Found by a tester: a DELETE of a layer unlinked it from its repository,
// so the tag no longer pulled, yet the blob was still in the store and
// the check said "no problems".
TEST_F(StoreCheckTest, ABlobTheRepositoryDoesNotHaveIsDangling) {
  Digest image = PushImage(*index_, "app", "v1", {"a layer"});
  Digest layer = Sha256Of("a layer");
  ASSERT_TRUE(index_->UnlinkBlob("app", layer).ok());
  // Linked elsewhere does not help: the registry serves per repository.
  ASSERT_TRUE(index_->LinkBlob("other", layer, 7, 1).ok());

  auto report = Check();

  ASSERT_TRUE(report.ok());
  ASSERT_EQ(report->problems.size(), 1u);
  EXPECT_EQ(report->problems[0],
            (StoreProblem{"dangling", layer.ToString(),
                          "app@" + image.ToString() +
                              " references a blob app does not have",
                          ""}));
}

TEST_F(StoreCheckTest, ASoundStoreHasNoProblems) {
  Digest image = PushImage(*index_, "app", "v1", {"a layer"});
  PushIndex("app", "list", image);
  WritePack({"packed one", "packed two"});
  // Loose as well, as an upload of the same bytes makes.
  ASSERT_TRUE(blobs_->PutBytes("packed one").ok());
  FixedRetentionRoots roots({{Sha256Of("a layer"), "run r1 needs it"}});

  auto report = CheckStore(*blobs_, index_.get(), roots, {});

  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->problems.empty());
  // Loose: {}, the layer, the image, the index, "packed one"; packed:
  // both members.
  EXPECT_EQ(report->blobs_checked, 7u);
  EXPECT_EQ(report->packs_checked, 1u);
  uint64_t loose = 2 + 7 + ImageManifest(config_, {Sha256Of("a layer")})
                               .size() +
                   IndexManifest(image, 100).size() + 10;
  EXPECT_EQ(report->bytes_checked, loose + 10 + 10);
}

// Found by a tester: a manifest_refs row deleted by hand went unseen, and
// gc (which marks from those rows) then swept a tagged image's layer.
TEST_F(StoreCheckTest, FollowsTheManifestBytesNotOnlyTheirRows) {
  Digest image = PushImage(*index_, "app", "v2", {"layer-b", "layer-c"});
  Digest list = PushIndex("app", "list", image);
  Digest layer = Sha256Of("layer-c");
  RunSql("DELETE FROM manifest_refs WHERE child = '" + layer.ToString() +
         "'");
  RunSql("DELETE FROM manifest_refs WHERE manifest = '" + list.ToString() +
         "'");

  std::vector<std::string> expected = {"index " + image.ToString(),
                                       "index " + layer.ToString()};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(Problems(), expected);

  // What gc would then do: the layer goes, and the bytes still name it.
  ASSERT_TRUE(blobs_->Remove(layer).ok());
  expected.push_back("dangling " + layer.ToString());
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(Problems(), expected);
}

TEST_F(StoreCheckTest, ARowTheBytesDoNotMakeIsIndexDamage) {
  Digest image = PushImage(*index_, "app", "v1", {"a layer"});
  Digest stray = Sha256Of("never referenced");
  RunSql("INSERT INTO manifest_refs VALUES ('app', '" + image.ToString() +
         "', '" + stray.ToString() + "', 0)");
  RunSql("UPDATE manifest_refs SET is_manifest = 1 WHERE child = '" +
         Sha256Of("a layer").ToString() + "'");

  std::vector<std::string> expected = {
      "index " + Sha256Of("a layer").ToString(),
      "index " + stray.ToString()};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(Problems(), expected);
}

TEST_F(StoreCheckTest, AManifestWhoseBytesDoNotParseIsInvalid) {
  Digest bytes = *blobs_->PutBytes("{\"schemaVersion\":2,\"layers\":7}");
  ASSERT_TRUE(index_
                  ->PutManifest({"app", bytes, std::string(kOciManifest), 31,
                                 "", "", "", 1},
                                {})
                  .ok());

  auto report = Check();

  ASSERT_TRUE(report.ok());
  ASSERT_EQ(report->problems.size(), 1u);
  EXPECT_EQ(report->problems[0].kind, "invalid");
  EXPECT_EQ(report->problems[0].digest, bytes.ToString());
  EXPECT_NE(report->problems[0].detail.find("app@" + bytes.ToString() +
                                            " no longer parses"),
            std::string::npos)
      << report->problems[0].detail;
}

TEST_F(StoreCheckTest, ACorruptManifestIsReportedOnce) {
  Digest image = PushImage(*index_, "app", "v1", {"a layer"});
  FlipBit(blobs_->PathOf(image), 10);

  EXPECT_EQ(Problems(),
            (std::vector<std::string>{"corrupt " + image.ToString()}));
  StoreCheckOptions no_hash;
  no_hash.skip_hashing = true;
  EXPECT_EQ(Problems(no_hash),
            (std::vector<std::string>{"corrupt " + image.ToString()}));
}

// Found by a tester: a packed copy was never re-hashed when a loose copy
// of the same blob existed.
TEST_F(StoreCheckTest, RehashesAPackedCopyBesideALooseOne) {
  fs::path pack = WritePack({"first member", "second member"});
  ASSERT_TRUE(blobs_->PutBytes("first member").ok());
  ASSERT_TRUE(blobs_->PutBytes("second member").ok());
  FlipBit(pack, 3);  // Inside "first member", written first at offset 0.

  EXPECT_EQ(Problems(), (std::vector<std::string>{
                            "corrupt " + Sha256Of("first member").ToString() +
                            " " + pack.string()}));
}

// Found by a tester: a flipped bit in a pack's index was silent when the
// blobs had loose copies or no snapshot named them.
TEST_F(StoreCheckTest, NamesAPackWhoseIndexIsDamaged) {
  fs::path pack = WritePack({"first member", "second member"});
  ASSERT_TRUE(blobs_->PutBytes("first member").ok());
  uint64_t data = std::string("first membersecond member").size();
  FlipBit(pack, data + 5);  // In the first index entry's digest.

  auto report = Check();

  ASSERT_TRUE(report.ok());
  ASSERT_EQ(report->problems.size(), 1u);
  const StoreProblem& problem = report->problems[0];
  EXPECT_EQ(problem.kind, "corrupt");
  EXPECT_EQ(problem.digest, "");
  EXPECT_EQ(problem.file, pack.string());
  EXPECT_EQ(problem.detail, "pack " + pack.string() +
                                " is corrupt: its index does not hash to "
                                "its name; no blob in it can be read");
  EXPECT_EQ(report->packs_checked, 0u);
}

// Found by a tester: with `registry serve` re-tagging, verify read the
// tags after the manifests and reported a tag pointing at a manifest
// pushed in between. A push and a delete of the same manifest, around
// each look, make the same false report twice without one snapshot.
TEST_F(StoreCheckTest, ATagMovedDuringTheReadIsNoProblem) {
  PushImage(*index_, "app", "v1", {"a layer"});
  Digest pushed;
  StoreCheckOptions options;
  options.during_read = [&](const std::string& repo) {
    pushed = PushImage(*server_, repo, "v1", {"another layer"});
  };
  options.after_read = [&](const std::string& repo) {
    ASSERT_TRUE(server_->DeleteManifest(repo, pushed).ok());
  };

  EXPECT_EQ(Problems(options), std::vector<std::string>{});
}

// A client deletes a manifest after the snapshot, and gc sweeps its
// bytes and layer before the check looks for them.
TEST_F(StoreCheckTest, AManifestDeletedAndSweptDuringTheCheckIsNoProblem) {
  Digest image = PushImage(*index_, "app", "v1", {"a layer"});
  bool swept = false;
  StoreCheckOptions options;
  options.after_read = [&](const std::string& repo) {
    if (swept) return;
    swept = true;
    ASSERT_TRUE(server_->DeleteManifest(repo, image).ok());
    ASSERT_TRUE(blobs_->Remove(image).ok());
    ASSERT_TRUE(blobs_->Remove(Sha256Of("a layer")).ok());
  };

  EXPECT_EQ(Problems(options), std::vector<std::string>{});
  // Damage made the same way and left in place is still found.
  PushImage(*index_, "app", "v2", {"a layer"});
  ASSERT_TRUE(blobs_->Remove(Sha256Of("a layer")).ok());
  EXPECT_EQ(Problems(), (std::vector<std::string>{
                            "dangling " + Sha256Of("a layer").ToString()}));
}

// Found by a tester: one run manifest that no longer matched its hash
// stopped the whole check (exit 4, "refusing to collect garbage"), and
// the other damage went unreported.
class UnreadableRoots : public RetentionRoots {
 public:
  Result<std::vector<KeptBlob>> Roots() override {
    return Status::DataLoss("runs/r1/manifest.json: manifest hash does not "
                            "match");
  }
};

TEST_F(StoreCheckTest, AnUnreadableRunIsOneProblemAmongOthers) {
  Digest corrupt = *blobs_->PutBytes("intact");
  fs::path file = blobs_->PathOf(corrupt);
  fs::permissions(file, fs::perms::owner_write, fs::perm_options::add);
  ASSERT_TRUE(WriteFileAtomically(file, "damage").ok());
  UnreadableRoots roots;

  auto report = CheckStore(*blobs_, index_.get(), roots, {});

  ASSERT_TRUE(report.ok()) << report.status().ToString();
  ASSERT_EQ(report->problems.size(), 2u);
  EXPECT_EQ(report->problems[0].kind, "corrupt");
  EXPECT_EQ(report->problems[0].digest, corrupt.ToString());
  EXPECT_EQ(report->problems[1].kind, "corrupt");
  EXPECT_NE(report->problems[1].detail.find("runs/r1/manifest.json"),
            std::string::npos);
}

}  // namespace
}  // namespace lockstep::registry
