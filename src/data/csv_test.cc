// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// Tests for the CSV counter, reader, parser and writer. Expected values are
// counted by hand from the inputs, or known from the data set's README.

#include "data/csv.h"

#include <cstdlib>
#include <filesystem>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/files.h"

namespace lockstep::data {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::filesystem::path SourceDir() {
  const char* dir = std::getenv("LOCKSTEP_SOURCE_DIR");
  return dir ? dir : ".";
}

std::string BreastCancer() {
  Result<std::string> text =
      ReadFile(SourceDir() / "tests/data/breast_cancer.csv");
  EXPECT_TRUE(text.ok()) << text.status().ToString();
  return text.ok() ? *text : "";
}

struct Count {
  uint64_t records;
  std::vector<std::string> columns;
  bool ok;
};

// Feeds `text` to a counter in chunks of `chunk` bytes.
Count CountInChunks(std::string_view text, size_t chunk) {
  CsvRecordCounter counter;
  for (size_t i = 0; i < text.size(); i += chunk) {
    counter.Feed(text.substr(i, chunk));
  }
  Status status = counter.Finish();
  return {counter.records(), counter.columns(), status.ok()};
}

uint64_t CountRecords(std::string_view text) {
  return CountInChunks(text, 1 << 20).records;
}

// A file that puts every awkward construct near every chunk boundary.
const char kTricky[] =
    "\xEF\xBB\xBF\"id\",\"note, with comma\"\r\n"
    "1,\"two\r\nlines\"\r\n"
    "\r\n"
    "2,\"say \"\"hi\"\"\"\n"
    "3,\"\"\n"
    "4,\"\n\n\"\n"
    "\n\n";

TEST(CsvRecordCounterTest, QuotedNewlineCountsOnce) {
  EXPECT_EQ(CountRecords("a,b\n\"x\ny\",1\n2,3\n"), 2u);
}

TEST(CsvRecordCounterTest, ByteOrderMarkIsNotPartOfFirstColumn) {
  Count count = CountInChunks("\xEF\xBB\xBFid,value\n1,2\n", 1);
  EXPECT_TRUE(count.ok);
  EXPECT_EQ(count.records, 1u);
  EXPECT_THAT(count.columns, ElementsAre("id", "value"));
}

TEST(CsvRecordCounterTest, MissingFinalNewlineAndTrailingBlankLines) {
  EXPECT_EQ(CountRecords("a\n1\n2"), 2u);
  EXPECT_EQ(CountRecords("a\n1\n2\n"), 2u);
  EXPECT_EQ(CountRecords("a\n1\n2\n\n\n"), 2u);
  EXPECT_EQ(CountRecords("a\r\n1\r\n2\r\n\r\n"), 2u);
}

TEST(CsvRecordCounterTest, CrlfAndLfGiveTheSameCount) {
  EXPECT_EQ(CountRecords("h1,h2\r\n1,2\r\n3,4\r\n"), 2u);
  EXPECT_EQ(CountRecords("h1,h2\n1,2\n3,4\n"), 2u);
}

TEST(CsvRecordCounterTest, EmptyAndHeaderOnlyInputs) {
  EXPECT_EQ(CountRecords(""), 0u);
  EXPECT_EQ(CountRecords("\n\n"), 0u);
  Count header_only = CountInChunks("x,y", 2);
  EXPECT_EQ(header_only.records, 0u);
  EXPECT_THAT(header_only.columns, ElementsAre("x", "y"));
}

TEST(CsvRecordCounterTest, UnterminatedQuoteIsReported) {
  CsvRecordCounter counter;
  counter.Feed("a\n\"open\n");
  EXPECT_FALSE(counter.Finish().ok());
}

// Found by fuzzing: a BOM that is not at the start of the file is data,
// also when the header is re-read from the counter's buffer.
TEST(CsvRecordCounterTest, ByteOrderMarkAfterBlankLineIsAColumnName) {
  const char text[] = "\n\xEF\xBB\xBF\n\xEF\xBB\xBF\n";
  Count count = CountInChunks(text, 2);
  EXPECT_EQ(count.records, 1u);
  EXPECT_THAT(count.columns, ElementsAre("\xEF\xBB\xBF"));
  Result<CsvTable> table = ParseCsv(text, "bom.csv");
  ASSERT_TRUE(table.ok());
  EXPECT_THAT(table->columns, ElementsAre("\xEF\xBB\xBF"));
  // Written back, the name is quoted so it does not turn into a BOM.
  EXPECT_EQ(WriteCsv(table->columns, table->rows),
            "\"\xEF\xBB\xBF\"\n\xEF\xBB\xBF\n");
}

TEST(CsvRecordCounterTest, TrickyFileInAnyChunking) {
  // Records by hand: header, 1, 2, 3, 4 (blank lines skipped) = 4 data.
  for (size_t chunk : {1, 2, 3, 4, 5, 7, 4095}) {
    Count count = CountInChunks(kTricky, chunk);
    EXPECT_TRUE(count.ok) << chunk;
    EXPECT_EQ(count.records, 4u) << chunk;
    EXPECT_THAT(count.columns, ElementsAre("id", "note, with comma"));
  }
}

TEST(CsvRecordCounterTest, BreastCancerInAnyChunking) {
  // 569 records and 31 columns per tests/data/README.md.
  std::string text = BreastCancer();
  for (size_t chunk : {1, 2, 3, 4095, 1 << 20}) {
    Count count = CountInChunks(text, chunk);
    EXPECT_TRUE(count.ok);
    EXPECT_EQ(count.records, 569u) << chunk;
    EXPECT_EQ(count.columns.size(), 31u) << chunk;
    EXPECT_EQ(count.columns.back(), "diagnosis");
  }
}

// Past the header, whole 64-byte blocks are counted with bit masks; fed
// one byte at a time the counter never sees a whole block, so the two
// must agree on every input. Random texts over the bytes that matter put
// quotes, doubled quotes, CRs, blank lines and quoted line feeds at every
// offset of a block.
TEST(CsvRecordCounterTest, BlockScanAgreesWithByteByByteOnRandomText) {
  const char alphabet[] = {'a', ',', '"', '\n', '\r', 'a', '\n'};
  uint64_t state = 12345;
  auto next = [&state] {  // A fixed LCG, so failures reproduce.
    state = state * 6364136223846793005u + 1442695040888963407u;
    return state >> 33;
  };
  for (int round = 0; round < 400; ++round) {
    std::string text = round % 2 ? "h,\"x\"\r\n" : "h\n";
    size_t length = 64 + next() % 700;
    for (size_t i = 0; i < length; ++i) {
      text.push_back(alphabet[next() % sizeof(alphabet)]);
    }
    Count bytewise = CountInChunks(text, 1);
    for (size_t chunk : {64, 100, 1 << 20}) {
      Count blocks = CountInChunks(text, chunk);
      ASSERT_EQ(blocks.records, bytewise.records) << round << " " << chunk;
      ASSERT_EQ(blocks.ok, bytewise.ok) << round;
      ASSERT_EQ(blocks.columns, bytewise.columns) << round;
    }
  }
}

// A record count known by construction, across many blocks: 10,000 rows
// of 3 fields, one quoted with a comma, a doubled quote and a CRLF inside,
// with CRLF line ends and a blank line every 1,000 rows.
TEST(CsvRecordCounterTest, ManyBlocksOfQuotedRows) {
  std::string text = "id,note,n\r\n";
  for (int i = 0; i < 10000; ++i) {
    text += std::to_string(i) + ",\"a, \"\"b\"\"\r\nc\"," +
            std::to_string(i * 7) + "\r\n";
    if (i % 1000 == 999) text += "\r\n";
  }
  EXPECT_EQ(CountRecords(text), 10000u);
  EXPECT_EQ(CountInChunks(text, 4095).records, 10000u);
}

TEST(ParseCsvTest, TrickyFileFields) {
  Result<CsvTable> table = ParseCsv(kTricky, "tricky.csv");
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  EXPECT_THAT(table->columns, ElementsAre("id", "note, with comma"));
  ASSERT_EQ(table->rows.size(), 4u);
  EXPECT_THAT(table->rows[0], ElementsAre("1", "two\r\nlines"));
  EXPECT_THAT(table->rows[1], ElementsAre("2", "say \"hi\""));
  EXPECT_THAT(table->rows[2], ElementsAre("3", ""));
  EXPECT_THAT(table->rows[3], ElementsAre("4", "\n\n"));
  // Lines: header 1, row "1" 2-3, blank 4, row "2" 5, "3" 6, "4" 7.
  EXPECT_THAT(table->row_lines, ElementsAre(2, 5, 6, 7));
}

TEST(ParseCsvTest, EmptyTrailingFields) {
  Result<CsvTable> table = ParseCsv("a,b,c\n1,,\n,2,\n\"\",,\"\"", "e.csv");
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  ASSERT_EQ(table->rows.size(), 3u);
  EXPECT_THAT(table->rows[0], ElementsAre("1", "", ""));
  EXPECT_THAT(table->rows[1], ElementsAre("", "2", ""));
  EXPECT_THAT(table->rows[2], ElementsAre("", "", ""));
}

TEST(ParseCsvTest, UnterminatedQuoteNamesSourceLineAndField) {
  Result<CsvTable> table = ParseCsv("a,b\n1,2\n3,\"open\n4\n", "in.csv");
  ASSERT_FALSE(table.ok());
  EXPECT_EQ(table.status().message(),
            "in.csv:3: field 2: unterminated quoted field");
}

TEST(ParseCsvTest, WrongFieldCountNamesTheLine) {
  Result<CsvTable> table = ParseCsv("a,b\n1,2\n\"x\ny\",2\n3,4,5\n", "w.csv");
  ASSERT_FALSE(table.ok());
  EXPECT_EQ(table.status().message(),
            "w.csv:5: expected 2 fields as in the header, found 3");
}

TEST(ParseCsvTest, StrayQuoteInUnquotedField) {
  Result<CsvTable> table = ParseCsv("a,b\n1,x\"y\n", "s.csv");
  ASSERT_FALSE(table.ok());
  EXPECT_EQ(table.status().message(),
            "s.csv:2: field 2: stray quote in an unquoted field");
}

TEST(ParseCsvTest, TextAfterClosingQuote) {
  Result<CsvTable> table = ParseCsv("a,b\n\"x\"y,1\n", "t.csv");
  ASSERT_FALSE(table.ok());
  EXPECT_THAT(table.status().message(), HasSubstr("t.csv:2: field 1:"));
}

TEST(ParseCsvTest, EmptyInputAndDuplicateColumns) {
  EXPECT_FALSE(ParseCsv("", "e.csv").ok());
  Result<CsvTable> dup = ParseCsv("a,a\n1,2\n", "d.csv");
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.status().message(), "d.csv:1: duplicate column name 'a'");
}

