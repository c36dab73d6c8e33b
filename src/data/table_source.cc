// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "data/table_source.h"

#include <sqlite3.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>

#include "metadata/libpq_api.h"

namespace lockstep::data {

namespace {

constexpr size_t kFlushSize = 1 << 20;
// How long a SQLite source locked by a writer is waited for.
constexpr int kSqliteBusyMillis = 10000;

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<std::string> PercentDecode(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    int high = i + 2 < text.size() ? HexValue(text[i + 1]) : -1;
    int low = i + 2 < text.size() ? HexValue(text[i + 2]) : -1;
    if (high < 0 || low < 0) {
      return Status::InvalidArgument("bad percent escape in '" +
                                     std::string(text) + "'");
    }
    out.push_back(static_cast<char>(high * 16 + low));
    i += 2;
  }
  return out;
}

// The field that our key `key` fills, or null for a key of libpq's.
std::string* OurField(std::string_view key, TableSource* source) {
  if (key == "table") return &source->table;
  if (key == "query") return &source->query;
  if (key == "schema") return &source->schema;
  return nullptr;
}

// Takes table=, schema= and query= out of `query_string`, returning the
// rest.
Result<std::string> TakeOurKeys(std::string_view query_string,
                                TableSource* source) {
  std::string rest;
  size_t start = 0;
  while (start <= query_string.size() && !query_string.empty()) {
    size_t end = query_string.find('&', start);
    if (end == std::string_view::npos) end = query_string.size();
    std::string_view pair = query_string.substr(start, end - start);
    start = end + 1;
    if (pair.empty()) continue;
    size_t equals = pair.find('=');
    std::string_view key = pair.substr(0, equals);
    std::string_view value =
        equals == std::string_view::npos ? "" : pair.substr(equals + 1);
    if (std::string* field = OurField(key, source)) {
      // A second one would silently win over the first.
      if (!field->empty()) {
        return Status::InvalidArgument("?" + std::string(key) +
                                       "= is given twice");
      }
      ASSIGN_OR_RETURN(*field, PercentDecode(value));
      continue;
    }
    rest += rest.empty() ? "" : "&";
    rest += pair;
  }
  return rest;
}

// Removes the password from "scheme://user:password@host...".
std::string WithoutPassword(std::string_view url) {
  size_t scheme = url.find("://");
  size_t at = url.find('@');
  size_t slash = url.find('/', scheme == std::string_view::npos ? 0
                                                                : scheme + 3);
  if (scheme == std::string_view::npos || at == std::string_view::npos ||
      (slash != std::string_view::npos && at > slash)) {
    return std::string(url);
  }
  size_t colon = url.find(':', scheme + 3);
  if (colon == std::string_view::npos || colon > at) return std::string(url);
  return std::string(url.substr(0, colon)) + std::string(url.substr(at));
}

std::string QuoteIdentifier(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    out += c == '"' ? "\"\"" : std::string(1, c);
  }
  return out + "\"";
}

// Buffers CSV output and hands it to the sink in large pieces.
class CsvOut {
 public:
  explicit CsvOut(const CsvSink& sink) : sink_(sink) {}

  void Field(std::string_view value, bool is_null, bool first) {
    if (!first) buffer_.push_back(',');
    AppendCsvField(&buffer_, value, is_null);
  }
  Status EndRow() {
    // A lone NULL would leave an empty line, which CSV readers (ours,
    // Python's) skip as no record at all: write it `""` as Python's
    // csv.writer does, so that the row is still counted.
    if (buffer_.size() == row_start_) buffer_.append("\"\"");
    buffer_.push_back('\n');
    Status status = buffer_.size() >= kFlushSize ? Flush() : Status::Ok();
    row_start_ = buffer_.size();
    return status;
  }
  Status Flush() {
    Status status = buffer_.empty() ? Status::Ok() : sink_(buffer_);
    buffer_.clear();
    row_start_ = 0;
    return status;
  }
  Status Header(const std::vector<std::string>& columns) {
    for (size_t i = 0; i < columns.size(); ++i) {
      Field(columns[i], false, i == 0);
    }
    return EndRow();
  }

