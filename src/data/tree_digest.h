// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// Folder trees: the sorted entry list that names a folder snapshot. The
// tree's byte layout (docs/data.md, "Folder digest") is both what is stored
// as the folder's tree blob and what the folder digest hashes, so a folder
// digest is the digest of its tree blob. Names are exact bytes, symlinks
// are recorded with their target and never followed, and `.lockstepignore`
// leaves entries out.

#ifndef LOCKSTEP_DATA_TREE_DIGEST_H_
#define LOCKSTEP_DATA_TREE_DIGEST_H_

#include <sys/stat.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/digest.h"
#include "core/status.h"
#include "data/stat_cache.h"

namespace lockstep::data {

namespace fs = std::filesystem;

enum class EntryType : char {
  kDirectory = 'D',
  kFile = 'F',
  kSymlink = 'L',
};

// The first bytes of every tree blob.
inline constexpr std::string_view kTreeMagic = "lockstep-tree-v1\n";

// One entry of a tree. `path` is relative, '/'-separated, exact bytes.
struct TreeEntry {
  std::string path;
  EntryType type = EntryType::kFile;
  bool executable = false;  // Owner execute bit, files only.
  uint64_t size = 0;        // Bytes of content (file) or of target (link).
  Digest digest;            // SHA-256 of the file's bytes; empty otherwise.
  std::string target;       // The symlink's target string, as read.
};

// Sorts entries by the raw bytes of their paths (unsigned byte order).
void SortTree(std::vector<TreeEntry>* entries);

// The canonical byte layout of sorted entries (docs/data.md).
std::string EncodeTree(const std::vector<TreeEntry>& sorted);

// Appends one entry's bytes to a tree under construction (which starts
// with kTreeMagic), for callers that keep entries in other structures.
void AppendTreeEntry(std::string* out, const TreeEntry& entry);

// Parses EncodeTree's output. InvalidArgument names the offset of the
// first malformed byte.
Result<std::vector<TreeEntry>> DecodeTree(std::string_view bytes);

// The folder digest: SHA-256 of EncodeTree(sorted).
Digest TreeDigest(const std::vector<TreeEntry>& sorted);

// Patterns from a `.lockstepignore` file (syntax in docs/data.md).
class IgnoreRules {
 public:
  static IgnoreRules Parse(std::string_view text);

  // True when `path` (relative, '/'-separated) is left out.
  bool Ignored(std::string_view path, bool is_directory) const;

  bool empty() const { return patterns_.empty(); }

 private:
  struct Pattern {
    std::string glob;
    bool anchored = false;        // Matched against the whole path.
    bool directory_only = false;  // Written with a trailing '/'.
    bool negated = false;         // Written with a leading '!'.
  };
  std::vector<Pattern> patterns_;
};

// An entry found on disk, with the lstat fields the stat cache keys on
// (only those: a whole struct stat per entry is 100 bytes more to fault
// in for a folder of 100,000 files).
struct WalkedEntry {
  TreeEntry entry;
  StatKey key;
  // A regular file the walk did not lstat (WalkStat::kNotFiles): its
  // key, size and executable bit are for the reader to fill in.
  bool unstatted = false;
  // When the reader read it (Unix nanoseconds); 0 when its digest came
  // from elsewhere (the stat cache).
  int64_t hashed_at = 0;
};

// Whether the walk lstats regular files. A first snapshot has no use
// for their fields before it opens them (nothing cached to compare), so
// it takes them with fstat once open: a path lookup less per file.
enum class WalkStat { kAll, kNotFiles };

// Lists `root` recursively without following symlinks, applying
// `root/.lockstepignore`. Entries are returned sorted; file digests are
// left empty for the caller to fill. Sockets, FIFOs and devices are an
// InvalidArgument naming the path. Relative paths in `skip` are left out
// too (the store's own folder, when it sits inside `root`).
Result<std::vector<WalkedEntry>> WalkFolder(
    const fs::path& root, const std::vector<std::string>& skip = {},
    WalkStat stat = WalkStat::kAll);

// The same listing as the lists the cores made, in order: concatenated,
// they are WalkFolder's. A snapshot of 100,000 files spent 25 ms moving
// them into one list and freeing the parts.
using WalkedParts = std::vector<std::vector<WalkedEntry>>;

// Called once per sorted list of a walk (a folder's contents, or the
// top-level entries), on the core that made it, before the lists are
// put in order: the place for per-entry work that needs no other list.
// An error ends the walk with it.
using WalkedPartVisitor =
    std::function<Status(std::vector<WalkedEntry>*)>;

Result<WalkedParts> WalkFolderParts(const fs::path& root,
                                    const std::vector<std::string>& skip,
                                    WalkStat stat,
                                    const WalkedPartVisitor& on_part);

}  // namespace lockstep::data

#endif  // LOCKSTEP_DATA_TREE_DIGEST_H_
