// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "core/ascii.h"

#include <gtest/gtest.h>

namespace lockstep {
namespace {

TEST(AsciiTest, OnlyLettersAToZChangeCase) {
  EXPECT_EQ(AsciiLowercase("Application/VND.OCI+JSON; Q=1"),
            "application/vnd.oci+json; q=1");
  // Bytes outside ASCII (here UTF-8 for "É") are left as they are.
  EXPECT_EQ(AsciiLowercase("\xc3\x89Z@["), "\xc3\x89z@[");
}

TEST(AsciiTest, ComparesIgnoringCase) {
  EXPECT_TRUE(EqualsIgnoringAsciiCase("Bearer", "bEARER"));
  EXPECT_FALSE(EqualsIgnoringAsciiCase("Basic", "Basic "));
  EXPECT_FALSE(EqualsIgnoringAsciiCase("@", "`"));  // 0x40 and 0x60.
}

}  // namespace
}  // namespace lockstep
