// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// Tests for the blobs a recorded run keeps alive through gc and cleanup.

#include "manifest/retention.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

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

}  // namespace
}  // namespace lockstep::manifest
