// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "store/sweep_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/random.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <thread>

#include "core/files.h"
#include "core/subprocess.h"

namespace lockstep::store {

namespace fs = std::filesystem;

namespace {

constexpr size_t kStampBytes = 16;

fs::path LockPath(const fs::path& store_root) {
  return store_root / "locks" / "sweep.lock";
}

Result<int> OpenLockFile(const fs::path& path) {
  std::error_code error;
  fs::create_directories(path.parent_path(), error);
  // O_CLOEXEC: a step's process must not inherit (and so keep) the lock.
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus(path, errno);
  return fd;
}

// Takes the flock. The wait polls rather than blocks: a blocked flock
// would sleep through the signal that asks the command to stop (its
// handler restarts nothing, but the call may begin just after it ran).
Status Flock(int fd, int operation, const fs::path& path,
             const SweepLock::WaitNotice& on_wait) {
  const auto start = std::chrono::steady_clock::now();
  auto pause = std::chrono::milliseconds(1);
  bool told = false;
  while (::flock(fd, operation | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    if (errno != EWOULDBLOCK) return ErrnoStatus(path, errno);
    RETURN_IF_ERROR(CancellationStatus());
    auto waited = std::chrono::steady_clock::now() - start;
    if (!told && on_wait &&
        waited >= std::chrono::milliseconds(SweepLock::kWaitNoticeMillis)) {
      told = true;
      on_wait(path, FlockHolders(path));
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(50));
  }
  return Status::Ok();
}

// A random stamp, so that no later stamp can repeat an earlier one (a
// counter would, if the file were ever recreated).
Status WriteStamp(int fd, const fs::path& path) {
  unsigned char raw[kStampBytes];
  size_t have = 0;
  while (have < sizeof raw) {
    ssize_t n = ::getrandom(raw + have, sizeof raw - have, 0);
    if (n < 0 && errno != EINTR) return ErrnoStatus(path, errno);
    if (n > 0) have += static_cast<size_t>(n);
  }
  static constexpr char kHex[] = "0123456789abcdef";
  char hex[2 * kStampBytes];
  for (size_t i = 0; i < kStampBytes; ++i) {
    hex[2 * i] = kHex[raw[i] >> 4];
    hex[2 * i + 1] = kHex[raw[i] & 15];
  }
  if (::pwrite(fd, hex, sizeof hex, 0) != static_cast<ssize_t>(sizeof hex)) {
    return ErrnoStatus(path, errno);
  }
  return Status::Ok();
}

// The stamp, or "" when the file holds none (made by an older version).
std::string ReadStamp(int fd) {
  char hex[2 * kStampBytes];
  ssize_t n = ::pread(fd, hex, sizeof hex, 0);
  if (n != static_cast<ssize_t>(sizeof hex)) return "";
  return std::string(hex, sizeof hex);
}

}  // namespace

Result<SweepLock> SweepLock::Acquire(const fs::path& store_root,
                                     Mode mode, const WaitNotice& on_wait) {
  fs::path path = LockPath(store_root);
  ASSIGN_OR_RETURN(int fd, OpenLockFile(path));
  SweepLock lock(fd, "");  // Closes the file on every return below.
  if (mode == Mode::kExclusive) {
    RETURN_IF_ERROR(Flock(fd, LOCK_EX, path, on_wait));
    RETURN_IF_ERROR(WriteStamp(fd, path));
    lock.stamp_ = ReadStamp(fd);
    return lock;
  }
  RETURN_IF_ERROR(Flock(fd, LOCK_SH, path, on_wait));
  lock.stamp_ = ReadStamp(fd);
  if (lock.stamp_.empty()) {
    // Written only under the exclusive lock, so no shared holder ever
    // reads half a stamp. Converting is not atomic: a gc may come in
    // between, and then its stamp is the one read.
    RETURN_IF_ERROR(Flock(fd, LOCK_EX, path, on_wait));
    if (ReadStamp(fd).empty()) RETURN_IF_ERROR(WriteStamp(fd, path));
    RETURN_IF_ERROR(Flock(fd, LOCK_SH, path, on_wait));
    lock.stamp_ = ReadStamp(fd);
  }
  return lock;
}

SweepLock::~SweepLock() {
  if (fd_ >= 0) {
    ::close(fd_);
  }
}

Status RestampSweepLock(const fs::path& store_root) {
  fs::path path = LockPath(store_root);
  ASSIGN_OR_RETURN(int fd, OpenLockFile(path));
  Status status = WriteStamp(fd, path);
  ::close(fd);
  return status;
}

}  // namespace lockstep::store
