// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// `lockstep registry serve|immutable`, `lockstep cleanup`, `lockstep gc`,
// `lockstep push` and `lockstep pull`: the OCI registry over the store,
// its retention, and the client for any OCI registry.

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "cli/cli.h"
#include "cli/metadata_access.h"
#include "cli/run_support.h"
#include "manifest/retention.h"
#include "pipeline/run_lock.h"
#include "core/count_text.h"
#include "core/log.h"
#include "core/clock.h"
#include "core/files.h"
#include "core/progress.h"
#include "core/subprocess.h"
#include "registry/auth.h"
#include "registry/cleanup.h"
#include "registry/client.h"
#include "registry/gc.h"
#include "registry/registry.h"
#include "registry/server.h"
#include "registry/tls_files.h"
#include "share/expiry.h"
#include "share/layer_files.h"
#include "share/share.h"
#include "store/scratch.h"
#include "store/space_reserve.h"
#include "store/sweep_lock.h"

namespace lockstep::cli {
namespace {

// Splits "HOST:PORT" (HOST may be empty, meaning 127.0.0.1). The port is
// all digits, 1 to 65535 ("5000abc" used to listen on 5000).
Result<std::pair<std::string, int>> ParseListen(const std::string& text) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos) {
    return Status::InvalidArgument("want HOST:PORT, not '" + text + "'");
  }
  std::string host = text.substr(0, colon);
  std::string port_text = text.substr(colon + 1);
  int port = 0;
  const char* end = port_text.data() + port_text.size();
  auto [stop, error] = std::from_chars(port_text.data(), end, port);
  if (error != std::errc() || stop != end || port <= 0 || port > 65535) {
    return Status::InvalidArgument("the port of '" + text + "' must be "
                                   "a number from 1 to 65535");
  }
  return std::make_pair(host.empty() ? "127.0.0.1" : host, port);
}

// A malformed flag value is a usage error (exit 64), refused by CLI11
// before the store is opened; it used to exit 3 like a malformed file.
CLI::Validator ListenValidator() {
  return CLI::Validator(
      [](std::string& text) {
        Result<std::pair<std::string, int>> parsed = ParseListen(text);
        return parsed.ok() ? std::string() : parsed.status().message();
      },
      "HOST:PORT");
}

// The realm goes into a quoted header parameter, and clients send their
// password to it: an absolute http(s) URL without quotes or blanks.
CLI::Validator RealmValidator() {
  return CLI::Validator(
      [](std::string& url) {
        bool absolute = url.starts_with("http://") ||
                        url.starts_with("https://");
        bool quotable = std::none_of(url.begin(), url.end(), [](char c) {
          return c == '"' || c == '\\' ||
                 std::isspace(static_cast<unsigned char>(c)) ||
                 std::iscntrl(static_cast<unsigned char>(c));
        });
        return absolute && quotable
                   ? std::string()
                   : "--token-realm must be an http:// or https:// URL "
                     "without quotes or blanks, not '" + url + "'";
      },
      "URL");
}

// The upload files of sessions a killed server held: no server serves
// them any more (sessions live in memory), and they were left until gc,
// a day later, hundreds of megabytes after a few killed pushes (found
// by a tester). Only files idle past the session limit, which another
// server on the store could not still hold.
void RemoveAbandonedUploads(const std::filesystem::path& root) {
  auto swept = store::SweepAbandonedUploads(root / "tmp", 0, false);
  if (!swept.ok()) {
    LogWarning("cannot remove abandoned uploads: {}",
               swept.status().message());
    return;
  }
  uint64_t bytes = 0;
  for (const store::ScratchEntry& entry : *swept) bytes += entry.bytes;
  if (!swept->empty()) {
    LogInfo("removed {} abandoned upload files ({} bytes)", swept->size(),
            bytes);
  }
}

