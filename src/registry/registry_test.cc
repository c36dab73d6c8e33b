// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "registry/registry.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "core/files.h"

namespace lockstep::registry {
namespace {

// Digests of test strings, computed here through the shared SHA-256 (its
// own known-answer tests live in core/digest_test.cc).
std::string DigestOf(std::string_view bytes) {
  return Sha256Of(bytes).ToString();
}

class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = *MakeTempDirectory(fs::temp_directory_path(), "registry-");
    registry_ = std::move(*Registry::Open(root_));
  }
  void TearDown() override {
    registry_.reset();
    RemoveAllQuietly(root_);
  }

  // Pushes a blob and returns its digest text.
  std::string Blob(const std::string& repo, const std::string& bytes) {
    auto pushed = registry_->PutBlob(repo, bytes, DigestOf(bytes));
    EXPECT_TRUE(pushed.ok()) << pushed.error().message;
    return DigestOf(bytes);
  }

  // An OCI image manifest over `layer` (pushed first) with a config.
  std::string ImageManifest(const std::string& repo, const std::string& layer,
                            const std::string& extra = "") {
    std::string config = "{\"layer\":\"" + layer + "\"}";
    std::string config_digest = Blob(repo, config);
    std::string layer_digest = Blob(repo, layer);
    return "{\"schemaVersion\":2,\"mediaType\":\"" + std::string(kOciManifest) +
           "\",\"config\":{\"mediaType\":\"application/vnd.oci.image.config"
           ".v1+json\",\"digest\":\"" + config_digest + "\",\"size\":" +
           std::to_string(config.size()) + "},\"layers\":[{\"mediaType\":"
           "\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"" +
           layer_digest + "\",\"size\":" + std::to_string(layer.size()) +
           "}]" + extra + "}";
  }

  std::vector<std::string> Tags(const std::string& repo,
                                std::optional<int64_t> n = std::nullopt,
                                const std::string& last = "") {
    auto page = registry_->ListTags(repo, n, last);
    EXPECT_TRUE(page.ok());
    return page.ok() ? page->tags : std::vector<std::string>{};
  }

  fs::path root_;
  std::unique_ptr<Registry> registry_;
};

TEST_F(RegistryTest, WrongDigestIsRefusedAndStoresNothing) {
  std::string claimed = DigestOf("something else");
  auto pushed = registry_->PutBlob("demo", "payload", claimed);
  ASSERT_FALSE(pushed.ok());
  EXPECT_EQ(pushed.error().http_status, 400);
  EXPECT_EQ(pushed.error().code, "DIGEST_INVALID");
  EXPECT_FALSE(registry_->blobs().Contains(Sha256Of("payload")));
  EXPECT_FALSE(registry_->blobs().Contains(Sha256Of("something else")));
  EXPECT_FALSE(registry_->StatBlob("demo", DigestOf("payload")).ok());
  // Nothing was left behind in the store's temporary folder either.
  EXPECT_TRUE(fs::is_empty(root_ / "tmp"));
}

TEST_F(RegistryTest, OutOfOrderChunkIs416AndLeavesUploadUnchanged) {
  auto upload = registry_->StartUpload("demo");
  ASSERT_TRUE(upload.ok());
  auto chunk = [](std::string bytes) {
    return [bytes](const Registry::ChunkSink& sink) {
      return sink(bytes.data(), bytes.size());
    };
  };
  ASSERT_TRUE(registry_->AppendChunk("demo", upload->id, ByteSpan{0, 2},
                                     chunk("abc")).ok());

  auto skipped = registry_->AppendChunk("demo", upload->id, ByteSpan{5, 7},
                                        chunk("xyz"));
  ASSERT_FALSE(skipped.ok());
  EXPECT_EQ(skipped.error().http_status, 416);
  EXPECT_EQ(registry_->UploadStatus("demo", upload->id)->size, 3u);

  ASSERT_TRUE(registry_->AppendChunk("demo", upload->id, ByteSpan{3, 5},
                                     chunk("def")).ok());
  auto done = registry_->FinishUpload("demo", upload->id, DigestOf("abcdef"));
  ASSERT_TRUE(done.ok()) << done.error().message;
  EXPECT_EQ(*registry_->blobs().ReadVerified(*done), "abcdef");
}

