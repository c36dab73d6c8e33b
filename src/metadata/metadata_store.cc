// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "metadata/metadata_store.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <system_error>
#include <thread>

#include "core/canonical_json.h"
#include "core/clock.h"
#include "core/files.h"
#include "core/log.h"

namespace lockstep::metadata {

namespace {

// A busy database is retried this many times (with growing sleeps) before
// Aborted reaches the caller: about 30 s of contention in all.
constexpr int kMaxTransactionAttempts = 60;

Json ParseStoredJson(const SqlValue& value) {
  Json parsed = ParseJsonOrDiscarded(AsText(value));
  return parsed.is_discarded() ? Json::object() : parsed;
}

// Parses a stored JSON object keeping only its top-level members that are
// not objects or arrays: the cache lookup needs run_id, not the bulky key
// parts and invocation, and building those cost more than the query.
Json ParseTopLevelScalars(const SqlValue& value) {
  Json::parser_callback_t keep = [](int depth, Json::parse_event_t event,
                                    Json& parsed) {
    if (depth == 1 && (event == Json::parse_event_t::object_start ||
                       event == Json::parse_event_t::array_start)) {
      return false;
    }
    (void)parsed;
    return true;
  };
  Json parsed = Json::parse(AsText(value), keep, false);
  if (!parsed.is_object()) {
    return Json::object();
  }
  // The parser leaves some skipped members behind as "discarded" values.
  for (auto it = parsed.begin(); it != parsed.end();) {
    it = it->is_discarded() ? parsed.erase(it) : std::next(it);
  }
  return parsed;
}

constexpr const char* kArtifactColumns =
    "a.id, t.name, a.uri, a.digest, a.state, a.properties, "
    "a.custom_properties, a.create_time_ms, a.removal_reason";

Artifact ArtifactFromRow(const SqlRow& row) {
  Artifact artifact;
  artifact.id = AsInt(row[0]);
  artifact.type = AsText(row[1]);
  artifact.uri = AsText(row[2]);
  artifact.digest = AsText(row[3]);
  artifact.state = AsText(row[4]);
  artifact.properties = ParseStoredJson(row[5]);
  artifact.custom_properties = ParseStoredJson(row[6]);
  artifact.create_time_ms = AsInt(row[7]);
  artifact.removal_reason = AsText(row[8]);
  return artifact;
}

// The last column is the properties of the execution this one repeats
// (schema v4's properties_of; NULL when none).
constexpr const char* kExecutionColumns =
    "e.id, t.name, e.name, e.state, e.cache_key, e.properties, "
    "e.create_time_ms, e.update_time_ms, (SELECT p.properties FROM "
    "executions p WHERE p.id = e.properties_of AND e.properties_of <> 0)";

// Members of a repeated execution's properties that only a real
// execution has, so a replay's cached copy does not inherit them.
constexpr const char* kRunOnlyProperties[] = {"stdout", "stderr", "attempts",
                                              "message"};

// A replay's cached execution: the repeated one's properties without
// what only it had, with this execution's own members over them. The
// same object the v2 replay copied into every row.
Json MergedProperties(const SqlValue& repeated, Json own) {
  Json merged = ParseStoredJson(repeated);
  for (const char* name : kRunOnlyProperties) {
    merged.erase(name);
  }
  if (!own.is_object()) {
    return merged;
  }
  for (auto& [name, value] : own.items()) {
    merged[name] = std::move(value);
  }
  return merged;
}

Execution ExecutionFromRow(const SqlRow& row) {
  Execution execution;
  execution.id = AsInt(row[0]);
  execution.type = AsText(row[1]);
  execution.name = AsText(row[2]);
  execution.state = ParseExecutionState(AsText(row[3]));
  execution.cache_key = AsText(row[4]);
  execution.properties = ParseStoredJson(row[5]);
  if (!IsNull(row[8])) {
    execution.properties =
        MergedProperties(row[8], std::move(execution.properties));
  }
  execution.create_time_ms = AsInt(row[6]);
  execution.update_time_ms = AsInt(row[7]);
  return execution;
}

constexpr const char* kRunColumns =
    "run_id, context_id, pipeline, status, started_ms, finished_ms, "
    "manifest_path, manifest_hash, labels";

Run RunFromRow(const SqlRow& row) {
  Run run;
  run.run_id = AsText(row[0]);
  run.context_id = AsInt(row[1]);
  run.pipeline = AsText(row[2]);
  run.status = AsText(row[3]);
  run.started_ms = AsInt(row[4]);
  run.finished_ms = AsInt(row[5]);
  run.manifest_path = AsText(row[6]);
  run.manifest_hash = AsText(row[7]);
  run.labels = ParseStoredJson(row[8]);
  return run;
}

Event EventFromRow(const SqlRow& row) {
  Event event;
  event.artifact_id = AsInt(row[0]);
  event.execution_id = AsInt(row[1]);
  event.type = AsText(row[2]) == "output" ? EventType::kOutput
                                          : EventType::kInput;
  event.port = AsText(row[3]);
  event.time_ms = AsInt(row[4]);
  return event;
}

// Returns the id of the type (kind, name), creating it when absent.
Result<int64_t> TypeId(SqlDatabase* db, const char* kind,
                       const std::string& name) {
  const char* select = "SELECT id FROM types WHERE kind = ? AND name = ?";
  ASSIGN_OR_RETURN(auto rows, db->Query(select, {kind, name}));
  if (!rows.empty()) {
    return AsInt(rows[0][0]);
  }
  ASSIGN_OR_RETURN(auto inserted,
                   db->Query("INSERT INTO types (kind, name) VALUES (?, ?) "
                             "RETURNING id",
                             {kind, name}));
  return AsInt(inserted[0][0]);
}

// The artifact id of a batch input: an output of an earlier record of the
// same batch (whose ids are assigned by then).
Result<int64_t> BatchOutputId(const std::vector<ExecutionRecord>& records,
                              size_t current, const BatchInput& input) {
  if (input.record >= current) {
    return Status::InvalidArgument("batch input '" + input.port +
                                   "' refers to a later record");
  }
  for (const auto& [port, artifact] : records[input.record].outputs) {
    if (port == input.output) {
      return artifact.id;
    }
  }
  return Status::InvalidArgument("batch input '" + input.port +
                                 "': the producing record has no output '" +
                                 input.output + "'");
}

}  // namespace

std::string_view ExecutionStateName(ExecutionState state) {
  switch (state) {
    case ExecutionState::kNew:
      return "new";
    case ExecutionState::kRunning:
      return "running";
    case ExecutionState::kComplete:
      return "complete";
    case ExecutionState::kFailed:
      return "failed";
    case ExecutionState::kCached:
      return "cached";
    case ExecutionState::kCancelled:
      return "cancelled";
    case ExecutionState::kSkipped:
      return "skipped";
  }
  return "new";
}

ExecutionState ParseExecutionState(std::string_view name) {
  for (auto state : {ExecutionState::kNew, ExecutionState::kRunning,
                     ExecutionState::kComplete, ExecutionState::kFailed,
                     ExecutionState::kCached, ExecutionState::kCancelled,
                     ExecutionState::kSkipped}) {
    if (ExecutionStateName(state) == name) {
      return state;
    }
  }
  return ExecutionState::kNew;
}

std::string MetadataStore::DefaultUrl(const std::filesystem::path& store_root,
                                      const std::string& url_override) {
  if (!url_override.empty()) {
    return url_override;
  }
  if (const char* env = std::getenv("LOCKSTEP_METADATA");
      env != nullptr && *env != '\0') {
    return env;
  }
  return (store_root / "metadata.db").string();
}

bool IsPostgresqlUrl(std::string_view url) {
  return url.starts_with("postgresql://") || url.starts_with("postgres://");
}

std::string MetadataUrlProblem(const std::string& url) {
  if (IsPostgresqlUrl(url) || url.starts_with("sqlite:")) return "";
  size_t separator = url.find("://");
  if (separator == std::string::npos || separator == 0) return "";
  std::string scheme = url.substr(0, separator);
  // RFC 3986: a letter, then letters, digits, '+', '-' or '.'. Anything
  // else before "://" is part of a file name.
  bool is_scheme = std::isalpha(static_cast<unsigned char>(scheme[0]));
  for (char c : scheme) {
    is_scheme = is_scheme && (std::isalnum(static_cast<unsigned char>(c)) ||
                              c == '+' || c == '-' || c == '.');
  }
  if (!is_scheme) return "";
  return "'" + scheme + "://' is not a metadata database this build opens: "
         "give a SQLite file path, sqlite:PATH or postgresql://...";
}

// The SQLite file a URL names, or empty for PostgreSQL (whose lineage
// lives in the server) and in-memory databases.
static std::filesystem::path SqlitePath(const std::string& url) {
  if (IsPostgresqlUrl(url)) {
    return {};
  }
  std::string path = url.starts_with("sqlite:") ? url.substr(7) : url;
  return path == ":memory:" ? std::string() : path;
}

// Written beside a SQLite database once it holds a schema, so that a
// later missing or empty database is known to be lost, not new, even in a
// store with snapshots but no run manifests.
static std::filesystem::path CreatedMarker(const std::filesystem::path& db) {
  return db.parent_path() / ("." + db.filename().string() + ".created");
}

// A missing or empty SQLite file that once held a schema (its marker is
// there) or sits next to runs/*/manifest.json is a lost lineage database,
// not a new store: creating a fresh one would forget those snapshots and
// runs, and gc would then remove their bytes.
static Status RefuseToForgetLineage(const std::string& url) {
  std::filesystem::path path = SqlitePath(url);
  if (path.empty()) return Status::Ok();
  std::error_code error;
  uintmax_t size = std::filesystem::file_size(path, error);
  if (!error && size > 0) return Status::Ok();
  if (error && error != std::errc::no_such_file_or_directory) {
    return Status::Ok();  // Unreadable: opening it reports why.
  }
  const char* state = error ? "missing" : "empty";
  std::filesystem::path runs = path.parent_path() / "runs";
  if (path.parent_path().empty()) runs = "runs";
  for (auto it = std::filesystem::directory_iterator(runs, error);
       !error && it != std::filesystem::directory_iterator();
       it.increment(error)) {
    std::filesystem::path manifest = it->path() / "manifest.json";
    if (std::filesystem::exists(manifest, error)) {
      return Status::DataLoss(
          path.string() + ": the metadata database is " + state +
          " but this store holds run manifests (" + manifest.string() +
          "); refusing to create a fresh database that would forget "
          "those runs. Restore " + path.filename().string() +
          " from a backup or copy");
    }
  }
  std::filesystem::path marker = CreatedMarker(path);
  if (std::filesystem::exists(marker, error)) {
    return Status::DataLoss(
        path.string() + ": the metadata database is " + state + " but " +
        marker.string() + " shows it held lineage (snapshots, runs); "
        "refusing to create a fresh database that would forget them. "
        "Restore " + path.filename().string() + " from a backup or copy");
  }
  return Status::Ok();
}

Result<std::unique_ptr<SqlDatabase>> OpenDatabase(const std::string& url,
                                                  SqliteAccess access) {
  if (std::string problem = MetadataUrlProblem(url); !problem.empty()) {
    return Status::InvalidArgument(problem);
  }
  RETURN_IF_ERROR(RefuseToForgetLineage(url));
  if (IsPostgresqlUrl(url)) {
    return OpenPostgresql(url);
  }
  return OpenSqlite(url.starts_with("sqlite:") ? url.substr(7) : url,
                    access);
}

Result<std::unique_ptr<MetadataStore>> MetadataStore::Open(
    const std::string& url, OpenOptions options) {
  ASSIGN_OR_RETURN(std::unique_ptr<SqlDatabase> db,
                   OpenDatabase(url, options.reader ? SqliteAccess::kReader
                                                    : SqliteAccess::kWriter));

  Status status;
  for (int attempt = 0; attempt < kMaxTransactionAttempts; ++attempt) {
    status = EnsureSchema(db.get());
    if (!status.IsAborted()) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10 * (attempt + 1)));
  }
  RETURN_IF_ERROR(status);
  if (std::filesystem::path path = SqlitePath(url); !path.empty()) {
    std::error_code error;
    if (!std::filesystem::exists(CreatedMarker(path), error)) {
      // Best effort: a read-only store simply keeps the runs/ check only.
      (void)WriteFileAtomically(CreatedMarker(path), "");
    }
  }
  auto store = std::make_unique<MetadataStore>(std::move(db));
  if (!options.defer_replays) {
    // A reader that cannot write (a read-only copy of a store) still
    // reads everything else; only the replays' steps are missing.
    if (Status made = store->MaterializeReplays(); !made.ok()) {
      LogWarning("{}; until a writable open records it, that run lists no "
                 "steps",
                 made.message());
    }
  }
  return store;
}