void AddServe(CLI::App& group, CommandContext context) {
  auto* cmd = group.add_subcommand("serve", "Serve the OCI Distribution API");
  struct Flags {
    std::string listen = "127.0.0.1:5000";
    std::string htpasswd, access, tls_cert, tls_key, auth_mode = "basic";
    std::string token_realm;
    bool read_only = false;
    bool automatic_mount = false;
    int header_timeout = 30;
  };
  auto flags = std::make_shared<Flags>();
  cmd->add_option("--listen", flags->listen, "HOST:PORT to listen on")
      ->check(ListenValidator());
  CLI::Option* htpasswd =
      cmd->add_option("--htpasswd", flags->htpasswd,
                      "htpasswd file with bcrypt entries (htpasswd -B)");
  // Without --htpasswd these would leave the registry open while the
  // operator believes it guarded: a usage error, not a quiet default.
  cmd->add_option("--access", flags->access,
                  "JSON access rules (docs/registry.md); needs --htpasswd")
      ->needs(htpasswd);
  CLI::Option* auth_mode =
      cmd->add_option("--auth", flags->auth_mode,
                      "basic (HTTP Basic) or token (Docker token flow at "
                      "/token); needs --htpasswd")
          ->check(CLI::IsMember({"basic", "token"}))
          ->needs(htpasswd);
  cmd->add_option("--token-realm", flags->token_realm,
                  "With --auth token: the URL clients are sent to for a "
                  "token (default: this server's /token, from the "
                  "request's Host header)")
      ->check(RealmValidator())
      ->needs(auth_mode);
  CLI::Option* tls_cert =
      cmd->add_option("--tls-cert", flags->tls_cert, "PEM certificate");
  CLI::Option* tls_key =
      cmd->add_option("--tls-key", flags->tls_key, "PEM private key");
  tls_cert->needs(tls_key);
  tls_key->needs(tls_cert);
  cmd->add_flag("--read-only", flags->read_only, "Refuse every write");
  cmd->add_flag("--automatic-mount", flags->automatic_mount,
                "Mount a blob asked for without `from` from any "
                "repository the caller may read (default: upload it)");
  cmd->add_option("--header-timeout", flags->header_timeout,
                  "Seconds a request's headers may take to arrive before "
                  "the connection is dropped (0: no limit)")
      ->check(CLI::Range(0, 86400))
      ->capture_default_str();
  cmd->callback([context, flags] {
    // A realm under basic auth would be ignored while looking set.
    if (!flags->token_realm.empty() && flags->auth_mode != "token") {
      throw CLI::ValidationError("--token-realm",
                                 "applies only with --auth token");
    }
    *context.action = [context, flags]() -> int {
      Result<std::pair<std::string, int>> listen = ParseListen(flags->listen);
      if (!listen.ok()) {
        return ReportError(listen.status().WithContext("--listen"));
      }
      if (!flags->tls_cert.empty()) {
        Status tls = registry::CheckTlsFiles(flags->tls_cert, flags->tls_key);
        if (!tls.ok()) return ReportError(tls);
      }
      // Every argument is checked before a store is made, so a refused
      // one leaves no empty store behind a mistyped --store.
      std::unique_ptr<registry::AuthFiles> auth;
      if (!flags->htpasswd.empty()) {
        // Looked at again at most once a second: a removed user is shut
        // out within a second, and a stat per request is not paid.
        auto loaded = registry::AuthFiles::Load(
            flags->htpasswd, flags->access, std::chrono::seconds(1));
        if (!loaded.ok()) return ReportError(loaded.status());
        auth = std::move(*loaded);
      }
      auto location = OpenStore(*context.globals, store::CreateIfMissing::kYes);
      if (!location.ok()) return ReportError(location.status());
      // A read-only server makes no index in a store that never served
      // (which may be on a read-only file system): it serves nothing.
      auto registry = flags->read_only
                          ? registry::Registry::OpenToLook(location->root)
                          : registry::Registry::Open(location->root);
      if (!registry.ok()) return ReportError(registry.status());
      if (!flags->read_only) RemoveAbandonedUploads(location->root);
      registry::ServeOptions options;
      options.host = listen->first;
      options.port = listen->second;
      options.tls_cert = flags->tls_cert;
      options.tls_key = flags->tls_key;
      options.read_only = flags->read_only;
      options.automatic_mount = flags->automatic_mount;
      options.auth = auth.get();
      options.token_realm = flags->token_realm;
      options.header_timeout = std::chrono::seconds(flags->header_timeout);
      // The key is kept in the store, so tokens outlive a restart until
      // they expire.
      std::optional<registry::TokenIssuer> tokens;
      if (auth && flags->auth_mode == "token") {
        auto loaded = registry::TokenIssuer::KeyFromFile(
            location->root / "registry" / "token.key");
        if (!loaded.ok()) return ReportError(loaded.status());
        tokens = std::move(*loaded);
        options.tokens = &*tokens;
      }
      // SIGINT, SIGTERM or SIGHUP stop taking connections, let the
      // requests in flight finish and exit 130 (a SIGTERM killed the
      // server with 143, a code docs/exit-codes.md does not have).
      InstallCancellationHandlers();
      options.stop_requested = [] { return CancellationRequested(); };
      Status served = registry::Serve(**registry, options);
      if (!served.ok()) return ReportError(served);
      if (CancellationRequested()) {
        LogInfo("registry stopped");
        return kExitInterrupted;
      }
      return kExitOk;
    };
  });
}