TEST(ParseCsvTest, BreastCancerShape) {
  Result<CsvTable> table = ParseCsv(BreastCancer(), "breast_cancer.csv");
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  EXPECT_EQ(table->rows.size(), 569u);
  EXPECT_EQ(table->columns.size(), 31u);
  Result<size_t> label = table->ColumnIndex("diagnosis", "bc");
  ASSERT_TRUE(label.ok());
  // 212 malignant records per the data set's documentation.
  size_t malignant = 0;
  for (const auto& row : table->rows) malignant += row[*label] == "M";
  EXPECT_EQ(malignant, 212u);
  EXPECT_FALSE(table->ColumnIndex("nope", "bc").ok());
}

TEST(WriteCsvTest, QuotesOnlyWhenNeeded) {
  std::string text = WriteCsv({"id", "note"}, {{"1", "plain"},
                                               {"2", "a,b"},
                                               {"3", "say \"hi\""},
                                               {"4", "two\nlines"},
                                               {"5", ""}});
  EXPECT_EQ(text,
            "id,note\n1,plain\n2,\"a,b\"\n3,\"say \"\"hi\"\"\"\n"
            "4,\"two\nlines\"\n5,\n");
}

TEST(WriteCsvTest, EmptySoleFieldIsQuotedSoItIsNotABlankLine) {
  std::string text = WriteCsv({"only"}, {{""}, {"x"}});
  EXPECT_EQ(text, "only\n\"\"\nx\n");
  EXPECT_EQ(CountRecords(text), 2u);
}