MetadataStore::MetadataStore(std::unique_ptr<SqlDatabase> db)
    : db_(std::move(db)) {}

Status MetadataStore::InTransaction(const std::function<Status()>& body) {
  Status status;
  for (int attempt = 0; attempt < kMaxTransactionAttempts; ++attempt) {
    status = db_->BeginWrite();
    if (status.ok()) {
      status = body();
      if (status.ok()) {
        status = db_->Commit();
        if (status.ok()) {
          return status;
        }
      }
      (void)db_->Rollback();
    }
    if (!status.IsAborted()) {
      return status;
    }
    // Contention: back off a little longer each time, with jitter so that
    // racing processes do not retry in lockstep.
    int sleep_ms = 5 + attempt * 10 + std::rand() % 10;
    std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms));
  }
  return status.WithContext("the metadata database stayed busy");
}

Result<int64_t> MetadataStore::InsertArtifact(const Artifact& artifact) {
  ASSIGN_OR_RETURN(int64_t type_id,
                   TypeId(db_.get(), "artifact", artifact.type));
  int64_t created = artifact.create_time_ms != 0 ? artifact.create_time_ms
                                                 : NowUnixMillis();
  ASSIGN_OR_RETURN(
      auto rows,
      db_->Query("INSERT INTO artifacts (type_id, uri, digest, state, "
                 "properties, custom_properties, create_time_ms, "
                 "removal_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                 "RETURNING id",
                 {type_id, artifact.uri, artifact.digest, artifact.state,
                  artifact.properties.dump(),
                  artifact.custom_properties.dump(), created,
                  artifact.removal_reason}));
  return AsInt(rows[0][0]);
}