void AddImmutable(CLI::App& group, CommandContext context) {
  auto* cmd = group.add_subcommand(
      "immutable", "Make a repository's tags immutable (or --off)");
  auto repo = std::make_shared<std::string>();
  auto off = std::make_shared<bool>(false);
  auto create = std::make_shared<bool>(false);
  cmd->add_option("REPOSITORY", *repo, "Repository name")->required();
  cmd->add_flag("--off", *off, "Allow tags to move again");
  cmd->add_flag("--create", *create,
                "Set it for a repository nothing was pushed to yet");
  cmd->callback([context, repo, off, create] {
    *context.action = [context, repo, off, create]() -> int {
      // Only configures a store: a mistyped --store must not make one
      // and report the real repository protected.
      auto location = OpenStore(*context.globals, store::CreateIfMissing::kNo);
      if (!location.ok()) return ReportError(location.status());
      auto registry = registry::Registry::Open(location->root);
      if (!registry.ok()) return ReportError(registry.status());
      Status status = (*registry)->SetTagsImmutable(
          *repo, !*off,
          *create ? store::CreateIfMissing::kYes : store::CreateIfMissing::kNo);
      if (status.IsNotFound()) {
        status = Status::NotFound(status.message() + "; check the name, or "
                                  "pass --create to set it before the "
                                  "first push");
      }
      if (!status.ok()) return ReportError(status);
      if (context.globals->json) {
        PrintJson({{"repository", *repo}, {"immutableTags", !*off}});
      } else if (!context.globals->quiet) {
        std::printf("%s: tags are now %s\n", repo->c_str(),
                    *off ? "mutable" : "immutable");
      }
      return kExitOk;
    };
  });
}

// Prints one cleanup decision line (or collects it for --json).
void ReportDecision(const registry::CleanupDecision& d, bool dry_run,
                    nlohmann::json* json) {
  std::string what = d.tag.empty() ? d.repository + "@" + d.digest.ToString()
                                   : d.repository + ":" + d.tag;
  if (json != nullptr) {
    json->push_back({{"repository", d.repository},
                     {"tag", d.tag},
                     {"digest", d.digest.ToString()},
                     {"action", d.remove ? "delete" : "keep"},
                     {"reason", d.reason},
                     {"dryRun", dry_run}});
    return;
  }
  std::printf("%-6s %s  (%s)%s\n", d.remove ? "delete" : "keep",
              what.c_str(), d.reason.c_str(), dry_run ? " [dry run]" : "");
}

// On a full disk, gc and cleanup give themselves the store's reserve
// (store/space_reserve.h): their databases need room to record what they
// remove, and a dry run's need room too, since SQLite writes its log
// beside a database even to read it. gc makes the reserve again once it
// has freed space.
void UseSpaceReserveIfFull(const std::filesystem::path& root,
                           const GlobalOptions& globals) {
  if (store::ReleaseSpaceReserveIfLow(root) && !globals.quiet) {
    LogInfo("the disk is full: using the store's {} KiB space reserve",
            store::kSpaceReserveBytes >> 10);
  }
}

int RunCleanup(const GlobalOptions& globals, const std::string& policy_path,
               const std::string& repository, bool dry_run,
               bool trust_metadata) {
  auto text = ReadDocument(policy_path);
  if (!text.ok()) return ReportError(text.status());
  auto policies = registry::ParsePolicies(*text, policy_path);
  if (!policies.ok()) return ReportError(policies.status());
  auto location = OpenStore(globals, store::CreateIfMissing::kNo);
  if (!location.ok()) return ReportError(location.status());
  UseSpaceReserveIfFull(location->root, globals);
  auto registry = dry_run ? registry::Registry::OpenToLook(location->root)
                          : registry::Registry::Open(location->root);
  if (!registry.ok()) return ReportError(registry.status());
  registry::Index& index = (*registry)->index();

  // Nothing a recorded run needs to reproduce may go.
  auto metadata = OpenMetadata(globals);
  if (!metadata.ok()) return ReportError(metadata.status());
  Status own = RequireStoreDatabase("cleanup", globals, metadata->get(),
                                    trust_metadata);
  if (!own.ok()) return ReportError(own);
  manifest::LineageRetentionRoots roots(metadata->get(),
                                       &(*registry)->blobs());
  auto plan = registry::PlanCleanup(index, *policies, roots, repository,
                                    NowUnixMillis());
  if (!plan.ok()) return ReportError(plan.status());

  // A repository's first cleanup is always a dry run.
  std::map<std::string, bool> preview;
  for (const auto& d : plan->decisions) {
    if (preview.count(d.repository)) continue;
    auto seen = index.CleanupPreviewedAt(d.repository);
    if (!seen.ok()) return ReportError(seen.status());
    preview[d.repository] = dry_run || !seen->has_value();
  }
  // The last safe point: what follows changes the index.
  if (!CancellationStatus().ok()) return kExitInterrupted;
  registry::CleanupPlan to_apply;
  nlohmann::json lines = nlohmann::json::array();
  for (const auto& d : plan->decisions) {
    bool dry = preview[d.repository];
    ReportDecision(d, dry, globals.json ? &lines : nullptr);
    if (!dry) to_apply.decisions.push_back(d);
  }
  for (const auto& [repo, dry] : preview) {
    auto seen = index.CleanupPreviewedAt(repo);
    if (seen.ok() && !seen->has_value()) {
      if (!globals.quiet && !dry_run) {
        LogInfo("first cleanup of {}: dry run only; run again to apply", repo);
      }
      Status recorded = index.RecordCleanupPreview(repo, NowUnixMillis());
      if (!recorded.ok()) return ReportError(recorded);
    }
  }
  Status applied = registry::ApplyCleanup(index, to_apply);
  if (!applied.ok()) return ReportError(applied);
  if (globals.json) PrintJson({{"decisions", lines}});
  return kExitOk;
}

