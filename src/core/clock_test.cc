// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "core/clock.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

namespace lockstep {
namespace {

TEST(ParseDurationMillisTest, EveryUnit) {
  EXPECT_EQ(*ParseDurationMillis("250ms"), 250);
  EXPECT_EQ(*ParseDurationMillis("30s"), 30'000);
  EXPECT_EQ(*ParseDurationMillis("15m"), 900'000);
  EXPECT_EQ(*ParseDurationMillis("12h"), 43'200'000);
  EXPECT_EQ(*ParseDurationMillis("365d"), 31'536'000'000);
  EXPECT_EQ(*ParseDurationMillis("2w"), 1'209'600'000);
  EXPECT_EQ(*ParseDurationMillis("0s"), 0);
}

TEST(ParseDurationMillisTest, RefusesMalformedText) {
  for (const char* text : {"", "s", "12", "12x", "-1d", "1.5h", "d12",
                           "12 d", "12dd"}) {
    EXPECT_FALSE(ParseDurationMillis(text).ok()) << text;
  }
}

// The tester's inputs: 106751991167d times 86,400,000 wraps int64 to
// -9223370240457621814, which made a snapshot expire at once; twenty 9s
// wrapped gc's grace and a cleanup policy's olderThan the same way.
TEST(ParseDurationMillisTest, RefusesWhatWouldOverflow) {
  for (const char* text : {"106751991167d", "99999999999999999999d",
                           "99999999999999999999ms", "1000001d",
                           "9223372036854775808ms"}) {
    Result<int64_t> parsed = ParseDurationMillis(text);
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_NE(parsed.status().message().find("too long"), std::string::npos)
        << parsed.status().message();
  }
  EXPECT_EQ(*ParseDurationMillis("1000000d"), kMaxDurationMillis);
}

TEST(AddMillisTest, RefusesOverflowBothWays) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  EXPECT_EQ(*AddMillis(1000, 234), 1234);
  EXPECT_EQ(*AddMillis(1000, -2000), -1000);
  EXPECT_FALSE(AddMillis(kMax, 1).ok());
  EXPECT_FALSE(AddMillis(-kMax, -2).ok());
}

}  // namespace
}  // namespace lockstep
