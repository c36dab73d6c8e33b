// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "data/file_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <new>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/files.h"
#include "core/subprocess.h"
#include "data/parallel.h"
#include "data/stat_cache.h"

namespace lockstep::data {

namespace {

// Written bytes are handed to writeback in steps of this size.
constexpr uint64_t kWritebackStep = 32 << 20;

// Reads up to `size` bytes, retrying on EINTR. Returns bytes read or -1.
ssize_t ReadSome(int fd, char* buffer, size_t size) {
  while (true) {
    ssize_t n = ::read(fd, buffer, size);
    if (n >= 0 || errno != EINTR) return n;
  }
}

Status WriteAll(int fd, std::string_view bytes, const fs::path& path) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus(path, errno);
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

Result<int> OpenForReading(const fs::path& path) {
  // Non-blocking: a FIFO where a file was opens at once, and is then
  // refused as not a regular file instead of waiting for a writer.
  int fd = ::open(path.c_str(),
                  O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) return ErrnoStatus(path, errno);
  return fd;
}

// Creates the temp file a large blob is written to, with O_DIRECT where
// the file system takes it: the copy then goes from our buffers straight
// to the disk, without a second copy into the page cache or waiting
// behind other writers' dirty pages (on the shared build VM a direct 2 GiB
// copy took 5 s where a buffered one with fsync took 48 s).
Result<std::pair<fs::path, int>> CreateTemp(store::BlobStore* blobs) {
  fs::path directory = blobs->TempDirectory();
  std::error_code error;
  fs::create_directories(directory, error);
  fs::path temp = UniqueTempPath(directory, "data-");
  int flags = O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC;
  int fd = ::open(temp.c_str(), flags | O_DIRECT, 0444);
  if (fd < 0 && errno == EINVAL) fd = ::open(temp.c_str(), flags, 0444);
  if (fd < 0) return ErrnoStatus(temp, errno);
  return std::make_pair(temp, fd);
}

// Buffers for O_DIRECT must start, and direct writes must end, on this.
constexpr size_t kDirectAlignment = 4096;

// Bytes read (in kHashChunkSize steps) before a slot goes to the copy
// thread: large direct writes keep the disk busy.
constexpr size_t kSlotSize = 4 * kHashChunkSize;

// Writes `chunk` to `fd`, directly while the chunk is whole blocks. A
// partial block (the file's tail) or a file system that refuses a direct
// write switches the file to buffered writes for the rest.
Status WriteCopy(int fd, std::string_view chunk, const fs::path& path) {
  int flags = ::fcntl(fd, F_GETFL);
  bool direct = flags >= 0 && (flags & O_DIRECT) != 0;
  if (direct && chunk.size() % kDirectAlignment != 0) {
    ::fcntl(fd, F_SETFL, flags & ~O_DIRECT);
    direct = false;
  }
  while (!chunk.empty()) {
    ssize_t n = ::write(fd, chunk.data(), chunk.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EINVAL && direct) {
      ::fcntl(fd, F_SETFL, flags & ~O_DIRECT);
      direct = false;
      continue;
    }
    if (n < 0) return ErrnoStatus(path, errno);
    chunk.remove_prefix(static_cast<size_t>(n));
    if (direct && chunk.size() % kDirectAlignment != 0) {
      ::fcntl(fd, F_SETFL, flags & ~O_DIRECT);
      direct = false;
    }
  }
  return Status::Ok();
}

struct FreeDeleter {
  void operator()(char* p) const { std::free(p); }
};

// A chunk travelling from the hashing thread to the copy thread.
struct Slot {
  std::unique_ptr<char, FreeDeleter> data;
  size_t size = 0;
};

// The hand-off between the two threads: a fixed set of buffers that cycle
// between a free list and a full queue, so memory stays bounded.
class Pipeline {
 public:
  explicit Pipeline(int slots) {
    for (int i = 0; i < slots; ++i) {
      void* memory = std::aligned_alloc(kDirectAlignment, kSlotSize);
      if (memory == nullptr) throw std::bad_alloc();
      free_.push_back(new Slot{
          std::unique_ptr<char, FreeDeleter>(static_cast<char*>(memory)),
          0});
      owned_.emplace_back(free_.back());
    }
  }

  Slot* TakeFree() { return Pop(&free_); }
  void GiveFree(Slot* slot) { Push(&free_, slot); }
  Slot* TakeFull() { return Pop(&full_); }
  void GiveFull(Slot* slot) { Push(&full_, slot); }  // nullptr ends.