void AddCleanup(CLI::App& app, CommandContext context) {
  auto* cmd = app.add_subcommand(
      "cleanup", "Apply Artifact Registry-style cleanup policies");
  struct Flags {
    std::string policy, repository;
    bool dry_run = false;
    bool trust_metadata = false;
  };
  auto flags = std::make_shared<Flags>();
  cmd->add_option("--policy", flags->policy, "Policy JSON file")->required();
  cmd->add_option("--repository", flags->repository,
                  "Only this repository (default: all)");
  cmd->add_flag("--dry-run", flags->dry_run,
                "Print decisions, change nothing (always so the first time)");
  cmd->add_flag("--trust-metadata", flags->trust_metadata,
                "Use a lineage database gc and cleanup would refuse (one "
                "that does not record this store, or is older than it)");
  cmd->callback([context, flags] {
    *context.action = [context, flags] {
      return RunInterruptible(
          "cleanup interrupted: no tag or manifest was removed", [&] {
            return RunCleanup(*context.globals, flags->policy,
                              flags->repository, flags->dry_run,
                              flags->trust_metadata);
          });
    };
  });
}

nlohmann::json ScratchJson(const pipeline::ScratchSweep& sweep) {
  nlohmann::json entries = nlohmann::json::array();
  for (const auto* list : {&sweep.work_folders, &sweep.temporaries,
                            &sweep.run_locks}) {
    for (const store::ScratchEntry& entry : *list) {
      entries.push_back({{"path", entry.path.string()},
                         {"bytes", entry.bytes}});
    }
  }
  return entries;
}

void PrintScratch(const pipeline::ScratchSweep& sweep, bool dry_run) {
  for (const auto* list : {&sweep.work_folders, &sweep.temporaries,
                            &sweep.run_locks}) {
    for (const store::ScratchEntry& entry : *list) {
      std::printf("%s %s (%llu bytes, left by a killed process)\n",
                  dry_run ? "would remove" : "removed",
                  entry.path.c_str(),
                  static_cast<unsigned long long>(entry.bytes));
    }
  }
}

// --grace: a duration, or 0.
Result<int64_t> ParseGrace(const std::string& grace) {
  return grace == "0" ? Result<int64_t>(0) : ParseDurationMillis(grace);
}

// A malformed --grace is a usage error (exit 64), refused by CLI11 before
// the store is opened, as --listen is; it exited 3.
CLI::Validator GraceValidator() {
  return CLI::Validator(
      [](std::string& text) {
        Result<int64_t> grace = ParseGrace(text);
        return grace.ok() ? std::string() : grace.status().message();
      },
      "DURATION");
}

// Says once, after a second, what gc waits for: it waited silently
// while a stopped `data snapshot` held the lock (found by a tester).
store::SweepLock::WaitNotice SweepLockWaitNotice() {
  auto told = std::make_shared<bool>(false);
  return [told](const std::filesystem::path& lock,
                const std::vector<int>& holders) {
    if (*told) return;
    *told = true;
    std::string by = "another process";
    if (!holders.empty()) {
      by = holders.size() == 1 ? "process " : "processes ";
      for (size_t i = 0; i < holders.size(); ++i) {
        by += (i == 0 ? "" : ", ") + std::to_string(holders[i]);
      }
    }
    LogInfo("waiting for the sweep lock {}, held by {} (a data snapshot, "
            "or another gc)",
            lock.string(), by);
  };
}

