// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// `lockstep reproduce MANIFEST|RUN`: re-run a recorded run with no cache and
// report, per step, whether every output came out bit-identical.
// Exit codes: 0 identical, 1 diverged, 2 something missing, 3 bad manifest.

#include <filesystem>
#include <iostream>
#include <optional>

#include "cli/cli.h"
#include "cli/run_support.h"
#include "core/log.h"
#include "core/subprocess.h"
#include "manifest/manifest.h"
#include "manifest/reproduce.h"
#include "metadata/compare.h"

namespace lockstep::cli {

namespace {

constexpr int kReproduceDiverged = 1;
constexpr int kReproduceMissing = 2;
constexpr int kReproduceBadManifest = 3;

struct ReproduceFlags {
  std::string target;
  std::string in_directory;
  bool keep = false;
};

// "      changed: when.txt" lines for the files inside a folder output.
void PrintFolderChanges(const Json& changes) {
  for (const char* kind : {"changed", "added", "removed"}) {
    for (const Json& path : changes[kind]) {
      std::cout << "      " << kind << ": " << path.get<std::string>()
                << "\n";
    }
  }
}

void PrintReportText(const manifest::ReproduceReport& report) {
  if (report.code_restored.contains("files")) {
    std::cout << "  code: " << report.code_restored["files"].size()
              << " file(s) rebuilt from commit "
              << report.code_restored["commit"].get<std::string>() << "\n";
  }
  if (report.code_restored.contains("folder")) {
    std::cout << "  code kept in "
              << report.code_restored["folder"].get<std::string>() << "\n";
  }
  for (const manifest::StepVerdict& step : report.steps) {
    std::cout << "  " << step.name << ": " << step.status;
    if (!step.note.empty()) {
      std::cout << " (" << step.note << ")";
    }
    std::cout << "\n";
    for (const manifest::OutputVerdict& output : step.outputs) {
      if (output.identical) {
        continue;
      }
      std::cout << "    output " << output.name << " [" << output.policy
                << "]: " << (output.accepted ? "accepted" : "differs")
                << ": expected " << output.expected << ", got "
                << output.actual << "\n";
      if (!output.note.empty()) {
        std::cout << "      " << output.note << "\n";
      }
      if (output.metric_changes.is_array()) {
        for (const Json& change : output.metric_changes) {
          std::cout << "      " << metadata::FormatMetricChange(change)
                    << "\n";
        }
      }
      if (output.folder_changes.is_object()) {
        PrintFolderChanges(output.folder_changes);
      }
    }
  }
  size_t accepted = report.AcceptedNotIdentical();
  if (report.reproduced && accepted == 0) {
    std::cout << "reproduced: bit-identical" << std::endl;
  } else if (report.reproduced) {
    std::cout << "reproduced within policy: " << accepted
              << " output(s) differ but their reproduce policy accepts "
                 "them; every other output is bit-identical"
              << std::endl;
  } else if (!report.missing.empty()) {
    std::cout << "not reproduced: missing inputs" << std::endl;
    for (const std::string& missing : report.missing) {
      std::cout << "  missing: " << missing << "\n";
    }
  } else {
    std::cout << "not reproduced: first divergence at "
              << report.first_divergence << std::endl;
  }
}

// A manifest path, or a run id whose manifest the store recorded.
Result<std::string> ManifestOf(const std::string& target,
                               OpenedStore* opened) {
  std::error_code error;
  if (std::filesystem::exists(target, error) || opened == nullptr) {
    return target;
  }
  Result<metadata::Run> found = opened->metadata->GetRun(target);
  // A run id has no '/' and no ".json": a missing manifest file was
  // reported as "no run ./nosuch.json" (found by a tester).
  bool path_like = target.find('/') != std::string::npos ||
                   target.ends_with(".json");
  if (!found.ok() && found.status().IsNotFound() && path_like) {
    return Status::NotFound(target + ": no such manifest file");
  }
  ASSIGN_OR_RETURN(metadata::Run run, std::move(found));
  if (run.manifest_path.empty()) {
    return Status::NotFound("run " + target + " has no manifest");
  }
  return run.manifest_path;
}

// Reads and verifies the manifest at `path` into `document`; on failure,
// reports why and gives the exit code to end with.
std::optional<int> LoadOrExit(const std::string& path, Json* document) {
  Result<Json> loaded = manifest::LoadManifest(path);
  if (!loaded.ok()) {
    ReportError(loaded.status());
    return loaded.status().IsNotFound() ? kReproduceMissing
                                        : kReproduceBadManifest;
  }
  *document = std::move(*loaded);
  return std::nullopt;
}

int ReproduceTarget(const GlobalOptions& globals,
                    const ReproduceFlags& flags) {
  // A manifest file can be reproduced into a new store (a fresh machine),
  // but only once it has been read and verified: a malformed one must not
  // leave a stray store behind. A run id only means something in a store
  // that exists.
  // Anything that exists and is not a folder is a manifest file: a FIFO
  // or `<(...)` too, which LoadOrExit reads exactly once.
  std::error_code error;
  bool is_file = std::filesystem::exists(flags.target, error) &&
                 !std::filesystem::is_directory(flags.target, error);
  Json document;
  if (is_file) {
    if (std::optional<int> failed = LoadOrExit(flags.target, &document)) {
      return *failed;
    }
  }
  Result<OpenedStore> opened = OpenStoreAndMetadata(
      globals, is_file ? store::CreateIfMissing::kYes
                       : store::CreateIfMissing::kNo);
  // A run id is looked up in the store's records: a store that cannot be
  // read (a full or read-only disk) is that error, exit 6, not a missing
  // manifest file named like the run (found by a tester). Only a store
  // that does not exist, or a run it does not have, is exit 2.
  if (!is_file && !opened.ok()) {
    return ReportError(opened.status());
  }
  Result<std::string> path =
      ManifestOf(flags.target, opened.ok() ? &opened.value() : nullptr);
  if (!path.ok()) {
    return ReportError(path.status());
  }
  if (!is_file) {
    if (std::optional<int> failed = LoadOrExit(*path, &document)) {
      return *failed;
    }
  }
  if (!opened.ok()) {
    return ReportError(opened.status());
  }

  InstallCancellationHandlers();
  manifest::ReproduceOptions options;
  options.lockstep_binary = SelfBinary();
  options.work_directory = flags.in_directory;
  options.keep = flags.keep;
  Result<manifest::ReproduceReport> report =
      manifest::Reproduce(document, &opened->blobs, options);
  // A step stopped by the signal is no divergence: 1 would tell a script
  // that an output differs (found by a tester).
  if (CancellationRequested()) {
    LogError("reproduce interrupted: nothing was decided");
    return kExitInterrupted;
  }
  if (!report.ok()) {
    ReportError(report.status());
    if (report.status().IsNotFound()) return kReproduceMissing;
    // A corrupt input blob is what 4 means for every command, run too.
    if (report.status().code() == StatusCode::kDataLoss) {
      return kExitDataLoss;
    }
    return report.status().IsInvalidArgument() ? kReproduceBadManifest
                                                : kExitError;
  }
  if (globals.json) {
    PrintJson(report->ToJson());
  } else {
    std::cout << "reproducing run " << report->run_id << " from " << *path
              << "\n";
    PrintReportText(*report);
  }
  int code = report->ExitCode();
  return code == 0 ? kExitOk
         : code == 2 ? kReproduceMissing
                     : kReproduceDiverged;
}

}  // namespace

void AddReproduceCommands(CLI::App& app, CommandContext context) {
  auto flags = std::make_shared<ReproduceFlags>();
  CLI::App* command = app.add_subcommand(
      "reproduce", "Re-run a manifest with no cache and compare outputs");
  command->add_option("manifest", flags->target, "Manifest file or run id")
      ->required();
  command->add_option("--in", flags->in_directory,
                      "Folder for the re-run's step folders");
  command->add_flag("--keep", flags->keep, "Keep the step folders");
  command->callback([context, flags] {
    *context.action = [context, flags] {
      return ReproduceTarget(*context.globals, *flags);
    };
  });
}

}  // namespace lockstep::cli
