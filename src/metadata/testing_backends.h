// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// One test suite, two backends (ML Metadata's pattern): a fixture
// parameterised over SQLite and PostgreSQL that hands each test a fresh,
// empty database URL. The PostgreSQL server is started once per test
// binary on first use and stopped at exit; when it cannot start, the
// PostgreSQL cases fail (they never skip).

#ifndef LOCKSTEP_METADATA_TESTING_BACKENDS_H_
#define LOCKSTEP_METADATA_TESTING_BACKENDS_H_

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>

#include "metadata/metadata_store.h"
#include "metadata/testing_pg.h"

namespace lockstep::metadata::testing {

enum class Backend { kSqlite, kPostgresql };

// "Sqlite" or "Postgresql", for test names.
std::string BackendName(const ::testing::TestParamInfo<Backend>& info);

// The process's shared PostgreSQL server, started on the first call.
Result<TestPostgres*> SharedPostgres();

class BackendTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override;
  void TearDown() override;

  // A new empty database of this test's backend.
  std::string NewUrl();

  // The SQLite file behind a URL from NewUrl (SQLite only).
  static std::string SqlitePath(const std::string& url);

  std::filesystem::path dir_;
  std::string url_;                        // The database store_ opened.
  std::unique_ptr<MetadataStore> store_;   // Opened on url_ by SetUp.

 private:
  int files_ = 0;
};

}  // namespace lockstep::metadata::testing

#define LOCKSTEP_INSTANTIATE_BACKENDS(suite)                          \
  INSTANTIATE_TEST_SUITE_P(                                           \
      Backends, suite,                                                \
      ::testing::Values(                                              \
          ::lockstep::metadata::testing::Backend::kSqlite,            \
          ::lockstep::metadata::testing::Backend::kPostgresql),       \
      ::lockstep::metadata::testing::BackendName)

#endif  // LOCKSTEP_METADATA_TESTING_BACKENDS_H_