 private:
  const CsvSink& sink_;
  std::string buffer_;
  size_t row_start_ = 0;  // Where the row being written starts in buffer_.
};

// ---- SQLite ----

struct SqliteCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StatementCloser {
  void operator()(sqlite3_stmt* statement) const {
    sqlite3_finalize(statement);
  }
};
using SqliteHandle = std::unique_ptr<sqlite3, SqliteCloser>;
using Statement = std::unique_ptr<sqlite3_stmt, StatementCloser>;

Result<Statement> Prepare(sqlite3* db, const std::string& sql,
                          const TableSource& source) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &raw, nullptr) != SQLITE_OK) {
    // A writer holding the database past the busy timeout is not a
    // fault of the source given.
    int code = sqlite3_errcode(db);
    std::string message = source.display + ": " + sqlite3_errmsg(db);
    if (code == SQLITE_BUSY || code == SQLITE_LOCKED) {
      return Status::Unavailable(message);
    }
    // A query naming a missing table is a missing source, as a missing
    // ?table= is (exit 2), not a malformed one.
    if (std::string_view(sqlite3_errmsg(db)).starts_with("no such table")) {
      return Status::NotFound(message);
    }
    return Status::InvalidArgument(message);
  }
  return Statement(raw);
}

// Builds the ordered SELECT for a table: primary key order, else every
// column, compared as bytes (COLLATE BINARY) whatever the schema says.
Result<std::string> SqliteTableSelect(sqlite3* db, const TableSource& source) {
  ASSIGN_OR_RETURN(Statement info,
                   Prepare(db,
                           // Generated columns are in SELECT *, so in the
                           // snapshot (hidden 2 and 3); hidden 1 is a
                           // virtual table's hidden column, never shown.
                           "SELECT name, pk FROM pragma_table_xinfo(?) "
                           "WHERE hidden <> 1",
                           source));
  sqlite3_bind_text(info.get(), 1, source.table.c_str(), -1, SQLITE_TRANSIENT);
  std::vector<std::string> names;
  std::vector<std::pair<int, std::string>> key;
  while (sqlite3_step(info.get()) == SQLITE_ROW) {
    const char* name =
        reinterpret_cast<const char*>(sqlite3_column_text(info.get(), 0));
    names.emplace_back(name ? name : "");
    int pk = sqlite3_column_int(info.get(), 1);
    if (pk > 0) key.emplace_back(pk, names.back());
  }
  if (names.empty()) {
    return Status::NotFound(source.display + ": no table named '" +
                            source.table + "'");
  }
  std::sort(key.begin(), key.end());
  std::string columns, order;
  for (const std::string& name : names) {
    columns += (columns.empty() ? "" : ", ") + QuoteIdentifier(name);
  }
  auto add_order = [&](const std::string& name) {
    order += (order.empty() ? "" : ", ") + QuoteIdentifier(name) +
             " COLLATE BINARY";
  };
  for (const auto& [position, name] : key) add_order(name);
  if (key.empty()) {
    for (const std::string& name : names) add_order(name);
  }
  return "SELECT " + columns + " FROM " + QuoteIdentifier(source.table) +
         " ORDER BY " + order;
}

std::string SqliteValue(sqlite3_stmt* row, int column, bool* is_null) {
  *is_null = false;
  switch (sqlite3_column_type(row, column)) {
    case SQLITE_NULL:
      *is_null = true;
      return "";
    case SQLITE_INTEGER:
      return std::to_string(sqlite3_column_int64(row, column));
    case SQLITE_FLOAT:
      return FormatReal(sqlite3_column_double(row, column));
    case SQLITE_BLOB: {
      // Bytes are written as PostgreSQL writes bytea: \x and lowercase hex.
      const auto* bytes =
          static_cast<const unsigned char*>(sqlite3_column_blob(row, column));
      int size = sqlite3_column_bytes(row, column);
      std::string out = "\\x";
      static constexpr char kDigits[] = "0123456789abcdef";
      for (int i = 0; i < size; ++i) {
        out.push_back(kDigits[bytes[i] >> 4]);
        out.push_back(kDigits[bytes[i] & 0xf]);
      }
      return out;
    }
    default: {
      const char* text =
          reinterpret_cast<const char*>(sqlite3_column_text(row, column));
      return std::string(text, sqlite3_column_bytes(row, column));
    }
  }
}

