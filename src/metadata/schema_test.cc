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
            "the metadata schema is version 99, newer than version 5 that "
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
            "5; run `lockstep store migrate` to upgrade it (nothing was "
            "written)");
  EXPECT_EQ(*ReadSchemaVersion(db.get()), 1);
  EXPECT_TRUE(HasIndex(db.get(), "events_by_artifact"));
  EXPECT_FALSE(HasIndex(db.get(), "events_by_artifact_type"));
  EXPECT_EQ(Count(db.get(), "artifacts"), 1);
  EXPECT_EQ(Count(db.get(), "types"), 1);

  int64_t from = 0;
  ASSERT_TRUE(MigrateSchema(db.get(), &from).ok());
  EXPECT_EQ(from, 1);
  EXPECT_EQ(*ReadSchemaVersion(db.get()), kSchemaVersion);
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
  ASSERT_EQ(steps.size(), 4u);
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
  EXPECT_EQ(*ReadSchemaVersion(db.get()), kSchemaVersion);
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
  EXPECT_EQ(Count(db->get(), "pending_replays"), -1);
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
            "5; run `lockstep store migrate` to upgrade it (nothing was "
            "written)");

  int64_t from = 0;
  ASSERT_TRUE(MigrateSchema(db->get(), &from).ok());
  EXPECT_EQ(from, 2);
  EXPECT_EQ(*ReadSchemaVersion(db->get()), kSchemaVersion);
  EXPECT_EQ(Count(db->get(), "stores"), 0);
  EXPECT_EQ(Count(db->get(), "pending_replays"), 0);  // Version 5.
  auto after = MetadataStore::Open(url);
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ((*after)->GetRun("r1")->pipeline, "iris");
}

// A version-2 store, with a run's execution and a replay's cached copy
// of it as v2 wrote it (all properties copied), migrates to the current version:
// both read back unchanged, and a replay of either run now references
// the original's properties and reads back as v2's copy did.
TEST_P(SchemaTest, VersionTwoStoreMigratesAndItsRunsReplay) {
  std::string url = NewUrl();
  auto db = OpenDatabase(url);
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(CreateSchemaAtVersion(db->get(), 2).ok());
  const Json original = {{"run_id", "r1"},
                         {"cache_key_parts", {{"argv", {"cp"}}}},
                         {"invocation", {{"step", "s"}}},
                         {"duration_ms", 12},
                         {"stdout", "sha256:o"},
                         {"stderr", "sha256:e"}};
  const Json v2_copy = {{"run_id", "r2"},
                        {"cache_key_parts", {{"argv", {"cp"}}}},
                        {"invocation", {{"step", "s"}}},
                        {"duration_ms", 0},
                        {"produced_by_run", "r1"}};
  for (const char* sql :
       {"INSERT INTO types (id, kind, name) VALUES (1, 'execution', "
        "'command'), (2, 'context', 'run'), (3, 'artifact', 'Artifact')",
        "INSERT INTO contexts (type_id, name, properties, create_time_ms) "
        "VALUES (2, 'r1', '{}', 1), (2, 'r2', '{}', 2)",
        "INSERT INTO artifacts (id, type_id, uri, digest, state, properties, "
        "custom_properties, create_time_ms) VALUES (1, 3, '', 'sha256:a', "
        "'live', '{}', '{}', 1)"}) {
    ASSERT_TRUE((*db)->Execute(sql).ok()) << sql;
  }
  int64_t id = 0;
  for (const Json* properties : {&original, &v2_copy}) {
    ++id;
    ASSERT_TRUE((*db)->Execute(
        "INSERT INTO executions (id, type_id, name, state, cache_key, "
        "properties, create_time_ms, update_time_ms) VALUES (?, 1, 's', ?, "
        "'sha256:k', ?, 1, 1)",
        {id, std::string(id == 1 ? "complete" : "cached"),
         properties->dump()}).ok());
    ASSERT_TRUE((*db)->Execute("INSERT INTO associations (context_id, "
                               "execution_id) SELECT id, ? FROM contexts "
                               "WHERE name = ?",
                               {id, "r" + std::to_string(id)}).ok());
    ASSERT_TRUE((*db)->Execute("INSERT INTO events (artifact_id, "
                               "execution_id, type, port, time_ms) VALUES "
                               "(1, ?, 'output', 'o', 1)",
                               {id}).ok());
  }
  int64_t from = 0;
  ASSERT_TRUE(MigrateSchema(db->get(), &from).ok());
  EXPECT_EQ(from, 2);
  EXPECT_EQ(*ReadSchemaVersion(db->get()), kSchemaVersion);

  auto store = MetadataStore::Open(url);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ((*store)->GetExecution(1)->properties, original);
  EXPECT_EQ((*store)->GetExecution(2)->properties, v2_copy);

  int64_t r3 = *(*store)->PutContext({.type = "run", .name = "r3"});
  int64_t r4 = *(*store)->PutContext({.type = "run", .name = "r4"});
  int64_t r1 = *(*store)->PutContext({.type = "run", .name = "r1"});
  int64_t r2 = *(*store)->PutContext({.type = "run", .name = "r2"});
  ASSERT_EQ(*(*store)->ReplayExecutions(r1, "r1", {r3}, "r3"), 1);
  ASSERT_EQ(*(*store)->ReplayExecutions(r3, "r3", {r4}, "r4"), 1);
  Json expected = v2_copy;
  for (auto [context, run] : {std::pair{r3, "r3"}, std::pair{r4, "r4"}}) {
    auto copies = *(*store)->ExecutionsInContext(context);
    ASSERT_EQ(copies.size(), 1u);
    expected["run_id"] = run;
    EXPECT_EQ(copies[0].properties, expected) << run;
    EXPECT_EQ(copies[0].state, ExecutionState::kCached);
    auto rows = (*db)->Query("SELECT properties_of, properties FROM "
                             "executions WHERE id = ?", {copies[0].id});
    ASSERT_TRUE(rows.ok());
    EXPECT_EQ(AsInt((*rows)[0][0]), 1) << run;  // The original, not r3's.
    EXPECT_LT(AsText((*rows)[0][1]).size(), 80u) << run;
  }
  // Replaying the v2 copy's run names the run that really produced it.
  int64_t r5 = *(*store)->PutContext({.type = "run", .name = "r5"});
  ASSERT_EQ(*(*store)->ReplayExecutions(r2, "r2", {r5}, "r5"), 1);
  auto from_copy = (*store)->ExecutionsInContext(r5);
  ASSERT_EQ(from_copy->size(), 1u);
  EXPECT_EQ(from_copy->at(0).properties["produced_by_run"], "r1");
  EXPECT_EQ(from_copy->at(0).properties["cache_key_parts"],
            original["cache_key_parts"]);
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
