// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "pipeline/runner.h"

#include <gnu/libc-version.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <thread>

#include "core/canonical_json.h"
#include "core/clock.h"
#include "core/count_text.h"
#include "core/files.h"
#include "core/log.h"
#include "core/progress.h"
#include "core/utf8.h"
#include "env/lockfile.h"
#include "image/reference.h"
#include "image/rootfs.h"
#include "metadata/compare.h"
#include "data/stat_cache.h"
#include "pipeline/cache_key.h"
#include "pipeline/code_files.h"
#include "pipeline/components.h"
#include "pipeline/dag.h"
#include "pipeline/expression.h"
#include "pipeline/run_lock.h"
#include "pipeline/snapshot_step.h"
#include "store/tar.h"

namespace lockstep::pipeline {

namespace fs = std::filesystem;
using metadata::Artifact;
using metadata::ExecutionRecord;
using metadata::ExecutionState;

namespace {

constexpr const char* kLockstepVersion = "0.1.0";

// Reads KEY=value pairs of /etc/os-release.
std::map<std::string, std::string> OsRelease() {
  std::map<std::string, std::string> fields;
  Result<std::string> text = ReadFile("/etc/os-release");
  if (!text.ok()) {
    return fields;
  }
  size_t start = 0;
  while (start < text->size()) {
    size_t end = text->find('\n', start);
    std::string line = text->substr(start, end - start);
    start = end == std::string::npos ? text->size() : end + 1;
    size_t eq = line.find('=');
    if (eq == std::string::npos) {
      continue;
    }
    std::string value = line.substr(eq + 1);
    if (value.size() >= 2 && value.front() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    fields[line.substr(0, eq)] = value;
  }
  return fields;
}

// Every dotted reference in the step's templates and condition.
std::set<std::string> StepReferences(const StepSpec& step) {
  std::set<std::string> references;
  auto add_template = [&](const std::string& text) {
    Result<std::vector<TemplatePart>> parts = ParseTemplate(text);
    if (!parts.ok()) {
      return;
    }
    for (const TemplatePart& part : *parts) {
      if (part.is_expression) {
        for (const std::string& r : part.expression->references()) {
          references.insert(r);
        }
      }
    }
  };
  for (const std::string& arg : step.run) {
    add_template(arg);
  }
  for (const auto& [key, value] : step.with) {
    add_template(value.is_string() ? value.get<std::string>() : "");
  }
  if (!step.condition.empty()) {
    Result<Expression> condition = Expression::Parse(step.condition);
    if (condition.ok()) {
      references.insert(condition->references().begin(),
                        condition->references().end());
    }
  }
  return references;
}

struct Completion {
  size_t index;
  int iteration;  // -1 unless one iteration of a for_each: step
  Result<StepOutcome> outcome;
  int64_t duration_ms;
  int attempts;
};

// The iterations of one for_each: step.
struct FanOut {
  std::vector<Json> items;
  std::vector<StepReport> iterations;
  std::deque<int> pending;  // Decided to run, not yet launched.
  size_t left = 0;          // Not yet finished.
  int running = 0;
};

// Sleeps `millis`, waking early when cancellation is requested.
void SleepUnlessCancelled(int64_t millis) {
  int64_t deadline = NowUnixMillis() + millis;
  while (!CancellationRequested() && NowUnixMillis() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(
        std::min<int64_t>(50, deadline - NowUnixMillis())));
  }
}

// A step that succeeded in the run being resumed.
struct ResumedStep {
  std::string cache_key;
  std::string run_id;  // The run that really produced the outputs.
  std::map<std::string, Artifact> outputs;
};

// One run in progress. Metadata is touched only from the scheduling thread;
// worker threads only execute steps.
class RunState {
 public:
  RunState(store::BlobStore* blobs, metadata::MetadataStore* metadata,
           const PipelineSpec& spec, const RunOptions& options)
      : blobs_(blobs), metadata_(metadata), spec_(spec), options_(options) {}

  // Runs the pipeline; on an error, leaves the reason in the run's lock
  // file for the next process to record if this one could not.
  Result<RunReport> Run();

 private:
  Result<RunReport> RunSteps();
  Status RecordEnd(const std::string& failure);
  // After step `name` failed: when Lockstep could not write its stderr
  // log (`log_error`), makes that the run's error.
  void NoteUnwritableLog(const std::string& name,
                         const std::string& log_error);
  // Makes `error` the run's own error, with `failure` as its reason,
  // unless it already has one (the first is the one it exits with).
  // Whether it did.
  bool KeepFirstError(const Status& error, const std::string& failure);
  Status Start();
  // Refuses images given by tag only (or resolves them with --allow-tags)
  // and records the pinned reference of every step that runs in one.
  Status PinImages();
  // Before any step: pulls and unpacks the images, verifies the lockfiles.
  // Drift with on_drift: fail sets report_.failure.
  Status CheckEnvironment();
  Status VerifyLockfile(const EnvironmentSpec& environment);
  Status LoadResumedRun();
  // Refuses a replay record for runs that read what a record cannot
  // watch (snapshots, images, lockfiles, built-ins) or must not be
  // replayed (cache off, --explain, --resume).
  void CheckReplayable();
  // Refuses a declared env value that is not UTF-8.
  Status CheckEnvValues() const;
  // Records the stats of every step's outputs that the blob stat cache
  // vouches for; refuses the record when one is not vouched for.
  void NoteReplayOutputs();
  // Reuses the resumed run's outputs for the step when its key matches.
  Result<bool> TryResume(size_t index, int iteration);
  Status Schedule(const std::vector<size_t>& order);
  bool DependenciesDone(size_t index) const;
  // "a, b": the steps in `order` that have not finished, for an error.
  std::string UnfinishedSteps(const std::vector<size_t>& order) const;
  // Decides a step that is ready: skip, restore from cache, or launch.
  Status Decide(size_t index);
  // Decide, failing the step on an error of its own (see there).
  Status DecideOrFail(size_t index);
  Result<std::string> SkipReason(size_t index);
  Status PrepareInvocation(size_t index, int iteration = -1);
  Status ResolveInputs(const StepSpec& step, StepReport* report);
  Result<std::string> Substitute(const std::string& text,
                                 const StepSpec& step, const Json* item);
  Status BuildArgv(const StepSpec& step, StepReport* report,
                   const Json* item);
  Status AddCode(const StepSpec& step, StepReport* report);
  Result<Json> KeyParts(const StepSpec& step, const StepReport& report);
  Result<bool> TryCache(size_t index, int iteration = -1);
  void Explain(size_t index, int iteration, const std::string& hit_detail);
  void Launch(size_t index, int iteration = -1);
  Status Complete(Completion completion);
  Status RecordExecution(size_t index, ExecutionState state,
                         const StepOutcome* outcome, int iteration = -1);
  // Queues a record of the step (or iteration) for the next FlushRecords.
  void Enqueue(size_t index, int iteration, metadata::ExecutionRecord record);
  // Adds the input `port`, produced as `output` by the step (or iteration)
  // `producer`, to `record`: by artifact id once the producer is recorded,
  // else as a reference into the queued batch. False when it made none.
  bool AddProducedInput(std::pair<size_t, int> producer,
                        const std::string& output, const std::string& port,
                        metadata::ExecutionRecord* record);
  // Writes the queued records in one transaction and gives their steps
  // their execution and artifact ids.
  Status FlushRecords();
  // Flushes when the oldest queued record has waited long enough.
  Status MaybeFlushRecords();
  // Verifies a cached blob by digest, reading it only when its stat
  // differs from the one it had when it last hashed right.
  Status VerifyCachedBlob(const Digest& digest);
  // for_each: expands the step into iterations, each decided like a step.
  Status StartFanOut(size_t index);
  Result<Json> ForEachItems(const StepSpec& step);
  Status LaunchIterations();
  void FinishIteration(size_t index, int iteration, const std::string& state,
                       const std::string& message);
  Status CollectFanOut(size_t index);
  Status RecordCollection(size_t index);
  Result<Json> ReadOutputValue(const std::string& reference);
  StepReport& ReportOf(size_t index, int iteration) {
    return iteration < 0 ? steps_[index]
                         : fan_outs_.at(index).iterations[iteration];
  }
  const Json* ItemOf(size_t index, int iteration) const {
    return iteration < 0 ? nullptr
                         : &fan_outs_.at(index).items[iteration];
  }
  Status RunSnapshotStep(size_t index);
  void Finish(size_t index, const std::string& state,
              const std::string& message);
  void UpdateProgress();