Result<TableExport> ExportSqlite(const TableSource& source,
                                 const CsvSink& sink) {
  sqlite3* raw = nullptr;
  int opened = sqlite3_open_v2(source.location.c_str(), &raw,
                               SQLITE_OPEN_READONLY, nullptr);
  SqliteHandle db(raw);
  if (opened != SQLITE_OK) {
    return Status::NotFound(source.display + ": cannot open the database: " +
                            (raw ? sqlite3_errmsg(raw) : "out of memory"));
  }
  // A database another process is writing is waited for, as Python's
  // sqlite3 does, rather than refused at once.
  sqlite3_busy_timeout(db.get(), kSqliteBusyMillis);
  std::string sql;
  if (!source.table.empty()) {
    ASSIGN_OR_RETURN(sql, SqliteTableSelect(db.get(), source));
  } else {
    ASSIGN_OR_RETURN(Statement probe, Prepare(db.get(), source.query, source));
    int count = sqlite3_column_count(probe.get());
    sql = "SELECT * FROM (" + source.query + ") ORDER BY ";
    for (int i = 1; i <= count; ++i) {
      sql += (i > 1 ? ", " : "") + std::to_string(i) + " COLLATE BINARY";
    }
  }
  ASSIGN_OR_RETURN(Statement select, Prepare(db.get(), sql, source));

  TableExport result;
  int count = sqlite3_column_count(select.get());
  for (int i = 0; i < count; ++i) {
    const char* name = sqlite3_column_name(select.get(), i);
    const char* type = sqlite3_column_decltype(select.get(), i);
    result.columns.emplace_back(name ? name : "");
    result.types.emplace_back(type ? type : "");
  }
  CsvOut out(sink);
  RETURN_IF_ERROR(out.Header(result.columns));
  int step;
  while ((step = sqlite3_step(select.get())) == SQLITE_ROW) {
    for (int i = 0; i < count; ++i) {
      bool is_null;
      std::string value = SqliteValue(select.get(), i, &is_null);
      out.Field(value, is_null, i == 0);
    }
    RETURN_IF_ERROR(out.EndRow());
    ++result.rows;
  }
  if (step != SQLITE_DONE) {
    return Status::Unavailable(source.display + ": " +
                               sqlite3_errmsg(db.get()));
  }
  RETURN_IF_ERROR(out.Flush());
  return result;
}

// ---- PostgreSQL ----

using metadata::Libpq;

struct PgCloser {
  void operator()(PGconn* connection) const { Libpq().finish(connection); }
};
struct ResultCloser {
  void operator()(PGresult* result) const { Libpq().clear(result); }
};
using PgConnection = std::unique_ptr<PGconn, PgCloser>;
using PgResult = std::unique_ptr<PGresult, ResultCloser>;

std::string PgError(PGconn* connection) {
  std::string message = Libpq().error_message(connection);
  while (!message.empty() && message.back() == '\n') message.pop_back();
  return message;
}

Result<PgResult> PgQuery(PGconn* connection, const std::string& sql,
                         const std::vector<std::string>& parameters,
                         const TableSource& source) {
  std::vector<const char*> values;
  for (const std::string& parameter : parameters) {
    values.push_back(parameter.c_str());
  }
  PgResult result(Libpq().exec_params(connection, sql.c_str(),
                                      static_cast<int>(values.size()), nullptr,
                                      values.data(), nullptr, nullptr, 0));
  ExecStatusType status = Libpq().result_status(result.get());
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
    return Status::InvalidArgument(source.display + ": " +
                                   PgError(connection));
  }
  return result;
}

