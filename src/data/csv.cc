// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "data/csv.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>
#include <utility>

#include <fmt/format.h>

#include "core/files.h"
#include "core/number_text.h"

namespace lockstep::data {
namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

// True when [begin, end) holds only CRs, i.e. a blank line.
bool OnlyCarriageReturns(const char* begin, const char* end) {
  return std::all_of(begin, end, [](char c) { return c == '\r'; });
}

// The bits of one 64-byte block: bit i set when byte i is a quote, a
// line feed or a carriage return.
struct BlockMasks {
  uint64_t quotes = 0;
  uint64_t newlines = 0;
  uint64_t returns = 0;
};

BlockMasks MasksOf(const char* block) {
  BlockMasks masks;
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i newline = _mm_set1_epi8('\n');
  const __m128i carriage = _mm_set1_epi8('\r');
  for (int i = 0; i < 4; ++i) {
    __m128i bytes = _mm_loadu_si128(
        reinterpret_cast<const __m128i*>(block + 16 * i));
    auto bits = [&bytes](__m128i wanted) {
      return static_cast<uint64_t>(static_cast<uint32_t>(
          _mm_movemask_epi8(_mm_cmpeq_epi8(bytes, wanted))));
    };
    masks.quotes |= bits(quote) << (16 * i);
    masks.newlines |= bits(newline) << (16 * i);
    masks.returns |= bits(carriage) << (16 * i);
  }
#else
  for (int i = 0; i < 64; ++i) {
    uint64_t bit = uint64_t{1} << i;
    masks.quotes |= block[i] == '"' ? bit : 0;
    masks.newlines |= block[i] == '\n' ? bit : 0;
    masks.returns |= block[i] == '\r' ? bit : 0;
  }
#endif
  return masks;
}

// Bit i of the result is the XOR of bits 0..i: with quote bits in, the
// bytes from an opening quote up to (not including) its closing quote.
uint64_t PrefixXor(uint64_t bits) {
  for (int shift = 1; shift < 64; shift *= 2) bits ^= bits << shift;
  return bits;
}

void AppendQuoted(std::string_view field, std::string* out) {
  out->push_back('"');
  for (char c : field) {
    if (c == '"') out->push_back('"');
    out->push_back(c);
  }
  out->push_back('"');
}

}  // namespace

// ---------------------------------------------------------------------------
// CsvRecordCounter

void CsvRecordCounter::Feed(std::string_view chunk) {
  if (!bom_checked_) {
    // Hold the first bytes until they either spell the BOM or cannot.
    size_t take = std::min(chunk.size(), kBom.size() - bom_prefix_.size());
    bom_prefix_.append(chunk.substr(0, take));
    chunk.remove_prefix(take);
    if (bom_prefix_ == kBom) {
      bom_checked_ = true;
    } else if (kBom.substr(0, bom_prefix_.size()) != bom_prefix_) {
      bom_checked_ = true;
      Scan(bom_prefix_.data(), bom_prefix_.size());
    } else {
      return;  // A partial BOM and nothing else left in this chunk.
    }
  }
  Scan(chunk.data(), chunk.size());
}

void CsvRecordCounter::Scan(const char* p, size_t size) {
  const char* end = p + size;
  while (p < end) {
    const bool in_header = all_records_ == 0;
    if (!in_header && end - p >= 64) {
      p += ScanBlocks(p, static_cast<size_t>(end - p));
      continue;
    }
    if (in_quotes_) {
      // Inside quotes only another quote matters; a doubled quote closes
      // and reopens, which is the same for counting.
      const char* quote =
          static_cast<const char*>(std::memchr(p, '"', end - p));
      const char* stop = quote ? quote + 1 : end;
      if (in_header) header_.append(p, stop);
      in_quotes_ = quote == nullptr;
      p = stop;
      continue;
    }

    const char* newline =
        static_cast<const char*>(std::memchr(p, '\n', end - p));
    const char* line_end = newline ? newline : end;
    const char* quote =
        static_cast<const char*>(std::memchr(p, '"', line_end - p));
    if (quote) {
      if (in_header) header_.append(p, quote + 1);
      line_has_content_ = true;
      in_quotes_ = true;
      p = quote + 1;
      continue;
    }

    ScanLine(p, line_end);
    if (!newline) break;
    EndRecord();
    p = newline + 1;
  }
}