  store::BlobStore* blobs_;
  metadata::MetadataStore* metadata_;
  const PipelineSpec& spec_;
  const RunOptions& options_;
  RunReport report_;
  std::vector<StepReport> steps_;
  std::vector<bool> done_;
  std::vector<bool> launched_;
  std::map<std::string, size_t> index_of_;
  int64_t run_context_ = 0;
  int64_t pipeline_context_ = 0;
  Json toolchain_;
  std::map<std::string, Digest> program_digests_;
  std::map<std::string, fs::path> program_paths_;  // argv[0] -> program
  // Pinned image reference per step index, and per reference as written.
  std::map<size_t, std::string> step_images_;
  std::map<std::string, std::string> pinned_images_;
  std::set<std::string> resolved_from_tag_;
  // Lockfile digest per lockfile path as written.
  std::map<std::string, Digest> lockfile_digests_;
  // Per drifted lockfile (on_drift: warn), the digest of what was found.
  std::map<std::string, Digest> lockfile_drift_;
  Digest self_digest_;
  bool failed_ = false;
  int running_ = 0;
  int jobs_ = 1;
  std::mutex mutex_;
  std::condition_variable completed_;
  std::deque<Completion> completions_;
  // One thread per running step, joined as soon as it reports: finished
  // threads would keep their stacks mapped and slow every later fork.
  std::map<std::pair<size_t, int>, std::thread> threads_;
  std::unique_ptr<Progress> progress_;
  std::map<std::pair<size_t, int>, int64_t> started_at_;
  std::map<size_t, FanOut> fan_outs_;
  std::map<std::string, ResumedStep> resumed_;
  // Indexes of the steps each step waits for (an exit handler waits for
  // every ordinary step), computed once: the scheduler asks often.
  std::vector<std::vector<size_t>> dependencies_;
  uint64_t progress_total_ = 0;
  // Steps and iterations in the order they finished (for the report).
  std::vector<std::pair<size_t, int>> finished_;
  // Records waiting for FlushRecords: one transaction per wave of steps
  // instead of one per step. A record is queued only after its outputs
  // are in the store, so a crash can lose records, never blobs.
  std::vector<ExecutionRecord> queued_records_;
  std::vector<std::pair<size_t, int>> queued_units_;
  std::map<std::pair<size_t, int>, size_t> queued_position_;
  int64_t oldest_queued_ms_ = 0;
  // Blob stats of cached outputs that last verified (see VerifyCachedBlob).
  data::StatCache blob_stats_;
  std::optional<RunLock> run_lock_;
};

// Queued records are written at least this often.
constexpr int64_t kFlushIntervalMillis = 200;

Status RunState::Start() {
  ASSIGN_OR_RETURN(report_.params,
                   ResolveParams(spec_, options_.param_overrides,
                                 options_.params_file
                                     ? &*options_.params_file
                                     : nullptr));
  // Runs whose process died (SIGKILL, power loss) are still "running":
  // record them as failed and clear their step folders first.
  Result<std::vector<std::string>> recovered =
      RecoverAbandonedRuns(blobs_->root(), metadata_);
  if (!recovered.ok()) {
    LogWarning("cannot check for abandoned runs: {}",
               recovered.status().message());
  }
  RETURN_IF_ERROR(CheckEnvValues());
  report_.run_id = NewRunId();
  // Held until the run is recorded as finished (see run_lock.h).
  ASSIGN_OR_RETURN(RunLock lock,
                   RunLock::Acquire(blobs_->root(), report_.run_id));
  run_lock_.emplace(std::move(lock));
  report_.pipeline = spec_.name;
  report_.sandbox = options_.sandbox;
  report_.started_ms = NowUnixMillis();
  report_.toolchain = HostToolchain();
  if (options_.sandbox == SandboxMode::kNone) {
    report_.warnings.push_back(
        "steps ran without a sandbox (--sandbox none): host paths and "
        "files outside the declared inputs may have influenced outputs");
  }
  jobs_ = options_.jobs > 0
              ? options_.jobs
              : std::max(1u, std::thread::hardware_concurrency());
  RETURN_IF_ERROR(PinImages());
  CheckReplayable();

  ASSIGN_OR_RETURN(pipeline_context_,
                   metadata_->PutContext({.type = "pipeline",
                                          .name = spec_.name}));
  ASSIGN_OR_RETURN(run_context_,
                   metadata_->PutContext({.type = "run",
                                          .name = report_.run_id}));
  Json labels = Json::object();
  for (const auto& [key, value] : options_.labels) {
    labels[key] = value;
  }
  if (!options_.resume_run.empty()) {
    RETURN_IF_ERROR(LoadResumedRun());
    labels["resumed_from"] = options_.resume_run;
  }
  RETURN_IF_ERROR(metadata_->CreateRun({.run_id = report_.run_id,
                                        .context_id = run_context_,
                                        .pipeline = spec_.name,
                                        .status = "running",
                                        .started_ms = report_.started_ms,
                                        .labels = labels}));
  run_lock_->RunRecorded();

  blob_stats_ = data::StatCache::Load(blobs_->root() / "cache" /
                                      "blob-stat-cache-v1");
  steps_.resize(spec_.steps.size());
  done_.assign(spec_.steps.size(), false);
  launched_.assign(spec_.steps.size(), false);
  for (size_t i = 0; i < spec_.steps.size(); ++i) {
    index_of_[spec_.steps[i].name] = i;
    steps_[i].name = spec_.steps[i].name;
    steps_[i].component =
        spec_.steps[i].uses.empty() ? "command" : spec_.steps[i].uses;
    steps_[i].output_specs = spec_.steps[i].outputs;
    steps_[i].condition = spec_.steps[i].condition;
  }
  dependencies_.resize(spec_.steps.size());
  for (size_t i = 0; i < spec_.steps.size(); ++i) {
    for (const std::string& dependency : StepDependencies(spec_.steps[i])) {
      dependencies_[i].push_back(index_of_.at(dependency));
    }
    for (size_t j = 0; j < spec_.steps.size() && spec_.steps[i].is_finally;
         ++j) {
      if (!spec_.steps[j].is_finally) {
        dependencies_[i].push_back(j);
      }
    }
  }
  return Status::Ok();
}

// Env values are hashed and recorded as UTF-8 JSON: one that is not
// UTF-8 is refused before any step runs, at the `env:` entry naming it.
Status RunState::CheckEnvValues() const {
  for (const StepSpec& step : spec_.steps) {
    for (size_t i = 0; i < step.env.size(); ++i) {
      const char* value = std::getenv(step.env[i].c_str());
      Status utf8 = RequireUtf8(
          "env: the host value of " + step.env[i],
          value != nullptr ? value : "");
      if (!utf8.ok()) {
        return SpecError(step.EnvWhere(i), utf8.message());
      }
    }
  }
  return Status::Ok();
}

void RunState::CheckReplayable() {
  ReplayInputs& replay = report_.replay;
  if (options_.no_cache || options_.explain || !options_.resume_run.empty()) {
    replay.Refuse("--no-cache, --explain or --resume");
  }
  if (!spec_.cache || !spec_.environment.image.empty() ||
      !spec_.environment.lockfile.empty()) {
    replay.Refuse("cache: false, an image or a lockfile on the pipeline");
  }
  for (const StepSpec& step : spec_.steps) {
    bool snapshot_input = false;
    for (const InputSpec& input : step.inputs) {
      snapshot_input |= input.kind == InputSpec::Kind::kSnapshot;
    }
    if (!step.uses.empty() || step.fans_out() || step.is_finally ||
        step.always_run || !step.cache || snapshot_input ||
        !step.environment.image.empty() ||
        !step.environment.lockfile.empty()) {
      replay.Refuse("step " + step.name + " is not replayable");
    }
  }
}

void RunState::NoteReplayOutputs() {
  ReplayInputs& replay = report_.replay;
  if (report_.steps.size() != spec_.steps.size()) {
    replay.Refuse("not every step finished");
  }
  for (const StepReport& step : report_.steps) {
    if (step.state != "ran" && step.state != "cached" &&
        step.state != "reused") {
      replay.Refuse("step " + step.name + " " + step.state);
    }
    for (const auto& [name, digest] : step.outputs) {
      // Outputs are adopted as loose blobs (Publish never leaves only a
      // packed copy), so each has a file to stat.
      fs::path path = blobs_->PathOf(digest);
      std::string key = path.lexically_relative(blobs_->root()).string();
      struct stat info;
      if (!replay.refused.empty()) {
        return;
      }
      if (::lstat(path.c_str(), &info) != 0 || !S_ISREG(info.st_mode) ||
          blob_stats_.Lookup(key, data::StatKeyOf(info)) != digest) {
        replay.Refuse("output " + digest.ToString() + " not yet settled");
        return;
      }
      replay.blobs[digest.ToString()] = data::StatKeyOf(info);
    }
  }
}

Status RunState::PinImages() {
  for (size_t i = 0; i < spec_.steps.size(); ++i) {
    const EnvironmentSpec* environment = spec_.ImageOf(spec_.steps[i]);
    if (environment == nullptr) {
      continue;
    }
    auto pinned = pinned_images_.find(environment->image);
    if (pinned != pinned_images_.end()) {
      step_images_[i] = pinned->second;
      continue;
    }
    if (options_.sandbox != SandboxMode::kBubblewrap) {
      return SpecError(environment->image_where,
                       "steps in an image need the bubblewrap sandbox, not "
                       "--sandbox none");
    }
    ASSIGN_OR_RETURN(registry::Reference ref,
                     image::ParseImageRef(environment->image));
    if (!image::IsPinned(ref)) {
      if (!options_.allow_tags) {
        return SpecError(environment->image_where,
                         image::RequirePinned(ref, "").message() +
                             " (or run with --allow-tags to resolve it once)");
      }
      Result<Digest> digest = image::ResolveTag(*blobs_, ref);
      RETURN_IF_ERROR(digest.status().WithContext(
          environment->image_where.Prefix() + "image " + environment->image));
      ref.digest = digest->ToString();
      resolved_from_tag_.insert(environment->image);
      report_.warnings.push_back(
          environment->image_where.Prefix() + "image " + environment->image +
          " was given by tag and resolved to " + digest->ToString() +
          "; pin that digest in the pipeline file");
    }
    pinned_images_[environment->image] = image::FormatImageRef(ref);
    step_images_[i] = pinned_images_[environment->image];
  }
  return Status::Ok();
}

Status RunState::CheckEnvironment() {
  for (const auto& [written, pinned] : pinned_images_) {
    ASSIGN_OR_RETURN(registry::Reference ref, image::ParseImageRef(pinned));
    RETURN_IF_ERROR(image::PrepareRootfs(*blobs_, ref).status());
    report_.images.push_back(
        {{"reference", pinned},
         {"digest", ref.digest},
         {"resolved_from_tag", resolved_from_tag_.contains(written)}});
  }
  std::set<std::string> verified;
  std::vector<const EnvironmentSpec*> lockfiles = {&spec_.environment};
  for (const StepSpec& step : spec_.steps) {
    lockfiles.push_back(&step.environment);
  }
  for (const EnvironmentSpec* environment : lockfiles) {
    if (environment->lockfile.empty() ||
        !verified.insert(environment->lockfile).second) {
      continue;
    }
    RETURN_IF_ERROR(VerifyLockfile(*environment));
  }
  return Status::Ok();
}

Status RunState::VerifyLockfile(const EnvironmentSpec& environment) {
  const SourceLocation& where = environment.lockfile_where;
  Result<env::Lockfile> lock =
      env::LoadLockfile(spec_.directory / environment.lockfile);
  if (!lock.ok()) {
    return SpecError(where, lock.status().message());
  }
  env::LockVerification check;
  if (!environment.site_packages.empty()) {
    Result<env::LockVerification> checked = env::VerifyInstalled(
        *lock, spec_.directory / environment.site_packages);
    RETURN_IF_ERROR(checked.status().WithContext(where.Prefix()));
    check = std::move(*checked);
  } else if (!environment.files.empty()) {
    Result<env::LockVerification> checked =
        env::VerifyArtifacts(*lock, spec_.directory / environment.files);
    RETURN_IF_ERROR(checked.status().WithContext(where.Prefix()));
    check = std::move(*checked);
  } else {
    check.lockfile = environment.lockfile;
    check.lockfile_digest = lock->digest;
    check.target_kind = "parse-only";
    check.packages_checked = static_cast<int>(lock->packages.size());
  }
  lockfile_digests_[environment.lockfile] = lock->digest;
  Json json = check.ToJson();
  json["on_drift"] = environment.drift_fails ? "fail" : "warn";
  report_.lockfiles.push_back(json);
  if (check.ok()) {
    return Status::Ok();
  }
  std::string findings;
  for (const env::LockFinding& finding : check.findings) {
    findings += (findings.empty() ? "" : "; ") + finding.message;
  }
  std::string message = where.Prefix() + "lockfile " + environment.lockfile +
                        " does not match " + check.target + ": " + findings;
  // Outputs made in a drifted environment are keyed apart from clean ones.
  lockfile_drift_[environment.lockfile] = Sha256Of(json["findings"].dump());
  if (environment.drift_fails) {
    report_.failure = message + " (on_drift: fail; no step ran)";
  } else {
    report_.warnings.push_back(message + " (on_drift: warn)");
  }
  return Status::Ok();
}

Status RunState::LoadResumedRun() {
  Result<metadata::Run> run = metadata_->GetRun(options_.resume_run);
  if (!run.ok()) {
    return Status::NotFound("--resume: no run '" + options_.resume_run +
                            "' in this store (see `lockstep runs`)");
  }
  if (run->pipeline != spec_.name) {
    // Naming the wrong run is malformed input (docs/exit-codes.md, 3),
    // not a store in an unusable state.
    return Status::InvalidArgument(
        "--resume: run " + run->run_id + " is of pipeline '" +
        run->pipeline + "', not '" + spec_.name + "'");
  }
  if (run->status != "failed" && run->status != "cancelled") {
    return Status::InvalidArgument(
        "--resume: run " + run->run_id + " " + run->status +
        "; only a failed or cancelled run can be resumed");
  }
  ASSIGN_OR_RETURN(std::vector<metadata::Execution> executions,
                   metadata_->ExecutionsInContext(run->context_id));
  for (const metadata::Execution& execution : executions) {
    if ((execution.state != ExecutionState::kComplete &&
         execution.state != ExecutionState::kCached) ||
        execution.cache_key.empty()) {
      continue;
    }
    ResumedStep step;
    step.cache_key = execution.cache_key;
    step.run_id = execution.properties.value(
        "produced_by_run", execution.properties.value("run_id", ""));
    ASSIGN_OR_RETURN(std::vector<metadata::Event> events,
                     metadata_->EventsOfExecution(execution.id));
    for (const metadata::Event& event : events) {
      if (event.type == metadata::EventType::kOutput) {
        ASSIGN_OR_RETURN(step.outputs[event.port],
                         metadata_->GetArtifact(event.artifact_id));
      }
    }
    resumed_[execution.name] = std::move(step);
  }
  return Status::Ok();
}

Result<bool> RunState::TryResume(size_t index, int iteration) {
  StepReport& report = ReportOf(index, iteration);
  auto found = resumed_.find(report.name);
  if (found == resumed_.end() ||
      found->second.cache_key != report.cache_key.ToString()) {
    return false;
  }
  for (const OutputSpec& output : spec_.steps[index].outputs) {
    auto artifact = found->second.outputs.find(output.name);
    if (artifact == found->second.outputs.end()) {
      return false;
    }
    ASSIGN_OR_RETURN(Digest digest, Digest::Parse(artifact->second.digest));
    if (!VerifyCachedBlob(digest).ok()) {
      return false;  // Gone or corrupt: run it again.
    }
    report.outputs[output.name] = digest;
    report.output_artifacts[output.name] = artifact->second.id;
    if (artifact->second.properties.value("format", "") == "tar") {
      report.folder_outputs.insert(output.name);
    }
  }
  report.produced_by_run = found->second.run_id;
  Explain(index, iteration,
          "resumed: succeeded in run " + options_.resume_run +
              " with the same key");
  return true;
}

bool RunState::DependenciesDone(size_t index) const {
  for (size_t dependency : dependencies_[index]) {
    if (!done_[dependency]) {
      return false;
    }
  }
  return true;
}

std::string RunState::UnfinishedSteps(const std::vector<size_t>& order) const {
  std::string names;
  for (size_t index : order) {
    if (!done_[index]) {
      names += (names.empty() ? "" : ", ") + spec_.steps[index].name;
    }
  }
  return names;
}

Result<std::string> RunState::SkipReason(size_t index) {
  const StepSpec& step = spec_.steps[index];
  if (CancellationRequested()) {
    return std::string("cancelled");
  }
  for (const std::string& dependency : StepDependencies(step)) {
    const StepReport& upstream = steps_[index_of_.at(dependency)];
    if (step.is_finally) {
      // An exit handler runs whatever happened, unless it reads an output
      // that was never made.
      for (const InputSpec& input : step.inputs) {
        if (input.step == dependency && !upstream.outputs.contains(
                                            input.output)) {
          return "input " + input.name + " was not produced (step " +
                 dependency + " " + upstream.state + ")";
        }
      }
      continue;
    }
    if (upstream.state == "failed" || upstream.state == "cancelled") {
      return "upstream step " + dependency + " " + upstream.state;
    }
    if (upstream.state == "skipped") {
      return "upstream step " + dependency + " was skipped";
    }
  }
  if (failed_ && !step.is_finally) {
    return std::string("the run failed before this step started");
  }
  if (step.condition.empty()) {
    return std::string();
  }

  ASSIGN_OR_RETURN(Expression condition, Expression::Parse(step.condition));
  Result<Json> value = condition.Evaluate(
      [this](const std::string& reference) {
        return ReadOutputValue(reference);
      });
  if (!value.ok()) {
    return SpecError(step.condition_where,
                     "if: " + value.status().message());
  }
  steps_[index].condition_value = IsTruthy(*value);
  if (!steps_[index].condition_value) {
    return "if: " + step.condition + " is false";
  }
  return std::string();
}

// The value of params.NAME or steps.S.outputs.O (the output's bytes).
Result<Json> RunState::ReadOutputValue(const std::string& reference) {
  if (reference.starts_with("params.")) {
    return report_.params.at(reference.substr(7));
  }
  size_t dot = reference.find('.', 6);
  std::string producer = reference.substr(6, dot - 6);
  std::string output = reference.substr(reference.rfind('.') + 1);
  const StepReport& upstream = steps_[index_of_.at(producer)];
  auto digest = upstream.outputs.find(output);
  if (digest == upstream.outputs.end()) {
    return Status::NotFound("step " + producer + " made no output " +
                            output);
  }
  // A folder is stored as a tar; its bytes are no value to compare.
  if (upstream.folder_outputs.contains(output)) {
    return Status::InvalidArgument(
        reference + " is a folder; an expression reads only a file output");
  }
  ASSIGN_OR_RETURN(std::string bytes, blobs_->ReadVerified(digest->second));
  return OutputValue(bytes);
}

Status RunState::ResolveInputs(const StepSpec& step, StepReport* report) {
  for (const InputSpec& input : step.inputs) {
    if (input.kind == InputSpec::Kind::kStepOutput && input.step.empty()) {
      continue;  // An optional input left unset.
    }
    if (input.kind == InputSpec::Kind::kStepOutput) {
      const StepReport& producer = steps_[index_of_.at(input.step)];
      report->invocation.inputs[input.name] = producer.outputs.at(input.output);
      if (producer.folder_outputs.contains(input.output)) {
        report->invocation.folder_inputs.insert(input.name);
      }
      if (producer.tree_outputs.contains(input.output)) {
        report->invocation.tree_inputs.insert(input.name);
      }
      report->input_sources[input.name] = input.step + "." + input.output;
      continue;
    }
    Result<metadata::Snapshot> found =
        input.snapshot_version == 0
            ? metadata_->LatestSnapshot(input.snapshot_name)
            : metadata_->GetSnapshot(input.snapshot_name,
                                     input.snapshot_version);
    if (!found.ok()) {
      // Keeps the code: a missing snapshot is exit 2 however it is
      // named (docs/exit-codes.md), a failing database is not.
      return Status(found.status().code(),
                    input.where.Prefix() + found.status().message() +
                        " (create it with `lockstep data snapshot FILE "
                        "--name " + input.snapshot_name + "`)");
    }
    metadata::Snapshot snapshot = *found;
    ASSIGN_OR_RETURN(Artifact artifact,
                     metadata_->GetArtifact(snapshot.artifact_id));
    if (artifact.state != "live") {
      // Its bytes are gone: say so, rather than "blob ... is not in the
      // store" later.
      return Status::NotFound(
          input.where.Prefix() + "snapshot " + snapshot.name + "@" +
          std::to_string(snapshot.version) + " was removed by gc (" +
          artifact.removal_reason + "); make a new version with `lockstep "
          "data snapshot SOURCE --name " + snapshot.name + "`");
    }
    ASSIGN_OR_RETURN(Digest digest, Digest::Parse(artifact.digest));
    report->invocation.inputs[input.name] = digest;
    if (IsFolderSnapshot(artifact)) {
      report->invocation.tree_inputs.insert(input.name);
    }
    std::string label = snapshot.name + "@" + std::to_string(snapshot.version);
    report->input_sources[input.name] = "snapshot:" + label;
    report_.snapshots.push_back(SnapshotUseOf(snapshot, digest, artifact));
  }
  return Status::Ok();
}

Result<std::string> RunState::Substitute(const std::string& text,
                                         const StepSpec& step,
                                         const Json* item) {
  ASSIGN_OR_RETURN(std::vector<TemplatePart> parts, ParseTemplate(text));
  std::string result;
  for (const TemplatePart& part : parts) {
    if (!part.is_expression) {
      result += part.literal;
      continue;
    }
    auto resolve = [&](const std::string& reference) -> Result<Json> {
      if (reference.starts_with("params.")) {
        return report_.params.at(reference.substr(7));
      }
      if (reference.starts_with("inputs.")) {
        return Json("inputs/" + reference.substr(7));
      }
      if (reference.starts_with("outputs.")) {
        return Json("outputs/" + reference.substr(8));
      }
      if (reference == "run.status") {
        return Json(failed_ ? "failed" : "succeeded");
      }
      if (item != nullptr && reference == "item") {
        return *item;
      }
      if (item != nullptr && reference.starts_with("item.")) {
        std::string key = reference.substr(5);
        if (!item->is_object() || !item->contains(key)) {
          return SpecError(step.for_each_where,
                           "the for_each item " + item->dump() +
                               " has no field '" + key + "'");
        }
        return item->at(key);
      }
      return SpecError(step.where, "cannot use '" + reference + "' here");
    };
    ASSIGN_OR_RETURN(Json value, part.expression->Evaluate(resolve));
    result += ParamToArgument(value);
  }
  return result;
}

Status RunState::BuildArgv(const StepSpec& step, StepReport* report,
                           const Json* item) {
  std::vector<std::string>& argv = report->invocation.argv;
  if (step.uses.empty()) {
    for (const std::string& arg : step.run) {
      ASSIGN_OR_RETURN(std::string substituted, Substitute(arg, step, item));
      argv.push_back(substituted);
    }
    return Status::Ok();
  }

  const ComponentSpec* component = FindComponent(step.uses);
  argv.push_back("lockstep");
  argv.insert(argv.end(), component->command.begin(),
              component->command.end());
  for (const ComponentPort& port : component->inputs) {
    if (report->invocation.inputs.contains(port.name)) {
      argv.insert(argv.end(), {port.flag, "inputs/" + port.name});
    }
  }
  for (const ComponentPort& port : component->outputs) {
    for (const OutputSpec& output : step.outputs) {
      if (output.name == port.name) {
        argv.insert(argv.end(), {port.flag, "outputs/" + port.name});
      }
    }
  }
  for (const auto& [key, value] : step.with) {  // std::map: sorted keys
    auto renamed = component->renamed_arguments.find(key);
    std::string flag = renamed != component->renamed_arguments.end()
                           ? renamed->second
                           : "--" + key;
    std::string text = ParamToArgument(value);
    if (value.is_string()) {
      ASSIGN_OR_RETURN(text,
                       Substitute(value.get<std::string>(), step, item));
    }
    argv.insert(argv.end(), {flag, text});
  }
  return Status::Ok();
}

Status RunState::AddCode(const StepSpec& step, StepReport* report) {
  ReplayInputs& replay = report_.replay;
  for (size_t i = 0; i < step.code.size(); ++i) {
    // Every stat below is taken after this: a file changed less than the
    // racy window before it cannot vouch for the bytes hashed.
    int64_t listed_at = NowUnixNanos();
    std::vector<CodeFolder> folders;
    Result<std::vector<CodeFile>> files =
        ListCodeFiles(spec_.directory, step.code[i], &folders);
    if (!files.ok()) {
      return SpecError(step.CodeWhere(i), files.status().message());
    }
    for (const CodeFolder& folder : folders) {
      replay.WatchIfSettled(&replay.files,
                            fs::absolute(folder.path).string(),
                            folder.identity, listed_at);
    }
    for (const CodeFile& file : *files) {
      replay.WatchIfSettled(&replay.files,
                            fs::absolute(file.source).string(),
                            file.identity, listed_at);
      ASSIGN_OR_RETURN(Digest digest, blobs_->PutFile(file.source));
      report->invocation.code[file.relative] = {digest, file.executable};
    }
  }
  return Status::Ok();
}

Result<Json> RunState::KeyParts(const StepSpec& step,
                                const StepReport& report) {
  const StepInvocation& invocation = report.invocation;
  Json parts = Json::object();
  parts["key_version"] = kCacheKeyVersion;
  parts["argv"] = invocation.argv;

  Json component = {{"name", report.component}};
  if (report.component != "command") {
    const ComponentSpec* spec = FindComponent(report.component);
    component["version"] = spec->version;
    component["lockstep"] = kLockstepVersion;
    if (self_digest_.empty() && !options_.lockstep_binary.empty()) {
      // Hashed once, and only by runs that use a built-in component.
      ASSIGN_OR_RETURN(self_digest_, Sha256OfFile(options_.lockstep_binary));
    }
    component["lockstep_binary"] = self_digest_.ToString();
    component["libraries"] = options_.builtin_versions;
  }
  parts["component"] = component;

  Json params = Json::object();
  for (const std::string& reference : StepReferences(step)) {
    if (reference.starts_with("params.")) {
      std::string name = reference.substr(7);
      params[name] = TypedParam(report_.params.at(name));
    }
  }
  parts["params"] = params;

  Json inputs = Json::object();
  for (const InputSpec& input : step.inputs) {
    auto found = invocation.inputs.find(input.name);
    // An unset optional input is always null; a folder is marked as one
    // so that a file with the same bytes as its tar never matches.
    if (found == invocation.inputs.end()) {
      inputs[input.name] = nullptr;
    } else if (invocation.folder_inputs.contains(input.name)) {
      inputs[input.name] = {{"digest", found->second.ToString()},
                            {"kind", "folder"}};
    } else if (invocation.tree_inputs.contains(input.name)) {
      inputs[input.name] = {{"digest", found->second.ToString()},
                            {"kind", "folder-snapshot"}};
    } else {
      inputs[input.name] = found->second.ToString();
    }
  }
  parts["inputs"] = inputs;

  Json code = Json::object();
  for (const auto& [path, file] : invocation.code) {
    code[path] = {{"digest", file.digest.ToString()},
                  {"executable", file.executable}};
  }
  parts["code"] = code;
  parts["env"] = invocation.env;
  parts["fixed_env"] = FixedStepEnvironment(invocation);
  parts["sandbox"] = SandboxModeName(invocation.sandbox);

  if (const EnvironmentSpec* lock = spec_.LockfileOf(step)) {
    parts["lockfile"] = lockfile_digests_.at(lock->lockfile).ToString();
    auto drift = lockfile_drift_.find(lock->lockfile);
    if (drift != lockfile_drift_.end()) {
      parts["lockfile_drift"] = drift->second.ToString();
    }
  }
  Json environment = {{"kind", "host"}, {"toolchain", report_.toolchain}};
  if (!invocation.image.empty()) {
    // The image, by digest, is the whole toolchain of the step.
    ASSIGN_OR_RETURN(registry::Reference ref,
                     image::ParseImageRef(invocation.image));
    environment = {{"kind", "image"}, {"digest", ref.digest}};
  } else if (report.component == "command" && !invocation.argv.empty() &&
             IsHostProgram(invocation.argv[0]) &&
             !invocation.code.contains(invocation.argv[0])) {
    auto resolved = program_paths_.find(invocation.argv[0]);
    if (resolved == program_paths_.end()) {
      // Looked up once per run: a program does not move mid-run.
      resolved = program_paths_
                     .emplace(invocation.argv[0],
                              FindStepProgram(invocation.argv[0]))
                     .first;
      report_.replay.programs[invocation.argv[0]] = resolved->second.string();
    }
    const fs::path& program = resolved->second;
    if (!program.empty()) {
      auto cached = program_digests_.find(program.string());
      if (cached == program_digests_.end()) {
        int64_t read_at = NowUnixNanos();
        struct stat info;
        if (::stat(program.c_str(), &info) != 0) {
          report_.replay.Refuse("cannot stat " + program.string());
        } else {
          report_.replay.WatchIfSettled(&report_.replay.program_files,
                                        program.string(),
                                        data::StatKeyOf(info), read_at);
        }
        ASSIGN_OR_RETURN(Digest digest, Sha256OfFile(program));
        cached = program_digests_.emplace(program.string(), digest).first;
      }
      environment["program"] = {{"path", program.string()},
                                {"digest", cached->second.ToString()}};
    }
  }
  parts["environment"] = environment;

  Json outputs = Json::object();
  for (const OutputSpec& output : step.outputs) {
    outputs[output.name] = output.type;
  }
  parts["outputs"] = outputs;
  return parts;
}

Status RunState::PrepareInvocation(size_t index, int iteration) {
  const StepSpec& step = spec_.steps[index];
  StepReport& report = ReportOf(index, iteration);
  const Json* item = ItemOf(index, iteration);
  StepInvocation& invocation = report.invocation;
  invocation.step_name = report.name;
  invocation.component = report.component;
  invocation.sandbox = options_.sandbox;
  invocation.timeout_millis = step.timeout_millis;
  if (auto image = step_images_.find(index); image != step_images_.end()) {
    invocation.image = image->second;
  }
  if (report_.params.contains("seed")) {
    invocation.seed = ParamToArgument(report_.params.at("seed"));
  }
  for (const OutputSpec& output : step.outputs) {
    invocation.outputs.push_back(output.name);
  }
  for (const std::string& name : step.env) {
    const char* value = std::getenv(name.c_str());
    invocation.env[name] = value != nullptr ? value : "";
    report_.replay.env[name] = invocation.env[name];
  }

  RETURN_IF_ERROR(ResolveInputs(step, &report));
  RETURN_IF_ERROR(BuildArgv(step, &report, item));
  RETURN_IF_ERROR(AddCode(step, &report));
  ASSIGN_OR_RETURN(report.cache_key_parts, KeyParts(step, report));
  if (item != nullptr) {
    // The item's value with its type: 2 and "2" are different work.
    report.cache_key_parts["item"] = TypedParam(*item);
  }
  ASSIGN_OR_RETURN(report.cache_key, ComputeCacheKey(report.cache_key_parts));
  return Status::Ok();
}

void RunState::Explain(size_t index, int iteration,
                       const std::string& hit_detail) {
  if (!options_.explain) {
    return;
  }
  StepReport& report = ReportOf(index, iteration);
  if (!hit_detail.empty()) {
    report.explanation.push_back(hit_detail);
    return;
  }
  Result<metadata::Execution> previous =
      metadata_->FindLatestExecution(spec_.name, report.name);
  if (!previous.ok()) {
    report.explanation.push_back("no earlier execution of this step");
    return;
  }
  Json before = previous->properties.value("cache_key_parts", Json());
  std::vector<std::string> changes =
      ExplainKeyChange(before, report.cache_key_parts);
  if (changes.empty()) {
    changes.push_back("key unchanged since the last execution, but that "
                      "execution's outputs are gone or corrupt");
  }
  report.explanation = changes;
}

Result<bool> RunState::TryCache(size_t index, int iteration) {
  const StepSpec& step = spec_.steps[index];
  StepReport& report = ReportOf(index, iteration);
  ASSIGN_OR_RETURN(bool resumed, TryResume(index, iteration));
  if (resumed) {
    return true;
  }
  if (options_.no_cache || !spec_.cache || !step.cache || step.always_run ||
      step.is_finally) {
    std::string why = options_.no_cache ? "--no-cache"
                      : !spec_.cache    ? "cache: false on the pipeline"
                      : step.always_run ? "always_run: true"
                      : step.is_finally ? "finally: steps always run"
                                        : "cache: false on the step";
    Explain(index, iteration, "not looked up in the cache: " + why);
    return false;
  }
  Result<metadata::MetadataStore::CachedExecution> cached =
      metadata_->FindCachedExecution(report.cache_key.ToString());
  if (!cached.ok()) {
    Explain(index, iteration, "");
    return false;
  }

  // A hit counts only when every declared output is there and verifies.
  for (const OutputSpec& output : step.outputs) {
    auto found = cached->outputs.find(output.name);
    if (found == cached->outputs.end()) {
      Explain(index, iteration, "");
      return false;
    }
    Result<Digest> digest = Digest::Parse(found->second.digest);
    Status verified =
        digest.ok() ? VerifyCachedBlob(*digest) : digest.status();
    if (!verified.ok()) {
      LogWarning("step {}: cached output '{}' cannot be reused ({}); "
                 "running the step again",
                 report.name, output.name, verified.message());
      Explain(index, iteration, "");
      if (options_.explain) {
        report.explanation.push_back("cached output " + output.name +
                                     " is missing or corrupt");
      }
      return false;
    }
    report.outputs[output.name] = *digest;
    report.output_artifacts[output.name] = found->second.id;
    if (found->second.properties.value("format", "") == "tar") {
      report.folder_outputs.insert(output.name);
    }
  }
  report.produced_by_run =
      cached->execution.properties.value("run_id", std::string());
  report.cached_execution_id = cached->execution.id;
  Explain(index, iteration, "cache hit: same key as execution " +
                     std::to_string(cached->execution.id) + " of run " +
                     report.produced_by_run);
  return true;
}

Status RunState::RecordExecution(size_t index, ExecutionState state,
                                 const StepOutcome* outcome, int iteration) {
  StepReport& report = ReportOf(index, iteration);
  ExecutionRecord record;
  record.execution.type = report.component;
  record.execution.name = report.name;
  record.execution.state = state;
  bool cacheable = state == ExecutionState::kComplete ||
                   state == ExecutionState::kCached;
  record.execution.cache_key =
      cacheable || state == ExecutionState::kFailed
          ? report.cache_key.ToString()
          : "";
  Json properties = {{"run_id", report_.run_id},
                     {"cache_key_parts", report.cache_key_parts},
                     {"invocation", report.invocation.ToJson()},
                     {"duration_ms", report.duration_ms}};
  if (!report.message.empty()) {
    properties["message"] = report.message;
  }
  if (report.attempts > 1) {
    properties["attempts"] = report.attempts;
  }
  if (state == ExecutionState::kCached) {
    properties["run_id"] = report_.run_id;
    properties["produced_by_run"] = report.produced_by_run;
  }
  if (outcome != nullptr) {
    properties["stdout"] = outcome->stdout_digest.ToString();
    properties["stderr"] = outcome->stderr_digest.ToString();
  }
  if (iteration >= 0) {
    properties["for_each_item"] = *ItemOf(index, iteration);
  }
  record.execution.properties = properties;

  for (const InputSpec& input : spec_.steps[index].inputs) {
    int64_t artifact_id = 0;
    if (input.kind == InputSpec::Kind::kStepOutput && !input.step.empty()) {
      AddProducedInput({index_of_.at(input.step), -1}, input.output,
                       input.name, &record);
    } else if (input.kind == InputSpec::Kind::kSnapshot &&
               report.input_sources.contains(input.name)) {
      // Absent when the step failed resolving its inputs (the snapshot
      // is missing): nothing to link.
      const std::string& source = report.input_sources.at(input.name);
      size_t at = source.rfind('@');
      Result<metadata::Snapshot> snapshot = metadata_->GetSnapshot(
          source.substr(9, at - 9), std::stoll(source.substr(at + 1)));
      artifact_id = snapshot.ok() ? snapshot->artifact_id : 0;
    }
    if (artifact_id != 0) {
      record.inputs.push_back({input.name, artifact_id});
    }
  }

  if (state == ExecutionState::kComplete) {
    for (const OutputSpec& output : spec_.steps[index].outputs) {
      Artifact artifact;
      artifact.type = output.type;
      artifact.digest = report.outputs.at(output.name).ToString();
      artifact.uri = "lockstep://runs/" + report_.run_id + "/" + report.name +
                     "/" + output.name;
      ASSIGN_OR_RETURN(uint64_t size, blobs_->SizeOf(report.outputs.at(
                                          output.name)));
      artifact.properties["size"] = size;
      if (report.folder_outputs.contains(output.name)) {
        artifact.properties["format"] = "tar";
      }
      if (output.type == "Metrics" ||
          output.type == "ClassificationMetrics") {
        Result<std::string> bytes =
            blobs_->ReadVerified(report.outputs.at(output.name));
        Json metrics = bytes.ok() ? metadata::ParseMetrics(*bytes)
                                  : Json();
        if (!metrics.is_discarded() && metrics.is_object()) {
          artifact.properties["metrics"] = metrics;
        }
      }
      record.outputs.push_back({output.name, artifact});
    }
  } else if (state == ExecutionState::kCached) {
    // Linked to the original artifacts: only their ids are written.
    for (const auto& [name, artifact_id] : report.output_artifacts) {
      Artifact artifact;
      artifact.id = artifact_id;
      record.outputs.push_back({name, artifact});
    }
  }
  record.context_ids = {run_context_, pipeline_context_};
  record.execution.create_time_ms = NowUnixMillis();
  Enqueue(index, iteration, std::move(record));
  return Status::Ok();
}

void RunState::Enqueue(size_t index, int iteration, ExecutionRecord record) {
  if (queued_records_.empty()) {
    oldest_queued_ms_ = NowUnixMillis();
  }
  queued_position_[{index, iteration}] = queued_records_.size();
  queued_records_.push_back(std::move(record));
  queued_units_.push_back({index, iteration});
}

bool RunState::AddProducedInput(std::pair<size_t, int> producer,
                                const std::string& output,
                                const std::string& port,
                                ExecutionRecord* record) {
  const StepReport& made = ReportOf(producer.first, producer.second);
  auto found = made.output_artifacts.find(output);
  if (found != made.output_artifacts.end()) {
    record->inputs.push_back({port, found->second});
    return true;
  }
  auto queued = queued_position_.find(producer);
  if (queued == queued_position_.end()) {
    return false;
  }
  for (const auto& [name, artifact] : queued_records_[queued->second].outputs) {
    if (name == output) {
      record->batch_inputs.push_back(
          {.port = port, .record = queued->second, .output = output});
      return true;
    }
  }
  return false;
}

Status RunState::FlushRecords() {
  if (queued_records_.empty()) {
    return Status::Ok();
  }
  RETURN_IF_ERROR(metadata_->RecordExecutions(&queued_records_));
  for (size_t i = 0; i < queued_records_.size(); ++i) {
    StepReport& report =
        ReportOf(queued_units_[i].first, queued_units_[i].second);
    report.execution_id = queued_records_[i].execution.id;
    for (const auto& [name, artifact] : queued_records_[i].outputs) {
      report.output_artifacts[name] = artifact.id;
    }
  }
  queued_records_.clear();
  queued_units_.clear();
  queued_position_.clear();
  return Status::Ok();
}

Status RunState::MaybeFlushRecords() {
  if (queued_records_.empty() ||
      NowUnixMillis() - oldest_queued_ms_ < kFlushIntervalMillis) {
    return Status::Ok();
  }
  return FlushRecords();
}

Status RunState::VerifyCachedBlob(const Digest& digest) {
  // Keyed by the path inside the store, so that the same store reached
  // by another path shares the entries. Step outputs are loose blobs; one
  // without a file (packed only) falls back to a full Verify below.
  fs::path path = blobs_->PathOf(digest);
  std::string key = path.lexically_relative(blobs_->root()).string();
  struct stat info;
  if (::lstat(path.c_str(), &info) != 0 || !S_ISREG(info.st_mode)) {
    return blobs_->Verify(digest);  // Says what is wrong.
  }
  data::StatKey stat_key = data::StatKeyOf(info);
  std::optional<Digest> known = blob_stats_.Lookup(key, stat_key);
  if (known.has_value() && *known == digest) {
    return Status::Ok();
  }
  // The stat is taken before reading: a write during or after the read
  // changes the ctime, so the entry cannot vouch for other bytes.
  int64_t hashed_at = NowUnixNanos();
  RETURN_IF_ERROR(blobs_->Verify(digest));
  blob_stats_.Put(key, stat_key, hashed_at, digest);
  return Status::Ok();
}

void RunState::Finish(size_t index, const std::string& state,
                      const std::string& message) {
  StepReport& report = steps_[index];
  report.state = state;
  report.message = message;
  done_[index] = true;
  finished_.push_back({index, -1});
  if (progress_) {
    progress_->Advance(1);
  }
  if (state == "failed") {
    failed_ = true;
    LogError("step {}: {}", report.name, message);
  } else if (!message.empty()) {
    LogInfo("step {}: {} ({})", report.name, state, message);
  } else {
    LogInfo("step {}: {}{}", report.name, state,
            state == "ran" ? " in " + std::to_string(report.duration_ms) +
                                 " ms"
                           : "");
  }
  UpdateProgress();
}

void RunState::UpdateProgress() {
  if (!progress_) {
    return;
  }
  std::vector<std::string> lines;
  int64_t now = NowUnixMillis();
  for (const auto& [unit, started] : started_at_) {
    lines.push_back(ReportOf(unit.first, unit.second).name + ": running " +
                    std::to_string((now - started) / 1000) + " s");
  }
  progress_->SetLines(std::move(lines));
}

Status RunState::RunSnapshotStep(size_t index) {
  StepReport& report = steps_[index];
  // Its `with:` strings are templates as a component's are: a source
  // given as `${{ params.src }}` was looked up as that very text.
  StepSpec step = spec_.steps[index];
  for (auto& [key, value] : step.with) {
    if (!value.is_string()) continue;
    ASSIGN_OR_RETURN(std::string text,
                     Substitute(value.get<std::string>(), step, nullptr));
    value = text;
  }
  ASSIGN_OR_RETURN(SnapshotStepResult result,
                   TakeSnapshotForStep(step, spec_.directory, blobs_,
                                       metadata_));
  report.invocation.step_name = step.name;
  report.invocation.component = report.component;
  report.cache_key_parts = {{"component", {{"name", report.component}}},
                            {"source", result.snapshot.digest.ToString()},
                            {"name", result.snapshot.name}};
  ASSIGN_OR_RETURN(report.cache_key, ComputeCacheKey(report.cache_key_parts));
  report.outputs["dataset"] = result.snapshot.digest;
  if (result.folder) {
    report.tree_outputs.insert("dataset");
  }
  report.output_artifacts["dataset"] = result.artifact_id;
  report.input_sources["source"] = result.source_path;
  report_.snapshots.push_back(result.snapshot);
  std::string label = result.snapshot.name + "@" +
                      std::to_string(result.snapshot.version);
  if (options_.explain) {
    report.explanation.push_back(result.created
                                     ? "new snapshot " + label
                                     : "source unchanged: reusing " + label);
  }
  // Link the snapshot execution to this run.
  ExecutionRecord record;
  record.execution = {.type = report.component, .name = step.name,
                      .state = result.created ? ExecutionState::kComplete
                                              : ExecutionState::kCached,
                      .cache_key = report.cache_key.ToString(),
                      .properties = {{"run_id", report_.run_id},
                                     {"cache_key_parts",
                                      report.cache_key_parts},
                                     {"snapshot", label}}};
  ASSIGN_OR_RETURN(Artifact dataset,
                   metadata_->GetArtifact(result.artifact_id));
  record.inputs = {{"source", result.source_artifact_id}};
  record.outputs = {{"dataset", dataset}};
  record.context_ids = {run_context_, pipeline_context_};
  record.execution.create_time_ms = NowUnixMillis();
  Enqueue(index, -1, std::move(record));
  // Not "cached": the step read its source (even under --no-cache) and
  // found that content already a version, which it reuses (found by a
  // tester: --no-cache showed the step as cached).
  Finish(index, result.created ? "ran" : "reused", "");
  return Status::Ok();
}

Status RunState::Decide(size_t index) {
  Result<std::string> skip_reason = SkipReason(index);
  if (!skip_reason.ok()) {
    // An if: that cannot be judged (say, ordering a string against a
    // number an earlier step wrote) fails this step, as a for_each: value
    // that is not a list does; the run goes on to its finally: steps and
    // its manifest.
    steps_[index].message = skip_reason.status().message();
    RETURN_IF_ERROR(RecordExecution(index, ExecutionState::kFailed, nullptr));
    Finish(index, "failed", skip_reason.status().message());
    return Status::Ok();
  }
  const std::string& skip = *skip_reason;
  if (!skip.empty()) {
    std::string state = skip == "cancelled" ? "cancelled" : "skipped";
    RETURN_IF_ERROR(RecordExecution(index,
                                    state == "cancelled"
                                        ? ExecutionState::kCancelled
                                        : ExecutionState::kSkipped,
                                    nullptr));
    Finish(index, state, skip);
    return Status::Ok();
  }
  if (spec_.steps[index].uses == "lockstep/data-snapshot") {
    return RunSnapshotStep(index);
  }
  if (spec_.steps[index].fans_out()) {
    return StartFanOut(index);
  }

  RETURN_IF_ERROR(PrepareInvocation(index));
  ASSIGN_OR_RETURN(bool hit, TryCache(index));
  if (hit) {
    RETURN_IF_ERROR(RecordExecution(index, ExecutionState::kCached, nullptr));
    Finish(index, "cached", "");
    return Status::Ok();
  }
  Launch(index);
  return Status::Ok();
}

// A step Lockstep could not start once the run was recorded (its
// snapshot's source deleted meanwhile, an input snapshot removed by gc,
// a code file gone) ended the run on the spot, with no manifest and no
// summary (found by a tester). Now the step fails with the error, and
// the run goes on to its finally: steps and its manifest, as after a
// step Lockstep could not run (Complete); `run` exits with the error's
// code. A for_each: step that fails once some iterations are decided,
// or an error recording the failure, still ends the run here.
Status RunState::DecideOrFail(size_t index) {
  Status decided = Decide(index);
  if (decided.ok() || done_[index] || launched_[index]) {
    return decided;
  }
  StepReport& report = steps_[index];
  report.message = decided.message();
  KeepFirstError(decided, "step " + report.name + ": " + report.message);
  RETURN_IF_ERROR(RecordExecution(index, ExecutionState::kFailed, nullptr));
  Finish(index, "failed", report.message);
  return Status::Ok();
}

void RunState::Launch(size_t index, int iteration) {
  launched_[index] = true;
  ++running_;
  started_at_[{index, iteration}] = NowUnixMillis();
  UpdateProgress();
  ExecutorConfig config;
  config.work_root = RunWorkRoot(blobs_->root(), report_.run_id);
  config.lockstep_binary = options_.lockstep_binary;
  config.keep_work = options_.keep_work;
  StepInvocation invocation = ReportOf(index, iteration).invocation;
  int max_attempts = 1 + spec_.steps[index].retries;
  int64_t backoff = spec_.steps[index].retry_backoff_millis;
  std::string name = ReportOf(index, iteration).name;
  auto attempt_all = [this, index, iteration, invocation, config,
                      max_attempts, backoff, name] {
    int64_t start = NowUnixMillis();
    Result<StepOutcome> outcome = Status::Internal("step never ran");
    int attempt = 0;
    while (attempt < max_attempts) {
      if (attempt > 0) {
        // Exponential backoff: backoff, 2 x backoff, 4 x backoff, ...
        int64_t wait = backoff << std::min(attempt - 1, 20);
        LogWarning("step {}: attempt {} failed; retrying in {} ms", name,
                   attempt, wait);
        SleepUnlessCancelled(wait);
        if (CancellationRequested()) {
          break;
        }
      }
      outcome = ExecuteStep(invocation, blobs_, config);
      ++attempt;
      if (!outcome.ok() || outcome->succeeded() ||
          outcome->process.cancelled || CancellationRequested()) {
        break;
      }
    }
    std::lock_guard<std::mutex> lock(mutex_);
    completions_.push_back({index, iteration, std::move(outcome),
                            NowUnixMillis() - start, attempt});
    completed_.notify_one();
  };
  threads_[{index, iteration}] = std::thread(std::move(attempt_all));
}

// A failed step whose stderr Lockstep could not copy into its log ran
// on a store disk that is full or read-only, where the step's own writes
// fail too: its failure is most likely the machine's, not the step's.
// The run then exits as on Lockstep's own I/O error (6), not 1, as
// reproduce gives no verdict then (found by a tester).
void RunState::NoteUnwritableLog(const std::string& name,
                                 const std::string& log_error) {
  if (log_error.empty()) {
    return;
  }
  std::string why = "step " + name + ": Lockstep could not write its "
                    "stderr log (" + log_error + "), so the step's "
                    "failure may be the store disk's";
  if (KeepFirstError(Status::Unavailable(why), why)) {
    LogError("{}", why);
  }
}

bool RunState::KeepFirstError(const Status& error,
                              const std::string& failure) {
  if (!report_.error.ok()) {
    return false;
  }
  report_.error = error;
  report_.failure = failure;
  return true;
}

Status RunState::Complete(Completion completion) {
  size_t index = completion.index;
  int iteration = completion.iteration;
  auto thread = threads_.find({index, iteration});
  if (thread != threads_.end()) {
    thread->second.join();  // It has reported; it is about to end.
    threads_.erase(thread);
  }
  --running_;
  started_at_.erase({index, iteration});
  if (iteration >= 0) {
    --fan_outs_.at(index).running;
  }
  StepReport& report = ReportOf(index, iteration);
  // Ends the step, or one iteration of a for_each: step.
  auto finish = [&](const std::string& state, const std::string& message) {
    if (iteration >= 0) {
      FinishIteration(index, iteration, state, message);
    } else {
      Finish(index, state, message);
    }
  };
  report.duration_ms = completion.duration_ms;
  report.attempts = completion.attempts;
  if (!completion.outcome.ok()) {
    // Lockstep could not run the step (lay out its folder, store what
    // it wrote). That ended the run on the spot, with no manifest and no
    // reason recorded (found by a tester); now the step fails with the
    // error, and the run ends as after any failed step.
    const Status& error = completion.outcome.status();
    report.message = "lockstep could not run the step: " + error.message();
    KeepFirstError(error, "step " + report.name + ": " + report.message);
    RETURN_IF_ERROR(RecordExecution(index, ExecutionState::kFailed, nullptr,
                                    iteration));
    finish("failed", report.message);
    return Status::Ok();
  }
  const StepOutcome& outcome = *completion.outcome;
  // A step stopped by Ctrl-C, or failed while Ctrl-C stopped its retries.
  if (outcome.process.cancelled ||
      (!outcome.succeeded() && CancellationRequested())) {
    RETURN_IF_ERROR(RecordExecution(index, ExecutionState::kCancelled,
                                    &outcome, iteration));
    finish("cancelled", "interrupted");
    return Status::Ok();
  }
  if (!outcome.succeeded()) {
    report.message = outcome.failure;
    if (completion.attempts > 1) {
      report.message += " (after " + std::to_string(completion.attempts) +
                        " attempts)";
    }
    RETURN_IF_ERROR(RecordExecution(index, ExecutionState::kFailed, &outcome,
                                    iteration));
    finish("failed", report.message);
    NoteUnwritableLog(report.name, outcome.process.stderr_file_error);
    return Status::Ok();
  }
  report.outputs = outcome.outputs;
  report.folder_outputs = outcome.folder_outputs;
  RETURN_IF_ERROR(RecordExecution(index, ExecutionState::kComplete, &outcome,
                                  iteration));
  finish("ran", "");
  return Status::Ok();
}

Result<Json> RunState::ForEachItems(const StepSpec& step) {
  if (step.for_each.is_array()) {
    return step.for_each;
  }
  ASSIGN_OR_RETURN(std::vector<TemplatePart> parts,
                   ParseTemplate(step.for_each.get<std::string>()));
  Result<Json> items = parts[0].expression->Evaluate(
      [this](const std::string& reference) {
        return ReadOutputValue(reference);
      });
  if (!items.ok()) {
    return SpecError(step.for_each_where,
                     "for_each: " + items.status().message());
  }
  // Items become argv, the cache key and the manifest, all UTF-8.
  Status utf8 = RequireUtf8Json("for_each: the item list", *items);
  if (!utf8.ok()) {
    return SpecError(step.for_each_where, utf8.message());
  }
  if (!items->is_array()) {
    return SpecError(step.for_each_where,
                     "for_each: gave " + items->dump() + ", not a list");
  }
  // Such an item would reach the key and the step as the nearest double:
  // two different ids would become one. Params refuse them the same way.
  if (std::optional<std::string> found = FindInexactInteger(*items)) {
    return SpecError(step.for_each_where,
                     "for_each: the integer " + *found +
                         " is outside +-9007199254740991 (2^53 - 1), the "
                         "integers a manifest's RFC 8785 numbers record "
                         "exactly; write it as a string");
  }
  return *items;
}

Status RunState::StartFanOut(size_t index) {
  const StepSpec& step = spec_.steps[index];
  launched_[index] = true;
  Result<Json> items = ForEachItems(step);
  if (!items.ok()) {
    steps_[index].message = items.status().message();
    RETURN_IF_ERROR(RecordExecution(index, ExecutionState::kFailed, nullptr));
    Finish(index, "failed", items.status().message());
    return Status::Ok();
  }
  FanOut& fan = fan_outs_[index];
  fan.items.assign(items->begin(), items->end());
  fan.left = fan.items.size();
  fan.iterations.resize(fan.items.size());
  for (size_t i = 0; i < fan.items.size(); ++i) {
    StepReport& report = fan.iterations[i];
    report.name = step.name + "[" + std::to_string(i) + "]";
    report.component = steps_[index].component;
    report.output_specs = step.outputs;
    report.condition = step.condition;
  }
  if (fan.items.empty()) {
    return CollectFanOut(index);
  }
  for (size_t i = 0; i < fan.items.size(); ++i) {
    int iteration = static_cast<int>(i);
    RETURN_IF_ERROR(PrepareInvocation(index, iteration));
    ASSIGN_OR_RETURN(bool hit, TryCache(index, iteration));
    if (hit) {
      RETURN_IF_ERROR(RecordExecution(index, ExecutionState::kCached,
                                      nullptr, iteration));
      FinishIteration(index, iteration, "cached", "");
    } else {
      fan.pending.push_back(iteration);
    }
  }
  return Status::Ok();
}

// Launches waiting iterations within --jobs and each step's parallelism;
// after a failure or Ctrl-C, ends them without running.
Status RunState::LaunchIterations() {
  for (auto& [index, fan] : fan_outs_) {
    int limit = spec_.steps[index].parallelism;
    while (!fan.pending.empty()) {
      int iteration = fan.pending.front();
      if (failed_ || CancellationRequested()) {
        fan.pending.pop_front();
        bool cancelled = CancellationRequested();
        ReportOf(index, iteration).message =
            cancelled ? "cancelled" : "the run failed before it started";
        RETURN_IF_ERROR(RecordExecution(
            index,
            cancelled ? ExecutionState::kCancelled : ExecutionState::kSkipped,
            nullptr, iteration));
        FinishIteration(index, iteration, cancelled ? "cancelled" : "skipped",
                        ReportOf(index, iteration).message);
        continue;
      }
      if (running_ >= jobs_ || (limit > 0 && fan.running >= limit)) {
        break;
      }
      fan.pending.pop_front();
      ++fan.running;
      Launch(index, iteration);
    }
  }
  return Status::Ok();
}

void RunState::FinishIteration(size_t index, int iteration,
                               const std::string& state,
                               const std::string& message) {
  StepReport& report = ReportOf(index, iteration);
  report.state = state;
  report.message = message;
  finished_.push_back({index, iteration});
  if (state == "failed") {
    failed_ = true;
    LogError("step {}: {}", report.name, message);
  } else {
    LogInfo("step {}: {}{}", report.name, state,
            message.empty() ? "" : " (" + message + ")");
  }
  FanOut& fan = fan_outs_.at(index);
  if (progress_) {
    // The bar counts iterations too, once their number is known.
    progress_->SetTotal(progress_total_ += 1);
    progress_->Advance(1);
  }
  if (--fan.left == 0) {
    Status collected = CollectFanOut(index);
    if (!collected.ok()) {
      steps_[index].message = collected.message();
      Finish(index, "failed", collected.message());
    }
  }
  UpdateProgress();
}

// Gathers output O of every iteration into one folder output O holding
// 0, 1, 2, ... (files, or folders for folder outputs), in item order.
Status RunState::CollectFanOut(size_t index) {
  const StepSpec& step = spec_.steps[index];
  StepReport& report = steps_[index];
  FanOut& fan = fan_outs_.at(index);
  bool all_cached = true;
  for (const StepReport& iteration : fan.iterations) {
    if (iteration.state != "ran" && iteration.state != "cached") {
      std::string state =
          iteration.state == "cancelled" ? "cancelled" : "failed";
      report.message = "iteration " + iteration.name + " " + iteration.state;
      RETURN_IF_ERROR(RecordExecution(
          index,
          state == "cancelled" ? ExecutionState::kCancelled
                               : ExecutionState::kFailed,
          nullptr));
      Finish(index, state, report.message);
      return Status::Ok();
    }
    all_cached &= iteration.state == "cached";
  }
  std::error_code error;
  fs::create_directories(blobs_->TempDirectory(), error);
  for (const OutputSpec& output : step.outputs) {
    ASSIGN_OR_RETURN(fs::path temp,
                     MakeTempDirectory(blobs_->TempDirectory(), "collect-"));
    fs::path folder = temp / "out";
    fs::create_directory(folder, error);
    Status status;
    for (size_t i = 0; i < fan.iterations.size() && status.ok(); ++i) {
      const StepReport& iteration = fan.iterations[i];
      fs::path target = folder / std::to_string(i);
      const Digest& digest = iteration.outputs.at(output.name);
      status = iteration.folder_outputs.contains(output.name)
                   ? store::UnpackFolder(*blobs_, digest, target, false)
                   : blobs_->CopyOut(digest, target);
    }
    Result<Digest> packed = status.ok() ? store::PackFolder(folder, blobs_)
                                        : Result<Digest>(status);
    RemoveAllQuietly(temp);
    RETURN_IF_ERROR(packed.status());
    report.outputs[output.name] = *packed;
    report.folder_outputs.insert(output.name);
  }
  report.component = "lockstep/collect";
  report.invocation.step_name = step.name;
  report.invocation.component = report.component;
  RETURN_IF_ERROR(RecordCollection(index));
  Finish(index, all_cached && !fan.iterations.empty() ? "cached" : "ran",
         CountText(fan.iterations.size(), "iteration"));
  return Status::Ok();
}

// Lineage of a collection: the iterations' outputs in, the folders out.
Status RunState::RecordCollection(size_t index) {
  StepReport& report = steps_[index];
  FanOut& fan = fan_outs_.at(index);
  ExecutionRecord record;
  record.execution.type = report.component;
  record.execution.name = report.name;
  record.execution.state = ExecutionState::kComplete;
  record.execution.properties = {{"run_id", report_.run_id},
                                 {"iterations", fan.iterations.size()}};
  std::set<std::string> names;  // In name order, like the reports' maps.
  for (const OutputSpec& output : spec_.steps[index].outputs) {
    names.insert(output.name);
  }
  for (size_t i = 0; i < fan.iterations.size(); ++i) {
    for (const std::string& name : names) {
      AddProducedInput({index, static_cast<int>(i)}, name,
                       name + "[" + std::to_string(i) + "]", &record);
    }
  }
  for (const auto& [name, digest] : report.outputs) {
    Artifact artifact;
    const OutputSpec* spec = nullptr;
    for (const OutputSpec& output : spec_.steps[index].outputs) {
      spec = output.name == name ? &output : spec;
    }
    artifact.type = spec != nullptr ? spec->type : "Artifact";
    artifact.digest = digest.ToString();
    artifact.uri = "lockstep://runs/" + report_.run_id + "/" + report.name +
                   "/" + name;
    ASSIGN_OR_RETURN(uint64_t size, blobs_->SizeOf(digest));
    artifact.properties = {{"size", size}, {"format", "tar"}};
    record.outputs.push_back({name, artifact});
  }
  record.context_ids = {run_context_, pipeline_context_};
  record.execution.create_time_ms = NowUnixMillis();
  Enqueue(index, -1, std::move(record));
  return Status::Ok();
}

Status RunState::Schedule(const std::vector<size_t>& order) {
  size_t finished = 0;
  size_t started = 0;
  Status status;
  while (finished < order.size() && status.ok()) {
    // Decide every ready step; launch as many as the job limit allows.
    for (size_t index : order) {
      if (done_[index] || launched_[index] || !DependenciesDone(index)) {
        continue;
      }
      if (running_ >= jobs_ && !failed_ && !CancellationRequested()) {
        break;
      }
      status = DecideOrFail(index);
      if (!status.ok()) {
        break;
      }
    }
    if (status.ok()) {
      status = LaunchIterations();
    }
    size_t before = finished + started;
    finished = std::count(done_.begin(), done_.end(), true);
    started = std::count(launched_.begin(), launched_.end(), true);
    if (running_ == 0 || !status.ok()) {
      if (finished == order.size() || !status.ok()) {
        break;
      }
      // Nothing runs and this pass moved nothing: looping again would
      // spin forever, deaf to Ctrl-C. Validation should make this
      // unreachable; fail the run rather than hang if it ever is not.
      if (finished + started == before) {
        status = Status::Internal("no step can start: " +
                                  UnfinishedSteps(order));
        break;
      }
      continue;
    }

    std::unique_lock<std::mutex> lock(mutex_);
    completed_.wait_for(lock, std::chrono::milliseconds(500),
                        [this] { return !completions_.empty(); });
    while (!completions_.empty() && status.ok()) {
      Completion completion = std::move(completions_.front());
      completions_.pop_front();
      lock.unlock();
      status = Complete(std::move(completion));
      lock.lock();
    }
    lock.unlock();
    if (status.ok()) {
      status = MaybeFlushRecords();
    }
    UpdateProgress();
    finished = std::count(done_.begin(), done_.end(), true);
  }

  // Never leave a thread behind, even on an error.
  for (auto& [unit, thread] : threads_) {
    thread.join();
  }
  threads_.clear();
  return status;
}

Result<RunReport> RunState::Run() {
  Result<RunReport> report = RunSteps();
  if (!report.ok() && run_lock_) {
    run_lock_->NoteError(report.status().message());
  }
  return report;
}

// Records the end of a run that ends here (no report reaches a caller to
// record it with a manifest), with `failure` as its reason.
Status RunState::RecordEnd(const std::string& failure) {
  RETURN_IF_ERROR(metadata_->FinishRun(report_.run_id, report_.status, "",
                                       "", failure));
  run_lock_->EndRecorded();
  return Status::Ok();
}

Result<RunReport> RunState::RunSteps() {
  RETURN_IF_ERROR(Start());
  Status environment = CheckEnvironment();
  if (!environment.ok() || !report_.failure.empty()) {
    report_.finished_ms = NowUnixMillis();
    report_.status = "failed";
    Status finished = RecordEnd(report_.failure);
    RETURN_IF_ERROR(environment);
    RETURN_IF_ERROR(finished);
    return report_;
  }
  ASSIGN_OR_RETURN(std::vector<size_t> order, TopologicalOrder(spec_));
  if (ProgressEnabled()) {
    progress_total_ = order.size();
    progress_ = std::make_unique<Progress>(spec_.name, order.size(), "steps");
  }
  Status status = Schedule(order);
  if (progress_) {
    progress_->Finish();
  }
  // Whatever happened, what was decided is recorded before the run ends.
  Status flushed = FlushRecords();
  if (status.ok()) {
    status = flushed;
  }
  // Moved, not copied: each report holds its key parts and invocation.
  report_.steps.reserve(finished_.size());
  std::set<std::pair<size_t, int>> reported;
  for (const auto& [index, iteration] : finished_) {
    if (reported.insert({index, iteration}).second) {
      report_.steps.push_back(std::move(ReportOf(index, iteration)));
    }
  }
  if (!options_.keep_work) {
    // Each step removed its own folder; this removes the run's.
    std::error_code ignored;
    fs::remove(RunWorkRoot(blobs_->root(), report_.run_id), ignored);
  }
  NoteReplayOutputs();
  // A lost stat cache only costs re-hashing next time.
  if (Status saved = blob_stats_.Save(); !saved.ok()) {
    LogWarning("cannot save the blob stat cache: {}", saved.message());
  }
  // Steps finish in whatever order the machine ran them; the report (and
  // so the manifest) lists them in the graph's order, the same every run.
  // Iterations of a for_each step ("step[3]") sort by their number.
  std::map<std::string, size_t> position;
  for (size_t i = 0; i < order.size(); ++i) {
    position[spec_.steps[order[i]].name] = i;
  }
  auto sort_key = [&](const StepReport& step) {
    size_t bracket = step.name.find('[');
    std::string base = step.name.substr(0, bracket);
    long iteration = bracket == std::string::npos
                         ? -1
                         : std::strtol(step.name.c_str() + bracket + 1,
                                       nullptr, 10);
    return std::make_pair(position[base], iteration);
  };
  std::stable_sort(report_.steps.begin(), report_.steps.end(),
                   [&](const StepReport& a, const StepReport& b) {
                     return sort_key(a) < sort_key(b);
                   });

  report_.finished_ms = NowUnixMillis();
  bool cancelled = CancellationRequested();
  report_.status = !status.ok() ? "failed"
                   : cancelled  ? "cancelled"
                   : failed_    ? "failed"
                                : "succeeded";
  if (!status.ok()) {
    // The error is the run's reason: without it, a run failed on a full
    // disk had neither a manifest nor a word why (found by a tester).
    Status finished = RecordEnd(status.message());
    RETURN_IF_ERROR(status);
    RETURN_IF_ERROR(finished);
  }
  report_.lock = std::make_shared<RunLock>(std::move(*run_lock_));
  run_lock_.reset();
  return std::move(report_);
}

}  // namespace

const StepReport* RunReport::FindStep(const std::string& name) const {
  for (const StepReport& step : steps) {
    if (step.name == name) {
      return &step;
    }
  }
  return nullptr;
}

Runner::Runner(store::BlobStore* blobs, metadata::MetadataStore* metadata)
    : blobs_(blobs), metadata_(metadata) {}

Result<RunReport> Runner::Run(const PipelineSpec& spec,
                              const RunOptions& options) {
  RunState state(blobs_, metadata_, spec, options);
  return state.Run();
}

std::string NewRunId() {
  std::string time = FormatRfc3339(NowUnixMillis());
  std::string compact;
  for (char c : time.substr(0, 19)) {
    if (c == 'T') {
      compact.push_back('-');
    } else if (c != '-' && c != ':') {
      compact.push_back(c);
    }
  }
  std::random_device random;
  char suffix[8];
  std::snprintf(suffix, sizeof(suffix), "%06x", random() & 0xffffff);
  return compact + "-" + suffix;
}

Json HostToolchain() {
  std::map<std::string, std::string> os = OsRelease();
  struct utsname host;
  ::uname(&host);
  return Json{{"os", os["ID"] + " " + os["VERSION_ID"]},
              {"arch", host.machine},
              {"libc", std::string("glibc ") + gnu_get_libc_version()},
              {"lockstep", kLockstepVersion}};
}

bool IsHostProgram(const std::string& name) {
  // `./tool` or `scripts/x.sh` is a file in the step folder (a code file
  // or an input, each in the key already), never one under lockstep's
  // own current folder: looked up there, `run /abs/p.yaml` from another
  // folder failed, or keyed another file (found by a tester).
  return name.starts_with('/') || name.find('/') == std::string::npos;
}

fs::path FindStepProgram(const std::string& name) {
  if (name.find('/') != std::string::npos) {
    return name;
  }
  for (const char* dir : {"/usr/local/bin", "/usr/bin", "/bin"}) {
    fs::path candidate = fs::path(dir) / name;
    std::error_code error;
    if (::access(candidate.c_str(), X_OK) == 0) {
      fs::path resolved = fs::canonical(candidate, error);
      return error ? candidate : resolved;
    }
  }
  return {};
}

Json OutputValue(const std::string& bytes) {
  size_t begin = bytes.find_first_not_of(" \t\r\n");
  size_t end = bytes.find_last_not_of(" \t\r\n");
  std::string text = begin == std::string::npos
                         ? ""
                         : bytes.substr(begin, end - begin + 1);
  Json parsed = ParseJsonOrDiscarded(text);
  return parsed.is_discarded() ? Json(text) : parsed;
}

}  // namespace lockstep::pipeline
