// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "store/scratch.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <system_error>

#include "core/clock.h"
#include "core/files.h"

namespace lockstep::store {

namespace fs = std::filesystem;

namespace {

int64_t ModifiedMillis(const struct stat& info) {
  return static_cast<int64_t>(info.st_mtim.tv_sec) * 1000 +
         info.st_mtim.tv_nsec / 1000000;
}

// Sums the apparent sizes of the files under `path` (itself included).
uint64_t TreeBytes(const fs::path& path) {
  struct stat info;
  if (::lstat(path.c_str(), &info) != 0) return 0;
  uint64_t bytes = S_ISREG(info.st_mode) ? info.st_size : 0;
  if (!S_ISDIR(info.st_mode)) return bytes;
  std::error_code error;
  for (auto it = fs::recursive_directory_iterator(path, error);
       !error && it != fs::recursive_directory_iterator();
       it.increment(error)) {
    if (::lstat(it->path().c_str(), &info) == 0 && S_ISREG(info.st_mode)) {
      bytes += info.st_size;
    }
  }
  return bytes;
}

}  // namespace

std::optional<int64_t> NewestModificationMillis(const fs::path& path) {
  struct stat info;
  if (::lstat(path.c_str(), &info) != 0) return std::nullopt;
  int64_t newest = ModifiedMillis(info);
  if (!S_ISDIR(info.st_mode)) return newest;
  std::error_code error;
  for (auto it = fs::recursive_directory_iterator(path, error);
       !error && it != fs::recursive_directory_iterator();
       it.increment(error)) {
    if (::lstat(it->path().c_str(), &info) == 0) {
      newest = std::max(newest, ModifiedMillis(info));
    }
  }
  return newest;
}

int64_t FileClockNowMillis(const fs::path& folder) {
  int64_t now = NowUnixMillis();
  std::error_code error;
  fs::create_directories(folder, error);
  fs::path path = folder / ("clock-" + std::to_string(::getpid()));
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                  0600);
  if (fd < 0) return now;
  struct stat info;
  bool stamped = ::fstat(fd, &info) == 0;
  ::close(fd);
  ::unlink(path.c_str());
  if (!stamped) return now;
  return std::min(now, ModifiedMillis(info));
}

Result<std::vector<ScratchEntry>> SweepStaleScratch(
    const fs::path& folder, int64_t cutoff_ms,
    const std::function<bool(const std::string& name)>& is_claimed,
    bool dry_run) {
  std::vector<ScratchEntry> swept;
  std::error_code error;
  fs::directory_iterator it(folder, error);
  if (error == std::errc::no_such_file_or_directory) return swept;
  if (error) return ErrnoStatus(folder, error.value());

  for (; it != fs::directory_iterator(); it.increment(error)) {
    const fs::path& path = it->path();
    std::string name = path.filename().string();
    if (is_claimed && is_claimed(name)) continue;
    std::optional<int64_t> modified = NewestModificationMillis(path);
    if (!modified || *modified >= cutoff_ms) continue;
    swept.push_back({path, TreeBytes(path)});
    if (!dry_run) RemoveAllQuietly(path);
  }
  if (error) return ErrnoStatus(folder, error.value());
  return swept;
}

}  // namespace lockstep::store
