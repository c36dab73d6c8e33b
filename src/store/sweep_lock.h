// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// The sweep lock (<store>/locks/sweep.lock) orders gc's removals against
// writers that name blobs the store already holds. A writer (a data
// snapshot) holds it shared from the moment it checks and refreshes the
// blobs it reuses until its record names them; gc holds it exclusively
// while it fixes its cutoff and while it sweeps a batch. So a blob a
// writer reuses is either refreshed before gc judges it (young: spared),
// recorded before gc marks (a root), or already gone when the writer
// looks (and stored again).
//
// The lock file also holds a stamp: a random token replaced by every
// exclusive holder and by every removal of a blob (BlobStore::Remove,
// RemovePack). A shared holder reads it once; it cannot change while the
// lock is held. Two shared holders that read the same token therefore
// have no gc cutoff and no removal between them, which is what lets a
// snapshot trust blobs an earlier snapshot refreshed (docs/data.md,
// "Reused blobs and gc").

#ifndef LOCKSTEP_STORE_SWEEP_LOCK_H_
#define LOCKSTEP_STORE_SWEEP_LOCK_H_

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "core/status.h"

namespace lockstep::store {

class SweepLock {
 public:
  enum class Mode { kShared, kExclusive };

  // Told once, after kWaitNoticeMillis of waiting, which lock file the
  // wait is for and which processes hold it (FlockHolders; empty when
  // not known), so a command can say what it waits for.
  using WaitNotice = std::function<void(const std::filesystem::path& lock,
                                        const std::vector<int>& holders)>;
  static constexpr int64_t kWaitNoticeMillis = 1000;

  // Waits for the lock on the store at `store_root`. An exclusive lock
  // replaces the stamp before returning; a shared one reads it (and, on
  // a store that never had one, has one written first). The wait is a
  // safe point: it ends with CancellationStatus's error
  // (core/subprocess.h) once that is one.
  static Result<SweepLock> Acquire(const std::filesystem::path& store_root,
                                   Mode mode,
                                   const WaitNotice& on_wait = nullptr);

  SweepLock(SweepLock&& other) noexcept
      : fd_(other.fd_), stamp_(std::move(other.stamp_)) {
    other.fd_ = -1;
  }
  SweepLock& operator=(SweepLock&&) = delete;
  SweepLock(const SweepLock&) = delete;
  ~SweepLock();

  // The stamp while this lock is held (32 hex digits).
  const std::string& stamp() const { return stamp_; }

 private:
  SweepLock(int fd, std::string stamp) : fd_(fd), stamp_(std::move(stamp)) {}
  int fd_;
  std::string stamp_;
};

// Replaces the stamp, without taking the lock: for removers of blobs,
// which already hold it exclusively or run where no writer can (tests,
// repairs). A new stamp only ever makes a snapshot refresh more.
Status RestampSweepLock(const std::filesystem::path& store_root);

}  // namespace lockstep::store

#endif  // LOCKSTEP_STORE_SWEEP_LOCK_H_
