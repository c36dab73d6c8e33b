// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// The SQLite backend of SqlDatabase: WAL journal, a busy timeout, and
// SQLITE_BUSY reported as Aborted so callers retry the whole transaction.
// Prepared statements are cached per connection by their SQL text, so the
// store's fixed queries are parsed and planned once per process.

#include <sqlite3.h>

#include <cctype>
#include <filesystem>
#include <thread>
#include <unordered_map>

#include "core/files.h"
#include "core/log.h"
#include "metadata/sql.h"
#include "metadata/sqlite_files.h"

namespace lockstep::metadata {

namespace {

constexpr int kBusyTimeoutMillis = 10000;

// Statements kept prepared per connection; texts beyond this are prepared
// and finalized per call. The store has a few dozen distinct statements.
constexpr size_t kMaxCachedStatements = 128;

// Per-connection tuning. A 64 MiB page cache (the default is 2 MiB) keeps
// the upper levels of the indexes resident when a store reaches millions
// of rows, so index maintenance on insert stops re-reading them; it is
// memory the connection uses only as the store grows. Temporary B-trees
// (recursive lineage walks, sorts) stay in memory.
// The WAL is checkpointed when the last connection closes, so a mid-run
// checkpoint at the default 1,000 pages only copies the same pages twice
// and adds a flush of the WAL and the database: a 1,000-step replay
// dirties ~1,000 index pages. 10,000 pages (40 MiB) still bounds the WAL
// of a long run. A checkpoint is not what makes a commit durable (the
// WAL is), so a killed process leaves a WAL the next open recovers.
constexpr const char* kConnectionPragmas =
    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
    "PRAGMA foreign_keys=ON; PRAGMA cache_size=-65536; "
    "PRAGMA temp_store=MEMORY; PRAGMA wal_autocheckpoint=10000;";
// A reader changes nothing.
constexpr const char* kReaderPragmas =
    "PRAGMA query_only=ON; PRAGMA foreign_keys=ON; "
    "PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY;";

Status SqliteError(sqlite3* db, int code, std::string_view what) {
  std::string message = std::string(what) + ": " + sqlite3_errmsg(db);
  int primary = code & 0xff;
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) {
    return Status::Aborted(message);
  }
  if (primary == SQLITE_CONSTRAINT) {
    return Status::AlreadyExists(message);
  }
  if (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB) {
    return Status::DataLoss(message);
  }
  return Status::Internal(message);
}

class SqliteDatabase : public SqlDatabase {
 public:
  explicit SqliteDatabase(sqlite3* db) : db_(db) {}
  ~SqliteDatabase() override {
    for (auto& [sql, statement] : cache_) {
      sqlite3_finalize(statement);
    }
    sqlite3_close_v2(db_);
  }

  SqlDialect dialect() const override { return SqlDialect::kSqlite; }

  Status Execute(std::string_view sql,
                 const std::vector<SqlValue>& params) override {
    return Run(sql, params, nullptr);
  }

  Result<std::vector<SqlRow>> Query(
      std::string_view sql, const std::vector<SqlValue>& params) override {
    std::vector<SqlRow> rows;
    RETURN_IF_ERROR(Run(sql, params, &rows));
    return rows;
  }

  Status ExecuteScript(std::string_view sql) override {
    std::string text(sql);
    char* error = nullptr;
    int code = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &error);
    if (code != SQLITE_OK) {
      // The error is usually sqlite3_errmsg's text, which SqliteError
      // adds: said once, not twice.
      std::string message = error != nullptr ? error : "unknown error";
      sqlite3_free(error);
      return message == sqlite3_errmsg(db_)
                 ? SqliteError(db_, code, "SQLite script failed")
                 : SqliteError(db_, code, "SQLite script failed: " + message);
    }
    return Status::Ok();
  }

  Status BeginWrite() override { return Execute("BEGIN IMMEDIATE", {}); }
  Status Commit() override { return Execute("COMMIT", {}); }
  Status Rollback() override { return Execute("ROLLBACK", {}); }

 private:
  Status Bind(sqlite3_stmt* statement, const std::vector<SqlValue>& params) {
    for (size_t i = 0; i < params.size(); ++i) {
      int index = static_cast<int>(i + 1);
      const SqlValue& value = params[i];
      int code = SQLITE_OK;
      if (std::holds_alternative<std::monostate>(value)) {
        code = sqlite3_bind_null(statement, index);
      } else if (auto* n = std::get_if<int64_t>(&value)) {
        code = sqlite3_bind_int64(statement, index, *n);
      } else if (auto* d = std::get_if<double>(&value)) {
        code = sqlite3_bind_double(statement, index, *d);
      } else {
        const std::string& s = std::get<std::string>(value);
        // `params` outlives the statement's run, and the statement is reset
        // before Run returns, so SQLite need not copy the text.
        code = sqlite3_bind_text(statement, index, s.data(),
                                 static_cast<int>(s.size()), SQLITE_STATIC);
      }
      if (code != SQLITE_OK) {
        return SqliteError(db_, code, "binding a parameter");
      }
    }
    return Status::Ok();
  }

