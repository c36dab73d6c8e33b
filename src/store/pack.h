// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// Packs: many small blobs in one file, as git keeps objects in packfiles,
// so that a folder of 100,000 small files costs a few file creations and
// fsyncs instead of 100,000. A pack is <store>/packs/<hex>.pack: the
// blobs' bytes back to back, then a sorted index of (digest, offset,
// length), then a 64-byte footer; <hex> is the SHA-256 of the index
// bytes, as git names a pack by its object names. The byte layout is in
// docs/formats/pack.md.
//
// A pack is written under <store>/tmp, fsynced, and renamed into packs/
// whole: one rename publishes the bytes and their index together, so a
// killed writer leaves only a temp file (which the scratch sweep
// removes) and never a pack whose index names missing bytes. Packs are
// immutable; gc deletes a pack only when none of its blobs is kept.
// Digests are not changed by packing: a packed blob is still named by
// the SHA-256 of its own bytes, and readers verify them on every read.

#ifndef LOCKSTEP_STORE_PACK_H_
#define LOCKSTEP_STORE_PACK_H_

#include <array>
#include <cstdint>
#include <filesystem>
#include <future>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/digest.h"
#include "core/status.h"

namespace lockstep::store {

namespace fs = std::filesystem;

class BlobStore;

using RawDigest = Digest::Raw;

RawDigest ToRaw(const Digest& digest);
Digest FromRaw(const RawDigest& raw);

// One blob inside a pack.
struct PackEntry {
  RawDigest digest{};
  uint64_t offset = 0;
  uint64_t length = 0;
};

inline constexpr std::string_view kPackMagic = "lockstep-pack-v1";
inline constexpr uint64_t kPackEntryBytes = 48;
inline constexpr uint64_t kPackFooterBytes = 64;
// A writer starts a new pack once this many bytes are in the current one.
inline constexpr uint64_t kPackTargetBytes = 64u << 20;

// A published pack's index, read from its file.
struct PackIndex {
  fs::path path;
  Digest name;        // The SHA-256 of the index bytes; the file's name.
  uint64_t file_size = 0;
  std::vector<PackEntry> entries;  // Sorted by digest, each digest once.
};

// Reads and checks the index of the pack at `path`: the footer's magic
// and sizes, the index's hash against the footer and the file name, and
// every entry inside the data region. DataLoss when any check fails,
// NotFound when the file is gone.
Result<PackIndex> ReadPackIndex(const fs::path& path);

// The bytes of a pack holding `blobs` in the order given, built in
// memory exactly as PackWriter lays out a file: a folder's small files
// travel through registries as such packs (docs/formats/oci-artifacts.md),
// and the same blobs in the same order always give the same bytes, so a
// registry that has the pack already skips it. The caller hashed each
// blob to its digest.
std::string EncodePack(
    const std::vector<std::pair<Digest, std::string_view>>& blobs);

// Decodes a whole pack held in memory, with ReadPackIndex's checks except
// the file name's (it has none): DataLoss naming `what` when malformed.
// The blobs' bytes are not hashed here; the caller verifies each one.
Result<std::vector<PackEntry>> DecodePack(std::string_view bytes,
                                          const std::string& what);

// Writes packs of the blobs handed to it, starting a new pack whenever
// the current one reaches `target_bytes`. Single-threaded: use one
// writer per thread. Nothing is visible until a pack is published (when
// full, or by Finish); destroying a writer drops its unpublished pack.
class PackWriter {
 public:
  explicit PackWriter(BlobStore* blobs,
                      uint64_t target_bytes = kPackTargetBytes);
  ~PackWriter();
  PackWriter(const PackWriter&) = delete;
  PackWriter& operator=(const PackWriter&) = delete;

  // Appends `bytes`, which the caller hashed to `digest`.
  Status Add(const Digest& digest, std::string_view bytes);

  // Publishes the current pack, if it holds anything.
  Status Finish();

  // Blobs added and not yet published.
  size_t pending() const { return entries_.size(); }

  // Names of the packs this writer published.
  const std::vector<Digest>& published() const { return published_; }

 private:
  Status Open();
  Status Append(std::string_view bytes);
  Status StartWrite();
  Status WaitForWrite();
  Status WriteAt(const char* data, size_t size, uint64_t offset);
  Status Seal();
  void Drop();

  struct FreeDeleter {
    void operator()(char* p) const;
  };

  BlobStore* blobs_;
  uint64_t target_bytes_;
  fs::path temp_;
  int fd_ = -1;
  bool direct_ = false;   // `fd_` is open with O_DIRECT.
  // Two blocks aligned for O_DIRECT: one fills while the other is being
  // written by `in_flight_`.
  std::unique_ptr<char, FreeDeleter> blocks_[2];
  int current_ = 0;
  size_t fill_ = 0;         // Bytes in blocks_[current_].
  std::future<Status> in_flight_;
  uint64_t size_ = 0;       // Bytes in the pack so far, buffered included.
  std::vector<PackEntry> entries_;
  std::vector<Digest> published_;
};

// Where a packed blob is.
struct PackedBlob {
  fs::path pack;
  uint64_t offset = 0;
  uint64_t length = 0;
};

// Whether a lookup that misses may re-read the packs folder for packs
// other processes have published since it was last read.
enum class PackRefresh { kIfChanged, kNo };

// The packs of one store as one sorted lookup table, read when first
// needed. Thread-safe.
class PackSet {
 public:
  explicit PackSet(fs::path folder) : folder_(std::move(folder)) {}

  std::optional<PackedBlob> Find(const Digest& digest, PackRefresh refresh);

  // Every packed copy of `digest` (a blob repacked after its first copy
  // was found corrupt has two), in no particular order.
  std::vector<PackedBlob> FindAll(const Digest& digest, PackRefresh refresh);

  // The pack holding each of `digests` (a copy, if several), grouped:
  // one entry per pack with the positions in `digests` it holds. Misses
  // are left out. For a batch of 100,000 lookups: no allocation per hit.
  std::vector<std::pair<fs::path, std::vector<size_t>>> GroupByPack(
      const std::vector<Digest>& digests);

  // Adds a pack this process has just published.
  void Add(const PackIndex& index);

  // Forgets a pack (after gc removed it).
  void Forget(const fs::path& pack);

  // Every pack's index, read afresh from the folder (for gc and List).
  // Packs whose index is unreadable are named in `problems`.
  Result<std::vector<PackIndex>> ReadAll(
      std::vector<std::string>* problems = nullptr) const;

 private:
  struct Slot {
    RawDigest digest;
    uint32_t pack;
    uint64_t offset;
    uint64_t length;
  };
  bool ChangedSinceScan() const;
  void Scan();
  void Insert(const PackIndex& index);

  const fs::path folder_;
  // Shared by lookups once scanned: a folder snapshot asks once per new
  // file, from every core.
  std::shared_mutex mutex_;
  bool scanned_ = false;
  int64_t scanned_at_ns_ = 0;  // When the last scan began.
  int64_t folder_mtime_ns_ = -1;  // The folder's mtime then.
  std::vector<fs::path> packs_;  // Slot::pack indexes this.
  std::set<std::string> known_;  // File names loaded (or refused).
  std::vector<Slot> slots_;      // Sorted by digest.
};

}  // namespace lockstep::store

#endif  // LOCKSTEP_STORE_PACK_H_
