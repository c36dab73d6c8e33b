// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// Reading files into the blob store at disk speed. A file is read once:
// each chunk is hashed (OpenSSL's SHA-256) and handed to a second thread
// that writes the copy and feeds any chunk visitor (the CSV record
// counter), so hashing is not held up by the copy. The bytes hashed, the
// bytes stored and the bytes counted are the same bytes; a file that
// changes while it is read (its lstat fields differ before and after) is
// refused with Aborted.

#ifndef LOCKSTEP_DATA_FILE_STORE_H_
#define LOCKSTEP_DATA_FILE_STORE_H_

#include <sys/stat.h>

#include <cstddef>
#include <cstdint>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/digest.h"
#include "core/digest_set.h"
#include "core/progress.h"
#include "core/status.h"
#include "store/blob_store.h"
#include "store/pack.h"

namespace lockstep::data {

namespace fs = std::filesystem;

struct StoredFile {
  Digest digest;
  uint64_t size = 0;
};

// Streams `path` through SHA-256 in reads of `chunk_size` bytes; the
// visitor, when set, sees every chunk. No copy is made.
Result<StoredFile> HashFile(const fs::path& path, size_t chunk_size,
                            const ChunkVisitor& on_chunk = nullptr,
                            Progress* progress = nullptr);

// Hashes `path` and stores it as a durable blob in one read (pipelined as
// described above). `on_chunk` runs on the copy thread.
Result<StoredFile> StoreLargeFile(store::BlobStore* blobs,
                                  const fs::path& path,
                                  const ChunkVisitor& on_chunk = nullptr,
                                  Progress* progress = nullptr);

// The same for the file open at `in` (which it closes); Aborted when it
// is not a regular file (a FIFO or device swapped in).
Result<StoredFile> StoreLargeFileFrom(store::BlobStore* blobs, int in,
                                      const fs::path& path,
                                      const ChunkVisitor& on_chunk = nullptr,
                                      Progress* progress = nullptr);

// Small files of a folder snapshot, stored without an fsync each. Add
// reads and hashes a file on the calling thread (any number of threads
// may call it at once). A blob the store already holds (loose or packed)
// is not written again. Otherwise a file of at most kPackedFileLimit
// bytes goes into a pack (store/pack.h; one pack writer per thread at a
// time, one fsync per pack of up to 64 MiB), and a larger one to a temp
// file in a private folder under the store's tmp/, where no reader looks.
// Publish seals the last packs and makes every temp file durable with
// one syncfs, renames each into place as its blob, and syncs again, so a
// crash at any point leaves either no blob or a complete, durable one,
// and a caller that publishes before recording anything never records a
// blob that could vanish. Packs and temp files not published are removed
// by the destructor. The private folder holds one subfolder per first
// hex digit of the digest, so the renames run on all cores without two
// threads ever locking the same pair of folders.
class SmallFileBatch {
 public:
  explicit SmallFileBatch(store::BlobStore* blobs);
  ~SmallFileBatch();
  SmallFileBatch(const SmallFileBatch&) = delete;
  SmallFileBatch& operator=(const SmallFileBatch&) = delete;

  // Files under `root` are then opened relative to it: a path lookup of
  // two components instead of the whole absolute path, once per file.
  void OpenRelativeTo(const fs::path& root);

  // Room for `files` Adds without rehashing the set of digests seen.
  void Reserve(size_t files) {
    for (ClaimShard& shard : claims_) {
      shard.digests.Reserve(files / kClaimShards + 1);
    }
  }

  // Reads `path` whole and hashes it. `expected_size` is the size lstat
  // saw; a different size is Aborted. An existing blob is kept when it
  // verifies; a corrupt one is replaced at Publish.
  // (Paths are strings: making an fs::path splits it into components,
  // 1% of a first snapshot of 100,000 files.)
  Result<StoredFile> Add(const std::string& path, uint64_t expected_size);

