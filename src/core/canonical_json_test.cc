// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "core/canonical_json.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

#include "core/json_keys.h"

namespace lockstep {
namespace {

std::string Format(uint64_t bits) {
  return FormatJsonNumber(std::bit_cast<double>(bits));
}

// RFC 8785, Appendix B: IEEE 754 bit patterns and their canonical text.
TEST(CanonicalJsonTest, NumberVectorsFromRfc8785AppendixB) {
  EXPECT_EQ(Format(0x0000000000000000), "0");
  EXPECT_EQ(Format(0x8000000000000000), "0");
  EXPECT_EQ(Format(0x0000000000000001), "5e-324");
  EXPECT_EQ(Format(0x8000000000000001), "-5e-324");
  EXPECT_EQ(Format(0x7fefffffffffffff), "1.7976931348623157e+308");
  EXPECT_EQ(Format(0xffefffffffffffff), "-1.7976931348623157e+308");
  EXPECT_EQ(Format(0x4340000000000000), "9007199254740992");
  EXPECT_EQ(Format(0xc340000000000000), "-9007199254740992");
  EXPECT_EQ(Format(0x4430000000000000), "295147905179352830000");
  EXPECT_EQ(Format(0x44b52d02c7e14af5), "9.999999999999997e+22");
  EXPECT_EQ(Format(0x44b52d02c7e14af6), "1e+23");
  EXPECT_EQ(Format(0x44b52d02c7e14af7), "1.0000000000000001e+23");
  EXPECT_EQ(Format(0x444b1ae4d6e2ef4e), "999999999999999700000");
  EXPECT_EQ(Format(0x444b1ae4d6e2ef4f), "999999999999999900000");
  EXPECT_EQ(Format(0x444b1ae4d6e2ef50), "1e+21");
  EXPECT_EQ(Format(0x3eb0c6f7a0b5ed8c), "9.999999999999997e-7");
  EXPECT_EQ(Format(0x3eb0c6f7a0b5ed8d), "0.000001");
  EXPECT_EQ(Format(0x41b3de4355555553), "333333333.3333332");
  EXPECT_EQ(Format(0x41b3de4355555554), "333333333.33333325");
  EXPECT_EQ(Format(0x41b3de4355555555), "333333333.3333333");
  EXPECT_EQ(Format(0x41b3de4355555556), "333333333.3333334");
  EXPECT_EQ(Format(0x41b3de4355555557), "333333333.33333343");
  EXPECT_EQ(Format(0xbecbf647612f3696), "-0.0000033333333333333333");
  EXPECT_EQ(Format(0x43143ff3c1cb0959), "1424953923781206.2");
}

TEST(CanonicalJsonTest, CommonNumbers) {
  EXPECT_EQ(FormatJsonNumber(1e20), "100000000000000000000");
  EXPECT_EQ(FormatJsonNumber(0.1), "0.1");
  EXPECT_EQ(FormatJsonNumber(-0.0), "0");
  EXPECT_EQ(FormatJsonNumber(1.0), "1");
  EXPECT_EQ(FormatJsonNumber(1e-5), "0.00001");
  EXPECT_EQ(FormatJsonNumber(1e-7), "1e-7");
  // A JSON integer too large for a double is written as the double nearest
  // to it, as a JavaScript reader sees it.
  auto big = ParseJson("123456789012345678901", "test");
  ASSERT_TRUE(big.ok());
  EXPECT_EQ(*CanonicalJson(*big), "123456789012345680000");
}

// RFC 8785, section 3.2.2: the worked example.
TEST(CanonicalJsonTest, RfcExampleSerialization) {
  const char* input = R"({
    "numbers": [333333333.33333329, 1E30, 4.50, 2e-3,
                0.000000000000000000000000001],
    "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
    "literals": [null, true, false]
  })";
  auto parsed = ParseJson(input, "test");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*CanonicalJson(*parsed),
            "{\"literals\":[null,true,false],\"numbers\":[333333333.3333333,"
            "1e+30,4.5,0.002,1e-27],\"string\":\"\xe2\x82\xac$\\u000f\\nA'B"
            "\\\"\\\\\\\\\\\"/\"}");
}