 private:
  Slot* Pop(std::deque<Slot*>* queue) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return !queue->empty(); });
    Slot* slot = queue->front();
    queue->pop_front();
    return slot;
  }
  void Push(std::deque<Slot*>* queue, Slot* slot) {
    {
      std::lock_guard lock(mutex_);
      queue->push_back(slot);
    }
    changed_.notify_all();
  }

  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Slot*> free_;
  std::deque<Slot*> full_;
  std::vector<std::unique_ptr<Slot>> owned_;
};

// Reads `in` once: this thread reads and hashes each chunk, a second
// thread runs `consumer` on it (copy, count), so the two overlap. After a
// consumer error the second thread only drains.
// `slot_fill` (at most kSlotSize) is how many bytes each hand-off holds.
Status PipelinedRead(int in, const fs::path& path, size_t slot_fill,
                     const ChunkVisitor& consumer, StoredFile* result,
                     Progress* progress) {
  Pipeline pipeline(8);
  Status consumer_status = Status::Ok();
  std::thread worker([&] {
    while (Slot* slot = pipeline.TakeFull()) {
      std::string_view chunk(slot->data.get(), slot->size);
      if (consumer_status.ok()) consumer_status = consumer(chunk);
      pipeline.GiveFree(slot);
    }
  });

  Sha256 hasher;
  Status read_status = Status::Ok();
  bool at_end = false;
  while (!at_end) {
    // A safe point (core/subprocess.h) before each slot: a large file is
    // given up within a few MiB, and its caller removes the copy.
    read_status = CancellationStatus();
    if (!read_status.ok()) break;
    // Fill a slot in hash-sized reads, hashing each while it is still in
    // the CPU's cache.
    Slot* slot = pipeline.TakeFree();
    slot->size = 0;
    while (slot->size < slot_fill) {
      char* at = slot->data.get() + slot->size;
      ssize_t n = ReadSome(in, at,
                           std::min(kHashChunkSize, slot_fill - slot->size));
      if (n <= 0) {
        if (n < 0) read_status = ErrnoStatus(path, errno);
        at_end = true;
        break;
      }
      hasher.Update(at, static_cast<size_t>(n));
      slot->size += static_cast<size_t>(n);
    }
    if (slot->size == 0) {
      pipeline.GiveFree(slot);
      break;
    }
    result->size += slot->size;
    if (progress != nullptr) progress->Advance(slot->size);
    pipeline.GiveFull(slot);
  }
  pipeline.GiveFull(nullptr);
  worker.join();
  result->digest = hasher.Finish();
  return read_status.ok() ? consumer_status : read_status;
}

}  // namespace

Result<StoredFile> HashFile(const fs::path& path, size_t chunk_size,
                            const ChunkVisitor& on_chunk,
                            Progress* progress) {
  ASSIGN_OR_RETURN(int fd, OpenForReading(path));
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  if (on_chunk && chunk_size == kHashChunkSize) {
    StoredFile result;
    Status status = PipelinedRead(fd, path, kHashChunkSize, on_chunk,
                                  &result, progress);
    ::close(fd);
    RETURN_IF_ERROR(status);
    return result;
  }
  auto buffer = std::make_unique<char[]>(chunk_size);
  Sha256 hasher;
  StoredFile result;
  Status status = Status::Ok();
  while (status.ok()) {
    status = CancellationStatus();  // A safe point, as above.
    if (!status.ok()) break;
    ssize_t n = ReadSome(fd, buffer.get(), chunk_size);
    if (n < 0) status = ErrnoStatus(path, errno);
    if (n <= 0) break;
    std::string_view chunk(buffer.get(), static_cast<size_t>(n));
    hasher.Update(chunk);
    result.size += chunk.size();
    if (on_chunk) status = on_chunk(chunk);
    if (progress != nullptr) progress->Advance(chunk.size());
  }
  ::close(fd);
  RETURN_IF_ERROR(status);
  result.digest = hasher.Finish();
  return result;
}

Result<StoredFile> StoreLargeFile(store::BlobStore* blobs,
                                  const fs::path& path,
                                  const ChunkVisitor& on_chunk,
                                  Progress* progress) {
  ASSIGN_OR_RETURN(int in, OpenForReading(path));
  return StoreLargeFileFrom(blobs, in, path, on_chunk, progress);
}

