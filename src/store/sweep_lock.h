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

#ifndef LOCKSTEP_STORE_SWEEP_LOCK_H_
#define LOCKSTEP_STORE_SWEEP_LOCK_H_

#include <filesystem>

#include "core/status.h"

namespace lockstep::store {

class SweepLock {
 public:
  enum class Mode { kShared, kExclusive };

  // Waits for the lock on the store at `store_root`.
  static Result<SweepLock> Acquire(const std::filesystem::path& store_root,
                                   Mode mode);

  SweepLock(SweepLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  SweepLock& operator=(SweepLock&&) = delete;
  SweepLock(const SweepLock&) = delete;
  ~SweepLock();

 private:
  explicit SweepLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace lockstep::store

#endif  // LOCKSTEP_STORE_SWEEP_LOCK_H_
