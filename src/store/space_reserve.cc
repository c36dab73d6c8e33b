// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "store/space_reserve.h"

#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <optional>
#include <system_error>

#include "core/files.h"

namespace lockstep::store {
namespace fs = std::filesystem;

namespace {

// Bytes an unprivileged writer may still use on the file system of
// `path`, or nullopt when it cannot be told.
std::optional<uint64_t> AvailableBytes(const fs::path& path) {
  struct statvfs info;
  if (::statvfs(path.c_str(), &info) != 0) return std::nullopt;
  return static_cast<uint64_t>(info.f_bavail) * info.f_frsize;
}

}  // namespace

bool ReleaseSpaceReserveIfLow(const fs::path& root) {
  std::optional<uint64_t> available = AvailableBytes(root);
  if (!available || *available >= kSpaceReserveBytes) return false;
  return ::unlink((root / kSpaceReserveFile).c_str()) == 0;
}

Status RefillSpaceReserve(const fs::path& root) {
  fs::path reserve = root / kSpaceReserveFile;
  std::error_code error;
  if (fs::exists(reserve, error)) return Status::Ok();
  std::optional<uint64_t> available = AvailableBytes(root);
  if (!available || *available < 2 * kSpaceReserveBytes) {
    return Status::Unavailable("no room for the store's space reserve " +
                               reserve.string());
  }

  // Allocated in tmp/, then renamed: a reserve is whole or absent.
  fs::create_directories(root / "tmp", error);
  fs::path temp = UniqueTempPath(root / "tmp", "reserve-");
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                  0444);
  if (fd < 0) return ErrnoStatus(temp, errno);
  // posix_fallocate returns the error rather than setting errno.
  int failed = ::posix_fallocate(fd, 0, kSpaceReserveBytes);
  if (failed == 0 && ::fsync(fd) != 0) failed = errno;
  ::close(fd);
  if (failed == 0 && ::rename(temp.c_str(), reserve.c_str()) != 0) {
    failed = errno;
  }
  if (failed != 0) {
    ::unlink(temp.c_str());
    return ErrnoStatus(temp, failed);
  }
  return FsyncDirectory(root);
}

}  // namespace lockstep::store
