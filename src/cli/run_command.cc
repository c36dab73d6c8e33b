// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// `lockstep run` and `lockstep validate`: load the pipeline file, run it,
// write the manifest, and print the result.

#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <regex>

#include <fmt/format.h>

#include "cli/cli.h"
#include "cli/run_replay.h"
#include "cli/run_support.h"
#include "core/canonical_json.h"
#include "core/count_text.h"
#include "core/files.h"
#include "core/log.h"
#include "core/subprocess.h"
#include "env/code_version.h"
#include "manifest/manifest.h"
#include "manifest/reproduce.h"
#include "metadata/compare.h"
#include "pipeline/params.h"
#include "pipeline/runner.h"
#include "pipeline/snapshot_step.h"
#include "pipeline/spec.h"

namespace lockstep::cli {

namespace {

struct RunFlags {
  std::string pipeline_file;
  std::vector<std::string> params;
  std::string params_file;
  int jobs = 0;
  bool no_cache = false;
  bool explain = false;
  std::string sandbox = "bubblewrap";
  bool keep_work = false;
  std::vector<std::string> labels;
  std::string resume;
  bool allow_tags = false;
  bool check_determinism = false;
};

Json StepJson(const pipeline::StepReport& step) {
  Json outputs = Json::object();
  for (const auto& [name, digest] : step.outputs) {
    outputs[name] = digest.ToString();
  }
  Json entry = {{"name", step.name}, {"state", step.state},
                {"outputs", outputs}};
  if (!step.message.empty()) {
    entry["message"] = step.message;
  }
  if (!step.explanation.empty()) {
    entry["explain"] = step.explanation;
  }
  if (!step.cache_key.empty()) {
    entry["cache_key"] = step.cache_key.ToString();
  }
  return entry;
}

// One metric as the summary shows it ("accuracy 0.9649", "valid false",
// "problems [a; b]"), or "" for what it leaves to the Metrics output
// (text, objects, lists of anything but text).
std::string MetricText(const std::string& name, const Json& value) {
  if (value.is_number()) {
    char text[32];
    std::snprintf(text, sizeof(text), "%.4g", value.get<double>());
    return name + " " + text;
  }
  if (metadata::IsNonFiniteMetric(value)) {
    return name + " " + value.get<std::string>();
  }
  if (value.is_boolean()) {
    return name + " " + (value.get<bool>() ? "true" : "false");
  }
  // A validation's problems say why a later step was skipped (a tester
  // saw only "rows 569" while the run skipped training).
  if (value.is_array() && !value.empty()) {
    std::string items;
    for (const Json& item : value) {
      if (!item.is_string()) return "";
      items += (items.empty() ? "" : "; ") + item.get<std::string>();
    }
    return name + " [" + items + "]";
  }
  return "";
}

// "accuracy 0.9649, roc_auc 0.9954, ..." for the first kMetricsShown
// metrics of a Metrics output, or "" when it is not a JSON object. A
// step may write thousands (one tester's wrote 300,000: 5.8 MB on
// stdout); the rest are counted.
std::string MetricsSummary(store::BlobStore& blobs, const Digest& digest) {
  constexpr size_t kMetricsShown = 12;
  Result<std::string> bytes = blobs.ReadVerified(digest);
  Json metrics = bytes.ok() ? metadata::ParseMetrics(*bytes) : Json();
  if (!metrics.is_object()) {
    return "";
  }
  std::string summary;
  size_t shown = 0;
  size_t more = 0;
  for (const auto& [name, value] : metrics.items()) {
    std::string text = MetricText(name, value);
    if (text.empty()) continue;
    if (shown == kMetricsShown) {
      ++more;
      continue;
    }
    summary += (summary.empty() ? "" : ", ") + text;
    ++shown;
  }
  if (more > 0) {
    summary += fmt::format(" (and {} more)", more);
  }
  return summary;
}

void PrintRunText(const pipeline::RunReport& report,
                  const std::string& manifest_path, store::BlobStore& blobs) {
  std::cout << "run " << report.run_id << ": " << report.status << "\n";
  for (const pipeline::StepReport& step : report.steps) {
    std::cout << "  " << step.name << ": " << step.state;
    if (!step.message.empty() && step.state != "failed") {
      std::cout << " (" << step.message << ")";
    }
    std::cout << "\n";
    for (const std::string& line : step.explanation) {
      std::cout << "    explain: " << line << "\n";
    }
    for (const pipeline::OutputSpec& output : step.output_specs) {
      auto digest = step.outputs.find(output.name);
      if (output.type == "Metrics" && digest != step.outputs.end()) {
        std::string summary = MetricsSummary(blobs, digest->second);
        if (!summary.empty()) {
          std::cout << "    " << output.name << ": " << summary << "\n";
        }
      }
    }
  }
  std::cout << "manifest: " << manifest_path << std::endl;
}

// Re-runs every step of the finished run once more with its own inputs.
// Returns the determinism entries (null when the check could not run).
Result<Json> CheckRunDeterminism(const std::string& manifest_path,
                                 store::BlobStore* blobs) {
  ASSIGN_OR_RETURN(Json document, manifest::LoadManifest(manifest_path));
  manifest::ReproduceOptions options;
  options.lockstep_binary = SelfBinary();
  ASSIGN_OR_RETURN(manifest::ReproduceReport report,
                   manifest::CheckDeterminism(document, blobs, options));
  return report.DeterminismJson();
}

// Whether every re-run step came out the same (or within its policy).
bool AllDeterministic(const Json& determinism) {
  for (const Json& step : determinism) {
    if (!step["accepted"].get<bool>()) {
      return false;
    }
  }
  return true;
}

void PrintDeterminismText(const Json& determinism) {
  std::cout << "determinism check (every step run twice):\n";
  for (const Json& step : determinism) {
    std::string verdict = step["identical"].get<bool>() ? "identical"
                          : step["accepted"].get<bool>()
                              ? "differs, accepted by its policy"
                              : "DIFFERS";
    std::cout << "  " << step["step"].get<std::string>() << ": " << verdict
              << "\n";
    for (const Json& output : step["outputs"]) {
      if (output["identical"].get<bool>()) {
        continue;
      }
      std::cout << "    output " << output["name"].get<std::string>() << " ["
                << output["policy"].get<std::string>() << "]";
      if (output.contains("first_file")) {
        std::cout << ", file " << output["first_file"].get<std::string>();
      }
      std::cout << "\n";
      for (const Json& change : output.value("metric_changes", Json())) {
        std::cout << "      " << metadata::FormatMetricChange(change)
                  << "\n";
      }
    }
  }
  std::cout << (AllDeterministic(determinism)
                    ? "deterministic"
                    : "not deterministic: the steps marked DIFFERS gave "
                      "other outputs from the same inputs")
            << std::endl;
}

ReplayRequest ReplayRequestOf(const RunFlags& flags,
                              const std::string& pipeline_bytes,
                              const std::string& params_bytes) {
  return {.pipeline_file = flags.pipeline_file,
          .pipeline_bytes = pipeline_bytes,
          .params = flags.params,
          .params_file = flags.params_file,
          .params_bytes = params_bytes,
          .sandbox = flags.sandbox,
          .allow_tags = flags.allow_tags,
          .labels = flags.labels};
}

// Whether the run may be a replay (docs/caching.md): never when it must
// look at each step (--explain), run them (--no-cache), resume a run or
// re-run them (--check-determinism), nor with LOCKSTEP_NO_REPLAY set (to
// time or debug the normal path).
bool MayReplay(const RunFlags& flags) {
  return !flags.no_cache && !flags.explain && flags.resume.empty() &&
         !flags.check_determinism && std::getenv("LOCKSTEP_NO_REPLAY") ==
                                         nullptr;
}

int PrintRun(const GlobalOptions& globals, const pipeline::RunReport& report,
             const std::string& manifest_path, store::BlobStore& blobs,
             const Json& determinism);

int RunPipeline(const GlobalOptions& globals, const RunFlags& flags) {
  // The manifest records the code version; without libgit2 a run (or a
  // replay) could do all its work and then have no manifest.
  if (Status git = env::CodeVersionAvailable(
          std::filesystem::path(flags.pipeline_file).parent_path());
      !git.ok()) {
    return ReportError(git);
  }
  // Read once: the pipeline and params parsed and the replay fingerprint
  // all come from these bytes, so a FIFO or `<(...)` works and an edit
  // during the run cannot split them. An unreadable params file is
  // reported after the pipeline file's own errors, as before.
  Result<std::string> pipeline_bytes =
      pipeline::ReadPipelineFile(flags.pipeline_file);
  if (!pipeline_bytes.ok()) {
    return ReportError(pipeline_bytes.status());
  }
  Result<std::string> params_bytes = std::string();
  if (!flags.params_file.empty()) {
    params_bytes = ReadDocument(flags.params_file);
  }
  if (MayReplay(flags) && params_bytes.ok()) {
    std::optional<Result<ReplayedRun>> replayed = TryReplayRun(
        globals, ReplayRequestOf(flags, *pipeline_bytes, *params_bytes));
    if (replayed.has_value()) {
      if (!replayed->ok()) {
        return ReportError(replayed->status());
      }
      ReplayedRun& run = replayed->value();
      return PrintRun(globals, run.report, run.manifest_path,
                      run.opened.blobs, Json());
    }
  }
  // Everything that can be wrong with the input is checked before the
  // store is touched, so bad input writes nothing.
  Result<pipeline::PipelineSpec> spec =
      pipeline::LoadPipelineBytes(*pipeline_bytes, flags.pipeline_file);
  if (!spec.ok()) {
    return ReportError(spec.status());
  }
  if (!params_bytes.ok()) {
    return ReportError(params_bytes.status());
  }
  std::optional<pipeline::ParamsFile> params_file;
  if (!flags.params_file.empty()) {
    params_file = {.path = flags.params_file, .text = *params_bytes};
  }
  Result<pipeline::ParamValues> params = pipeline::ResolveParams(
      *spec, flags.params, params_file ? &*params_file : nullptr);
  if (!params.ok()) {
    return ReportError(params.status());
  }
  pipeline::RunOptions options;
  Status parsed = FillRunOptions(globals, flags.sandbox, flags.labels,
                                 &options);
  if (!parsed.ok()) {
    return ReportError(parsed);
  }
  options.param_overrides = flags.params;
  options.params_file = std::move(params_file);
  options.jobs = flags.jobs;
  options.no_cache = flags.no_cache;
  options.explain = flags.explain;
  options.keep_work = flags.keep_work;
  options.resume_run = flags.resume;
  options.allow_tags = flags.allow_tags;
  // A missing data file is bad input too: refused here rather than at
  // its step, after earlier steps minted snapshots (found by a tester).
  if (Status sources = pipeline::CheckSnapshotSources(*spec); !sources.ok()) {
    return ReportError(sources);
  }

  Result<OpenedStore> opened = OpenStoreAndMetadata(
      globals, store::CreateIfMissing::kYes);
  if (!opened.ok()) {
    return ReportError(opened.status());
  }
  InstallCancellationHandlers();
  pipeline::Runner runner(&opened->blobs, opened->metadata.get());
  Result<pipeline::RunReport> report = runner.Run(*spec, options);
  if (!report.ok()) {
    return ReportError(report.status());
  }

  Json document;
  Result<std::string> manifest_path =
      WriteRunManifest(*spec, *report, opened.value(), &document);
  if (!manifest_path.ok()) {
    // Recorded now with the reason; left running, the run would later be
    // taken for one whose process was killed.
    std::string reason = "no manifest: " + manifest_path.status().message();
    Result<bool> recorded =
        opened->metadata->AbandonRun(report->run_id, "failed", reason);
    if (recorded.ok()) {
      report->lock->EndRecorded();
    } else {
      report->lock->NoteError(reason);
    }
    return ReportError(manifest_path.status());
  }
  SaveReplayRecord(globals,
                   ReplayRequestOf(flags, *pipeline_bytes, *params_bytes),
                   *spec,
                   *report, document, opened.value());

  // A step Lockstep could not run has said so as it failed.
  if (!report->failure.empty() && report->error.ok()) {
    LogError("{}", report->failure);
  }
  Json determinism;
  if (flags.check_determinism && report->status == "succeeded") {
    Result<Json> checked =
        CheckRunDeterminism(*manifest_path, &opened->blobs);
    // Steps stopped by the signal differ for that reason alone: no
    // verdict, only the interruption (found by a tester).
    if (CancellationRequested()) {
      LogError("determinism check interrupted; the run itself is recorded "
               "in {}", *manifest_path);
      return kExitInterrupted;
    }
    if (!checked.ok()) {
      return ReportError(checked.status());
    }
    determinism = *checked;
  }
  int code = PrintRun(globals, *report, *manifest_path, opened->blobs,
                      determinism);
  // Recorded like any failed run, but the cause was Lockstep's own (an
  // I/O or internal error): its exit code, not a step's 1.
  if (report->error.ok() || code == kExitInterrupted) return code;
  return ExitCodeFor(report->error);
}

int PrintRun(const GlobalOptions& globals, const pipeline::RunReport& report,
             const std::string& manifest_path, store::BlobStore& blobs,
             const Json& determinism) {
  if (globals.json) {
    Json steps = Json::array();
    for (const pipeline::StepReport& step : report.steps) {
      steps.push_back(StepJson(step));
    }
    Json result = {{"run_id", report.run_id},
                   {"manifest", manifest_path},
                   {"status", report.status},
                   {"steps", steps}};
    if (!report.failure.empty()) {
      result["error"] = report.failure;
    }
    if (!determinism.is_null()) {
      result["determinism"] = determinism;
    }
    PrintJson(result);
  } else {
    PrintRunText(report, manifest_path, blobs);
    if (!determinism.is_null()) {
      PrintDeterminismText(determinism);
    }
  }
  if (report.status == "cancelled") {
    return kExitInterrupted;
  }
  if (report.status != "succeeded") {
    return kExitFailed;
  }
  return determinism.is_null() || AllDeterministic(determinism)
             ? kExitOk
             : kExitFailed;
}

int ValidatePipeline(const GlobalOptions& globals, const std::string& file,
                     bool allow_tags) {
  Result<pipeline::PipelineSpec> spec = pipeline::LoadPipeline(file);
  // The defaults and images `run` would refuse are refused here, in the
  // same words.
  if (spec.ok()) {
    if (Status defaults = pipeline::CheckParamDefaults(*spec);
        !defaults.ok()) {
      spec = defaults;
    }
  }
  if (spec.ok() && !allow_tags) {
    if (Status images = pipeline::CheckImagesPinned(*spec); !images.ok()) {
      spec = images;
    }
  }
  if (spec.ok()) {
    if (Status locks = pipeline::CheckLockfilesLoad(*spec); !locks.ok()) {
      spec = locks;
    }
  }
  if (!spec.ok() && globals.json) {
    // The message starts "file:line:column: reason"; split it for tools.
    std::string message = spec.status().message();
    Json error = {{"valid", false}, {"error", message}};
    std::smatch match;
    static const std::regex kWhere("^(.*):([0-9]+):([0-9]+): (.*)$");
    if (std::regex_match(message, match, kWhere)) {
      error["file"] = match[1].str();
      error["line"] = std::stoi(match[2].str());
      error["column"] = std::stoi(match[3].str());
      error["reason"] = match[4].str();
    }
    PrintJson(error);
    return ExitCodeFor(spec.status());
  }
  if (!spec.ok()) {
    return ReportError(spec.status());
  }
  if (globals.json) {
    Json steps = Json::array();
    for (const pipeline::StepSpec& step : spec->steps) {
      steps.push_back(step.name);
    }
    PrintJson({{"valid", true}, {"pipeline", spec->name},
               {"spec_digest", spec->spec_digest.ToString()},
               {"steps", steps}, {"warnings", spec->warnings}});
  } else {
    for (const std::string& warning : spec->warnings) {
      std::cerr << "warning: " << warning << "\n";
    }
    std::cout << file << ": valid pipeline '" << spec->name << "' with "
              << CountText(spec->steps.size(), "step") << std::endl;
  }
  return kExitOk;
}

}  // namespace

void AddRunCommands(CLI::App& app, CommandContext context) {
  auto flags = std::make_shared<RunFlags>();
  CLI::App* run = app.add_subcommand("run", "Run a pipeline");
  run->add_option("pipeline", flags->pipeline_file, "Pipeline file (YAML)")
      ->required();
  // A -p without `=` is a usage mistake like a bad flag: exit 64 from
  // CLI11, before the pipeline file is read.
  CLI::Validator assignment(
      [](std::string& text) {
        size_t eq = text.find('=');
        return eq == std::string::npos || eq == 0
                   ? "expected -p name=value, got '" + text + "'"
                   : std::string();
      },
      "NAME=VALUE");
  run->add_option("-p,--param", flags->params, "Set a param: name=value")
      ->check(assignment);
  run->add_option("--params", flags->params_file,
                  "JSON file of param values");
  run->add_option("--jobs,-j", flags->jobs,
                  "Steps to run at once (default: one per core)")
      ->check(CLI::Validator(
          [](std::string& text) {
            // 0 used to mean "the default" silently, and -1 the same.
            return text.find_first_not_of("0123456789") ==
                               std::string::npos &&
                           text.find_first_not_of('0') != std::string::npos
                       ? std::string()
                       : "--jobs must be a whole number of at least 1, "
                         "not '" + text + "'";
          },
          "N>=1"));
  run->add_flag("--no-cache", flags->no_cache, "Run every step");
  run->add_flag("--explain", flags->explain,
                "Say why each step hit the cache or ran");
  // A bad value is a usage error (exit 64) too; it exited 3 after the
  // pipeline file had been read (found by a tester).
  run->add_option("--sandbox", flags->sandbox,
                  "bubblewrap (default) or none")
      ->check(CLI::Validator(SandboxProblem, "bubblewrap|none"));
  run->add_flag("--keep-work", flags->keep_work,
                "Keep step folders under <store>/work");
  run->add_option("--label", flags->labels, "Label the run: key=value");
  run->add_option("--resume", flags->resume,
                  "Continue a failed or cancelled run: reuse its steps "
                  "that succeeded");
  run->add_flag("--allow-tags", flags->allow_tags,
                "Resolve step images given by tag once and pin them in the "
                "manifest (with a warning) instead of refusing them");
  run->add_flag("--check-determinism", flags->check_determinism,
                "Run every step a second time and flag the ones whose "
                "outputs differ");
  run->callback([context, flags] {
    *context.action = [context, flags] {
      return RunPipeline(*context.globals, *flags);
    };
  });

  auto file = std::make_shared<std::string>();
  auto allow_tags = std::make_shared<bool>(false);
  CLI::App* validate =
      app.add_subcommand("validate", "Check a pipeline file without running");
  validate->add_option("pipeline", *file, "Pipeline file (YAML)")->required();
  validate->add_flag("--allow-tags", *allow_tags,
                     "Accept images given by tag only, as run --allow-tags");
  validate->callback([context, file, allow_tags] {
    *context.action = [context, file, allow_tags] {
      return ValidatePipeline(*context.globals, *file, *allow_tags);
    };
  });
}

}  // namespace lockstep::cli
