// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "image/reference.h"

#include <gtest/gtest.h>

namespace lockstep::image {
namespace {

const std::string kHex(64, 'a');

TEST(ImageRefTest, PinnedLoopbackReferenceUsesHttp) {
  Result<registry::Reference> ref =
      ParseImageRef("127.0.0.1:5000/test/busybox@sha256:" + kHex);
  ASSERT_TRUE(ref.ok()) << ref.status().message();
  EXPECT_EQ(ref->scheme, "http");
  EXPECT_EQ(ref->registry, "127.0.0.1:5000");
  EXPECT_EQ(ref->repository, "test/busybox");
  EXPECT_EQ(ref->tag, "");
  EXPECT_EQ(ref->digest, "sha256:" + kHex);
  EXPECT_TRUE(IsPinned(*ref));
  EXPECT_TRUE(RequirePinned(*ref, "").ok());
  EXPECT_EQ(FormatImageRef(*ref), "127.0.0.1:5000/test/busybox@sha256:" + kHex);
}

TEST(ImageRefTest, TagOnlyIsNotPinned) {
  Result<registry::Reference> ref =
      ParseImageRef("registry.example.com/ml/base:1.2");
  ASSERT_TRUE(ref.ok());
  EXPECT_EQ(ref->scheme, "https");
  EXPECT_EQ(ref->tag, "1.2");
  EXPECT_FALSE(IsPinned(*ref));
  Status status = RequirePinned(*ref, "--base: ");
  EXPECT_EQ(status.message(),
            "--base: image registry.example.com/ml/base:1.2 is given by tag "
            "only; pin it by digest as registry.example.com/ml/base@sha256:"
            "...");
}

TEST(ImageRefTest, NoTagNoDigestKeepsTagEmpty) {
  Result<registry::Reference> ref = ParseImageRef("localhost:5000/a/b");
  ASSERT_TRUE(ref.ok());
  EXPECT_EQ(ref->tag, "");
  EXPECT_EQ(ref->scheme, "http");
  EXPECT_FALSE(IsPinned(*ref));
}

TEST(ImageRefTest, TagAndDigestKeepsBoth) {
  Result<registry::Reference> ref =
      ParseImageRef("reg.example:443/a:v1@sha256:" + kHex);
  ASSERT_TRUE(ref.ok());
  EXPECT_EQ(ref->tag, "v1");
  EXPECT_EQ(ref->registry, "reg.example:443");
  EXPECT_TRUE(IsPinned(*ref));
}

TEST(ImageRefTest, ExplicitSchemesWin) {
  Result<registry::Reference> http =
      ParseImageRef("http://reg.example:5000/x@sha256:" + kHex);
  ASSERT_TRUE(http.ok());
  EXPECT_EQ(http->scheme, "http");
  EXPECT_EQ(FormatImageRef(*http), "http://reg.example:5000/x@sha256:" + kHex);
  Result<registry::Reference> https =
      ParseImageRef("https://127.0.0.1:5000/x@sha256:" + kHex);
  ASSERT_TRUE(https.ok());
  EXPECT_EQ(https->scheme, "https");
  EXPECT_EQ(FormatImageRef(*https), "https://127.0.0.1:5000/x@sha256:" + kHex);
}

TEST(ImageRefTest, MalformedReferencesAreRefused) {
  EXPECT_FALSE(ParseImageRef("busybox").ok());
  EXPECT_FALSE(ParseImageRef("reg/a@sha256:short").ok());
  EXPECT_FALSE(ParseImageRef("reg/UPPER@sha256:" + kHex).ok());
}

}  // namespace
}  // namespace lockstep::image
