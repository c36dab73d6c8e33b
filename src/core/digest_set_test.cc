// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "core/digest_set.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace lockstep {
namespace {

Digest::Raw RawOf(const std::string& text) { return Sha256Of(text).raw(); }

TEST(DigestSetTest, InsertsEachDigestOnceThroughGrowth) {
  DigestSet set;
  std::set<Digest::Raw> reference;
  for (int i = 0; i < 5000; ++i) {
    Digest::Raw raw = RawOf(std::to_string(i % 3000));
    EXPECT_EQ(set.Insert(raw), reference.insert(raw).second) << i;
  }
  EXPECT_EQ(set.size(), 3000u);
  EXPECT_TRUE(set.Contains(RawOf("2999")));
  EXPECT_FALSE(set.Contains(RawOf("3000")));
}

// The all-zero digest is a digest like any other, not an empty slot; and
// digests that share their first eight bytes (the hash) probe on.
TEST(DigestSetTest, ZeroBytesAndCollidingHashesAreKeptApart) {
  DigestSet set;
  set.Reserve(4);
  Digest::Raw zero{};
  Digest::Raw near = zero;
  near[31] = 1;
  EXPECT_FALSE(set.Contains(zero));
  EXPECT_TRUE(set.Insert(zero));
  EXPECT_FALSE(set.Insert(zero));
  EXPECT_TRUE(set.Insert(near));
  EXPECT_TRUE(set.Contains(near));
  EXPECT_EQ(set.size(), 2u);
}

}  // namespace
}  // namespace lockstep
