// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "store/sweep_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>

#include "core/files.h"

namespace lockstep::store {

namespace fs = std::filesystem;

Result<SweepLock> SweepLock::Acquire(const fs::path& store_root,
                                     Mode mode) {
  fs::path path = store_root / "locks" / "sweep.lock";
  std::error_code error;
  fs::create_directories(path.parent_path(), error);
  // O_CLOEXEC: a step's process must not inherit (and so keep) the lock.
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return ErrnoStatus(path, errno);
  }
  int operation = mode == Mode::kShared ? LOCK_SH : LOCK_EX;
  while (::flock(fd, operation) != 0) {
    if (errno != EINTR) {
      Status status = ErrnoStatus(path, errno);
      ::close(fd);
      return status;
    }
  }
  return SweepLock(fd);
}

SweepLock::~SweepLock() {
  if (fd_ >= 0) {
    ::close(fd_);
  }
}

}  // namespace lockstep::store
