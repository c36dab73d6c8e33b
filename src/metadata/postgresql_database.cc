// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// The PostgreSQL backend of SqlDatabase, over libpq. Queries written with
// `?` placeholders are rewritten to $1..$n, prepared once per connection
// (PQprepare) and then run by name with text parameters (PQexecPrepared),
// so the server parses and plans each of the store's statements once;
// result columns are typed back from their OIDs. Write transactions take
// one advisory lock first, so writers are serialised exactly as SQLite's
// BEGIN IMMEDIATE serialises them: get-or-create sequences (types,
// contexts) and schema creation cannot race, on either backend.


#include <cstdio>
#include <memory>
#include <unordered_map>

#include "metadata/libpq_api.h"
#include "metadata/sql.h"

namespace lockstep::metadata {

namespace {

// Type OIDs from pg_type.h (stable across PostgreSQL versions).
constexpr Oid kInt2Oid = 21;
constexpr Oid kInt4Oid = 23;
constexpr Oid kInt8Oid = 20;
constexpr Oid kFloat4Oid = 700;
constexpr Oid kFloat8Oid = 701;

// The advisory lock every write transaction holds ("LOCKSTEP" in ASCII).
constexpr const char* kWriteLock =
    "SELECT pg_advisory_xact_lock(5494972577745745744)";

// Statements kept prepared per connection; texts beyond this run unnamed
// (parsed and planned per call). The store has a few dozen statements.
constexpr size_t kMaxPreparedStatements = 128;

struct ResultDeleter {
  void operator()(PGresult* result) const { Libpq().clear(result); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

// libpq prints server notices ("relation exists, skipping") on stderr by
// default; the store has nothing to tell the user about them.
void IgnoreNotice(void*, const char*) {}

Status ErrorFromResult(PGconn* conn, const PGresult* result,
                       std::string_view sql) {
  const char* state =
      result != nullptr ? Libpq().result_error_field(result, PG_DIAG_SQLSTATE)
                        : nullptr;
  std::string code = state != nullptr ? state : "";
  std::string message = "PostgreSQL: ";
  message += result != nullptr ? Libpq().result_error_message(result)
                               : Libpq().error_message(conn);
  while (!message.empty() &&
         (message.back() == '\n' || message.back() == ' ')) {
    message.pop_back();
  }
  message += " (in '" + std::string(sql.substr(0, 120)) + "')";

  // Serialization failure, deadlock, lock timeout: retry the transaction.
  if (code == "40001" || code == "40P01" || code == "55P03") {
    return Status::Aborted(message);
  }
  if (code == "23505") {
    return Status::AlreadyExists(message);
  }
  if (code.starts_with("08") || code.starts_with("57P") ||
      Libpq().status(conn) != CONNECTION_OK) {
    return Status::Unavailable(message);
  }
  return Status::Internal(message);
}

std::string ParamText(const SqlValue& value) {
  if (auto* n = std::get_if<int64_t>(&value)) {
    return std::to_string(*n);
  }
  if (auto* d = std::get_if<double>(&value)) {
    char buffer[64];
    std::snprintf(buffer, sizeof(buffer), "%.17g", *d);
    return buffer;
  }
  return std::get<std::string>(value);
}

// Appends `value` as one field of COPY's text format: \N for NULL, and
// backslash escapes for the characters that delimit fields and rows.
void AppendCopyField(const SqlValue& value, std::string* out) {
  if (IsNull(value)) {
    *out += "\\N";
    return;
  }
  if (!std::holds_alternative<std::string>(value)) {
    *out += ParamText(value);
    return;
  }
  for (char c : std::get<std::string>(value)) {
    switch (c) {
      case '\\':
        *out += "\\\\";
        break;
      case '\t':
        *out += "\\t";
        break;
      case '\n':
        *out += "\\n";
        break;
      case '\r':
        *out += "\\r";
        break;
      default:
        *out += c;
    }
  }
}

SqlValue ColumnValue(const PGresult* result, int row, int column) {
  if (Libpq().getisnull(result, row, column)) {
    return std::monostate{};
  }
  const char* text = Libpq().getvalue(result, row, column);
  switch (Libpq().ftype(result, column)) {
    case kInt2Oid:
    case kInt4Oid:
    case kInt8Oid:
      return static_cast<int64_t>(std::strtoll(text, nullptr, 10));
    case kFloat4Oid:
    case kFloat8Oid:
      return std::strtod(text, nullptr);
    default:
      return std::string(text, Libpq().getlength(result, row, column));
  }
}

class PostgresqlDatabase : public SqlDatabase {
 public:
  explicit PostgresqlDatabase(PGconn* conn) : conn_(conn) {}
  ~PostgresqlDatabase() override { Libpq().finish(conn_); }

  SqlDialect dialect() const override { return SqlDialect::kPostgresql; }

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
    ResultPtr result(Libpq().exec(conn_, text.c_str()));
    ExecStatusType status = Libpq().result_status(result.get());
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      return ErrorFromResult(conn_, result.get(), sql);
    }
    return Status::Ok();
  }