Result<int64_t> MetadataStore::PutArtifact(const Artifact& artifact) {
  int64_t id = artifact.id;
  RETURN_IF_ERROR(InTransaction([&]() -> Status {
    if (artifact.id == 0) {
      ASSIGN_OR_RETURN(id, InsertArtifact(artifact));
      return Status::Ok();
    }
    return db_->Execute(
        "UPDATE artifacts SET uri = ?, digest = ?, state = ?, properties = ?, "
        "custom_properties = ?, removal_reason = ? WHERE id = ?",
        {artifact.uri, artifact.digest, artifact.state,
         artifact.properties.dump(), artifact.custom_properties.dump(),
         artifact.removal_reason, artifact.id});
  }));
  return id;
}

Result<Artifact> MetadataStore::GetArtifact(int64_t id) {
  ASSIGN_OR_RETURN(auto rows,
                   db_->Query(std::string("SELECT ") + kArtifactColumns +
                                  " FROM artifacts a JOIN types t ON "
                                  "t.id = a.type_id WHERE a.id = ?",
                              {id}));
  if (rows.empty()) {
    return Status::NotFound("no artifact with id " + std::to_string(id));
  }
  return ArtifactFromRow(rows[0]);
}

Result<std::vector<Artifact>> MetadataStore::FindArtifactsByDigest(
    const std::string& digest) {
  ASSIGN_OR_RETURN(auto rows,
                   db_->Query(std::string("SELECT ") + kArtifactColumns +
                                  " FROM artifacts a JOIN types t ON "
                                  "t.id = a.type_id WHERE a.digest = ? "
                                  "ORDER BY a.id",
                              {digest}));
  std::vector<Artifact> artifacts;
  for (const SqlRow& row : rows) {
    artifacts.push_back(ArtifactFromRow(row));
  }
  return artifacts;
}

Status MetadataStore::MarkArtifactRemoved(int64_t id,
                                          const std::string& reason) {
  return InTransaction([&] {
    return db_->Execute(
        "UPDATE artifacts SET state = 'marked_for_deletion', "
        "removal_reason = ? WHERE id = ?",
        {reason, id});
  });
}

Result<int64_t> MetadataStore::RecordExecution(ExecutionRecord* record) {
  Execution& execution = record->execution;
  if (!record->batch_inputs.empty()) {
    return Status::InvalidArgument(
        "batch inputs need RecordExecutions, not RecordExecution");
  }
  int64_t now = NowUnixMillis();
  RETURN_IF_ERROR(InTransaction([&]() -> Status {
    ASSIGN_OR_RETURN(int64_t type_id,
                     TypeId(db_.get(), "execution", execution.type));
    ASSIGN_OR_RETURN(
        auto rows,
        db_->Query("INSERT INTO executions (type_id, name, state, cache_key, "
                   "properties, create_time_ms, update_time_ms) VALUES "
                   "(?, ?, ?, ?, ?, ?, ?) RETURNING id",
                   {type_id, execution.name,
                    std::string(ExecutionStateName(execution.state)),
                    execution.cache_key, execution.properties.dump(), now,
                    now}));
    execution.id = AsInt(rows[0][0]);

    const char* insert_event =
        "INSERT INTO events (artifact_id, execution_id, type, port, time_ms) "
        "VALUES (?, ?, ?, ?, ?)";
    for (const auto& [port, artifact_id] : record->inputs) {
      RETURN_IF_ERROR(db_->Execute(
          insert_event, {artifact_id, execution.id, "input", port, now}));
    }
    for (auto& [port, artifact] : record->outputs) {
      if (artifact.id == 0) {
        ASSIGN_OR_RETURN(artifact.id, InsertArtifact(artifact));
      }
      RETURN_IF_ERROR(db_->Execute(
          insert_event, {artifact.id, execution.id, "output", port, now}));
    }
    for (int64_t context_id : record->context_ids) {
      RETURN_IF_ERROR(db_->Execute(
          "INSERT INTO associations (context_id, execution_id) VALUES (?, ?)",
          {context_id, execution.id}));
      for (const auto& [port, artifact] : record->outputs) {
        (void)port;
        RETURN_IF_ERROR(db_->Execute(
            "INSERT INTO attributions (context_id, artifact_id) "
            "VALUES (?, ?) ON CONFLICT DO NOTHING",
            {context_id, artifact.id}));
      }
    }
    return Status::Ok();
  }));
  execution.create_time_ms = now;
  execution.update_time_ms = now;
  return execution.id;
}

Result<int64_t> MetadataStore::NextId(const std::string& table) {
  ASSIGN_OR_RETURN(auto rows,
                   db_->Query("SELECT COALESCE(MAX(id), 0) FROM " + table));
  return AsInt(rows[0][0]) + 1;
}

