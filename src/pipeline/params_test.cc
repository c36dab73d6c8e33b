// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// Params from a new user's hands: values far longer or larger than any
// sane one must give a typed value or a clear error, never a crash.

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "pipeline/params.h"
#include "pipeline/spec.h"

namespace lockstep::pipeline {
namespace {

// The scanners that replaced std::regex agree with the YAML 1.2 core
// schema's int and float forms (the spellings YAML documents list).
TEST(ParamScalarTest, IntAndFloatSpellings) {
  EXPECT_EQ(TypePlainScalar("+3", false), Json(3));
  EXPECT_EQ(TypePlainScalar("-12", false), Json(-12));
  EXPECT_EQ(TypePlainScalar(".5", false), Json(0.5));
  EXPECT_EQ(TypePlainScalar("-5.", false), Json(-5.0));
  EXPECT_EQ(TypePlainScalar("2.5E+2", false), Json(250.0));
  for (const char* text : {"-", "+", ".", "1e", "e5", "1.2.3", "1e+",
                           "0x", "0xg", "-0x10", "0o8", "1_000", " 1",
                           "1 "}) {
    EXPECT_TRUE(TypePlainScalar(text, false).is_string()) << text;
  }
  // Found by a tester: the core schema's hex and octal ints were strings.
  EXPECT_EQ(TypePlainScalar("0x1F", false), Json(31));
  EXPECT_EQ(TypePlainScalar("0o17", false), Json(15));
}

// Found by a tester: .inf, .nan and 1e400, floats to YAML, became string
// params. A manifest cannot record them, so they are refused, naming
// the way to pass the text; quoted, they are strings.
TEST(ParamScalarTest, FloatsAManifestCannotRecordAreRefused) {
  for (const char* text : {".inf", "-.Inf", "+.INF", ".nan", ".NaN",
                           "1e400", "-1e400"}) {
    Result<Json> typed = TypeYamlScalar(text, "?");
    ASSERT_FALSE(typed.ok()) << text;
    EXPECT_EQ(typed.status().message(),
              "'" + std::string(text) + "' is a YAML float that a manifest "
              "cannot record (RFC 8785 has no infinity or NaN, and no "
              "number past 1.8e308); quote it to pass it as text");
  }
  EXPECT_EQ(*TypeYamlScalar(".inf", "!"), Json(".inf"));
  EXPECT_EQ(*TypeYamlScalar("inf", "?"), Json("inf"));  // Not a float.
}

// `validate` accepted a default `run` refuses; both use this check, which
// names the default's file:line:column.
TEST(ParamScalarTest, InexactDefaultIsRefusedWhereItIsWritten) {
  auto spec = ParsePipeline(
      "pipeline: p\nparams:\n  n: 9007199254740993\nsteps:\n"
      "  a: {run: [echo, \"${{ params.n }}\"]}\n",
      "p.yaml");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  Status checked = CheckParamDefaults(*spec);
  ASSERT_FALSE(checked.ok());
  EXPECT_EQ(checked.message().rfind("p.yaml:3:6: param 'n': the integer "
                                    "9007199254740993 is outside", 0),
            0u)
      << checked.message();
  EXPECT_EQ(ResolveParams(*spec, {}, "").status().message(),
            checked.message());
}

// `-p n=<100000 digits>` crashed: std::regex recursed once per digit and
// overflowed the stack.
TEST(ParamScalarTest, VeryLongNumberDoesNotOverflowTheStack) {
  std::string digits(200000, '9');
  Json typed = TypePlainScalar(digits, false);
  EXPECT_TRUE(typed.is_string());  // beyond int64 and double
  EXPECT_EQ(typed.get<std::string>(), digits);
}

// `lr: 1e400` in a pipeline file aborted `lockstep validate` with an
// uncaught std::out_of_range from std::stod.
TEST(ParamScalarTest, OutOfRangeFloatIsRefusedNotThrown) {
  EXPECT_TRUE(TypePlainScalar("1e400", false).is_string());
  EXPECT_TRUE(TypePlainScalar("-1e400", false).is_string());

  auto spec = ParsePipeline(
      "pipeline: p\nparams:\n  lr: {type: float, default: 0.1}\nsteps:\n"
      "  a: {run: [echo, \"${{ params.lr }}\"]}\n",
      "p.yaml");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  auto values = ResolveParams(*spec, {"lr=1e999"}, "");
  ASSERT_FALSE(values.ok());
  EXPECT_EQ(values.status().message().rfind("-p lr: '1e999' is a YAML "
                                            "float", 0),
            0u)
      << values.status().message();
}

TEST(ParamScalarTest, VeryLongStringParamIsKept) {
  auto spec = ParsePipeline(
      "pipeline: p\nparams:\n  s: x\nsteps:\n"
      "  a: {run: [echo, \"${{ params.s }}\"]}\n",
      "p.yaml");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  std::string text(200000, 'a');
  auto values = ResolveParams(*spec, {"s=" + text}, "");
  ASSERT_TRUE(values.ok()) << values.status().ToString();
  EXPECT_EQ((*values)["s"], Json(text));
}

// "Billion laughs": `levels` params, each a list of ten aliases of the
// one before; x0 is ten strings. Level i stands for 10^(i+1) strings.
std::string AliasBomb(int levels) {
  std::string text = "pipeline: b\nparams:\n  x0: &a0 [";
  for (int k = 0; k < 10; ++k) text += k == 0 ? "\"lol\"" : ",\"lol\"";
  text += "]\n";
  for (int i = 1; i < levels; ++i) {
    std::string alias = "*a" + std::to_string(i - 1);
    text += "  x" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int k = 0; k < 10; ++k) text += (k == 0 ? "" : ",") + alias;
    text += "]\n";
  }
  text += "steps:\n  s:\n    run: [echo, \"${{ params.x" +
          std::to_string(levels - 1) + " }}\"]\n";
  return text;
}

// The tester's 8-level, 504-byte file made `validate` allocate ~2 GB. The
// values are counted across the file: x0..x3 make 11 + 111 + 1111 + 11111
// (list included), x4 another 111111, past kMaxYamlValues, so x4's line
// (7) is named.
TEST(YamlAliasTest, BombIsRefusedAtTheValueThatCrossesTheCap) {
  std::string bomb = AliasBomb(8);
  EXPECT_EQ(bomb.size(), 504u);  // As the tester's Python writes it.
  auto spec = ParsePipeline(bomb, "bomb.yaml");
  ASSERT_FALSE(spec.ok());
  EXPECT_TRUE(spec.status().IsInvalidArgument());
  EXPECT_TRUE(spec.status().message().starts_with("bomb.yaml:7:"))
      << spec.status().message();
  EXPECT_NE(spec.status().message().find("past 100000 values"),
            std::string::npos)
      << spec.status().message();
}

TEST(YamlAliasTest, AliasesBelowTheCapStillExpand) {
  auto spec = ParsePipeline(AliasBomb(3), "p.yaml");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  const Json& x2 = *spec->FindParam("x2")->default_value;
  ASSERT_EQ(x2.size(), 10u);
  EXPECT_EQ(x2[9].size(), 10u);
  EXPECT_EQ(x2[9][9], Json::array({"lol", "lol", "lol", "lol", "lol", "lol",
                                   "lol", "lol", "lol", "lol"}));
}

// The same bomb as a -p value is refused, naming the param.
TEST(YamlAliasTest, BombInACommandLineValueIsRefused) {
  auto spec = ParsePipeline(
      "pipeline: p\nparams:\n  xs: {type: list, default: []}\nsteps:\n"
      "  a: {run: [echo, \"${{ params.xs }}\"]}\n",
      "p.yaml");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  std::string value = "[&a [1,1,1,1,1,1,1,1,1,1]";
  std::string previous = "*a";
  for (int i = 0; i < 6; ++i) {
    std::string anchor = "b" + std::to_string(i);
    value += ", &" + anchor + " [";
    for (int k = 0; k < 10; ++k) value += (k == 0 ? "" : ",") + previous;
    value += "]";
    previous = "*" + anchor;
  }
  value += "]";
  auto values = ResolveParams(*spec, {"xs=" + value}, "");
  ASSERT_FALSE(values.ok());
  EXPECT_EQ(values.status().message(),
            "-p xs: the value expands to more than 100000 values (YAML "
            "aliases repeat what they name)");
}

// One param of each type, each with a default, for --params files.
PipelineSpec OneParamOfEachType() {
  auto spec = ParsePipeline(
      "pipeline: p\nparams:\n"
      "  i: {type: int, default: 1}\n  f: {type: float, default: 1.5}\n"
      "  s: {type: string, default: x}\n  b: {type: bool, default: true}\n"
      "  l: {type: list, default: []}\n  m: {type: map, default: {}}\n"
      "steps:\n  a: {run: [echo]}\n",
      "p.yaml");
  EXPECT_TRUE(spec.ok()) << spec.status().ToString();
  return *spec;
}

Result<ParamValues> ResolveFile(const PipelineSpec& spec,
                                const std::string& text) {
  ParamsFile file{.path = "v.json", .text = text};
  return ResolveParams(spec, {}, &file);
}

// Found by a tester: a --params `1.10` given to a string param ran as the
// text "1.1" (1e2 as "100.0", true as "true"), where the pipeline file
// and -p keep what was written. A value of another type is refused at
// its key, naming the param; the one conversion is an int given to a
// float param, as the docs say.
TEST(ParamsFileTest, AValueOfAnotherTypeIsRefused) {
  PipelineSpec spec = OneParamOfEachType();
  EXPECT_EQ(ResolveFile(spec, "{\"s\": 1.10}").status().message(),
            "v.json:1:2: param 's' is string, but the value is a float "
            "(write it in quotes to pass text)");
  EXPECT_EQ(ResolveFile(spec, "{\n  \"s\": true}").status().message(),
            "v.json:2:3: param 's' is string, but the value true is bool "
            "(write it in quotes to pass text)");
  EXPECT_EQ(ResolveFile(spec, "{\"i\": \"2\"}").status().message(),
            "v.json:1:2: param 'i' is int, but the value \"2\" is string");
  EXPECT_EQ(ResolveFile(spec, "{\"i\": 2.0}").status().message(),
            "v.json:1:2: param 'i' is int, but the value is a float");

  // Every type against every JSON kind: only the same type, and an int
  // for a float, are taken.
  const std::map<std::string, std::string> kinds = {
      {"int", "2"},   {"float", "1e2"}, {"string", "\"1.10\""},
      {"bool", "false"}, {"list", "[1]"}, {"map", "{\"a\": 1}"}};
  const std::map<std::string, std::string> params = {
      {"i", "int"}, {"f", "float"}, {"s", "string"},
      {"b", "bool"}, {"l", "list"}, {"m", "map"}};
  for (const auto& [name, type] : params) {
    for (const auto& [kind, text] : kinds) {
      Result<ParamValues> values =
          ResolveFile(spec, "{\"" + name + "\": " + text + "}");
      bool taken = kind == type || (type == "float" && kind == "int");
      EXPECT_EQ(values.ok(), taken) << name << " given " << text;
      if (taken) {
        EXPECT_EQ(TypedParam(values->at(name))["type"], type) << text;
      } else {
        EXPECT_TRUE(values.status().message().starts_with(
            "v.json:1:2: param '" + name + "' is " + type + ", but the "))
            << values.status().message();
      }
    }
  }
  EXPECT_EQ(ResolveFile(spec, "{\"f\": 2}")->at("f"), Json(2.0));
  EXPECT_EQ(ResolveFile(spec, "{\"s\": \"1.10\"}")->at("s"), Json("1.10"));
}

// How an integer past +-(2^53 - 1) is refused, after "the integer N".
const std::string kRange =
    " is outside +-9007199254740991 (2^53 - 1), the integers a "
    "manifest's RFC 8785 numbers (IEEE doubles) record exactly; pass it "
    "as a string";

// Found by a tester: past int64 a --params integer was read as a double
// before the +-(2^53 - 1) check, so for a float param it ran rounded
// (1.2345678901234568e+29) and for an int param it was called a float.
// It is refused as -p refuses it, at its key; inside a list too.
TEST(ParamsFileTest, AnIntegerPastInt64IsOutsideTheExactRange) {
  PipelineSpec spec = OneParamOfEachType();
  EXPECT_EQ(ResolveFile(spec, "{\"f\": 123456789012345678901234567890}")
                .status()
                .message(),
            "v.json:1:2: param 'f': the integer "
            "123456789012345678901234567890" + kRange);
  EXPECT_EQ(ResolveFile(spec, "{\"i\": 123456789012345678901234567890}")
                .status()
                .message(),
            "v.json:1:2: param 'i': the integer "
            "123456789012345678901234567890" + kRange);
  EXPECT_EQ(ResolveFile(spec, "{\"b\": true,\n \"i\": "
                              "-99999999999999999999}")
                .status()
                .message(),
            "v.json:2:2: param 'i': the integer -99999999999999999999" +
                kRange);
  EXPECT_EQ(ResolveFile(spec, "{\"l\": [1, {\"a\": 18446744073709551616}]}")
                .status()
                .message(),
            "v.json:1:2: param 'l': the integer 18446744073709551616" +
                kRange);
  // The same as -p says it.
  EXPECT_EQ(ResolveParams(spec, {"f=123456789012345678901234567890"},
                          nullptr)
                .status()
                .message(),
            "-p f: param 'f': the integer 123456789012345678901234567890" +
                kRange);
  // A float literal that large is a float, and an integer in range a
  // float param's value.
  EXPECT_EQ(ResolveFile(spec, "{\"f\": 1.2345678901234568e29}")->at("f"),
            Json(1.2345678901234568e29));
  EXPECT_EQ(ResolveFile(spec, "{\"f\": 9007199254740991}")->at("f"),
            Json(9007199254740991.0));
  // Digits in quotes are text.
  EXPECT_EQ(ResolveFile(spec, "{\"s\": \"123456789012345678901234567890\"}")
                ->at("s"),
            Json("123456789012345678901234567890"));
}

// Past int64 an integer inside a -p list or map, or a default's, was
// typed as a float and ran rounded ([1.2345678901234568e+29]), where
// the docs say integers inside lists and maps keep to +-(2^53 - 1).
// Refused as at the top level, defaults at their file:line:column.
TEST(ParamsFileTest, AnIntegerPastInt64InsideAValueIsRefused) {
  PipelineSpec spec = OneParamOfEachType();
  auto refusal = [&](const std::string& assignment) {
    return ResolveParams(spec, {assignment}, nullptr).status().message();
  };
  EXPECT_EQ(refusal("l=[1, 123456789012345678901234567890]"),
            "-p l: param 'l': the integer 123456789012345678901234567890" +
                kRange);
  EXPECT_EQ(refusal("m={a: [-99999999999999999999]}"),
            "-p m: param 'm': the integer -99999999999999999999" + kRange);
  EXPECT_EQ(refusal("l=[9007199254740993]"),
            "-p l: param 'l': the integer 9007199254740993" + kRange);
  EXPECT_EQ(refusal("i=99999999999999999999"),
            "-p i: param 'i': the integer 99999999999999999999" + kRange);
  // Quoted, it is text.
  EXPECT_EQ(ResolveParams(spec, {"l=['99999999999999999999']"}, nullptr)
                ->at("l"),
            Json::array({"99999999999999999999"}));

  auto defaults = ParsePipeline(
      "pipeline: p\nparams:\n  d: [1,\n    123456789012345678901234567890]"
      "\nsteps:\n  a: {run: [echo]}\n",
      "p.yaml");
  ASSERT_TRUE(defaults.ok()) << defaults.status().ToString();
  EXPECT_EQ(CheckParamDefaults(*defaults).message(),
            "p.yaml:4:5: param 'd': the integer "
            "123456789012345678901234567890" + kRange);
  auto in_map = ParsePipeline(
      "pipeline: p\nparams:\n  e: {type: map, default: {a: "
      "-99999999999999999999}}\nsteps:\n  a: {run: [echo]}\n",
      "p.yaml");
  ASSERT_TRUE(in_map.ok()) << in_map.status().ToString();
  EXPECT_EQ(CheckParamDefaults(*in_map).message(),
            "p.yaml:3:31: param 'e': the integer -99999999999999999999" +
                kRange);
}

// Found by a tester: `{"s": "a\u0000b"}` was recorded whole and ran cut
// short at the NUL.
TEST(ParamsFileTest, ANulByteIsRefused) {
  PipelineSpec spec = OneParamOfEachType();
  EXPECT_EQ(ResolveFile(spec, "{\"s\": \"a\\u0000b\"}").status().message(),
            "v.json:1:2: param 's' holds a NUL byte, which no command line "
            "or file name can carry");
}

// Found by a tester: `{"s": null}` satisfied a string param, even a
// required one, and ran as "". No param takes null, from any source.
TEST(ParamsFileTest, NullIsNoParamsValue) {
  PipelineSpec spec = OneParamOfEachType();
  for (const char* name : {"i", "f", "s", "b", "l", "m"}) {
    Result<ParamValues> values =
        ResolveFile(spec, "{\"" + std::string(name) + "\": null}");
    ASSERT_FALSE(values.ok()) << name;
    EXPECT_NE(values.status().message().find(
                  "but the value is null; no param takes null"),
              std::string::npos)
        << values.status().message();
  }
  auto required = ParsePipeline(
      "pipeline: p\nparams:\n  s: {type: string}\nsteps:\n"
      "  a: {run: [echo]}\n",
      "p.yaml");
  ASSERT_TRUE(required.ok()) << required.status().ToString();
  EXPECT_EQ(ResolveFile(*required, "{\"s\": null}").status().message(),
            "v.json:1:2: param 's' is string, but the value is null; no "
            "param takes null (give a value of its type, or leave the "
            "param out to use its default)");
  // -p: YAML's null for other types; a string param takes the text.
  EXPECT_EQ(ResolveParams(spec, {"i=null"}, nullptr).status().message(),
            "param 'i' is int, but the value is null; no param takes null "
            "(give a value of its type, or leave the param out to use its "
            "default)");
  EXPECT_FALSE(ResolveParams(spec, {"l=~"}, nullptr).ok());
  EXPECT_EQ(ResolveParams(spec, {"s=null"}, nullptr)->at("s"), Json("null"));
}

// Found by a tester: `-p 'm={"a": 1, "a": 2}'` ran with {"a": 2}, where
// the pipeline file and --params refuse a repeated key.
TEST(ParamsFileTest, RepeatedKeyInACommandLineMapIsRefused) {
  PipelineSpec spec = OneParamOfEachType();
  EXPECT_EQ(ResolveParams(spec, {"m={\"a\": 1, \"a\": 2}"}, nullptr)
                .status()
                .message(),
            "-p m: key \"a\" appears twice in the same object (line 1, "
            "column 10 of the value)");
  EXPECT_EQ(ResolveParams(spec, {"m={a: 1, a: 2}"}, nullptr)
                .status()
                .message(),
            "-p m: key \"a\" appears twice in the same object (line 1, "
            "column 8 of the value)");
  EXPECT_EQ(ResolveParams(spec, {"l=[{b: 1}, {b: 2,\n b: 3}]"}, nullptr)
                .status()
                .message(),
            "-p l: key \"b\" appears twice in the same object (line 2, "
            "column 2 of the value)");
  // A list as a key read as the key "".
  EXPECT_EQ(ResolveParams(spec, {"m={[1]: 2}"}, nullptr).status().message(),
            "-p m: a map's key must be a single value (line 1, column 2 "
            "of the value)");
  EXPECT_EQ(ResolveParams(spec, {"m={a: 1, b: 2}"}, nullptr)->at("m"),
            (Json{{"a", 1}, {"b", 2}}));
}

// Found by a tester: `-p 'm={<<: {a: 1}}'` ran with the key "<<", where
// the pipeline file refuses merge keys. Refused (exit 3, like a repeated
// key); a quoted "<<" is a key of that name.
TEST(ParamsFileTest, MergeKeyInACommandLineMapIsRefused) {
  PipelineSpec spec = OneParamOfEachType();
  const std::string kAdvice =
      "; write the keys out (an alias of a whole value, *name, works), or "
      "quote \"<<\" for a key of that name";
  Status merged = ResolveParams(spec, {"m={<<: {a: 1}}"}, nullptr).status();
  EXPECT_EQ(merged.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(merged.message(),
            "-p m: YAML merge keys (<<) are not supported (line 1, column 2 "
            "of the value)" + kAdvice);
  EXPECT_EQ(ResolveParams(spec, {"l=[{b: 1}, {<<: &x {a: 1}}]"}, nullptr)
                .status()
                .message(),
            "-p l: YAML merge keys (<<) are not supported (line 1, column 11 "
            "of the value)" + kAdvice);
  EXPECT_EQ(ResolveParams(spec, {"m={\"<<\": {a: 1}}"}, nullptr)->at("m"),
            (Json{{"<<", {{"a", 1}}}}));
}

// -p keeps its documented text parsing: a string param takes the text as
// written, other types read it as YAML.
TEST(ParamsFileTest, CommandLineTextStaysText) {
  PipelineSpec spec = OneParamOfEachType();
  Result<ParamValues> values =
      ResolveParams(spec, {"s=1.10", "f=1e2", "i=3"}, nullptr);
  ASSERT_TRUE(values.ok()) << values.status().ToString();
  EXPECT_EQ(values->at("s"), Json("1.10"));
  EXPECT_EQ(values->at("f"), Json(100.0));
  EXPECT_EQ(values->at("i"), Json(3));
}

}  // namespace
}  // namespace lockstep::pipeline