  // Plain appends go through COPY: one statement and one stream of rows,
  // with none of the per-row parameter handling of an INSERT.
  Status InsertRows(const std::string& table, const std::string& columns,
                    size_t column_count, std::vector<SqlValue>* values,
                    const std::string& suffix) override {
    if (!suffix.empty()) {
      return SqlDatabase::InsertRows(table, columns, column_count, values,
                                     suffix);
    }
    if (values->empty()) {
      return Status::Ok();
    }
    std::string sql = "COPY " + table + " (" + columns + ") FROM STDIN";
    ResultPtr started(Libpq().exec(conn_, sql.c_str()));
    if (Libpq().result_status(started.get()) != PGRES_COPY_IN) {
      return ErrorFromResult(conn_, started.get(), sql);
    }
    constexpr size_t kFlushBytes = 1 << 20;
    std::string buffer;
    bool sent = true;
    for (size_t i = 0; i < values->size() && sent; ++i) {
      AppendCopyField((*values)[i], &buffer);
      buffer += (i + 1) % column_count == 0 ? '\n' : '\t';
      if (buffer.size() >= kFlushBytes || i + 1 == values->size()) {
        sent = Libpq().put_copy_data(conn_, buffer.data(),
                                     static_cast<int>(buffer.size())) == 1;
        buffer.clear();
      }
    }
    // Ending the copy with an error message makes the server abandon it.
    Libpq().put_copy_end(conn_,
                         sent ? nullptr : "lockstep: sending rows failed");
    Status status;
    while (PGresult* raw = Libpq().get_result(conn_)) {
      ResultPtr result(raw);
      if (status.ok() && Libpq().result_status(raw) != PGRES_COMMAND_OK) {
        status = ErrorFromResult(conn_, raw, sql);
      }
    }
    values->clear();
    return status;
  }

  Status BeginWrite() override {
    RETURN_IF_ERROR(ExecuteScript("BEGIN"));
    Status locked = ExecuteScript(kWriteLock);
    if (!locked.ok()) {
      (void)ExecuteScript("ROLLBACK");
    }
    return locked;
  }
  Status Commit() override { return ExecuteScript("COMMIT"); }
  Status Rollback() override { return ExecuteScript("ROLLBACK"); }

 private:
  // The name of the prepared statement for `sql`, preparing it on first
  // use; empty when the cache is full (the caller runs it unnamed).
  // Prepared statements outlive a rolled-back transaction, so a name stays
  // valid for the whole session.
  Result<std::string> PreparedName(std::string_view sql, int param_count) {
    std::string key(sql);
    if (auto it = prepared_.find(key); it != prepared_.end()) {
      return it->second;
    }
    if (prepared_.size() >= kMaxPreparedStatements) {
      return std::string();
    }
    std::string name = "lockstep_" + std::to_string(prepared_.size() + 1);
    std::string text = RewritePlaceholders(sql);
    ResultPtr result(Libpq().prepare(conn_, name.c_str(), text.c_str(),
                                     param_count, nullptr));
    if (Libpq().result_status(result.get()) != PGRES_COMMAND_OK) {
      return ErrorFromResult(conn_, result.get(), sql);
    }
    prepared_.emplace(std::move(key), name);
    return name;
  }