Status MetadataStore::RecordExecutions(std::vector<ExecutionRecord>* records) {
  int64_t now = NowUnixMillis();
  return InTransaction([&]() -> Status {
    // Ids are assigned here, under the write lock, so that each table is
    // filled by a few large INSERTs instead of one round trip per row.
    ASSIGN_OR_RETURN(int64_t next_execution, NextId("executions"));
    ASSIGN_OR_RETURN(int64_t next_artifact, NextId("artifacts"));
    std::map<std::string, int64_t> type_ids;
    auto type_id = [&](const char* kind, const std::string& name)
        -> Result<int64_t> {
      std::string key = std::string(kind) + "/" + name;
      if (!type_ids.contains(key)) {
        ASSIGN_OR_RETURN(type_ids[key], TypeId(db_.get(), kind, name));
      }
      return type_ids[key];
    };

    // Each table's rows, flattened row after row (no vector per row).
    std::vector<SqlValue> executions, artifacts, events, associations,
        attributions;
    executions.reserve(records->size() * 8);
    events.reserve(records->size() * 10);
    auto add = [](std::vector<SqlValue>* table,
                  std::initializer_list<SqlValue> row) {
      table->insert(table->end(), row);
    };
    const std::string input_event = "input", output_event = "output";
    for (size_t r = 0; r < records->size(); ++r) {
      ExecutionRecord& record = (*records)[r];
      Execution& execution = record.execution;
      execution.id = next_execution++;
      int64_t created =
          execution.create_time_ms != 0 ? execution.create_time_ms : now;
      execution.create_time_ms = execution.update_time_ms = created;
      ASSIGN_OR_RETURN(int64_t type, type_id("execution", execution.type));
      add(&executions,
          {execution.id, type, execution.name,
           std::string(ExecutionStateName(execution.state)),
           execution.cache_key, execution.properties.dump(), created,
           created});
      for (const auto& [port, artifact_id] : record.inputs) {
        add(&events, {artifact_id, execution.id, input_event, port, created});
      }
      for (const BatchInput& input : record.batch_inputs) {
        ASSIGN_OR_RETURN(int64_t artifact_id,
                         BatchOutputId(*records, r, input));
        add(&events,
            {artifact_id, execution.id, input_event, input.port, created});
      }
      for (auto& [port, artifact] : record.outputs) {
        if (artifact.id == 0) {
          artifact.id = next_artifact++;
          ASSIGN_OR_RETURN(int64_t artifact_type,
                           type_id("artifact", artifact.type));
          add(&artifacts,
              {artifact.id, artifact_type, artifact.uri, artifact.digest,
               artifact.state, artifact.properties.dump(),
               artifact.custom_properties.dump(), created,
               artifact.removal_reason});
        }
        add(&events,
            {artifact.id, execution.id, output_event, port, created});
        for (int64_t context_id : record.context_ids) {
          add(&attributions, {context_id, artifact.id});
        }
      }
      for (int64_t context_id : record.context_ids) {
        add(&associations, {context_id, execution.id});
      }
    }
    RETURN_IF_ERROR(db_->InsertRows(
        "artifacts",
        "id, type_id, uri, digest, state, properties, custom_properties, "
        "create_time_ms, removal_reason",
        9, &artifacts));
    RETURN_IF_ERROR(db_->InsertRows("executions",
                                    "id, type_id, name, state, cache_key, "
                                    "properties, create_time_ms, "
                                    "update_time_ms",
                                    8, &executions));
    RETURN_IF_ERROR(db_->InsertRows(
        "events", "artifact_id, execution_id, type, port, time_ms", 5,
        &events));
    RETURN_IF_ERROR(db_->InsertRows("associations",
                                    "context_id, execution_id", 2,
                                    &associations, " ON CONFLICT DO NOTHING"));
    RETURN_IF_ERROR(db_->InsertRows("attributions",
                                    "context_id, artifact_id", 2,
                                    &attributions, " ON CONFLICT DO NOTHING"));
    if (db_->dialect() == SqlDialect::kPostgresql) {
      // Explicit ids bypass the sequences; move them past what we used.
      for (const char* table : {"artifacts", "executions"}) {
        RETURN_IF_ERROR(db_->Execute(
            std::string("SELECT setval(pg_get_serial_sequence('") + table +
            "', 'id'), (SELECT MAX(id) FROM " + table + "))"));
      }
    }
    return Status::Ok();
  });
}

Result<Execution> MetadataStore::GetExecution(int64_t id) {
  ASSIGN_OR_RETURN(auto rows,
                   db_->Query(std::string("SELECT ") + kExecutionColumns +
                                  " FROM executions e JOIN types t ON "
                                  "t.id = e.type_id WHERE e.id = ?",
                              {id}));
  if (rows.empty()) {
    return Status::NotFound("no execution with id " + std::to_string(id));
  }
  return ExecutionFromRow(rows[0]);
}

Status MetadataStore::UpdateExecutionState(int64_t id, ExecutionState state,
                                           const Json& properties) {
  return InTransaction([&] {
    return db_->Execute(
        "UPDATE executions SET state = ?, properties = ?, update_time_ms = ?, "
        "properties_of = 0 WHERE id = ?",
        {std::string(ExecutionStateName(state)), properties.dump(),
         NowUnixMillis(), id});
  });
}

Result<MetadataStore::CachedExecution> MetadataStore::FindCachedExecution(
    const std::string& cache_key) {
  // Asked once per step of every run: two indexed queries, and only the
  // top-level scalar properties parsed (see the declaration).
  ASSIGN_OR_RETURN(
      auto rows,
      db_->Query(std::string("SELECT ") + kExecutionColumns +
                     " FROM executions e JOIN types t ON t.id = e.type_id "
                     "WHERE e.cache_key = ? AND e.state = 'complete' "
                     "ORDER BY e.id DESC LIMIT 1",
                 {cache_key}));
  if (rows.empty()) {
    return Status::NotFound("no execution with cache key " + cache_key);
  }
  CachedExecution cached;
  SqlValue properties = std::move(rows[0][5]);
  rows[0][5] = std::monostate{};
  cached.execution = ExecutionFromRow(rows[0]);
  cached.execution.properties = ParseTopLevelScalars(properties);
  ASSIGN_OR_RETURN(
      auto outputs,
      db_->Query(std::string("SELECT v.port, ") + kArtifactColumns +
                     " FROM events v JOIN artifacts a ON a.id = "
                     "v.artifact_id JOIN types t ON t.id = a.type_id "
                     "WHERE v.execution_id = ? AND v.type = 'output' "
                     "ORDER BY v.id",
                 {cached.execution.id}));
  for (SqlRow& row : outputs) {
    std::string port = AsText(row[0]);
    row.erase(row.begin());
    cached.outputs[port] = ArtifactFromRow(row);
  }
  return cached;
}

Result<std::map<std::string, MetadataStore::CacheAnswer>>
MetadataStore::CacheAnswersFor(const std::vector<std::string>& cache_keys) {
  // FindCachedExecution's two queries for every key at once; the output
  // events keep its inner joins (an event whose artifact is gone is not
  // an output) and its order (the last event of a port wins).
  ASSIGN_OR_RETURN(
      auto rows,
      db_->Query("SELECT k.value, e.id, v.port, (SELECT a.digest FROM "
                     "artifacts a JOIN types ta ON ta.id = a.type_id "
                     "WHERE a.id = v.artifact_id) FROM " +
                     TextTable() +
                     " JOIN executions e ON e.id = (SELECT MAX(x.id) FROM "
                     "executions x WHERE x.cache_key = k.value AND "
                     "x.state = 'complete') "
                     "JOIN types t ON t.id = e.type_id "
                     "LEFT JOIN events v ON v.execution_id = e.id AND "
                     "v.type = 'output' ORDER BY v.id",
                 {TextTableParam(cache_keys)}));
  std::map<std::string, CacheAnswer> answers;
  for (const SqlRow& row : rows) {
    CacheAnswer& answer = answers[AsText(row[0])];
    answer.execution_id = AsInt(row[1]);
    // A NULL digest is an event whose artifact is gone: no output.
    if (!IsNull(row[2]) && !IsNull(row[3])) {
      answer.outputs[AsText(row[2])] = AsText(row[3]);
    }
  }
  return answers;
}