// RFC 8785, section 3.2.3: member names sort by UTF-16 code units, which
// puts U+1F600 (a surrogate pair) before U+FB33.
TEST(CanonicalJsonTest, RfcSortingExample) {
  const char* input = R"({
    "\u20ac": "Euro Sign",
    "\r": "Carriage Return",
    "\ufb33": "Hebrew Letter Dalet With Dagesh",
    "1": "One",
    "\ud83d\ude00": "Emoji: Grinning Face",
    "\u0080": "Control",
    "\u00f6": "Latin Small Letter O With Diaeresis"
  })";
  auto parsed = ParseJson(input, "test");
  ASSERT_TRUE(parsed.ok());
  std::string canonical = *CanonicalJson(*parsed);
  std::vector<std::string> order = {"Carriage", "One", "Control", "Latin",
                                    "Euro", "Emoji", "Hebrew"};
  size_t position = 0;
  for (const std::string& word : order) {
    size_t found = canonical.find(word, position);
    ASSERT_NE(found, std::string::npos) << word << " out of order";
    position = found;
  }
}

TEST(CanonicalJsonTest, ReorderedKeysGiveTheSameBytes) {
  auto a = ParseJson(R"({"b":1,"a":{"y":2,"x":[1,2]}})", "a");
  auto b = ParseJson(R"({"a":{"x":[1,2],"y":2},"b":1})", "b");
  EXPECT_EQ(*CanonicalJson(*a), *CanonicalJson(*b));
  EXPECT_EQ(*CanonicalDigest(*a), *CanonicalDigest(*b));
}

TEST(CanonicalJsonTest, RefusesNanAndInfinityNamingThePointer) {
  Json value = {{"metrics", {{"auc", std::nan("")}}}};
  auto result = CanonicalJson(value);
  ASSERT_FALSE(result.ok());
  EXPECT_TRUE(result.status().IsInvalidArgument());
  EXPECT_NE(result.status().message().find("/metrics/auc"), std::string::npos);
  Json infinite = {std::numeric_limits<double>::infinity()};
  EXPECT_FALSE(CanonicalJson(infinite).ok());
}

TEST(CanonicalJsonTest, IntAndFloatAndStringStayDistinct) {
  EXPECT_EQ(*CanonicalJson(Json(2)), "2");
  EXPECT_EQ(*CanonicalJson(Json("2")), "\"2\"");
  // 2.0 and 2 are the same number in RFC 8785; typed params therefore carry
  // their type next to the value in cache keys (see pipeline/params).
  EXPECT_EQ(*CanonicalJson(Json(2.0)), "2");
}

}  // namespace
}  // namespace lockstep

namespace lockstep {
namespace {

// Found by fuzz/json_manifest_fuzzer: a number beyond a double made
// nlohmann::json throw out_of_range, which ParseJson did not catch, so a
// manifest, params file or registry manifest holding 1e999 aborted.
TEST(ParseJsonTest, NumberBeyondADoubleIsMalformedNotAnAbort) {
  for (const char* text : {"1e999", "{\"a\": [1, -1e400]}",
                           "{\"b\":[1,2.5,-0,1e2121e,1]}"}) {
    Result<Json> parsed = ParseJson(text, "m.json");
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(parsed.status().message().rfind("m.json:", 0), 0u)
        << parsed.status().message();
    EXPECT_NE(parsed.status().message().find(": malformed JSON"),
              std::string::npos)
        << parsed.status().message();
  }
  // Found by a tester: the library's own words were shown, and no line.
  EXPECT_EQ(ParseJson("{\n  \"n\": 1e400\n}", "p.json").status().message(),
            "p.json:2:8: malformed JSON: the number 1e400 is beyond a "
            "double's range");
}

// A malformed file is reported at the line and column where the parser
// gave up (here the newline that ends the bad literal `tru`), with
// nlohmann's reason and without its exception id.
TEST(ParseJsonTest, MalformedJsonNamesLineAndColumn) {
  Result<Json> parsed =
      ParseJson("{\n  \"a\": 1,\n  \"b\": tru\n}", "p.json");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().message().rfind("p.json:3:11: malformed JSON: ",
                                            0),
            0u)
      << parsed.status().message();
  EXPECT_EQ(parsed.status().message().find("json.exception"),
            std::string::npos);