// Found by a tester: a chunked request body (no Content-Length to check
// first) was stored whatever its Content-Range said.
TEST_F(RegistryTest, AChunkLongerOrShorterThanItsRangeIs416AndUndone) {
  auto upload = registry_->StartUpload("demo");
  ASSERT_TRUE(upload.ok());
  auto chunk = [](std::string bytes) {
    return [bytes](const Registry::ChunkSink& sink) {
      return sink(bytes.data(), bytes.size());
    };
  };
  ASSERT_TRUE(registry_->AppendChunk("demo", upload->id, ByteSpan{0, 1},
                                     chunk("ab")).ok());

  auto short_body = registry_->AppendChunk("demo", upload->id,
                                           ByteSpan{2, 6}, chunk("cd"));
  ASSERT_FALSE(short_body.ok());
  EXPECT_EQ(short_body.error().http_status, 416);
  EXPECT_EQ(short_body.error().code, "BLOB_UPLOAD_INVALID");
  EXPECT_EQ(short_body.error().message,
            "Content-Range 2-6 covers 5 bytes but the body had 2; the "
            "upload is unchanged");
  EXPECT_EQ(registry_->UploadStatus("demo", upload->id)->size, 2u);

  auto long_body = registry_->AppendChunk("demo", upload->id,
                                          ByteSpan{2, 3}, chunk("cdXYZ"));
  ASSERT_FALSE(long_body.ok());
  EXPECT_EQ(long_body.error().http_status, 416);
  EXPECT_EQ(registry_->UploadStatus("demo", upload->id)->size, 2u);

  ASSERT_TRUE(registry_->AppendChunk("demo", upload->id, ByteSpan{2, 5},
                                     chunk("cdef")).ok());
  auto done = registry_->FinishUpload("demo", upload->id, DigestOf("abcdef"));
  ASSERT_TRUE(done.ok()) << done.error().message;
  EXPECT_EQ(*registry_->blobs().ReadVerified(*done), "abcdef");
}

// Found by a tester: a chunk cut off mid-way ended the whole upload,
// chunks accepted before it included, so a client could not resume by
// asking for the upload's Range.
TEST_F(RegistryTest, AChunkCutShortKeepsWhatArrived) {
  auto upload = registry_->StartUpload("demo");
  ASSERT_TRUE(upload.ok());
  auto whole = [](std::string bytes) {
    return [bytes](const Registry::ChunkSink& sink) {
      return sink(bytes.data(), bytes.size());
    };
  };
  ASSERT_TRUE(registry_->AppendChunk("demo", upload->id, ByteSpan{0, 1},
                                     whole("ab")).ok());

  auto cut = registry_->AppendChunk(
      "demo", upload->id, ByteSpan{2, 5}, [](const Registry::ChunkSink& sink) {
        sink("cd", 2);
        return false;  // The connection went away.
      });

  ASSERT_FALSE(cut.ok());
  EXPECT_EQ(cut.error().code, "BLOB_UPLOAD_INVALID");
  auto status = registry_->UploadStatus("demo", upload->id);
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->size, 4u);
  ASSERT_TRUE(registry_->AppendChunk("demo", upload->id, ByteSpan{4, 5},
                                     whole("ef")).ok());
  auto done = registry_->FinishUpload("demo", upload->id, DigestOf("abcdef"));
  ASSERT_TRUE(done.ok()) << done.error().message;
}

// Found by a tester: a server out of open files answered 404
// MANIFEST_UNKNOWN for a manifest it holds, which tells a client the
// content is gone. A read that fails other than by absence is 503.
TEST_F(RegistryTest, AManifestThatCannotBeReadNowIsUnavailableNotUnknown) {
  std::string manifest = ImageManifest("demo", "layer");
  auto put = registry_->PutManifest("demo", "v1", std::string(kOciManifest),
                                    manifest);
  ASSERT_TRUE(put.ok()) << put.error().message;
  fs::path file = registry_->blobs().PathOf(Sha256Of(manifest));
  fs::remove(file);
  fs::create_directory(file);  // Reading it fails, and not as absence.

  auto busy = registry_->GetManifest("demo", "v1");

  ASSERT_FALSE(busy.ok());
  EXPECT_EQ(busy.error().http_status, 503);
  EXPECT_EQ(busy.error().code, "UNAVAILABLE");
  fs::remove(file);
  auto gone = registry_->GetManifest("demo", "v1");
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().code, "MANIFEST_UNKNOWN");
}

// Found by a tester: with registry/index.db deleted or emptied, gc saw
// no tags and would have swept every pushed blob, and store verify said
// "no problems". A lost index is refused instead.
TEST_F(RegistryTest, ALostIndexIsRefusedNotRecreated) {
  registry_.reset();
  fs::path db = RegistryIndexPath(root_);
  ASSERT_TRUE(fs::exists(db));
  ASSERT_TRUE(fs::exists(root_ / ".registry-index.created"));

  ASSERT_TRUE(WriteFileAtomically(db, "").ok());
  fs::remove(db.string() + "-wal");
  auto emptied = Registry::Open(root_);
  fs::remove(db);
  auto removed = Registry::Open(root_);

  ASSERT_FALSE(emptied.ok());
  EXPECT_EQ(emptied.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(emptied.status().message().find("the registry index is empty"),
            std::string::npos)
      << emptied.status().message();
  ASSERT_FALSE(removed.ok());
  EXPECT_NE(removed.status().message().find("the registry index is missing"),
            std::string::npos);
  EXPECT_FALSE(fs::exists(db)) << "nothing was recreated";
  // A store that never served has nothing to lose.
  fs::remove(root_ / ".registry-index.created");
  EXPECT_TRUE(Registry::Open(root_).ok());
}

TEST_F(RegistryTest, UnknownSessionIsBlobUploadUnknown) {
  auto status = registry_->UploadStatus("demo", "no-such-session");
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, "BLOB_UPLOAD_UNKNOWN");
  EXPECT_EQ(status.error().http_status, 404);
}

