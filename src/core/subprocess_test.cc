// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "core/subprocess.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

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

TEST(SubprocessTest, KeepsTheEndOfStderrTheFileRefuses) {
  ProcessSpec spec;
  spec.argv = {"/bin/sh", "-c", "echo 'head: No space left on device' >&2; "
                                "exit 1"};
  spec.stderr_path = "/dev/full";  // Every write: ENOSPC.
  spec.stderr_tail_bytes = 600;

  Result<ProcessOutcome> outcome = RunProcess(spec);

  ASSERT_TRUE(outcome.ok()) << outcome.status().ToString();
  EXPECT_EQ(outcome->exit_code, 1);
  EXPECT_EQ(outcome->stderr_tail, "head: No space left on device\n");
  EXPECT_EQ(outcome->stderr_file_error,
            "/dev/full: No space left on device");
}

TEST(SubprocessTest, CopiesAllOfStderrAndKeepsItsEnd) {
  std::string path = ::testing::TempDir() + "/copied.stderr";
  ProcessSpec spec;
  spec.argv = {"/bin/sh", "-c",
               "head -c 200000 /dev/zero >&2; printf 'the end' >&2"};
  spec.stderr_path = path;
  spec.stderr_tail_bytes = 10;

  Result<ProcessOutcome> outcome = RunProcess(spec);

  ASSERT_TRUE(outcome.ok()) << outcome.status().ToString();
  EXPECT_EQ(outcome->stderr_tail, std::string(3, '\0') + "the end");
  EXPECT_EQ(outcome->stderr_file_error, "");
  EXPECT_EQ(std::filesystem::file_size(path), 200007u);
}

TEST(SubprocessTest, AProgramThatCannotRunSaysSoInTheKeptStderr) {
  ProcessSpec spec;
  spec.argv = {"/nonexistent/tool"};
  spec.stderr_path = "/dev/null";
  spec.stderr_tail_bytes = 600;

  Result<ProcessOutcome> outcome = RunProcess(spec);

  ASSERT_TRUE(outcome.ok()) << outcome.status().ToString();
  EXPECT_EQ(outcome->exit_code, 127);
  EXPECT_EQ(outcome->stderr_tail,
            "lockstep: could not execute the step's program "
            "/nonexistent/tool: No such file or directory\n");
}

}  // namespace
}  // namespace lockstep
