// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "core/count_text.h"

#include <gtest/gtest.h>

namespace lockstep {
namespace {

// Found by a tester: "1 steps", "1 problems".
TEST(CountTextTest, OneIsSingularOtherCountsArePlural) {
  EXPECT_EQ(CountText(1, "step"), "1 step");
  EXPECT_EQ(CountText(0, "step"), "0 steps");
  EXPECT_EQ(CountText(2, "problem"), "2 problems");
  EXPECT_EQ(CountText(1, "entry", "entries"), "1 entry");
  EXPECT_EQ(CountText(3, "entry", "entries"), "3 entries");
}

}  // namespace
}  // namespace lockstep
