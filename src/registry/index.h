// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// The registry's own index, a SQLite database at <store>/registry/index.db
// (layout: docs/formats/registry-index.md). Blobs themselves live in the
// shared BlobStore; the index records which repository may see which blob
// (links, with push time), the manifests each repository holds with their
// media type, subject and artifactType, what each manifest references, the
// tags, and per-repository settings. Thread-safe: one connection guarded
// by a mutex; other processes (`lockstep gc`) share it through WAL and a
// busy timeout, and write transactions take SQLite's write lock up front.

#ifndef LOCKSTEP_REGISTRY_INDEX_H_
#define LOCKSTEP_REGISTRY_INDEX_H_

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/digest.h"
#include "core/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace lockstep::registry {

struct ManifestRow {
  std::string repository;
  Digest digest;
  std::string media_type;
  int64_t size = 0;
  std::string artifact_type;
  std::string subject;      // "sha256:..." or ""
  std::string annotations;  // JSON object text or ""
  int64_t pushed_ms = 0;
};

struct TagRow {
  std::string repository;
  std::string tag;
  Digest digest;
  int64_t pushed_ms = 0;
};

// A manifest that references some content, and a tag that holds it.
struct TaggedUser {
  Digest manifest;
  std::string tag;
};

// A statement prepared once and reused while the connection lives.
struct CachedStatement {
  sqlite3_stmt* stmt = nullptr;
  bool in_use = false;
};
using StatementCache = std::map<std::string, CachedStatement>;

// What a manifest references: a blob (config, layer) or a child manifest.
struct ManifestRef {
  Digest digest;
  bool is_manifest = false;
};

class Index {
 public:
  ~Index();
  Index(const Index&) = delete;
  Index& operator=(const Index&) = delete;

  // Opens (creating) the database and its tables.
  static Result<std::unique_ptr<Index>> Open(const std::filesystem::path& db);

  // Opens an existing index to read: as Open does, or, when its folder
  // cannot be written to (a store on a read-only mount, another user's
  // store, a full disk), read-only (metadata::OpenSqliteToRead); any
  // write then fails.
  static Result<std::unique_ptr<Index>> OpenToRead(
      const std::filesystem::path& db);

  // Runs `body` inside one write transaction (BEGIN IMMEDIATE), so that
  // check-then-write sequences here and gc's sweep exclude each other.
  // Rolls back when `body` fails.
  Status InWriteTransaction(const std::function<Status()>& body);

  // Runs `body` inside one read transaction: every read in it sees the
  // same snapshot of the database (WAL keeps it while writers commit), so
  // rows read by separate statements agree with each other. Takes no
  // write lock, so writers in other processes go on; other threads of
  // this process wait for `body`, which should be short.
  Status InReadTransaction(const std::function<Status()>& body);

  Result<bool> HasBlobLink(const std::string& repo, const Digest& digest);
  // The repositories `digest` is linked into, in name order.
  Result<std::vector<std::string>> RepositoriesLinking(const Digest& digest);
  // The blobs linked into `repo`, in digest order.
  Result<std::vector<Digest>> BlobLinksOf(const std::string& repo);
  Status LinkBlob(const std::string& repo, const Digest& digest, int64_t size,
                  int64_t pushed_ms);
  // True when a link was removed.
  Result<bool> UnlinkBlob(const std::string& repo, const Digest& digest);

  Result<std::optional<ManifestRow>> FindManifest(const std::string& repo,
                                                  const Digest& digest);
  Status PutManifest(const ManifestRow& row,
                     const std::vector<ManifestRef>& refs);
  // Removes the manifest, its references and every tag pointing at it.
  Status DeleteManifest(const std::string& repo, const Digest& digest);
  Result<std::vector<ManifestRow>> ManifestsOf(const std::string& repo);
  Result<std::vector<ManifestRow>> Referrers(const std::string& repo,
                                            const Digest& subject);
  Result<std::vector<ManifestRef>> RefsOf(const std::string& repo,
                                         const Digest& manifest);
  // The indexes (and lists) in `repo` that list manifest `child`.
  Result<std::vector<Digest>> ListedBy(const std::string& repo,
                                      const Digest& child);
  // The manifests in `repo` that use `blob` as their config or a layer.
  Result<std::vector<Digest>> UsingBlob(const std::string& repo,
                                        const Digest& blob);

  Result<std::optional<TagRow>> FindTag(const std::string& repo,
                                        const std::string& tag);
  Status SetTag(const TagRow& row);
  Status DeleteTag(const std::string& repo, const std::string& tag);
  // Tags in lexical (byte) order.
  Result<std::vector<TagRow>> TagsOf(const std::string& repo);

  // Repositories in lexical order.
  Result<std::vector<std::string>> Repositories();
  Result<bool> RepositoryExists(const std::string& repo);
  Status EnsureRepository(const std::string& repo);

  Result<bool> TagsImmutable(const std::string& repo);
  // A tag of `repo` whose manifest uses `digest` (as config, layer, child
  // manifest, at any depth of an index, or as the manifest itself), or
  // nullopt. Guards immutable tags against losing their blobs.
  Result<std::optional<std::string>> TagUsing(const std::string& repo,
                                              const Digest& digest);
  // The first manifest of `repo` that references `digest` (as a blob,
  // or as a child manifest when `is_manifest`) and that a tag holds, at
  // any depth of an index, with that tag; nullopt when no tag holds one.
  Result<std::optional<TaggedUser>> TaggedUserOf(const std::string& repo,
                                                 const Digest& digest,
                                                 bool is_manifest);
  Status SetTagsImmutable(const std::string& repo, bool immutable);

  // Cleanup bookkeeping: when a dry run was first shown for `repo`; the
  // first cleanup of a repository is always a dry run.
  Result<std::optional<int64_t>> CleanupPreviewedAt(const std::string& repo);
  Status RecordCleanupPreview(const std::string& repo, int64_t when_ms);

  // Every digest the index holds: manifests, the blobs and children they
  // reference, and blob links that are used by a manifest of their
  // repository or were pushed at or after `link_cutoff_ms` (gc's marks).
  Result<std::vector<Digest>> AllHeldDigests(int64_t link_cutoff_ms);
  // True when the index holds `digest` in the sense above.
  Result<bool> IsHeld(const Digest& digest, int64_t link_cutoff_ms);
  // Links pushed before the cutoff that no manifest of their repository
  // uses: uploads whose manifest never came or was deleted.
  Result<std::vector<std::pair<std::string, Digest>>> StaleLinks(
      int64_t link_cutoff_ms);
  // Records that a gc marked at `mark_ms` (for the record and docs).
  Status RecordGc(int64_t mark_ms, int64_t swept);

 private:
  explicit Index(sqlite3* db) : db_(db) {}
  Status Exec(const char* sql);
  // The manifests in `repo` that reference `child`, as a child manifest
  // (`as_manifest`) or as a config or layer.
  Result<std::vector<Digest>> Referencing(const std::string& repo,
                                          const Digest& child,
                                          bool as_manifest);

  sqlite3* db_;
  std::recursive_mutex mutex_;
  StatementCache statements_;  // guarded by mutex_
};

}  // namespace lockstep::registry

#endif  // LOCKSTEP_REGISTRY_INDEX_H_
