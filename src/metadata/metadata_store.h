// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// MetadataStore: the lineage store's API. Every method is one transaction,
// so a process killed at any point leaves either all of a call's writes or
// none. A busy database is retried a bounded number of times inside the
// store; callers only see Aborted when contention outlasts that.
// Not thread-safe: use one MetadataStore per thread (or per process).

#ifndef LOCKSTEP_METADATA_METADATA_STORE_H_
#define LOCKSTEP_METADATA_METADATA_STORE_H_

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "metadata/model.h"
#include "metadata/sql.h"

namespace lockstep::metadata {

// The schema version this binary reads and writes.
inline constexpr int64_t kSchemaVersion = 5;

// An input that is an output of an earlier record in the same
// RecordExecutions batch, whose artifact id is assigned by that call.
struct BatchInput {
  std::string port;
  size_t record = 0;       // Index of the producing record in the batch.
  std::string output;      // Its output port.
};

// What an execution read and wrote, recorded together with it.
struct ExecutionRecord {
  Execution execution;
  std::vector<std::pair<std::string, int64_t>> inputs;   // port, artifact
  std::vector<std::pair<std::string, Artifact>> outputs;  // port, artifact
  std::vector<int64_t> context_ids;
  // Only for RecordExecutions; RecordExecution refuses them.
  std::vector<BatchInput> batch_inputs;
};

struct RunFilter {
  std::string pipeline;
  std::string status;
  std::string label;       // "key=value"
  int64_t since_ms = 0;    // Runs started at or after this time.
  int64_t limit = 0;       // Zero means no limit; newest first.
};

enum class OpenMode { kReadWrite, kReadOnly };

struct OpenOptions {
  // Leave deferred replays (DeferReplayExecutions) uncopied: for the
  // no-op fast path, which reads no lineage but the cache answers.
  bool defer_replays = false;
  // A command that only reads: a SQLite database whose folder it cannot
  // write to (a read-only copy of a store, another user's store, a full
  // disk) is opened read-only rather than refused (SqliteAccess).
  bool reader = false;
};

// Why `url` names no database MetadataStore::Open can open, or "" when
// it may: a URL scheme other than postgresql:// and postgres:// (say
// mysql://, or a typo) would otherwise be taken as a SQLite file name.
std::string MetadataUrlProblem(const std::string& url);

// Whether `url` names a PostgreSQL database (postgresql:// or
// postgres://) rather than a SQLite file.
bool IsPostgresqlUrl(std::string_view url);

class MetadataStore {
 public:
  // Opens the database at `url`: a path to a SQLite file, "sqlite:PATH",
  // or "postgresql://...". Creates the schema on an empty database.
  // InvalidArgument for a URL MetadataUrlProblem refuses.
  // FailedPrecondition when the stored schema is older (run `lockstep store
  // migrate`) or newer (upgrade Lockstep) than kSchemaVersion; nothing is
  // written in that case. DataLoss when a SQLite file is missing or empty
  // but the folder holding it has runs/*/manifest.json, or the marker
  // .NAME.created that Open leaves beside a database it has opened: a fresh
  // database there would forget those runs and snapshots and let gc sweep
  // their bytes. Unless `options` defer them, copies the executions of
  // deferred replays first (MaterializeReplays), so every reader sees
  // a replay's lineage.
  static Result<std::unique_ptr<MetadataStore>> Open(
      const std::string& url, OpenOptions options = {});

  // The default database of a store folder: <store>/metadata.db, unless
  // `url_override` (from --metadata or $LOCKSTEP_METADATA) is set.
  static std::string DefaultUrl(const std::filesystem::path& store_root,
                                const std::string& url_override);

  explicit MetadataStore(std::unique_ptr<SqlDatabase> db);

  // The store folder whose runs/ holds the manifests. Manifest paths inside
  // it are recorded relative to it and resolved against it on reading, so
  // a store folder can be moved or copied and still find its own manifests.
  void SetStoreRoot(const std::filesystem::path& root) { store_root_ = root; }
  // Empty until SetStoreRoot.
  const std::filesystem::path& store_root() const { return store_root_; }

