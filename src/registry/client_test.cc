// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "registry/client.h"

#include <gtest/gtest.h>

namespace lockstep::registry {
namespace {

TEST(ParseReferenceTest, TagDigestAndScheme) {
  auto tagged = ParseReference("127.0.0.1:5000/team/model:v1", true);
  ASSERT_TRUE(tagged.ok());
  EXPECT_EQ(tagged->scheme, "http");
  EXPECT_EQ(tagged->registry, "127.0.0.1:5000");
  EXPECT_EQ(tagged->repository, "team/model");
  EXPECT_EQ(tagged->tag, "v1");
  EXPECT_EQ(tagged->ManifestReference(), "v1");

  std::string digest = Sha256Of("x").ToString();
  auto pinned = ParseReference("https://reg.example/app@" + digest, true);
  ASSERT_TRUE(pinned.ok());
  EXPECT_EQ(pinned->scheme, "https");
  EXPECT_EQ(pinned->repository, "app");
  EXPECT_EQ(pinned->ManifestReference(), digest);

  auto bare = ParseReference("reg.example:443/app", false);
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->scheme, "https");
  EXPECT_EQ(bare->tag, "latest");
}

TEST(ParseReferenceTest, RejectsMalformedReferences) {
  EXPECT_FALSE(ParseReference("no-slash", false).ok());
  EXPECT_FALSE(ParseReference("reg/Upper", false).ok());
  EXPECT_FALSE(ParseReference("reg/app:-bad", false).ok());
  EXPECT_FALSE(ParseReference("reg/app@sha256:short", false).ok());
}

}  // namespace
}  // namespace lockstep::registry
