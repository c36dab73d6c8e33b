// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// `lockstep runs list` and `lockstep runs show RUN`: the runs recorded in
// the lineage store, newest first, and the steps of one run.

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <iostream>
#include <limits>

#include <fmt/format.h>

#include "cli/cli.h"
#include "cli/metadata_access.h"
#include "core/clock.h"
#include "metadata/run_view.h"
#include "pipeline/run_lock.h"
#include "store/blob_store.h"

namespace lockstep::cli {

namespace {

struct ListFlags {
  std::string pipeline;
  std::string status;
  std::string label;
  std::string since;
  int64_t limit = 0;
};

// A malformed --since is a usage error (exit 64), refused by CLI11
// before the store is opened, as a bad --status is; it exited 3 like a
// malformed file (found by a tester).
CLI::Validator SinceValidator() {
  return CLI::Validator(
      [](std::string& text) {
        Result<int64_t> since = metadata::ParseSince(text, NowUnixMillis());
        return since.ok() ? std::string() : since.status().message();
      },
      "DURATION|DATE");
}

std::string ShortDigest(const std::string& digest) {
  return digest.size() > 19 ? digest.substr(0, 19) : digest;
}

// A step's cache key as `runs show` prints it. A pulled run's steps are
// no cache entries here: they say so.
std::string KeyText(const metadata::Execution& execution) {
  std::string key = ShortDigest(metadata::RecordedCacheKey(execution));
  if (metadata::IsPulledExecution(execution)) {
    key += " (pulled: not a cache entry here)";
  }
  return key.empty() ? "-" : key;
}

int ListRuns(const GlobalOptions& globals, const ListFlags& flags) {
  metadata::RunFilter filter{.pipeline = flags.pipeline,
                             .status = flags.status,
                             .label = flags.label,
                             .limit = flags.limit};
  // An empty key matches nothing useful; run refuses it, so does this.
  size_t eq = flags.label.find('=');
  if (!flags.label.empty() && (eq == std::string::npos || eq == 0)) {
    return ReportError(Status::InvalidArgument(
        "--label: expected key=value, got '" + flags.label + "'"));
  }
  if (!flags.since.empty()) {
    auto since = metadata::ParseSince(flags.since, NowUnixMillis());
    if (!since.ok()) {
      return ReportError(Status::InvalidArgument(
          "--since: " + since.status().message()));
    }
    filter.since_ms = *since;
  }
  auto store = OpenMetadata(globals, {.reader = true});
  if (!store.ok()) {
    return ReportError(store.status());
  }
  // A run whose process died is shown as failed, not running forever.
  Result<store::StoreLocation> location =
      OpenStore(globals, store::CreateIfMissing::kNo);
  if (location.ok()) {
    Result<std::vector<std::string>> recovered =
        pipeline::RecoverAbandonedRuns(location->root, store->get());
    if (!recovered.ok()) {
      return ReportError(recovered.status());
    }
  }
  auto runs = (*store)->ListRuns(filter);
  if (!runs.ok()) {
    return ReportError(runs.status());
  }

  if (globals.json) {
    nlohmann::json list = nlohmann::json::array();
    for (const metadata::Run& run : *runs) {
      list.push_back(metadata::RunToJson(run));
    }
    PrintJson({{"runs", list}});
    return kExitOk;
  }
  std::cout << fmt::format("{:<28} {:<20} {:<10} {}\n", "RUN", "PIPELINE",
                           "STATUS", "STARTED");
  for (const metadata::Run& run : *runs) {
    std::cout << fmt::format("{:<28} {:<20} {:<10} {}\n", run.run_id,
                             run.pipeline, run.status,
                             FormatRfc3339(run.started_ms));
  }
  return kExitOk;
}

void PrintPorts(const std::vector<metadata::StepArtifact>& ports,
                const char* arrow) {
  for (const metadata::StepArtifact& port : ports) {
    std::cout << fmt::format("    {} {:<14} {:<10} {}\n", arrow, port.port,
                             port.artifact.type,
                             ShortDigest(port.artifact.digest));
  }
}

// The digest `execution` recorded for its stderr, or "" (a cached or
// pulled step ran nothing here).
std::string StderrDigest(const metadata::Execution& execution) {
  auto found = execution.properties.find("stderr");
  if (found == execution.properties.end() || !found->is_string()) return "";
  return found->get<std::string>();
}

// `word` as a shell reads it back: as it is when it holds only letters,
// digits and . _ - /, else in single quotes (an iteration's name, b[0],
// is a glob pattern to the shell; found by a tester).
std::string ShellWord(const std::string& word) {
  bool plain = !word.empty() &&
               std::all_of(word.begin(), word.end(), [](char c) {
                 return std::isalnum(static_cast<unsigned char>(c)) ||
                        c == '.' || c == '_' || c == '-' || c == '/';
               });
  if (plain) return word;
  std::string quoted = "'";
  for (char c : word) {
    quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  }
  return quoted + "'";
}

// Under a failed step, where its whole stderr is: the failure message
// kept only its end.
void PrintStderrHint(const metadata::Run& run,
                     const metadata::Execution& execution) {
  std::string digest = StderrDigest(execution);
  if (execution.state != metadata::ExecutionState::kFailed ||
      digest.empty()) {
    return;
  }
  std::cout << fmt::format("    stderr {} (lockstep runs show {} --stderr "
                           "{})\n",
                           ShortDigest(digest), run.run_id,
                           ShellWord(execution.name));
}

int ShowRun(const GlobalOptions& globals, const std::string& run_id) {
  auto store = OpenMetadata(globals, {.reader = true});
  if (!store.ok()) {
    return ReportError(store.status());
  }
  auto run = (*store)->GetRun(run_id);
  if (!run.ok()) {
    return ReportError(run.status());
  }
  auto steps = metadata::StepsOfRun(store->get(), *run);
  if (!steps.ok()) {
    return ReportError(steps.status());
  }

  if (globals.json) {
    PrintJson(metadata::RunDetailsToJson(*run, *steps));
    return kExitOk;
  }
  std::cout << fmt::format("run {}  pipeline {}  {}  started {}\n",
                           run->run_id, run->pipeline, run->status,
                           FormatRfc3339(run->started_ms));
  // Why a run ended badly without a step saying so (it was abandoned).
  if (auto failure = run->labels.find("lockstep.failure");
      failure != run->labels.end() && failure->is_string()) {
    std::cout << fmt::format("  reason: {}\n",
                             failure->get<std::string>());
  }
  for (const metadata::RunStep& step : *steps) {
    std::cout << fmt::format(
        "  {:<20} {:<9} {}  key {}\n", step.execution.name,
        metadata::ExecutionStateName(step.execution.state),
        step.execution.type, KeyText(step.execution));
    PrintPorts(step.inputs, "<-");
    PrintPorts(step.outputs, "->");
    PrintStderrHint(*run, step.execution);
  }
  return kExitOk;
}

// The stderr digest step `step_name` of `run` recorded. A step recorded
// more than once in one run (resumed) gives its last.
Result<Digest> FindStepStderr(metadata::MetadataStore* store,
                              const metadata::Run& run,
                              const std::string& step_name) {
  ASSIGN_OR_RETURN(std::vector<metadata::Execution> executions,
                   store->ExecutionsInContext(run.context_id));
  std::string recorded;
  bool found = false;
  for (const metadata::Execution& execution : executions) {
    if (execution.name != step_name) continue;
    found = true;
    recorded = StderrDigest(execution);
  }
  if (!found) {
    return Status::NotFound("run " + run.run_id + " has no step " +
                            step_name);
  }
  if (recorded.empty()) {
    return Status::NotFound("step " + step_name + " of run " + run.run_id +
                            " recorded no stderr (it did not run here: "
                            "cached or pulled)");
  }
  return Digest::Parse(recorded);
}

// Copies blob `digest` to stdout as it is read, then checks it hashed
// to its name (a log can be gigabytes: it is never held in memory).
Status StreamBlobToStdout(const store::BlobStore& blobs,
                          const Digest& digest) {
  Status streamed =
      blobs.StreamVerified(digest, [](std::string_view chunk) {
        std::fwrite(chunk.data(), 1, chunk.size(), stdout);
        return Status::Ok();
      });
  std::fflush(stdout);
  return streamed;
}

// `runs show RUN --stderr STEP`: the whole log a failed step's message
// gives only the end of.
int PrintStepStderr(const GlobalOptions& globals, const std::string& run_id,
                    const std::string& step_name) {
  auto store = OpenMetadata(globals, {.reader = true});
  if (!store.ok()) return ReportError(store.status());
  auto run = (*store)->GetRun(run_id);
  if (!run.ok()) return ReportError(run.status());
  Result<Digest> digest = FindStepStderr(store->get(), *run, step_name);
  if (!digest.ok()) return ReportError(digest.status());
  Result<store::StoreLocation> location =
      OpenStore(globals, store::CreateIfMissing::kNo);
  if (!location.ok()) return ReportError(location.status());
  store::BlobStore blobs(location->root);
  Status streamed = StreamBlobToStdout(blobs, *digest);
  return streamed.ok() ? static_cast<int>(kExitOk) : ReportError(streamed);
}

}  // namespace

void AddRunsCommands(CLI::App& app, CommandContext context) {
  CLI::App* runs = app.add_subcommand("runs", "List and inspect runs");
  runs->require_subcommand(1);

  auto flags = std::make_shared<ListFlags>();
  CLI::App* list = runs->add_subcommand("list", "List runs, newest first");
  list->add_option("--pipeline", flags->pipeline, "Only this pipeline");
  list->add_option("--status", flags->status,
                   "Only this status (running, succeeded, failed, "
                   "cancelled)")
      ->check(CLI::IsMember({"running", "succeeded", "failed", "cancelled"}));
  list->add_option("--label", flags->label, "Only runs labelled key=value");
  list->add_option("--since", flags->since,
                   "Only runs started since a duration ago (7d) or a date")
      ->check(SinceValidator());
  // 0 or less listed every run, the opposite of a limit.
  list->add_option("--limit", flags->limit, "At most N runs (N >= 1)")
      ->check(CLI::Range(int64_t{1}, std::numeric_limits<int64_t>::max()));
  list->callback([context, flags] {
    *context.action = [globals = context.globals, flags] {
      return ListRuns(*globals, *flags);
    };
  });

  auto run_id = std::make_shared<std::string>();
  auto stderr_step = std::make_shared<std::string>();
  CLI::App* show = runs->add_subcommand("show", "Show the steps of a run");
  show->add_option("RUN", *run_id, "Run id")->required();
  show->add_option("--stderr", *stderr_step,
                   "Print the whole stderr of this step instead");
  show->callback([context, run_id, stderr_step] {
    *context.action = [globals = context.globals, run_id, stderr_step] {
      if (!stderr_step->empty()) {
        return PrintStepStderr(*globals, *run_id, *stderr_step);
      }
      return ShowRun(*globals, *run_id);
    };
  });
}

}  // namespace lockstep::cli