  // Whether a destructive command named `command` (gc, cleanup) may take
  // its retention roots from this database for the store at
  // store_root(): OK when the database records the store's id
  // (store/identity.h) at the store's generation or later and knows
  // every run manifest in <store>/runs/, or when it does not record the
  // id but the store has nothing it could lack (generation 0, no run
  // manifest it does not know). Otherwise DataLoss naming `url` and what
  // is wrong: another store's database, a fresh one, or an older copy
  // (restored from a backup) would let the command delete what the
  // store's runs and snapshots need. FailedPrecondition when the store
  // has no id yet (`lockstep store migrate` makes one). `deletes` says
  // whether the command deletes (gc, cleanup) or only reads (a check).
  Status CheckStoreDatabase(const std::string& command,
                            const std::string& url, bool deletes = true);

  // Records the store's id in this database (`lockstep store migrate`),
  // making the id first when the store has none, unless the store has
  // something the database lacks (see CheckStoreDatabase): then nothing
  // is written and kRefused is returned.
  enum class Binding { kAlreadyRecorded, kRecorded, kRefused };
  struct StoreBinding {
    std::string store_id;
    Binding binding = Binding::kRefused;
  };
  Result<StoreBinding> BindStore();

  // Artifacts. PutArtifact inserts when `id` is 0, else updates.
  Result<int64_t> PutArtifact(const Artifact& artifact);
  Result<Artifact> GetArtifact(int64_t id);
  Result<std::vector<Artifact>> FindArtifactsByDigest(
      const std::string& digest);
  // Marks an artifact removed with a reason; it is never deleted.
  Status MarkArtifactRemoved(int64_t id, const std::string& reason);

  // Executions, recorded with their events and contexts in one transaction.
  // Returns the execution's id; output artifacts with id 0 are inserted.
  Result<int64_t> RecordExecution(ExecutionRecord* record);
  Result<Execution> GetExecution(int64_t id);

  // Records many executions in one transaction with multi-row INSERTs
  // (COPY on PostgreSQL): a pipeline run's wave of steps, bulk loads and
  // benchmarks. Sets the ids of executions and new outputs; keeps an
  // execution's create_time_ms when set. Records are numbered in order, so
  // ids follow the vector.
  Status RecordExecutions(std::vector<ExecutionRecord>* records);
  Status UpdateExecutionState(int64_t id, ExecutionState state,
                              const Json& properties);

  // The newest complete execution with this cache key, and its outputs by
  // port. NotFound on a miss. The execution's properties hold only its
  // top-level scalar members (run_id, duration_ms, ...), not nested ones
  // such as cache_key_parts; GetExecution returns them all.
  struct CachedExecution {
    Execution execution;
    std::map<std::string, Artifact> outputs;
  };
  Result<CachedExecution> FindCachedExecution(const std::string& cache_key);

  // The newest execution of a step of a pipeline that was a cache entry
  // (for --explain): not a pulled one, which has no key or key parts.
  Result<Execution> FindLatestExecution(const std::string& pipeline,
                                        const std::string& step);

  // What FindCachedExecution would answer now for each of `cache_keys`,
  // in one query: the newest complete execution's id and its output
  // digests by port. Keys without a complete execution are left out.
  struct CacheAnswer {
    int64_t execution_id = 0;
    std::map<std::string, std::string> outputs;  // port -> digest
    bool operator==(const CacheAnswer&) const = default;
  };
  Result<std::map<std::string, CacheAnswer>> CacheAnswersFor(
      const std::vector<std::string>& cache_keys);

  // A number that changes, in the same transaction, with every write that
  // could change a cache answer (an execution in state complete, an event
  // of one, an artifact's digest, a type), kept by triggers (schema v5).
  // Equal numbers at two times mean equal answers for every key.
  Result<int64_t> CacheGeneration();

  // Records, in one transaction of bulk INSERT ... SELECTs, a copy of
  // every execution of the context `from` (a run all of whose steps ran
  // or hit) as a cached execution of run `run_id` in the contexts
  // `to`: same name, type and key, properties naming this run and the
  // run that produced the outputs (`from_run` for executions that ran),
  // and the same input and output events, so lineage reaches the
  // producing run. Returns the number of executions copied.
  Result<int64_t> ReplayExecutions(int64_t from, const std::string& from_run,
                                   const std::vector<int64_t>& to,
                                   const std::string& run_id);