Result<int64_t> MetadataStore::CacheGeneration() {
  ASSIGN_OR_RETURN(auto rows, db_->Query("SELECT n FROM cache_generation"));
  if (rows.size() != 1) {
    return Status::DataLoss("cache_generation holds " +
                            std::to_string(rows.size()) +
                            " rows instead of one");
  }
  return AsInt(rows[0][0]);
}

Result<int64_t> MetadataStore::ReplayExecutions(
    int64_t from, const std::string& from_run, const std::vector<int64_t>& to,
    const std::string& run_id) {
  int64_t copied = 0;
  int64_t now = NowUnixMillis();
  RETURN_IF_ERROR(InTransaction([&]() -> Status {
    ASSIGN_OR_RETURN(copied, CopyReplayedExecutions(from, from_run, to,
                                                    run_id, now));
    return Status::Ok();
  }));
  return copied;
}

Result<int64_t> MetadataStore::CopyReplayedExecutions(
    int64_t from, const std::string& from_run, const std::vector<int64_t>& to,
    const std::string& run_id, int64_t time_ms) {
  bool sqlite = db_->dialect() == SqlDialect::kSqlite;
  // A cached copy's own properties: only what differs from the execution
  // it repeats (readers merge them over that one's, ExecutionFromRow),
  // naming this run and the run that produced the outputs. A copy of a
  // copy repeats the same original.
  std::string properties =
      sqlite ? "json_object('run_id', ?, 'duration_ms', 0, "
               "'produced_by_run', CASE WHEN e.state = 'cached' THEN "
               "json_extract(e.properties, '$.produced_by_run') ELSE ? END)"
             : "jsonb_build_object('run_id', ?::text, 'duration_ms', 0, "
               "'produced_by_run', CASE WHEN e.state = 'cached' THEN "
               "e.properties::jsonb->>'produced_by_run' ELSE ?::text "
               "END)::text";

  // New ids are the old ones shifted past every id in use, so events
  // and associations follow their executions by the same shift.
  ASSIGN_OR_RETURN(int64_t next, NextId("executions"));
  ASSIGN_OR_RETURN(auto first,
                   db_->Query("SELECT COALESCE(MIN(execution_id), 0), "
                              "COUNT(*) FROM associations "
                              "WHERE context_id = ?",
                              {from}));
  int64_t copied = AsInt(first[0][1]);
  if (copied == 0) {
    return copied;
  }
  int64_t shift = next - AsInt(first[0][0]);

  const std::string from_executions =
      " FROM associations s JOIN executions e ON e.id = s.execution_id "
      "WHERE s.context_id = ?";
  RETURN_IF_ERROR(db_->Execute(
      "INSERT INTO executions (id, type_id, name, state, cache_key, "
      "properties, create_time_ms, update_time_ms, properties_of) "
      "SELECT e.id + CAST(? AS BIGINT), e.type_id, e.name, 'cached', "
      "e.cache_key, " +
          properties +
          ", CAST(? AS BIGINT), CAST(? AS BIGINT), CASE WHEN "
          "e.properties_of <> 0 THEN e.properties_of ELSE e.id END" +
          from_executions + " ORDER BY e.id",
      {shift, run_id, from_run, time_ms, time_ms, from}));
  RETURN_IF_ERROR(db_->Execute(
      "INSERT INTO events (artifact_id, execution_id, type, port, time_ms) "
      "SELECT v.artifact_id, v.execution_id + CAST(? AS BIGINT), v.type, "
      "v.port, CAST(? AS BIGINT) "
      "FROM associations s JOIN events v ON v.execution_id = "
      "s.execution_id WHERE s.context_id = ? ORDER BY v.id",
      {shift, time_ms, from}));

  for (int64_t context : to) {
    RETURN_IF_ERROR(db_->Execute(
        "INSERT INTO associations (context_id, execution_id) "
        "SELECT CAST(? AS BIGINT), s.execution_id + CAST(? AS BIGINT) "
        "FROM associations s "
        "WHERE s.context_id = ? ON CONFLICT DO NOTHING",
        {context, shift, from}));
    RETURN_IF_ERROR(db_->Execute(
        "INSERT INTO attributions (context_id, artifact_id) "
        "SELECT DISTINCT CAST(? AS BIGINT), v.artifact_id FROM "
        "associations s JOIN events v ON v.execution_id = s.execution_id "
        "WHERE s.context_id = ? AND v.type = 'output' "
        "ON CONFLICT DO NOTHING",
        {context, from}));
  }
  if (!sqlite) {
    // Explicit ids bypass the sequence; move it past what we used.
    RETURN_IF_ERROR(db_->Execute(
        "SELECT setval(pg_get_serial_sequence('executions', 'id'), "
        "(SELECT MAX(id) FROM executions))"));
  }
  return copied;
}

namespace {

// The contexts of a deferred replay as stored: ids joined by commas.
std::string JoinIds(const std::vector<int64_t>& ids) {
  std::string joined;
  for (int64_t id : ids) {
    joined += (joined.empty() ? "" : ",") + std::to_string(id);
  }
  return joined;
}

std::vector<int64_t> SplitIds(const std::string& joined) {
  std::vector<int64_t> ids;
  size_t start = 0;
  while (start < joined.size()) {
    size_t comma = joined.find(',', start);
    if (comma == std::string::npos) comma = joined.size();
    ids.push_back(std::stoll(joined.substr(start, comma - start)));
    start = comma + 1;
  }
  return ids;
}

}  // namespace

Result<int64_t> MetadataStore::DeferReplayExecutions(
    int64_t from, const std::string& from_run, const std::vector<int64_t>& to,
    const std::string& run_id) {
  int64_t count = 0;
  int64_t now = NowUnixMillis();
  RETURN_IF_ERROR(InTransaction([&]() -> Status {
    ASSIGN_OR_RETURN(auto rows,
                     db_->Query("SELECT COUNT(*) FROM associations "
                                "WHERE context_id = ?",
                                {from}));
    count = AsInt(rows[0][0]);
    return db_->Execute(
        "INSERT INTO pending_replays (run_id, from_context, from_run, "
        "contexts, time_ms) VALUES (?, ?, ?, ?, ?)",
        {run_id, from, from_run, JoinIds(to), now});
  }));
  return count;
}

Status MetadataStore::MaterializeReplays() {
  ASSIGN_OR_RETURN(auto pending,
                   db_->Query("SELECT run_id FROM pending_replays "
                              "ORDER BY time_ms, run_id"));
  for (const SqlRow& row : pending) {
    std::string run_id = AsText(row[0]);
    RETURN_IF_ERROR(InTransaction([&]() -> Status {
      // Taking the row is the claim: a process that lost the race to
      // another finds it gone and copies nothing.
      ASSIGN_OR_RETURN(auto taken,
                       db_->Query("DELETE FROM pending_replays "
                                  "WHERE run_id = ? RETURNING from_context, "
                                  "from_run, contexts, time_ms",
                                  {run_id}));
      if (taken.empty()) {
        return Status::Ok();
      }
      const SqlRow& replay = taken[0];
      return CopyReplayedExecutions(AsInt(replay[0]), AsText(replay[1]),
                                    SplitIds(AsText(replay[2])), run_id,
                                    AsInt(replay[3]))
          .status();
    }).WithContext("recording the lineage of replayed run " + run_id));
  }
  return Status::Ok();
}