size_t FilesIn(const fs::path& folder) {
  size_t count = 0;
  for (const auto& unused : fs::directory_iterator(folder)) ++count;
  return count;
}

// Found by a tester: every unfinished upload kept an open file and a
// temporary file until the server restarted; 250 of them made every
// later upload fail with "Too many open files".
TEST_F(RegistryTest, IdleUploadSessionsEnd) {
  registry_->set_upload_limits({.idle_ms = 50});
  auto upload = registry_->StartUpload("demo");
  ASSERT_TRUE(upload.ok());
  EXPECT_EQ(FilesIn(root_ / "tmp"), 1u);

  std::this_thread::sleep_for(std::chrono::milliseconds(120));

  auto status = registry_->UploadStatus("demo", upload->id);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, "BLOB_UPLOAD_UNKNOWN");
  EXPECT_EQ(registry_->open_upload_sessions(), 0u);
  EXPECT_EQ(FilesIn(root_ / "tmp"), 0u);
}

TEST_F(RegistryTest, AtTheSessionLimitTheLongestIdleMakesRoom) {
  registry_->set_upload_limits(
      {.idle_ms = 60'000, .max_sessions = 2, .evictable_idle_ms = 0});
  auto first = registry_->StartUpload("demo");
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  auto second = registry_->StartUpload("demo");
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_TRUE(registry_->UploadStatus("demo", first->id).ok());  // Active.

  auto third = registry_->StartUpload("demo");

  ASSERT_TRUE(third.ok());
  EXPECT_EQ(registry_->open_upload_sessions(), 2u);
  EXPECT_TRUE(registry_->UploadStatus("demo", first->id).ok());
  EXPECT_FALSE(registry_->UploadStatus("demo", second->id).ok());
  EXPECT_EQ(FilesIn(root_ / "tmp"), 2u);
}

// Found by a tester: a session ended to make room while its PATCH was
// still arriving answered 202, though its bytes were thrown away.
TEST_F(RegistryTest, ASessionEndedMidChunkSaysSo) {
  registry_->set_upload_limits(
      {.idle_ms = 60'000, .max_sessions = 1, .evictable_idle_ms = 0});
  auto first = registry_->StartUpload("demo");
  ASSERT_TRUE(first.ok());
  bool second_started = false;

  auto appended = registry_->AppendChunk(
      "demo", first->id, std::nullopt, [&](const Registry::ChunkSink& sink) {
        if (!sink("a", 1)) return false;
        // Another client's upload takes the only place meanwhile.
        second_started = registry_->StartUpload("demo").ok();
        return sink("b", 1);
      });

  EXPECT_TRUE(second_started);
  ASSERT_FALSE(appended.ok());
  EXPECT_EQ(appended.error().code, "BLOB_UPLOAD_UNKNOWN");
}

// A session receiving bytes, however slowly, is busy.
TEST_F(RegistryTest, ASlowChunkIsNotIdle) {
  registry_->set_upload_limits(
      {.idle_ms = 60'000, .max_sessions = 1, .evictable_idle_ms = 200});
  auto first = registry_->StartUpload("demo");
  ASSERT_TRUE(first.ok());
  bool refused = false;

  auto appended = registry_->AppendChunk(
      "demo", first->id, std::nullopt, [&](const Registry::ChunkSink& sink) {
        // 300 ms in all, longer than may be idle, in 20 ms gaps.
        for (int i = 0; i < 15; ++i) {
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
          if (!sink("x", 1)) return false;
        }
        auto second = registry_->StartUpload("demo");
        refused = !second.ok() && second.error().http_status == 429;
        return true;
      });

  ASSERT_TRUE(appended.ok()) << appended.error().message;
  EXPECT_EQ(appended->size, 15u);
  EXPECT_TRUE(refused);
}

TEST_F(RegistryTest, WhenEverySessionIsBusyANewUploadIs429) {
  registry_->set_upload_limits(
      {.idle_ms = 60'000, .max_sessions = 1, .evictable_idle_ms = 60'000});
  auto busy = registry_->StartUpload("demo");
  ASSERT_TRUE(busy.ok());

  auto refused = registry_->StartUpload("demo");

  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().http_status, 429);
  EXPECT_EQ(refused.error().code, "TOOMANYREQUESTS");
  EXPECT_TRUE(registry_->UploadStatus("demo", busy->id).ok());
}

// Found by a tester: an upload whose temporary file was removed (gc
// judged it left by a killed process) failed its commit with a 500 that
// named a blobs/ path. The client is now told to start again.
TEST_F(RegistryTest, AnUploadWhoseFileWasRemovedIsUnknown) {
  auto upload = registry_->StartUpload("demo");
  ASSERT_TRUE(upload.ok());
  ASSERT_TRUE(registry_
                  ->AppendChunk("demo", upload->id, std::nullopt,
                                [](const Registry::ChunkSink& sink) {
                                  return sink("abc", 3);
                                })
                  .ok());
  for (const auto& entry : fs::directory_iterator(root_ / "tmp")) {
    fs::remove(entry.path());
  }

  auto done = registry_->FinishUpload("demo", upload->id, DigestOf("abc"));

  ASSERT_FALSE(done.ok());
  EXPECT_EQ(done.error().code, "BLOB_UPLOAD_UNKNOWN");
  EXPECT_EQ(done.error().http_status, 404);
  EXPECT_FALSE(registry_->blobs().Contains(Sha256Of("abc")));
}

TEST_F(RegistryTest, TagPagination) {
  std::string manifest = ImageManifest("demo", "layer");
  for (const char* tag : {"d", "a", "c", "b", "e"}) {
    ASSERT_TRUE(
        registry_->PutManifest("demo", tag, std::string(kOciManifest), manifest)
            .ok());
  }
  auto first = registry_->ListTags("demo", 2, "");
  EXPECT_EQ(first->tags, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(first->more);
  // `last` need not be an existing tag: listing resumes after it.
  auto after = registry_->ListTags("demo", 2, "bb");
  EXPECT_EQ(after->tags, (std::vector<std::string>{"c", "d"}));
  EXPECT_TRUE(after->more);
  auto tail = registry_->ListTags("demo", 2, "d");
  EXPECT_EQ(tail->tags, (std::vector<std::string>{"e"}));
  EXPECT_FALSE(tail->more);
  auto exact = registry_->ListTags("demo", 2, "c");
  EXPECT_EQ(exact->tags, (std::vector<std::string>{"d", "e"}));
  EXPECT_FALSE(exact->more);
  auto none = registry_->ListTags("demo", 0, "");
  EXPECT_TRUE(none->tags.empty());
  EXPECT_FALSE(none->more);
  EXPECT_EQ(Tags("demo"), (std::vector<std::string>{"a", "b", "c", "d", "e"}));
  EXPECT_EQ(registry_->ListTags("nobody", 2, "").error().code, "NAME_UNKNOWN");
}

TEST_F(RegistryTest, ManifestWithMissingBlobNamesTheDigest) {
  std::string config_digest = Blob("demo", "{}");
  std::string missing = DigestOf("never pushed");
  std::string manifest =
      "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"application/vnd.oci."
      "image.config.v1+json\",\"digest\":\"" + config_digest +
      "\",\"size\":2},\"layers\":[{\"mediaType\":\"application/vnd.oci.image."
      "layer.v1.tar\",\"digest\":\"" + missing + "\",\"size\":12}]}";
  auto put = registry_->PutManifest("demo", "v1", std::string(kOciManifest),
                                    manifest);
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.error().code, "MANIFEST_BLOB_UNKNOWN");
  EXPECT_EQ(put.error().http_status, 400);
  EXPECT_NE(put.error().message.find(missing), std::string::npos);
  EXPECT_EQ(registry_->GetManifest("demo", "v1").error().code,
            "MANIFEST_UNKNOWN");
}

// Found by a tester: a non-distributable layer was accepted absent and
// unchecked even without `urls`, from which alone a client could get it.
TEST_F(RegistryTest, OnlyALayerWithUrlsMayBeAbsent) {
  std::string config = Blob("demo", "{}");
  std::string present = Blob("demo", "layer1");
  std::string absent = DigestOf("never pushed");
  auto manifest = [&](const std::string& layers) {
    return "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"application/"
           "vnd.oci.image.config.v1+json\",\"digest\":\"" + config +
           "\",\"size\":2},\"layers\":[" + layers + "]}";
  };
  auto layer = [](const std::string& digest, int size,
                  const std::string& urls) {
    return "{\"mediaType\":\"application/vnd.oci.image.layer."
           "nondistributable.v1.tar+gzip\",\"digest\":\"" + digest +
           "\",\"size\":" + std::to_string(size) + urls + "}";
  };
  std::string urls = ",\"urls\":[\"https://example.com/l\"]";
  std::string type(kOciManifest);

  auto no_urls = registry_->PutManifest("demo", "a", type,
                                        manifest(layer(absent, 12, "")));
  ASSERT_FALSE(no_urls.ok());
  EXPECT_EQ(no_urls.error().code, "MANIFEST_BLOB_UNKNOWN");
  EXPECT_EQ(no_urls.error().message,
            "blob " + absent + " is not in repository demo");
  auto wrong_size = registry_->PutManifest(
      "demo", "b", type, manifest(layer(present, 999, "")));
  ASSERT_FALSE(wrong_size.ok());
  EXPECT_EQ(wrong_size.error().message,
            "layers[0]: size 999 differs from " + present + "'s 6 bytes");

  EXPECT_TRUE(registry_->PutManifest("demo", "c", type,
                                     manifest(layer(absent, 12, urls)))
                  .ok());
  // The field is named as it stands in the manifest, whatever precedes
  // it.
  auto after = registry_->PutManifest(
      "demo", "d", type,
      manifest(layer(absent, 12, urls) + "," + layer(present, 7, "")));
  ASSERT_FALSE(after.ok());
  EXPECT_EQ(after.error().message,
            "layers[1]: size 7 differs from " + present + "'s 6 bytes");
}

// Found by a tester: deleting a blob a tagged manifest uses was accepted,
// and the tag no longer pulled.
TEST_F(RegistryTest, ABlobAManifestUsesCannotBeDeleted) {
  std::string type(kOciManifest);
  std::string one = ImageManifest("demo", "layer");
  std::string two = ImageManifest("demo", "layer", ",\"annotations\":{}");
  ASSERT_TRUE(registry_->PutManifest("demo", "v1", type, one).ok());
  ASSERT_TRUE(registry_->PutManifest("demo", DigestOf(two), type, two).ok());
  std::string layer = DigestOf("layer");

  // The manifest a tag holds is named, whatever the digests' order.
  auto refused = registry_->DeleteBlob("demo", layer);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().http_status, 405);
  EXPECT_EQ(refused.error().code, "DENIED");
  EXPECT_EQ(refused.error().message,
            "blob " + layer + " is used by manifest " + DigestOf(one) +
                " (and 1 more) in demo, held by tag v1; delete that "
                "manifest first");
  EXPECT_TRUE(registry_->StatBlob("demo", layer).ok());

  // Untagged, they still use it: the first is named.
  ASSERT_TRUE(registry_->DeleteManifest("demo", "v1").ok());
  std::string first = std::min(DigestOf(one), DigestOf(two));
  EXPECT_EQ(registry_->DeleteBlob("demo", layer).error().message,
            "blob " + layer + " is used by manifest " + first +
                " (and 1 more) in demo; delete that manifest first");

  ASSERT_TRUE(registry_->DeleteManifest("demo", DigestOf(one)).ok());
  ASSERT_TRUE(registry_->DeleteManifest("demo", DigestOf(two)).ok());
  EXPECT_TRUE(registry_->DeleteBlob("demo", layer).ok());
  EXPECT_EQ(registry_->StatBlob("demo", layer).error().code, "BLOB_UNKNOWN");
}

// Found by a tester: deleting a manifest a tagged index lists was
// accepted, leaving an index that cannot be pulled.
TEST_F(RegistryTest, AManifestAnIndexListsCannotBeDeleted) {
  std::string type(kOciManifest);
  std::string child = ImageManifest("demo", "child");
  std::string child_digest = DigestOf(child);
  ASSERT_TRUE(registry_->PutManifest("demo", child_digest, type, child).ok());
  std::string index =
      "{\"schemaVersion\":2,\"mediaType\":\"" + std::string(kOciIndex) +
      "\",\"manifests\":[{\"mediaType\":\"" + type + "\",\"digest\":\"" +
      child_digest + "\",\"size\":" + std::to_string(child.size()) + "}]}";
  ASSERT_TRUE(registry_->PutManifest("demo", "list", std::string(kOciIndex),
                                     index).ok());
  // A referrer of the child does not hold it.
  std::string sig = ImageManifest(
      "demo", "sig",
      ",\"subject\":{\"mediaType\":\"" + type + "\",\"digest\":\"" +
          child_digest + "\",\"size\":" + std::to_string(child.size()) + "}");
  ASSERT_TRUE(registry_->PutManifest("demo", DigestOf(sig), type, sig).ok());

  auto refused = registry_->DeleteManifest("demo", child_digest);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().http_status, 405);
  EXPECT_EQ(refused.error().code, "DENIED");
  EXPECT_EQ(refused.error().message,
            "manifest " + child_digest + " is listed by index " +
                DigestOf(index) +
                " in demo, held by tag list; delete that index first");
  EXPECT_TRUE(registry_->GetManifest("demo", child_digest).ok());

  ASSERT_TRUE(registry_->DeleteManifest("demo", DigestOf(index)).ok());
  EXPECT_TRUE(registry_->DeleteManifest("demo", child_digest).ok());
  EXPECT_EQ(registry_->GetManifest("demo", DigestOf(sig))->body, sig);
}

TEST_F(RegistryTest, BlobInAnotherRepositoryDoesNotSatisfyManifest) {
  std::string manifest = ImageManifest("other", "layer");
  auto put = registry_->PutManifest("demo", "v1", std::string(kOciManifest),
                                    manifest);
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.error().code, "MANIFEST_BLOB_UNKNOWN");
}

TEST_F(RegistryTest, ManifestIsServedAsExactBytes) {
  // Unusual spacing survives: the registry never re-serializes.
  std::string manifest = ImageManifest("demo", "layer") + "\n  ";
  auto put = registry_->PutManifest("demo", "v1", std::string(kOciManifest),
                                    manifest);
  ASSERT_TRUE(put.ok()) << put.error().message;
  EXPECT_EQ(put->digest.ToString(), DigestOf(manifest));
  auto got = registry_->GetManifest("demo", "v1");
  EXPECT_EQ(got->body, manifest);
  EXPECT_EQ(got->media_type, kOciManifest);
  EXPECT_EQ(registry_->GetManifest("demo", DigestOf(manifest))->body,
            manifest);
}

TEST_F(RegistryTest, PutByWrongDigestIsDigestInvalid) {
  std::string manifest = ImageManifest("demo", "layer");
  auto put = registry_->PutManifest("demo", DigestOf("other"),
                                    std::string(kOciManifest), manifest);
  EXPECT_EQ(put.error().code, "DIGEST_INVALID");
}

TEST_F(RegistryTest, InvalidNamesAndTags) {
  EXPECT_EQ(registry_->StartUpload("Demo").error().code, "NAME_INVALID");
  EXPECT_EQ(registry_->StartUpload("demo//x").error().code, "NAME_INVALID");
  EXPECT_TRUE(registry_->StartUpload("a/b-c/d__e.f").ok());
  std::string manifest = ImageManifest("demo", "layer");
  EXPECT_EQ(registry_->PutManifest("demo", "-bad", std::string(kOciManifest),
                                   manifest).error().code,
            "TAG_INVALID");
}

// From the OCI conformance suite ("GET nonexistent manifest should return
// 404"): a lookup by a name no tag can have is a 404, not a 400.
TEST_F(RegistryTest, LookupByInvalidTagIsManifestUnknown) {
  auto got = registry_->GetManifest("demo", ".INVALID_MANIFEST_NAME");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().http_status, 404);
  EXPECT_EQ(got.error().code, "MANIFEST_UNKNOWN");
  auto deleted = registry_->DeleteManifest("demo", "-bad");
  ASSERT_FALSE(deleted.ok());
  EXPECT_EQ(deleted.error().http_status, 404);
}

// Found by a tester: a mistyped name ("prod/ap" for "prod/app") was
// recorded, reported protected, and left the real one mutable.
TEST_F(RegistryTest, ImmutableTagsNeedAKnownRepository) {
  Blob("prod/app", "x");
  Status typo = registry_->SetTagsImmutable("prod/ap", true,
                                            store::CreateIfMissing::kNo);
  EXPECT_TRUE(typo.IsNotFound()) << typo.ToString();
  EXPECT_NE(typo.message().find("prod/ap"), std::string::npos);
  auto catalog = registry_->Catalog(std::nullopt, "");
  ASSERT_TRUE(catalog.ok());
  EXPECT_EQ(catalog->tags, std::vector<std::string>{"prod/app"});

  EXPECT_TRUE(registry_->SetTagsImmutable("prod/app", true,
                                          store::CreateIfMissing::kNo)
                  .ok());
  EXPECT_TRUE(registry_->SetTagsImmutable("next/app", true,
                                          store::CreateIfMissing::kYes)
                  .ok());
  EXPECT_TRUE(registry_->index().TagsImmutable("next/app").value());
}

TEST_F(RegistryTest, ImmutableTags) {
  ASSERT_TRUE(registry_->SetTagsImmutable("demo", true,
                                           store::CreateIfMissing::kYes).ok());
  std::string one = ImageManifest("demo", "one");
  std::string two = ImageManifest("demo", "two");
  std::string type(kOciManifest);
  ASSERT_TRUE(registry_->PutManifest("demo", "v1", type, one).ok());
  // The same digest again is accepted.
  EXPECT_TRUE(registry_->PutManifest("demo", "v1", type, one).ok());
  // Another digest is refused, and the tag still points at the first.
  auto moved = registry_->PutManifest("demo", "v1", type, two);
  ASSERT_FALSE(moved.ok());
  EXPECT_EQ(moved.error().http_status, 403);
  EXPECT_NE(moved.error().message.find("immutable"), std::string::npos);
  EXPECT_EQ(registry_->GetManifest("demo", "v1")->body, one);
  // Deleting the tag, or its manifest by digest, is refused too.
  EXPECT_EQ(registry_->DeleteManifest("demo", "v1").error().http_status, 403);
  EXPECT_EQ(
      registry_->DeleteManifest("demo", DigestOf(one)).error().http_status,
      403);
  // A new tag is fine.
  EXPECT_TRUE(registry_->PutManifest("demo", "v2", type, two).ok());
}

TEST_F(RegistryTest, DeleteByDigestRemovesItsTags) {
  std::string one = ImageManifest("demo", "one");
  std::string two = ImageManifest("demo", "two");
  std::string type(kOciManifest);
  ASSERT_TRUE(registry_->PutManifest("demo", "a", type, one).ok());
  ASSERT_TRUE(registry_->PutManifest("demo", "b", type, one).ok());
  ASSERT_TRUE(registry_->PutManifest("demo", "c", type, two).ok());
  ASSERT_TRUE(registry_->DeleteManifest("demo", DigestOf(one)).ok());
  EXPECT_EQ(Tags("demo"), (std::vector<std::string>{"c"}));
  EXPECT_EQ(registry_->GetManifest("demo", DigestOf(one)).error().code,
            "MANIFEST_UNKNOWN");
  // Deleting a tag leaves the manifest reachable by digest.
  ASSERT_TRUE(registry_->DeleteManifest("demo", "c").ok());
  EXPECT_TRUE(Tags("demo").empty());
  EXPECT_TRUE(registry_->GetManifest("demo", DigestOf(two)).ok());
}

bool MayReadAny(const std::string&) { return true; }

TEST_F(RegistryTest, MountOnlyWhenSourceHoldsTheBlob) {
  std::string digest = Blob("source", "shared layer");
  auto mounted =
      registry_->MountOrStart("dest", "source", digest, false, MayReadAny);
  ASSERT_TRUE(mounted.ok());
  EXPECT_TRUE(mounted->mounted);
  EXPECT_TRUE(registry_->StatBlob("dest", digest).ok());

  // The blob exists in the store but not in "elsewhere": no mount.
  auto refused =
      registry_->MountOrStart("third", "elsewhere", digest, false, MayReadAny);
  ASSERT_TRUE(refused.ok());
  EXPECT_FALSE(refused->mounted);
  EXPECT_FALSE(refused->upload.id.empty());
  EXPECT_FALSE(registry_->StatBlob("third", digest).ok());

  // Nor from a source the caller may not read.
  auto unreadable = registry_->MountOrStart(
      "fourth", "source", digest, false,
      [](const std::string& repo) { return repo != "source"; });
  ASSERT_TRUE(unreadable.ok());
  EXPECT_FALSE(unreadable->mounted);
  EXPECT_FALSE(registry_->StatBlob("fourth", digest).ok());
}

// Without `from`, the spec's automatic content discovery: any repository
// holding the blob that the caller may read; none, an upload.
TEST_F(RegistryTest, MountWithoutFromFindsAReadableSource) {
  std::string digest = Blob("hidden", "shared layer");
  auto only_hidden = registry_->MountOrStart(
      "dest", "", digest, true,
      [](const std::string& repo) { return repo != "hidden"; });
  ASSERT_TRUE(only_hidden.ok());
  EXPECT_FALSE(only_hidden->mounted);
  EXPECT_FALSE(registry_->StatBlob("dest", digest).ok());

  ASSERT_EQ(Blob("open", "shared layer"), digest);
  // Without discovery (the server's default), no source is looked for.
  auto off = registry_->MountOrStart("dest", "", digest, false, MayReadAny);
  ASSERT_TRUE(off.ok());
  EXPECT_FALSE(off->mounted);
  EXPECT_FALSE(registry_->StatBlob("dest", digest).ok());

  auto found = registry_->MountOrStart(
      "dest", "", digest, true,
      [](const std::string& repo) { return repo != "hidden"; });
  ASSERT_TRUE(found.ok());
  EXPECT_TRUE(found->mounted);
  EXPECT_TRUE(registry_->StatBlob("dest", digest).ok());

  std::string unknown = DigestOf("in no repository");
  auto none = registry_->MountOrStart("dest", "", unknown, true, MayReadAny);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->mounted);
}

