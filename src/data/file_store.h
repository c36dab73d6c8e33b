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

#include <cstddef>
#include <cstdint>
#include <filesystem>

#include "core/digest.h"
#include "core/progress.h"
#include "core/status.h"
#include "store/blob_store.h"

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

// Stores a small file (read whole) for a folder snapshot without an fsync
// per file: the caller calls SyncStore once before publishing anything
// that names these blobs. An existing blob is kept when it verifies.
// `expected_size` is the size lstat saw; a different size is Aborted.
Result<StoredFile> StoreSmallFile(store::BlobStore* blobs,
                                  const fs::path& path,
                                  uint64_t expected_size);

// Makes every blob written by StoreSmallFile durable (syncfs).
Status SyncStore(const store::BlobStore& blobs);

// Files up to this size go through StoreSmallFile in folder snapshots.
inline constexpr uint64_t kSmallFileLimit = 4 << 20;

}  // namespace lockstep::data

#endif  // LOCKSTEP_DATA_FILE_STORE_H_