Result<Execution> MetadataStore::FindLatestExecution(
    const std::string& pipeline, const std::string& step) {
  ASSIGN_OR_RETURN(
      auto rows,
      db_->Query(std::string("SELECT ") + kExecutionColumns +
                     " FROM executions e JOIN types t ON t.id = e.type_id "
                     "JOIN associations s ON s.execution_id = e.id "
                     "JOIN runs r ON r.context_id = s.context_id "
                     "WHERE r.pipeline = ? AND e.name = ? "
                     "AND e.state IN ('complete', 'cached') "
                     "AND e.cache_key <> '' "
                     "ORDER BY e.id DESC LIMIT 1",
                 {pipeline, step}));
  if (rows.empty()) {
    return Status::NotFound("step " + step + " of " + pipeline +
                            " has not run before");
  }
  return ExecutionFromRow(rows[0]);
}

Result<int64_t> MetadataStore::PutContext(const Context& context) {
  int64_t id = 0;
  RETURN_IF_ERROR(InTransaction([&]() -> Status {
    ASSIGN_OR_RETURN(int64_t type_id,
                     TypeId(db_.get(), "context", context.type));
    ASSIGN_OR_RETURN(auto rows,
                     db_->Query("SELECT id FROM contexts WHERE type_id = ? "
                                "AND name = ?",
                                {type_id, context.name}));
    if (!rows.empty()) {
      id = AsInt(rows[0][0]);
      return Status::Ok();
    }
    ASSIGN_OR_RETURN(
        auto inserted,
        db_->Query("INSERT INTO contexts (type_id, name, properties, "
                   "create_time_ms) VALUES (?, ?, ?, ?) RETURNING id",
                   {type_id, context.name, context.properties.dump(),
                    NowUnixMillis()}));
    id = AsInt(inserted[0][0]);
    return Status::Ok();
  }));
  return id;
}

Result<Context> MetadataStore::GetContext(int64_t id) {
  ASSIGN_OR_RETURN(auto rows,
                   db_->Query("SELECT c.id, t.name, c.name, c.properties, "
                              "c.create_time_ms FROM contexts c JOIN types t "
                              "ON t.id = c.type_id WHERE c.id = ?",
                              {id}));
  if (rows.empty()) {
    return Status::NotFound("no context with id " + std::to_string(id));
  }
  Context context;
  context.id = AsInt(rows[0][0]);
  context.type = AsText(rows[0][1]);
  context.name = AsText(rows[0][2]);
  context.properties = ParseStoredJson(rows[0][3]);
  context.create_time_ms = AsInt(rows[0][4]);
  return context;
}

Result<std::vector<Event>> MetadataStore::EventsOfExecution(
    int64_t execution_id) {
  ASSIGN_OR_RETURN(auto rows,
                   db_->Query("SELECT artifact_id, execution_id, type, port, "
                              "time_ms FROM events WHERE execution_id = ? "
                              "ORDER BY id",
                              {execution_id}));
  std::vector<Event> events;
  for (const SqlRow& row : rows) {
    events.push_back(EventFromRow(row));
  }
  return events;
}

Result<std::vector<Event>> MetadataStore::EventsOfArtifact(
    int64_t artifact_id) {
  ASSIGN_OR_RETURN(auto rows,
                   db_->Query("SELECT artifact_id, execution_id, type, port, "
                              "time_ms FROM events WHERE artifact_id = ? "
                              "ORDER BY id",
                              {artifact_id}));
  std::vector<Event> events;
  for (const SqlRow& row : rows) {
    events.push_back(EventFromRow(row));
  }
  return events;
}

Result<std::vector<Execution>> MetadataStore::ExecutionsInContext(
    int64_t context_id) {
  ASSIGN_OR_RETURN(
      auto rows,
      db_->Query(std::string("SELECT ") + kExecutionColumns +
                     " FROM executions e JOIN types t ON t.id = e.type_id "
                     "JOIN associations s ON s.execution_id = e.id "
                     "WHERE s.context_id = ? ORDER BY e.id",
                 {context_id}));
  std::vector<Execution> executions;
  for (const SqlRow& row : rows) {
    executions.push_back(ExecutionFromRow(row));
  }
  return executions;
}

std::string MetadataStore::IdSet() const {
  // One parameter for any number of ids keeps the statement text fixed, so
  // it is prepared once and reused (a `IN (?, ?, ...)` list would be a new
  // statement for every count).
  return db_->dialect() == SqlDialect::kSqlite
             ? " IN (SELECT value FROM json_each(?))"
             : " = ANY(CAST(? AS BIGINT[]))";
}

std::string MetadataStore::TextTable() const {
  return db_->dialect() == SqlDialect::kSqlite
             ? "(SELECT DISTINCT value FROM json_each(?)) k"
             : "(SELECT DISTINCT value FROM unnest(CAST(? AS TEXT[])) "
               "AS u(value)) k";
}

SqlValue MetadataStore::TextTableParam(
    const std::vector<std::string>& values) const {
  if (db_->dialect() == SqlDialect::kSqlite) {
    return Json(values).dump();
  }
  // An array literal: every element quoted, `"` and `\` escaped.
  std::string text = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    text += i > 0 ? ",\"" : "\"";
    for (char c : values[i]) {
      if (c == '"' || c == '\\') {
        text += '\\';
      }
      text += c;
    }
    text += '"';
  }
  return text + "}";
}

SqlValue MetadataStore::IdSetParam(const std::vector<int64_t>& ids) const {
  const bool sqlite = db_->dialect() == SqlDialect::kSqlite;
  std::string text(1, sqlite ? '[' : '{');
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i > 0) {
      text += ',';
    }
    text += std::to_string(ids[i]);
  }
  text += sqlite ? ']' : '}';
  return text;
}

Result<std::vector<SqlRow>> MetadataStore::QueryIn(
    const std::string& select, const std::vector<int64_t>& ids,
    const std::string& tail, const std::string& event_type) {
  if (ids.empty()) {
    return std::vector<SqlRow>{};
  }
  std::vector<SqlValue> params;
  if (!event_type.empty()) {
    params.push_back(SqlValue(std::in_place_type<std::string>, event_type));
  }
  params.push_back(IdSetParam(ids));
  return db_->Query(select + IdSet() + tail, params);
}

Result<std::vector<Artifact>> MetadataStore::GetArtifacts(
    const std::vector<int64_t>& ids) {
  ASSIGN_OR_RETURN(auto rows,
                   QueryIn(std::string("SELECT ") + kArtifactColumns +
                               " FROM artifacts a JOIN types t ON "
                               "t.id = a.type_id WHERE a.id",
                           ids, "", {}));
  std::vector<Artifact> artifacts;
  for (const SqlRow& row : rows) {
    artifacts.push_back(ArtifactFromRow(row));
  }
  std::sort(artifacts.begin(), artifacts.end(),
            [](const Artifact& a, const Artifact& b) { return a.id < b.id; });
  return artifacts;
}

