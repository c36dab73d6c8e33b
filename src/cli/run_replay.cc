// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "cli/run_replay.h"

#include <set>

#include "core/canonical_json.h"
#include "core/clock.h"
#include "core/count_text.h"
#include "core/files.h"
#include "core/log.h"
#include "core/progress.h"
#include "pipeline/executor.h"
#include "pipeline/run_lock.h"

namespace lockstep::cli {

namespace fs = std::filesystem;

namespace {

// Top-level manifest fields a replay computes afresh; every other one is
// fixed by the fingerprint and kept in the record as canonical text.
bool FreshField(const std::string& name) {
  return name == "run_id" || name == "started" || name == "finished" ||
         name == "code" || name == "environment" || name == "steps";
}

std::string SandboxName(const std::string& flag) {
  return flag == "bwrap" ? "bubblewrap" : flag;
}

Result<Digest> FingerprintOf(const ReplayRequest& request,
                             const std::string& pipeline_bytes,
                             const OpenedStore& opened,
                             const GlobalOptions& globals) {
  pipeline::ReplayFingerprintParts parts;
  parts.lockstep_binary = SelfBinary();
  parts.lockstep_version =
      pipeline::HostToolchain().value("lockstep", std::string());
  parts.metadata_url = metadata::MetadataStore::DefaultUrl(
      opened.location.root, globals.metadata);
  parts.pipeline_file = request.pipeline_file;
  parts.pipeline_bytes = pipeline_bytes;
  parts.param_overrides = request.params;
  parts.params_file = request.params_file;
  parts.params_bytes = request.params_bytes;
  parts.sandbox = SandboxName(request.sandbox);
  parts.allow_tags = request.allow_tags;
  return pipeline::ReplayFingerprint(parts);
}

// The replay's steps: the run's, each now a cache hit of the execution
// that produced its outputs.
Result<std::string> ReplayStepsText(const Json& manifest) {
  Json steps = manifest.at("steps");
  for (Json& step : steps) {
    step["state"] = "cached";
    if (!step.contains("produced_by_run")) {
      step["produced_by_run"] = manifest.at("run_id");
    }
  }
  return CanonicalJson(steps);
}

Json WatchedToJson(const std::vector<pipeline::WatchedPath>& paths) {
  Json list = Json::array();
  for (const pipeline::WatchedPath& path : paths) {
    list.push_back({path.path, pipeline::StatKeyToJson(path.identity)});
  }
  return list;
}

// The steps as the run's output shows them (names, outputs and types).
std::vector<pipeline::StepReport> ReplayedSteps(const Json& record) {
  std::vector<pipeline::StepReport> steps;
  steps.reserve(record.at("steps").size());
  for (const Json& entry : record.at("steps")) {
    pipeline::StepReport step;
    step.name = entry.at("name").get<std::string>();
    step.state = "cached";
    step.component = "command";
    Result<Digest> key = Digest::Parse(entry.at("key").get<std::string>());
    step.cache_key = key.ok() ? *key : Digest();
    for (const auto& [name, output] : entry.at("outputs").items()) {
      Result<Digest> digest = Digest::Parse(output.at(0).get<std::string>());
      if (digest.ok()) {
        step.outputs[name] = *digest;
      }
      step.output_specs.push_back(
          {.name = name, .type = output.at(1).get<std::string>()});
    }
    steps.push_back(std::move(step));
  }
  return steps;
}

// Whether the normal lookup (FindCachedExecution, as the runner uses it)
// would give every step the execution it gave the recorded run, with an
// output event for each output naming the recorded blob. One query for
// all steps.
Result<bool> SameCacheAnswers(metadata::MetadataStore& metadata,
                              const Json& record) {
  std::vector<std::string> keys;
  for (const Json& step : record.at("steps")) {
    keys.push_back(step.at("key").get<std::string>());
  }
  ASSIGN_OR_RETURN(auto answers, metadata.CacheAnswersFor(keys));
  for (const Json& step : record.at("steps")) {
    auto answer = answers.find(step.at("key").get<std::string>());
    if (answer == answers.end() ||
        answer->second.execution_id != step.at("execution").get<int64_t>()) {
      return false;
    }
    const std::map<std::string, std::string>& outputs =
        answer->second.outputs;
    for (const auto& [name, output] : step.at("outputs").items()) {
      auto found = outputs.find(name);
      if (found == outputs.end() ||
          found->second != output.at(0).get<std::string>()) {
        return false;
      }
    }
  }
  return true;
}

// The lineage store's cache generation at which every step's answer was
// found to be the recorded one, or nullopt when the answers differ or a
// write came between (then a replay checks each step). Read before and
// after the check: a write that changes an answer advances the number in
// its own transaction, so equal readings around a matching check mean
// the answers matched at that number.
std::optional<int64_t> CheckedCacheGeneration(
    metadata::MetadataStore& metadata, const Json& record) {
  Result<int64_t> before = metadata.CacheGeneration();
  Result<bool> same = SameCacheAnswers(metadata, record);
  Result<int64_t> after = metadata.CacheGeneration();
  if (!before.ok() || !same.ok() || !*same || !after.ok() ||
      *before != *after) {
    return std::nullopt;
  }
  return *before;
}

// Whether every step would still get its recorded answer: at once when
// nothing that can change an answer was written since the record was
// checked, else by asking for each step.
bool CacheStillAnswers(metadata::MetadataStore& metadata,
                       const Json& record) {
  Result<int64_t> generation = metadata.CacheGeneration();
  if (generation.ok() && record.contains("cache_generation") &&
      record.at("cache_generation").get<int64_t>() == *generation) {
    return true;
  }
  Result<bool> same = SameCacheAnswers(metadata, record);
  return same.ok() && *same;
}

// Records the replay: the run, its cached executions, its manifest.
struct ReplayPlan {
  metadata::Run original;
  Json toolchain;
  std::vector<pipeline::StepReport> steps;
  std::map<std::string, std::string> fields;  // Manifest fields fixed.
  // Digests of field texts checked on reading them (the steps).
  std::map<std::string, std::string> field_hashes;
  std::string pipeline_bytes;  // The ones fingerprinted, not re-read.
};

// Records the replay as run `run_id`, under its `lock`.
Result<ReplayedRun> RecordReplayLocked(ReplayPlan plan,
                                       const ReplayRequest& request,
                                       OpenedStore opened,
                                       const std::string& run_id,
                                       pipeline::RunLock& lock) {
  const metadata::Run& original = plan.original;
  metadata::MetadataStore& metadata = *opened.metadata;
  const fs::path& root = opened.location.root;
  pipeline::RunReport report;
  report.run_id = run_id;
  report.pipeline = original.pipeline;
  report.started_ms = NowUnixMillis();
  report.toolchain = std::move(plan.toolchain);
  report.sandbox = SandboxName(request.sandbox) == "none"
                       ? pipeline::SandboxMode::kNone
                       : pipeline::SandboxMode::kBubblewrap;
  ASSIGN_OR_RETURN(int64_t pipeline_context,
                   metadata.PutContext({.type = "pipeline",
                                        .name = report.pipeline}));
  ASSIGN_OR_RETURN(int64_t run_context,
                   metadata.PutContext({.type = "run",
                                        .name = report.run_id}));
  Json labels = Json::object();
  for (const std::string& label : request.labels) {
    size_t eq = label.find('=');
    labels[label.substr(0, eq)] = label.substr(eq + 1);
  }
  labels["lockstep.replay_of"] = original.run_id;
  RETURN_IF_ERROR(metadata.CreateRun({.run_id = report.run_id,
                                      .context_id = run_context,
                                      .pipeline = report.pipeline,
                                      .status = "running",
                                      .started_ms = report.started_ms,
                                      .labels = labels}));
  lock.RunRecorded();
  // The cached executions are copied by the next process that reads
  // lineage (MetadataStore::MaterializeReplays): a no-op writes one row.
  ASSIGN_OR_RETURN(int64_t copied,
                   metadata.DeferReplayExecutions(
                       original.context_id, original.run_id,
                       {run_context, pipeline_context}, report.run_id));
  report.steps = std::move(plan.steps);
  if (copied != static_cast<int64_t>(report.steps.size())) {
    std::string reason = "replay of run " + original.run_id + " has " +
                         CountText(copied, "execution") + " for " +
                         CountText(report.steps.size(), "step");
    if (metadata.FinishRun(report.run_id, "failed", "", "", reason).ok()) {
      lock.EndRecorded();
    }
    return Status::Internal(reason);
  }

  fs::path directory = fs::path(request.pipeline_file).parent_path();
  ASSIGN_OR_RETURN(manifest::ManifestContext context,
                   CaptureManifestContext(plan.pipeline_bytes, directory,
                                          report.toolchain, opened));
  report.finished_ms = NowUnixMillis();
  report.status = "succeeded";
  std::map<std::string, std::string>& fields = plan.fields;
  ASSIGN_OR_RETURN(fields["run_id"], CanonicalJson(Json(report.run_id)));
  ASSIGN_OR_RETURN(fields["started"],
                   CanonicalJson(Json(FormatRfc3339(report.started_ms))));
  ASSIGN_OR_RETURN(fields["finished"],
                   CanonicalJson(Json(FormatRfc3339(report.finished_ms))));
  ASSIGN_OR_RETURN(fields["code"], CanonicalJson(context.code));
  ASSIGN_OR_RETURN(fields["environment"],
                   CanonicalJson(context.environment));
  manifest::SealedFields sealed =
      manifest::SealFields(fields, plan.field_hashes);
  fs::path path = manifest::ManifestPath(root, report.run_id);
  RETURN_IF_ERROR(WriteFileAtomically(path, sealed.text));
  RETURN_IF_ERROR(metadata.FinishRun(report.run_id, report.status,
                                     path.string(), sealed.manifest_hash));
  lock.EndRecorded();
  for (const pipeline::StepReport& step : report.steps) {
    LogInfo("step {}: cached", step.name);
  }
  return ReplayedRun{std::move(report), path.string(), std::move(opened)};
}

Result<ReplayedRun> RecordReplay(ReplayPlan plan,
                                 const ReplayRequest& request,
                                 OpenedStore opened) {
  const fs::path root = opened.location.root;
  Result<std::vector<std::string>> recovered =
      pipeline::RecoverAbandonedRuns(root, opened.metadata.get());
  if (!recovered.ok()) {
    LogWarning("cannot check for abandoned runs: {}",
               recovered.status().message());
  }
  std::string run_id = pipeline::NewRunId();
  ASSIGN_OR_RETURN(pipeline::RunLock lock,
                   pipeline::RunLock::Acquire(root, run_id));
  Result<ReplayedRun> replayed = RecordReplayLocked(
      std::move(plan), request, std::move(opened), run_id, lock);
  // For the next process to record, should this one not have (see
  // run_lock.h).
  if (!replayed.ok()) {
    lock.NoteError(replayed.status().message());
  }
  return replayed;
}

// The replay to record, or nullopt when anything the record lists
// changed (or the record is damaged).
std::optional<ReplayPlan> PlanReplay(const Json& record,
                                     std::string steps_text,
                                     const std::string& sandbox,
                                     OpenedStore& opened) {
  std::string mismatch = pipeline::ReplayMismatch(record, opened.blobs);
  if (!mismatch.empty()) {
    LogDebug("no replay of run {}: {}", record.value("run_id", ""),
             mismatch);
    return std::nullopt;
  }
  // The normal path probes the sandbox before anything; so does this.
  if (sandbox == "bubblewrap" &&
      !pipeline::SandboxAvailable(opened.location.root)) {
    return std::nullopt;
  }
  ReplayPlan plan;
  Result<metadata::Run> original =
      opened.metadata->GetRun(record.at("run_id").get<std::string>());
  if (!original.ok() || original->status != "succeeded") {
    return std::nullopt;
  }
  plan.original = *original;
  if (!CacheStillAnswers(*opened.metadata, record)) {
    LogDebug("no replay of run {}: the cache has newer executions",
             original->run_id);
    return std::nullopt;
  }
  plan.toolchain = record.at("toolchain");
  plan.steps = ReplayedSteps(record);
  for (const auto& [name, text] : record.at("fields").items()) {
    plan.fields[name] = text.get<std::string>();
  }
  plan.fields["steps"] = std::move(steps_text);
  // TryReplayRun compared this digest with the text's own.
  plan.field_hashes["steps"] = record.at("steps_digest").get<std::string>();
  return plan;
}

}  // namespace

std::optional<Result<ReplayedRun>> TryReplayRun(
    const GlobalOptions& globals, const ReplayRequest& request) {
  std::string sandbox = SandboxName(request.sandbox);
  if (sandbox != "bubblewrap" && sandbox != "none") {
    return std::nullopt;  // The normal path reports it.
  }
  for (const std::string& label : request.labels) {
    size_t eq = label.find('=');
    if (eq == std::string::npos || eq == 0) {
      return std::nullopt;  // The normal path reports it.
    }
  }
  // A record lives in a store; with none yet there is nothing to replay.
  Result<OpenedStore> opened =
      OpenStoreAndMetadata(globals, store::CreateIfMissing::kNo,
                           {.defer_replays = true});
  if (!opened.ok()) {
    return std::nullopt;
  }
  Result<Digest> fingerprint =
      FingerprintOf(request, request.pipeline_bytes, *opened, globals);
  if (!fingerprint.ok()) {
    return std::nullopt;
  }
  const fs::path& root = opened->location.root;
  Result<std::string> record_text =
      ReadFile(pipeline::ReplayRecordPath(root, *fingerprint));
  if (!record_text.ok()) {
    return std::nullopt;
  }
  Json record = ParseJsonOrDiscarded(*record_text);
  Result<std::string> steps_text =
      ReadFile(pipeline::ReplayStepsPath(root, *fingerprint));
  if (!record.is_object() || !steps_text.ok() ||
      Sha256Of(*steps_text).ToString() !=
          record.value("steps_digest", std::string())) {
    LogDebug("no replay: the replay record is damaged");
    return std::nullopt;
  }
  std::optional<ReplayPlan> plan;
  try {
    plan = PlanReplay(record, std::move(*steps_text), sandbox, *opened);
  } catch (const Json::exception& error) {
    LogDebug("no replay: the replay record is damaged ({})", error.what());
    return std::nullopt;
  }
  if (!plan.has_value()) {
    return std::nullopt;
  }
  LogDebug("replaying run {}: nothing it depends on changed",
           plan->original.run_id);
  plan->pipeline_bytes = request.pipeline_bytes;
  return RecordReplay(std::move(*plan), request, std::move(*opened));
}

void SaveReplayRecord(const GlobalOptions& globals,
                      const ReplayRequest& request,
                      const pipeline::PipelineSpec& spec,
                      const pipeline::RunReport& report,
                      const Json& manifest, OpenedStore& opened) {
  const pipeline::ReplayInputs& inputs = report.replay;
  if (report.status != "succeeded" || !inputs.refused.empty()) {
    LogDebug("no replay record for run {}: {}", report.run_id,
             inputs.refused.empty() ? report.status : inputs.refused);
    return;
  }
  Result<Digest> fingerprint = FingerprintOf(request, spec.text, opened,
                                             globals);
  Result<std::map<std::string, std::string>> fields =
      manifest::CanonicalFields(manifest);
  Result<std::string> steps_text = ReplayStepsText(manifest);
  if (!fingerprint.ok() || !fields.ok() || !steps_text.ok()) {
    LogDebug("no replay record for run {}", report.run_id);
    return;
  }
  Json fixed = Json::object();
  for (const auto& [name, text] : *fields) {
    if (!FreshField(name)) {
      fixed[name] = text;
    }
  }
  Json steps = Json::array();
  Json blobs = Json::object();
  for (const pipeline::StepReport& step : report.steps) {
    Json outputs = Json::object();
    for (const pipeline::OutputSpec& output : step.output_specs) {
      auto digest = step.outputs.find(output.name);
      if (digest == step.outputs.end()) {
        return;  // Not a run to replay; never reached for a success.
      }
      outputs[output.name] = {digest->second.ToString(), output.type};
    }
    int64_t execution = step.state == "ran" ? step.execution_id
                                            : step.cached_execution_id;
    steps.push_back({{"name", step.name},
                     {"key", step.cache_key.ToString()},
                     {"execution", execution},
                     {"outputs", outputs}});
  }
  for (const auto& [digest, identity] : inputs.blobs) {
    blobs[digest] = pipeline::StatKeyToJson(identity);
  }
  // Besides outputs, the manifest names the pipeline file's and each code
  // file's blob: a replay is only as reproducible as they are present.
  std::set<std::string> needed = {Sha256Of(spec.text).ToString()};
  for (const pipeline::StepReport& step : report.steps) {
    for (const auto& [path, file] : step.invocation.code) {
      needed.insert(file.digest.ToString());
    }
  }
  Json record = {{"run_id", report.run_id},
                 {"toolchain", report.toolchain},
                 {"env", inputs.env},
                 {"programs", inputs.programs},
                 {"program_files", WatchedToJson(inputs.program_files)},
                 {"files", WatchedToJson(inputs.files)},
                 {"blobs", blobs},
                 {"needed_blobs", needed},
                 {"steps", steps},
                 {"fields", fixed},
                 {"steps_digest", Sha256Of(*steps_text).ToString()}};
  if (std::optional<int64_t> generation =
          CheckedCacheGeneration(*opened.metadata, record)) {
    record["cache_generation"] = *generation;
  }
  const fs::path& root = opened.location.root;
  std::error_code error;
  fs::create_directories(
      pipeline::ReplayRecordPath(root, *fingerprint).parent_path(), error);
  // The steps first: a record is only used with steps that match it.
  Status saved = WriteFileAtomically(
      pipeline::ReplayStepsPath(root, *fingerprint), *steps_text);
  if (saved.ok()) {
    saved = WriteFileAtomically(
        pipeline::ReplayRecordPath(root, *fingerprint), record.dump());
  }
  if (!saved.ok()) {
    LogWarning("cannot save the replay record: {}", saved.message());
  }
}

}  // namespace lockstep::cli
