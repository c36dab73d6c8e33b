// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// RFC 4180 CSV: a streaming record counter (fed arbitrary chunks, so it can
// run inside Sha256OfFile's visitor), a record reader that tokenises a
// buffer without copying, a table parser built on it, and a writer that
// emits canonical CSV.
//
// The dialect, shared by every piece here so they always agree:
// - Fields are separated by ',' and records end at an unquoted LF; a CR
//   right before that LF belongs to the line ending.
// - A field that starts with '"' is quoted: it may hold ',', CR, LF and
//   doubled quotes ("" stands for "), and must end with a quote followed by
//   ',' or the end of the record.
// - A UTF-8 byte-order mark at the very start of the input is skipped.
// - Blank lines (nothing, or only CRs, between two record ends) are not
//   records, wherever they occur; so a missing final newline and trailing
//   blank lines do not change the count.
// - The first record is the header (column names); the rest are data.

#ifndef LOCKSTEP_DATA_CSV_H_
#define LOCKSTEP_DATA_CSV_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace lockstep::data {

// Counts records in CSV bytes fed in chunks of any size. Scans with memchr,
// so it keeps up with SHA-256 on multi-GB files.
class CsvRecordCounter {
 public:
  // Consumes the next bytes of the input.
  void Feed(std::string_view chunk);

  // Ends the input. InvalidArgument when a quoted field never closes or
  // the header is malformed; the counts are still filled in.
  Status Finish();

  // Data records, header excluded. Valid after Finish().
  uint64_t records() const;

  // The header's column names, unquoted, BOM removed. Valid after Finish().
  const std::vector<std::string>& columns() const { return columns_; }

 private:
  void Scan(const char* data, size_t size);
  size_t ScanBlocks(const char* data, size_t size);
  void ScanLine(const char* begin, const char* end);
  void EndRecord();

  std::string bom_prefix_;  // The first bytes, held until the BOM is known.
  bool bom_checked_ = false;
  bool in_quotes_ = false;
  bool line_has_content_ = false;
  uint64_t all_records_ = 0;  // Header included.
  std::string header_;        // Bytes of the header record, while reading it.
  std::vector<std::string> columns_;
  Status header_status_;
};

// One record from CsvReader. The views stay valid until the next call to
// Next() (fields with doubled quotes live in the reader's scratch space).
struct CsvRecord {
  std::vector<std::string_view> fields;
  uint64_t line = 0;  // 1-based line on which the record starts.
};

// Tokenises CSV text record by record, without copying fields that hold no
// doubled quotes. Errors name the source, line and column (1-based field
// number): an unterminated quote, or a stray quote in an unquoted field.
class CsvReader {
 public:
  // `text` must outlive the reader; `source` names it in messages. A BOM
  // at the start is skipped unless `skip_bom` is false (for text that is
  // not the start of a file).
  CsvReader(std::string_view text, std::string source, bool skip_bom = true);

  // Fills `record` with the next non-blank record. Returns false at the
  // end of the input.
  Result<bool> Next(CsvRecord* record);

  const std::string& source() const { return source_; }

 private:
  Status Error(uint64_t line, size_t column, std::string_view what) const;
  Result<bool> ReadQuoted(CsvRecord* record, size_t column);

  std::string_view text_;
  std::string source_;
  size_t pos_ = 0;
  uint64_t line_ = 1;
  std::deque<std::string> scratch_;  // Stable addresses for the views.
};

// OK when the names in `header` (a CSV's first record, read from
// `source`) are distinct; else InvalidArgument naming the source, the
// header's line and the first name repeated. Every reader that finds
// columns by name needs this: with a name twice, one of the columns
// would be read as the other.
Status CheckDistinctColumns(const CsvRecord& header, std::string_view source);

// A whole CSV file: column names and rows of field text.
struct CsvTable {
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;
  std::vector<uint64_t> row_lines;  // Line on which each row starts.

  // The index of column `name`, or NotFound naming `source` and the columns.
  Result<size_t> ColumnIndex(std::string_view name,
                             std::string_view source) const;
};

// How many records, and bytes from the start, column types are inferred
// from: a snapshot of a 5 GiB file reads no more than this again.
inline constexpr size_t kTypeSampleRecords = 1000;
inline constexpr size_t kTypeSampleBytes = 1 << 20;

// The type of each of `columns` columns, inferred from the data records
// of `sample` (the header skipped; at most kTypeSampleRecords of them):
// "integer" when every non-empty field is one, else "real" when every
// one is a decimal number, else "text" (also for a column with no
// value). With `truncated`, `sample` is the start of a longer file and
// its last record, maybe cut, is left out; a record the reader cannot
// parse ends the sample there.
std::vector<std::string> InferColumnTypes(std::string_view sample,
                                          bool truncated, size_t columns);

// Parses CSV text. InvalidArgument when a row's field count differs from
// the header's, besides the reader's errors. An empty input is an error.
Result<CsvTable> ParseCsv(std::string_view text, std::string_view source);

// Reads and parses the file at `path`.
Result<CsvTable> ReadCsvFile(const std::filesystem::path& path);

// Appends one field to `out`, quoted only when it holds ',', '"', CR or LF
// or is empty in a one-column record (which would otherwise read as a
// blank line).
void AppendCsvField(std::string_view field, bool sole_field, std::string* out);

// Appends one record terminated by LF.
void AppendCsvRecord(const std::vector<std::string>& fields, std::string* out);

// Returns the canonical CSV text of a header and rows: minimal quoting and
// LF line ends.
std::string WriteCsv(const std::vector<std::string>& columns,
                     const std::vector<std::vector<std::string>>& rows);

// A read-only view of a whole file (memory-mapped; empty files are fine).
class MappedFile {
 public:
  static Result<MappedFile> Open(const std::filesystem::path& path);
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  std::string_view bytes() const { return {data_, size_}; }

 private:
  MappedFile(const char* data, size_t size) : data_(data), size_(size) {}

  const char* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace lockstep::data

#endif  // LOCKSTEP_DATA_CSV_H_
