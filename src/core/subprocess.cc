// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "core/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string_view>

#include "core/clock.h"
#include "core/files.h"
#include "core/utf8.h"

namespace lockstep {

namespace {

std::atomic<bool> g_cancel_requested{false};
// Set once by InstallCancellationHandlers (see SafePoints).
std::atomic<bool> g_stop_at_safe_points{false};

// How long a child has to exit after SIGTERM before it gets SIGKILL.
constexpr int64_t kTerminateGraceMillis = 2000;

void HandleCancelSignal(int) { g_cancel_requested = true; }

int OpenForChild(const std::filesystem::path& path, int flags) {
  if (path.empty()) {
    return ::open("/dev/null", flags | O_CLOEXEC);
  }
  return ::open(path.c_str(), flags | O_CLOEXEC, 0644);
}

// A close-on-exec anonymous file holding `bytes`, at offset 0; -1 with
// errno set on failure.
int InMemoryFile(const std::string& bytes) {
  int fd = ::memfd_create("lockstep-child-input", MFD_CLOEXEC);
  if (fd < 0) {
    return -1;
  }
  if (!WriteAll(fd, bytes, "fd 3").ok() || ::lseek(fd, 0, SEEK_SET) < 0) {
    int error = errno;
    ::close(fd);
    errno = error;
    return -1;
  }
  return fd;
}

// Everything written to the in-memory file `fd`, from its start.
std::string ReadCaptured(int fd) {
  std::string bytes;
  char buffer[4096];
  off_t offset = 0;
  ssize_t got;
  while ((got = ::pread(fd, buffer, sizeof(buffer), offset)) > 0) {
    bytes.append(buffer, static_cast<size_t>(got));
    offset += got;
  }
  return bytes;
}

// Copies the child's stderr from a pipe into its file, keeping the end
// in memory.
class StderrCopy {
 public:
  StderrCopy(std::filesystem::path path, int file, int pipe_read,
             size_t limit)
      : path_(std::move(path)), file_(file), pipe_(pipe_read),
        limit_(limit) {}
  ~StderrCopy() {
    if (pipe_ >= 0) ::close(pipe_);
    if (file_ >= 0) ::close(file_);
  }
  StderrCopy(const StderrCopy&) = delete;
  StderrCopy& operator=(const StderrCopy&) = delete;

  // The read end to poll; -1 once every writer has closed it.
  int pipe() const { return pipe_; }

  // Copies what the pipe holds now, without waiting.
  void Drain() {
    char buffer[16384];
    while (pipe_ >= 0) {
      ssize_t got = ::read(pipe_, buffer, sizeof(buffer));
      if (got < 0 && errno == EINTR) {
        continue;
      }
      if (got <= 0) {
        if (got == 0 || errno != EAGAIN) {
          ::close(pipe_);
          pipe_ = -1;
        }
        return;
      }
      Keep(std::string_view(buffer, static_cast<size_t>(got)));
    }
  }

  // Bytes Lockstep itself writes on the child's behalf.
  void Keep(std::string_view bytes) {
    if (file_error_.empty()) {
      Status written = WriteAll(file_, bytes, path_);
      if (!written.ok()) {
        file_error_ = written.message();
      }
    }
    tail_.append(bytes);
    if (tail_.size() > 2 * limit_) {
      tail_.erase(0, tail_.size() - limit_);
    }
  }

  void Finish(ProcessOutcome* outcome) {
    if (tail_.size() > limit_) {
      tail_.erase(0, tail_.size() - limit_);
    }
    outcome->stderr_tail = std::move(tail_);
    outcome->stderr_file_error = std::move(file_error_);
  }