Result<StoredFile> StoreLargeFileFrom(store::BlobStore* blobs, int in,
                                      const fs::path& path,
                                      const ChunkVisitor& on_chunk,
                                      Progress* progress) {
  struct stat before;
  if (::fstat(in, &before) != 0 || !S_ISREG(before.st_mode)) {
    ::close(in);
    return Status::Aborted(path.string() + " changed while being read: "
                           "no longer a regular file");
  }
  ::posix_fadvise(in, 0, 0, POSIX_FADV_SEQUENTIAL);
  Result<std::pair<fs::path, int>> temp = CreateTemp(blobs);
  if (!temp.ok()) {
    ::close(in);
    return temp.status();
  }
  // Plain variables, not a structured binding: the lambda below captures
  // them, which clang before 16 rejects for bindings.
  const fs::path temp_path = temp->first;
  const int out = temp->second;

  // The second thread writes the copy, starting its writeback early so
  // the final fsync finds little left to do, and feeds the visitor.
  uint64_t flushed = 0, written = 0;
  auto copy = [&](std::string_view chunk) -> Status {
    RETURN_IF_ERROR(WriteCopy(out, chunk, temp_path));
    written += chunk.size();
    if (written - flushed >= kWritebackStep) {
      ::sync_file_range(out, static_cast<off_t>(flushed),
                        static_cast<off_t>(written - flushed),
                        SYNC_FILE_RANGE_WRITE);
      flushed = written;
    }
    return on_chunk ? on_chunk(chunk) : Status::Ok();
  };
  StoredFile result;
  Status status = PipelinedRead(in, path, kSlotSize, copy, &result,
                                progress);

  struct stat after;
  ::fstat(in, &after);
  ::close(in);
  if (status.ok() && !(StatKeyOf(before) == StatKeyOf(after))) {
    status = Status::Aborted(path.string() + " changed while being read");
  }
  if (status.ok() && ::fsync(out) != 0) status = ErrnoStatus(temp_path, errno);
  ::close(out);
  if (!status.ok()) {
    ::unlink(temp_path.c_str());
    return status;
  }
  RETURN_IF_ERROR(blobs->Publish(temp_path, result.digest));
  return result;
}

namespace {

// The pack writer a thread owns, and the batch it belongs to (by serial
// number: a batch's address can be reused by the next one).
struct OwnedWriter {
  uint64_t batch = 0;
  store::PackWriter* writer = nullptr;
};
thread_local OwnedWriter owned_writer;

uint64_t NextBatchSerial() {
  static std::atomic<uint64_t> next{1};
  return next++;
}

}  // namespace

SmallFileBatch::SmallFileBatch(store::BlobStore* blobs)
    : blobs_(blobs), serial_(NextBatchSerial()) {
  std::fill(std::begin(group_fds_), std::end(group_fds_), -1);
}

void SmallFileBatch::OpenRelativeTo(const fs::path& root) {
  if (root_fd_ >= 0) ::close(root_fd_);
  root_fd_ = ::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  root_prefix_ = root.native();
  if (!root_prefix_.ends_with('/')) root_prefix_ += '/';
}

SmallFileBatch::~SmallFileBatch() {
  if (root_fd_ >= 0) ::close(root_fd_);
  for (int group = 0; group < kGroups; ++group) {
    int fd = group_fds_[group];
    if (fd < 0) continue;
    for (const Pending& item : pending_[group]) {
      ::unlinkat(fd, item.temp.c_str(), 0);
    }
    ::close(fd);
    ::rmdir((folder_ / std::string(1, "0123456789abcdef"[group])).c_str());
  }
  if (!folder_.empty()) ::rmdir(folder_.c_str());
}

size_t SmallFileBatch::pending() const {
  size_t count = 0;
  for (const auto& group : pending_) count += group.size();
  for (const auto& writer : writers_) count += writer->pending();
  return count;
}

Result<int> SmallFileBatch::OpenSource(const std::string& path) const {
  // A safe point (core/subprocess.h) before each file: the batch's temp
  // files and unpublished packs go with it.
  RETURN_IF_ERROR(CancellationStatus());
  // Under the root, no link is followed on the way either: a folder
  // swapped for a link to elsewhere mid-snapshot would otherwise bring
  // outside files in under the folder's name.
  if (root_fd_ >= 0 && path.starts_with(root_prefix_)) {
    Result<int> in = OpenWithoutLinks(
        root_fd_, std::string_view(path).substr(root_prefix_.size()),
        O_RDONLY, path);
    if (in.ok() || errno != ELOOP) return in;
    return Status::Aborted(path + " changed while being snapshotted: a "
                           "link is now on its path");
  }
  return OpenForReading(path);
}

