// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// Database tables as snapshot sources. A table (or a query's result) is
// read in a stable order and written as canonical CSV (docs/data.md,
// "Tables"): a header row, LF line ends, RFC 4180 quoting only where
// needed, NULL as an empty unquoted field and the empty string as "".
// SQLite is read through sqlite3 opened read-only; PostgreSQL through
// libpq, streaming rows one at a time so memory stays flat.

#ifndef LOCKSTEP_DATA_TABLE_SOURCE_H_
#define LOCKSTEP_DATA_TABLE_SOURCE_H_

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace lockstep::data {

enum class TableEngine { kSqlite, kPostgresql };

// A parsed `sqlite:///path.db?table=T` or `postgresql://...?table=T`
// (either with `query=SQL` instead of `table=`). Names are exact, not
// SQL: `table=My Table` is the table "My Table".
struct TableSource {
  TableEngine engine = TableEngine::kSqlite;
  std::string location;  // SQLite file path, or libpq URL without our keys.
  std::string table;
  std::string schema;    // PostgreSQL only; empty: the search_path decides.
  std::string query;
  std::string display;   // The URL as recorded: any password removed.
};

// True when `text` names a database (starts with sqlite: or postgres).
bool IsTableUrl(std::string_view text);

// Parses a table URL. InvalidArgument names what is wrong.
Result<TableSource> ParseTableUrl(std::string_view url);

// What reading a table found.
struct TableExport {
  std::vector<std::string> columns;
  std::vector<std::string> types;  // Declared SQL types, "" when unknown.
  uint64_t rows = 0;
};

using CsvSink = std::function<Status(std::string_view bytes)>;

// `url` with a relative SQLite path made absolute against `directory`
// (the current folder when empty); other URLs are returned as they are.
// A source is recorded so, whatever folder it was named from.
std::string AnchorSqliteUrl(const std::string& url,
                            const std::filesystem::path& directory);

// Writes the table as canonical CSV to `sink`. NotFound for a missing
// table or database file, InvalidArgument for a failing query,
// Unavailable when the server cannot be reached.
Result<TableExport> ExportTable(const TableSource& source,
                                const CsvSink& sink);

// Appends one canonical CSV field (no separator) to `out`.
void AppendCsvField(std::string* out, std::string_view value, bool is_null);

// Formats a double as Python's repr does: shortest round-trip digits,
// positional for exponents -4..15 with at least one decimal ("3.0"),
// otherwise "1e+16" style; "inf", "-inf", "nan".
std::string FormatReal(double value);

}  // namespace lockstep::data

#endif  // LOCKSTEP_DATA_TABLE_SOURCE_H_
