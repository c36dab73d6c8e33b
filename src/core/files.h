// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// File helpers that keep the store consistent when a process dies: every
// write goes to a temporary file in the destination's folder, is fsynced,
// and is renamed over the destination, so a reader sees the old bytes or
// the new ones, never a mix.

#ifndef LOCKSTEP_CORE_FILES_H_
#define LOCKSTEP_CORE_FILES_H_

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace lockstep {

namespace fs = std::filesystem;

// Writes `content` to `path` atomically (temp file, fsync, rename, fsync of
// the folder). Creates missing parent folders.
Status WriteFileAtomically(const fs::path& path, std::string_view content);

// A file written beside `destination` that takes that name only once
// complete. Where the file system allows (O_TMPFILE: ext4, xfs, btrfs,
// tmpfs) it has no name until Commit, so a process killed mid-write
// leaves nothing behind; elsewhere it is a hidden temp file in the same
// folder, removed when the write fails.
class PendingFile {
 public:
  static Result<PendingFile> Create(const fs::path& destination);
  PendingFile(PendingFile&& other) noexcept;
  PendingFile& operator=(PendingFile&&) = delete;
  ~PendingFile();  // Closes and forgets the file unless committed.

  int fd() const { return fd_; }
  const fs::path& destination() const { return destination_; }

  // Fsyncs the file and names it the destination, replacing any file
  // there. The folder is not fsynced.
  Status Commit();
  // Commit without the fsync, for a copy that can be made again (an
  // export, a step's staged input): a crash may leave it empty.
  Status CommitUnflushed();

 private:
  PendingFile(int fd, fs::path destination, fs::path temp);
  Status Name(bool flush);
  Status LinkUnnamed();
  void Discard();

  int fd_ = -1;
  fs::path destination_;
  fs::path temp_;  // Empty for an unnamed file.
};

// Writes all of `content` to `fd`, retrying short writes; `path` names
// the file in errors.
Status WriteAll(int fd, std::string_view content, const fs::path& path);

// Starts writeback of what was written to `fd` since `*written_back`
// once 8 MiB have gathered, so a final fsync finds little left to flush
// (a 1 GiB upload otherwise waited seconds for it at the end). `size` is
// the bytes written so far.
void StartWritebackEvery8MiB(int fd, uint64_t size, uint64_t* written_back);

// Returns the whole file. NotFound when it does not exist,
// InvalidArgument when it is a folder.
Result<std::string> ReadFile(const fs::path& path);

// The most ReadDocument reads. Pipeline files, params, manifests,
// policies and lockfiles are kilobytes to a few MB; anything bigger (a
// mistyped path, /dev/zero, `<(yes)`) is refused before memory runs out.
inline constexpr uint64_t kMaxDocumentBytes = uint64_t{64} << 20;

// ReadFile for a document a user names: InvalidArgument, naming the file,
// when it holds more than kMaxDocumentBytes.
Result<std::string> ReadDocument(const fs::path& path);

// Fsyncs a folder so that a rename inside it is durable.
Status FsyncDirectory(const fs::path& directory);

// Opens `relative` under the folder open at `dir_fd` without following a
// link anywhere on the way, the last component included (a link there,
// or a folder on the way swapped for one, is ELOOP), and without blocking
// (a FIFO swapped in opens at once, for the caller's type check).
// `flags` are added to O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC. `shown` names
// the file in errors; errno is left set on failure.
// Neither is copied on success: a snapshot opens one file per call.
Result<int> OpenWithoutLinks(int dir_fd, std::string_view relative,
                             int flags, std::string_view shown);

// Creates a fresh, uniquely named folder inside `parent`.
Result<fs::path> MakeTempDirectory(const fs::path& parent,
                                   std::string_view prefix);

// A fresh folder inside `parent` named `prefix` and 16 hex digits, to
// build something in before renaming it into place, with an flock held
// on the folder itself while this object lives: a process killed
// mid-way leaves it unlocked, which RemoveAbandonedTempDirectories
// tells from one still in use. Where the file system has no flock on
// folders (NFS) the folder is made unlocked, and never swept.
class LockedTempDirectory {
 public:
  static Result<LockedTempDirectory> Create(const fs::path& parent,
                                            std::string_view prefix);
  LockedTempDirectory(LockedTempDirectory&& other) noexcept;
  LockedTempDirectory& operator=(LockedTempDirectory&&) = delete;
  // Releases the lock; the folder, renamed or not, stays.
  ~LockedTempDirectory();

  const fs::path& path() const { return path_; }

 private:
  LockedTempDirectory(int fd, fs::path path)
      : fd_(fd), path_(std::move(path)) {}

  int fd_ = -1;
  fs::path path_;
};

// Removes every folder in `parent` named `prefix` and 16 hex digits
// whose flock can be taken: a LockedTempDirectory whose process died.
// Errors are ignored: this only tidies up.
void RemoveAbandonedTempDirectories(const fs::path& parent,
                                    std::string_view prefix);

// Returns the path of a unique, not yet existing file in `directory`.
fs::path UniqueTempPath(const fs::path& directory, std::string_view prefix);

// Whether the file or folder open at `fd` is still the one named `path`.
// After taking an flock on a file that others unlink while holding it,
// a process must check this: the name may have gone (or been made anew)
// between its open and its lock, and a lock on a nameless file guards
// nothing.
bool StillNamed(int fd, const fs::path& path);

// The ids of the processes holding an flock on `path`, from /proc/locks
// (for flock, the process that took the lock; empty when none holds it
// or /proc is not mounted). For messages only: a holder may let go, or
// pass its descriptor on, at any time.
std::vector<int> FlockHolders(const fs::path& path);

// Whether `a` and `b` name one file: the same (st_dev, st_ino) when both
// exist, so a hard link, a symlink or another spelling of the path is
// caught; else the same absolute path once the links in the part of it
// that exists are resolved (a file not yet made).
bool SameFile(const fs::path& a, const fs::path& b);

// Removes `path` recursively, ignoring errors (used for cleanup).
void RemoveAllQuietly(const fs::path& path);

// Returns "path: strerror(errno)" as a Status: NotFound for a missing
// path, InvalidArgument for a folder where a file belongs, else Unavailable.
Status ErrnoStatus(const fs::path& path, int error);

// `status`, a failure to open the database file `database`, or, when the
// database's folder (or the nearest one that exists) cannot be written
// to, one that says so: "DATABASE: cannot open the database: FOLDER is on
// a read-only file system" (or "is not writable by this user", or "is on
// a full disk", under 64 KiB free). SQLite
// writes beside a database (its journal or write-ahead log) even to read
// it, and says only "unable to open database file".
Status ExplainUnwritableDatabase(const fs::path& database, Status status);

// Whether that is the case for `database`: its folder (or the nearest one
// that exists) is read-only, not writable by this user, or full.
bool DatabaseFolderIsUnwritable(const fs::path& database);

// Whether `path` is on a file system mounted read-only (statvfs's
// ST_RDONLY); false when that cannot be told.
bool OnReadOnlyFileSystem(const fs::path& path);

}  // namespace lockstep

#endif  // LOCKSTEP_CORE_FILES_H_
