// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "core/subprocess.h"

#include <gtest/gtest.h>

namespace lockstep {
namespace {

TEST(SubprocessTest, ChildReadsStdinAndItsStdoutIsCaptured) {
  ProcessSpec spec;
  spec.argv = {"/bin/sh", "-c", "read host; printf 'asked for %s' \"$host\""};
  spec.stdin_contents = "registry.example:5000\n";
  spec.capture_stdout = true;

  Result<ProcessOutcome> outcome = RunProcess(spec);

  ASSERT_TRUE(outcome.ok()) << outcome.status().ToString();
  EXPECT_TRUE(outcome->succeeded()) << outcome->Describe();
  EXPECT_EQ(outcome->captured_stdout, "asked for registry.example:5000");
}

TEST(SubprocessTest, CapturesMoreThanAPipeHolds) {
  ProcessSpec spec;
  spec.argv = {"/bin/sh", "-c", "head -c 200000 /dev/zero; exit 3"};
  spec.capture_stdout = true;

  Result<ProcessOutcome> outcome = RunProcess(spec);

  ASSERT_TRUE(outcome.ok()) << outcome.status().ToString();
  EXPECT_EQ(outcome->exit_code, 3);
  EXPECT_EQ(outcome->captured_stdout, std::string(200000, '\0'));
}

TEST(SubprocessTest, WithoutStdinTheChildReadsNothing) {
  ProcessSpec spec;
  spec.argv = {"/bin/sh", "-c", "wc -c"};
  spec.capture_stdout = true;

  Result<ProcessOutcome> outcome = RunProcess(spec);

  ASSERT_TRUE(outcome.ok()) << outcome.status().ToString();
  EXPECT_EQ(outcome->captured_stdout, "0\n");
}

}  // namespace
}  // namespace lockstep