 private:
  std::filesystem::path path_;
  int file_;
  int pipe_;
  size_t limit_;
  std::string tail_;
  std::string file_error_;
};

// Starts the child with posix_spawn: glibc clones with CLONE_VM |
// CLONE_VFORK, so unlike fork() nothing of the (large, multi-threaded)
// parent's page tables is copied. The child gets its own process group,
// default signal dispositions and an empty signal mask. Returns the errno
// of a failed spawn (including exec and chdir failures) or 0.
int SpawnChild(char* const argv[], char* const envp[], const char* cwd,
               const int fds[4], pid_t* pid) {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attributes;
  ::posix_spawn_file_actions_init(&actions);
  ::posix_spawnattr_init(&attributes);
  for (int target = 0; target < 4; ++target) {
    if (fds[target] >= 0) {
      ::posix_spawn_file_actions_adddup2(&actions, fds[target], target);
    }
  }
  // Descriptors Lockstep itself inherited without close-on-exec (a
  // caller's pipe) are not the step's to write to.
  ::posix_spawn_file_actions_addclosefrom_np(&actions,
                                              fds[3] >= 0 ? 4 : 3);
  if (cwd != nullptr) {
    ::posix_spawn_file_actions_addchdir_np(&actions, cwd);
  }
  sigset_t defaults, mask;
  sigemptyset(&defaults);
  for (int signal : {SIGINT, SIGTERM, SIGPIPE, SIGQUIT, SIGHUP}) {
    sigaddset(&defaults, signal);
  }
  sigemptyset(&mask);
  ::posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP |
                                              POSIX_SPAWN_SETSIGDEF |
                                              POSIX_SPAWN_SETSIGMASK);
  ::posix_spawnattr_setpgroup(&attributes, 0);
  ::posix_spawnattr_setsigdefault(&attributes, &defaults);
  ::posix_spawnattr_setsigmask(&attributes, &mask);
  int error = ::posix_spawnp(pid, argv[0], &actions, &attributes, argv,
                             envp != nullptr ? envp : environ);
  ::posix_spawnattr_destroy(&attributes);
  ::posix_spawn_file_actions_destroy(&actions);
  return error;
}

// Waits for `pid`, enforcing the timeout and cancellation, and copying
// its stderr when `copy` is given.
ProcessOutcome WaitForChild(pid_t pid, int64_t timeout_millis,
                            bool kill_leftovers, StderrCopy* copy) {
  ProcessOutcome outcome;
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  int64_t start = NowUnixMillis();
  int64_t kill_deadline = 0;

  while (true) {
    // Seen exited but not yet reaped: while the child is a zombie its pid,
    // the group's id, cannot be reused, so killing the group is safe.
    siginfo_t exited = {};
    if (::waitid(P_PID, pid, &exited, WEXITED | WNOHANG | WNOWAIT) == 0 &&
        exited.si_pid == pid && kill_leftovers) {
      ::kill(-pid, SIGKILL);
    }
    int status = 0;
    pid_t done = exited.si_pid == pid ? ::waitpid(pid, &status, 0) : 0;
    if (done == pid) {
      if (WIFEXITED(status)) {
        outcome.exit_code = WEXITSTATUS(status);
      } else if (WIFSIGNALED(status)) {
        outcome.term_signal = WTERMSIG(status);
      }
      break;
    }

    int64_t now = NowUnixMillis();
    bool over_time = timeout_millis > 0 && now - start > timeout_millis;
    if ((over_time || g_cancel_requested) && kill_deadline == 0) {
      outcome.timed_out = over_time;
      outcome.cancelled = !over_time;
      ::kill(-pid, SIGTERM);
      kill_deadline = now + kTerminateGraceMillis;
    }
    if (kill_deadline != 0 && now > kill_deadline) {
      ::kill(-pid, SIGKILL);
    }

    struct pollfd entries[2] = {{pidfd, POLLIN, 0},
                                {copy ? copy->pipe() : -1, POLLIN, 0}};
    if (pidfd >= 0 || entries[1].fd >= 0) {
      ::poll(entries, 2, pidfd >= 0 ? 50 : 2);
    } else {
      ::usleep(2000);
    }
    if (copy != nullptr) {
      copy->Drain();
    }
  }
  if (pidfd >= 0) {
    ::close(pidfd);
  }
  // What the child wrote last; a leftover that still holds the pipe is
  // not waited for.
  if (copy != nullptr) {
    copy->Drain();
    copy->Finish(&outcome);
  }
  return outcome;
}

// The start time of process `pid` in clock ticks since boot (field 22 of
// /proc/PID/stat), or "" when it does not exist. Fields after the
// command name are counted from its closing parenthesis, as the name may
// hold spaces and parentheses of its own.
std::string StartTimeOf(pid_t pid) {
  Result<std::string> stat =
      ReadFile("/proc/" + std::to_string(pid) + "/stat");
  if (!stat.ok()) return "";
  size_t close = stat->rfind(')');
  if (close == std::string::npos) return "";
  size_t field = 3;  // The state, after the parenthesis.
  size_t at = close + 2;
  while (field < 22 && at < stat->size()) {
    at = stat->find(' ', at);
    if (at == std::string::npos) return "";
    ++at;
    ++field;
  }
  return stat->substr(at, stat->find(' ', at) - at);
}

// For E2BIG, which of the step's arguments Linux refused and why: the
// bare "Argument list too long" named neither (a tester's 200,000-byte
// param). "" for any other error.
std::string TooLongExplained(int error, const ProcessSpec& spec) {
  if (error != E2BIG) return "";
  // MAX_ARG_STRLEN: 32 pages, the terminating NUL included.
  constexpr size_t kMaxArgument = 32 * 4096 - 1;
  size_t longest = 0;
  for (size_t i = 1; i < spec.argv.size(); ++i) {
    if (spec.argv[i].size() > spec.argv[longest].size()) longest = i;
  }
  size_t bytes = spec.argv[longest].size();
  if (bytes <= kMaxArgument) {
    return " (the arguments and environment together pass the system's "
           "limit, getconf ARG_MAX)";
  }
  // Its start, not its place: behind a sandbox's own arguments the place
  // would not be the step's.
  std::string start = EscapeBytes(spec.argv[longest].substr(0, 24));
  return " (an argument of " + std::to_string(bytes) + " bytes, '" + start +
         "...'; Linux takes at most " + std::to_string(kMaxArgument) +
         " in one argument: pass a value that large in a file)";
}

// Written without a flush: after a crash of the machine nothing it names
// is running.
void RecordGroup(const fs::path& record, pid_t pid) {
  std::string line = std::to_string(pid) + " " + StartTimeOf(pid) + "\n";
  int fd = ::open(record.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                  0644);
  if (fd < 0) return;
  (void)WriteAll(fd, line, record);
  ::close(fd);
}

}  // namespace