  Result<Json> truncated = ParseJson("[1, 2", "q.json");
  ASSERT_FALSE(truncated.ok());
  EXPECT_EQ(truncated.status().message().rfind("q.json:1:6: ", 0), 0u)
      << truncated.status().message();
}

// Found by a tester: a params file nested 50,000 deep crashed `lockstep
// run` with a stack overflow in the code that walks parsed documents.
TEST(ParseJsonTest, RefusesNestingDeeperThanTheLimit) {
  std::string deep = "{\"p\": " + std::string(50000, '[') +
                     std::string(50000, ']') + "}";
  Result<Json> parsed = ParseJson(deep, "d.json");
  ASSERT_FALSE(parsed.ok());
  // The object is level 1, so the 256th bracket is level 257; it is
  // character 262, after the 6 of `{"p": `.
  EXPECT_EQ(parsed.status().message(),
            "d.json:1:262: malformed JSON: nested deeper than 256 levels");
  EXPECT_TRUE(ParseJsonOrDiscarded(deep).is_discarded());

  std::string at_limit = std::string(256, '[') + std::string(256, ']');
  EXPECT_TRUE(ParseJson(at_limit, "ok.json").ok());
  // Brackets inside strings do not count.
  EXPECT_TRUE(ParseJson("[\"" + std::string(1000, '[') + "\"]", "s.json")
                  .ok());
}

// Found by a tester: `"n": 3, "n": 4` in a params file ran with n = 4,
// where another JSON reader keeps the first value or refuses the file.
TEST(ParseJsonTest, UniqueKeysRefusesARepeatedKeyWhereItRepeats) {
  Result<Json> repeated = ParseJsonWithUniqueKeys(
      "{\"n\": 3,\n \"m\": {\"n\": 1},\n \"n\": 4}", "p.json");
  ASSERT_FALSE(repeated.ok());
  EXPECT_EQ(repeated.status().message(),
            "p.json:3:2: key \"n\" appears twice in the same object");

  // An escape spells the same key.
  Result<Json> escaped =
      ParseJsonWithUniqueKeys(R"({"a": 1, "\u0061": 2})", "e.json");
  ASSERT_FALSE(escaped.ok());
  EXPECT_EQ(escaped.status().message(),
            "e.json:1:10: key \"a\" appears twice in the same object");

  // The same key in different objects, keys inside strings and values
  // that equal keys are all fine.
  Result<Json> fine = ParseJsonWithUniqueKeys(
      R"({"a": {"a": "a"}, "b": [{"a": 1}, {"a": 2}], "c": "\"a\": 1",)"
      R"( "d": ["a", "a"]})",
      "f.json");
  ASSERT_TRUE(fine.ok()) << fine.status().ToString();
  EXPECT_EQ((*fine)["b"][1]["a"], 2);
  EXPECT_FALSE(ParseJsonWithUniqueKeys("{\"a\": ", "m.json").ok());
}

// Found by a tester: a manifest with "layers" and "Layers" passed the
// repeated-key check, and Go clients read the unchecked second list.
TEST(ParseJsonWithUniqueKeysTest, KeysMayBeComparedIgnoringCase) {
  std::string text = "{\"layers\": [1],\n \"Layers\": []}";
  EXPECT_TRUE(ParseJsonWithUniqueKeys(text, "m.json").ok());
  Status refused =
      ParseJsonWithUniqueKeys(text, "m.json", KeyCase::kIgnored).status();
  EXPECT_EQ(refused.message(),
            "m.json:2:2: key \"Layers\" appears twice in the same object "
            "(keys are compared ignoring case)");
  EXPECT_TRUE(ParseJsonWithUniqueKeys("{\"a\": {\"A\": 1}}", "m.json",
                                      KeyCase::kIgnored)
                  .ok())
      << "keys of different objects never clash";
}

}  // namespace
TEST(JsonKeyLocationTest, PointsAtTheMemberOfTheNamedObject) {
  std::string text =
      "[{\"a\": 1},\n {\"a\": {\"b\": \"x\"},\n  \"c/d\": {\"b\": 2}}]";
  EXPECT_EQ(JsonKeyLocation(text, "/1/a", "b"), "2:9");
  EXPECT_EQ(JsonKeyLocation(text, "/1/c~1d", "b"), "3:11");
  EXPECT_EQ(JsonKeyLocation(text, "/0", "a"), "1:3");
  EXPECT_EQ(JsonKeyLocation(text, "/1", "a"), "2:3");
  // Values that spell the key, and other objects, do not count.
  EXPECT_EQ(JsonKeyLocation(text, "/0", "x"), "");
  EXPECT_EQ(JsonKeyLocation(text, "/2", "a"), "");
}