int RunGc(const GlobalOptions& globals, bool dry_run,
          const std::string& grace, bool trust_metadata) {
  Result<int64_t> grace_ms = ParseGrace(grace);
  if (!grace_ms.ok()) {
    return ReportError(Status::InvalidArgument(
        "--grace: " + grace_ms.status().message()));
  }
  auto location = OpenStore(globals, store::CreateIfMissing::kNo);
  if (!location.ok()) return ReportError(location.status());
  UseSpaceReserveIfFull(location->root, globals);
  auto registry = dry_run ? registry::Registry::OpenToLook(location->root)
                          : registry::Registry::Open(location->root);
  if (!registry.ok()) return ReportError(registry.status());
  auto metadata = OpenMetadata(globals);
  if (!metadata.ok()) return ReportError(metadata.status());
  Status own = RequireStoreDatabase("gc", globals, metadata->get(),
                                    trust_metadata);
  if (!own.ok()) return ReportError(own);

  // Expired snapshots no kept run needs are removed first, so that this
  // gc frees their bytes (a dry run only leaves them out of the roots).
  auto expiry = share::ExpireSnapshots(metadata->get(), NowUnixMillis(),
                                       !dry_run);
  if (!expiry.ok()) return ReportError(expiry.status());
  manifest::LineageRetentionRoots roots(metadata->get(),
                                       &(*registry)->blobs());
  std::set<int64_t> expired;
  for (const share::ExpiryDecision& decision : *expiry) {
    if (decision.remove) expired.insert(decision.artifact_id);
  }
  roots.ExcludeSnapshots(expired);
  registry::GcOptions options;
  options.dry_run = dry_run;
  options.grace_ms =
      pipeline::GraceSparingLiveRuns(location->root, *grace_ms);
  options.on_sweep_lock_wait = SweepLockWaitNotice();
  auto report = registry::CollectGarbage((*registry)->index(),
                                         (*registry)->blobs(), roots, options);
  if (!report.ok()) return ReportError(report.status());
  auto scratch = pipeline::SweepAbandonedScratch(location->root, *grace_ms,
                                                 dry_run);
  if (!scratch.ok()) return ReportError(scratch.status());
  auto run_locks = pipeline::SweepUnheldRunLocks(
      location->root, metadata->get(), dry_run);
  if (!run_locks.ok()) return ReportError(run_locks.status());
  scratch->run_locks = std::move(*run_locks);
  // Made again (or for the first time, in an older store) once there is
  // room: gc is what frees it.
  if (!dry_run) (void)store::RefillSpaceReserve(location->root);

  if (globals.json) {
    nlohmann::json swept = nlohmann::json::array();
    for (const auto& blob : report->swept) {
      swept.push_back({{"digest", blob.digest.ToString()},
                       {"size", blob.size}});
    }
    nlohmann::json kept = nlohmann::json::array();
    for (const auto& root : report->kept_by_roots) {
      kept.push_back({{"digest", root.digest.ToString()},
                      {"reason", root.reason}});
    }
    nlohmann::json snapshots = nlohmann::json::array();
    for (const share::ExpiryDecision& decision : *expiry) {
      snapshots.push_back(decision.ToJson());
    }
    PrintJson({{"dryRun", dry_run},
               {"expiredSnapshots", snapshots},
               {"abandonedScratch", ScratchJson(*scratch)},
               {"markStarted", FormatRfc3339(report->mark_started_ms)},
               {"marked", report->marked},
               {"swept", swept},
               {"keptByRoots", kept},
               {"droppedLinks", report->dropped_links.size()},
               {"sparedYoung", report->spared_young.size()},
               {"bytesFreed", report->bytes_freed},
               {"packsRemoved", report->packs_removed.size()},
               {"deadBytesInKeptPacks", report->dead_bytes_in_kept_packs}});
    return kExitOk;
  }
  for (const share::ExpiryDecision& decision : *expiry) {
    std::printf("%s snapshot %s (%s)%s\n",
                decision.remove ? "remove" : "keep  ",
                decision.snapshot.c_str(), decision.reason.c_str(),
                dry_run ? " [dry run]" : "");
  }
  for (const auto& blob : report->swept) {
    std::printf("%s %s (%llu bytes)\n", dry_run ? "would sweep" : "swept",
                blob.digest.ToString().c_str(),
                static_cast<unsigned long long>(blob.size));
  }
  for (const auto& root : report->kept_by_roots) {
    std::printf("kept %s (%s)\n", root.digest.ToString().c_str(),
                root.reason.c_str());
  }
  for (const auto& pack : report->packs_removed) {
    std::printf("%s %s\n", dry_run ? "would remove pack" : "removed pack",
                pack.c_str());
  }
  PrintScratch(*scratch, dry_run);
  if (!globals.quiet) {
    LogInfo("{} {}, {} bytes; {} spared as younger than the grace "
            "period",
            CountText(report->swept.size(), "blob"),
            dry_run ? "would be swept" : "swept",
            report->bytes_freed, report->spared_young.size());
  }
  return kExitOk;
}