Result<std::vector<Artifact>> MetadataStore::OutputsOfExecutionType(
    const std::string& type) {
  ASSIGN_OR_RETURN(
      auto rows,
      db_->Query(std::string("SELECT DISTINCT ") + kArtifactColumns +
                     " FROM artifacts a JOIN types t ON t.id = a.type_id "
                     "JOIN events e ON e.artifact_id = a.id "
                     "JOIN executions x ON x.id = e.execution_id "
                     "JOIN types xt ON xt.id = x.type_id "
                     "WHERE xt.kind = 'execution' AND xt.name = ? AND "
                     "e.type = 'output' ORDER BY a.id",
                 {type}));
  std::vector<Artifact> artifacts;
  for (const SqlRow& row : rows) artifacts.push_back(ArtifactFromRow(row));
  return artifacts;
}

Result<std::vector<Execution>> MetadataStore::GetExecutions(
    const std::vector<int64_t>& ids) {
  ASSIGN_OR_RETURN(auto rows,
                   QueryIn(std::string("SELECT ") + kExecutionColumns +
                               " FROM executions e JOIN types t ON "
                               "t.id = e.type_id WHERE e.id",
                           ids, "", {}));
  std::vector<Execution> executions;
  for (const SqlRow& row : rows) {
    executions.push_back(ExecutionFromRow(row));
  }
  std::sort(executions.begin(), executions.end(),
            [](const Execution& a, const Execution& b) { return a.id < b.id; });
  return executions;
}

Result<std::vector<Event>> MetadataStore::EventsOfArtifacts(
    const std::vector<int64_t>& ids, EventType type) {
  // The type comes first so that the v2 index (artifact_id, type,
  // execution_id) answers the whole query.
  ASSIGN_OR_RETURN(
      auto rows,
      QueryIn("SELECT artifact_id, execution_id, type, port, time_ms, id "
              "FROM events WHERE type = ? AND artifact_id",
              ids, "", type == EventType::kInput ? "input" : "output"));
  std::sort(rows.begin(), rows.end(), [](const SqlRow& a, const SqlRow& b) {
    return AsInt(a[5]) < AsInt(b[5]);
  });
  std::vector<Event> events;
  for (const SqlRow& row : rows) {
    events.push_back(EventFromRow(row));
  }
  return events;
}

Result<std::vector<Event>> MetadataStore::EventsOfExecutions(
    const std::vector<int64_t>& ids, EventType type) {
  ASSIGN_OR_RETURN(
      auto rows,
      QueryIn("SELECT artifact_id, execution_id, type, port, time_ms, id "
              "FROM events WHERE type = ? AND execution_id",
              ids, "", type == EventType::kInput ? "input" : "output"));
  std::sort(rows.begin(), rows.end(), [](const SqlRow& a, const SqlRow& b) {
    return AsInt(a[5]) < AsInt(b[5]);
  });
  std::vector<Event> events;
  for (const SqlRow& row : rows) {
    events.push_back(EventFromRow(row));
  }
  return events;
}

Result<std::vector<std::pair<int64_t, Event>>>
MetadataStore::EventsWithinHops(const std::vector<int64_t>& roots,
                                EventType toward_execution, int depth) {
  // `reach` holds the artifacts the walk expands: the roots and those fewer
  // than `depth` hops away (with the hop, so that the limit holds; UNION
  // drops repeats). Unlimited walks leave the hop out, so a cycle (a step
  // writing the artifact it read) still ends. `near` is the events from
  // those artifacts to executions; the last part is the executions' events
  // onward. The event types are literals so each index seek is on
  // (artifact_id, type) or (execution_id, type), both covering indexes.
  const bool up = toward_execution == EventType::kOutput;
  const std::string first_type = up ? "'output'" : "'input'";
  const std::string next_type = up ? "'input'" : "'output'";
  const bool limited = depth > 0;
  std::string sql =
      std::string("WITH RECURSIVE reach(artifact_id") +
      (limited ? ", hop" : "") + ") AS (SELECT id" + (limited ? ", 0" : "") +
      " FROM artifacts WHERE id" + IdSet() +
      " UNION SELECT b.artifact_id" + (limited ? ", r.hop + 1" : "") +
      " FROM reach r JOIN events a ON a.artifact_id = r.artifact_id AND "
      "a.type = " + first_type +
      " JOIN events b ON b.execution_id = a.execution_id AND b.type = " +
      next_type + (limited ? " WHERE r.hop + 1 < ?" : "") +
      "), near AS (SELECT e.id, e.artifact_id, e.execution_id, e.type, "
      "e.port, e.time_ms FROM events e WHERE e.type = " + first_type +
      " AND e.artifact_id IN (SELECT artifact_id FROM reach)) "
      "SELECT id, artifact_id, execution_id, type, port, time_ms FROM near "
      "UNION ALL SELECT e.id, e.artifact_id, e.execution_id, e.type, e.port, "
      "e.time_ms FROM events e WHERE e.type = " + next_type +
      " AND e.execution_id IN (SELECT execution_id FROM near)";
  std::vector<SqlValue> params = {IdSetParam(roots)};
  if (limited) {
    params.push_back(int64_t{depth});
  }
  ASSIGN_OR_RETURN(auto rows, db_->Query(sql, params));

  std::vector<std::pair<int64_t, Event>> events;
  events.reserve(rows.size());
  for (const SqlRow& row : rows) {
    events.emplace_back(AsInt(row[0]),
                        EventFromRow({row[1], row[2], row[3], row[4],
                                      row[5]}));
  }
  return events;
}

Status MetadataStore::CreateRun(const Run& run) {
  // A run recorded with its manifest (a pulled one) is a root at once.
  auto transaction = [&](const std::function<Status()>& body) {
    return run.manifest_path.empty() ? InTransaction(body)
                                     : InRootTransaction(body);
  };
  return transaction([&] {
    return db_->Execute(
        "INSERT INTO runs (run_id, context_id, pipeline, status, started_ms, "
        "finished_ms, manifest_path, manifest_hash, labels) VALUES "
        "(?, ?, ?, ?, ?, ?, ?, ?, ?)",
        {run.run_id, run.context_id, run.pipeline, run.status,
         run.started_ms, run.finished_ms,
         RecordedManifestPath(run.manifest_path), run.manifest_hash,
         run.labels.dump()});
  });
}

