// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// `lockstep store migrate` upgrades the lineage store's schema (the only
// command that does: opening never migrates), `lockstep store info`
// says which database is in use and at which schema version, and
// `lockstep store verify` checks the whole store at rest.

#include <iostream>
#include <optional>

#include <fmt/format.h>

#include "cli/cli.h"
#include "cli/metadata_access.h"
#include "core/count_text.h"
#include "core/log.h"
#include "manifest/retention.h"
#include "metadata/metadata_store.h"
#include "registry/index.h"
#include "registry/registry.h"
#include "registry/store_check.h"
#include "store/identity.h"

namespace lockstep::cli {

namespace {

std::string_view BindingName(metadata::MetadataStore::Binding binding) {
  switch (binding) {
    case metadata::MetadataStore::Binding::kAlreadyRecorded:
      return "already recorded";
    case metadata::MetadataStore::Binding::kRecorded:
      return "recorded";
    case metadata::MetadataStore::Binding::kRefused:
      return "refused";
  }
  return "refused";
}

// After the schema is current: records the store's id in the database
// (making the id for a store from an older Lockstep), so that gc and
// cleanup accept it. Nullopt when there is no store folder (a server
// named by --metadata alone).
Result<std::optional<metadata::MetadataStore::StoreBinding>> BindStore(
    const GlobalOptions& globals, const std::string& url) {
  Result<store::StoreLocation> location =
      OpenStore(globals, store::CreateIfMissing::kNo);
  if (!location.ok()) {
    return std::optional<metadata::MetadataStore::StoreBinding>();
  }
  ASSIGN_OR_RETURN(auto metadata, metadata::MetadataStore::Open(url));
  metadata->SetStoreRoot(location->root);
  ASSIGN_OR_RETURN(metadata::MetadataStore::StoreBinding binding,
                   metadata->BindStore());
  if (binding.binding == metadata::MetadataStore::Binding::kRefused) {
    LogWarning("store {} was not recorded in {}: the store has runs or "
               "snapshots this database lacks, so gc and cleanup will "
               "refuse it (see docs/registry.md, \"Garbage collection\")",
               binding.store_id, RedactedUrl(url));
  }
  return std::optional(binding);
}

int Migrate(const GlobalOptions& globals) {
  auto url = MetadataUrl(globals);
  if (!url.ok()) {
    return ReportError(url.status());
  }
  auto db = metadata::OpenDatabase(*url);
  if (!db.ok()) {
    return ReportError(db.status());
  }
  int64_t from = 0;
  Status status = metadata::MigrateSchema(db->get(), &from);
  if (!status.ok()) {
    return ReportError(status);
  }
  int64_t to = metadata::kSchemaVersion;
  auto bound = BindStore(globals, *url);
  if (!bound.ok()) {
    return ReportError(bound.status());
  }
  if (globals.json) {
    nlohmann::json result = {{"url", RedactedUrl(*url)},
                             {"from_version", from},
                             {"to_version", to},
                             {"migrated", from != to}};
    if (bound->has_value()) {
      result["store_id"] = (*bound)->store_id;
      result["store"] = BindingName((*bound)->binding);
    }
    PrintJson(result);
    return kExitOk;
  }
  if (from == to) {
    std::cout << fmt::format("the metadata schema is already version {}\n",
                             to);
  } else if (from == 0) {
    std::cout << fmt::format("created the metadata schema, version {}\n", to);
  } else {
    std::cout << fmt::format(
        "migrated the metadata schema from version {} to {}\n", from, to);
  }
  if (bound->has_value()) {
    std::cout << fmt::format("store {}: {} in this database\n",
                             (*bound)->store_id,
                             BindingName((*bound)->binding));
  }
  return kExitOk;
}

// The store's id and generation, and the generation the database
// records for it (null when none), to explain what gc checks. Empty
// without a store folder or id, or before schema version 3.
Result<nlohmann::json> StoreIdentity(const GlobalOptions& globals,
                                     metadata::SqlDatabase* db,
                                     int64_t version) {
  Result<store::StoreLocation> location =
      OpenStore(globals, store::CreateIfMissing::kNo);
  if (!location.ok()) return nlohmann::json::object();
  Result<std::string> id = store::ReadStoreId(location->root);
  if (!id.ok()) return nlohmann::json::object();
  ASSIGN_OR_RETURN(int64_t on_disk,
                   store::ReadStoreGeneration(location->root));
  nlohmann::json identity = {{"store_id", *id},
                             {"store_generation", on_disk},
                             {"database_generation", nullptr}};
  if (version < 3) return identity;
  ASSIGN_OR_RETURN(auto rows,
                   db->Query("SELECT generation FROM stores "
                             "WHERE store_id = ?",
                             {*id}));
  if (!rows.empty()) {
    identity["database_generation"] = metadata::AsInt(rows[0][0]);
  }
  return identity;
}

int Info(const GlobalOptions& globals) {
  auto url = MetadataUrl(globals);
  if (!url.ok()) {
    return ReportError(url.status());
  }
  auto db = metadata::OpenDatabase(*url, metadata::SqliteAccess::kReader);
  if (!db.ok()) {
    return ReportError(db.status());
  }
  auto version = metadata::ReadSchemaVersion(db->get());
  if (!version.ok()) {
    return ReportError(version.status());
  }
  nlohmann::json info = {
      {"url", RedactedUrl(*url)},
      {"backend", metadata::IsPostgresqlUrl(*url) ? "postgresql" : "sqlite"},
      {"schema_version", *version},
      {"supported_version", metadata::kSchemaVersion}};
  for (const char* table : {"artifacts", "executions", "events", "runs"}) {
    auto rows = *version == 0
                    ? Result<std::vector<metadata::SqlRow>>(
                          std::vector<metadata::SqlRow>{{int64_t{0}}})
                    : (*db)->Query(std::string("SELECT count(*) FROM ") +
                                   table);
    if (!rows.ok()) {
      return ReportError(rows.status());
    }
    info[table] = metadata::AsInt((*rows)[0][0]);
  }
  auto identity = StoreIdentity(globals, db->get(), *version);
  if (!identity.ok()) {
    return ReportError(identity.status());
  }
  info.update(*identity);

  if (globals.json) {
    PrintJson(info);
    return kExitOk;
  }
  std::cout << fmt::format(
      "metadata: {} ({})\nschema version: {} (this lockstep: {})\n"
      "artifacts: {}  executions: {}  events: {}  runs: {}\n",
      info["url"].get<std::string>(), info["backend"].get<std::string>(),
      *version, metadata::kSchemaVersion, info["artifacts"].get<int64_t>(),
      info["executions"].get<int64_t>(), info["events"].get<int64_t>(),
      info["runs"].get<int64_t>());
  if (identity->contains("store_id")) {
    const nlohmann::json& recorded = (*identity)["database_generation"];
    std::cout << fmt::format(
        "store: {} (generation {}; in this database: {})\n",
        (*identity)["store_id"].get<std::string>(),
        (*identity)["store_generation"].get<int64_t>(),
        recorded.is_null() ? std::string("not recorded")
                           : "generation " + recorded.dump());
  }
  return kExitOk;
}

int Verify(const GlobalOptions& globals, bool skip_hashing,
           bool trust_metadata) {
  auto location = OpenStore(globals, store::CreateIfMissing::kNo);
  if (!location.ok()) return ReportError(location.status());
  store::BlobStore blobs(location->root);
  auto metadata = OpenMetadata(globals, {.reader = true});
  if (!metadata.ok()) return ReportError(metadata.status());
  // Another store's database would report this store's runs missing.
  Status own = RequireStoreDatabase("store verify", globals, metadata->get(),
                                    trust_metadata, /*deletes=*/false);
  if (!own.ok()) return ReportError(own);
  // Opened only when it exists: verifying creates nothing. One lost
  // would make the registry's blobs look unreferenced.
  Status index_kept = registry::CheckRegistryIndexNotLost(location->root);
  if (!index_kept.ok()) return ReportError(index_kept);
  std::filesystem::path index_path =
      registry::RegistryIndexPath(location->root);
  std::unique_ptr<registry::Index> index;
  if (std::filesystem::exists(index_path)) {
    auto opened = registry::Index::OpenToRead(index_path);
    if (!opened.ok()) return ReportError(opened.status());
    index = std::move(*opened);
  }

  manifest::LineageRetentionRoots roots(metadata->get(), &blobs);
  registry::StoreCheckOptions options;
  options.skip_hashing = skip_hashing;
  auto report = registry::CheckStore(blobs, index.get(), roots, options);
  if (!report.ok()) return ReportError(report.status());

  if (globals.json) {
    PrintJson(report->ToJson());
  } else {
    for (const registry::StoreProblem& problem : report->problems) {
      // A damaged pack's index names no blob: the pack stands for it.
      std::cout << problem.kind << " "
                << (problem.digest.empty() ? problem.file : problem.digest)
                << ": " << problem.detail << "\n";
    }
    std::cout << fmt::format(
        "{} ({} bytes, {}) re-hashed, {} followed: {}\n",
        CountText(report->blobs_checked, "blob"), report->bytes_checked,
        CountText(report->packs_checked, "pack"),
        CountText(report->references_checked, "reference"),
        report->problems.empty()
            ? std::string("no problems")
            : CountText(report->problems.size(), "problem"));
  }
  return report->problems.empty() ? kExitOk : kExitFailed;
}

}  // namespace

void AddStoreCommands(CLI::App& app, CommandContext context) {
  CLI::App* store = app.add_subcommand("store", "Manage the store");
  store->require_subcommand(1);

  CLI::App* migrate = store->add_subcommand(
      "migrate", "Upgrade the metadata schema, in one transaction");
  migrate->callback([context] {
    *context.action = [globals = context.globals] {
      return Migrate(*globals);
    };
  });

  CLI::App* info = store->add_subcommand(
      "info", "Show the metadata database, its backend and schema version");
  info->callback([context] {
    *context.action = [globals = context.globals] { return Info(*globals); };
  });

  auto skip_hashing = std::make_shared<bool>(false);
  auto trust_metadata = std::make_shared<bool>(false);
  CLI::App* verify = store->add_subcommand(
      "verify", "Check every blob's digest and every reference the "
                "registry and the lineage store hold");
  verify->add_flag("--no-hash", *skip_hashing,
                   "Only follow references; do not re-hash the blobs");
  verify->add_flag("--trust-metadata", *trust_metadata,
                   "Check against a lineage database that is not the "
                   "store's own");
  verify->callback([context, skip_hashing, trust_metadata] {
    *context.action = [globals = context.globals, skip_hashing,
                       trust_metadata] {
      return Verify(*globals, *skip_hashing, *trust_metadata);
    };
  });
}

}  // namespace lockstep::cli