void AddGc(CLI::App& app, CommandContext context) {
  auto* cmd = app.add_subcommand(
      "gc", "Sweep blobs nothing holds (safe while the registry serves)");
  auto dry_run = std::make_shared<bool>(false);
  auto grace = std::make_shared<std::string>("1h");
  auto trust = std::make_shared<bool>(false);
  cmd->add_flag("--dry-run", *dry_run, "List what would be swept");
  cmd->add_flag("--trust-metadata", *trust,
                "Use a lineage database gc would refuse (one that does not "
                "record this store, or is older than it)");
  cmd->add_option("--grace", *grace,
                  "Never sweep blobs younger than this (default 1h); keep "
                  "it longer than any push takes, or a layer uploaded "
                  "before its manifest may be swept")
      ->check(GraceValidator());
  cmd->callback([context, dry_run, grace, trust] {
    *context.action = [context, dry_run, grace, trust] {
      return RunInterruptible(
          "gc interrupted: what it swept stays swept; run it again for "
          "the rest",
          [&] { return RunGc(*context.globals, *dry_run, *grace, *trust); });
    };
  });
}

struct TransferFlags {
  std::vector<std::string> args;
  std::string artifact_type = "application/vnd.lockstep.artifact.v1";
  std::string mount_from;
  std::string subject;
  std::string output;
  bool insecure = false;
  uint64_t chunk_size = 16u << 20;
  long timeout_seconds = 60;
  std::string cert_dir;
};

// The client options both push and pull take from their flags.
registry::ClientOptions ClientOptionsFor(const TransferFlags& flags) {
  registry::ClientOptions options;
  options.verify_tls = !flags.insecure;
  options.chunk_size = std::max<uint64_t>(flags.chunk_size, 1);
  options.timeout_seconds = flags.timeout_seconds;
  options.cert_dir = flags.cert_dir;
  return options;
}

// --timeout and --cert-dir, for push and pull.
void AddConnectionFlags(CLI::App* cmd, TransferFlags* flags) {
  cmd->add_option("--timeout", flags->timeout_seconds,
                  "Give up when connecting takes longer, or nothing moves "
                  "for this many seconds (default 60)")
      ->check(CLI::Range(1L, 86400L));
  cmd->add_option("--cert-dir", flags->cert_dir,
                  "Also trust the CA certificates DIR/*.crt (default: "
                  "/etc/containers/certs.d/HOST:PORT, "
                  "/etc/docker/certs.d/HOST:PORT)")
      ->check(CLI::ExistingDirectory);
}

// Pushes files and sha256: store blobs as the layers of one artifact.
int PushFiles(const GlobalOptions& globals, const TransferFlags& flags,
              const registry::Reference& target) {
  auto location = OpenStore(globals, store::CreateIfMissing::kYes);
  if (!location.ok()) return ReportError(location.status());
  store::BlobStore blobs(location->root);

  registry::PushRequest request;
  request.artifact_type = flags.artifact_type;
  request.mount_from = flags.mount_from;
  if (!flags.subject.empty()) {
    auto subject = Digest::Parse(flags.subject);
    if (!subject.ok()) {
      return ReportError(subject.status().WithContext("--subject"));
    }
    request.subject = *subject;
  }
  std::vector<std::string> items(flags.args.begin(), flags.args.end() - 1);
  auto layers = share::LayersOfFiles(blobs, items);
  if (!layers.ok()) return ReportError(layers.status());
  request.layers = std::move(*layers);
  registry::Client client(blobs, ClientOptionsFor(flags));
  auto pushed = client.Push(target, request);
  if (!pushed.ok()) return ReportError(pushed.status());
  if (globals.json) {
    PrintJson({{"kind", "files"},
               {"reference", target.ToString()},
               {"digest", pushed->manifest.ToString()},
               {"uploaded", pushed->uploaded},
               {"skipped", pushed->skipped},
               {"mounted", pushed->mounted}});
  } else {
    std::printf("%s\n", target.PinnedTo(pushed->manifest).c_str());
  }
  return kExitOk;
}

