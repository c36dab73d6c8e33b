// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "pipeline/run_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <set>

#include "core/files.h"
#include "core/log.h"
#include "core/subprocess.h"
#include "store/scratch.h"

namespace lockstep::pipeline {

namespace fs = std::filesystem;

namespace {

fs::path LockPath(const fs::path& store_root, const std::string& run_id) {
  return store_root / "locks" / ("run-" + run_id + ".lock");
}

// What the owner wrote into its lock file: its pid, then (when it ended
// on an error before recording the run's end) that error.
struct OwnerNote {
  std::string pid = "unknown";
  std::string error;
};

// A lock file's note stays within its first block (see NoteError).
constexpr size_t kNoteLimit = 4096;

OwnerNote ReadOwnerNote(int fd) {
  char buffer[kNoteLimit];
  ssize_t got = ::pread(fd, buffer, sizeof(buffer), 0);
  std::string text = got > 0 ? std::string(buffer, got) : "";
  size_t newline = text.find('\n');
  OwnerNote note;
  std::string pid = text.substr(0, newline);
  if (!pid.empty()) {
    note.pid = pid;
  }
  if (newline != std::string::npos) {
    note.error = text.substr(newline + 1);
  }
  while (!note.error.empty() && note.error.back() == '\n') {
    note.error.pop_back();
  }
  return note;
}

// Why a run recorded as running has no owner any more.
std::string AbandonedReason(const OwnerNote& note) {
  std::string owner = "abandoned: the lockstep process running it (pid " +
                      note.pid + ")";
  if (!note.error.empty()) {
    return owner + " could not record its end: " + note.error;
  }
  return owner + " ended without finishing it (killed or crashed)";
}

// Stops the process groups of steps a dead run left running, before
// their folder is removed under them, and before a --resume runs the
// same steps again beside them (a tester saw a step's side effects
// twice).
void StopLeftoverSteps(const fs::path& work_root, const std::string& run) {
  std::error_code error;
  for (fs::directory_iterator it(work_root, error), end; !error && it != end;
       it.increment(error)) {
    if (it->path().extension() != kStepGroupSuffix) continue;
    if (StopRecordedGroup(it->path()) > 0) {
      LogWarning("run {}: stopped step {} left running", run,
                 it->path().stem().string());
    }
  }
}

// Creates (or opens) and locks a run's lock file, again while a
// remover unlinks the file between this open and this lock (see the
// header).
Result<int> OpenAndLock(const fs::path& path, const std::string& run_id) {
  for (int attempt = 0; attempt < 16; ++attempt) {
    // O_CLOEXEC: a step's process must not inherit (and so keep) the
    // lock.
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
      return Status::Unavailable("cannot create " + path.string() + ": " +
                                 std::strerror(errno));
    }
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd);
      return Status::FailedPrecondition("run " + run_id +
                                        " is already in progress");
    }
    if (StillNamed(fd, path)) return fd;
    ::close(fd);
  }
  return Status::Unavailable("cannot lock " + path.string() +
                             ": it is removed as soon as it is made");
}

// The run or reproduction a lock file in <store>/locks belongs to, or ""
// when `name` is not a run's lock file.
std::string RunOfLockFile(const std::string& name) {
  if (!name.starts_with("run-") || !name.ends_with(".lock") ||
      name.size() <= 9) {
    return "";
  }
  return name.substr(4, name.size() - 4 - 5);
}

}  // namespace

fs::path RunWorkRoot(const fs::path& store_root, const std::string& run_id) {
  return store_root / "work" / run_id;
}

Result<RunLock> RunLock::Acquire(const fs::path& store_root,
                                 const std::string& run_id) {
  fs::path path = LockPath(store_root, run_id);
  std::error_code error;
  fs::create_directories(path.parent_path(), error);
  ASSIGN_OR_RETURN(int fd, OpenAndLock(path, run_id));
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 ||
      ::pwrite(fd, pid.data(), pid.size(), 0) !=
          static_cast<ssize_t>(pid.size())) {
    std::string reason = std::strerror(errno);
    // No run is recorded under it yet: left behind, nothing would ever
    // remove it (found by a tester, on a full disk).
    ::unlink(path.c_str());
    ::close(fd);
    return Status::Unavailable("cannot write " + path.string() + ": " +
                               reason);
  }
  return RunLock(path, fd);
}

RunLock::RunLock(RunLock&& other) noexcept
    : path_(std::move(other.path_)),
      fd_(other.fd_),
      end_pending_(other.end_pending_) {
  other.fd_ = -1;
}

RunLock& RunLock::operator=(RunLock&& other) noexcept {
  if (this != &other) {
    Release();
    path_ = std::move(other.path_);
    fd_ = other.fd_;
    end_pending_ = other.end_pending_;
    other.fd_ = -1;
  }
  return *this;
}

RunLock::~RunLock() { Release(); }

void RunLock::NoteError(const std::string& message) {
  if (fd_ < 0) {
    return;
  }
  std::string note = std::to_string(::getpid()) + "\n" + message + "\n";
  note.resize(std::min(note.size(), kNoteLimit));
  (void)::pwrite(fd_, note.data(), note.size(), 0);
}

void RunLock::Release() {
  if (fd_ < 0) {
    return;
  }
  // Unlinked while still locked, so no other process can lock this file
  // and take a finished run for an abandoned one. Kept when the run's end
  // could not be recorded, so that the next process records it.
  if (!end_pending_) {
    ::unlink(path_.c_str());
  }
  ::close(fd_);
  fd_ = -1;
}

