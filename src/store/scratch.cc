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

// What one walk of `path` (itself included, links not followed) finds:
// its newest modification time and the apparent size of its files.
struct TreeSummary {
  int64_t newest_ms = 0;
  uint64_t bytes = 0;
};

void Count(const struct stat& info, TreeSummary* summary) {
  summary->newest_ms = std::max(summary->newest_ms, ModifiedMillis(info));
  if (S_ISREG(info.st_mode)) summary->bytes += info.st_size;
}

std::optional<TreeSummary> SummarizeTree(const fs::path& path) {
  struct stat info;
  if (::lstat(path.c_str(), &info) != 0) return std::nullopt;
  TreeSummary summary{ModifiedMillis(info), 0};
  Count(info, &summary);
  if (!S_ISDIR(info.st_mode)) return summary;
  std::error_code error;
  for (auto it = fs::recursive_directory_iterator(path, error);
       !error && it != fs::recursive_directory_iterator();
       it.increment(error)) {
    if (::lstat(it->path().c_str(), &info) == 0) Count(info, &summary);
  }
  return summary;
}

}  // namespace

std::optional<int64_t> NewestModificationMillis(const fs::path& path) {
  std::optional<TreeSummary> summary = SummarizeTree(path);
  if (!summary) return std::nullopt;
  return summary->newest_ms;
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
    std::optional<TreeSummary> summary = SummarizeTree(path);
    if (!summary || summary->newest_ms >= cutoff_ms) continue;
    swept.push_back({path, summary->bytes});
    if (!dry_run) RemoveAllQuietly(path);
  }
  if (error) return ErrnoStatus(folder, error.value());
  return swept;
}

Result<std::vector<ScratchEntry>> SweepAbandonedUploads(
    const fs::path& tmp_folder, int64_t grace_ms, bool dry_run) {
  int64_t cutoff = FileClockNowMillis(tmp_folder) -
                   std::max(grace_ms, kUploadIdleMillis);
  auto not_an_upload = [](const std::string& name) {
    return !IsUploadFile(name);
  };
  return SweepStaleScratch(tmp_folder, cutoff, not_an_upload, dry_run);
}

}  // namespace lockstep::store