// Past the header, counting needs no field boundaries, so whole 64-byte
// blocks are classified at once (as simdjson does): every quote toggles
// the quoted state (a doubled quote toggles twice), so the quoted bytes
// are the prefix XOR of the quote bits; a line feed outside them ends a
// record, which counts when its line holds anything but CRs (a quoted
// line feed always follows its line's opening quote, which is content).
// This is the scalar path's rule, byte for byte, at a few instructions
// per 64 bytes instead of three memchr calls per record. Returns the
// bytes consumed, a multiple of 64.
size_t CsvRecordCounter::ScanBlocks(const char* p, size_t size) {
  uint64_t quoted_before = in_quotes_ ? ~uint64_t{0} : 0;
  bool content = line_has_content_;
  uint64_t records = 0;
  size_t done = 0;
  for (; size - done >= 64; done += 64) {
    BlockMasks masks = MasksOf(p + done);
    uint64_t quoted = PrefixXor(masks.quotes) ^ quoted_before;
    quoted_before = (quoted >> 63) != 0 ? ~uint64_t{0} : 0;
    uint64_t ends = masks.newlines & ~quoted;
    uint64_t text = ~(masks.newlines | masks.returns);
    while (ends != 0) {
      int at = __builtin_ctzll(ends);
      uint64_t upto = (uint64_t{2} << at) - 1;  // Bits 0..at (all at 63).
      records += (content || (text & upto) != 0) ? 1 : 0;
      content = false;
      text &= ~upto;
      ends &= ends - 1;
    }
    content = content || text != 0;
  }
  in_quotes_ = quoted_before != 0;
  line_has_content_ = content;
  all_records_ += records;
  return done;
}

void CsvRecordCounter::ScanLine(const char* begin, const char* end) {
  if (all_records_ == 0) header_.append(begin, end);
  if (!line_has_content_ && !OnlyCarriageReturns(begin, end)) {
    line_has_content_ = true;
  }
}

void CsvRecordCounter::EndRecord() {
  if (!line_has_content_) {
    if (all_records_ == 0) header_.clear();
    return;
  }
  line_has_content_ = false;
  if (all_records_ == 0) {
    header_.push_back('\n');
    // The file's BOM, if any, was dropped before the header was gathered.
    CsvReader reader(header_, "header", /*skip_bom=*/false);
    CsvRecord record;
    Result<bool> read = reader.Next(&record);
    if (!read.ok()) {
      header_status_ = read.status();
    } else if (*read) {
      columns_.assign(record.fields.begin(), record.fields.end());
    }
    header_.clear();
    header_.shrink_to_fit();
  }
  ++all_records_;
}

Status CsvRecordCounter::Finish() {
  if (!bom_checked_) {
    bom_checked_ = true;
    Scan(bom_prefix_.data(), bom_prefix_.size());
  }
  const bool unterminated = in_quotes_;
  in_quotes_ = false;
  EndRecord();
  if (unterminated) {
    return Status::InvalidArgument(
        "CSV ends inside a quoted field (unterminated quote)");
  }
  return header_status_;
}

uint64_t CsvRecordCounter::records() const {
  return all_records_ == 0 ? 0 : all_records_ - 1;
}

// ---------------------------------------------------------------------------
// CsvReader

CsvReader::CsvReader(std::string_view text, std::string source,
                     bool skip_bom)
    : text_(text), source_(std::move(source)) {
  if (skip_bom && text_.starts_with(kBom)) pos_ = kBom.size();
}

Status CsvReader::Error(uint64_t line, size_t column,
                        std::string_view what) const {
  return Status::InvalidArgument(
      fmt::format("{}:{}: field {}: {}", source_, line, column, what));
}

