// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// Params from a new user's hands: values far longer or larger than any
// sane one must give a typed value or a clear error, never a crash.

#include <gtest/gtest.h>

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
                           "0x10", "1_000", " 1", "1 "}) {
    EXPECT_TRUE(TypePlainScalar(text, false).is_string()) << text;
  }
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
  EXPECT_NE(values.status().message().find("param 'lr' is float"),
            std::string::npos)
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

}  // namespace
}  // namespace lockstep::pipeline
