// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "store/blob_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bitset>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>

#include "core/files.h"
#include "core/subprocess.h"
#include "store/sweep_lock.h"

namespace lockstep::store {

// blobs/sha256, opened when first needed.
struct BlobStore::LooseFolder {
  std::once_flag opened;
  int fd = -1;
  // Its shard folders (by the first byte of the digest) that existed
  // when first asked, listed once (see MayHoldLoose).
  std::once_flag listed;
  std::bitset<256> shards;
  ~LooseFolder() {
    if (fd >= 0) ::close(fd);
  }
};

BlobStore::BlobStore(fs::path root)
    : root_(std::move(root)),
      packs_(std::make_shared<PackSet>(root_ / "packs")),
      loose_(std::make_shared<LooseFolder>()) {}

bool BlobStore::StatLoose(const Digest& digest, struct stat* info) const {
  std::call_once(loose_->opened, [this] {
    fs::path folder = root_ / "blobs" / "sha256";
    loose_->fd = ::open(folder.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  });
  if (loose_->fd < 0) return ::stat(PathOf(digest).c_str(), info) == 0;
  const std::string& hex = digest.hex();
  char name[2 + 1 + 64 + 1];
  std::snprintf(name, sizeof name, "%.2s/%s", hex.c_str(), hex.c_str());
  return ::fstatat(loose_->fd, name, info, 0) == 0;
}

bool BlobStore::MayHoldLoose(const Digest& digest) const {
  std::call_once(loose_->listed, [this] {
    fs::path folder = root_ / "blobs" / "sha256";
    DIR* dir = ::opendir(folder.c_str());
    if (dir == nullptr) return;
    while (struct dirent* item = ::readdir(dir)) {
      char* end = nullptr;
      unsigned long byte = std::strtoul(item->d_name, &end, 16);
      if (std::strlen(item->d_name) == 2 && *end == '\0') {
        loose_->shards.set(byte);
      }
    }
    ::closedir(dir);
  });
  // A shard folder is named by the digest's first byte.
  return loose_->shards.test(digest.raw()[0]);
}

namespace {

Status NotInStore(const Digest& digest) {
  return Status::NotFound("blob " + digest.ToString() + " is not in the store");
}

// Streams `length` bytes of `fd` from `offset` through SHA-256 and
// `on_chunk`.
Result<Digest> StreamRange(int fd, uint64_t offset, uint64_t length,
                           const ChunkVisitor& on_chunk,
                           const fs::path& path) {
  thread_local std::string buffer;
  buffer.resize(std::min<uint64_t>(length, kHashChunkSize));
  Sha256 hasher;
  while (length > 0) {
    size_t want = std::min<uint64_t>(length, buffer.size());
    ssize_t n = ::pread(fd, buffer.data(), want, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus(path, errno);
    if (n == 0) {
      return Status::DataLoss(path.string() + " ends inside a blob");
    }
    std::string_view chunk(buffer.data(), static_cast<size_t>(n));
    hasher.Update(chunk);
    if (on_chunk) RETURN_IF_ERROR(on_chunk(chunk));
    offset += chunk.size();
    length -= chunk.size();
  }
  return hasher.Finish();
}

Result<Digest> HashCopy(const PackedBlob& copy, const ChunkVisitor& on_chunk) {
  int fd = ::open(copy.pack.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(copy.pack, errno);
  Result<Digest> actual =
      StreamRange(fd, copy.offset, copy.length, on_chunk, copy.pack);
  ::close(fd);
  return actual;
}

// Reads a packed blob from the first of its copies that hashes right; the
// last copy is streamed whatever it hashes to, for the caller to judge.
// Earlier copies are small (packed files are), so each is read whole
// before `on_chunk` sees any of it.
Result<Digest> StreamPacked(const std::vector<PackedBlob>& copies,
                            const Digest& digest,
                            const ChunkVisitor& on_chunk, uint64_t* size) {
  for (size_t i = 0; i < copies.size(); ++i) {
    const PackedBlob& copy = copies[i];
    if (size != nullptr) *size = copy.length;
    if (i + 1 == copies.size() || copy.length > kHashChunkSize) {
      return HashCopy(copy, on_chunk);
    }
    std::string bytes;
    Result<Digest> actual = HashCopy(copy, [&](std::string_view chunk) {
      bytes.append(chunk);
      return Status::Ok();
    });
    if (actual.ok() && *actual == digest) {
      if (on_chunk) RETURN_IF_ERROR(on_chunk(bytes));
      return actual;
    }
  }
  return NotInStore(digest);
}

}  // namespace

Status HashPackMembers(const PackIndex& pack,
                       const PackMemberVisitor& on_blob) {
  int fd = ::open(pack.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(pack.path, errno);
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};
  // File order, so a pack is read front to back once.
  std::vector<const PackEntry*> by_offset;
  for (const PackEntry& entry : pack.entries) by_offset.push_back(&entry);
  std::sort(by_offset.begin(), by_offset.end(),
            [](const PackEntry* a, const PackEntry* b) {
              return a->offset < b->offset;
            });
  for (const PackEntry* entry : by_offset) {
    ASSIGN_OR_RETURN(Digest actual,
                     StreamRange(fd, entry->offset, entry->length, nullptr,
                                 pack.path));
    RETURN_IF_ERROR(on_blob(*entry, actual));
  }
  return Status::Ok();
}

fs::path BlobStore::PathOf(const Digest& digest) const {
  const std::string& hex = digest.hex();
  return root_ / "blobs" / "sha256" / hex.substr(0, 2) / hex;
}

bool BlobStore::Contains(const Digest& digest, PackRefresh refresh) const {
  struct stat info;
  return StatLoose(digest, &info) ||
         packs_->Find(digest, refresh).has_value();
}

Result<BlobStore::Location> BlobStore::Locate(const Digest& digest) const {
  struct stat info;
  if (StatLoose(digest, &info)) {
    return Location{PathOf(digest), 0, static_cast<uint64_t>(info.st_size),
                    false};
  }
  std::optional<PackedBlob> packed =
      packs_->Find(digest, PackRefresh::kIfChanged);
  if (!packed) return NotInStore(digest);
  return Location{packed->pack, packed->offset, packed->length, true};
}

Result<uint64_t> BlobStore::SizeOf(const Digest& digest) const {
  ASSIGN_OR_RETURN(Location where, Locate(digest));
  return where.size;
}

Result<Digest> BlobStore::Stream(const Digest& digest,
                                 const ChunkVisitor& on_chunk,
                                 uint64_t* size) const {
  struct stat info;
  if (StatLoose(digest, &info)) {
    Result<Digest> actual = Sha256OfFile(PathOf(digest), on_chunk, size);
    if (actual.status().IsNotFound()) return NotInStore(digest);
    return actual;
  }
  std::vector<PackedBlob> copies =
      packs_->FindAll(digest, PackRefresh::kIfChanged);
  if (copies.empty()) return NotInStore(digest);
  return StreamPacked(copies, digest, on_chunk, size);
}

Status BlobStore::Verify(const Digest& digest) const {
  Result<Digest> actual = Stream(digest, nullptr);
  RETURN_IF_ERROR(actual.status());
  if (*actual != digest) {
    Result<Location> where = Locate(digest);
    std::string pack = where.ok() && where->packed
                           ? " (in pack " + where->file.string() + ")"
                           : "";
    return Status::DataLoss("blob " + digest.ToString() + pack +
                            " is corrupt: its bytes now hash to " +
                            actual->ToString());
  }
  return Status::Ok();
}

Status BlobStore::StreamVerified(const Digest& digest,
                                 const ChunkVisitor& on_chunk) const {
  ASSIGN_OR_RETURN(Digest actual, Stream(digest, on_chunk));
  if (actual != digest) {
    return Status::DataLoss("blob " + digest.ToString() + " is corrupt");
  }
  return Status::Ok();
}

Result<std::string> BlobStore::ReadVerified(const Digest& digest) const {
  std::string bytes;
  RETURN_IF_ERROR(StreamVerified(digest, [&](std::string_view chunk) {
    bytes.append(chunk);
    return Status::Ok();
  }));
  return bytes;
}

Result<std::string> BlobStore::ReadPrefix(const Digest& digest,
                                          size_t size) const {
  ASSIGN_OR_RETURN(Location where, Locate(digest));
  int fd = ::open(where.file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(where.file, errno);
  std::string bytes(std::min<uint64_t>(size, where.size), '\0');
  ssize_t n = ::pread(fd, bytes.data(), bytes.size(),
                      static_cast<off_t>(where.offset));
  int error = errno;
  ::close(fd);
  if (n < 0) return ErrnoStatus(where.file, error);
  bytes.resize(static_cast<size_t>(n));
  return bytes;
}

bool BlobStore::ReuseLooseIfIntact(const Digest& digest) {
  fs::path path = PathOf(digest);
  Result<Digest> actual = Sha256OfFile(path);
  if (!actual.ok() || *actual != digest) return false;
  ::utimensat(AT_FDCWD, path.c_str(), nullptr, 0);
  return true;
}

bool BlobStore::ReuseIfIntact(const Digest& digest) {
  struct stat info;
  if (MayHoldLoose(digest) && StatLoose(digest, &info)) {
    return ReuseLooseIfIntact(digest);
  }
  for (const PackedBlob& copy : packs_->FindAll(digest, PackRefresh::kNo)) {
    Result<Digest> actual = HashCopy(copy, nullptr);
    if (actual.ok() && *actual == digest) {
      ::utimensat(AT_FDCWD, copy.pack.c_str(), nullptr, 0);
      return true;
    }
  }
  return false;
}

std::vector<size_t> BlobStore::Refresh(const std::vector<Digest>& digests) {
  // A packed blob costs no system call here: its pack is touched once
  // for all of them, which matters for 100,000 small files.
  std::vector<bool> packed(digests.size(), false);
  std::vector<size_t> missing;
  auto touch_packs = [&](const std::vector<Digest>& batch,
                         const std::vector<size_t>& positions) {
    for (const auto& [pack, members] : packs_->GroupByPack(batch)) {
      // A pack gc removed since it was listed takes its blobs with it.
      bool gone = ::utimensat(AT_FDCWD, pack.c_str(), nullptr, 0) != 0;
      for (size_t member : members) {
        packed[positions[member]] = true;
        if (gone) missing.push_back(positions[member]);
      }
    }
  };
  std::vector<size_t> all(digests.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = i;
  touch_packs(digests, all);

  // The rest are loose files, or packed by another process since this
  // one read the packs folder, or gone.
  std::vector<Digest> unpacked;
  std::vector<size_t> unpacked_at;
  for (size_t i = 0; i < digests.size(); ++i) {
    if (packed[i]) continue;
    if (::utimensat(AT_FDCWD, PathOf(digests[i]).c_str(), nullptr, 0) != 0) {
      unpacked.push_back(digests[i]);
      unpacked_at.push_back(i);
    }
  }
  if (!unpacked.empty()) {
    (void)packs_->Find(unpacked.front(), PackRefresh::kIfChanged);
    touch_packs(unpacked, unpacked_at);
  }
  for (size_t i : unpacked_at) {
    if (!packed[i]) missing.push_back(i);
  }
  std::sort(missing.begin(), missing.end());
  return missing;
}

bool BlobStore::Refresh(const Digest& digest) {
  // A tree or a large file is loose: one call, and no pack index read.
  if (::utimensat(AT_FDCWD, PathOf(digest).c_str(), nullptr, 0) == 0) {
    return true;
  }
  return Refresh(std::vector<Digest>{digest}).empty();
}

Status BlobStore::EnsureLoose(const Digest& digest) {
  struct stat info;
  if (StatLoose(digest, &info)) return Status::Ok();
  ASSIGN_OR_RETURN(std::string bytes, ReadVerified(digest));
  return PutBytes(bytes).status();
}

Status BlobStore::Publish(const fs::path& temp, const Digest& digest) {
  // Reuse is verified: an existing blob that still hashes right is kept,
  // a corrupt one is replaced by the fresh bytes.
  if (ReuseLooseIfIntact(digest)) {
    ::unlink(temp.c_str());
    return Status::Ok();
  }
  fs::path destination = PathOf(digest);
  fs::path shard = destination.parent_path();
  std::error_code error;
  // A shard folder made here is itself an entry of its parent, which
  // must reach the disk too, or a crash loses the folder with the blob.
  bool made = fs::create_directories(shard, error);
  ::chmod(temp.c_str(), 0444);
  if (::rename(temp.c_str(), destination.c_str()) != 0) {
    Status status = ErrnoStatus(destination, errno);
    ::unlink(temp.c_str());
    return status;
  }
  RETURN_IF_ERROR(FsyncDirectory(shard));
  return made ? FsyncDirectory(shard.parent_path()) : Status::Ok();
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
  // Bytes the store already holds intact as a file (a re-run's pipeline
  // file) are not written and flushed again only to be unlinked. A copy
  // in a pack does not count: a Put always leaves a loose file.
  Digest digest = Sha256Of(bytes);
  if (ReuseLooseIfIntact(digest)) {
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
  if (ReuseLooseIfIntact(digest)) {
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
  ASSIGN_OR_RETURN(PendingFile file, PendingFile::Create(destination));
  RETURN_IF_ERROR(StreamVerified(digest, [&](std::string_view chunk) {
    // A safe point (core/subprocess.h): the pending file goes with the
    // error.
    RETURN_IF_ERROR(CancellationStatus());
    return WriteAll(file.fd(), chunk, destination);
  }));
  return file.CommitUnflushed();
}

Status BlobStore::Remove(const Digest& digest) {
  // Before the removal: a snapshot that reads the old stamp afterwards
  // would trust this blob to be present (store/sweep_lock.h).
  RETURN_IF_ERROR(RestampSweepLock(root_));
  fs::path path = PathOf(digest);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return ErrnoStatus(path, errno);
  }
  return Status::Ok();
}

Status BlobStore::RemovePack(const fs::path& pack) {
  RETURN_IF_ERROR(RestampSweepLock(root_));  // As in Remove.
  if (::unlink(pack.c_str()) != 0 && errno != ENOENT) {
    return ErrnoStatus(pack, errno);
  }
  packs_->Forget(pack);
  return Status::Ok();
}

Result<std::vector<PackIndex>> BlobStore::ListPacks(
    std::vector<std::string>* problems) const {
  return packs_->ReadAll(problems);
}

Result<std::vector<Digest>> BlobStore::List() const {
  ASSIGN_OR_RETURN(std::vector<Digest> digests, ListLoose());
  ASSIGN_OR_RETURN(std::vector<PackIndex> packs, ListPacks());
  for (const PackIndex& pack : packs) {
    for (const PackEntry& entry : pack.entries) {
      digests.push_back(FromRaw(entry.digest));
    }
  }
  std::sort(digests.begin(), digests.end());
  digests.erase(std::unique(digests.begin(), digests.end()), digests.end());
  return digests;
}

Result<std::vector<Digest>> BlobStore::ListLoose() const {
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
  // A safe point for every long write into the store (a table snapshot,
  // a pull): the destructor removes the temp file.
  RETURN_IF_ERROR(CancellationStatus());
  hasher_.Update(bytes);
  size_ += bytes.size();
  RETURN_IF_ERROR(WriteAll(fd_, bytes, temp_));
  StartWritebackEvery8MiB(fd_, size_, &written_back_);
  return Status::Ok();
}

Status BlobWriter::Flush() {
  return ::fsync(fd_) == 0 ? Status::Ok() : ErrnoStatus(temp_, errno);
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
