// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "store/identity.h"

#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>

#include "core/files.h"

namespace lockstep::store {

namespace fs = std::filesystem;

namespace {

constexpr size_t kIdBytes = 16;

Result<std::string> RandomId() {
  unsigned char bytes[kIdBytes];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) {
    return Status::Internal("no random bytes for a store id");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id;
  for (unsigned char byte : bytes) {
    id += kHex[byte >> 4];
    id += kHex[byte & 15];
  }
  return id;
}

bool IsStoreId(std::string_view text) {
  if (text.size() != 2 * kIdBytes) return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// The file's text without one trailing newline.
Result<std::string> ReadLine(const fs::path& path) {
  ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  if (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

// Holds an exclusive flock on a file until destroyed.
class FileLock {
 public:
  explicit FileLock(int fd) : fd_(fd) {}
  ~FileLock() {
    if (fd_ >= 0) ::close(fd_);  // Closing releases the lock.
  }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_;
};

Result<int> LockExclusively(const fs::path& path) {
  std::error_code error;
  fs::create_directories(path.parent_path(), error);
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus(path, errno);
  while (::flock(fd, LOCK_EX) != 0) {
    if (errno != EINTR) {
      Status status = ErrnoStatus(path, errno);
      ::close(fd);
      return status;
    }
  }
  return fd;
}

// Replaces `path` by rename, so a reader sees the old or the new text,
// but without fsync: a generation lost in a crash only leaves the file
// behind the database (a weaker check), while one that outlived a lost
// database commit would make gc refuse the store's own database.
Status ReplaceWithoutSync(const fs::path& path, std::string_view text) {
  fs::path temp = UniqueTempPath(path.parent_path() / "tmp",
                                 "store-generation.");
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                  0644);
  if (fd < 0) return ErrnoStatus(temp, errno);
  Status written = WriteAll(fd, text, temp);
  ::close(fd);
  if (written.ok() && ::rename(temp.c_str(), path.c_str()) != 0) {
    written = ErrnoStatus(path, errno);
  }
  if (!written.ok()) ::unlink(temp.c_str());
  return written;
}

}  // namespace

Result<std::string> ReadStoreId(const fs::path& root) {
  fs::path path = root / kStoreIdFile;
  ASSIGN_OR_RETURN(std::string id, ReadLine(path));
  if (!IsStoreId(id)) {
    return Status::DataLoss(path.string() +
                            ": not a store id (32 hex digits)");
  }
  return id;
}

Result<std::string> EnsureStoreId(const fs::path& root) {
  Result<std::string> existing = ReadStoreId(root);
  if (!existing.status().IsNotFound()) return existing;
  ASSIGN_OR_RETURN(std::string id, RandomId());
  // Written whole in the store's tmp/ (on the same file system), then
  // linked into place: a reader never sees a half-written id.
  std::error_code made;
  fs::create_directories(root / "tmp", made);
  fs::path temp = UniqueTempPath(root / "tmp", "store-id.");
  RETURN_IF_ERROR(WriteFileAtomically(temp, id + "\n"));
  int linked = ::link(temp.c_str(), (root / kStoreIdFile).c_str());
  int link_error = errno;
  std::error_code ignored;
  fs::remove(temp, ignored);
  if (linked != 0 && link_error != EEXIST) {
    return ErrnoStatus(root / kStoreIdFile, link_error);
  }
  if (linked == 0) {
    RETURN_IF_ERROR(FsyncDirectory(root));
    return id;
  }
  return ReadStoreId(root);  // Another process made it first.
}

Result<int64_t> ReadStoreGeneration(const fs::path& root) {
  fs::path path = root / kStoreGenerationFile;
  Result<std::string> text = ReadLine(path);
  if (text.status().IsNotFound()) return int64_t{0};
  RETURN_IF_ERROR(text.status());
  int64_t generation = -1;
  auto [end, error] = std::from_chars(
      text->data(), text->data() + text->size(), generation);
  if (error != std::errc() || end != text->data() + text->size() ||
      generation < 0) {
    return Status::DataLoss(path.string() +
                            ": not a store generation (a number)");
  }
  return generation;
}

Status RaiseStoreGeneration(const fs::path& root, int64_t generation) {
  std::error_code made;
  fs::create_directories(root / "tmp", made);
  ASSIGN_OR_RETURN(int fd,
                   LockExclusively(root / "locks" / "store-generation.lock"));
  FileLock lock(fd);
  ASSIGN_OR_RETURN(int64_t recorded, ReadStoreGeneration(root));
  if (recorded >= generation) return Status::Ok();
  return ReplaceWithoutSync(root / kStoreGenerationFile,
                            std::to_string(generation) + "\n");
}

}  // namespace lockstep::store