// The settings that change how values are written as text, pinned for
// the snapshot's session as pg_dump pins them: otherwise a server's,
// database's or role's defaults, PGOPTIONS or the URL's options= would
// change the digest of the same rows (TimeZone moves timestamptz), or
// give different rows one digest (extra_float_digits=0 writes
// 0.30000000000000004 as 0.3). A SET in the session comes after all of
// those, so it wins. Each value writes what a server with the default
// settings writes, so snapshots taken under the defaults keep their
// digests.
constexpr char kPgOutputSettings[] =
    "SET TimeZone = 'UTC'; "
    "SET DateStyle = 'ISO, MDY'; "
    "SET IntervalStyle = 'postgres'; "
    // Above 0 is the shortest exact text from PostgreSQL 12 on (the
    // default is 1); 3, unlike 1, is exact on older servers too.
    "SET extra_float_digits = 3; "
    "SET bytea_output = 'hex'; "
    "SET client_encoding = 'UTF8'; "
    // money is written with the locale's symbol and separators.
    "SET lc_monetary = 'C'";

Status PgPinOutputSettings(PGconn* connection, const TableSource& source) {
  PgResult result(Libpq().exec(connection, kPgOutputSettings));
  if (Libpq().result_status(result.get()) != PGRES_COMMAND_OK) {
    return Status::Unavailable(source.display +
                               ": cannot pin the output settings: " +
                               PgError(connection));
  }
  return Status::Ok();
}

struct PgColumn {
  std::string name;
  std::string type;
  bool collatable = false;
  // The type has no default ordering (json, point, xml): ordered by its
  // text instead.
  bool ordered_as_text = false;
  int key_position = 0;  // 1-based position in the primary key, or 0.
};

// Finds the table named exactly `source.table`, case and spaces kept: in
// `source.schema`, else in the first schema on the search_path that has
// one, as an unqualified name in SQL is found. Returns its oid and sets
// *relation to its quoted, schema-qualified name.
Result<std::string> PgFindTable(PGconn* connection, const TableSource& source,
                                std::string* relation) {
  ASSIGN_OR_RETURN(
      PgResult found,
      PgQuery(connection,
              // ::name would cut a name longer than the server's limit to
              // fit; the text comparison keeps it from matching.
              "SELECT c.oid, n.nspname FROM pg_class c "
              "JOIN pg_namespace n ON n.oid = c.relnamespace "
              "WHERE c.relname = $1::text::name AND c.relname::text = $1 "
              "AND CASE WHEN $2::text = '' "
              "THEN n.nspname = ANY (current_schemas(true)) "
              "ELSE n.nspname::text = $2 END "
              "ORDER BY array_position(current_schemas(true), n.nspname) "
              "LIMIT 1",
              {source.table, source.schema}, source));
  if (Libpq().ntuples(found.get()) == 0) {
    std::string message =
        source.display + ": no table named '" + source.table + "'";
    if (!source.schema.empty()) {
      message += " in schema '" + source.schema + "'";
    } else if (size_t dot = source.table.find('.');
               dot != std::string::npos) {
      // table=s.t used to name a schema, and is how SQL writes one.
      message += " (the name is taken as it is; for table '" +
                 source.table.substr(dot + 1) + "' in schema '" +
                 source.table.substr(0, dot) + "', give ?schema=" +
                 source.table.substr(0, dot) + "&table=" +
                 source.table.substr(dot + 1) + ")";
    }
    return Status::NotFound(message);
  }
  *relation = QuoteIdentifier(Libpq().getvalue(found.get(), 0, 1)) + "." +
              QuoteIdentifier(source.table);
  return std::string(Libpq().getvalue(found.get(), 0, 0));
}

Result<std::vector<PgColumn>> PgTableColumns(PGconn* connection,
                                             const TableSource& source,
                                             std::string* relation) {
  ASSIGN_OR_RETURN(std::string oid,
                   PgFindTable(connection, source, relation));
  ASSIGN_OR_RETURN(
      PgResult rows,
      PgQuery(connection,
              "SELECT a.attname, format_type(a.atttypid, a.atttypmod), "
              "a.attcollation <> 0, "
              "coalesce(array_position(i.indkey::int2[], a.attnum) - "
              "array_lower(i.indkey::int2[], 1) + 1, 0) "
              "FROM pg_attribute a LEFT JOIN pg_index i ON "
              "i.indrelid = a.attrelid AND i.indisprimary "
              "WHERE a.attrelid = $1::oid AND a.attnum > 0 AND "
              "NOT a.attisdropped ORDER BY a.attnum",
              {oid}, source));
  std::vector<PgColumn> columns;
  for (int i = 0; i < Libpq().ntuples(rows.get()); ++i) {
    PgColumn column;
    column.name = Libpq().getvalue(rows.get(), i, 0);
    column.type = Libpq().getvalue(rows.get(), i, 1);
    column.collatable = Libpq().getvalue(rows.get(), i, 2)[0] == 't';
    column.key_position = std::atoi(Libpq().getvalue(rows.get(), i, 3));
    columns.push_back(std::move(column));
  }
  return columns;
}