Result<bool> CsvReader::Next(CsvRecord* record) {
  const char* data = text_.data();
  const size_t size = text_.size();

  // Skip blank lines: nothing or only CRs before the LF (or the end).
  while (pos_ < size) {
    size_t j = pos_;
    while (j < size && data[j] == '\r') ++j;
    if (j == size) {
      pos_ = size;
    } else if (data[j] == '\n') {
      pos_ = j + 1;
      ++line_;
    } else {
      break;
    }
  }
  if (pos_ >= size) return false;

  record->fields.clear();
  record->line = line_;
  scratch_.clear();
  for (size_t column = 1;; ++column) {
    if (pos_ >= size) {
      // A ',' right before the end of the input: one last, empty field.
      record->fields.emplace_back();
      return true;
    }
    if (data[pos_] == '"') {
      ASSIGN_OR_RETURN(bool more, ReadQuoted(record, column));
      if (!more) return true;
      continue;
    }

    // An unquoted field runs to the next ',' or LF; a quote inside is an
    // error rather than a guess.
    size_t start = pos_;
    while (pos_ < size && data[pos_] != ',' && data[pos_] != '\n') {
      if (data[pos_] == '"') {
        return Error(line_, column, "stray quote in an unquoted field");
      }
      ++pos_;
    }
    const bool at_newline = pos_ < size && data[pos_] == '\n';
    const bool ends_record = pos_ >= size || at_newline;
    size_t stop = pos_;
    if (ends_record && stop > start && data[stop - 1] == '\r') --stop;
    record->fields.emplace_back(data + start, stop - start);
    if (pos_ < size) ++pos_;  // The ',' or the LF.
    if (at_newline) ++line_;
    if (ends_record) return true;
  }
}

Result<bool> CsvReader::ReadQuoted(CsvRecord* record, size_t column) {
  const char* data = text_.data();
  const size_t size = text_.size();
  const uint64_t start_line = line_;
  size_t i = pos_ + 1;
  bool doubled = false;

  // Find the closing quote, stepping over doubled quotes.
  size_t close;
  for (;;) {
    const void* found = std::memchr(data + i, '"', size - i);
    if (!found) {
      return Error(start_line, column, "unterminated quoted field");
    }
    close = static_cast<const char*>(found) - data;
    if (close + 1 < size && data[close + 1] == '"') {
      doubled = true;
      i = close + 2;
      continue;
    }
    break;
  }

  std::string_view raw(data + pos_ + 1, close - pos_ - 1);
  line_ += std::count(raw.begin(), raw.end(), '\n');
  if (doubled) {
    std::string& text = scratch_.emplace_back();
    text.reserve(raw.size());
    for (size_t k = 0; k < raw.size(); ++k) {
      text.push_back(raw[k]);
      if (raw[k] == '"') ++k;  // Keep one of each doubled pair.
    }
    record->fields.emplace_back(text);
  } else {
    record->fields.push_back(raw);
  }

  // After the closing quote: ',', or the record's end (CR LF, LF, or EOF).
  pos_ = close + 1;
  if (pos_ < size && data[pos_] == '\r' &&
      (pos_ + 1 == size || data[pos_ + 1] == '\n')) {
    ++pos_;
  }
  if (pos_ >= size) return false;
  if (data[pos_] == ',') {
    ++pos_;
    return true;
  }
  if (data[pos_] == '\n') {
    ++pos_;
    ++line_;
    return false;
  }
  return Error(line_, column, "unexpected character after a closing quote");
}

// ---------------------------------------------------------------------------
// CsvTable

Result<size_t> CsvTable::ColumnIndex(std::string_view name,
                                     std::string_view source) const {
  auto it = std::find(columns.begin(), columns.end(), name);
  if (it == columns.end()) {
    return Status::NotFound(fmt::format(
        "{}: no column named '{}' (columns: {})", source, name,
        fmt::join(columns, ", ")));
  }
  return static_cast<size_t>(it - columns.begin());
}

std::vector<std::string> InferColumnTypes(std::string_view sample,
                                          bool truncated, size_t columns) {
  // Each column's rank only rises: integer, then real, then text.
  enum Rank { kNoValue, kInteger, kReal, kText };
  std::vector<Rank> ranks(columns, kNoValue);
  std::vector<Rank> pending;  // The last record's, kept back if truncated.
  auto apply = [&](const std::vector<Rank>& record) {
    for (size_t i = 0; i < record.size() && i < columns; ++i) {
      ranks[i] = std::max(ranks[i], record[i]);
    }
  };
  CsvReader reader(sample, "sample");
  CsvRecord record;
  bool header = true;
  size_t seen = 0;
  while (true) {
    Result<bool> more = reader.Next(&record);
    if (!more.ok() || !*more) break;
    if (header) {
      header = false;
      continue;
    }
    // Another record began, so the one before it was whole.
    apply(pending);
    pending.clear();
    if (seen == kTypeSampleRecords) break;
    for (std::string_view field : record.fields) {
      pending.push_back(field.empty()        ? kNoValue
                        : IsIntText(field)   ? kInteger
                        : IsFloatText(field) ? kReal
                                             : kText);
    }
    ++seen;
  }
  if (!truncated) apply(pending);
  std::vector<std::string> types;
  for (Rank rank : ranks) {
    types.push_back(rank == kInteger ? "integer"
                    : rank == kReal  ? "real"
                                     : "text");
  }
  return types;
}

