// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// A throwaway PostgreSQL server for tests and benchmarks: initdb in a temp
// folder, postgres listening on 127.0.0.1 at a free port, one fresh
// database per test, and a stop by the postmaster's PID at the end. As
// root, the server runs as the `postgres` user (postgres refuses root).

#ifndef LOCKSTEP_METADATA_TESTING_PG_H_
#define LOCKSTEP_METADATA_TESTING_PG_H_

#include <filesystem>
#include <memory>
#include <string>

#include "core/status.h"

namespace lockstep::metadata::testing {

struct TestPostgresOptions {
  // Durability off (fsync, synchronous_commit) for fast unit tests; the
  // benchmark turns it back on to measure what a real server does.
  bool durable = false;
};

class TestPostgres {
 public:
  // Starts a server; Unavailable (with the server log's tail) on failure.
  static Result<std::unique_ptr<TestPostgres>> Start(
      const TestPostgresOptions& options = {});
  ~TestPostgres();

  TestPostgres(const TestPostgres&) = delete;
  TestPostgres& operator=(const TestPostgres&) = delete;

  // Creates a new empty database and returns its libpq URL.
  Result<std::string> CreateDatabase();

  // The URL of database `name` on this server.
  std::string Url(const std::string& name) const;

  // Stops the server (SIGINT to the postmaster, wait) and removes its files.
  void Stop();

 private:
  TestPostgres() = default;

  std::filesystem::path base_;
  int port_ = 0;
  long pid_ = 0;
  int databases_ = 0;
};

}  // namespace lockstep::metadata::testing

#endif  // LOCKSTEP_METADATA_TESTING_PG_H_
