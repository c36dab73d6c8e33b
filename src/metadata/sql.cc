// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// The parts of SqlDatabase that every backend shares: bulk inserts as
// multi-row INSERT statements.

#include <algorithm>

#include "metadata/sql.h"

namespace lockstep::metadata {

Status SqlDatabase::InsertRows(const std::string& table,
                               const std::string& columns,
                               size_t column_count,
                               std::vector<SqlValue>* values,
                               const std::string& suffix) {
  constexpr size_t kRowsPerStatement = 500;
  const size_t rows = values->size() / column_count;
  // A full chunk's text is the same every time, so the statement is
  // prepared once per connection; only the last, shorter chunk differs.
  auto statement = [&](size_t count) {
    std::string row = "(?";
    for (size_t c = 1; c < column_count; ++c) {
      row += ", ?";
    }
    row += ")";
    std::string sql = "INSERT INTO " + table + " (" + columns + ") VALUES ";
    sql.reserve(sql.size() + count * (row.size() + 2) + suffix.size());
    for (size_t i = 0; i < count; ++i) {
      sql += i == 0 ? row : ", " + row;
    }
    return sql + suffix;
  };
  const std::string full = statement(kRowsPerStatement);
  std::vector<SqlValue> params;
  for (size_t begin = 0; begin < rows; begin += kRowsPerStatement) {
    size_t count = std::min(rows - begin, kRowsPerStatement);
    auto first = values->begin() + begin * column_count;
    params.assign(std::make_move_iterator(first),
                  std::make_move_iterator(first + count * column_count));
    RETURN_IF_ERROR(Execute(
        count == kRowsPerStatement ? full : statement(count), params));
  }
  return Status::Ok();
}

}  // namespace lockstep::metadata
