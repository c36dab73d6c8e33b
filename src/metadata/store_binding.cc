// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// Which store a lineage database belongs to (store/identity.h). The
// `stores` table (schema version 3) holds, per store id, a generation
// that advances in the transaction of every write adding a retention
// root; <store>/store-generation follows it after the commit. A database
// behind the store's file is an older copy of the store's database, one
// without the store's id is another store's or a fresh one: gc and
// cleanup refuse both, since their roots would not hold what the store's
// runs and snapshots need.

#include <algorithm>
#include <filesystem>
#include <set>

#include "core/clock.h"
#include "core/log.h"
#include "metadata/metadata_store.h"
#include "store/identity.h"

namespace lockstep::metadata {

namespace fs = std::filesystem;

namespace {

// What a destructive command risks with a database that lacks the
// store's roots, and the way out.
std::string Consequence(const std::string& command, const std::string& url,
                        bool deletes) {
  return "; " + command +
         (deletes ? " would delete what this store's runs and snapshots "
                    "need"
                  : " would report what this store's runs and snapshots "
                    "need as missing") +
         ". Use the store's own lineage database, or pass "
         "--trust-metadata if " + url + " holds every run and snapshot of "
         "this store";
}

std::string Join(const std::vector<std::string>& items) {
  std::string joined;
  for (const std::string& item : items) {
    joined += (joined.empty() ? "" : ", ") + item;
  }
  return joined;
}

}  // namespace

Result<std::vector<fs::path>> MetadataStore::ManifestsUnknownHere() {
  std::vector<fs::path> on_disk;
  std::error_code error;
  for (auto it = fs::directory_iterator(store_root_ / "runs", error);
       !error && it != fs::directory_iterator(); it.increment(error)) {
    fs::path manifest = it->path() / "manifest.json";
    std::error_code missing;
    if (fs::exists(manifest, missing)) on_disk.push_back(manifest);
  }
  if (on_disk.empty()) return on_disk;
  ASSIGN_OR_RETURN(auto rows, db_->Query("SELECT run_id FROM runs"));
  std::set<std::string> known;
  for (const SqlRow& row : rows) known.insert(AsText(row[0]));
  std::vector<fs::path> unknown;
  for (const fs::path& manifest : on_disk) {
    if (!known.contains(manifest.parent_path().filename().string())) {
      unknown.push_back(manifest);
    }
  }
  std::sort(unknown.begin(), unknown.end());
  return unknown;
}

Result<bool> MetadataStore::LacksNothingOfStore(int64_t on_disk) {
  if (on_disk != 0) return false;
  ASSIGN_OR_RETURN(std::vector<fs::path> unknown, ManifestsUnknownHere());
  return unknown.empty();
}

Result<int64_t> MetadataStore::AdvanceStoreGeneration() {
  if (store_root_.empty()) return int64_t{0};
  // A store without an id (or with a damaged one) binds nothing; gc
  // reports why.
  Result<std::string> id = store::ReadStoreId(store_root_);
  Result<int64_t> on_disk = store::ReadStoreGeneration(store_root_);
  if (!id.ok() || !on_disk.ok()) return int64_t{0};
  ASSIGN_OR_RETURN(auto advanced,
                   db_->Query("UPDATE stores SET generation = generation + 1 "
                              "WHERE store_id = ? AND generation >= ? "
                              "RETURNING generation",
                              {*id, *on_disk}));
  if (!advanced.empty()) return AsInt(advanced[0][0]);
  // No row advanced: either none for this store (bind it when it has
  // nothing this database lacks), or one older than the store.
  ASSIGN_OR_RETURN(bool claimable, LacksNothingOfStore(*on_disk));
  if (!claimable) return int64_t{0};
  ASSIGN_OR_RETURN(auto bound,
                   db_->Query("INSERT INTO stores (store_id, generation, "
                              "bound_ms) VALUES (?, 1, ?) ON CONFLICT "
                              "(store_id) DO NOTHING RETURNING generation",
                              {*id, NowUnixMillis()}));
  return bound.empty() ? int64_t{0} : AsInt(bound[0][0]);
}

Status MetadataStore::InRootTransaction(
    const std::function<Status()>& body) {
  int64_t generation = 0;
  RETURN_IF_ERROR(InTransaction([&]() -> Status {
    RETURN_IF_ERROR(body());
    ASSIGN_OR_RETURN(generation, AdvanceStoreGeneration());
    return Status::Ok();
  }));
  if (generation > 0) {
    // After the commit: the file never gets ahead of the database. A
    // failure here only weakens the check of an older copy.
    Status raised = store::RaiseStoreGeneration(store_root_, generation);
    if (!raised.ok()) {
      LogWarning("cannot record the store's generation: {}",
                 raised.message());
    }
  }
  return Status::Ok();
}

Status MetadataStore::CheckStoreDatabase(const std::string& command,
                                         const std::string& url,
                                         bool deletes) {
  const fs::path id_path = store_root_ / store::kStoreIdFile;
  Result<std::string> id = store::ReadStoreId(store_root_);
  if (id.status().IsNotFound()) {
    return Status::FailedPrecondition(
        command + " refuses to run: " + id_path.string() + " is missing "
        "(a store made by an older Lockstep); run `lockstep store "
        "migrate` once to give the store an id and record it in its "
        "lineage database");
  }
  RETURN_IF_ERROR(id.status());
  ASSIGN_OR_RETURN(int64_t on_disk, store::ReadStoreGeneration(store_root_));
  ASSIGN_OR_RETURN(auto rows,
                   db_->Query("SELECT generation FROM stores "
                              "WHERE store_id = ?",
                              {*id}));
  if (rows.empty()) {
    ASSIGN_OR_RETURN(bool claimable, LacksNothingOfStore(on_disk));
    if (claimable) return Status::Ok();
    ASSIGN_OR_RETURN(auto others, db_->Query("SELECT store_id FROM stores "
                                             "ORDER BY store_id"));
    std::vector<std::string> names;
    for (const SqlRow& row : others) names.push_back(AsText(row[0]));
    return Status::DataLoss(
        command + " refuses to run: the lineage database " + url +
        " is not this store's: it does not record store " + *id + " (" +
        id_path.string() + ") but " +
        (names.empty() ? "no store at all (a fresh database)"
                       : "only store " + Join(names)) +
        Consequence(command, url, deletes));
  }
  int64_t generation = AsInt(rows[0][0]);
  const fs::path generation_path =
      store_root_ / store::kStoreGenerationFile;
  if (generation < on_disk) {
    return Status::DataLoss(
        command + " refuses to run: the lineage database " + url +
        " is older than this store: it is at generation " +
        std::to_string(generation) + " and " + generation_path.string() +
        " at " + std::to_string(on_disk) +
        ", as a copy restored from an old backup would be" +
        Consequence(command, url, deletes));
  }
  ASSIGN_OR_RETURN(std::vector<fs::path> unknown, ManifestsUnknownHere());
  if (!unknown.empty()) {
    std::string more =
        unknown.size() > 1
            ? " and " + std::to_string(unknown.size() - 1) + " more"
            : "";
    return Status::DataLoss(
        command + " refuses to run: the lineage database " + url +
        " lacks runs of this store: it does not know the run of " +
        unknown[0].string() + more + " (an older copy, or the runs were "
        "recorded in another database)" + Consequence(command, url, deletes));
  }
  return Status::Ok();
}

Result<MetadataStore::StoreBinding> MetadataStore::BindStore() {
  StoreBinding result;
  ASSIGN_OR_RETURN(result.store_id, store::EnsureStoreId(store_root_));
  ASSIGN_OR_RETURN(int64_t on_disk, store::ReadStoreGeneration(store_root_));
  RETURN_IF_ERROR(InTransaction([&]() -> Status {
    ASSIGN_OR_RETURN(auto rows,
                     db_->Query("SELECT generation FROM stores "
                                "WHERE store_id = ?",
                                {result.store_id}));
    if (!rows.empty()) {
      result.binding = Binding::kAlreadyRecorded;
      return Status::Ok();
    }
    ASSIGN_OR_RETURN(bool claimable, LacksNothingOfStore(on_disk));
    if (!claimable) {
      result.binding = Binding::kRefused;
      return Status::Ok();
    }
    result.binding = Binding::kRecorded;
    return db_->Execute(
        "INSERT INTO stores (store_id, generation, bound_ms) "
        "VALUES (?, 1, ?)",
        {result.store_id, NowUnixMillis()});
  }));
  if (result.binding == Binding::kRecorded) {
    RETURN_IF_ERROR(store::RaiseStoreGeneration(store_root_, 1));
  }
  return result;
}

}  // namespace lockstep::metadata