  Status Run(std::string_view sql, const std::vector<SqlValue>& params,
             std::vector<SqlRow>* rows) {
    std::vector<std::string> texts(params.size());
    std::vector<const char*> values(params.size(), nullptr);
    for (size_t i = 0; i < params.size(); ++i) {
      if (!IsNull(params[i])) {
        texts[i] = ParamText(params[i]);
        values[i] = texts[i].c_str();
      }
    }
    const int param_count = static_cast<int>(params.size());
    ASSIGN_OR_RETURN(std::string name, PreparedName(sql, param_count));
    ResultPtr result;
    if (!name.empty()) {
      result.reset(Libpq().exec_prepared(conn_, name.c_str(), param_count,
                                         values.data(), nullptr, nullptr, 0));
    } else {
      std::string text = RewritePlaceholders(sql);
      result.reset(Libpq().exec_params(conn_, text.c_str(), param_count,
                                       nullptr, values.data(), nullptr,
                                       nullptr, 0));
    }
    ExecStatusType status = Libpq().result_status(result.get());
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      return ErrorFromResult(conn_, result.get(), sql);
    }
    if (rows != nullptr) {
      int count = Libpq().ntuples(result.get());
      int columns = Libpq().nfields(result.get());
      rows->reserve(static_cast<size_t>(count));
      for (int r = 0; r < count; ++r) {
        SqlRow row;
        row.reserve(static_cast<size_t>(columns));
        for (int c = 0; c < columns; ++c) {
          row.push_back(ColumnValue(result.get(), r, c));
        }
        rows->push_back(std::move(row));
      }
    }
    return Status::Ok();
  }

  PGconn* conn_;
  std::unordered_map<std::string, std::string> prepared_;  // SQL -> name
};

}  // namespace

std::string RewritePlaceholders(std::string_view sql) {
  std::string out;
  out.reserve(sql.size() + 16);
  int next = 1;
  char quote = '\0';  // The quote we are inside of, if any.
  for (char c : sql) {
    if (quote != '\0') {
      // A doubled quote ('it''s') closes and reopens: same outcome.
      if (c == quote) {
        quote = '\0';
      }
      out += c;
    } else if (c == '\'' || c == '"') {
      quote = c;
      out += c;
    } else if (c == '?') {
      out += '$' + std::to_string(next++);
    } else {
      out += c;
    }
  }
  return out;
}

Result<std::unique_ptr<SqlDatabase>> OpenPostgresql(const std::string& url) {
  RETURN_IF_ERROR(LoadLibpq().status());
  PGconn* conn = Libpq().connectdb(url.c_str());
  if (conn == nullptr) {
    return Status::Unavailable("cannot connect to PostgreSQL: out of memory");
  }
  if (Libpq().status(conn) != CONNECTION_OK) {
    std::string message = Libpq().error_message(conn);
    Libpq().finish(conn);
    while (!message.empty() && message.back() == '\n') {
      message.pop_back();
    }
    return Status::Unavailable("cannot connect to PostgreSQL: " + message);
  }
  Libpq().set_notice_processor(conn, IgnoreNotice, nullptr);
  auto database = std::make_unique<PostgresqlDatabase>(conn);
  // Client messages in one language and a bounded lock wait, so a stuck
  // peer surfaces as Aborted (retried) rather than a hang.
  RETURN_IF_ERROR(database->ExecuteScript(
      "SET client_min_messages = warning; SET lock_timeout = '30s'"));
  return std::unique_ptr<SqlDatabase>(std::move(database));
}

}  // namespace lockstep::metadata