Result<std::vector<PgColumn>> PgQueryColumns(PGconn* connection,
                                             const TableSource& source) {
  ASSIGN_OR_RETURN(PgResult probe,
                   PgQuery(connection,
                           "SELECT * FROM (" + source.query +
                               ") AS lockstep_query LIMIT 0",
                           {}, source));
  std::vector<PgColumn> columns;
  for (int i = 0; i < Libpq().nfields(probe.get()); ++i) {
    PgColumn column;
    column.name = Libpq().fname(probe.get(), i);
    std::string oid = std::to_string(Libpq().ftype(probe.get(), i));
    ASSIGN_OR_RETURN(PgResult type,
                     PgQuery(connection,
                             "SELECT format_type($1::oid, NULL), "
                             "typcollation <> 0 FROM pg_type "
                             "WHERE oid = $1::oid",
                             {oid}, source));
    if (Libpq().ntuples(type.get()) == 1) {
      column.type = Libpq().getvalue(type.get(), 0, 0);
      column.collatable = Libpq().getvalue(type.get(), 0, 1)[0] == 't';
    }
    columns.push_back(std::move(column));
  }
  return columns;
}

// The ordered SELECT: primary key order, else every column; text compares
// byte-wise (COLLATE "C") so the order does not depend on the locale, and
// so does the text form a column without an ordering is ordered by.
std::string PgSelect(const std::vector<PgColumn>& columns,
                     const std::string& from) {
  std::string list, order;
  std::vector<const PgColumn*> key(columns.size(), nullptr);
  bool has_key = false;
  for (const PgColumn& column : columns) {
    list += (list.empty() ? "" : ", ") + QuoteIdentifier(column.name);
    if (column.key_position > 0 &&
        column.key_position <= static_cast<int>(key.size())) {
      key[column.key_position - 1] = &column;
      has_key = true;
    }
  }
  auto add_order = [&](const PgColumn& column) {
    order += (order.empty() ? "" : ", ") + QuoteIdentifier(column.name) +
             (column.ordered_as_text ? "::text COLLATE \"C\""
              : column.collatable    ? " COLLATE \"C\""
                                     : "");
  };
  for (const PgColumn* column : key) {
    if (column != nullptr) add_order(*column);
  }
  if (!has_key) {
    for (const PgColumn& column : columns) add_order(column);
  }
  return "SELECT " + list + " FROM " + from +
         (order.empty() ? "" : " ORDER BY " + order);
}

// Whether the server can run `select` (LIMIT 0 reads no row): false
// when it finds no ordering for a type (SQLSTATE 42883), an error for
// any other failure.
Result<bool> PgCanOrder(PGconn* connection, const std::string& select,
                        const TableSource& source) {
  PgResult result(Libpq().exec(connection, (select + " LIMIT 0").c_str()));
  if (Libpq().result_status(result.get()) == PGRES_TUPLES_OK) return true;
  const char* state =
      Libpq().result_error_field(result.get(), PG_DIAG_SQLSTATE);
  if (state != nullptr && std::string_view(state) == "42883") return false;
  return Status::InvalidArgument(source.display + ": " +
                                 PgError(connection));
}

