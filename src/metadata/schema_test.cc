// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// Schema versions and concurrency, on both backends: exact outcomes for a
// newer store, an older store, a migration failing half way, racing
// processes creating the schema, and concurrent writers.

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/clock.h"
#include "core/files.h"
#include "metadata/metadata_store.h"
#include "metadata/testing_backends.h"

namespace lockstep::metadata {
namespace {

using testing::Backend;
using testing::BackendTest;

bool HasIndex(SqlDatabase* db, const std::string& name) {
  std::string sql = db->dialect() == SqlDialect::kSqlite
                        ? "SELECT count(*) FROM sqlite_master WHERE "
                          "type = 'index' AND name = ?"
                        : "SELECT count(*) FROM pg_indexes WHERE "
                          "schemaname = current_schema() AND indexname = ?";
  auto rows = db->Query(sql, {name});
  return rows.ok() && AsInt((*rows)[0][0]) == 1;
}

int64_t Count(SqlDatabase* db, const std::string& table) {
  auto rows = db->Query("SELECT count(*) FROM " + table);
  return rows.ok() ? AsInt((*rows)[0][0]) : -1;
}

// Makes a version-1 store holding one artifact, as an older lockstep would.
std::unique_ptr<SqlDatabase> MakeV1Store(const std::string& url) {
  auto db = OpenDatabase(url);
  EXPECT_TRUE(db.ok()) << db.status().ToString();
  EXPECT_TRUE(CreateSchemaAtVersion(db->get(), 1).ok());
  EXPECT_TRUE((*db)->Execute("INSERT INTO types (kind, name) VALUES "
                             "('artifact', 'Dataset')").ok());
  EXPECT_TRUE((*db)->Execute(
      "INSERT INTO artifacts (type_id, uri, digest, state, properties, "
      "custom_properties, create_time_ms) SELECT id, 'iris.csv', "
      "'sha256:raw', 'live', '{}', '{}', 1 FROM types").ok());
  return std::move(db).value();
}

class SchemaTest : public BackendTest {};
LOCKSTEP_INSTANTIATE_BACKENDS(SchemaTest);

TEST_P(SchemaTest, NewStoreIsCreatedAtTheNewestVersionOnce) {
  SqlDatabase* db = store_->database();
  EXPECT_EQ(*ReadSchemaVersion(db), kSchemaVersion);
  EXPECT_EQ(Count(db, "schema_version"), 1);
  EXPECT_TRUE(HasIndex(db, "events_by_artifact_type"));
  EXPECT_FALSE(HasIndex(db, "events_by_artifact"));
}

TEST_P(SchemaTest, NewerSchemaIsRefusedNamingBothVersions) {
  ASSERT_TRUE(store_->database()
                  ->Execute("UPDATE schema_version SET version = 99")
                  .ok());
  store_.reset();
  auto reopened = MetadataStore::Open(url_);
  ASSERT_FALSE(reopened.ok());
  EXPECT_EQ(reopened.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(reopened.status().message(),
            "the metadata schema is version 99, newer than version 3 that "
            "this lockstep supports; upgrade lockstep");

  // `store migrate` refuses it the same way and leaves it alone.
  auto db = OpenDatabase(url_);
  int64_t from = 0;
  Status migrated = MigrateSchema(db->get(), &from);
  EXPECT_EQ(migrated.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(from, 99);
  EXPECT_EQ(*ReadSchemaVersion(db->get()), 99);
}

TEST_P(SchemaTest, OlderSchemaIsRefusedUntilMigrateAndNothingIsWritten) {
  std::string url = NewUrl();
  auto db = MakeV1Store(url);

  auto opened = MetadataStore::Open(url);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(opened.status().message(),
            "the metadata schema is version 1 and this lockstep uses version "
            "3; run `lockstep store migrate` to upgrade it (nothing was "
            "written)");
  EXPECT_EQ(*ReadSchemaVersion(db.get()), 1);
  EXPECT_TRUE(HasIndex(db.get(), "events_by_artifact"));
  EXPECT_FALSE(HasIndex(db.get(), "events_by_artifact_type"));
  EXPECT_EQ(Count(db.get(), "artifacts"), 1);
  EXPECT_EQ(Count(db.get(), "types"), 1);

  int64_t from = 0;
  ASSERT_TRUE(MigrateSchema(db.get(), &from).ok());
  EXPECT_EQ(from, 1);
  EXPECT_EQ(*ReadSchemaVersion(db.get()), 3);
  EXPECT_EQ(Count(db.get(), "schema_version"), 1);
  EXPECT_TRUE(HasIndex(db.get(), "events_by_artifact_type"));
  EXPECT_TRUE(HasIndex(db.get(), "runs_by_pipeline_start"));
  EXPECT_FALSE(HasIndex(db.get(), "events_by_artifact"));

  auto after = MetadataStore::Open(url);
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  auto found = (*after)->FindArtifactsByDigest("sha256:raw");
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ(found->at(0).uri, "iris.csv");
}

TEST_P(SchemaTest, MigrationFailingHalfWayLeavesVersionOneIntact) {
  std::string url = NewUrl();
  auto db = MakeV1Store(url);

  // The real steps with a failing statement after the first two indexes
  // were created and before the old ones are dropped.
  std::vector<MigrationStep> steps = SchemaMigrations();
  ASSERT_EQ(steps.size(), 2u);
  auto& statements = steps[0].statements;
  statements.insert(statements.begin() + 2,
                    "CREATE INDEX broken ON no_such_table (x)");
  int64_t from = 0;
  Status failed = MigrateSchemaWith(db.get(), steps, &from);
  EXPECT_FALSE(failed.ok());
  EXPECT_NE(failed.message().find("migrating the metadata schema to "
                                  "version 2"),
            std::string::npos)
      << failed.message();

  EXPECT_EQ(*ReadSchemaVersion(db.get()), 1);
  EXPECT_FALSE(HasIndex(db.get(), "events_by_artifact_type"));
  EXPECT_FALSE(HasIndex(db.get(), "events_by_execution_type"));
  EXPECT_TRUE(HasIndex(db.get(), "events_by_artifact"));
  EXPECT_TRUE(HasIndex(db.get(), "events_by_execution"));
  EXPECT_EQ(Count(db.get(), "artifacts"), 1);
  EXPECT_FALSE(MetadataStore::Open(url).ok());

  // The real migration still works afterwards.
  ASSERT_TRUE(MigrateSchema(db.get(), &from).ok());
  EXPECT_EQ(*ReadSchemaVersion(db.get()), 3);
}

// A store of the previous version (2, before stores were recorded) is
// upgraded in place: its lineage is kept and the `stores` table added
// empty, so no store is claimed until `store migrate` records one.
TEST_P(SchemaTest, MigratingVersionTwoAddsAnEmptyStoresTable) {
  std::string url = NewUrl();
  auto db = OpenDatabase(url);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  ASSERT_TRUE(CreateSchemaAtVersion(db->get(), 2).ok());
  EXPECT_EQ(Count(db->get(), "stores"), -1);  // No such table yet.
  ASSERT_TRUE((*db)->Execute(
      "INSERT INTO types (kind, name) VALUES ('context', 'run')").ok());
  ASSERT_TRUE((*db)->Execute(
      "INSERT INTO contexts (type_id, name, properties, create_time_ms) "
      "SELECT id, 'r1', '{}', 0 FROM types").ok());
  ASSERT_TRUE((*db)->Execute(
      "INSERT INTO runs SELECT 'r1', id, 'iris', 'succeeded', 1, 2, "
      "'runs/r1/manifest.json', 'sha256:m', '{}' FROM contexts").ok());
  EXPECT_EQ(MetadataStore::Open(url).status().message(),
            "the metadata schema is version 2 and this lockstep uses version "
            "3; run `lockstep store migrate` to upgrade it (nothing was "
            "written)");

  int64_t from = 0;
  ASSERT_TRUE(MigrateSchema(db->get(), &from).ok());
  EXPECT_EQ(from, 2);
  EXPECT_EQ(*ReadSchemaVersion(db->get()), 3);
  EXPECT_EQ(Count(db->get(), "stores"), 0);
  auto after = MetadataStore::Open(url);
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ((*after)->GetRun("r1")->pipeline, "iris");
}

// Starts the helper binary with `args`, stderr to `stderr_path`.
pid_t StartHelper(const std::vector<std::string>& args,
                  const std::string& stderr_path) {
  const char* helper = std::getenv("LOCKSTEP_METADATA_HELPER");
  std::string program =
      helper != nullptr
          ? helper
          : (std::filesystem::read_symlink("/proc/self/exe").parent_path() /
             "lockstep_metadata_helper")
                .string();
  pid_t pid = ::fork();
  if (pid == 0) {
    int fd = ::open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 2);
    std::vector<char*> argv{program.data()};
    std::vector<std::string> copy = args;
    for (std::string& arg : copy) {
      argv.push_back(arg.data());
    }
    argv.push_back(nullptr);
    ::execv(program.c_str(), argv.data());
    ::_exit(127);
  }
  return pid;
}

// Runs eight helpers that start at the same instant; returns their exit
// codes and leaves their stderr in dir/helper-N.err.
std::vector<int> RunEightAtOnce(const std::filesystem::path& dir,
                                const std::vector<std::string>& head,
                                const std::vector<std::string>& tail) {
  std::string start = std::to_string(NowUnixMillis() + 500);
  std::vector<pid_t> pids;
  for (int i = 0; i < 8; ++i) {
    std::vector<std::string> args = head;
    args.push_back(start);
    args.insert(args.end(), tail.begin(), tail.end());
    if (!tail.empty()) {
      args.push_back("p" + std::to_string(i));
    }
    pids.push_back(StartHelper(
        args, (dir / ("helper-" + std::to_string(i) + ".err")).string()));
  }
  std::vector<int> codes;
  for (pid_t pid : pids) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    codes.push_back(WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  }
  return codes;
}

TEST_P(SchemaTest, EightProcessesOnAnEmptyStoreCreateTheSchemaOnce) {
  std::string url = NewUrl();
  std::vector<int> codes = RunEightAtOnce(dir_, {"open", url}, {});
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(codes[i], 0) << "helper " << i;
    std::string err =
        *ReadFile(dir_ / ("helper-" + std::to_string(i) + ".err"));
    EXPECT_EQ(err, "") << "helper " << i;
  }
  auto db = OpenDatabase(url);
  ASSERT_TRUE(db.ok());
  EXPECT_EQ(Count(db->get(), "schema_version"), 1);
  EXPECT_EQ(*ReadSchemaVersion(db->get()), kSchemaVersion);
}

TEST(ConcurrencyTest, EightSqliteWritersRecordAllExecutionsWithoutLockErrors) {
  auto dir = *MakeTempDirectory(std::filesystem::temp_directory_path(),
                                "metadata-writers-");
  std::string url = (dir / "metadata.db").string();
  std::vector<int> codes = RunEightAtOnce(dir, {"record", url}, {"1000"});

  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(codes[i], 0) << "writer " << i;
    std::string err =
        *ReadFile(dir / ("helper-" + std::to_string(i) + ".err"));
    EXPECT_EQ(err.find("database is locked"), std::string::npos) << err;
    EXPECT_EQ(err, "") << "writer " << i;
  }
  auto db = OpenDatabase(url);
  ASSERT_TRUE(db.ok());
  EXPECT_EQ(Count(db->get(), "executions"), 8000);
  EXPECT_EQ(Count(db->get(), "events"), 16000);
  EXPECT_EQ(Count(db->get(), "associations"), 8000);
  RemoveAllQuietly(dir);
}

}  // namespace
}  // namespace lockstep::metadata