  static SqlValue Column(sqlite3_stmt* statement, int column) {
    switch (sqlite3_column_type(statement, column)) {
      case SQLITE_INTEGER:
        return static_cast<int64_t>(sqlite3_column_int64(statement, column));
      case SQLITE_FLOAT:
        return sqlite3_column_double(statement, column);
      case SQLITE_NULL:
        return std::monostate{};
      default: {
        auto* text = reinterpret_cast<const char*>(
            sqlite3_column_text(statement, column));
        int size = sqlite3_column_bytes(statement, column);
        return std::string(text, static_cast<size_t>(size));
      }
    }
  }

  // A prepared statement for `sql`: the cached one when there is one.
  // Sets `cached` when the statement belongs to the cache (reset it after
  // use) rather than to the caller (finalize it).
  Result<sqlite3_stmt*> Prepare(std::string_view sql, bool* cached) {
    std::string key(sql);
    if (auto it = cache_.find(key); it != cache_.end()) {
      *cached = true;
      return it->second;
    }
    sqlite3_stmt* statement = nullptr;
    int code = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                  SQLITE_PREPARE_PERSISTENT, &statement,
                                  nullptr);
    if (code != SQLITE_OK) {
      return SqliteError(db_, code, "preparing '" + key + "'");
    }
    *cached = cache_.size() < kMaxCachedStatements;
    if (*cached) {
      cache_.emplace(std::move(key), statement);
    }
    return statement;
  }

  Status Run(std::string_view sql, const std::vector<SqlValue>& params,
             std::vector<SqlRow>* rows) {
    bool cached = false;
    ASSIGN_OR_RETURN(sqlite3_stmt * statement, Prepare(sql, &cached));
    Status status = Bind(statement, params);
    int columns = sqlite3_column_count(statement);
    while (status.ok()) {
      int code = sqlite3_step(statement);
      if (code == SQLITE_DONE) {
        break;
      }
      if (code != SQLITE_ROW) {
        status = SqliteError(db_, code, "running '" + std::string(sql) + "'");
        break;
      }
      if (rows != nullptr) {
        SqlRow row;
        row.reserve(static_cast<size_t>(columns));
        for (int c = 0; c < columns; ++c) {
          row.push_back(Column(statement, c));
        }
        rows->push_back(std::move(row));
      }
    }
    // A cached statement is reset at once so it holds no read snapshot and
    // no copies of its parameters between calls.
    if (cached) {
      sqlite3_reset(statement);
      sqlite3_clear_bindings(statement);
    } else {
      sqlite3_finalize(statement);
    }
    return status;
  }

  sqlite3* db_;
  std::unordered_map<std::string, sqlite3_stmt*> cache_;
};

}  // namespace

int64_t AsInt(const SqlValue& value) {
  if (auto* n = std::get_if<int64_t>(&value)) {
    return *n;
  }
  if (auto* d = std::get_if<double>(&value)) {
    return static_cast<int64_t>(*d);
  }
  if (auto* s = std::get_if<std::string>(&value)) {
    return s->empty() ? 0 : std::stoll(*s);
  }
  return 0;
}

double AsDouble(const SqlValue& value) {
  if (auto* d = std::get_if<double>(&value)) {
    return *d;
  }
  if (auto* n = std::get_if<int64_t>(&value)) {
    return static_cast<double>(*n);
  }
  if (auto* s = std::get_if<std::string>(&value)) {
    return s->empty() ? 0 : std::stod(*s);
  }
  return 0;
}

std::string AsText(const SqlValue& value) {
  if (auto* s = std::get_if<std::string>(&value)) {
    return *s;
  }
  if (auto* n = std::get_if<int64_t>(&value)) {
    return std::to_string(*n);
  }
  return "";
}

bool IsNull(const SqlValue& value) {
  return std::holds_alternative<std::monostate>(value);
}

