// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "core/subprocess.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <string>
#include <thread>

#include "core/files.h"

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

// Found by a tester: a 200,000-byte param ended in a bare "Argument list
// too long" that named neither the argument nor the limit.
TEST(SubprocessTest, AnArgumentPastTheLinuxLimitIsNamed) {
  ProcessSpec spec;
  spec.argv = {"/bin/echo", "short", std::string(200000, 'x')};
  spec.stderr_tail_bytes = 4096;
  fs::path dir = *MakeTempDirectory(fs::temp_directory_path(), "e2big-");
  spec.stderr_path = dir / "stderr";

  Result<ProcessOutcome> outcome = RunProcess(spec);

  ASSERT_TRUE(outcome.ok()) << outcome.status().ToString();
  EXPECT_EQ(outcome->exit_code, 127);
  EXPECT_NE(outcome->stderr_tail.find(
                "Argument list too long (an argument of 200000 bytes, '" +
                std::string(24, 'x') + "...'; Linux takes at most 131071 "
                "in one argument"),
            std::string::npos)
      << outcome->stderr_tail;
  RemoveAllQuietly(dir);
}

// The record names the running group; a later process (here, this test
// standing in for RecoverAbandonedRuns) stops all of it through it.
TEST(SubprocessTest, ARecordedGroupCanBeStoppedByAnotherProcess) {
  fs::path dir = *MakeTempDirectory(fs::temp_directory_path(), "group-");
  ProcessSpec spec;
  spec.argv = {"/bin/sh", "-c", "sleep 60 & sleep 60; wait"};
  spec.group_record = dir / "step.group";
  std::future<Result<ProcessOutcome>> running =
      std::async(std::launch::async, [&] { return RunProcess(spec); });
  for (int i = 0; i < 500 && !fs::exists(spec.group_record); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(fs::exists(spec.group_record));

  EXPECT_EQ(StopRecordedGroup(spec.group_record), 1);

  ASSERT_EQ(running.wait_for(std::chrono::seconds(10)),
            std::future_status::ready);
  Result<ProcessOutcome> outcome = running.get();
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->term_signal, SIGKILL);
  EXPECT_FALSE(fs::exists(spec.group_record));  // Removed at the end.
  EXPECT_EQ(StopRecordedGroup(spec.group_record), 0);
  RemoveAllQuietly(dir);
}

// The group's id was reused by a process started later: it is not ours.
TEST(SubprocessTest, AGroupWhoseLeaderStartedAtAnotherTimeIsLeftAlone) {
  fs::path dir = *MakeTempDirectory(fs::temp_directory_path(), "group-");
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::setpgid(0, 0);
    ::pause();
    ::_exit(0);
  }
  ::setpgid(child, child);
  fs::path record = dir / "stale.group";
  ASSERT_TRUE(
      WriteFileAtomically(record, std::to_string(child) + " 1\n").ok());

  EXPECT_EQ(StopRecordedGroup(record), 0);

  EXPECT_EQ(::kill(child, 0), 0) << "the stranger was killed";
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  RemoveAllQuietly(dir);
}

}  // namespace
}  // namespace lockstep
