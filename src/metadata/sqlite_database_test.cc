// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include <gtest/gtest.h>

#include "metadata/sql.h"

namespace lockstep::metadata {
namespace {

// A failed script said SQLite's message twice ("SQLite script failed:
// unable to open database file: unable to open database file", brk-P
// finding 7).
TEST(SqliteDatabaseTest, SaysAFailedScriptsErrorOnce) {
  auto database = OpenSqlite(":memory:");
  ASSERT_TRUE(database.ok()) << database.status().message();
  Status failed = (*database)->ExecuteScript("SELECT * FROM nowhere;");
  EXPECT_EQ(failed.message(), "SQLite script failed: no such table: nowhere");
}

}  // namespace
}  // namespace lockstep::metadata
