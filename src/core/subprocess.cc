// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "core/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/clock.h"

namespace lockstep {

namespace {

std::atomic<bool> g_cancel_requested{false};

// How long a child has to exit after SIGTERM before it gets SIGKILL.
constexpr int64_t kTerminateGraceMillis = 2000;

void HandleCancelSignal(int) { g_cancel_requested = true; }

int OpenForChild(const std::filesystem::path& path, int flags) {
  if (path.empty()) {
    return ::open("/dev/null", flags | O_CLOEXEC);
  }
  return ::open(path.c_str(), flags | O_CLOEXEC, 0644);
}

// Everything the child needs, prepared before fork so the child only calls
// async-signal-safe functions.
struct ChildPlan {
  std::vector<char*> argv;
  std::vector<char*> envp;
  int stdin_fd = -1;
  int stdout_fd = -1;
  int stderr_fd = -1;
  const char* cwd = nullptr;
};

[[noreturn]] void ExecChild(const ChildPlan& plan) {
  ::setpgid(0, 0);
  ::signal(SIGINT, SIG_DFL);
  ::signal(SIGTERM, SIG_DFL);
  ::signal(SIGPIPE, SIG_DFL);
  ::dup2(plan.stdin_fd, STDIN_FILENO);
  ::dup2(plan.stdout_fd, STDOUT_FILENO);
  ::dup2(plan.stderr_fd, STDERR_FILENO);
  if (plan.cwd != nullptr && ::chdir(plan.cwd) != 0) {
    _exit(127);
  }
  if (!plan.envp.empty()) {
    ::execvpe(plan.argv[0], plan.argv.data(), plan.envp.data());
  } else {
    ::execvp(plan.argv[0], plan.argv.data());
  }
  const char message[] = "lockstep: could not execute the step's program\n";
  ssize_t ignored = ::write(STDERR_FILENO, message, sizeof(message) - 1);
  (void)ignored;
  _exit(127);
}

// Waits for `pid`, enforcing the timeout and cancellation.
ProcessOutcome WaitForChild(pid_t pid, int64_t timeout_millis) {
  ProcessOutcome outcome;
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  int64_t start = NowUnixMillis();
  int64_t kill_deadline = 0;

  while (true) {
    int status = 0;
    pid_t done = ::waitpid(pid, &status, WNOHANG);
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

    if (pidfd >= 0) {
      struct pollfd entry = {pidfd, POLLIN, 0};
      ::poll(&entry, 1, 50);
    } else {
      ::usleep(2000);
    }
  }
  if (pidfd >= 0) {
    ::close(pidfd);
  }
  return outcome;
}

}  // namespace

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
  ChildPlan plan;
  for (std::string& arg : argv_storage) {
    plan.argv.push_back(arg.data());
  }
  plan.argv.push_back(nullptr);
  if (spec.environment) {
    for (std::string& entry : env_storage) {
      plan.envp.push_back(entry.data());
    }
    plan.envp.push_back(nullptr);
  }
  std::string cwd = spec.working_directory.string();
  plan.cwd = cwd.empty() ? nullptr : cwd.c_str();

  plan.stdin_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  int write_flags = O_WRONLY | O_CREAT | O_TRUNC;
  plan.stdout_fd = OpenForChild(spec.stdout_path, write_flags);
  plan.stderr_fd = OpenForChild(spec.stderr_path, write_flags);
  auto close_all = [&] {
    for (int fd : {plan.stdin_fd, plan.stdout_fd, plan.stderr_fd}) {
      if (fd >= 0) {
        ::close(fd);
      }
    }
  };
  if (plan.stdin_fd < 0 || plan.stdout_fd < 0 || plan.stderr_fd < 0) {
    int error = errno;
    close_all();
    return Status::Unavailable(std::string("cannot open step output: ") +
                               std::strerror(error));
  }

  pid_t pid = ::fork();
  if (pid < 0) {
    int error = errno;
    close_all();
    return Status::Unavailable(std::string("fork: ") + std::strerror(error));
  }
  if (pid == 0) {
    ExecChild(plan);
  }
  ::setpgid(pid, pid);  // Also in the parent, to win the race with kill.
  close_all();
  return WaitForChild(pid, spec.timeout_millis);
}

void RequestCancellation() { g_cancel_requested = true; }

bool CancellationRequested() { return g_cancel_requested; }

void ResetCancellation() { g_cancel_requested = false; }

void InstallCancellationHandlers() {
  struct sigaction action = {};
  action.sa_handler = HandleCancelSignal;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);
}

}  // namespace lockstep
