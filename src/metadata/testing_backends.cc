// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "metadata/testing_backends.h"

#include "core/files.h"

namespace lockstep::metadata::testing {

std::string BackendName(const ::testing::TestParamInfo<Backend>& info) {
  return info.param == Backend::kSqlite ? "Sqlite" : "Postgresql";
}

Result<TestPostgres*> SharedPostgres() {
  // Started once; its destructor at exit stops the server by its PID.
  static Result<std::unique_ptr<TestPostgres>>* server =
      new Result<std::unique_ptr<TestPostgres>>(TestPostgres::Start());
  static struct Stopper {
    ~Stopper() {
      if (server->ok()) {
        (*server)->get()->Stop();
      }
    }
  } stopper;
  if (!server->ok()) {
    return server->status();
  }
  return server->value().get();
}

void BackendTest::SetUp() {
  dir_ = *MakeTempDirectory(std::filesystem::temp_directory_path(),
                            "metadata-");
  url_ = NewUrl();
  ASSERT_FALSE(url_.empty());
  auto opened = MetadataStore::Open(url_);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  store_ = std::move(opened).value();
}

void BackendTest::TearDown() {
  store_.reset();
  RemoveAllQuietly(dir_);
}

std::string BackendTest::NewUrl() {
  if (GetParam() == Backend::kSqlite) {
    return "sqlite:" +
           (dir_ / ("db" + std::to_string(++files_) + ".sqlite")).string();
  }
  auto server = SharedPostgres();
  EXPECT_TRUE(server.ok()) << "the test PostgreSQL server did not start: "
                           << server.status().ToString();
  if (!server.ok()) {
    return "";
  }
  auto url = (*server)->CreateDatabase();
  EXPECT_TRUE(url.ok()) << url.status().ToString();
  return url.ok() ? *url : "";
}

std::string BackendTest::SqlitePath(const std::string& url) {
  return url.starts_with("sqlite:") ? url.substr(7) : url;
}

}  // namespace lockstep::metadata::testing
