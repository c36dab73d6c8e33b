// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "registry/byte_range.h"

#include <gtest/gtest.h>

namespace lockstep::registry {
namespace {

using Kind = RangeDecision::Kind;

// The cases of RFC 9110 section 14.1.2 on a 16-byte blob, plus the ones a
// tester found answered wrongly (ranges past the end, several ranges).
TEST(DecideRangeTest, AnswersRfc9110Ranges) {
  struct Case {
    const char* header;
    Kind kind;
    uint64_t first, last;
    const char* content_range;
  } cases[] = {
      {"bytes=0-3", Kind::kPartial, 0, 3, "bytes 0-3/16"},
      {"bytes=10-100", Kind::kPartial, 10, 15, "bytes 10-15/16"},
      {"bytes=4-", Kind::kPartial, 4, 15, "bytes 4-15/16"},
      {"bytes=-5", Kind::kPartial, 11, 15, "bytes 11-15/16"},
      {"bytes=-500", Kind::kPartial, 0, 15, "bytes 0-15/16"},
      {"bytes=15-15", Kind::kPartial, 15, 15, "bytes 15-15/16"},
      {"bytes=16-", Kind::kUnsatisfiable, 0, 0, "bytes */16"},
      {"bytes=100-200", Kind::kUnsatisfiable, 0, 0, "bytes */16"},
      {"bytes=-0", Kind::kUnsatisfiable, 0, 0, "bytes */16"},
  };
  for (const Case& c : cases) {
    RangeDecision decision = DecideRange(c.header, 16);
    EXPECT_EQ(decision.kind, c.kind) << c.header;
    if (c.kind == Kind::kPartial) {
      EXPECT_EQ(decision.span.first, c.first) << c.header;
      EXPECT_EQ(decision.span.last, c.last) << c.header;
    }
    EXPECT_EQ(ContentRangeValue(decision, 16), c.content_range) << c.header;
  }
}

TEST(DecideRangeTest, IgnoresWhatItCannotServeAsOneRange) {
  for (const char* header :
       {"", "bytes=0-1,4-5", "items=0-3", "bytes=5-2", "bytes=a-b",
        "bytes=-", "bytes=3", "bytes=-1-2"}) {
    EXPECT_EQ(DecideRange(header, 16).kind, Kind::kWhole) << header;
  }
}

// RFC 9110: range units are case-insensitive (14.1), empty list elements
// are accepted (5.6.1.2), and positions have no upper bound (14.1.1), so
// a first byte of 20 digits is past any end and a last byte of 20 digits
// means the end.
TEST(DecideRangeTest, ReadsTheRangesRfc9110AllowsBeyondTheCommonForm) {
  struct Case {
    const char* header;
    const char* content_range;
  } cases[] = {
      {"BYTES=0-3", "bytes 0-3/16"},
      {"Bytes=2-", "bytes 2-15/16"},
      {"bytes=0-3,", "bytes 0-3/16"},
      {"bytes=, ,-2", "bytes 14-15/16"},
      {"bytes=1-99999999999999999999", "bytes 1-15/16"},
      {"bytes=-99999999999999999999", "bytes 0-15/16"},
      {"bytes=99999999999999999999-", "bytes */16"},
      {"bytes=18446744073709551615-", "bytes */16"},
  };
  for (const Case& c : cases) {
    RangeDecision decision = DecideRange(c.header, 16);
    EXPECT_NE(decision.kind, Kind::kWhole) << c.header;
    EXPECT_EQ(ContentRangeValue(decision, 16), c.content_range) << c.header;
  }
}

TEST(DecideRangeTest, IgnoresMalformedListsAndReversedHugeRanges) {
  for (const char* header :
       {"bytes=,", "bytes=0-1,,4-5", "bytes=99999999999999999999-5",
        "bytes=1a-2", "bytes=+1-2", "bytesx=0-3", "byte=0-3"}) {
    EXPECT_EQ(DecideRange(header, 16).kind, Kind::kWhole) << header;
  }
}

TEST(DecideRangeTest, EmptyBlobHasNoSatisfiableRange) {
  EXPECT_EQ(DecideRange("bytes=0-0", 0).kind, Kind::kUnsatisfiable);
  EXPECT_EQ(DecideRange("bytes=-1", 0).kind, Kind::kUnsatisfiable);
}

TEST(ParseChunkRangeTest, AcceptsTheFormsClientsSend) {
  std::optional<ByteSpan> plain = ParseChunkRange("20-35");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->first, 20u);
  EXPECT_EQ(plain->last, 35u);
  EXPECT_EQ(plain->length(), 16u);
  std::optional<ByteSpan> with_unit = ParseChunkRange("bytes 0-9/*");
  ASSERT_TRUE(with_unit);
  EXPECT_EQ(with_unit->length(), 10u);
  for (const char* bad : {"", "20", "35-20", "x-y", "-5"}) {
    EXPECT_FALSE(ParseChunkRange(bad)) << bad;
  }
}

}  // namespace
}  // namespace lockstep::registry
