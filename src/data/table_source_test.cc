// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "data/table_source.h"

#include <gtest/gtest.h>

#include "data/test_util.h"

namespace lockstep::data {
namespace {

TEST(TableSourceTest, ParsesUrlsAndHidesPasswords) {
  auto sqlite = ParseTableUrl("sqlite:///data/x.db?table=my%20t");
  ASSERT_TRUE(sqlite.ok());
  EXPECT_EQ(sqlite->location, "/data/x.db");
  EXPECT_EQ(sqlite->table, "my t");

  auto pg = ParseTableUrl(
      "postgresql://u:secret@127.0.0.1:5432/db?sslmode=disable&"
      "query=SELECT%201");
  ASSERT_TRUE(pg.ok());
  EXPECT_EQ(pg->location,
            "postgresql://u:secret@127.0.0.1:5432/db?sslmode=disable");
  EXPECT_EQ(pg->query, "SELECT 1");
  EXPECT_EQ(pg->display.find("secret"), std::string::npos);

  EXPECT_TRUE(ParseTableUrl("sqlite:///x.db").status().IsInvalidArgument());
  EXPECT_TRUE(ParseTableUrl("sqlite:///x.db?table=a&query=b")
                  .status()
                  .IsInvalidArgument());
  EXPECT_TRUE(ParseTableUrl("mysql://x?table=t").status().IsInvalidArgument());
}

TEST(TableSourceTest, QuotesOnlyWhenNeeded) {
  std::string out;
  AppendCsvField(&out, "plain", false);
  out += '|';
  AppendCsvField(&out, "", true);
  out += '|';
  AppendCsvField(&out, "", false);
  out += '|';
  AppendCsvField(&out, "a\"b,c\r\n", false);
  EXPECT_EQ(out, "plain||\"\"|\"a\"\"b,c\r\n\"");
}

TEST(TableSourceTest, RealsAreFormattedAsPythonRepr) {
  // The expected text is Python 3's own repr() of the same doubles.
  std::vector<double> values = {3.0,    1.5,     0.1,       1e16,
                                1e15,   123456.789, 1e-5,   0.0001,
                                -2.5e-300, 1.7976931348623157e308, 100.0};
  std::string literals = "3.0,1.5,0.1,1e16,1e15,123456.789,1e-5,0.0001,"
                         "-2.5e-300,1.7976931348623157e308,100.0";
  std::string python = testing::Shell(
      "python3 -c 'for v in [" + literals + "]: print(repr(v))'");
  std::vector<std::string> expected;
  size_t start = 0;
  while (start <= python.size()) {
    size_t end = python.find('\n', start);
    if (end == std::string::npos) end = python.size();
    expected.push_back(python.substr(start, end - start));
    start = end + 1;
  }
  ASSERT_EQ(expected.size(), values.size()) << python;
  for (size_t i = 0; i < values.size(); ++i) {
    EXPECT_EQ(FormatReal(values[i]), expected[i]);
  }
  EXPECT_EQ(FormatReal(1e16), "1e+16");
}

}  // namespace
}  // namespace lockstep::data
