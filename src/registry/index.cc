// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "registry/index.h"

#include <sqlite3.h>

#include <system_error>

#include "core/files.h"
#include "metadata/sqlite_files.h"

namespace lockstep::registry {
namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS repositories (
  name TEXT PRIMARY KEY,
  immutable_tags INTEGER NOT NULL DEFAULT 0,
  cleanup_previewed_ms INTEGER
);
CREATE TABLE IF NOT EXISTS blob_links (
  repository TEXT NOT NULL,
  digest TEXT NOT NULL,
  size INTEGER NOT NULL,
  pushed_ms INTEGER NOT NULL,
  PRIMARY KEY (repository, digest)
);
CREATE INDEX IF NOT EXISTS blob_links_digest ON blob_links(digest);
CREATE TABLE IF NOT EXISTS manifests (
  repository TEXT NOT NULL,
  digest TEXT NOT NULL,
  media_type TEXT NOT NULL,
  size INTEGER NOT NULL,
  artifact_type TEXT NOT NULL DEFAULT '',
  subject TEXT NOT NULL DEFAULT '',
  annotations TEXT NOT NULL DEFAULT '',
  pushed_ms INTEGER NOT NULL,
  PRIMARY KEY (repository, digest)
);
CREATE INDEX IF NOT EXISTS manifests_digest ON manifests(digest);
CREATE INDEX IF NOT EXISTS manifests_subject ON manifests(repository, subject);
CREATE TABLE IF NOT EXISTS manifest_refs (
  repository TEXT NOT NULL,
  manifest TEXT NOT NULL,
  child TEXT NOT NULL,
  is_manifest INTEGER NOT NULL,
  PRIMARY KEY (repository, manifest, child)
);
CREATE INDEX IF NOT EXISTS manifest_refs_child ON manifest_refs(child);
CREATE TABLE IF NOT EXISTS tags (
  repository TEXT NOT NULL,
  tag TEXT NOT NULL,
  digest TEXT NOT NULL,
  pushed_ms INTEGER NOT NULL,
  PRIMARY KEY (repository, tag)
);
CREATE INDEX IF NOT EXISTS tags_digest ON tags(repository, digest);
CREATE TABLE IF NOT EXISTS gc_runs (
  mark_started_ms INTEGER NOT NULL,
  finished_ms INTEGER NOT NULL,
  swept INTEGER NOT NULL
);
)sql";