Result<std::vector<std::string>> RecoverAbandonedRuns(
    const fs::path& store_root, metadata::MetadataStore* metadata) {
  std::vector<std::string> recovered;
  ASSIGN_OR_RETURN(std::vector<metadata::Run> running,
                   metadata->ListRuns({.status = "running"}));
  for (const metadata::Run& run : running) {
    fs::path path = LockPath(store_root, run.run_id);
    int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) {
      continue;  // Not a run of this store, or it just finished.
    }
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd);
      continue;  // Its owner is alive.
    }
    // Locked by us now. The owner records the end before it unlocks, so
    // AbandonRun, which only changes a run still running, cannot mistake
    // a run that finished meanwhile.
    std::string reason = AbandonedReason(ReadOwnerNote(fd));
    Result<bool> changed =
        metadata->AbandonRun(run.run_id, "failed", reason);
    if (changed.ok() && *changed) {
      StopLeftoverSteps(RunWorkRoot(store_root, run.run_id), run.run_id);
      RemoveAllQuietly(RunWorkRoot(store_root, run.run_id));
      recovered.push_back(run.run_id);
      LogWarning("run {} was {}; recorded it as failed", run.run_id,
                 reason);
    }
    if (changed.ok() && StillNamed(fd, path)) {
      ::unlink(path.c_str());
    }
    ::close(fd);
    RETURN_IF_ERROR(changed.status());
  }
  return recovered;
}

bool WorkFolderClaimed(const fs::path& store_root, const std::string& name) {
  fs::path path = LockPath(store_root, name);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return false;
  }
  // A shared lock is refused only while an owner holds its exclusive one;
  // taken, it is dropped at once and no owner ever waits for it.
  bool claimed = ::flock(fd, LOCK_SH | LOCK_NB) != 0;
  ::close(fd);
  return claimed;
}

int64_t GraceSparingLiveRuns(const fs::path& store_root, int64_t grace_ms) {
  const fs::path locks = store_root / "locks";
  std::optional<int64_t> oldest;
  std::error_code error;
  for (fs::directory_iterator it(locks, error), end; !error && it != end;
       it.increment(error)) {
    std::string run = RunOfLockFile(it->path().filename().string());
    if (run.empty() || !WorkFolderClaimed(store_root, run)) {
      continue;
    }
    std::optional<int64_t> started =
        store::NewestModificationMillis(it->path());
    if (started && (!oldest || *started < *oldest)) {
      oldest = started;
    }
  }
  if (!oldest) {
    return grace_ms;
  }
  int64_t age = store::FileClockNowMillis(locks) - *oldest;
  return std::max(grace_ms, age + kLiveRunSlackMillis);
}

Result<ScratchSweep> SweepAbandonedScratch(const fs::path& store_root,
                                           int64_t grace_ms, bool dry_run) {
  ScratchSweep sweep;
  int64_t now = store::FileClockNowMillis(store_root / "tmp");

  // A folder no live run claims may still have steps of its dead run
  // writing in it (--sandbox none): they are stopped before it goes.
  auto claimed = [&](const std::string& name) {
    if (WorkFolderClaimed(store_root, name)) return true;
    if (!dry_run) StopLeftoverSteps(store_root / "work" / name, name);
    return false;
  };
  ASSIGN_OR_RETURN(sweep.work_folders,
                   store::SweepStaleScratch(store_root / "work",
                                            now - grace_ms, claimed,
                                            dry_run));

  // Uploads by their own rule: their server bounds how long one may sit
  // idle. Every other temporary after a day.
  ASSIGN_OR_RETURN(sweep.temporaries,
                   store::SweepAbandonedUploads(store_root / "tmp", grace_ms,
                                                dry_run));
  int64_t temporary_grace = std::max(grace_ms, kTemporaryGraceMillis);
  ASSIGN_OR_RETURN(std::vector<store::ScratchEntry> others,
                   store::SweepStaleScratch(store_root / "tmp",
                                            now - temporary_grace,
                                            store::IsUploadFile, dry_run));
  sweep.temporaries.insert(sweep.temporaries.end(), others.begin(),
                           others.end());
  return sweep;
}

Result<std::vector<store::ScratchEntry>> SweepUnheldRunLocks(
    const fs::path& store_root, metadata::MetadataStore* metadata,
    bool dry_run) {
  ASSIGN_OR_RETURN(std::vector<metadata::Run> running,
                   metadata->ListRuns({.status = "running"}));
  std::set<std::string> recorded_running;
  for (const metadata::Run& run : running) {
    recorded_running.insert(run.run_id);
  }
  std::vector<store::ScratchEntry> swept;
  const fs::path locks = store_root / "locks";
  std::error_code error;
  for (fs::directory_iterator it(locks, error), end; !error && it != end;
       it.increment(error)) {
    std::string run = RunOfLockFile(it->path().filename().string());
    if (run.empty() || recorded_running.contains(run)) continue;
    int fd = ::open(it->path().c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) continue;  // Removed by its owner meanwhile.
    struct stat info;
    // Held: its run or reproduction is live. Taken, it is kept until
    // the file is removed, so no owner can start on it in between.
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0 && StillNamed(fd, it->path()) &&
        ::fstat(fd, &info) == 0 &&
        (dry_run || ::unlink(it->path().c_str()) == 0)) {
      swept.push_back({it->path(), static_cast<uint64_t>(info.st_size)});
    }
    ::close(fd);
  }
  return swept;
}

}  // namespace lockstep::pipeline
