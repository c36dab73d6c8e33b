// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "core/files.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/file.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>
#include <utility>

#include <fmt/format.h>

namespace lockstep {

namespace {

std::string RandomSuffix() {
  static std::atomic<uint64_t> counter{0};
  thread_local std::mt19937_64 generator(std::random_device{}());
  uint64_t value = generator() ^ (counter.fetch_add(1) << 48) ^
                   static_cast<uint64_t>(::getpid());
  char buffer[17];
  std::snprintf(buffer, sizeof(buffer), "%016llx",
                static_cast<unsigned long long>(value));
  return buffer;
}

}  // namespace

Status WriteAll(int fd, std::string_view content, const fs::path& path) {
  size_t written = 0;
  while (written < content.size()) {
    ssize_t n = ::write(fd, content.data() + written,
                        content.size() - written);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return ErrnoStatus(path, errno);
    }
    written += static_cast<size_t>(n);
  }
  return Status::Ok();
}

namespace {

// `path` made absolute, its links resolved as far as it exists, and the
// rest normalised: "./out/../a.csv" and "a.csv" give one answer.
fs::path ResolvedPath(const fs::path& path) {
  std::error_code error;
  fs::path absolute = fs::absolute(path, error);
  if (error) absolute = path;
  fs::path resolved = fs::weakly_canonical(absolute, error);
  return error ? absolute.lexically_normal() : resolved;
}

}  // namespace

Status ErrnoStatus(const fs::path& path, int error) {
  std::string message = path.string() + ": " + std::strerror(error);
  // A path that names the wrong kind of thing is the caller's mistake
  // (exit 3 or 2), not an I/O failure of the machine (exit 6).
  if (error == ENOENT || error == ENOTDIR) {
    return Status::NotFound(message);
  }
  if (error == EISDIR) {
    return Status::InvalidArgument(message);
  }
  return Status::Unavailable(message);
}

namespace {

// Why SQLite cannot open a database in `folder` (the nearest existing
// one), or "" when nothing about the folder stops it.
std::string UnwritableFolderReason(fs::path* folder) {
  int error = 0;
  while (true) {
    if (::access(folder->c_str(), W_OK) == 0) break;
    error = errno;
    // A folder the database would be made in (a store's registry/, say)
    // may be missing because it could not be made: look at its parent.
    if (error != ENOENT || !folder->has_relative_path()) break;
    *folder = folder->parent_path();
  }
  if (error == EROFS) return " is on a read-only file system";
  if (error == EACCES || error == EPERM) {
    return " is not writable by this user";
  }
  if (error != 0) return "";
  // Its log and shared-memory file need a few pages (32 KiB and more).
  struct statvfs disk;
  if (::statvfs(folder->c_str(), &disk) == 0 &&
      static_cast<uint64_t>(disk.f_bavail) * disk.f_frsize < 64 * 1024) {
    return " is on a full disk";
  }
  return "";
}

}  // namespace

Status ExplainUnwritableDatabase(const fs::path& database, Status status) {
  // A damaged or busy database is that, wherever it is.
  if (status.IsDataLoss() || status.IsAborted()) return status;
  std::error_code ignored;
  fs::path folder = fs::absolute(database, ignored).parent_path();
  std::string why = UnwritableFolderReason(&folder);
  if (why.empty()) return status;
  return Status::Unavailable(database.string() +
                             ": cannot open the database: " +
                             folder.string() + why +
                             ", and SQLite writes beside a database even "
                             "to read it");
}

bool DatabaseFolderIsUnwritable(const fs::path& database) {
  std::error_code ignored;
  fs::path folder = fs::absolute(database, ignored).parent_path();
  return !UnwritableFolderReason(&folder).empty();
}

bool OnReadOnlyFileSystem(const fs::path& path) {
  struct statvfs disk;
  return ::statvfs(path.c_str(), &disk) == 0 && (disk.f_flag & ST_RDONLY);
}

fs::path UniqueTempPath(const fs::path& directory, std::string_view prefix) {
  return directory / (std::string(prefix) + RandomSuffix() + ".tmp");
}