Status CheckDistinctColumns(const CsvRecord& header,
                            std::string_view source) {
  std::set<std::string_view> seen;
  for (std::string_view name : header.fields) {
    if (!seen.insert(name).second) {
      return Status::InvalidArgument(fmt::format(
          "{}:{}: duplicate column name '{}'", source, header.line, name));
    }
  }
  return Status::Ok();
}

Result<CsvTable> ParseCsv(std::string_view text, std::string_view source) {
  CsvReader reader(text, std::string(source));
  CsvRecord record;
  CsvTable table;

  ASSIGN_OR_RETURN(bool has_header, reader.Next(&record));
  if (!has_header) {
    return Status::InvalidArgument(
        fmt::format("{}: empty CSV (no header record)", source));
  }
  RETURN_IF_ERROR(CheckDistinctColumns(record, source));
  table.columns.assign(record.fields.begin(), record.fields.end());

  for (;;) {
    ASSIGN_OR_RETURN(bool more, reader.Next(&record));
    if (!more) break;
    if (record.fields.size() != table.columns.size()) {
      return Status::InvalidArgument(fmt::format(
          "{}:{}: expected {} fields as in the header, found {}", source,
          record.line, table.columns.size(), record.fields.size()));
    }
    table.rows.emplace_back(record.fields.begin(), record.fields.end());
    table.row_lines.push_back(record.line);
  }
  return table;
}

Result<CsvTable> ReadCsvFile(const std::filesystem::path& path) {
  ASSIGN_OR_RETURN(MappedFile file, MappedFile::Open(path));
  return ParseCsv(file.bytes(), path.string());
}

// ---------------------------------------------------------------------------
// Writer

void AppendCsvField(std::string_view field, bool sole_field,
                    std::string* out) {
  const bool needs_quotes =
      field.find_first_of(",\"\r\n") != std::string_view::npos ||
      (sole_field && field.empty());
  if (!needs_quotes) {
    out->append(field);
    return;
  }
  AppendQuoted(field, out);
}

void AppendCsvRecord(const std::vector<std::string>& fields,
                     std::string* out) {
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) out->push_back(',');
    AppendCsvField(fields[i], fields.size() == 1, out);
  }
  out->push_back('\n');
}

std::string WriteCsv(const std::vector<std::string>& columns,
                     const std::vector<std::vector<std::string>>& rows) {
  std::string out;
  for (size_t i = 0; i < columns.size(); ++i) {
    if (i > 0) out.push_back(',');
    if (i == 0 && columns[0].starts_with(kBom)) {
      // Unquoted, it would read back as a byte-order mark.
      AppendQuoted(columns[0], &out);
    } else {
      AppendCsvField(columns[i], columns.size() == 1, &out);
    }
  }
  out.push_back('\n');
  for (const std::vector<std::string>& row : rows) AppendCsvRecord(row, &out);
  return out;
}

// ---------------------------------------------------------------------------
// MappedFile

Result<MappedFile> MappedFile::Open(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(path, errno);
  struct stat info;
  if (::fstat(fd, &info) != 0) {
    int error = errno;
    ::close(fd);
    return ErrnoStatus(path, error);
  }
  if (S_ISDIR(info.st_mode)) {
    ::close(fd);
    return Status::InvalidArgument(path.string() + ": is a folder");
  }
  size_t size = static_cast<size_t>(info.st_size);
  if (size == 0) {
    ::close(fd);
    return MappedFile(nullptr, 0);
  }
  void* data = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  int error = errno;
  ::close(fd);
  if (data == MAP_FAILED) return ErrnoStatus(path, error);
  ::madvise(data, size, MADV_SEQUENTIAL);
  return MappedFile(static_cast<const char*>(data), size);
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)) {}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    if (data_) ::munmap(const_cast<char*>(data_), size_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

MappedFile::~MappedFile() {
  if (data_) ::munmap(const_cast<char*>(data_), size_);
}

}  // namespace lockstep::data