// Checkers name fields as "[1].a.b" or "rules[0].read"; a tester found
// their type errors gave no line:column, as exit-codes.md promises.
TEST(JsonKeyLocationTest, PathsAsCheckersWriteThem) {
  std::string text =
      "[{\"a\": 1},\n {\"a\": {\"b\": \"x\"},\n  \"c/d\": {\"b\": 2}}]";
  EXPECT_EQ(JsonPathLocation(text, "[1].a.b"), "2:9");
  EXPECT_EQ(JsonPathLocation(text, "[1].c/d.b"), "3:11");
  // An element has no key: its value's first character is shown.
  EXPECT_EQ(JsonPathLocation(text, "[1]"), "2:2");
  EXPECT_EQ(JsonPathLocation(text, "[2]"), "");
  std::string rules = "{\"rules\": [{\"read\": 1},\n  {\"read\": 2}]}";
  EXPECT_EQ(JsonPathLocation(rules, "rules[1].read"), "2:4");
  EXPECT_EQ(JsonPathLocation(rules, "rules"), "1:2");

  Status missing = LocateJsonError(
      Status::InvalidArgument("r.json: rules[1].write: missing"), rules,
      "r.json");
  // A missing member is shown at the object that lacks it.
  EXPECT_EQ(missing.message(), "r.json:2:3: rules[1].write: missing");
  Status no_path = Status::InvalidArgument("r.json: not an object");
  EXPECT_EQ(LocateJsonError(no_path, rules, "r.json").message(),
            "r.json: not an object");
}

// A policy list's element that is not an object, or a file whose top
// level is not a list, has no key to point at; a tester found such
// errors gave no line:column.
TEST(JsonValueLocationTest, PointsAtElementsAndTheTopLevel) {
  std::string text = "\n  [{\"a\": [], \"b\": \"[x,\"},\n   5, [ ],\n\t\"s\"]";
  EXPECT_EQ(JsonValueLocation(text, ""), "2:3");
  EXPECT_EQ(JsonValueLocation(text, "/0"), "2:4");
  EXPECT_EQ(JsonValueLocation(text, "/0/a"), "2:10");
  EXPECT_EQ(JsonValueLocation(text, "/0/b"), "2:19");
  EXPECT_EQ(JsonValueLocation(text, "/1"), "3:4");
  EXPECT_EQ(JsonValueLocation(text, "/2"), "3:7");
  EXPECT_EQ(JsonValueLocation(text, "/3"), "4:2");
  // An empty array has no element; an index past the end names nothing.
  EXPECT_EQ(JsonValueLocation(text, "/0/a/0"), "");
  EXPECT_EQ(JsonValueLocation(text, "/2/0"), "");
  EXPECT_EQ(JsonValueLocation(text, "/4"), "");
  EXPECT_EQ(JsonValueLocation("7", ""), "1:1");
}

// ParseJson reads an integer past int64 and uint64 as a double; only its
// text still says it was an integer (a params reader needs to know).
TEST(OversizedIntegerLiteralTest, FindsIntegersNoSixtyFourBitsHold) {
  std::string text =
      "{\"a\": 18446744073709551615, \"b\": [1.5e30, "
      "-9223372036854775809],\n \"b/c\": {\"d\": 18446744073709551616},"
      " \"bb\": 99999999999999999999, \"e\": \"99999999999999999999\"}";
  EXPECT_EQ(OversizedIntegerLiteral(text, "/a"), std::nullopt);  // uint64
  EXPECT_EQ(OversizedIntegerLiteral(text, "/b"), "-9223372036854775809");
  EXPECT_EQ(OversizedIntegerLiteral(text, "/b/1"), "-9223372036854775809");
  EXPECT_EQ(OversizedIntegerLiteral(text, "/b/0"), std::nullopt);  // float
  EXPECT_EQ(OversizedIntegerLiteral(text, "/b~1c"), "18446744073709551616");
  EXPECT_EQ(OversizedIntegerLiteral(text, "/e"), std::nullopt);  // string
  EXPECT_EQ(OversizedIntegerLiteral(text, ""), "-9223372036854775809");
  EXPECT_EQ(OversizedIntegerLiteral(text, "/bb"), "99999999999999999999");
  EXPECT_EQ(OversizedIntegerLiteral("-9223372036854775808", ""),
            std::nullopt);
}

}  // namespace lockstep