TEST_F(RegistryTest, IndexNeedsItsChildrenAndReferrersFilter) {
  std::string type(kOciManifest);
  std::string child = ImageManifest("demo", "child");
  std::string child_digest = DigestOf(child);
  std::string index =
      "{\"schemaVersion\":2,\"mediaType\":\"" + std::string(kOciIndex) +
      "\",\"manifests\":[{\"mediaType\":\"" + type + "\",\"digest\":\"" +
      child_digest + "\",\"size\":" + std::to_string(child.size()) + "}]}";
  auto early = registry_->PutManifest("demo", "multi",
                                      std::string(kOciIndex), index);
  ASSERT_FALSE(early.ok());
  EXPECT_EQ(early.error().code, "MANIFEST_BLOB_UNKNOWN");
  EXPECT_NE(early.error().message.find(child_digest), std::string::npos);
  ASSERT_TRUE(registry_->PutManifest("demo", child_digest, type, child).ok());
  ASSERT_TRUE(registry_->PutManifest("demo", "multi", std::string(kOciIndex),
                                     index).ok());

  // Two referrers of the child with different artifact types.
  std::string subject = ",\"subject\":{\"mediaType\":\"" + type +
                        "\",\"digest\":\"" + child_digest + "\",\"size\":" +
                        std::to_string(child.size()) + "}";
  std::string sig = ImageManifest(
      "demo", "sig", subject + ",\"artifactType\":\"application/x.sig\"");
  std::string sbom = ImageManifest(
      "demo", "sbom", subject + ",\"artifactType\":\"application/x.sbom\"");
  auto put = registry_->PutManifest("demo", DigestOf(sig), type, sig);
  ASSERT_TRUE(put.ok());
  EXPECT_EQ(put->subject->ToString(), child_digest);
  ASSERT_TRUE(registry_->PutManifest("demo", DigestOf(sbom), type, sbom).ok());

  auto all = registry_->Referrers("demo", child_digest, "");
  EXPECT_EQ((*all)["manifests"].size(), 2u);
  auto sigs = registry_->Referrers("demo", child_digest, "application/x.sig");
  ASSERT_EQ((*sigs)["manifests"].size(), 1u);
  EXPECT_EQ((*sigs)["manifests"][0]["digest"], DigestOf(sig));
  EXPECT_EQ((*sigs)["manifests"][0]["artifactType"], "application/x.sig");
  EXPECT_EQ((*sigs)["mediaType"], kOciIndex);
}

