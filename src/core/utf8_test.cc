// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "core/utf8.h"

#include <gtest/gtest.h>

namespace lockstep {
namespace {

TEST(Utf8Test, FindsTheFirstByteThatIsNotUtf8) {
  EXPECT_EQ(FirstNonUtf8(""), std::string_view::npos);
  EXPECT_EQ(FirstNonUtf8("caf\xc3\xa9 \xf0\x9f\x98\x80"),
            std::string_view::npos);
  EXPECT_EQ(FirstNonUtf8("\xff"), 0u);
  EXPECT_EQ(FirstNonUtf8("caf\xe9"), 3u);        // Latin-1 e-acute.
  EXPECT_EQ(FirstNonUtf8("ab\xc3"), 2u);         // Cut short.
  EXPECT_EQ(FirstNonUtf8("\xc0\xaf"), 0u);       // Overlong '/'.
  EXPECT_EQ(FirstNonUtf8("x\xed\xa0\x80"), 1u);  // A UTF-16 surrogate.
  EXPECT_EQ(FirstNonUtf8("\xf4\x90\x80\x80"), 0u);  // Past U+10FFFF.
}

TEST(Utf8Test, NamesTheBadByteAndWhereItIs) {
  EXPECT_TRUE(RequireUtf8("x", "plain").ok());
  Status status = RequireUtf8("-p s", "a\xe9");
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(),
            "-p s holds a byte that is not UTF-8 (0xe9 at byte 1 of "
            "'a\\xe9'); Lockstep records text as UTF-8 JSON, so convert "
            "it (e.g. iconv -f latin1 -t utf-8) or rename it");
}

TEST(Utf8Test, ChecksEveryStringAndKeyOfAJsonValue) {
  EXPECT_TRUE(RequireUtf8Json("items", Json{{"a", {1, "b"}}}).ok());
  Status status = RequireUtf8Json("items", Json{"ok", "\377"});
  EXPECT_EQ(status.message().substr(0, 49),
            "items at /1 holds a byte that is not UTF-8 (0xff ");
  Status key = RequireUtf8Json("items", Json{{"a/\xff", 1}});
  EXPECT_EQ(key.message().substr(0, 46),
            "items (a key) holds a byte that is not UTF-8 (");
}

}  // namespace
// Names of files are bytes. Overlong forms and surrogates are not UTF-8
// (JSON writers refuse them), so they are escaped like any stray byte.
TEST(Utf8Test, DisplayPathEscapesEveryByteThatIsNotUtf8) {
  EXPECT_EQ(DisplayPath("caf\xe9"), "caf\\xe9");
  EXPECT_EQ(DisplayPath("caf\xc3\xa9"), "caf\xc3\xa9");
  EXPECT_EQ(DisplayPath("a\xc0\x80"), "a\\xc0\\x80");
  EXPECT_EQ(DisplayPath("\xed\xa0\x80"), "\\xed\\xa0\\x80");
  EXPECT_EQ(DisplayPath("tab\there"), "tab\\x09here");
}

// Found by a tester: a name holding the four characters \xff and one
// holding the byte 0xff both showed as \xff, in text and in JSON.
TEST(Utf8Test, ALiteralBackslashIsEscapedSoNoTwoNamesShowAlike) {
  EXPECT_EQ(DisplayPath("\\xff"), "\\x5cxff");
  EXPECT_EQ(DisplayPath("\xff"), "\\xff");
  EXPECT_EQ(JsonPath("\\xff"), "\\x5cxff");
  EXPECT_EQ(JsonPath("\xff"), "\\xff");
  EXPECT_EQ(JsonPath("plain/name"), "plain/name");
}

TEST(Utf8Test, HiddenCharactersAreControlsAndBidiFormatting) {
  EXPECT_FALSE(HasHiddenCharacters("caf\xc3\xa9 \xe2\x80\x94 ok"));
  EXPECT_FALSE(HasHiddenCharacters("\xe2\x80\x8d"));  // U+200D, a joiner
  EXPECT_TRUE(HasHiddenCharacters("a\x1b[31m"));
  EXPECT_TRUE(HasHiddenCharacters("a\x7f"));
  EXPECT_TRUE(HasHiddenCharacters("a\xc2\x9b"));           // U+009B
  EXPECT_TRUE(HasHiddenCharacters("a\xe2\x80\xae" "b"));  // U+202E
  EXPECT_TRUE(HasHiddenCharacters("a\xe2\x81\xa6" "b"));  // U+2066
  EXPECT_TRUE(HasHiddenCharacters("a\xd8\x9c" "b"));       // U+061C
}

TEST(Utf8Test, JsonPathKeepsUtf8AndEscapesTheRest) {
  EXPECT_EQ(JsonPath("line\nbreak"), "line\nbreak");
  EXPECT_EQ(JsonPath("caf\xe9"), "caf\\xe9");
  EXPECT_EQ(JsonPath("caf\xe8"), "caf\\xe8");
}

}  // namespace lockstep
