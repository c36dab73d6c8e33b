// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// Dataset snapshots: a file, a folder or a database table pinned under a
// name and an immutable version. The bytes go to the blob store (a folder
// as one blob per file plus its tree blob, docs/data.md); the record is a
// "Dataset" artifact in the lineage store, linked to its source through a
// "lockstep/data-snapshot" execution, plus a row in the snapshots table.
// Not thread-safe (it drives a MetadataStore); internally it hashes the
// files of a folder on all cores.

#ifndef LOCKSTEP_DATA_SNAPSHOT_H_
#define LOCKSTEP_DATA_SNAPSHOT_H_

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "data/tree_digest.h"
#include "metadata/metadata_store.h"
#include "store/blob_store.h"

namespace lockstep::data {

namespace fs = std::filesystem;
using Json = nlohmann::json;

enum class SourceKind { kFile, kFolder, kTable };

std::string_view SourceKindName(SourceKind kind);

struct SnapshotRequest {
  std::string source;  // A path, sqlite:///... or postgresql://...
  std::string name;
  int64_t version = 0;  // Zero: one more than the latest.
  std::map<std::string, std::string> labels;
  int64_t expires_after_ms = 0;  // Zero: never expires.
  std::string description;
  std::string creator;  // Empty: $USER, else the account name.
  // When the content equals that of the latest live version of `name`,
  // return that version instead of minting a new one (version 0 only).
  // Pipelines snapshot their sources on every run.
  bool reuse_unchanged = false;
};

// Everything recorded about one snapshot.
struct SnapshotInfo {
  std::string name;
  int64_t version = 0;
  int64_t artifact_id = 0;
  SourceKind kind = SourceKind::kFile;
  std::string digest;     // Content digest (a folder's is its tree's).
  uint64_t size = 0;      // Bytes of content (a folder: sum of its files).
  std::optional<uint64_t> row_count;  // CSV files and tables.
  std::vector<std::string> columns;
  std::vector<std::string> column_types;
  uint64_t file_count = 0;  // Folders.
  std::string source;
  std::string creator;
  int64_t created_ms = 0;
  int64_t expires_ms = 0;  // Zero: never.
  std::map<std::string, std::string> labels;
  std::string description;
  std::string state;  // The artifact's state: live, deleted, ...
  std::string removal_reason;  // Why it was removed (expiry), if it was.

  bool Removed() const { return !state.empty() && state != "live"; }

  bool Expired(int64_t now_ms) const;
  std::string Ref() const { return name + "@" + std::to_string(version); }
  Json ToJson(int64_t now_ms) const;
};

// "NAME@V", "NAME@latest" or "NAME" (version 0: the latest).
// InvalidArgument otherwise.
struct SnapshotRef {
  std::string name;
  int64_t version = 0;
};
Result<SnapshotRef> ParseSnapshotRef(std::string_view text);

// Whether `name` may name a new snapshot (docs/data.md): parts of
// letters, digits, . _ - joined by single '/', none empty or starting
// with '.' or '-'.
bool IsValidNewSnapshotName(std::string_view name);

// "'NAME' is not a valid snapshot name: " and the rule above, the words
// every refusal of a name uses.
std::string InvalidSnapshotNameMessage(std::string_view name);

// A snapshot version as written after @ or given to --version: 1 to
// 99999999999999999 (17 digits). InvalidArgument otherwise.
Result<int64_t> ParseSnapshotVersion(std::string_view text);

// Whether the stored blob starts like a folder tree (reads 17 bytes).
bool IsTreeBlob(const store::BlobStore& blobs, const Digest& digest);

// Checks a snapshot's stored content from its digest alone, for a
// manifest that names no record: the blob, and when it is a folder's
// tree every file blob the tree names. A tree is told from a file by
// `recorded_size`: a folder records the total of its files, not its
// tree's size. Returns what is missing or corrupt; empty when intact.
std::vector<std::string> CheckSnapshotContent(store::BlobStore* blobs,
                                              const Digest& digest,
                                              uint64_t recorded_size);

// What `verify` found: everything matched when both lists are empty.
struct VerifyReport {
  SnapshotInfo snapshot;
  uint64_t bytes_checked = 0;
  // Bytes that differ from the record (a changed byte, a wrong count).
  std::vector<std::string> problems;
  // Blobs (the content, a folder's tree or files) not in the store at
  // all: nothing changed, the bytes are gone (gc frees a removed
  // snapshot's), which `verify` tells apart from a changed byte.
  std::vector<std::string> missing;
};

// How two snapshots differ. For folders, per-file changes by digest.
struct SnapshotDiff {
  SnapshotInfo from;
  SnapshotInfo to;
  bool same_content = false;
  // Relative paths as exact bytes; shown through DisplayPath (text) or
  // JsonPath (JSON).
  std::vector<std::string> added;
  std::vector<std::string> removed;
  std::vector<std::string> changed;
  // For each changed path, what differs, in the order type, executable,
  // size, content, target: "size 4 -> 5", "executable false -> true".
  std::map<std::string, std::vector<std::string>> changes;
  std::vector<std::string> notes;  // Size, rows, columns, kind.

  Json ToJson(int64_t now_ms) const;
  Json ChangesJson() const;  // [{path, what: [...]}] in `changed` order.
};

class DataSnapshots {
 public:
  // `cache_dir` holds the stat cache (normally <store>/cache).
  DataSnapshots(store::BlobStore* blobs, metadata::MetadataStore* metadata,
                fs::path cache_dir);

  // Takes a snapshot. InvalidArgument for a bad source or name,
  // NotFound for a missing file or table, AlreadyExists for a taken
  // name@version.
  Result<SnapshotInfo> Create(const SnapshotRequest& request);

  // Every snapshot, ordered by name then version.
  Result<std::vector<SnapshotInfo>> List();

  // NotFound when there is no such snapshot.
  Result<SnapshotInfo> Get(const SnapshotRef& ref);

  // Re-hashes and re-counts the stored bytes against the record.
  Result<VerifyReport> Verify(const SnapshotRef& ref);

  // Rebuilds the snapshot at `destination` (which must not exist) from
  // verified blobs, atomically: DataLoss when a blob is corrupt, and then
  // nothing is created.
  Status Export(const SnapshotRef& ref, const fs::path& destination);

  Result<SnapshotDiff> Diff(const SnapshotRef& from, const SnapshotRef& to);

 private:
  Result<SnapshotInfo> SnapshotFile(const fs::path& path);
  // `stamp` is the sweep lock's, held shared by the caller.
  Result<SnapshotInfo> SnapshotFolder(const fs::path& path,
                                      const std::string& stamp);
  Result<SnapshotInfo> SnapshotTable(const std::string& url);
  Status Record(const SnapshotRequest& request, SnapshotInfo* info);
  Result<std::vector<TreeEntry>> ReadTree(const SnapshotInfo& info);

  store::BlobStore* blobs_;
  metadata::MetadataStore* metadata_;
  fs::path cache_dir_;
};

}  // namespace lockstep::data

#endif  // LOCKSTEP_DATA_SNAPSHOT_H_