int StopRecordedGroup(const fs::path& record) {
  Result<std::string> text = ReadFile(record);
  if (!text.ok()) return 0;
  size_t space = text->find(' ');
  pid_t group = static_cast<pid_t>(std::atol(text->c_str()));
  if (group <= 1 || space == std::string::npos) return 0;
  std::string started = text->substr(space + 1);
  while (!started.empty() && started.back() == '\n') started.pop_back();

  // A leader alive under the same id but started at another time is a
  // stranger that reused the id after the whole group ended.
  std::string leader_started = StartTimeOf(group);
  if (!leader_started.empty() && leader_started != started) return 0;
  if (::kill(-group, SIGKILL) != 0) return 0;
  for (int waited = 0; waited < 200 && ::kill(-group, 0) == 0; ++waited) {
    ::usleep(10000);
  }
  return 1;
}

std::string ProcessOutcome::Describe() const {
  if (timed_out) {
    return "timed out";
  }
  if (cancelled) {
    return "cancelled";
  }
  if (term_signal != 0) {
    return "killed by signal " + std::to_string(term_signal) + " (" +
           strsignal(term_signal) + ")";
  }
  return "exit code " + std::to_string(exit_code);
}

Result<ProcessOutcome> RunProcess(const ProcessSpec& spec) {
  if (spec.argv.empty()) {
    return Status::InvalidArgument("empty command");
  }

  std::vector<std::string> argv_storage = spec.argv;
  std::vector<std::string> env_storage =
      spec.environment.value_or(std::vector<std::string>{});
  std::vector<char*> argv;
  for (std::string& arg : argv_storage) {
    argv.push_back(arg.data());
  }
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (std::string& entry : env_storage) {
    envp.push_back(entry.data());
  }
  envp.push_back(nullptr);
  std::string cwd = spec.working_directory.string();

  int fds[4] = {
      spec.stdin_contents ? InMemoryFile(*spec.stdin_contents)
                          : ::open("/dev/null", O_RDONLY | O_CLOEXEC),
      spec.capture_stdout
          ? ::memfd_create("lockstep-child-stdout", MFD_CLOEXEC)
          : OpenForChild(spec.stdout_path, O_WRONLY | O_CREAT | O_TRUNC),
      OpenForChild(spec.stderr_path, O_WRONLY | O_CREAT | O_TRUNC),
      spec.fd3_contents ? InMemoryFile(*spec.fd3_contents) : -1};
  std::optional<StderrCopy> stderr_copy;
  if (spec.stderr_tail_bytes > 0 && fds[2] >= 0) {
    int ends[2];
    if (::pipe2(ends, O_CLOEXEC) != 0) {
      int error = errno;
      for (int fd : fds) {
        if (fd >= 0) ::close(fd);
      }
      return Status::Unavailable(std::string("cannot open step output: ") +
                                 std::strerror(error));
    }
    ::fcntl(ends[0], F_SETFL, O_NONBLOCK);
    stderr_copy.emplace(spec.stderr_path, fds[2], ends[0],
                        spec.stderr_tail_bytes);
    fds[2] = ends[1];
  }
  // Read back after the child exits; fds[1] is closed with the others.
  int captured = spec.capture_stdout && fds[1] >= 0
                     ? ::fcntl(fds[1], F_DUPFD_CLOEXEC, 0)
                     : -1;
  auto close_all = [&] {
    for (int fd : fds) {
      if (fd >= 0) {
        ::close(fd);
      }
    }
  };
  if (fds[0] < 0 || fds[1] < 0 || fds[2] < 0 ||
      (spec.fd3_contents && fds[3] < 0) ||
      (spec.capture_stdout && captured < 0)) {
    int error = errno;
    close_all();
    if (captured >= 0) ::close(captured);
    return Status::Unavailable(std::string("cannot open step output: ") +
                               std::strerror(error));
  }

  pid_t pid = 0;
  int error = SpawnChild(argv.data(),
                         spec.environment ? envp.data() : nullptr,
                         cwd.empty() ? nullptr : cwd.c_str(), fds, &pid);
  if (error == EAGAIN || error == ENOMEM) {
    close_all();
    if (captured >= 0) ::close(captured);
    return Status::Unavailable(std::string("cannot start a process: ") +
                               std::strerror(error));
  }
  if (error != 0) {
    // The program could not be executed (missing, not executable, bad
    // working folder): report it like a shell does, as exit code 127
    // with the reason on the step's stderr.
    std::string message = "lockstep: could not execute the step's program " +
                          spec.argv[0] + ": " + std::strerror(error) +
                          TooLongExplained(error, spec) + "\n";
    ProcessOutcome outcome;
    if (stderr_copy) {
      stderr_copy->Keep(message);
      stderr_copy->Finish(&outcome);
    } else {
      ssize_t ignored = ::write(fds[2], message.data(), message.size());
      (void)ignored;
    }
    close_all();
    if (captured >= 0) ::close(captured);
    outcome.exit_code = 127;
    return outcome;
  }
  close_all();
  if (!spec.group_record.empty()) {
    RecordGroup(spec.group_record, pid);
  }
  ProcessOutcome outcome =
      WaitForChild(pid, spec.timeout_millis, spec.kill_leftovers,
                   stderr_copy ? &*stderr_copy : nullptr);
  if (!spec.group_record.empty()) {
    ::unlink(spec.group_record.c_str());
  }
  if (captured >= 0) {
    outcome.captured_stdout = ReadCaptured(captured);
    ::close(captured);
  }
  return outcome;
}

void RequestCancellation() { g_cancel_requested = true; }

bool CancellationRequested() { return g_cancel_requested; }

void ResetCancellation() { g_cancel_requested = false; }

Status CancellationStatus() {
  return g_cancel_requested && g_stop_at_safe_points
             ? Status::Aborted("interrupted by a signal")
             : Status::Ok();
}

void InstallCancellationHandlers(SafePoints safe_points) {
  g_stop_at_safe_points = safe_points == SafePoints::kStop;
  struct sigaction action = {};
  action.sa_handler = HandleCancelSignal;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);
  // A closed terminal: left unhandled, the run was abandoned unrecorded
  // and, with --sandbox none, its steps ran on as orphans.
  ::sigaction(SIGHUP, &action, nullptr);
}

}  // namespace lockstep