TEST_F(RegistryTest, CatalogPages) {
  for (const char* repo : {"b/x", "a", "c"}) {
    Blob(repo, repo);
  }
  auto first = registry_->Catalog(2, "");
  EXPECT_EQ(first->tags, (std::vector<std::string>{"a", "b/x"}));
  EXPECT_TRUE(first->more);
  auto rest = registry_->Catalog(2, "b/x");
  EXPECT_EQ(rest->tags, (std::vector<std::string>{"c"}));
  EXPECT_FALSE(rest->more);
}

TEST_F(RegistryTest, CatalogPagesOnlyVisibleRepositories) {
  for (const char* repo : {"b/x", "a", "c", "d"}) {
    Blob(repo, repo);
  }
  auto hide_b = [](const std::string& repo) { return repo != "b/x"; };
  auto first = registry_->Catalog(2, "", hide_b);
  EXPECT_EQ(first->tags, (std::vector<std::string>{"a", "c"}));
  EXPECT_TRUE(first->more);
  auto rest = registry_->Catalog(2, "c", hide_b);
  EXPECT_EQ(rest->tags, (std::vector<std::string>{"d"}));
  EXPECT_FALSE(rest->more);
}

TEST_F(RegistryTest, RestartedRegistryForgetsSessions) {
  auto upload = registry_->StartUpload("demo");
  ASSERT_TRUE(upload.ok());
  registry_ = std::move(*Registry::Open(root_));
  EXPECT_EQ(registry_->UploadStatus("demo", upload->id).error().code,
            "BLOB_UPLOAD_UNKNOWN");
}