Status MetadataStore::FinishRun(const std::string& run_id,
                                const std::string& status,
                                const std::string& manifest_path,
                                const std::string& manifest_hash,
                                const std::string& failure) {
  return InRootTransaction([&]() -> Status {
    if (!failure.empty()) {
      ASSIGN_OR_RETURN(auto rows,
                       db_->Query("SELECT labels FROM runs WHERE run_id = ?",
                                  {run_id}));
      if (rows.empty()) return Status::NotFound("no run " + run_id);
      Json labels = ParseStoredJson(rows[0][0]);
      labels["lockstep.failure"] = failure;
      RETURN_IF_ERROR(db_->Execute(
          "UPDATE runs SET labels = ? WHERE run_id = ?",
          {labels.dump(), run_id}));
    }
    return db_->Execute(
        "UPDATE runs SET status = ?, finished_ms = ?, manifest_path = ?, "
        "manifest_hash = ? WHERE run_id = ?",
        {status, NowUnixMillis(), RecordedManifestPath(manifest_path),
         manifest_hash, run_id});
  });
}

std::string MetadataStore::RecordedManifestPath(
    const std::string& path) const {
  if (store_root_.empty() || path.empty()) {
    return path;
  }
  std::filesystem::path root =
      std::filesystem::absolute(store_root_).lexically_normal();
  std::filesystem::path relative =
      std::filesystem::absolute(path).lexically_normal().lexically_relative(
          root);
  if (relative.empty() || *relative.begin() == "..") {
    return path;
  }
  return relative.string();
}

std::string MetadataStore::ResolvedManifestPath(const Run& run) const {
  std::filesystem::path recorded = run.manifest_path;
  if (store_root_.empty() || recorded.empty()) {
    return run.manifest_path;
  }
  if (recorded.is_relative()) {
    return (store_root_ / recorded).string();
  }

  // Stores written before paths were relative hold absolute ones; a copy
  // of such a store must read its own manifest, not the original's.
  std::filesystem::path own = store_root_ / "runs" / run.run_id /
                              "manifest.json";
  std::error_code error;
  if (recorded.filename() == "manifest.json" &&
      recorded.parent_path().filename() == run.run_id &&
      std::filesystem::exists(own, error)) {
    return own.string();
  }
  return run.manifest_path;
}

Result<bool> MetadataStore::AbandonRun(const std::string& run_id,
                                       const std::string& status,
                                       const std::string& reason) {
  bool changed = false;
  RETURN_IF_ERROR(InTransaction([&]() -> Status {
    changed = false;
    ASSIGN_OR_RETURN(auto rows,
                     db_->Query("SELECT status, labels FROM runs WHERE "
                                "run_id = ?",
                                {run_id}));
    if (rows.empty()) {
      return Status::NotFound("no run " + run_id);
    }
    if (AsText(rows[0][0]) != "running") {
      return Status::Ok();
    }
    Json labels = ParseStoredJson(rows[0][1]);
    labels["lockstep.failure"] = reason;
    changed = true;
    return db_->Execute(
        "UPDATE runs SET status = ?, finished_ms = ?, labels = ? "
        "WHERE run_id = ? AND status = 'running'",
        {status, NowUnixMillis(), labels.dump(), run_id});
  }));
  return changed;
}

Result<Run> MetadataStore::GetRun(const std::string& run_id) {
  ASSIGN_OR_RETURN(auto rows,
                   db_->Query(std::string("SELECT ") + kRunColumns +
                                  " FROM runs WHERE run_id = ?",
                              {run_id}));
  if (rows.empty()) {
    return Status::NotFound("no run " + run_id);
  }
  Run run = RunFromRow(rows[0]);
  run.manifest_path = ResolvedManifestPath(run);
  return run;
}

Result<std::vector<Run>> MetadataStore::ListRuns(const RunFilter& filter) {
  std::string sql = std::string("SELECT ") + kRunColumns +
                    " FROM runs WHERE started_ms >= ?";
  std::vector<SqlValue> params = {filter.since_ms};
  if (!filter.pipeline.empty()) {
    sql += " AND pipeline = ?";
    params.push_back(filter.pipeline);
  }
  if (!filter.status.empty()) {
    sql += " AND status = ?";
    params.push_back(filter.status);
  }
  sql += " ORDER BY started_ms DESC, run_id DESC";
  if (filter.label.empty() && filter.limit > 0) {
    sql += " LIMIT ?";
    params.push_back(filter.limit);
  }
  ASSIGN_OR_RETURN(auto rows, db_->Query(sql, params));

  std::vector<Run> runs;
  std::string key, value;
  if (size_t eq = filter.label.find('='); eq != std::string::npos) {
    key = filter.label.substr(0, eq);
    value = filter.label.substr(eq + 1);
  }
  for (const SqlRow& row : rows) {
    Run run = RunFromRow(row);
    run.manifest_path = ResolvedManifestPath(run);
    if (!key.empty() && (!run.labels.contains(key) ||
                         run.labels[key] != value)) {
      continue;
    }
    runs.push_back(std::move(run));
    if (filter.limit > 0 && static_cast<int64_t>(runs.size()) >= filter.limit) {
      break;
    }
  }
  return runs;
}

Status MetadataStore::PutSnapshot(const Snapshot& snapshot) {
  Status status = InRootTransaction([&] {
    return db_->Execute(
        "INSERT INTO snapshots (name, version, artifact_id) VALUES (?, ?, ?)",
        {snapshot.name, snapshot.version, snapshot.artifact_id});
  });
  if (status.code() == StatusCode::kAlreadyExists) {
    return Status::AlreadyExists("snapshot " + snapshot.name + "@" +
                                 std::to_string(snapshot.version) +
                                 " already exists; versions are immutable");
  }
  return status;
}

Result<Snapshot> MetadataStore::GetSnapshot(const std::string& name,
                                            int64_t version) {
  ASSIGN_OR_RETURN(auto rows,
                   db_->Query("SELECT name, version, artifact_id FROM "
                              "snapshots WHERE name = ? AND version = ?",
                              {name, version}));
  if (rows.empty()) {
    return Status::NotFound("no snapshot " + name + "@" +
                            std::to_string(version));
  }
  return Snapshot{AsText(rows[0][0]), AsInt(rows[0][1]), AsInt(rows[0][2])};
}

Result<Snapshot> MetadataStore::LatestSnapshot(const std::string& name) {
  ASSIGN_OR_RETURN(auto rows,
                   db_->Query("SELECT name, version, artifact_id FROM "
                              "snapshots WHERE name = ? ORDER BY version "
                              "DESC LIMIT 1",
                              {name}));
  if (rows.empty()) {
    return Status::NotFound("no snapshot named " + name);
  }
  return Snapshot{AsText(rows[0][0]), AsInt(rows[0][1]), AsInt(rows[0][2])};
}

Result<std::vector<Snapshot>> MetadataStore::ListSnapshots() {
  ASSIGN_OR_RETURN(auto rows,
                   db_->Query("SELECT name, version, artifact_id FROM "
                              "snapshots ORDER BY name, version"));
  std::vector<Snapshot> snapshots;
  for (const SqlRow& row : rows) {
    snapshots.push_back({AsText(row[0]), AsInt(row[1]), AsInt(row[2])});
  }
  return snapshots;
}

}  // namespace lockstep::metadata