Status FsyncDirectory(const fs::path& directory) {
  int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    return ErrnoStatus(directory, errno);
  }
  ::fsync(fd);
  ::close(fd);
  return Status::Ok();
}

Result<int> OpenWithoutLinks(int dir_fd, std::string_view relative,
                             int flags, std::string_view shown) {
  flags |= O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;
  // openat2 refuses every link in one call (Linux 5.6 on).
  struct open_how how = {};
  how.flags = static_cast<uint64_t>(flags);
  how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH;
  auto failed = [&shown](int error) {
    Status status = ErrnoStatus(fs::path(shown), error);
    errno = error;  // For callers that tell ELOOP apart.
    return status;
  };
  // The kernel needs a terminated string; a path fits on the stack.
  char name[PATH_MAX];
  if (relative.size() >= sizeof name) return failed(ENAMETOOLONG);
  relative.copy(name, relative.size());
  name[relative.size()] = '\0';
  long fd = ::syscall(SYS_openat2, dir_fd, name, &how, sizeof(how));
  if (fd >= 0) return static_cast<int>(fd);
  if (errno != ENOSYS) return failed(errno);

  // An older kernel: one component at a time, each with O_NOFOLLOW.
  int at = ::fcntl(dir_fd, F_DUPFD_CLOEXEC, 0);
  if (at < 0) return failed(errno);
  size_t start = 0;
  while (true) {
    size_t slash = relative.find('/', start);
    bool last = slash == std::string::npos;
    std::string part(relative.substr(start, slash - start));
    int next = ::openat(at, part.c_str(),
                        last ? flags : O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
                                           O_CLOEXEC);
    int error = errno;
    ::close(at);
    if (next < 0) return failed(error);
    if (last) return next;
    at = next;
    start = slash + 1;
  }
}

namespace {

// linkat(2) names an unnamed file through its /proc/self/fd entry
// (AT_EMPTY_PATH would need CAP_DAC_READ_SEARCH); without /proc an
// unnamed file could never be named, so none is made.
bool CanNameUnnamedFiles() {
  static const bool can = ::access("/proc/self/fd", X_OK) == 0;
  return can;
}

// The folder `path` is in ("." for a bare name).
fs::path FolderOf(const fs::path& path) {
  return path.parent_path().empty() ? fs::path(".") : path.parent_path();
}

}  // namespace

Result<PendingFile> PendingFile::Create(const fs::path& destination) {
  fs::path folder = FolderOf(destination);
  if (CanNameUnnamedFiles()) {
    int fd = ::open(folder.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
    if (fd >= 0) {
      return PendingFile(fd, destination, fs::path());
    }
    // EOPNOTSUPP (or EISDIR from kernels that predate O_TMPFILE): the
    // file system cannot; any other error the named file meets too.
  }
  fs::path temp =
      UniqueTempPath(folder, "." + destination.filename().string());
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                  0644);
  if (fd < 0) {
    return ErrnoStatus(temp, errno);
  }
  return PendingFile(fd, destination, temp);
}

PendingFile::PendingFile(int fd, fs::path destination, fs::path temp)
    : fd_(fd), destination_(std::move(destination)), temp_(std::move(temp)) {}

PendingFile::PendingFile(PendingFile&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      destination_(std::move(other.destination_)),
      temp_(std::move(other.temp_)) {
  other.temp_.clear();
}

PendingFile::~PendingFile() { Discard(); }

void PendingFile::Discard() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  if (!temp_.empty()) {
    ::unlink(temp_.c_str());
    temp_.clear();
  }
}

Status PendingFile::Commit() { return Name(/*flush=*/true); }

Status PendingFile::CommitUnflushed() { return Name(/*flush=*/false); }

Status PendingFile::Name(bool flush) {
  Status status = Status::Ok();
  if (flush && ::fsync(fd_) != 0) {
    status = ErrnoStatus(destination_, errno);
  } else if (temp_.empty()) {
    status = LinkUnnamed();
  }
  if (status.ok() && !temp_.empty() &&
      ::rename(temp_.c_str(), destination_.c_str()) != 0) {
    status = ErrnoStatus(destination_, errno);
  }
  if (status.ok()) temp_.clear();  // Named now: nothing to remove.
  Discard();
  return status;
}