// Every shard folder exists once the registry is open, so no upload
// creates one (a folder whose own entry nothing would sync).
TEST_F(RegistryTest, OpenMakesEveryShardFolder) {
  size_t shards = 0;
  for (const auto& entry : fs::directory_iterator(root_ / "blobs/sha256")) {
    EXPECT_TRUE(entry.is_directory()) << entry.path();
    EXPECT_EQ(entry.path().filename().string().size(), 2u);
    ++shards;
  }
  EXPECT_EQ(shards, 256u);
}

// Each chunk queues a background sync of the session's data; chunks and
// the commit may run before, during or after it, and the blob is whole.
TEST_F(RegistryTest, ChunksAndCommitRaceBackgroundSyncs) {
  auto chunk = [](const std::string& bytes) {
    return [bytes](const Registry::ChunkSink& sink) {
      return sink(bytes.data(), bytes.size());
    };
  };
  for (int round = 0; round < 20; ++round) {
    std::string body;
    auto upload = registry_->StartUpload("demo");
    ASSERT_TRUE(upload.ok());
    for (int i = 0; i < 5; ++i) {
      std::string piece = "round " + std::to_string(round) + " chunk " +
                          std::to_string(i) + ";";
      ASSERT_TRUE(registry_
                      ->AppendChunk("demo", upload->id,
                                    ByteSpan{body.size(),
                                             body.size() + piece.size() - 1},
                                    chunk(piece))
                      .ok());
      body += piece;
    }
    auto done = registry_->FinishUpload("demo", upload->id, DigestOf(body));
    ASSERT_TRUE(done.ok()) << done.error().message;
    EXPECT_EQ(*registry_->blobs().ReadVerified(*done), body);
  }
}

}  // namespace
}  // namespace lockstep::registry