  // ReplayExecutions' record, made later: writes one row naming the
  // replay and returns the number of executions its copy will hold. A
  // no-op run then costs one row instead of thousands; the copy is made,
  // with this call's time, by the next Open that does not defer it.
  Result<int64_t> DeferReplayExecutions(int64_t from,
                                        const std::string& from_run,
                                        const std::vector<int64_t>& to,
                                        const std::string& run_id);

  // Makes the copies of every deferred replay, oldest first, each in one
  // transaction that also removes its row, so racing processes make each
  // copy exactly once.
  Status MaterializeReplays();

  // Contexts: returns the id of the context with this type and name,
  // creating it when absent.
  Result<int64_t> PutContext(const Context& context);
  Result<Context> GetContext(int64_t id);

  // Lineage edges.
  Result<std::vector<Event>> EventsOfExecution(int64_t execution_id);
  Result<std::vector<Event>> EventsOfArtifact(int64_t artifact_id);
  Result<std::vector<Execution>> ExecutionsInContext(int64_t context_id);

  // Batch reads for graph walks: one query for any number of ids. Missing
  // ids are left out; order is by id.
  Result<std::vector<Artifact>> GetArtifacts(const std::vector<int64_t>& ids);

  // Every artifact an execution of `type` output, by id. Reads only.
  Result<std::vector<Artifact>> OutputsOfExecutionType(
      const std::string& type);
  Result<std::vector<Execution>> GetExecutions(
      const std::vector<int64_t>& ids);
  // The events of type `type` touching any of these artifacts (or
  // executions), ordered by event id.
  Result<std::vector<Event>> EventsOfArtifacts(const std::vector<int64_t>& ids,
                                               EventType type);
  Result<std::vector<Event>> EventsOfExecutions(
      const std::vector<int64_t>& ids, EventType type);

  // The events a lineage walk of `depth` execution hops (0: no limit)
  // from `roots` can cross, found by one recursive query: the
  // `toward_execution` events of every artifact fewer than `depth` hops
  // away, and the other-type events of the executions they reach. Each
  // comes with its event id (the order the walk visits them in).
  Result<std::vector<std::pair<int64_t, Event>>> EventsWithinHops(
      const std::vector<int64_t>& roots, EventType toward_execution,
      int depth);

  // Runs.
  Status CreateRun(const Run& run);
  // Records the end of a run; a non-empty `failure` (why it failed other
  // than by a step's own doing) goes into its labels under
  // "lockstep.failure", in the same transaction.
  Status FinishRun(const std::string& run_id, const std::string& status,
                   const std::string& manifest_path,
                   const std::string& manifest_hash,
                   const std::string& failure = "");
  // Records a run that is still "running" as `status`, with `reason` in
  // its labels under "lockstep.failure", atomically. False (and no write)
  // when the run is not running any more.
  Result<bool> AbandonRun(const std::string& run_id,
                          const std::string& status,
                          const std::string& reason);
  Result<Run> GetRun(const std::string& run_id);
  Result<std::vector<Run>> ListRuns(const RunFilter& filter);

  // Snapshots. AlreadyExists when name@version is taken.
  Status PutSnapshot(const Snapshot& snapshot);
  Result<Snapshot> GetSnapshot(const std::string& name, int64_t version);
  // The highest version of `name`, or NotFound.
  Result<Snapshot> LatestSnapshot(const std::string& name);
  Result<std::vector<Snapshot>> ListSnapshots();

  SqlDatabase* database() { return db_.get(); }

