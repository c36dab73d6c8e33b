// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// The stat cache: remembers, per absolute path, the lstat fields a file had
// when it was hashed and the digest it hashed to, so that snapshotting an
// unchanged folder again reads no file. It lives in one binary file under
// <store>/cache/, replaced atomically; a missing, foreign or damaged file
// is an empty cache. An entry is trusted only when the file was already
// at least kRacyWindow old when it was hashed (the "racy timestamp" rule
// of git and ninja), so a same-size rewrite within the file system's
// timestamp granularity is never mistaken for the old content.
//
// The file's entries are kept sorted by path, so loading is one read and
// one pass that records where each entry is (no per-entry allocation),
// and a lookup is a binary search; a file written unsorted (by an older
// version) is sorted once on load. Entries added since loading are kept
// apart and merged in by Save.
// Lookups are thread-safe against each other; Put and Save are not.

#ifndef LOCKSTEP_DATA_STAT_CACHE_H_
#define LOCKSTEP_DATA_STAT_CACHE_H_

#include <sys/stat.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/digest.h"
#include "core/status.h"

namespace lockstep::data {

namespace fs = std::filesystem;

// The lstat fields that must all match for a cached digest to be used.
struct StatKey {
  uint64_t device = 0;
  uint64_t inode = 0;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;

  friend bool operator==(const StatKey&, const StatKey&) = default;
};

StatKey StatKeyOf(const struct stat& info);

class StatCache {
 public:
  // Files modified less than this long before they were hashed are racy.
  static constexpr int64_t kRacyWindowNs = 2'000'000'000;

  // Reads the cache file; never fails (an unreadable cache is empty).
  static StatCache Load(const fs::path& file);

  // The digest recorded for `path` when `key` matches and the entry is not
  // racy; nullopt otherwise.
  std::optional<Digest> Lookup(std::string_view path,
                               const StatKey& key) const;

  // The same, for a run of lookups in increasing path order (a folder's
  // files): `cursor`, 0 at first, remembers where the last one ended, so
  // each costs a comparison or two instead of a binary search.
  std::optional<Digest> Lookup(std::string_view path, const StatKey& key,
                               size_t* cursor) const;

  // Whether any path recorded starts with `prefix` (a folder's, ending
  // in '/'): when none does, its files need no lstat before reading.
  bool HoldsAnyUnder(std::string_view prefix) const;

  // Records that `path`, with lstat `key` taken before reading, hashed to
  // `digest` at `hashed_at_ns` (taken before reading too).
  void Put(std::string_view path, const StatKey& key, int64_t hashed_at_ns,
           const Digest& digest);

  // Writes the cache atomically when it changed since Load.
  Status Save();

  // Distinct paths held.
  size_t size() const;

 private:
  struct Entry {
    StatKey key;
    int64_t hashed_at_ns = 0;
    char raw_digest[32] = {};
  };
  // An entry of the loaded file: its path and where its fields start.
  struct Loaded {
    std::string_view path;
    const char* fields = nullptr;
  };

  // An entry Put since Load. Its path lives in `added_paths_`: a string
  // per entry cost a first snapshot of 100,000 files 40 ms in allocation
  // and tree rebalancing.
  struct Added {
    size_t path_at = 0;
    size_t path_size = 0;
    Entry entry;
  };

  std::string_view PathOf(const Added& added) const {
    return std::string_view(added_paths_).substr(added.path_at,
                                                 added.path_size);
  }
  // The last entry Put for `path`, or null.
  const Added* FindAdded(std::string_view path) const;
  // The entries Put, sorted by path, only the last Put of each path.
  std::vector<const Added*> DistinctAdded() const;
  const Loaded* FindLoaded(std::string_view path) const;
  const Loaded* FindLoadedFrom(std::string_view path, size_t* cursor) const;
  std::optional<Digest> Check(const Entry& entry, const StatKey& key) const;
  static Entry Decode(const char* fields);

  fs::path file_;
  // The loaded file, which `loaded_` points into; shared and never
  // changed, so a copied or moved cache keeps valid views.
  std::shared_ptr<const char[]> bytes_;
  std::vector<Loaded> loaded_;   // Sorted by path, distinct.
  // Put since Load, in the order put: usually path order (a folder's
  // files, walked sorted), which keeps lookups a binary search.
  std::string added_paths_;
  std::vector<Added> added_;
  bool added_sorted_ = true;  // Paths strictly increasing.
  bool dirty_ = false;
};

}  // namespace lockstep::data

#endif  // LOCKSTEP_DATA_STAT_CACHE_H_