  // As Add, for a file whose lstat fields are not known yet: they are
  // taken with fstat once it is open (before reading) into `*info`. A
  // file over `limit` (or kSmallFileLimit) is only stat'd, and
  // nullopt returned, for the caller to store later or whole; one that
  // is no longer a regular file is Aborted.
  Result<std::optional<StoredFile>> AddUnstatted(
      const std::string& path, struct stat* info,
      uint64_t limit = UINT64_MAX);

  // Stores a file too large for the batch (StoreLargeFileFrom), opened
  // as Add opens files: under the root, following no link.
  Result<StoredFile> AddLarge(const std::string& path);

  // Makes the added blobs durable and visible (see above). Call once,
  // after every Add has returned.
  Status Publish();

  // Blobs waiting for Publish.
  size_t pending() const;

 private:
  static constexpr int kGroups = 16;  // Subfolders, by first hex digit.
  struct Pending {
    std::string temp;  // Name inside the group's subfolder.
    Digest digest;
  };

  Result<int> OpenSource(const std::string& path) const;
  // OpenSource, then fstat into `*info`: Aborted (and closed) unless it
  // is a regular file, as a FIFO or device swapped in is not.
  Result<int> OpenRegular(const std::string& path, struct stat* info) const;
  // Reads the open file `in` whole, hashes and stores it; closes `in`.
  Result<StoredFile> ReadAndStore(int in, const std::string& path,
                                  uint64_t expected_size);
  // Whether this batch is the first to take `digest` (to write or reuse).
  bool Claim(const Digest& digest);
  // The pack writer the calling thread may use, waiting for one if all
  // are busy; ReturnWriter gives it back unless the thread owns it.
  store::PackWriter* TakeWriter(uint64_t bytes);
  void ReturnWriter(store::PackWriter* writer);
  Result<int> Folder(int group);
  Status WriteTemp(std::string_view bytes, const Digest& digest);
  Status WritePacked(std::string_view bytes, const Digest& digest);
  Status PublishGroup(int group);

  store::BlobStore* blobs_;
  int root_fd_ = -1;          // See OpenRelativeTo.
  std::string root_prefix_;   // The root, ending in '/'.
  std::mutex mutex_;
  fs::path folder_;  // tmp/batch-*, created on the first write.
  int group_fds_[kGroups];  // Its subfolders, opened as first needed.
  // Claimed digests, in shards by a digest byte with a lock each: one
  // lock for all cost a first snapshot of 100,000 files 8% of its CPU
  // in futex calls on two cores.
  // A cache line each: two cores claiming in neighbouring shards would
  // otherwise take turns owning one line.
  struct alignas(64) ClaimShard {
    std::mutex mutex;
    DigestSet digests;
  };
  static constexpr int kClaimShards = 16;
  ClaimShard claims_[kClaimShards];
  std::vector<Pending> pending_[kGroups];
  // Pack writers: each used by one thread at a time, idle ones listed.
  // Past kOneWriterBytes a thread makes a writer of its own and keeps it
  // (see TakeWriter), so its Adds take no lock for the writer.
  const uint64_t serial_;  // Tells this batch's writers in thread_local.
  std::vector<std::unique_ptr<store::PackWriter>> writers_;
  std::vector<store::PackWriter*> idle_writers_;
  std::condition_variable writer_idle_;
  // Bytes handed to pack writers. A second writer starts only past
  // kOneWriterBytes, so a small folder always makes exactly one pack
  // (the same store layout whatever the thread timing).
  static constexpr uint64_t kOneWriterBytes = 1 << 20;
  uint64_t packed_bytes_ = 0;
};

// Makes everything written to the store's file system durable (syncfs).
Status SyncStore(const store::BlobStore& blobs);

// Files up to this size go through SmallFileBatch in folder snapshots.
inline constexpr uint64_t kSmallFileLimit = 4 << 20;

// Files up to this size are packed. Larger ones cost little per byte as
// files of their own, and as loose blobs gc frees them one by one.
inline constexpr uint64_t kPackedFileLimit = 64 << 10;

}  // namespace lockstep::data

#endif  // LOCKSTEP_DATA_FILE_STORE_H_
