// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// A minimal SQL connection interface, the seam between the lineage store
// and its database servers. The lineage store writes its queries once with
// `?` placeholders; each backend (SQLite, PostgreSQL) binds them its own
// way and reports a busy or serialization failure as Aborted, which the
// store retries.

#ifndef LOCKSTEP_METADATA_SQL_H_
#define LOCKSTEP_METADATA_SQL_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/status.h"

namespace lockstep::metadata {

using SqlValue = std::variant<std::monostate, int64_t, double, std::string>;
using SqlRow = std::vector<SqlValue>;

enum class SqlDialect { kSqlite, kPostgresql };

class SqlDatabase {
 public:
  virtual ~SqlDatabase() = default;

  virtual SqlDialect dialect() const = 0;

  // Runs a statement with `?` placeholders bound to `params`.
  virtual Status Execute(std::string_view sql,
                         const std::vector<SqlValue>& params = {}) = 0;

  // Runs a query and returns every row.
  virtual Result<std::vector<SqlRow>> Query(
      std::string_view sql, const std::vector<SqlValue>& params = {}) = 0;

  // Inserts rows into `table` in bulk: `values` holds `column_count` values
  // per row, row after row, and is moved from; `suffix` follows the rows
  // (" ON CONFLICT DO NOTHING"). Runs multi-row INSERTs of 500 rows, each
  // full chunk the same statement; PostgreSQL streams rows without a
  // suffix through COPY instead.
  virtual Status InsertRows(const std::string& table,
                            const std::string& columns, size_t column_count,
                            std::vector<SqlValue>* values,
                            const std::string& suffix = "");

  // Runs several `;`-separated statements without parameters (DDL).
  virtual Status ExecuteScript(std::string_view sql) = 0;

  // Starts a write transaction that holds the database's write lock from
  // the start (SQLite BEGIN IMMEDIATE), so it cannot deadlock on upgrade.
  virtual Status BeginWrite() = 0;
  virtual Status Commit() = 0;
  virtual Status Rollback() = 0;
};

// Helpers to read typed columns from a row; a NULL reads as the default.
int64_t AsInt(const SqlValue& value);
double AsDouble(const SqlValue& value);
std::string AsText(const SqlValue& value);
bool IsNull(const SqlValue& value);

// Who opens a SQLite database. A reader that cannot open it for writing
// because its folder cannot be written to (a store on a read-only mount,
// another user's store, a full disk) reads it read-only instead: SQLite
// needs to write beside a database even to read it in WAL mode.
enum class SqliteAccess { kWriter, kReader };

// Opens a SQLite database file in WAL mode with a busy timeout.
Result<std::unique_ptr<SqlDatabase>> OpenSqlite(
    const std::string& path, SqliteAccess access = SqliteAccess::kWriter);

// Connects to PostgreSQL with a libpq URL ("postgresql://user@host/db").
// Unavailable when the server cannot be reached.
Result<std::unique_ptr<SqlDatabase>> OpenPostgresql(const std::string& url);

// Rewrites `?` placeholders outside quoted literals to $1..$n.
std::string RewritePlaceholders(std::string_view sql);

}  // namespace lockstep::metadata

#endif  // LOCKSTEP_METADATA_SQL_H_