// Names the unnamed file the destination. link(2) never replaces a file,
// so an existing destination is replaced by a rename from a name the
// file holds for that moment only (left in temp_).
Status PendingFile::LinkUnnamed() {
  std::string proc = "/proc/self/fd/" + std::to_string(fd_);
  if (::linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, destination_.c_str(),
               AT_SYMLINK_FOLLOW) == 0) {
    return Status::Ok();
  }
  if (errno != EEXIST) {
    return ErrnoStatus(destination_, errno);
  }
  fs::path temp = UniqueTempPath(FolderOf(destination_), ".link-");
  if (::linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, temp.c_str(),
               AT_SYMLINK_FOLLOW) != 0) {
    return ErrnoStatus(temp, errno);
  }
  temp_ = temp;
  return Status::Ok();
}

Status WriteFileAtomically(const fs::path& path, std::string_view content) {
  fs::path parent = FolderOf(path);
  std::error_code error;
  fs::create_directories(parent, error);

  ASSIGN_OR_RETURN(PendingFile file, PendingFile::Create(path));
  RETURN_IF_ERROR(WriteAll(file.fd(), content, path));
  RETURN_IF_ERROR(file.Commit());
  return FsyncDirectory(parent);
}

namespace {

Result<std::string> ReadUpTo(const fs::path& path, uint64_t limit) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return ErrnoStatus(path, errno);
  }
  std::string content;
  // Sized once for a regular file; pipes and /proc files report 0 and
  // grow as they are read.
  struct stat info;
  if (::fstat(fd, &info) == 0 && info.st_size > 0 &&
      static_cast<uint64_t>(info.st_size) <= limit) {
    content.reserve(static_cast<size_t>(info.st_size));
  }
  char buffer[1 << 16];
  while (true) {
    ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      Status status = ErrnoStatus(path, errno);
      ::close(fd);
      return status;
    }
    if (n == 0) {
      break;
    }
    if (content.size() + static_cast<uint64_t>(n) > limit) {
      ::close(fd);
      return Status::InvalidArgument(
          path.string() + ": larger than " +
          std::to_string(limit >> 20) + " MiB, the most read as a document");
    }
    content.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return content;
}

}  // namespace

void StartWritebackEvery8MiB(int fd, uint64_t size, uint64_t* written_back) {
  constexpr uint64_t kWritebackBytes = 8u << 20;
  if (size - *written_back >= kWritebackBytes) {
    ::sync_file_range(fd, static_cast<off_t>(*written_back),
                      static_cast<off_t>(size - *written_back),
                      SYNC_FILE_RANGE_WRITE);
    *written_back = size;
  }
}

Result<std::string> ReadFile(const fs::path& path) {
  return ReadUpTo(path, std::numeric_limits<uint64_t>::max());
}

Result<std::string> ReadDocument(const fs::path& path) {
  return ReadUpTo(path, kMaxDocumentBytes);
}

Result<fs::path> MakeTempDirectory(const fs::path& parent,
                                   std::string_view prefix) {
  std::error_code error;
  fs::create_directories(parent, error);
  for (int attempt = 0; attempt < 16; ++attempt) {
    fs::path candidate = parent / (std::string(prefix) + RandomSuffix());
    if (::mkdir(candidate.c_str(), 0755) == 0) {
      return candidate;
    }
    if (errno != EEXIST) {
      return ErrnoStatus(candidate, errno);
    }
  }
  return Status::Internal("could not create a temporary folder in " +
                          parent.string());
}

namespace {

// Whether `name` is `prefix` and the 16 hex digits RandomSuffix makes:
// nothing else in a user's folder is ever swept.
bool IsTempName(std::string_view name, std::string_view prefix) {
  if (!name.starts_with(prefix) || name.size() != prefix.size() + 16) {
    return false;
  }
  return name.substr(prefix.size()).find_first_not_of(
             "0123456789abcdef") == std::string_view::npos;
}


}  // namespace