// Whether SOURCE names files or store blobs rather than a run, snapshot
// or artifact: several items, sha256: blobs, or an existing path.
bool IsFileSource(const TransferFlags& flags) {
  if (flags.args.size() != 2) return true;
  const std::string& source = flags.args[0];
  std::error_code error;  // An unreadable path is not a file source.
  return source.rfind("sha256:", 0) == 0 ||
         std::filesystem::exists(source, error);
}

bool AllDigits(const std::string& text) {
  return !text.empty() && text.size() < 18 &&
         std::all_of(text.begin(), text.end(),
                     [](unsigned char c) { return std::isdigit(c); });
}

// Pushes a run id, snapshot:NAME[@V] / NAME@V, or artifact:ID / ID.
Result<share::PushSummary> PushRecorded(const std::string& source,
                                        share::Sharer& sharer,
                                        metadata::MetadataStore& metadata,
                                        const registry::Reference& target) {
  if (source.rfind("snapshot:", 0) == 0) {
    return sharer.PushSnapshot(source.substr(9), target);
  }
  std::string id_text = source.rfind("artifact:", 0) == 0
                            ? source.substr(9) : source;
  if (AllDigits(id_text)) {
    return sharer.PushArtifact(std::stoll(id_text), target);
  }
  Result<metadata::Run> run = metadata.GetRun(source);
  if (run.ok()) return sharer.PushRun(source, target);
  if (!run.status().IsNotFound()) return run.status();
  if (source.find('@') != std::string::npos) {
    return sharer.PushSnapshot(source, target);
  }
  return Status::NotFound(source + " is not a file, run, snapshot "
                          "(snapshot:NAME[@V] or NAME@V) or artifact id");
}

int RunPush(const GlobalOptions& globals, const TransferFlags& flags) {
  if (flags.args.size() < 2) {
    return ReportError(Status::InvalidArgument(
        "push wants SOURCE (a run, snapshot:NAME@V, an artifact id, "
        "sha256:DIGEST or files) and then REGISTRY/REPO:TAG"));
  }
  auto target = registry::ParseReference(flags.args.back(), flags.insecure);
  if (!target.ok()) return ReportError(target.status());
  if (IsFileSource(flags)) return PushFiles(globals, flags, *target);
  if (!flags.subject.empty() ||
      flags.artifact_type != share::kArtifactArtifact) {
    return ReportError(Status::InvalidArgument(
        "--subject and --artifact-type apply to files and sha256: blobs; "
        "runs, snapshots and artifacts have a fixed layout"));
  }

  auto opened = OpenStoreAndMetadata(globals, store::CreateIfMissing::kNo);
  if (!opened.ok()) return ReportError(opened.status());
  registry::Client client(opened->blobs, ClientOptionsFor(flags));
  share::Sharer sharer(&opened->blobs, opened->metadata.get(), &client);
  sharer.set_mount_from(flags.mount_from);
  auto pushed = PushRecorded(flags.args[0], sharer, *opened->metadata,
                             *target);
  if (!pushed.ok()) return ReportError(pushed.status());
  if (globals.json) {
    PrintJson(pushed->ToJson());
    return kExitOk;
  }
  std::printf("%s %s: %s@%s\n", pushed->kind.c_str(), flags.args[0].c_str(),
              pushed->reference.c_str(), pushed->manifest.ToString().c_str());
  for (const share::PushSummary& model : pushed->models) {
    std::printf("model: %s@%s\n", model.reference.c_str(),
                model.manifest.ToString().c_str());
  }
  return kExitOk;
}

// A pull that failed recorded nothing, so a store it made holds nothing
// anyone asked for: a mistyped reference or an unreachable registry must
// not leave an empty store behind. Only a store whose lineage lives in
// its own folder is removed; one recorded in another database is not.
void RemoveStoreThisPullMade(const GlobalOptions& globals,
                             OpenedStore* opened) {
  const std::filesystem::path& root = opened->location.root;
  bool own_database =
      metadata::MetadataStore::DefaultUrl(root, globals.metadata) ==
      (root / "metadata.db").string();
  if (!opened->location.created || !own_database) return;
  opened->metadata.reset();
  RemoveAllQuietly(root);
}

