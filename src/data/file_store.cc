// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "data/file_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/files.h"
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
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return ErrnoStatus(path, errno);
  return fd;
}

// Moves the finished temp file into place as `digest`. An existing blob
// that verifies is kept (the temp file is dropped); a corrupt one is
// replaced. `durable` fsyncs the shard folder after the rename.
Status Publish(store::BlobStore* blobs, const fs::path& temp,
               const Digest& digest, bool durable) {
  if (blobs->Contains(digest) && blobs->Verify(digest).ok()) {
    ::unlink(temp.c_str());
    return Status::Ok();
  }
  fs::path destination = blobs->PathOf(digest);
  if (::rename(temp.c_str(), destination.c_str()) != 0) {
    if (errno != ENOENT) {
      Status status = ErrnoStatus(destination, errno);
      ::unlink(temp.c_str());
      return status;
    }
    std::error_code error;
    fs::create_directories(destination.parent_path(), error);
    if (::rename(temp.c_str(), destination.c_str()) != 0) {
      Status status = ErrnoStatus(destination, errno);
      ::unlink(temp.c_str());
      return status;
    }
  }
  return durable ? FsyncDirectory(destination.parent_path()) : Status::Ok();
}

Result<std::pair<fs::path, int>> CreateTemp(store::BlobStore* blobs) {
  fs::path directory = blobs->TempDirectory();
  std::error_code error;
  fs::create_directories(directory, error);
  fs::path temp = UniqueTempPath(directory, "data-");
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                  0444);
  if (fd < 0) return ErrnoStatus(temp, errno);
  return std::make_pair(temp, fd);
}

// Writes a small blob with one file creation: an unnamed O_TMPFILE in the
// blob's own shard folder, linked in under its name once complete, so a
// reader never sees a partial blob and no rename or unlink is needed.
// Falls back to temp file + rename where O_TMPFILE is unsupported.
Result<StoredFile> PublishSmall(store::BlobStore* blobs,
                                std::string_view bytes, StoredFile result) {
  fs::path destination = blobs->PathOf(result.digest);
  fs::path shard = destination.parent_path();
  int fd = ::open(shard.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0444);
  if (fd < 0 && errno == ENOENT) {
    std::error_code error;
    fs::create_directories(shard, error);
    fd = ::open(shard.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0444);
  }
  if (fd < 0) {
    ASSIGN_OR_RETURN(auto temp, CreateTemp(blobs));
    Status status = WriteAll(temp.second, bytes, temp.first);
    ::close(temp.second);
    if (!status.ok()) {
      ::unlink(temp.first.c_str());
      return status;
    }
    RETURN_IF_ERROR(Publish(blobs, temp.first, result.digest, false));
    return result;
  }
  Status status = WriteAll(fd, bytes, destination);
  if (status.ok()) {
    std::string self = "/proc/self/fd/" + std::to_string(fd);
    if (::linkat(AT_FDCWD, self.c_str(), AT_FDCWD, destination.c_str(),
                 AT_SYMLINK_FOLLOW) != 0) {
      // EEXIST: a corrupt blob with this name (a good one was kept
      // above); replace it through a rename.
      status = errno == EEXIST ? Status::Ok() : ErrnoStatus(destination, errno);
      if (status.ok()) {
        ::close(fd);
        ASSIGN_OR_RETURN(auto temp, CreateTemp(blobs));
        status = WriteAll(temp.second, bytes, temp.first);
        ::close(temp.second);
        if (status.ok()) {
          status = ::rename(temp.first.c_str(), destination.c_str()) == 0
                       ? Status::Ok()
                       : ErrnoStatus(destination, errno);
        }
        if (!status.ok()) ::unlink(temp.first.c_str());
        RETURN_IF_ERROR(status);
        return result;
      }
    }
  }
  ::close(fd);
  RETURN_IF_ERROR(status);
  return result;
}

// A chunk travelling from the hashing thread to the copy thread.
struct Slot {
  std::unique_ptr<char[]> data;
  size_t size = 0;
};

// The hand-off between the two threads: a fixed set of buffers that cycle
// between a free list and a full queue, so memory stays bounded.
class Pipeline {
 public:
  explicit Pipeline(int slots) {
    for (int i = 0; i < slots; ++i) {
      free_.push_back(new Slot{std::make_unique<char[]>(kHashChunkSize), 0});
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
Status PipelinedRead(int in, const fs::path& path, const ChunkVisitor& consumer,
                     StoredFile* result, Progress* progress) {
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
  while (true) {
    Slot* slot = pipeline.TakeFree();
    ssize_t n = ReadSome(in, slot->data.get(), kHashChunkSize);
    if (n <= 0) {
      if (n < 0) read_status = ErrnoStatus(path, errno);
      pipeline.GiveFree(slot);
      break;
    }
    slot->size = static_cast<size_t>(n);
    hasher.Update(slot->data.get(), slot->size);
    result->size += slot->size;
    pipeline.GiveFull(slot);
    if (progress != nullptr) progress->Advance(slot->size);
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
    Status status = PipelinedRead(fd, path, on_chunk, &result, progress);
    ::close(fd);
    RETURN_IF_ERROR(status);
    return result;
  }
  auto buffer = std::make_unique<char[]>(chunk_size);
  Sha256 hasher;
  StoredFile result;
  Status status = Status::Ok();
  while (status.ok()) {
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
  struct stat before;
  ::fstat(in, &before);
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
    RETURN_IF_ERROR(WriteAll(out, chunk, temp_path));
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
  Status status = PipelinedRead(in, path, copy, &result, progress);

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
  RETURN_IF_ERROR(Publish(blobs, temp_path, result.digest, true));
  return result;
}

Result<StoredFile> StoreSmallFile(store::BlobStore* blobs,
                                  const fs::path& path,
                                  uint64_t expected_size) {
  ASSIGN_OR_RETURN(int in, OpenForReading(path));
  // One byte more than expected, to see a file that grew.
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
  }
  ::close(in);
  if (have != expected_size) {
    return Status::Aborted(path.string() + " changed while being read");
  }

  StoredFile result;
  std::string_view bytes(buffer.data(), have);
  result.digest = Sha256Of(bytes);
  result.size = have;
  if (blobs->Contains(result.digest) && blobs->Verify(result.digest).ok()) {
    return result;
  }
  return PublishSmall(blobs, bytes, result);
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
