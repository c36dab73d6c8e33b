// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// The lineage schema and its versions (docs/formats/metadata-schema.md).
// The schema is created in one transaction that first takes the write
// lock, so processes racing on an empty store create it exactly once.
// Version 1 is the base DDL; each later version is a list of statements.
// A newer binary never migrates on open: `lockstep store migrate` does,
// in one transaction.

#include <functional>
#include <string>
#include <vector>

#include "metadata/metadata_store.h"

namespace lockstep::metadata {

namespace {

// `{id}` becomes the dialect's auto-increment primary key.
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE IF NOT EXISTS schema_version (
  version BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS types (
  id {id},
  kind TEXT NOT NULL,
  name TEXT NOT NULL,
  UNIQUE (kind, name)
);
CREATE TABLE IF NOT EXISTS artifacts (
  id {id},
  type_id BIGINT NOT NULL REFERENCES types(id),
  uri TEXT NOT NULL,
  digest TEXT NOT NULL,
  state TEXT NOT NULL,
  properties TEXT NOT NULL,
  custom_properties TEXT NOT NULL,
  create_time_ms BIGINT NOT NULL,
  removal_reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS artifacts_by_digest ON artifacts (digest);
CREATE TABLE IF NOT EXISTS executions (
  id {id},
  type_id BIGINT NOT NULL REFERENCES types(id),
  name TEXT NOT NULL,
  state TEXT NOT NULL,
  cache_key TEXT NOT NULL,
  properties TEXT NOT NULL,
  create_time_ms BIGINT NOT NULL,
  update_time_ms BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS executions_by_cache_key
  ON executions (cache_key, state);
CREATE TABLE IF NOT EXISTS contexts (
  id {id},
  type_id BIGINT NOT NULL REFERENCES types(id),
  name TEXT NOT NULL,
  properties TEXT NOT NULL,
  create_time_ms BIGINT NOT NULL,
  UNIQUE (type_id, name)
);
CREATE TABLE IF NOT EXISTS events (
  id {id},
  artifact_id BIGINT NOT NULL REFERENCES artifacts(id),
  execution_id BIGINT NOT NULL REFERENCES executions(id),
  type TEXT NOT NULL,
  port TEXT NOT NULL,
  time_ms BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_artifact ON events (artifact_id);
CREATE INDEX IF NOT EXISTS events_by_execution ON events (execution_id);
CREATE TABLE IF NOT EXISTS attributions (
  context_id BIGINT NOT NULL REFERENCES contexts(id),
  artifact_id BIGINT NOT NULL REFERENCES artifacts(id),
  PRIMARY KEY (context_id, artifact_id)
);
CREATE TABLE IF NOT EXISTS associations (
  context_id BIGINT NOT NULL REFERENCES contexts(id),
  execution_id BIGINT NOT NULL REFERENCES executions(id),
  PRIMARY KEY (context_id, execution_id)
);
CREATE INDEX IF NOT EXISTS associations_by_execution
  ON associations (execution_id);
CREATE TABLE IF NOT EXISTS runs (
  run_id TEXT PRIMARY KEY,
  context_id BIGINT NOT NULL REFERENCES contexts(id),
  pipeline TEXT NOT NULL,
  status TEXT NOT NULL,
  started_ms BIGINT NOT NULL,
  finished_ms BIGINT NOT NULL,
  manifest_path TEXT NOT NULL,
  manifest_hash TEXT NOT NULL,
  labels TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_by_start ON runs (started_ms);
CREATE TABLE IF NOT EXISTS snapshots (
  name TEXT NOT NULL,
  version BIGINT NOT NULL,
  artifact_id BIGINT NOT NULL REFERENCES artifacts(id),
  PRIMARY KEY (name, version)
);
)sql";

// Version 2: the lineage walk and `runs list --pipeline` at the scale of
// years of runs. A walk step reads the events of a set of artifacts (or
// executions) of one type; the covering indexes answer it from the index
// alone, without touching the table, and replace v1's single-column ones.
// `runs list --pipeline P --since T` becomes an index range scan.
const std::vector<std::string> kMigrationToV2 = {
    "CREATE INDEX IF NOT EXISTS events_by_artifact_type "
    "ON events (artifact_id, type, execution_id)",
    "CREATE INDEX IF NOT EXISTS events_by_execution_type "
    "ON events (execution_id, type, artifact_id)",
    "DROP INDEX IF EXISTS events_by_artifact",
    "DROP INDEX IF EXISTS events_by_execution",
    "CREATE INDEX IF NOT EXISTS runs_by_pipeline_start "
    "ON runs (pipeline, started_ms)",
};

// Version 3: the stores this database holds the lineage of, each with a
// generation that advances with every retention root it records (a
// finished run, a snapshot). gc compares both with the store's own
// <store>/store-id and <store>/store-generation (store/identity.h) to
// refuse another store's database, a fresh one, or an older copy.
const std::vector<std::string> kMigrationToV3 = {
    "CREATE TABLE IF NOT EXISTS stores ("
    "store_id TEXT PRIMARY KEY, "
    "generation BIGINT NOT NULL, "
    "bound_ms BIGINT NOT NULL)",
};

// Version 4: a replay's cached executions (ReplayExecutions) keep only
// what differs from the execution they repeat (run_id, duration_ms,
// produced_by_run) and name it in `properties_of`; readers merge the two
// (metadata_store.cc). A 1,000-step replay then writes ~150 KB instead
// of copying ~1.1 MB of key parts and invocations. 0 means none.
const std::vector<std::string> kMigrationToV4 = {
    "ALTER TABLE executions ADD COLUMN properties_of BIGINT NOT NULL "
    "DEFAULT 0",
};

// Version 5: a no-op run (the replay fast path) writes one row here and
// leaves the copy of the replayed run's executions to the next process
// that opens the store to read or write lineage (MaterializeReplays).
// `contexts` holds the replay's context ids, joined by commas.
//
// It also adds `cache_generation`, one number that triggers advance in
// the transaction of every write that could change what a cache lookup
// answers (MetadataStore::CacheGeneration): a no-op run that finds the
// number its record saved skips checking each step's answer. SQLite's
// row triggers leave out a replay's cached copies (never answers);
// PostgreSQL's statement triggers count every write, which only makes
// more runs check.
const std::vector<std::string> kMigrationToV5 = {
    "CREATE TABLE IF NOT EXISTS pending_replays ("
    "run_id TEXT PRIMARY KEY, "
    "from_context BIGINT NOT NULL, "
    "from_run TEXT NOT NULL, "
    "contexts TEXT NOT NULL, "
    "time_ms BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS cache_generation (n BIGINT NOT NULL)",
    "INSERT INTO cache_generation (n) SELECT 0 WHERE NOT EXISTS "
    "(SELECT 1 FROM cache_generation)",
};

// SQLite: a row trigger per change that can alter an answer.
std::vector<std::string> SqliteCacheGenerationTriggers() {
  const std::string bump =
      " BEGIN UPDATE cache_generation SET n = n + 1; END";
  const std::string of_complete =
      "(SELECT state FROM executions WHERE id = %s.execution_id) = "
      "'complete'";
  auto event_of_complete = [&](const char* row) {
    std::string condition = of_complete;
    condition.replace(condition.find("%s"), 2, row);
    return condition;
  };
  return {
      "CREATE TRIGGER IF NOT EXISTS cache_generation_execution_insert AFTER INSERT ON "
      "executions WHEN NEW.state = 'complete'" + bump,
      "CREATE TRIGGER IF NOT EXISTS cache_generation_execution_update AFTER UPDATE ON "
      "executions WHEN OLD.state = 'complete' OR NEW.state = 'complete'" +
          bump,
      "CREATE TRIGGER IF NOT EXISTS cache_generation_execution_delete AFTER DELETE ON "
      "executions WHEN OLD.state = 'complete'" + bump,
      "CREATE TRIGGER IF NOT EXISTS cache_generation_event_insert AFTER INSERT ON events "
      "WHEN " + event_of_complete("NEW") + bump,
      "CREATE TRIGGER IF NOT EXISTS cache_generation_event_update AFTER UPDATE ON events" +
          bump,
      "CREATE TRIGGER IF NOT EXISTS cache_generation_event_delete AFTER DELETE ON events "
      "WHEN " + event_of_complete("OLD") + bump,
      "CREATE TRIGGER IF NOT EXISTS cache_generation_artifact_update AFTER UPDATE OF "
      "digest, type_id ON artifacts" + bump,
      "CREATE TRIGGER IF NOT EXISTS cache_generation_artifact_delete AFTER DELETE ON "
      "artifacts" + bump,
      "CREATE TRIGGER IF NOT EXISTS cache_generation_type_update AFTER UPDATE ON types" +
          bump,
      "CREATE TRIGGER IF NOT EXISTS cache_generation_type_delete AFTER DELETE ON types" +
          bump,
  };
}

// PostgreSQL: one function, a statement trigger per table.
std::vector<std::string> PostgresqlCacheGenerationTriggers() {
  std::vector<std::string> statements = {
      "CREATE OR REPLACE FUNCTION lockstep_bump_cache_generation() "
      "RETURNS trigger LANGUAGE plpgsql AS "
      "'BEGIN UPDATE cache_generation SET n = n + 1; RETURN NULL; END'"};
  for (const char* table : {"executions", "events", "artifacts", "types"}) {
    statements.push_back(std::string("CREATE OR REPLACE TRIGGER "
                                     "cache_generation_") +
                         table + " AFTER INSERT OR UPDATE OR DELETE ON " +
                         table +
                         " FOR EACH STATEMENT EXECUTE FUNCTION "
                         "lockstep_bump_cache_generation()");
  }
  return statements;
}

std::string ForDialect(std::string sql, SqlDialect dialect) {
  const std::string placeholder = "{id}";
  const std::string id = dialect == SqlDialect::kSqlite
                             ? "INTEGER PRIMARY KEY"
                             : "BIGSERIAL PRIMARY KEY";
  for (size_t at = sql.find(placeholder); at != std::string::npos;
       at = sql.find(placeholder, at)) {
    sql.replace(at, placeholder.size(), id);
  }
  return sql;
}

Status VersionMismatch(int64_t stored) {
  if (stored < kSchemaVersion) {
    return Status::FailedPrecondition(
        "the metadata schema is version " + std::to_string(stored) +
        " and this lockstep uses version " + std::to_string(kSchemaVersion) +
        "; run `lockstep store migrate` to upgrade it (nothing was written)");
  }
  return Status::FailedPrecondition(
      "the metadata schema is version " + std::to_string(stored) +
      ", newer than version " + std::to_string(kSchemaVersion) +
      " that this lockstep supports; upgrade lockstep");
}

// Applies the steps after `from` (0: an empty database) inside the caller's
// transaction and records the new version.
Status ApplySteps(SqlDatabase* db, int64_t from, int64_t to,
                  const std::vector<MigrationStep>& steps) {
  if (from == 0) {
    RETURN_IF_ERROR(db->ExecuteScript(ForDialect(kSchemaV1, db->dialect())));
    RETURN_IF_ERROR(
        db->Execute("INSERT INTO schema_version (version) VALUES (1)"));
    from = 1;
  }
  for (const MigrationStep& step : steps) {
    if (step.to_version <= from || step.to_version > to) {
      continue;
    }
    for (const std::string& statement : step.statements) {
      RETURN_IF_ERROR(db->Execute(statement).WithContext(
          "migrating the metadata schema to version " +
          std::to_string(step.to_version)));
    }
    const std::vector<std::string>& own =
        db->dialect() == SqlDialect::kSqlite ? step.sqlite_statements
                                             : step.postgresql_statements;
    for (const std::string& statement : own) {
      RETURN_IF_ERROR(db->Execute(statement).WithContext(
          "migrating the metadata schema to version " +
          std::to_string(step.to_version)));
    }
  }
  return db->Execute("UPDATE schema_version SET version = ?", {to});
}

// Runs `body` in a write transaction: commit on success, rollback on error.
Status InWriteTransaction(SqlDatabase* db,
                          const std::function<Status()>& body) {
  RETURN_IF_ERROR(db->BeginWrite());
  Status status = body();
  if (!status.ok()) {
    (void)db->Rollback();
    return status;
  }
  return db->Commit();
}

}  // namespace

std::vector<MigrationStep> SchemaMigrations() {
  return {{2, kMigrationToV2},
          {3, kMigrationToV3},
          {4, kMigrationToV4},
          {.to_version = 5,
           .statements = kMigrationToV5,
           .sqlite_statements = SqliteCacheGenerationTriggers(),
           .postgresql_statements = PostgresqlCacheGenerationTriggers()}};
}

Result<int64_t> ReadSchemaVersion(SqlDatabase* db) {
  std::string probe = db->dialect() == SqlDialect::kSqlite
                          ? "SELECT count(*) FROM sqlite_master WHERE "
                            "type='table' AND name='schema_version'"
                          : "SELECT count(*) FROM information_schema.tables "
                            "WHERE table_name='schema_version' AND "
                            "table_schema=current_schema()";
  ASSIGN_OR_RETURN(auto tables, db->Query(probe));
  if (tables.empty() || AsInt(tables[0][0]) == 0) {
    return int64_t{0};
  }
  ASSIGN_OR_RETURN(auto rows, db->Query("SELECT version FROM schema_version"));
  if (rows.empty()) {
    return int64_t{0};
  }
  return AsInt(rows[0][0]);
}

Status CreateSchemaAtVersion(SqlDatabase* db, int64_t version) {
  return InWriteTransaction(db, [&]() -> Status {
    ASSIGN_OR_RETURN(int64_t stored, ReadSchemaVersion(db));
    if (stored != 0) {
      return Status::AlreadyExists("the metadata schema already exists");
    }
    return ApplySteps(db, 0, version, SchemaMigrations());
  });
}

Status EnsureSchema(SqlDatabase* db) {
  // The common case reads only, so opening never takes the write lock.
  ASSIGN_OR_RETURN(int64_t version, ReadSchemaVersion(db));
  if (version == kSchemaVersion) {
    return Status::Ok();
  }
  if (version != 0) {
    return VersionMismatch(version);
  }

  // An empty database: create the newest schema under the write lock, after
  // checking again, since another process may have created it meanwhile.
  return InWriteTransaction(db, [&]() -> Status {
    ASSIGN_OR_RETURN(int64_t again, ReadSchemaVersion(db));
    if (again == 0) {
      return ApplySteps(db, 0, kSchemaVersion, SchemaMigrations());
    }
    return again == kSchemaVersion ? Status::Ok() : VersionMismatch(again);
  });
}

Status MigrateSchemaWith(SqlDatabase* db,
                         const std::vector<MigrationStep>& steps,
                         int64_t* from_version) {
  ASSIGN_OR_RETURN(*from_version, ReadSchemaVersion(db));
  if (*from_version > kSchemaVersion) {
    return VersionMismatch(*from_version);
  }
  if (*from_version == kSchemaVersion) {
    return Status::Ok();
  }
  // Every step and the version bump share one transaction: a failure half
  // way rolls all of it back and leaves the old schema as it was.
  return InWriteTransaction(db, [&]() -> Status {
    ASSIGN_OR_RETURN(int64_t stored, ReadSchemaVersion(db));
    *from_version = stored;
    if (stored >= kSchemaVersion) {
      return stored == kSchemaVersion ? Status::Ok()
                                      : VersionMismatch(stored);
    }
    return ApplySteps(db, stored, kSchemaVersion, steps);
  });
}

Status MigrateSchema(SqlDatabase* db, int64_t* from_version) {
  return MigrateSchemaWith(db, SchemaMigrations(), from_version);
}

}  // namespace lockstep::metadata