Result<LockedTempDirectory> LockedTempDirectory::Create(
    const fs::path& parent, std::string_view prefix) {
  for (int attempt = 0; attempt < 16; ++attempt) {
    ASSIGN_OR_RETURN(fs::path path, MakeTempDirectory(parent, prefix));
    int fd = ::open(path.c_str(),
                    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) continue;  // Swept before it was locked.
    if (fd < 0) return ErrnoStatus(path, errno);
    int locked = ::flock(fd, LOCK_EX | LOCK_NB);
    if (locked != 0 && errno == EWOULDBLOCK) {
      ::close(fd);  // A sweeper holds it and is removing it.
      continue;
    }
    // Locked, or on a file system without flock: kept, never swept.
    if (locked == 0 && !StillNamed(fd, path)) {
      ::close(fd);
      continue;
    }
    return LockedTempDirectory(fd, std::move(path));
  }
  return Status::Internal("could not create a temporary folder in " +
                          parent.string());
}

LockedTempDirectory::LockedTempDirectory(
    LockedTempDirectory&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), path_(std::move(other.path_)) {}

LockedTempDirectory::~LockedTempDirectory() {
  if (fd_ >= 0) ::close(fd_);
}

void RemoveAbandonedTempDirectories(const fs::path& parent,
                                    std::string_view prefix) {
  DIR* listing = ::opendir(parent.c_str());
  if (listing == nullptr) return;
  while (const struct dirent* entry = ::readdir(listing)) {
    if (!IsTempName(entry->d_name, prefix)) continue;
    int fd = ::openat(::dirfd(listing), entry->d_name,
                      O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) continue;
    // Held by a live process, or no flock here to tell: left alone.
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) {
      RemoveAllQuietly(parent / entry->d_name);
    }
    ::close(fd);
  }
  ::closedir(listing);
}

bool StillNamed(int fd, const fs::path& path) {
  struct stat open_info;
  struct stat named_info;
  return ::fstat(fd, &open_info) == 0 &&
         ::lstat(path.c_str(), &named_info) == 0 &&
         open_info.st_dev == named_info.st_dev &&
         open_info.st_ino == named_info.st_ino;
}

std::vector<int> FlockHolders(const fs::path& path) {
  struct stat info;
  std::vector<int> holders;
  if (::stat(path.c_str(), &info) != 0) return holders;
  // Lines such as "3: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF", the
  // device's major and minor in hex; a waiter's line has "->" after its
  // number and holds nothing.
  std::ifstream locks("/proc/locks");
  std::string line;
  std::string device = fmt::format("{:02x}:{:02x}:{}", major(info.st_dev),
                                   minor(info.st_dev), info.st_ino);
  while (std::getline(locks, line)) {
    std::istringstream fields(line);
    std::string number, kind, mode, access, pid, file;
    fields >> number >> kind;
    if (kind != "FLOCK") continue;
    fields >> mode >> access >> pid >> file;
    if (file != device) continue;
    int holder = std::atoi(pid.c_str());
    if (holder > 0 && std::find(holders.begin(), holders.end(), holder) ==
                          holders.end()) {
      holders.push_back(holder);
    }
  }
  return holders;
}

bool SameFile(const fs::path& a, const fs::path& b) {
  struct stat info_a;
  struct stat info_b;
  if (::stat(a.c_str(), &info_a) == 0 && ::stat(b.c_str(), &info_b) == 0) {
    return info_a.st_dev == info_b.st_dev && info_a.st_ino == info_b.st_ino;
  }
  return ResolvedPath(a) == ResolvedPath(b);
}

void RemoveAllQuietly(const fs::path& path) {
  std::error_code error;
  // Outputs may be read-only; restore write bits so removal succeeds.
  auto end = fs::recursive_directory_iterator();
  for (auto it = fs::recursive_directory_iterator(path, error);
       !error && it != end; it.increment(error)) {
    if (it->is_directory(error) && !it->is_symlink(error)) {
      fs::permissions(it->path(), fs::perms::owner_all,
                      fs::perm_options::add, error);
    }
  }
  fs::remove_all(path, error);
}

}  // namespace lockstep
