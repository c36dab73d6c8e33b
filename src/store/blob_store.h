// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// The content-addressed blob store: immutable byte strings named by their
// SHA-256 digest, kept at <store>/blobs/sha256/<2 hex>/<64 hex> ("loose")
// or inside a pack under <store>/packs (store/pack.h; the small files of
// folder snapshots). Every read below finds a blob either way. The same
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

#include <sys/stat.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/digest.h"
#include "core/status.h"
#include "store/pack.h"

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

  // True when a blob with this digest is present, loose or packed (not
  // verified). A miss re-reads the packs folder when it changed, unless
  // `refresh` is kNo (a writer that would only store a duplicate).
  bool Contains(const Digest& digest,
                PackRefresh refresh = PackRefresh::kIfChanged) const;

  // Where the blob's loose file is, whether or not it exists. Only for
  // blobs the caller knows to be loose (written through Put, AdoptFile,
  // NewWriter or Publish, which always leave a loose file), or after
  // EnsureLoose; a packed blob has no file of its own.
  fs::path PathOf(const Digest& digest) const;

  // Where the blob's bytes are: its loose file, or a range of a pack.
  // NotFound when absent.
  struct Location {
    fs::path file;
    uint64_t offset = 0;
    uint64_t size = 0;
    bool packed = false;
  };
  Result<Location> Locate(const Digest& digest) const;

  // Size in bytes. NotFound when absent.
  Result<uint64_t> SizeOf(const Digest& digest) const;

  // Streams the blob's bytes to `on_chunk` (when set) in chunks of at
  // most kHashChunkSize and returns the digest they hash to, and their
  // count in `size`. Not verified: the caller compares, and must discard
  // what `on_chunk` received when the digests differ. NotFound when
  // absent.
  Result<Digest> Stream(const Digest& digest, const ChunkVisitor& on_chunk,
                        uint64_t* size = nullptr) const;

  // Stream, then DataLoss ("blob D is corrupt") when the bytes did not
  // hash to `digest`; what `on_chunk` received must then be discarded.
  Status StreamVerified(const Digest& digest,
                        const ChunkVisitor& on_chunk) const;

  // Re-hashes the blob. OK when it matches, NotFound when absent, DataLoss
  // when its bytes no longer hash to its name (naming the pack, if any).
  Status Verify(const Digest& digest) const;

  // True when the store holds `digest` with intact bytes, which a writer
  // of the same bytes may then reuse. Its file's (or its pack's) mtime is
  // set to now, so a gc whose mark began before this reuse sees it as
  // fresh and spares it. Packs published by other processes since this
  // store last looked are not seen, nor loose blobs in a shard folder
  // that did not exist when this object first asked (a miss only costs
  // a duplicate).
  bool ReuseIfIntact(const Digest& digest);

  // For blobs a writer names again without re-hashing them (a snapshot
  // of an unchanged folder): sets the mtime of each one's file, or once
  // of each pack holding some, to now, so gc's grace spares them. Returns
  // the positions in `digests` of the blobs the store does not hold.
  std::vector<size_t> Refresh(const std::vector<Digest>& digests);

  // Refresh of one blob: false when the store does not hold it.
  bool Refresh(const Digest& digest);

  // Returns the blob's bytes after verifying them (NotFound, DataLoss).
  Result<std::string> ReadVerified(const Digest& digest) const;

  // Up to `size` bytes from the blob's start, unverified (a type sniff).
  Result<std::string> ReadPrefix(const Digest& digest, size_t size) const;

  // Copies the blob to `destination` atomically, verifying it in the same
  // pass; on DataLoss the destination is not created.
  Status CopyOut(const Digest& digest, const fs::path& destination) const;

  // Gives a packed blob a loose file too (through the normal verified
  // Put path), for readers that need a file of its own (image layers,
  // tar archives). OK at once when it is loose already.
  Status EnsureLoose(const Digest& digest);

  // Deletes the loose blob (garbage collection only; packs go whole, by
  // RemovePack). OK when already absent.
  Status Remove(const Digest& digest);

  // Deletes a pack (garbage collection only). OK when already absent.
  Status RemovePack(const fs::path& pack);

  // Every digest present, loose or packed, each once, in no order.
  Result<std::vector<Digest>> List() const;

  // Every loose blob, in no particular order.
  Result<std::vector<Digest>> ListLoose() const;

  // Every pack with its index, read afresh. A pack whose index cannot be
  // read is left out and named in `problems`.
  Result<std::vector<PackIndex>> ListPacks(
      std::vector<std::string>* problems = nullptr) const;

  // The packs of this store, as one lookup table.
  PackSet& packs() const { return *packs_; }
  fs::path PacksDirectory() const { return root_ / "packs"; }

  // The folder for temporary files on the store's file system.
  fs::path TempDirectory() const { return root_ / "tmp"; }

  // Moves the finished, fsynced file `temp` (under TempDirectory()) into
  // place as `digest`, which the caller computed from exactly its bytes.
  // An intact loose blob already there is kept and `temp` dropped; a
  // corrupt one is replaced. A packed copy does not count: a published
  // blob always has a loose file, which PathOf users rely on. The shard
  // folder is fsynced after the rename.
  Status Publish(const fs::path& temp, const Digest& digest);

 private:
  friend class BlobWriter;

  bool ReuseLooseIfIntact(const Digest& digest);
  // stat(2) of the loose blob, relative to blobs/sha256 (a 2-component
  // lookup instead of the whole path: the check runs once per new file).
  bool StatLoose(const Digest& digest, struct stat* info) const;
  // False when the blob's shard folder did not exist when this object
  // first asked: then the blob was not loose, and a first snapshot into
  // a store of packs saves a failed stat per file (~8% of its CPU).
  bool MayHoldLoose(const Digest& digest) const;

  struct LooseFolder;

  fs::path root_;
  // Shared by copies of this store object, like the files it describes.
  std::shared_ptr<PackSet> packs_;
  std::shared_ptr<LooseFolder> loose_;
};

// Re-hashes every blob `pack` indexes from the pack's own bytes, whatever
// other copies of the same digests exist (a loose file, another pack),
// in file order, calling `on_blob` with each entry and the digest its
// bytes now hash to (`store verify`: a read takes one copy and would
// never look at the others). NotFound when the pack is gone; DataLoss
// when it ends inside a blob.
using PackMemberVisitor =
    std::function<Status(const PackEntry& entry, const Digest& actual)>;
Status HashPackMembers(const PackIndex& pack,
                       const PackMemberVisitor& on_blob);

// A blob being written in pieces. Nothing is visible in the store until
// Commit succeeds; destroying an uncommitted writer removes its temp file.
class BlobWriter {
 public:
  ~BlobWriter();
  BlobWriter(const BlobWriter&) = delete;
  BlobWriter& operator=(const BlobWriter&) = delete;

  Status Append(std::string_view bytes);
  uint64_t size() const { return size_; }

  // Makes the bytes so far durable without publishing them, so that the
  // flush can overlap other work and a later Commit only renames.
  Status Flush();

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