 private:
  // A run's manifest path as recorded (relative to the store root when
  // inside it) and as handed back (absolute, in this store).
  std::string RecordedManifestPath(const std::string& path) const;
  std::string ResolvedManifestPath(const Run& run) const;
  // Runs `body` in a write transaction, retrying on Aborted (busy).
  Status InTransaction(const std::function<Status()>& body);
  // InTransaction for a write that adds a retention root (a finished run,
  // a snapshot): the same transaction advances the store's generation in
  // this database, and <store>/store-generation follows after the commit.
  Status InRootTransaction(const std::function<Status()>& body);
  // Inside a write transaction: this store's generation here, advanced by
  // one; the store is bound first when it has nothing this database
  // lacks. 0, advancing nothing, when there is no store root or id, or
  // this database is not the store's own or is older than it (so a
  // restored old copy stays older and gc keeps refusing it).
  Result<int64_t> AdvanceStoreGeneration();
  // The store's run manifests (<store>/runs/*/manifest.json) whose run
  // this database does not list, sorted.
  Result<std::vector<std::filesystem::path>> ManifestsUnknownHere();
  // Whether this database could be the store's although it does not
  // record its id: the store has generation `on_disk` 0 and no run
  // manifest this database does not know.
  Result<bool> LacksNothingOfStore(int64_t on_disk);
  Result<int64_t> InsertArtifact(const Artifact& artifact);
  // ReplayExecutions' copy, inside the caller's transaction, stamped
  // `time_ms`. Returns the number of executions copied.
  Result<int64_t> CopyReplayedExecutions(int64_t from,
                                         const std::string& from_run,
                                         const std::vector<int64_t>& to,
                                         const std::string& run_id,
                                         int64_t time_ms);
  // The next free id of `table` (the caller holds the write lock).
  Result<int64_t> NextId(const std::string& table);
  // Runs `select` + IdSet() + `tail` with `ids` as one parameter; a
  // non-empty `event_type` is bound to a `?` inside `select`.
  Result<std::vector<SqlRow>> QueryIn(const std::string& select,
                                      const std::vector<int64_t>& ids,
                                      const std::string& tail,
                                      const std::string& event_type);

  // The SQL that tests a column against a set of ids passed as one
  // parameter (" IN (SELECT value FROM json_each(?))" on SQLite,
  // " = ANY(?)" on PostgreSQL), and that parameter's value for `ids`.
  std::string IdSet() const;
  SqlValue IdSetParam(const std::vector<int64_t>& ids) const;
  // The same for text values: a table `k(value)` of `values` as one
  // parameter, and that parameter's value.
  std::string TextTable() const;
  SqlValue TextTableParam(const std::vector<std::string>& values) const;

  std::unique_ptr<SqlDatabase> db_;
  std::filesystem::path store_root_;
};

// Creates or checks the schema: creates it on an empty database (exactly
// once, even when several processes race), FailedPrecondition on a version
// mismatch. Used by Open.
Status EnsureSchema(SqlDatabase* db);

// Upgrades an older schema to kSchemaVersion in one transaction and sets
// `from_version` to the version found. Ok when already current.
Status MigrateSchema(SqlDatabase* db, int64_t* from_version);

// One schema upgrade: the statements that take version to_version - 1 to
// to_version.
struct MigrationStep {
  int64_t to_version = 0;
  std::vector<std::string> statements;
  // Run after `statements`, on one backend only (triggers differ).
  std::vector<std::string> sqlite_statements;
  std::vector<std::string> postgresql_statements;
};

// The upgrades after version 1, in order.
std::vector<MigrationStep> SchemaMigrations();

// MigrateSchema with an explicit step list (tests inject a failing step).
Status MigrateSchemaWith(SqlDatabase* db,
                         const std::vector<MigrationStep>& steps,
                         int64_t* from_version);

// Creates the schema as of `version` (1..kSchemaVersion) on an empty
// database; tests use it to make an old store.
Status CreateSchemaAtVersion(SqlDatabase* db, int64_t version);

// Opens the database at `url` (see MetadataStore::Open) without touching
// its schema: for `lockstep store migrate` and `store info` (a reader).
// Refuses, as Open does, a missing or empty SQLite file beside run
// manifests.
Result<std::unique_ptr<SqlDatabase>> OpenDatabase(
    const std::string& url, SqliteAccess access = SqliteAccess::kWriter);

// Reads the stored schema version, or 0 for an empty database.
Result<int64_t> ReadSchemaVersion(SqlDatabase* db);

}  // namespace lockstep::metadata

#endif  // LOCKSTEP_METADATA_METADATA_STORE_H_