Result<StoredFile> SmallFileBatch::AddLarge(const std::string& path) {
  ASSIGN_OR_RETURN(int in, OpenSource(path));
  return StoreLargeFileFrom(blobs_, in, path);
}

Result<int> SmallFileBatch::OpenRegular(const std::string& path,
                                        struct stat* info) const {
  ASSIGN_OR_RETURN(int in, OpenSource(path));
  if (::fstat(in, info) != 0) {
    Status status = ErrnoStatus(path, errno);
    ::close(in);
    return status;
  }
  if (!S_ISREG(info->st_mode)) {
    ::close(in);
    return Status::Aborted(path + " changed while being read: no longer "
                           "a regular file");
  }
  return in;
}

Result<StoredFile> SmallFileBatch::Add(const std::string& path,
                                       uint64_t expected_size) {
  struct stat info;
  ASSIGN_OR_RETURN(int in, OpenRegular(path, &info));
  return ReadAndStore(in, path, expected_size);
}

Result<std::optional<StoredFile>> SmallFileBatch::AddUnstatted(
    const std::string& path, struct stat* info, uint64_t limit) {
  ASSIGN_OR_RETURN(int in, OpenRegular(path, info));
  if (static_cast<uint64_t>(info->st_size) >
      std::min(limit, kSmallFileLimit)) {
    ::close(in);
    return std::optional<StoredFile>();
  }
  ASSIGN_OR_RETURN(StoredFile stored,
                   ReadAndStore(in, path,
                                static_cast<uint64_t>(info->st_size)));
  return std::optional<StoredFile>(stored);
}

Result<StoredFile> SmallFileBatch::ReadAndStore(int in,
                                                const std::string& path,
                                                uint64_t expected_size) {
  // One buffer per thread; one byte more than expected is asked for, to
  // see a file that grew. A read of a regular file returns less than
  // asked only at its end, so a short read that filled the expected size
  // saves the read that would return 0.
  thread_local std::string buffer;
  buffer.resize(expected_size + 1);
  size_t have = 0;
  while (have < buffer.size()) {
    ssize_t n = ReadSome(in, buffer.data() + have, buffer.size() - have);
    if (n < 0) {
      Status status = ErrnoStatus(path, errno);
      ::close(in);
      return status;
    }
    if (n == 0) break;
    have += static_cast<size_t>(n);
    if (have == expected_size) break;
  }
  ::close(in);
  if (have != expected_size) {
    return Status::Aborted(path + " changed while being read");
  }

  StoredFile result;
  std::string_view bytes(buffer.data(), have);
  result.digest = Sha256Of(bytes);
  result.size = have;
  // Claimed once, whether then reused or written: either way the store
  // holds it for this batch.
  if (!Claim(result.digest)) return result;
  if (blobs_->ReuseIfIntact(result.digest)) {
    return result;
  }
  RETURN_IF_ERROR(have <= kPackedFileLimit
                      ? WritePacked(bytes, result.digest)
                      : WriteTemp(bytes, result.digest));
  return result;
}

bool SmallFileBatch::Claim(const Digest& digest) {
  const store::RawDigest& raw = digest.raw();
  // By the last byte: the set hashes on the first eight.
  ClaimShard& shard = claims_[raw[31] % kClaimShards];
  std::lock_guard lock(shard.mutex);
  return shard.digests.Insert(raw);
}

store::PackWriter* SmallFileBatch::TakeWriter(uint64_t bytes) {
  if (owned_writer.batch == serial_) return owned_writer.writer;
  std::unique_lock lock(mutex_);
  if (packed_bytes_ >= kOneWriterBytes) {
    // Enough to share among threads: this one gets a writer for good.
    writers_.push_back(std::make_unique<store::PackWriter>(blobs_));
    owned_writer = {serial_, writers_.back().get()};
    return owned_writer.writer;
  }
  // Below that, all share the first writer, so a small folder makes one
  // pack whatever the thread timing.
  if (writers_.empty()) {
    writers_.push_back(std::make_unique<store::PackWriter>(blobs_));
    idle_writers_.push_back(writers_.back().get());
  }
  writer_idle_.wait(lock, [this] { return !idle_writers_.empty(); });
  store::PackWriter* writer = idle_writers_.back();
  idle_writers_.pop_back();
  packed_bytes_ += bytes;
  return writer;
}

void SmallFileBatch::ReturnWriter(store::PackWriter* writer) {
  if (owned_writer.batch == serial_ && owned_writer.writer == writer) return;
  {
    std::lock_guard lock(mutex_);
    idle_writers_.push_back(writer);
  }
  writer_idle_.notify_one();
}