TEST(WriteCsvTest, RoundTripsTheTrickyFile) {
  Result<CsvTable> table = ParseCsv(kTricky, "tricky.csv");
  ASSERT_TRUE(table.ok());
  std::string text = WriteCsv(table->columns, table->rows);
  Result<CsvTable> again = ParseCsv(text, "again.csv");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->columns, table->columns);
  EXPECT_EQ(again->rows, table->rows);
  // The canonical form is a fixed point.
  EXPECT_EQ(WriteCsv(again->columns, again->rows), text);
}

TEST(MappedFileTest, ReadsBreastCancerLikeReadFile) {
  Result<MappedFile> file =
      MappedFile::Open(SourceDir() / "tests/data/breast_cancer.csv");
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(file->bytes(), BreastCancer());
  EXPECT_FALSE(MappedFile::Open(SourceDir() / "no/such/file").ok());
}

// The issue asks for inferred column types; CSV files had none. Each
// column takes the widest kind its non-empty fields need.
TEST(InferColumnTypesTest, WidestKindPerColumn) {
  std::string csv =
      "id,score,name,blank,mixed\n"
      "1,2.5,ann,,7\n"
      "-2,1e3,\"b, c\",,x\n"
      "+3,4,\"multi\nline\",,8\n";
  EXPECT_EQ(InferColumnTypes(csv, false, 5),
            (std::vector<std::string>{"integer", "real", "text", "text",
                                      "text"}));
}

// The start of a longer file: its last record may be cut ("3.") and is
// left out; a whole file's last record counts even without a newline.
TEST(InferColumnTypesTest, ACutLastRecordIsLeftOut) {
  EXPECT_EQ(InferColumnTypes("n\n1\n2\nabc", true, 1),
            std::vector<std::string>{"integer"});
  EXPECT_EQ(InferColumnTypes("n\n1\n2\nabc", false, 1),
            std::vector<std::string>{"text"});
}

// Only the first kTypeSampleRecords data records are looked at.
TEST(InferColumnTypesTest, SamplesTheFirstRecords) {
  std::string csv = "n\n";
  for (size_t i = 0; i < kTypeSampleRecords; ++i) csv += "1\n";
  EXPECT_EQ(InferColumnTypes(csv + "text\n", false, 1),
            std::vector<std::string>{"integer"});
  csv.erase(csv.size() - 2);  // One record fewer: "text" is sampled.
  EXPECT_EQ(InferColumnTypes(csv + "text\n", false, 1),
            std::vector<std::string>{"text"});
}

}  // namespace
}  // namespace lockstep::data
