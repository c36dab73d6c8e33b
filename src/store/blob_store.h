// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// The content-addressed blob store: immutable byte strings named by their
// SHA-256 digest, kept at <store>/blobs/sha256/<2 hex>/<64 hex>. The same
// blobs back pipeline outputs, dataset snapshots and the OCI registry.
//
// Writes are crash-safe: bytes go to a temporary file under <store>/tmp,
// are fsynced, verified against the expected digest when one is given, and
// renamed into place, so a blob that exists under a name always has been
// complete. Reuse is verified: a Put that finds the blob present re-hashes
// it and replaces it when it no longer matches. Thread-safe and safe across
// processes (renames are atomic; identical content may race harmlessly).

#ifndef LOCKSTEP_STORE_BLOB_STORE_H_
#define LOCKSTEP_STORE_BLOB_STORE_H_

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/digest.h"
#include "core/status.h"

namespace lockstep::store {

namespace fs = std::filesystem;

class BlobWriter;

class BlobStore {
 public:
  // `root` is the store folder (.lockstep). Blobs live under root/blobs.
  explicit BlobStore(fs::path root);

  const fs::path& root() const { return root_; }

  // Stores `bytes`, returning their digest.
  Result<Digest> PutBytes(std::string_view bytes);

  // Copies the file at `source` into the store, hashing in the same pass.
  Result<Digest> PutFile(const fs::path& source);

  // Moves `source` into the store (a rename when on the same file system,
  // else a copy), returning its digest. `source` is gone afterwards.
  Result<Digest> AdoptFile(const fs::path& source);

  // Starts a streamed write (registry uploads, tar output).
  Result<std::unique_ptr<BlobWriter>> NewWriter();

  // True when a blob with this digest is present (not verified).
  bool Contains(const Digest& digest) const;

  // Where the blob's bytes are, whether or not it exists.
  fs::path PathOf(const Digest& digest) const;

  // Size in bytes. NotFound when absent.
  Result<uint64_t> SizeOf(const Digest& digest) const;

  // Re-hashes the blob. OK when it matches, NotFound when absent, DataLoss
  // when its bytes no longer hash to its name.
  Status Verify(const Digest& digest) const;

  // True when the store holds `digest` with intact bytes, which a writer
  // of the same bytes may then reuse. Its mtime is set to now, so a gc
  // whose mark began before this reuse sees it as fresh and spares it.
  bool ReuseIfIntact(const Digest& digest);

  // ReuseIfIntact without the re-hash, for blobs a writer names again
  // (a snapshot of an unchanged folder): sets the mtime to now so gc's
  // grace spares the blob; false when the store does not hold it.
  bool Refresh(const Digest& digest);

  // Returns the blob's bytes after verifying them (NotFound, DataLoss).
  Result<std::string> ReadVerified(const Digest& digest) const;

  // Copies the blob to `destination` atomically, verifying it in the same
  // pass; on DataLoss the destination is not created.
  Status CopyOut(const Digest& digest, const fs::path& destination) const;

  // Deletes the blob (garbage collection only). OK when already absent.
  Status Remove(const Digest& digest);

  // Every digest present, in no particular order.
  Result<std::vector<Digest>> List() const;

  // The folder for temporary files on the store's file system.
  fs::path TempDirectory() const { return root_ / "tmp"; }

  // Moves the finished, fsynced file `temp` (under TempDirectory()) into
  // place as `digest`, which the caller computed from exactly its bytes.
  // An intact blob already there is kept and `temp` dropped; a corrupt
  // one is replaced. The shard folder is fsynced after the rename.
  Status Publish(const fs::path& temp, const Digest& digest);

 private:
  friend class BlobWriter;

  fs::path root_;
};

// A blob being written in pieces. Nothing is visible in the store until
// Commit succeeds; destroying an uncommitted writer removes its temp file.
class BlobWriter {
 public:
  ~BlobWriter();
  BlobWriter(const BlobWriter&) = delete;
  BlobWriter& operator=(const BlobWriter&) = delete;

  Status Append(std::string_view bytes);
  uint64_t size() const { return size_; }

  // Publishes the blob. With `expected` set, InvalidArgument (and nothing
  // stored) when the bytes hash to something else.
  Result<Digest> Commit(const Digest* expected = nullptr);

 private:
  friend class BlobStore;
  BlobWriter(BlobStore* store, fs::path temp, int fd);

  BlobStore* store_;
  fs::path temp_;
  int fd_;
  uint64_t size_ = 0;
  uint64_t written_back_ = 0;  // bytes whose writeback has been started
  Sha256 hasher_;
  bool committed_ = false;
};

}  // namespace lockstep::store

#endif  // LOCKSTEP_STORE_BLOB_STORE_H_
