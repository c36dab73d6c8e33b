// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// Run ownership: a run in progress holds an exclusive flock on
// <store>/locks/run-<RUN>.lock from before it is recorded as running until
// after it is recorded as finished. The kernel drops the lock when the
// owning process dies, however it dies (even SIGKILL), so a run recorded
// as running whose lock file can be locked by someone else was abandoned.
// RecoverAbandonedRuns records such runs as failed, with the reason, and
// removes their step folders (<store>/work/<RUN>). A process that ends on
// an error before it could record its run's end (a full disk refusing
// the COMMIT) leaves the lock file behind, unlocked, for the same reason:
// removed, it would leave the run "running" for good.
//
// Whoever removes a lock file (the owner as it releases, the recovery,
// gc) does so while holding its flock, and only while its name still
// names the file it locked (StillNamed, core/files.h); whoever takes one
// checks the same after locking and starts again when it does not. A
// process that opened the file just before it was removed so never runs
// under a lock on a nameless file, which no one else would see.

#ifndef LOCKSTEP_PIPELINE_RUN_LOCK_H_
#define LOCKSTEP_PIPELINE_RUN_LOCK_H_

#include <filesystem>
#include <string>
#include <vector>

#include "core/status.h"
#include "metadata/metadata_store.h"
#include "store/scratch.h"

namespace lockstep::pipeline {

// Beside each step folder in a run's work folder while its process runs:
// the process group to stop if the run is abandoned (ProcessSpec's
// group_record).
inline constexpr const char* kStepGroupSuffix = ".group";

// The folder a run's steps work in: <store>/work/<RUN>.
std::filesystem::path RunWorkRoot(const std::filesystem::path& store_root,
                                  const std::string& run_id);

// The lock a run in progress holds. Movable, not copyable; the destructor
// releases the lock, and removes the lock file unless the run was
// recorded as running and its end never was (see above).
class RunLock {
 public:
  // Creates and locks the run's lock file (writing this process's id in
  // it). FailedPrecondition if another process holds it.
  static Result<RunLock> Acquire(const std::filesystem::path& store_root,
                                 const std::string& run_id);

  // Call once the run is recorded as running, and once its end is.
  void RunRecorded() { end_pending_ = true; }
  void EndRecorded() { end_pending_ = false; }
  // Keeps, in the lock file after the owner's pid, the error this process
  // ends on, for the reason the next one records (best effort: that
  // block of the file is already allocated, even on a full disk).
  void NoteError(const std::string& message);

  RunLock(RunLock&& other) noexcept;
  RunLock& operator=(RunLock&& other) noexcept;
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;
  ~RunLock();

 private:
  RunLock(std::filesystem::path path, int fd) : path_(path), fd_(fd) {}
  void Release();

  std::filesystem::path path_;
  int fd_ = -1;
  bool end_pending_ = false;
};

// Finds the runs recorded as running whose lock file in this store is no
// longer held, records each as failed with a "labels" entry
// lockstep.failure naming the reason, stops the steps it left running
// (with --sandbox none nothing else does), and removes its work folder. Runs
// without a lock file here (another store sharing the database, or an
// older Lockstep) are left alone. Returns the ids of the recovered runs.
Result<std::vector<std::string>> RecoverAbandonedRuns(
    const std::filesystem::path& store_root,
    metadata::MetadataStore* metadata);

// True while a live process holds the lock of the run or reproduction
// whose work folder is <store>/work/<name>; false when no lock file
// exists or nobody holds it (its owner finished or died).
bool WorkFolderClaimed(const std::filesystem::path& store_root,
                       const std::string& name);

// The grace period gc must use so that it sweeps no blob a live run or
// reproduction of this store may have written: `grace_ms`, lengthened
// while any is live to reach back before the oldest one started (its
// lock file's mtime, written when it starts, on the store's own file
// clock) plus kLiveRunSlackMillis for clocks read a little apart. Such
// a run's code and output blobs are held by no root until it finishes.
constexpr int64_t kLiveRunSlackMillis = 60 * 1000;
int64_t GraceSparingLiveRuns(const std::filesystem::path& store_root,
                             int64_t grace_ms);

// What killed processes left in the store's scratch folders.
struct ScratchSweep {
  std::vector<store::ScratchEntry> temporaries;   // <store>/tmp
  std::vector<store::ScratchEntry> work_folders;  // <store>/work
  std::vector<store::ScratchEntry> run_locks;     // <store>/locks
};

// Removes (lists, on a dry run) the lock files in <store>/locks of runs
// and reproductions that no process holds, except those of runs that
// `metadata` still records as running: RecoverAbandonedRuns finds the
// abandoned ones by them and reads their owner's note. Each is locked
// without waiting and removed as the header says. The runs of a killed
// `run` that another command recorded as failed left theirs (found by a
// tester: 27 in one store).
Result<std::vector<store::ScratchEntry>> SweepUnheldRunLocks(
    const std::filesystem::path& store_root,
    metadata::MetadataStore* metadata, bool dry_run);

// Removes (lists, on a dry run) the leftovers of killed processes:
// work folders that no live run or reproduction claims and that were not
// modified within `grace_ms`, registry upload files no live session can
// hold (store::SweepAbandonedUploads), and other temporary files and
// folders not modified within kTemporaryGraceMillis or `grace_ms`,
// whichever is longer: they have no owner to ask.
constexpr int64_t kTemporaryGraceMillis = 24 * 3600 * 1000;
Result<ScratchSweep> SweepAbandonedScratch(
    const std::filesystem::path& store_root, int64_t grace_ms,
    bool dry_run);

}  // namespace lockstep::pipeline

#endif  // LOCKSTEP_PIPELINE_RUN_LOCK_H_
