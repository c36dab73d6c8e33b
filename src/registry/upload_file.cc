// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "registry/upload_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

#include "core/files.h"
#include "store/scratch.h"

namespace lockstep::registry {

Result<std::unique_ptr<UploadFile>> UploadFile::Create(
    store::BlobStore& blobs) {
  std::error_code error;
  std::filesystem::create_directories(blobs.TempDirectory(), error);
  std::filesystem::path temp =
      UniqueTempPath(blobs.TempDirectory(), store::kUploadPrefix);
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                  0644);
  if (fd < 0) return ErrnoStatus(temp, errno);
  return std::unique_ptr<UploadFile>(new UploadFile(blobs, temp, fd));
}

UploadFile::UploadFile(store::BlobStore& blobs, std::filesystem::path temp,
                       int fd)
    : blobs_(blobs), temp_(std::move(temp)), fd_(fd) {}

UploadFile::~UploadFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!published_) ::unlink(temp_.c_str());
}

Status UploadFile::Append(std::string_view bytes) {
  if (fd_ < 0) return Status::FailedPrecondition("upload already sealed");
  hasher_.Update(bytes);
  size_ += bytes.size();
  RETURN_IF_ERROR(WriteAll(fd_, bytes, temp_));
  StartWritebackEvery8MiB(fd_, size_, &written_back_);
  return Status::Ok();
}

void UploadFile::Mark() {
  mark_ = size_;
  marked_hasher_.CopyFrom(hasher_);
}

Status UploadFile::RewindToMark() {
  if (fd_ < 0) return Status::FailedPrecondition("upload already sealed");
  if (size_ == mark_) return Status::Ok();
  off_t mark = static_cast<off_t>(mark_);
  if (::ftruncate(fd_, mark) != 0 || ::lseek(fd_, mark, SEEK_SET) != mark) {
    return ErrnoStatus(temp_, errno);
  }
  hasher_.CopyFrom(marked_hasher_);
  size_ = mark_;
  written_back_ = std::min(written_back_, mark_);
  if (synced_ > mark_ && sync_error_.ok()) {
    // The longer file was synced: a crash must not bring its end back.
    if (::fdatasync(fd_) != 0) sync_error_ = ErrnoStatus(temp_, errno);
    synced_ = mark_;
  }
  return sync_error_;
}

Status UploadFile::SyncData() {
  if (!sync_error_.ok() || synced_ == size_) return sync_error_;
  if (fd_ < 0) return Status::FailedPrecondition("upload file is closed");
  if (::fdatasync(fd_) != 0) {
    sync_error_ = ErrnoStatus(temp_, errno);
    return sync_error_;
  }
  synced_ = size_;
  return Status::Ok();
}

Status UploadFile::Seal(const Digest& expected) {
  if (sealed_ || fd_ < 0) {
    return Status::FailedPrecondition("upload already sealed");
  }
  // Hashed before syncing: a wrong digest costs no disk flush.
  Digest actual = hasher_.Finish();
  if (actual != expected) {
    ::close(fd_);
    fd_ = -1;
    return Status::InvalidArgument("content hashes to " + actual.ToString() +
                                   ", not the expected " +
                                   expected.ToString());
  }
  RETURN_IF_ERROR(SyncData());
  ::close(fd_);
  fd_ = -1;
  sealed_ = actual;
  return Status::Ok();
}

Status UploadFile::Publish() {
  if (!sealed_) return Status::FailedPrecondition("upload is not sealed");
  if (published_) return Status::Ok();
  // Removed behind the server's back (by hand, or by a gc told that old
  // temporary files are left by killed processes): the bytes are only
  // in the open file now, and the client is told to start again.
  struct stat unused;
  if (::fstatat(AT_FDCWD, temp_.c_str(), &unused, AT_SYMLINK_NOFOLLOW) != 0 &&
      errno == ENOENT) {
    return Status::NotFound("the upload's temporary file " + temp_.string() +
                            " was removed");
  }
  published_ = true;  // Publish takes the file, or removes it on failure
  return blobs_.Publish(temp_, *sealed_);
}

}  // namespace lockstep::registry