int RunPull(const GlobalOptions& globals, const TransferFlags& flags) {
  if (flags.args.size() != 1) {
    return ReportError(Status::InvalidArgument("pull wants one REFERENCE"));
  }
  auto source = registry::ParseReference(flags.args[0], flags.insecure);
  if (!source.ok()) return ReportError(source.status());
  auto opened = OpenStoreAndMetadata(globals, store::CreateIfMissing::kYes);
  if (!opened.ok()) return ReportError(opened.status());
  registry::Client client(opened->blobs, ClientOptionsFor(flags));
  share::Sharer sharer(&opened->blobs, opened->metadata.get(), &client);
  auto pulled = sharer.Pull(*source, flags.output);
  if (!pulled.ok()) {
    RemoveStoreThisPullMade(globals, &*opened);
    return ReportError(pulled.status());
  }

  for (const std::string& missing : pulled->missing) {
    LogWarning("run {} needs {}, which the artifact did not bring",
               pulled->run_id, missing);
  }
  if (globals.json) {
    nlohmann::json out = pulled->ToJson();
    out["reference"] = source->ToString();
    PrintJson(out);
    return kExitOk;
  }
  std::printf("%s\n", source->PinnedTo(pulled->pulled.manifest).c_str());
  if (!pulled->run_id.empty()) {
    std::printf("run %s: %s\n", pulled->run_id.c_str(),
                pulled->manifest_path.c_str());
  }
  for (const std::string& snapshot : pulled->snapshots) {
    std::printf("snapshot %s\n", snapshot.c_str());
  }
  for (int64_t id : pulled->artifacts) {
    std::printf("artifact %lld\n", static_cast<long long>(id));
  }
  return kExitOk;
}

void AddTransfer(CLI::App& app, CommandContext context) {
  auto push_flags = std::make_shared<TransferFlags>();
  auto* push = app.add_subcommand(
      "push", "Push a run, snapshot, artifact, store blobs or files as an "
              "OCI artifact: SOURCE... REGISTRY/REPO:TAG");
  push->add_option("ITEMS", push_flags->args,
                   "A run id, snapshot:NAME[@V] or NAME@V, an artifact id "
                   "(artifact:ID), sha256:DIGEST blobs or files; then the "
                   "target reference")
      ->required();
  push->add_option("--artifact-type", push_flags->artifact_type,
                   "The manifest's artifactType");
  // A malformed digest is a usage error (exit 64), refused before a
  // store is created for the push; it exited 3 after creating one.
  push->add_option("--subject", push_flags->subject,
                   "Attach as a referrer of this manifest digest (in the "
                   "same repository)")
      ->check(CLI::Validator(
          [](std::string& text) {
            Result<Digest> digest = Digest::Parse(text);
            return digest.ok() ? std::string() : digest.status().message();
          },
          "sha256:DIGEST"));
  push->add_option("--mount-from", push_flags->mount_from,
                   "Try to mount blobs from this repository first");
  // A chunk is held in memory; 0 or a negative number is a mistake.
  push->add_option("--chunk-size", push_flags->chunk_size,
                   "Bytes per PATCH of a chunked upload (default 16 MiB, "
                   "1 to 1 GiB)")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 30));
  push->add_flag("--insecure", push_flags->insecure,
                 "Plain HTTP (and no TLS verification)");
  AddConnectionFlags(push, push_flags.get());
  push->callback([context, push_flags] {
    *context.action = [context, push_flags] {
      return RunInterruptible(
          "push interrupted: the target was not tagged; push again to "
          "finish (blobs already sent are not sent twice)",
          [&] { return RunPush(*context.globals, *push_flags); });
    };
  });

  auto pull_flags = std::make_shared<TransferFlags>();
  auto* pull = app.add_subcommand(
      "pull", "Pull a reference into the store, verifying every digest, "
              "and re-register the run or snapshot it holds");
  pull->add_option("REFERENCE", pull_flags->args, "REGISTRY/REPO:TAG|@DIGEST")
      ->required();
  pull->add_option("--output", pull_flags->output,
                   "Also write the layers into this folder");
  pull->add_flag("--insecure", pull_flags->insecure,
                 "Plain HTTP (and no TLS verification)");
  AddConnectionFlags(pull, pull_flags.get());
  pull->callback([context, pull_flags] {
    *context.action = [context, pull_flags] {
      return RunInterruptible(
          "pull interrupted: nothing was recorded; pull again to finish",
          [&] { return RunPull(*context.globals, *pull_flags); });
    };
  });
}

}  // namespace

void AddRegistryCommands(CLI::App& app, CommandContext context) {
  auto* group = app.add_subcommand("registry", "OCI registry over the store");
  group->require_subcommand(1);
  AddServe(*group, context);
  AddImmutable(*group, context);
  AddCleanup(app, context);
  AddGc(app, context);
  AddTransfer(app, context);
}

}  // namespace lockstep::cli