// Marks the columns to order by their text. Only the server knows which
// types it can sort (an array or a domain sorts as what it holds), so it
// is asked: the whole SELECT first, which is all a table that sorts
// costs, then one column of each type.
Status PgMarkUnordered(PGconn* connection, const std::string& from,
                       std::vector<PgColumn>* columns,
                       const TableSource& source) {
  ASSIGN_OR_RETURN(bool orders,
                   PgCanOrder(connection, PgSelect(*columns, from), source));
  if (orders) return Status::Ok();
  std::map<std::string, bool> type_orders;
  for (PgColumn& column : *columns) {
    auto known = type_orders.find(column.type);
    if (known != type_orders.end() && !column.type.empty()) {
      column.ordered_as_text = !known->second;
      continue;
    }
    ASSIGN_OR_RETURN(orders,
                     PgCanOrder(connection,
                                "SELECT " + QuoteIdentifier(column.name) +
                                    " FROM " + from + " ORDER BY 1",
                                source));
    type_orders[column.type] = orders;
    column.ordered_as_text = !orders;
  }
  return Status::Ok();
}

Result<TableExport> ExportPostgresql(const TableSource& source,
                                     const CsvSink& sink) {
  RETURN_IF_ERROR(metadata::LoadLibpq().status());
  PgConnection connection(Libpq().connectdb(source.location.c_str()));
  if (Libpq().status(connection.get()) != CONNECTION_OK) {
    return Status::Unavailable(source.display + ": " +
                               PgError(connection.get()));
  }
  RETURN_IF_ERROR(PgPinOutputSettings(connection.get(), source));
  std::vector<PgColumn> columns;
  std::string from;
  if (!source.table.empty()) {
    ASSIGN_OR_RETURN(columns, PgTableColumns(connection.get(), source, &from));
  } else {
    ASSIGN_OR_RETURN(columns, PgQueryColumns(connection.get(), source));
    from = "(" + source.query + ") AS lockstep_query";
  }
  RETURN_IF_ERROR(
      PgMarkUnordered(connection.get(), from, &columns, source));
  std::string sql = PgSelect(columns, from);

  TableExport result;
  for (const PgColumn& column : columns) {
    result.columns.push_back(column.name);
    result.types.push_back(column.type);
  }
  if (!Libpq().send_query(connection.get(), sql.c_str()) ||
      !Libpq().set_single_row_mode(connection.get())) {
    return Status::InvalidArgument(source.display + ": " +
                                   PgError(connection.get()));
  }

  // Rows arrive one result each; the last result says how it ended.
  CsvOut out(sink);
  RETURN_IF_ERROR(out.Header(result.columns));
  Status status = Status::Ok();
  while (PGresult* raw = Libpq().get_result(connection.get())) {
    PgResult row(raw);
    ExecStatusType state = Libpq().result_status(row.get());
    if (state == PGRES_SINGLE_TUPLE && status.ok()) {
      int fields = Libpq().nfields(row.get());
      for (int i = 0; i < fields; ++i) {
        bool is_null = Libpq().getisnull(row.get(), 0, i);
        std::string_view value(Libpq().getvalue(row.get(), 0, i),
                               Libpq().getlength(row.get(), 0, i));
        out.Field(value, is_null, i == 0);
      }
      status = out.EndRow();
      ++result.rows;
    } else if (state != PGRES_SINGLE_TUPLE && state != PGRES_TUPLES_OK &&
               status.ok()) {
      status = Status::InvalidArgument(source.display + ": " +
                                       PgError(connection.get()));
    }
  }
  RETURN_IF_ERROR(status);
  RETURN_IF_ERROR(out.Flush());
  return result;
}

}  // namespace

bool IsTableUrl(std::string_view text) {
  return text.starts_with("sqlite:") || text.starts_with("postgresql://") ||
         text.starts_with("postgres://");
}

std::string AnchorSqliteUrl(const std::string& url,
                            const std::filesystem::path& directory) {
  namespace fs = std::filesystem;
  if (!url.starts_with("sqlite:")) {
    return url;
  }
  size_t start = url.compare(7, 2, "//") == 0 ? 9 : 7;
  if (url.compare(start, 1, "/") == 0) {
    return url;
  }
  // An empty folder ("p.yaml" has no folder part) is the current one.
  std::error_code error;
  fs::path base = directory.empty() ? fs::path(".") : directory;
  std::string folder = fs::absolute(base, error).lexically_normal().string();
  std::string encoded;
  for (char c : folder) {
    // The path is percent-decoded when the URL is parsed.
    encoded += c == '%' ? "%25" : c == '?' ? "%3F" : std::string(1, c);
  }
  if (!encoded.ends_with('/')) encoded += '/';
  return "sqlite://" + encoded + url.substr(start);
}

