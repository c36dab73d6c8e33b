// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "store/blob_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "core/files.h"

namespace lockstep::store {

BlobStore::BlobStore(fs::path root) : root_(std::move(root)) {}

fs::path BlobStore::PathOf(const Digest& digest) const {
  const std::string& hex = digest.hex();
  return root_ / "blobs" / "sha256" / hex.substr(0, 2) / hex;
}

bool BlobStore::Contains(const Digest& digest) const {
  struct stat info;
  return ::stat(PathOf(digest).c_str(), &info) == 0;
}

Result<uint64_t> BlobStore::SizeOf(const Digest& digest) const {
  struct stat info;
  fs::path path = PathOf(digest);
  if (::stat(path.c_str(), &info) != 0) {
    return Status::NotFound("blob " + digest.ToString() + " is not in " +
                            "the store");
  }
  return static_cast<uint64_t>(info.st_size);
}

Status BlobStore::Verify(const Digest& digest) const {
  Result<Digest> actual = Sha256OfFile(PathOf(digest));
  if (actual.status().IsNotFound()) {
    return Status::NotFound("blob " + digest.ToString() +
                            " is not in the store");
  }
  RETURN_IF_ERROR(actual.status());
  if (*actual != digest) {
    return Status::DataLoss("blob " + digest.ToString() +
                            " is corrupt: its bytes now hash to " +
                            actual->ToString());
  }
  return Status::Ok();
}

Result<std::string> BlobStore::ReadVerified(const Digest& digest) const {
  Result<std::string> bytes = ReadFile(PathOf(digest));
  if (bytes.status().IsNotFound()) {
    return Status::NotFound("blob " + digest.ToString() +
                            " is not in the store");
  }
  RETURN_IF_ERROR(bytes.status());
  if (Sha256Of(*bytes) != digest) {
    return Status::DataLoss("blob " + digest.ToString() + " is corrupt");
  }
  return bytes;
}

bool BlobStore::ReuseIfIntact(const Digest& digest) {
  if (!Contains(digest) || !Verify(digest).ok()) {
    return false;
  }
  ::utimensat(AT_FDCWD, PathOf(digest).c_str(), nullptr, 0);
  return true;
}

bool BlobStore::Refresh(const Digest& digest) {
  return ::utimensat(AT_FDCWD, PathOf(digest).c_str(), nullptr, 0) == 0;
}

Status BlobStore::Publish(const fs::path& temp, const Digest& digest) {
  // Reuse is verified: an existing blob that still hashes right is kept,
  // a corrupt one is replaced by the fresh bytes.
  if (ReuseIfIntact(digest)) {
    ::unlink(temp.c_str());
    return Status::Ok();
  }
  fs::path destination = PathOf(digest);
  std::error_code error;
  fs::create_directories(destination.parent_path(), error);
  ::chmod(temp.c_str(), 0444);
  if (::rename(temp.c_str(), destination.c_str()) != 0) {
    Status status = ErrnoStatus(destination, errno);
    ::unlink(temp.c_str());
    return status;
  }
  return FsyncDirectory(destination.parent_path());
}

Result<std::unique_ptr<BlobWriter>> BlobStore::NewWriter() {
  std::error_code error;
  fs::create_directories(TempDirectory(), error);
  fs::path temp = UniqueTempPath(TempDirectory(), "blob-");
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                  0644);
  if (fd < 0) {
    return ErrnoStatus(temp, errno);
  }
  return std::unique_ptr<BlobWriter>(new BlobWriter(this, temp, fd));
}

Result<Digest> BlobStore::PutBytes(std::string_view bytes) {
  // Bytes the store already holds intact (a re-run's pipeline file) are
  // not written and flushed again only to be unlinked.
  Digest digest = Sha256Of(bytes);
  if (ReuseIfIntact(digest)) {
    return digest;
  }
  ASSIGN_OR_RETURN(auto writer, NewWriter());
  RETURN_IF_ERROR(writer->Append(bytes));
  return writer->Commit();
}

Result<Digest> BlobStore::PutFile(const fs::path& source) {
  ASSIGN_OR_RETURN(auto writer, NewWriter());
  BlobWriter* raw = writer.get();
  Result<Digest> read = Sha256OfFile(source, [raw](std::string_view chunk) {
    return raw->Append(chunk);
  });
  RETURN_IF_ERROR(read.status());
  return writer->Commit(&read.value());
}