Status SmallFileBatch::WritePacked(std::string_view bytes,
                                   const Digest& digest) {
  // Written to outside the lock: each writer is used by one thread at a
  // time.
  store::PackWriter* writer = TakeWriter(bytes.size());
  Status status = writer->Add(digest, bytes);
  ReturnWriter(writer);
  return status;
}

namespace {

// The batch subfolder of a digest: its first hex digit.
int GroupOf(const Digest& digest) { return digest.raw()[0] >> 4; }

}  // namespace

Result<int> SmallFileBatch::Folder(int group) {
  if (group_fds_[group] >= 0) return group_fds_[group];
  if (folder_.empty()) {
    std::error_code error;
    fs::create_directories(blobs_->TempDirectory(), error);
    ASSIGN_OR_RETURN(folder_,
                     MakeTempDirectory(blobs_->TempDirectory(), "batch-"));
  }
  fs::path sub = folder_ / std::string(1, "0123456789abcdef"[group]);
  if (::mkdir(sub.c_str(), 0700) != 0 && errno != EEXIST) {
    return ErrnoStatus(sub, errno);
  }
  int fd = ::open(sub.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(sub, errno);
  group_fds_[group] = fd;
  return fd;
}

Status SmallFileBatch::WriteTemp(std::string_view bytes,
                                 const Digest& digest) {
  // The name is claimed under the lock (so identical content is written
  // once); the write itself runs unlocked, beside other threads' writes.
  std::string name;
  int folder = -1;
  int group = GroupOf(digest);
  {
    std::lock_guard lock(mutex_);
    ASSIGN_OR_RETURN(folder, Folder(group));
    name = std::to_string(pending_[group].size());
    pending_[group].push_back({name, digest});
  }
  int fd = ::openat(folder, name.c_str(),
                    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
  if (fd < 0) return ErrnoStatus(folder_ / name, errno);
  Status status = WriteAll(fd, bytes, folder_ / name);
  ::close(fd);
  return status;
}

// Renames one group's temp files into their shard folders (the 16 shards
// whose names start with the group's digit), opening each shard once.
Status SmallFileBatch::PublishGroup(int group) {
  std::vector<Pending>& items = pending_[group];
  if (items.empty()) return Status::Ok();
  std::vector<int> shards(256, -1);
  Status status = Status::Ok();
  size_t published = 0;
  for (const Pending& item : items) {
    int shard = item.digest.raw()[0];
    fs::path destination = blobs_->PathOf(item.digest);
    if (shards[shard] < 0) {
      std::error_code error;
      fs::create_directories(destination.parent_path(), error);
      shards[shard] = ::open(destination.parent_path().c_str(),
                             O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (shards[shard] < 0) {
        status = ErrnoStatus(destination.parent_path(), errno);
        break;
      }
    }
    if (::renameat(group_fds_[group], item.temp.c_str(), shards[shard],
                   item.digest.hex().c_str()) != 0) {
      status = ErrnoStatus(destination, errno);
      break;
    }
    ++published;
  }
  for (int fd : shards) {
    if (fd >= 0) ::close(fd);
  }
  items.erase(items.begin(),
              items.begin() + static_cast<std::ptrdiff_t>(published));
  return status;
}

Status SmallFileBatch::Publish() {
  // The last packs: each fsynced and renamed into place by its writer.
  RETURN_IF_ERROR(ParallelFor(writers_.size(), [this](size_t i) {
    return writers_[i]->Finish();
  }));
  if (std::all_of(std::begin(pending_), std::end(pending_),
                  [](const auto& group) { return group.empty(); })) {
    return Status::Ok();
  }
  // 1. The bytes (and the temp files holding them) reach the disk.
  RETURN_IF_ERROR(SyncStore(*blobs_));

  // 2. Each becomes visible under its digest, a group per job on all
  // cores; a rename within one file system is atomic.
  RETURN_IF_ERROR(ParallelFor(kGroups, [this](size_t group) {
    return PublishGroup(static_cast<int>(group));
  }));

  // 3. The renames reach the disk before anything names these blobs.
  return SyncStore(*blobs_);
}

Status SyncStore(const store::BlobStore& blobs) {
  int fd = ::open(blobs.root().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(blobs.root(), errno);
  int result = ::syncfs(fd);
  int error = errno;
  ::close(fd);
  return result == 0 ? Status::Ok() : ErrnoStatus(blobs.root(), error);
}

}  // namespace lockstep::data
