// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// The store's scratch folders: <store>/tmp holds writes in progress (blob
// temp files, snapshot batches, upload sessions) and <store>/work holds
// step folders of runs and reproductions in progress. A process killed
// mid-write leaves its entry behind; nothing ever names it again, so gc
// removes entries that are old and that no live process claims.

#ifndef LOCKSTEP_STORE_SCRATCH_H_
#define LOCKSTEP_STORE_SCRATCH_H_

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace lockstep::store {

struct ScratchEntry {
  std::filesystem::path path;
  uint64_t bytes = 0;  // Apparent size of its files, symlinks not followed.
};

// The newest modification time (Unix millis) of `path` and, for a
// folder, of anything under it; nullopt when `path` is gone.
std::optional<int64_t> NewestModificationMillis(
    const std::filesystem::path& path);

// Now, as the file system stamps mtimes in `folder` (its coarse clock
// lags the fine one by up to a tick), and never later than the fine one.
int64_t FileClockNowMillis(const std::filesystem::path& folder);

// Removes (or, on a dry run, only lists) each top-level entry of `folder`
// whose whole tree was last modified before `cutoff_ms` and that
// `is_claimed` (when set) does not claim by its name. A missing folder
// has no entries.
Result<std::vector<ScratchEntry>> SweepStaleScratch(
    const std::filesystem::path& folder, int64_t cutoff_ms,
    const std::function<bool(const std::string& name)>& is_claimed,
    bool dry_run);

// A registry upload session's temporary file in <store>/tmp is named
// kUploadPrefix...; the server ends a session idle for kUploadIdleMillis
// and removes its file, so an older one belongs to no live session: its
// server was killed.
inline constexpr char kUploadPrefix[] = "upload-";
inline constexpr int64_t kUploadIdleMillis = 60 * 60 * 1000;

// Whether the <store>/tmp entry `name` is an upload session's file.
inline bool IsUploadFile(const std::string& name) {
  return name.starts_with(kUploadPrefix);
}

// Removes (lists, on a dry run) the upload files in `tmp_folder` that no
// live session can hold: not modified within kUploadIdleMillis, nor
// within `grace_ms` when that is longer.
Result<std::vector<ScratchEntry>> SweepAbandonedUploads(
    const std::filesystem::path& tmp_folder, int64_t grace_ms,
    bool dry_run);

}  // namespace lockstep::store

#endif  // LOCKSTEP_STORE_SCRATCH_H_