// A prepared statement with positional binding. Statements come from the
// index's cache (prepared once per connection, reset and unbound on scope
// exit), which spares the per-request SQL compile on hot paths such as
// blob HEAD; a statement whose cached copy is in use (nested use of the
// same SQL) is prepared afresh and finalized on scope exit.
class Statement {
 public:
  Statement(sqlite3* db, StatementCache& cache, const std::string& sql)
      : db_(db) {
    CachedStatement& cached = cache[sql];
    if (cached.stmt != nullptr && !cached.in_use) {
      stmt_ = cached.stmt;
      cached_ = &cached;
      cached.in_use = true;
      status_ = SQLITE_OK;
      return;
    }
    bool keep = cached.stmt == nullptr;
    status_ = sqlite3_prepare_v3(db, sql.c_str(), -1,
                                 keep ? SQLITE_PREPARE_PERSISTENT : 0,
                                 &stmt_, nullptr);
    if (keep && status_ == SQLITE_OK) {
      cached.stmt = stmt_;
      cached.in_use = true;
      cached_ = &cached;
    }
  }
  ~Statement() {
    if (cached_ == nullptr) {
      sqlite3_finalize(stmt_);
      return;
    }
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    cached_->in_use = false;
  }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& Bind(const std::string& text) {
    sqlite3_bind_text(stmt_, ++next_, text.data(),
                      static_cast<int>(text.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& Bind(int64_t number) {
    sqlite3_bind_int64(stmt_, ++next_, number);
    return *this;
  }

  // Steps once: true on a row, false when done.
  Result<bool> Step() {
    if (status_ != SQLITE_OK) {
      return Error();
    }
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    status_ = rc;
    return Error();
  }
  Status Run() {
    Result<bool> stepped = Step();
    return stepped.ok() ? Status::Ok() : stepped.status();
  }

  std::string Text(int column) {
    const unsigned char* text = sqlite3_column_text(stmt_, column);
    return text ? reinterpret_cast<const char*>(text) : "";
  }
  int64_t Int(int column) { return sqlite3_column_int64(stmt_, column); }
  bool IsNull(int column) {
    return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
  }

 private:
  Status Error() {
    return Status::Unavailable(std::string("registry index: ") +
                               sqlite3_errmsg(db_));
  }

  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  CachedStatement* cached_ = nullptr;
  int status_;
  int next_ = 0;
};

// Digests in the index are written by this code, so they parse; a row
// that does not is reported rather than trusted.
Digest DigestColumn(const std::string& text) {
  Result<Digest> digest = Digest::Parse(text);
  return digest.ok() ? *digest : Digest();
}

// Every row's first column, as text, until the statement is done.
Result<std::vector<std::string>> TextsOfFirstColumn(Statement& s) {
  std::vector<std::string> texts;
  while (true) {
    ASSIGN_OR_RETURN(bool more, s.Step());
    if (!more) break;
    texts.push_back(s.Text(0));
  }
  return texts;
}

// Every row's first column, a digest, until the statement is done.
Result<std::vector<Digest>> DigestsOfFirstColumn(Statement& s) {
  ASSIGN_OR_RETURN(std::vector<std::string> texts, TextsOfFirstColumn(s));
  std::vector<Digest> digests;
  digests.reserve(texts.size());
  for (const std::string& text : texts) {
    digests.push_back(DigestColumn(text));
  }
  return digests;
}

ManifestRow ReadManifest(Statement& s) {
  ManifestRow row;
  row.repository = s.Text(0);
  row.digest = DigestColumn(s.Text(1));
  row.media_type = s.Text(2);
  row.size = s.Int(3);
  row.artifact_type = s.Text(4);
  row.subject = s.Text(5);
  row.annotations = s.Text(6);
  row.pushed_ms = s.Int(7);
  return row;
}

// Every row `s` yields, as manifests.
Result<std::vector<ManifestRow>> ReadManifests(Statement& s) {
  std::vector<ManifestRow> rows;
  while (true) {
    ASSIGN_OR_RETURN(bool more, s.Step());
    if (!more) break;
    rows.push_back(ReadManifest(s));
  }
  return rows;
}

constexpr const char* kManifestColumns =
    "SELECT repository, digest, media_type, size, artifact_type, subject, "
    "annotations, pushed_ms FROM manifests ";

}  // namespace

Index::~Index() {
  for (auto& [sql, cached] : statements_) sqlite3_finalize(cached.stmt);
  sqlite3_close(db_);
}

Result<std::unique_ptr<Index>> Index::Open(const std::filesystem::path& db) {
  std::error_code error;
  std::filesystem::create_directories(db.parent_path(), error);
  sqlite3* handle = nullptr;
  int rc = sqlite3_open_v2(
      db.c_str(), &handle,
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
      nullptr);
  // SQLite opens a file it cannot write read-only without a word; a
  // server would fail only at its first push.
  if (rc == SQLITE_OK && sqlite3_db_readonly(handle, "main") == 1) {
    rc = SQLITE_READONLY;
  }
  if (rc != SQLITE_OK) {
    std::string message = handle ? sqlite3_errmsg(handle) : "out of memory";
    if (rc == SQLITE_READONLY) message = "the file cannot be written";
    sqlite3_close(handle);
    return ExplainUnwritableDatabase(
        db, Status::Unavailable(db.string() + ": " + message));
  }
  std::unique_ptr<Index> index(new Index(handle));
  sqlite3_busy_timeout(handle, 60000);
  Status ready = index->Exec("PRAGMA journal_mode=WAL");
  if (ready.ok()) ready = index->Exec("PRAGMA synchronous=NORMAL");
  if (ready.ok()) ready = index->Exec(kSchema);
  if (!ready.ok()) return ExplainUnwritableDatabase(db, ready);
  return index;
}

Result<std::unique_ptr<Index>> Index::OpenToRead(
    const std::filesystem::path& db) {
  auto writable = Open(db);
  if (writable.ok() || !DatabaseFolderIsUnwritable(db)) return writable;
  // A server reads it for as long as it runs: as immutable only where
  // nothing can change it. When reading fails too, the writer's message,
  // which says why the folder stops it, stands.
  auto handle = metadata::OpenSqliteToRead(
      db.string(), SQLITE_OPEN_FULLMUTEX,
      metadata::Immutable::kOnlyOnReadOnlyFileSystem);
  if (!handle.ok()) return writable;
  sqlite3_busy_timeout(*handle, 60000);
  return std::unique_ptr<Index>(new Index(*handle));
}

Status Index::Exec(const char* sql) {
  char* message = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    std::string text = message ? message : sqlite3_errmsg(db_);
    sqlite3_free(message);
    return Status::Unavailable("registry index: " + text);
  }
  return Status::Ok();
}

Status Index::InWriteTransaction(const std::function<Status()>& body) {
  std::lock_guard lock(mutex_);
  RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  Status status = body();
  if (!status.ok()) {
    Exec("ROLLBACK");
    return status;
  }
  status = Exec("COMMIT");
  if (!status.ok()) {
    Exec("ROLLBACK");
  }
  return status;
}

Status Index::InReadTransaction(const std::function<Status()>& body) {
  std::lock_guard lock(mutex_);
  // A deferred BEGIN: the snapshot is taken by the first read in `body`
  // and held until COMMIT.
  RETURN_IF_ERROR(Exec("BEGIN DEFERRED"));
  Status status = body();
  Status ended = Exec(status.ok() ? "COMMIT" : "ROLLBACK");
  return status.ok() ? ended : status;
}

Result<bool> Index::HasBlobLink(const std::string& repo, const Digest& d) {
  std::lock_guard lock(mutex_);
  Statement s(db_, statements_,
              "SELECT 1 FROM blob_links WHERE repository = ? AND digest = ?");
  s.Bind(repo).Bind(d.ToString());
  return s.Step();
}

Result<std::vector<std::string>> Index::RepositoriesLinking(
    const Digest& d) {
  std::lock_guard lock(mutex_);
  Statement s(db_, statements_,
              "SELECT repository FROM blob_links WHERE digest = ? "
              "ORDER BY repository");
  s.Bind(d.ToString());
  return TextsOfFirstColumn(s);
}

Result<std::vector<Digest>> Index::BlobLinksOf(const std::string& repo) {
  std::lock_guard lock(mutex_);
  Statement s(db_, statements_,
              "SELECT digest FROM blob_links WHERE repository = ? "
              "ORDER BY digest");
  s.Bind(repo);
  return DigestsOfFirstColumn(s);
}

Status Index::LinkBlob(const std::string& repo, const Digest& digest,
                       int64_t size, int64_t pushed_ms) {
  std::lock_guard lock(mutex_);
  RETURN_IF_ERROR(EnsureRepository(repo));
  Statement s(db_, statements_,
              "INSERT INTO blob_links (repository, digest, size, pushed_ms) "
              "VALUES (?, ?, ?, ?) ON CONFLICT (repository, digest) DO "
              "UPDATE SET pushed_ms = excluded.pushed_ms");
  s.Bind(repo).Bind(digest.ToString()).Bind(size).Bind(pushed_ms);
  return s.Run();
}

// `reach(tag, manifest)`: every tag of repository ?1 with each manifest
// it holds, itself and the children of indexes, recursively.
constexpr char kReachFromTags[] =
    "WITH RECURSIVE reach(tag, manifest) AS ("
    " SELECT tag, digest FROM tags WHERE repository = ?1"
    " UNION SELECT reach.tag, r.child FROM manifest_refs r"
    " JOIN reach ON r.manifest = reach.manifest"
    " WHERE r.repository = ?1 AND r.is_manifest = 1) ";

Result<std::optional<std::string>> Index::TagUsing(const std::string& repo,
                                                  const Digest& digest) {
  std::lock_guard lock(mutex_);
  Statement s(db_, statements_,
              std::string(kReachFromTags) +
              "SELECT reach.tag FROM reach WHERE reach.manifest = ?2 "
              "UNION SELECT reach.tag FROM reach JOIN manifest_refs r"
              " ON r.repository = ?1 AND r.manifest = reach.manifest"
              " AND r.child = ?2 "
              "ORDER BY 1 LIMIT 1");
  s.Bind(repo).Bind(digest.ToString());
  ASSIGN_OR_RETURN(bool found, s.Step());
  if (!found) return std::optional<std::string>();
  return std::optional<std::string>(s.Text(0));
}

Result<std::optional<TaggedUser>> Index::TaggedUserOf(
    const std::string& repo, const Digest& digest, bool is_manifest) {
  std::lock_guard lock(mutex_);
  Statement s(db_, statements_,
              std::string(kReachFromTags) +
              "SELECT reach.manifest, reach.tag FROM reach"
              " JOIN manifest_refs r ON r.repository = ?1"
              " AND r.manifest = reach.manifest AND r.child = ?2"
              " AND r.is_manifest = ?3 "
              "ORDER BY 1, 2 LIMIT 1");
  s.Bind(repo).Bind(digest.ToString()).Bind(int64_t{is_manifest ? 1 : 0});
  ASSIGN_OR_RETURN(bool found, s.Step());
  if (!found) return std::optional<TaggedUser>();
  return std::optional<TaggedUser>(
      TaggedUser{DigestColumn(s.Text(0)), s.Text(1)});
}

Result<bool> Index::UnlinkBlob(const std::string& repo, const Digest& d) {
  std::lock_guard lock(mutex_);
  Statement s(db_, statements_,
              "DELETE FROM blob_links WHERE repository = ? AND digest = ?");
  s.Bind(repo).Bind(d.ToString());
  RETURN_IF_ERROR(s.Run());
  return sqlite3_changes(db_) > 0;
}

Result<std::optional<ManifestRow>> Index::FindManifest(
    const std::string& repo, const Digest& digest) {
  std::lock_guard lock(mutex_);
  Statement s(db_, statements_, (std::string(kManifestColumns) +
                    "WHERE repository = ? AND digest = ?")
                       .c_str());
  s.Bind(repo).Bind(digest.ToString());
  ASSIGN_OR_RETURN(bool found, s.Step());
  if (!found) {
    return std::optional<ManifestRow>();
  }
  return std::optional<ManifestRow>(ReadManifest(s));
}

Status Index::PutManifest(const ManifestRow& row,
                          const std::vector<ManifestRef>& refs) {
  std::lock_guard lock(mutex_);
  RETURN_IF_ERROR(EnsureRepository(row.repository));
  Statement s(db_, statements_,
              "INSERT INTO manifests (repository, digest, media_type, size, "
              "artifact_type, subject, annotations, pushed_ms) VALUES "
              "(?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (repository, digest) DO "
              "UPDATE SET pushed_ms = excluded.pushed_ms");
  s.Bind(row.repository).Bind(row.digest.ToString()).Bind(row.media_type);
  s.Bind(row.size).Bind(row.artifact_type).Bind(row.subject);
  s.Bind(row.annotations).Bind(row.pushed_ms);
  RETURN_IF_ERROR(s.Run());
  for (const ManifestRef& ref : refs) {
    Statement r(db_, statements_,
                "INSERT OR IGNORE INTO manifest_refs (repository, manifest, "
                "child, is_manifest) VALUES (?, ?, ?, ?)");
    r.Bind(row.repository).Bind(row.digest.ToString());
    r.Bind(ref.digest.ToString()).Bind(int64_t{ref.is_manifest ? 1 : 0});
    RETURN_IF_ERROR(r.Run());
  }
  return Status::Ok();
}

Status Index::DeleteManifest(const std::string& repo, const Digest& digest) {
  std::lock_guard lock(mutex_);
  const char* statements[] = {
      "DELETE FROM manifests WHERE repository = ? AND digest = ?",
      "DELETE FROM manifest_refs WHERE repository = ? AND manifest = ?",
      "DELETE FROM tags WHERE repository = ? AND digest = ?",
  };
  for (const char* sql : statements) {
    Statement s(db_, statements_, sql);
    s.Bind(repo).Bind(digest.ToString());
    RETURN_IF_ERROR(s.Run());
  }
  return Status::Ok();
}

Result<std::vector<ManifestRow>> Index::ManifestsOf(const std::string& repo) {
  std::lock_guard lock(mutex_);
  Statement s(db_, statements_, (std::string(kManifestColumns) +
                    "WHERE repository = ? ORDER BY digest")
                       .c_str());
  s.Bind(repo);
  return ReadManifests(s);
}

Result<std::vector<ManifestRow>> Index::Referrers(const std::string& repo,
                                                  const Digest& subject) {
  std::lock_guard lock(mutex_);
  Statement s(db_, statements_, (std::string(kManifestColumns) +
                    "WHERE repository = ? AND subject = ? ORDER BY digest")
                       .c_str());
  s.Bind(repo).Bind(subject.ToString());
  return ReadManifests(s);
}

Result<std::vector<ManifestRef>> Index::RefsOf(const std::string& repo,
                                               const Digest& manifest) {
  std::lock_guard lock(mutex_);
  Statement s(db_, statements_,
              "SELECT child, is_manifest FROM manifest_refs WHERE "
              "repository = ? AND manifest = ? ORDER BY child");
  s.Bind(repo).Bind(manifest.ToString());
  std::vector<ManifestRef> refs;
  while (true) {
    ASSIGN_OR_RETURN(bool more, s.Step());
    if (!more) break;
    refs.push_back({DigestColumn(s.Text(0)), s.Int(1) != 0});
  }
  return refs;
}

Result<std::vector<Digest>> Index::Referencing(const std::string& repo,
                                               const Digest& child,
                                               bool as_manifest) {
  std::lock_guard lock(mutex_);
  Statement s(db_, statements_,
              "SELECT manifest FROM manifest_refs WHERE child = ? AND "
              "repository = ? AND (is_manifest != 0) = ? ORDER BY manifest");
  s.Bind(child.ToString()).Bind(repo).Bind(int64_t{as_manifest ? 1 : 0});
  return DigestsOfFirstColumn(s);
}

Result<std::vector<Digest>> Index::ListedBy(const std::string& repo,
                                            const Digest& child) {
  return Referencing(repo, child, true);
}

Result<std::vector<Digest>> Index::UsingBlob(const std::string& repo,
                                             const Digest& blob) {
  return Referencing(repo, blob, false);
}

Result<std::optional<TagRow>> Index::FindTag(const std::string& repo,
                                             const std::string& tag) {
  std::lock_guard lock(mutex_);
  Statement s(db_, statements_,
              "SELECT digest, pushed_ms FROM tags WHERE repository = ? AND "
              "tag = ?");
  s.Bind(repo).Bind(tag);
  ASSIGN_OR_RETURN(bool found, s.Step());
  if (!found) {
    return std::optional<TagRow>();
  }
  return std::optional<TagRow>(
      TagRow{repo, tag, DigestColumn(s.Text(0)), s.Int(1)});
}

Status Index::SetTag(const TagRow& row) {
  std::lock_guard lock(mutex_);
  Statement s(db_, statements_,
              "INSERT INTO tags (repository, tag, digest, pushed_ms) VALUES "
              "(?, ?, ?, ?) ON CONFLICT (repository, tag) DO UPDATE SET "
              "digest = excluded.digest, pushed_ms = excluded.pushed_ms");
  s.Bind(row.repository).Bind(row.tag).Bind(row.digest.ToString());
  s.Bind(row.pushed_ms);
  return s.Run();
}

Status Index::DeleteTag(const std::string& repo, const std::string& tag) {
  std::lock_guard lock(mutex_);
  Statement s(db_, statements_,
              "DELETE FROM tags WHERE repository = ? AND tag = ?");
  s.Bind(repo).Bind(tag);
  return s.Run();
}

Result<std::vector<TagRow>> Index::TagsOf(const std::string& repo) {
  std::lock_guard lock(mutex_);
  Statement s(db_, statements_,
              "SELECT tag, digest, pushed_ms FROM tags WHERE repository = ? "
              "ORDER BY tag COLLATE BINARY");
  s.Bind(repo);
  std::vector<TagRow> rows;
  while (true) {
    ASSIGN_OR_RETURN(bool more, s.Step());
    if (!more) break;
    rows.push_back({repo, s.Text(0), DigestColumn(s.Text(1)), s.Int(2)});
  }
  return rows;
}

Result<std::vector<std::string>> Index::Repositories() {
  std::lock_guard lock(mutex_);
  Statement s(db_, statements_, "SELECT name FROM repositories ORDER BY name");
  return TextsOfFirstColumn(s);
}

Result<bool> Index::RepositoryExists(const std::string& repo) {
  std::lock_guard lock(mutex_);
  Statement s(db_, statements_, "SELECT 1 FROM repositories WHERE name = ?");
  s.Bind(repo);
  return s.Step();
}

Status Index::EnsureRepository(const std::string& repo) {
  std::lock_guard lock(mutex_);
  Statement s(db_, statements_,
              "INSERT OR IGNORE INTO repositories (name) VALUES (?)");
  s.Bind(repo);
  return s.Run();
}

Result<bool> Index::TagsImmutable(const std::string& repo) {
  std::lock_guard lock(mutex_);
  Statement s(db_, statements_,
              "SELECT immutable_tags FROM repositories WHERE name = ?");
  s.Bind(repo);
  ASSIGN_OR_RETURN(bool found, s.Step());
  return found && s.Int(0) != 0;
}

Status Index::SetTagsImmutable(const std::string& repo, bool immutable) {
  std::lock_guard lock(mutex_);
  RETURN_IF_ERROR(EnsureRepository(repo));
  Statement s(db_, statements_,
              "UPDATE repositories SET immutable_tags = ? WHERE name = ?");
  s.Bind(int64_t{immutable ? 1 : 0}).Bind(repo);
  return s.Run();
}

Result<std::optional<int64_t>> Index::CleanupPreviewedAt(
    const std::string& repo) {
  std::lock_guard lock(mutex_);
  Statement s(db_, statements_,
              "SELECT cleanup_previewed_ms FROM repositories WHERE name = ?");
  s.Bind(repo);
  ASSIGN_OR_RETURN(bool found, s.Step());
  if (!found || s.IsNull(0)) {
    return std::optional<int64_t>();
  }
  return std::optional<int64_t>(s.Int(0));
}

Status Index::RecordCleanupPreview(const std::string& repo, int64_t when_ms) {
  std::lock_guard lock(mutex_);
  RETURN_IF_ERROR(EnsureRepository(repo));
  Statement s(db_, statements_,
              "UPDATE repositories SET cleanup_previewed_ms = ? WHERE "
              "name = ?");
  s.Bind(when_ms).Bind(repo);
  return s.Run();
}

namespace {

// A link counts when young or used by a manifest of its repository.
constexpr const char* kLiveLink =
    "(l.pushed_ms >= ?1 OR EXISTS (SELECT 1 FROM manifest_refs r WHERE "
    "r.repository = l.repository AND r.child = l.digest))";

}  // namespace

Result<std::vector<Digest>> Index::AllHeldDigests(int64_t link_cutoff_ms) {
  std::lock_guard lock(mutex_);
  std::string sql = std::string(
                        "SELECT digest FROM manifests UNION SELECT child FROM "
                        "manifest_refs UNION SELECT l.digest FROM blob_links "
                        "l WHERE ") + kLiveLink;
  Statement s(db_, statements_, sql.c_str());
  s.Bind(link_cutoff_ms);
  return DigestsOfFirstColumn(s);
}

Result<bool> Index::IsHeld(const Digest& digest, int64_t link_cutoff_ms) {
  std::lock_guard lock(mutex_);
  std::string sql = std::string(
                        "SELECT 1 FROM manifests WHERE digest = ?2 UNION ALL "
                        "SELECT 1 FROM manifest_refs WHERE child = ?2 UNION "
                        "ALL SELECT 1 FROM blob_links l WHERE l.digest = ?2 "
                        "AND ") + kLiveLink + " LIMIT 1";
  Statement s(db_, statements_, sql.c_str());
  s.Bind(link_cutoff_ms).Bind(digest.ToString());
  return s.Step();
}

Result<std::vector<std::pair<std::string, Digest>>> Index::StaleLinks(
    int64_t link_cutoff_ms) {
  std::lock_guard lock(mutex_);
  std::string sql = std::string(
                        "SELECT l.repository, l.digest FROM blob_links l "
                        "WHERE NOT ") + kLiveLink +
                    " ORDER BY l.repository, l.digest";
  Statement s(db_, statements_, sql.c_str());
  s.Bind(link_cutoff_ms);
  std::vector<std::pair<std::string, Digest>> links;
  while (true) {
    ASSIGN_OR_RETURN(bool more, s.Step());
    if (!more) break;
    links.push_back({s.Text(0), DigestColumn(s.Text(1))});
  }
  return links;
}

Status Index::RecordGc(int64_t mark_ms, int64_t swept) {
  std::lock_guard lock(mutex_);
  Statement s(db_, statements_,
              "INSERT INTO gc_runs (mark_started_ms, finished_ms, swept) "
              "VALUES (?, strftime('%s','now') * 1000, ?)");
  s.Bind(mark_ms).Bind(swept);
  return s.Run();
}

}  // namespace lockstep::registry