Result<Digest> BlobStore::AdoptFile(const fs::path& source) {
  ASSIGN_OR_RETURN(Digest digest, Sha256OfFile(source));
  std::error_code error;
  fs::create_directories(TempDirectory(), error);
  fs::path temp = UniqueTempPath(TempDirectory(), "adopt-");
  if (::rename(source.c_str(), temp.c_str()) != 0) {
    // Another file system: fall back to a verified copy.
    ASSIGN_OR_RETURN(Digest copied, PutFile(source));
    fs::remove(source, error);
    return copied;
  }
  // Re-hash after the move: the file may have changed since it was hashed.
  ASSIGN_OR_RETURN(Digest moved, Sha256OfFile(temp));
  if (moved != digest) {
    ::unlink(temp.c_str());
    return Status::Aborted(source.string() + " changed while being stored");
  }
  // Bytes the store already holds (and that still verify) need no second
  // durable copy; only a new blob is flushed to disk before it is named.
  if (ReuseIfIntact(digest)) {
    ::unlink(temp.c_str());
    return digest;
  }
  int fd = ::open(temp.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
  RETURN_IF_ERROR(Publish(temp, digest));
  return digest;
}

Status BlobStore::CopyOut(const Digest& digest,
                          const fs::path& destination) const {
  fs::path parent = destination.parent_path().empty()
                        ? fs::path(".")
                        : destination.parent_path();
  fs::path temp = UniqueTempPath(parent, ".copy-");
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                  0644);
  if (fd < 0) {
    return ErrnoStatus(temp, errno);
  }
  Result<Digest> actual = Sha256OfFile(
      PathOf(digest),
      [&](std::string_view chunk) { return WriteAll(fd, chunk, temp); });
  ::close(fd);
  Status status = actual.status();
  if (status.IsNotFound()) {
    status = Status::NotFound("blob " + digest.ToString() +
                              " is not in the store");
  } else if (status.ok() && *actual != digest) {
    status = Status::DataLoss("blob " + digest.ToString() + " is corrupt");
  }
  if (!status.ok()) {
    ::unlink(temp.c_str());
    return status;
  }
  if (::rename(temp.c_str(), destination.c_str()) != 0) {
    status = ErrnoStatus(destination, errno);
    ::unlink(temp.c_str());
  }
  return status;
}

Status BlobStore::Remove(const Digest& digest) {
  fs::path path = PathOf(digest);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return ErrnoStatus(path, errno);
  }
  return Status::Ok();
}

Result<std::vector<Digest>> BlobStore::List() const {
  std::vector<Digest> digests;
  fs::path base = root_ / "blobs" / "sha256";
  std::error_code error;
  if (!fs::exists(base, error)) {
    return digests;
  }
  // increment(error), not range-for loops, whose ++ throws on an error.
  fs::directory_iterator prefix(base, error);
  for (; !error && prefix != fs::directory_iterator();
       prefix.increment(error)) {
    std::error_code kind_error;
    if (!prefix->is_directory(kind_error)) continue;  // Not a shard.
    fs::directory_iterator entry(prefix->path(), error);
    for (; !error && entry != fs::directory_iterator();
         entry.increment(error)) {
      std::string name = entry->path().filename().string();
      if (Digest::Parse("sha256:" + name).ok()) {
        digests.push_back(Digest::FromHex(name));
      }
    }
  }
  if (error) return ErrnoStatus(base, error.value());
  return digests;
}

BlobWriter::BlobWriter(BlobStore* store, fs::path temp, int fd)
    : store_(store), temp_(std::move(temp)), fd_(fd) {}

BlobWriter::~BlobWriter() {
  if (fd_ >= 0) {
    ::close(fd_);
  }
  if (!committed_) {
    ::unlink(temp_.c_str());
  }
}

Status BlobWriter::Append(std::string_view bytes) {
  hasher_.Update(bytes);
  size_ += bytes.size();
  RETURN_IF_ERROR(WriteAll(fd_, bytes, temp_));
  // Start writeback of every full 8 MiB as it arrives, so the fsync in
  // Commit finds little left to flush: a 1 GiB upload otherwise waited
  // seconds at the end for the whole file to reach the disk.
  constexpr uint64_t kWritebackBytes = 8u << 20;
  if (size_ - written_back_ >= kWritebackBytes) {
    ::sync_file_range(fd_, static_cast<off_t>(written_back_),
                      static_cast<off_t>(size_ - written_back_),
                      SYNC_FILE_RANGE_WRITE);
    written_back_ = size_;
  }
  return Status::Ok();
}

Result<Digest> BlobWriter::Commit(const Digest* expected) {
  if (::fsync(fd_) != 0) {
    return ErrnoStatus(temp_, errno);
  }
  ::close(fd_);
  fd_ = -1;
  Digest digest = hasher_.Finish();
  if (expected != nullptr && digest != *expected) {
    return Status::InvalidArgument("content hashes to " + digest.ToString() +
                                   ", not the expected " +
                                   expected->ToString());
  }
  committed_ = true;
  RETURN_IF_ERROR(store_->Publish(temp_, digest));
  return digest;
}

}  // namespace lockstep::store
