// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// `lockstep data`: snapshot files, folders and tables, and list, show,
// verify, export and diff the snapshots. The work is in lockstep_data.

#include <iostream>
#include <map>
#include <memory>
#include <optional>

#include "cli/cli.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/utf8.h"
#include "data/snapshot.h"
#include "data/tree_digest.h"
#include "metadata/metadata_store.h"

namespace lockstep::cli {

namespace {

using data::DataSnapshots;
using data::SnapshotInfo;

// The store, metadata and snapshot service one command works with.
struct DataSession {
  std::unique_ptr<store::BlobStore> blobs;
  std::unique_ptr<metadata::MetadataStore> metadata;
  std::unique_ptr<DataSnapshots> snapshots;
};

// A session for a command that writes (CreateIfMissing::kYes: it may
// make the store) or, with kNo, one that only reads the lineage.
Result<DataSession> OpenSession(const GlobalOptions& globals,
                                store::CreateIfMissing create) {
  ASSIGN_OR_RETURN(store::StoreLocation location, OpenStore(globals, create));
  DataSession session;
  session.blobs = std::make_unique<store::BlobStore>(location.root);
  ASSIGN_OR_RETURN(session.metadata,
                   metadata::MetadataStore::Open(
                       metadata::MetadataStore::DefaultUrl(location.root,
                                                           globals.metadata),
                       {.reader = create == store::CreateIfMissing::kNo}));
  session.metadata->SetStoreRoot(location.root);
  session.snapshots = std::make_unique<DataSnapshots>(
      session.blobs.get(), session.metadata.get(), location.root / "cache");
  return session;
}

std::string HumanSize(uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 4) {
    value /= 1024;
    ++unit;
  }
  return unit == 0 ? std::to_string(bytes) + " B"
                   : fmt::format("{:.1f} {}", value, units[unit]);
}

void PrintInfo(const SnapshotInfo& info) {
  int64_t now = NowUnixMillis();
  std::cout << info.Ref() << "\n"
            << "  kind:      " << data::SourceKindName(info.kind) << "\n"
            << "  digest:    " << info.digest << "\n"
            << "  size:      " << HumanSize(info.size) << " (" << info.size
            << " bytes)\n";
  if (info.kind == data::SourceKind::kFolder) {
    std::cout << "  files:     " << info.file_count << "\n";
  }
  if (info.row_count) {
    std::cout << "  rows:      " << *info.row_count << "\n";
  }
  for (size_t i = 0; i < info.columns.size(); ++i) {
    std::string type = i < info.column_types.size() ? info.column_types[i] : "";
    std::cout << (i == 0 ? "  columns:   " : "             ")
              << info.columns[i] << (type.empty() ? "" : " " + type) << "\n";
  }
  std::cout << "  source:    " << info.source << "\n"
            << "  creator:   " << info.creator << "\n"
            << "  created:   " << FormatRfc3339(info.created_ms) << "\n";
  if (info.expires_ms != 0) {
    std::cout << "  expires:   " << FormatRfc3339(info.expires_ms)
              << (info.Expired(now) ? " (expired)" : "") << "\n";
  }
  if (info.Removed()) {
    std::cout << "  removed:   " << info.removal_reason << "\n";
  }
  for (const auto& [key, value] : info.labels) {
    std::cout << "  label:     " << key << "=" << value << "\n";
  }
  if (!info.description.empty()) {
    std::cout << "  about:     " << info.description << "\n";
  }
}

// Parses the repeated --label k=v flags.
Result<std::map<std::string, std::string>> ParseLabels(
    const std::vector<std::string>& flags) {
  std::map<std::string, std::string> labels;
  for (const std::string& flag : flags) {
    size_t equals = flag.find('=');
    if (equals == 0 || equals == std::string::npos) {
      return Status::InvalidArgument("--label '" + flag + "' is not KEY=VALUE");
    }
    std::string key = flag.substr(0, equals);
    // A key is one line of text, and given once: a second value would
    // silently replace the first.
    if (key.find_first_of("\r\n") != std::string::npos) {
      return Status::InvalidArgument("--label '" + flag +
                                     "': the key holds a line break");
    }
    if (!labels.emplace(key, flag.substr(equals + 1)).second) {
      return Status::InvalidArgument("--label " + key + " is given twice");
    }
  }
  return labels;
}

// Why `text` is not an --expires duration, or "" when it is one.
std::string ExpiresProblem(const std::string& text) {
  Result<int64_t> after = ParseDurationMillis(text);
  if (!after.ok()) return after.status().message();
  return *after > 0 ? "" : "'" + text + "' must be longer than 0";
}

// Malformed --version and --expires values are usage errors (exit 64),
// refused by CLI11 before the store is opened, as other flags' are; they
// exited 3 like a malformed file.
CLI::Validator VersionValidator() {
  return CLI::Validator(
      [](std::string& text) {
        Result<int64_t> version = data::ParseSnapshotVersion(text);
        return version.ok() ? std::string() : version.status().message();
      },
      "N");
}

void AddSnapshot(CLI::App* data, CommandContext context) {
  struct Flags {
    std::string source, name, expires, description;
    // Parsed as text: CLI11 clamps an integer past int64 to its maximum.
    std::optional<std::string> version;
    std::vector<std::string> labels;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* command = data->add_subcommand(
      "snapshot", "Snapshot a file, a folder or a table (sqlite:///x.db?"
                  "table=T, postgresql://...?table=T)");
  command->add_option("source", flags->source, "File, folder or table URL")
      ->required();
  command->add_option("--name", flags->name, "Snapshot name")->required();
  command->add_option("--version", flags->version,
                      "Version (default: one past the latest)")
      ->check(VersionValidator());
  command->add_option("--label", flags->labels, "A KEY=VALUE label");
  command->add_option("--expires", flags->expires,
                      "Expire after a duration such as 365d, 12h, 4w")
      ->check(CLI::Validator(ExpiresProblem, "DURATION"));
  command->add_option("--description", flags->description, "Free text");
  command->callback([flags, context] {
    Action snapshot = [flags, globals = context.globals]() -> int {
      data::SnapshotRequest request;
      request.source = flags->source;
      request.name = flags->name;
      if (flags->version) {
        Result<int64_t> version = data::ParseSnapshotVersion(*flags->version);
        if (!version.ok()) {
          return ReportError(Status::InvalidArgument(
              "--version: " + version.status().message()));
        }
        request.version = *version;
      }
      request.description = flags->description;
      Result<std::map<std::string, std::string>> labels =
          ParseLabels(flags->labels);
      if (!labels.ok()) return ReportError(labels.status());
      request.labels = *labels;
      if (!flags->expires.empty()) {
        Result<int64_t> after = ParseDurationMillis(flags->expires);
        if (!after.ok()) {
          return ReportError(Status::InvalidArgument(
              "--expires: " + after.status().message()));
        }
        request.expires_after_ms = *after;
      }

      Result<DataSession> session =
          OpenSession(*globals, store::CreateIfMissing::kYes);
      if (!session.ok()) return ReportError(session.status());
      Result<SnapshotInfo> info = session->snapshots->Create(request);
      if (!info.ok()) return ReportError(info.status());
      if (globals->json) {
        PrintJson(info->ToJson(NowUnixMillis()));
      } else if (!globals->quiet) {
        std::cout << "snapshot " << info->Ref() << " " << info->digest << "\n";
      }
      return kExitOk;
    };
    *context.action = [snapshot] {
      return RunInterruptible(
          "data snapshot interrupted: no snapshot was recorded", snapshot);
    };
  });
}

void AddList(CLI::App* data, CommandContext context) {
  CLI::App* command = data->add_subcommand("list", "List snapshots");
  command->callback([context] {
    *context.action = [globals = context.globals]() -> int {
      Result<DataSession> session =
          OpenSession(*globals, store::CreateIfMissing::kNo);
      if (!session.ok()) return ReportError(session.status());
      Result<std::vector<SnapshotInfo>> all = session->snapshots->List();
      if (!all.ok()) return ReportError(all.status());
      int64_t now = NowUnixMillis();
      if (globals->json) {
        nlohmann::json out = nlohmann::json::array();
        for (const SnapshotInfo& info : *all) out.push_back(info.ToJson(now));
        PrintJson({{"snapshots", out}});
        return kExitOk;
      }
      std::cout << fmt::format("{:<28} {:<7} {:<20} {:>10} {:>10}  {}\n",
                               "SNAPSHOT", "KIND", "DIGEST", "SIZE", "ROWS",
                               "CREATED");
      for (const SnapshotInfo& info : *all) {
        std::string rows =
            info.row_count ? std::to_string(*info.row_count) : "-";
        std::cout << fmt::format(
            "{:<28} {:<7} {:<20} {:>10} {:>10}  {}{}\n", info.Ref(),
            data::SourceKindName(info.kind), info.digest.substr(0, 19),
            HumanSize(info.size), rows, FormatRfc3339(info.created_ms),
            info.Removed()   ? "  removed"
            : info.Expired(now) ? "  expired"
                                : "");
      }
      return kExitOk;
    };
  });
}

// show, verify, export and diff all start from NAME[@V] arguments.
Result<data::SnapshotRef> RefArgument(const std::string& text) {
  return data::ParseSnapshotRef(text);
}

void AddShow(CLI::App* data, CommandContext context) {
  auto ref = std::make_shared<std::string>();
  CLI::App* command =
      data->add_subcommand("show", "Show one snapshot (NAME[@VERSION])");
  command->add_option("snapshot", *ref, "NAME[@VERSION]")->required();
  command->callback([ref, context] {
    *context.action = [ref, globals = context.globals]() -> int {
      Result<data::SnapshotRef> parsed = RefArgument(*ref);
      if (!parsed.ok()) return ReportError(parsed.status());
      Result<DataSession> session =
          OpenSession(*globals, store::CreateIfMissing::kNo);
      if (!session.ok()) return ReportError(session.status());
      Result<SnapshotInfo> info = session->snapshots->Get(*parsed);
      if (!info.ok()) return ReportError(info.status());
      if (globals->json) {
        PrintJson(info->ToJson(NowUnixMillis()));
      } else {
        PrintInfo(*info);
      }
      return kExitOk;
    };
  });
}

// `problems` in JSON lists the missing blobs too, as it did before they
// were told apart; `missing` lists them alone.
void PrintVerifyReport(const data::VerifyReport& report, bool json) {
  std::vector<std::string> all = report.missing;
  all.insert(all.end(), report.problems.begin(), report.problems.end());
  if (json) {
    PrintJson({{"snapshot", report.snapshot.Ref()},
               {"digest", report.snapshot.digest},
               {"ok", all.empty()},
               {"bytes_checked", report.bytes_checked},
               {"problems", all},
               {"missing", report.missing}});
  } else if (all.empty()) {
    std::cout << report.snapshot.Ref() << ": ok ("
              << HumanSize(report.bytes_checked) << " checked)\n";
  } else {
    for (const std::string& problem : all) {
      std::cout << report.snapshot.Ref() << ": " << problem << "\n";
    }
  }
}

// Says that bytes are gone, not changed, and why if gc removed the
// snapshot: a script must not take blobs gc freed for corruption.
void ReportMissingBytes(const data::VerifyReport& report) {
  const SnapshotInfo& info = report.snapshot;
  size_t count = report.missing.size();
  std::string why =
      info.Removed()
          ? "; the snapshot was removed (" + info.removal_reason +
                "), and gc frees the bytes no run or live snapshot keeps"
          : "; the snapshot is live, and gc and cleanup keep a live "
            "snapshot's bytes, so something else removed them";
  LogError("{}: its stored bytes are missing ({} blob{}), not changed{}",
           info.Ref(), count, count == 1 ? "" : "s", why);
}

void AddVerify(CLI::App* data, CommandContext context) {
  auto ref = std::make_shared<std::string>();
  CLI::App* command = data->add_subcommand(
      "verify", "Re-hash and re-count a snapshot's stored bytes");
  command->add_option("snapshot", *ref, "NAME[@VERSION]")->required();
  command->callback([ref, context] {
    *context.action = [ref, globals = context.globals]() -> int {
      Result<data::SnapshotRef> parsed = RefArgument(*ref);
      if (!parsed.ok()) return ReportError(parsed.status());
      Result<DataSession> session =
          OpenSession(*globals, store::CreateIfMissing::kNo);
      if (!session.ok()) return ReportError(session.status());
      Result<data::VerifyReport> report = session->snapshots->Verify(*parsed);
      if (!report.ok()) return ReportError(report.status());
      PrintVerifyReport(*report, globals->json);
      // exit-codes.md: 1 for a changed byte, the graver finding when
      // both are found; 2 when bytes are only missing.
      if (!report->problems.empty()) return kExitFailed;
      if (report->missing.empty()) return kExitOk;
      ReportMissingBytes(*report);
      return kExitNotFound;
    };
  });
}

void AddExport(CLI::App* data, CommandContext context) {
  auto ref = std::make_shared<std::string>();
  auto destination = std::make_shared<std::string>();
  CLI::App* command = data->add_subcommand(
      "export", "Rebuild a snapshot's file or folder at DEST");
  command->add_option("snapshot", *ref, "NAME[@VERSION]")->required();
  command->add_option("dest", *destination, "Path to create")->required();
  command->callback([ref, destination, context] {
    Action export_snapshot = [ref, destination,
                              globals = context.globals]() -> int {
      Result<data::SnapshotRef> parsed = RefArgument(*ref);
      if (!parsed.ok()) return ReportError(parsed.status());
      Result<DataSession> session =
          OpenSession(*globals, store::CreateIfMissing::kNo);
      if (!session.ok()) return ReportError(session.status());
      Status status = session->snapshots->Export(*parsed, *destination);
      if (!status.ok()) return ReportError(status);
      if (globals->json) {
        PrintJson({{"snapshot", *ref}, {"exported_to", *destination}});
      } else if (!globals->quiet) {
        std::cout << "exported " << *ref << " to " << *destination << "\n";
      }
      return kExitOk;
    };
    *context.action = [export_snapshot, destination] {
      return RunInterruptible("data export interrupted: " + *destination +
                                  " was not made",
                              export_snapshot);
    };
  });
}

void PrintList(const char* sign, const std::vector<std::string>& paths) {
  for (const std::string& path : paths) {
    std::cout << sign << " " << DisplayPath(path) << "\n";
  }
}

void AddDiff(CLI::App* data, CommandContext context) {
  auto from = std::make_shared<std::string>();
  auto to = std::make_shared<std::string>();
  CLI::App* command =
      data->add_subcommand("diff", "Compare two snapshots (folders by file)");
  command->add_option("from", *from, "NAME[@VERSION]")->required();
  command->add_option("to", *to, "NAME[@VERSION]")->required();
  command->callback([from, to, context] {
    *context.action = [from, to, globals = context.globals]() -> int {
      Result<data::SnapshotRef> a = RefArgument(*from);
      if (!a.ok()) return ReportError(a.status());
      Result<data::SnapshotRef> b = RefArgument(*to);
      if (!b.ok()) return ReportError(b.status());
      Result<DataSession> session =
          OpenSession(*globals, store::CreateIfMissing::kNo);
      if (!session.ok()) return ReportError(session.status());
      Result<data::SnapshotDiff> diff = session->snapshots->Diff(*a, *b);
      if (!diff.ok()) return ReportError(diff.status());
      if (globals->json) {
        PrintJson(diff->ToJson(NowUnixMillis()));
        return kExitOk;
      }
      if (diff->same_content) {
        std::cout << "same content (" << diff->to.digest << ")\n";
      }
      PrintList("+", diff->added);
      PrintList("-", diff->removed);
      for (const std::string& path : diff->changed) {
        std::cout << "M " << DisplayPath(path);
        const char* separator = " (";
        for (const std::string& what : diff->changes.at(path)) {
          std::cout << separator << what;
          separator = "; ";
        }
        std::cout << ")\n";
      }
      for (const std::string& note : diff->notes) std::cout << note << "\n";
      return kExitOk;
    };
  });
}

}  // namespace

void AddDataCommands(CLI::App& app, CommandContext context) {
  CLI::App* data = app.add_subcommand(
      "data", "Dataset snapshots: files, folders and tables");
  data->require_subcommand(1);
  AddSnapshot(data, context);
  AddList(data, context);
  AddShow(data, context);
  AddVerify(data, context);
  AddExport(data, context);
  AddDiff(data, context);
}

}  // namespace lockstep::cli