namespace {

Result<std::unique_ptr<SqlDatabase>> OpenSqliteForWriting(
    const std::string& path) {
  sqlite3* db = nullptr;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
              SQLITE_OPEN_NOMUTEX;
  int code = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  // SQLite opens a file it cannot write read-only without a word; a
  // writer would fail only at its first write.
  if (code == SQLITE_OK && sqlite3_db_readonly(db, "main") == 1) {
    code = SQLITE_READONLY;
  }
  if (code != SQLITE_OK) {
    std::string message = db != nullptr ? sqlite3_errmsg(db) : "out of memory";
    if (code == SQLITE_READONLY) message = "the file cannot be written";
    sqlite3_close_v2(db);
    return ExplainUnwritableDatabase(
        path, Status::Unavailable("cannot open " + path + ": " + message));
  }
  sqlite3_busy_timeout(db, kBusyTimeoutMillis);
  auto database = std::make_unique<SqliteDatabase>(db);
  // Switching to WAL needs a brief exclusive lock; retry while another
  // process does the same on a fresh store.
  Status status;
  for (int attempt = 0; attempt < 50; ++attempt) {
    status = database->ExecuteScript(kConnectionPragmas);
    if (!status.IsAborted()) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20 + attempt * 5));
  }
  if (!status.ok()) {
    return ExplainUnwritableDatabase(path, status.WithContext(path));
  }
  return std::unique_ptr<SqlDatabase>(std::move(database));
}

// `path` as a SQLite URI filename: '?', '#' and '%' would end or escape
// the path, so every byte but unreserved ones and '/' is %-encoded.
std::string SqliteFileUri(const std::string& path) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string uri = "file:";
  for (unsigned char c : path) {
    if (std::isalnum(c) || c == '/' || c == '-' || c == '.' || c == '_' ||
        c == '~') {
      uri += static_cast<char>(c);
    } else {
      uri += '%';
      uri += kHex[c >> 4];
      uri += kHex[c & 15];
    }
  }
  return uri;
}

// Opens `path` read-only for a reader (OpenSqliteToRead).
Result<std::unique_ptr<SqlDatabase>> OpenSqliteForReading(
    const std::string& path) {
  ASSIGN_OR_RETURN(sqlite3 * db,
                   OpenSqliteToRead(path, SQLITE_OPEN_NOMUTEX));
  sqlite3_busy_timeout(db, kBusyTimeoutMillis);
  auto database = std::make_unique<SqliteDatabase>(db);
  RETURN_IF_ERROR(database->ExecuteScript(kReaderPragmas));
  return std::unique_ptr<SqlDatabase>(std::move(database));
}

}  // namespace

Result<sqlite3*> OpenSqliteToRead(const std::string& path, int mutex_flag,
                                  Immutable immutable) {
  std::error_code error;
  bool log_pending = std::filesystem::file_size(path + "-wal", error) > 0 &&
                     !error;
  std::vector<std::string> attempts;
  if (log_pending) attempts.push_back("?mode=ro");
  if (immutable == Immutable::kAllowed || OnReadOnlyFileSystem(path)) {
    attempts.push_back("?mode=ro&immutable=1");
  }
  for (const std::string& parameters : attempts) {
    sqlite3* db = nullptr;
    int code = sqlite3_open_v2((SqliteFileUri(path) + parameters).c_str(),
                               &db,
                               SQLITE_OPEN_READONLY | SQLITE_OPEN_URI |
                                   mutex_flag,
                               nullptr);
    // The first read is where SQLite finds out whether it can use a log.
    if (code == SQLITE_OK) {
      code = sqlite3_exec(db, "SELECT count(*) FROM sqlite_master", nullptr,
                          nullptr, nullptr);
    }
    if (code != SQLITE_OK) {
      sqlite3_close_v2(db);
      continue;
    }
    if (log_pending && parameters.ends_with("immutable=1")) {
      LogWarning("{}: transactions in its write-ahead log ({}-wal) are "
                 "not seen: it is read as it was when the log was last "
                 "folded in",
                 path, path);
    }
    return db;
  }
  return Status::Unavailable(path + ": cannot open the database to read");
}

Result<std::unique_ptr<SqlDatabase>> OpenSqlite(const std::string& path,
                                                SqliteAccess access) {
  auto database = OpenSqliteForWriting(path);
  if (database.ok() || access != SqliteAccess::kReader ||
      !DatabaseFolderIsUnwritable(path)) {
    return database;
  }
  // The writer's message says why the folder stops it, so it stands
  // when reading fails too.
  auto read_only = OpenSqliteForReading(path);
  if (!read_only.ok()) return database;
  LogDebug("{}: its folder cannot be written to; read-only", path);
  return read_only;
}

}  // namespace lockstep::metadata