Result<TableSource> ParseTableUrl(std::string_view url) {
  TableSource source;
  size_t question = url.find('?');
  std::string_view base = url.substr(0, question);
  std::string_view query_string =
      question == std::string_view::npos ? "" : url.substr(question + 1);
  ASSIGN_OR_RETURN(std::string rest, TakeOurKeys(query_string, &source));
  if (source.table.empty() == source.query.empty()) {
    return Status::InvalidArgument("'" + WithoutPassword(url) +
                                   "' needs exactly one of ?table=NAME or "
                                   "?query=SQL");
  }

  if (!source.schema.empty() && source.table.empty()) {
    return Status::InvalidArgument("'" + WithoutPassword(url) +
                                   "': ?schema= goes with ?table=, not "
                                   "?query=");
  }

  if (base.starts_with("sqlite:")) {
    source.engine = TableEngine::kSqlite;
    // One file is one schema; an attached one cannot be named.
    if (!source.schema.empty()) {
      return Status::InvalidArgument("'" + std::string(url) +
                                     "': ?schema= is for PostgreSQL");
    }
    std::string_view path = base.substr(7);
    if (path.starts_with("//")) path.remove_prefix(2);
    if (path.empty() || !rest.empty()) {
      return Status::InvalidArgument("'" + std::string(url) +
                                     "' is not sqlite:///PATH?table=NAME");
    }
    ASSIGN_OR_RETURN(source.location, PercentDecode(path));
  } else if (base.starts_with("postgresql://") ||
             base.starts_with("postgres://")) {
    source.engine = TableEngine::kPostgresql;
    source.location = std::string(base) + (rest.empty() ? "" : "?" + rest);
  } else {
    return Status::InvalidArgument("'" + std::string(url) +
                                   "' is not a sqlite: or postgresql:// URL");
  }
  source.display = WithoutPassword(url);
  return source;
}

Result<TableExport> ExportTable(const TableSource& source,
                                const CsvSink& sink) {
  return source.engine == TableEngine::kSqlite
             ? ExportSqlite(source, sink)
             : ExportPostgresql(source, sink);
}

void AppendCsvField(std::string* out, std::string_view value, bool is_null) {
  if (is_null) return;
  // "\." alone is quoted as COPY does, so psql can read the file back.
  bool quote = value.empty() || value == "\\." ||
               value.find_first_of(",\"\r\n") != std::string_view::npos;
  if (!quote) {
    out->append(value);
    return;
  }
  out->push_back('"');
  for (char c : value) {
    if (c == '"') out->push_back('"');
    out->push_back(c);
  }
  out->push_back('"');
}

std::string FormatReal(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value < 0 ? "-inf" : "inf";
  char buffer[64];
  auto [end, error] = std::to_chars(buffer, buffer + sizeof(buffer), value,
                                    std::chars_format::scientific);
  (void)error;
  std::string text(buffer, end);  // "-d.ddde+XX"
  bool negative = text.front() == '-';
  if (negative) text.erase(0, 1);
  size_t e = text.find('e');
  int exponent = std::stoi(text.substr(e + 1));
  std::string digits = text.substr(0, e);
  digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());

  std::string out;
  if (exponent >= -4 && exponent < 16) {
    if (exponent < 0) {
      out = "0." + std::string(-exponent - 1, '0') + digits;
    } else if (static_cast<int>(digits.size()) <= exponent + 1) {
      out = digits + std::string(exponent + 1 - digits.size(), '0') + ".0";
    } else {
      out = digits.substr(0, exponent + 1) + "." +
            digits.substr(exponent + 1);
    }
  } else {
    out = digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    char exp[16];
    std::snprintf(exp, sizeof(exp), "e%c%02d", exponent < 0 ? '-' : '+',
                  std::abs(exponent));
    out += exp;
  }
  return (negative ? "-" : "") + out;
}

}  // namespace lockstep::data
