// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// Tests for the blobs a recorded run keeps alive through gc and cleanup.

#include "manifest/retention.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <string>

#include "core/files.h"
#include "store/blob_store.h"

namespace lockstep::manifest {
namespace {

std::string DigestOf(char fill) {
  return "sha256:" + std::string(64, fill);
}

// `lockstep gc` on any store with a run read freed memory: the step loops
// iterated items() of temporaries returned by Json::value (ASan:
// stack-use-after-scope in ManifestRoots). Every kind of root must come
// back, named by the run, step and port that needs it.
TEST(ManifestRootsTest, KeepsEveryBlobARunNames) {
  Json manifest = {
      {"run_id", "r1"},
      {"pipeline", {{"spec_digest", DigestOf('1')}}},
      {"data", {{{"name", "d"}, {"version", 2}, {"digest", DigestOf('2')}}}},
      {"steps",
       {{{"name", "train"},
         {"invocation",
          {{"code", {{"helper.py", {{"digest", DigestOf('3')}}}}},
           {"inputs", {{"train", DigestOf('4')}}}}},
         {"outputs", {{"model", {{"digest", DigestOf('5')}}}}}}}}};

  std::map<std::string, std::string> reasons;
  for (const registry::KeptBlob& kept : ManifestRoots(manifest)) {
    reasons[kept.digest.ToString()] = kept.reason;
  }
  ASSERT_EQ(reasons.size(), 5u);
  EXPECT_EQ(reasons[DigestOf('1')], "run r1 needs it (pipeline file)");
  EXPECT_EQ(reasons[DigestOf('2')], "run r1 needs it (snapshot d@2)");
  EXPECT_EQ(reasons[DigestOf('3')],
            "run r1 needs it (step train, code helper.py)");
  EXPECT_EQ(reasons[DigestOf('4')],
            "run r1 needs it (step train, input train)");
  EXPECT_EQ(reasons[DigestOf('5')],
            "run r1 needs it (step train, output model)");
}

// Found by a tester: a run whose image was pinned by an index digest kept
// only the index; gc swept the platform manifest, its config and layers,
// and the run could no longer reproduce offline.
TEST(ManifestRootsTest, AnImageIndexKeepsItsChildrenAndTheirBlobs) {
  namespace fs = std::filesystem;
  fs::path root = *MakeTempDirectory(fs::temp_directory_path(), "roots-");
  store::BlobStore blobs(root / "store");
  Json child = {{"schemaVersion", 2},
                {"config", {{"digest", DigestOf('c')}, {"size", 1}}},
                {"layers", {{{"digest", DigestOf('d')}, {"size", 1}}}}};
  Digest child_digest = *blobs.PutBytes(child.dump());
  Json index = {{"schemaVersion", 2},
                {"manifests",
                 {{{"digest", child_digest.ToString()}, {"size", 1}},
                  {{"digest", DigestOf('e')}, {"size", 1}}}}};
  Digest index_digest = *blobs.PutBytes(index.dump());
  Json manifest = {
      {"run_id", "r1"},
      {"steps",
       {{{"name", "s"},
         {"invocation",
          {{"image", "registry.test/app@" + index_digest.ToString()}}}}}}};

  std::map<std::string, std::string> reasons;
  for (const registry::KeptBlob& kept : ManifestRoots(manifest, &blobs)) {
    reasons[kept.digest.ToString()] = kept.reason;
  }
  RemoveAllQuietly(root);

  std::string image = "run r1 needs it (step s, image registry.test/app@" +
                      index_digest.ToString();
  ASSERT_EQ(reasons.size(), 5u);
  EXPECT_EQ(reasons[index_digest.ToString()], image + ")");
  EXPECT_EQ(reasons[child_digest.ToString()], image + ", child manifest)");
  EXPECT_EQ(reasons[DigestOf('e')], image + ", child manifest)")
      << "a child not in the store is still kept by digest";
  EXPECT_EQ(reasons[DigestOf('c')], image + ", child manifest, config)");
  EXPECT_EQ(reasons[DigestOf('d')], image + ", child manifest, layer)");
}

}  // namespace
}  // namespace lockstep::manifest
