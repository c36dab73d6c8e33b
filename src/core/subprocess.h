// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// Running a child process: the seam between the pipeline engine and the
// operating system. The child gets its own process group, so a timeout or
// a Ctrl-C stops everything it started.

#ifndef LOCKSTEP_CORE_SUBPROCESS_H_
#define LOCKSTEP_CORE_SUBPROCESS_H_

#include <atomic>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace lockstep {

struct ProcessSpec {
  std::vector<std::string> argv;
  std::filesystem::path working_directory;
  // "NAME=value" entries. When unset the child inherits the environment.
  std::optional<std::vector<std::string>> environment;
  // Bytes the child reads on stdin; unset means /dev/null.
  std::optional<std::string> stdin_contents;
  // Where stdout and stderr go; empty means /dev/null.
  std::filesystem::path stdout_path;
  std::filesystem::path stderr_path;
  // When non-zero, stderr reaches stderr_path through a pipe this process
  // copies, and its last this many bytes are kept in memory
  // (ProcessOutcome::stderr_tail), even when the file refuses them: on a
  // full disk the child's own complaint was otherwise lost.
  size_t stderr_tail_bytes = 0;
  // Zero means no limit.
  int64_t timeout_millis = 0;
  // Kill what the child left running in its process group when it exits:
  // a step's background job must not write on after the step ended.
  bool kill_leftovers = false;
  // Bytes the child can read from its file descriptor 3 (an anonymous
  // in-memory file at offset 0), for options that must not show in its
  // /proc/PID/cmdline; unset means no descriptor 3.
  std::optional<std::string> fd3_contents;
  // When set, the child's process group (its id and start time) is
  // written here once it starts and removed once it ends, so that a later
  // process can stop what this one left running if it is killed
  // (StopRecordedGroup): with no sandbox, a step outlived a SIGKILLed run.
  std::filesystem::path group_record;
  // Keep what the child writes on stdout, in memory (stdout_path is then
  // not used): for small answers, such as a credential helper's, that
  // must not touch the disk.
  bool capture_stdout = false;
};

struct ProcessOutcome {
  int exit_code = -1;       // Valid when the child exited normally.
  int term_signal = 0;      // Non-zero when a signal ended it.
  bool timed_out = false;
  bool cancelled = false;   // Stopped because cancellation was requested.
  std::string captured_stdout;  // With ProcessSpec::capture_stdout.
  // With ProcessSpec::stderr_tail_bytes: the end of stderr, and why the
  // copy to stderr_path stopped ("" when it is whole).
  std::string stderr_tail;
  std::string stderr_file_error;

  bool succeeded() const {
    return exit_code == 0 && term_signal == 0 && !timed_out && !cancelled;
  }
  // "exit code 3", "killed by signal 9", "timed out after 5000 ms", ...
  std::string Describe() const;
};

// Runs the process to completion. Returns an error Status only when it
// could not be started (for example, the program does not exist).
Result<ProcessOutcome> RunProcess(const ProcessSpec& spec);

// Kills (SIGKILL) what is left of the process group a ProcessSpec's
// group_record names and waits up to two seconds for it to go. Nothing
// is killed when the group's leader is another process now (its start
// time differs); while any member lives the group's id is not reused.
// Returns how many groups were found alive (0 or 1).
int StopRecordedGroup(const std::filesystem::path& record);

// Asks every RunProcess in flight to stop its child (SIGTERM, then SIGKILL
// after a grace period). Async-signal-safe; called from the SIGINT handler.
void RequestCancellation();
bool CancellationRequested();
void ResetCancellation();

// Where library code stops once cancellation was requested. `run` and
// `reproduce` stop their steps' processes and then finish Lockstep's own
// work (recording, the manifest), so theirs is kIgnore. A command made
// only of library work (data snapshot, push, gc) asks for kStop: its
// long loops then return CancellationStatus's error at their next safe
// point and unwind, removing their temporary files as on any error.
enum class SafePoints { kIgnore, kStop };

// Installs SIGINT, SIGTERM and SIGHUP handlers that call
// RequestCancellation. A command that installs them must exit 130 once
// cancellation was requested (docs/exit-codes.md): a signal no longer
// ends it.
void InstallCancellationHandlers(SafePoints safe_points = SafePoints::kIgnore);

// What a long operation returns at a safe point: Aborted ("interrupted
// by a signal") once cancellation was requested in a process that asked
// for SafePoints::kStop; Ok otherwise.
Status CancellationStatus();

}  // namespace lockstep

#endif  // LOCKSTEP_CORE_SUBPROCESS_H_
