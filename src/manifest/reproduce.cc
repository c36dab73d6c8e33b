// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "manifest/reproduce.h"

#include <unistd.h>

#include <atomic>
#include <map>
#include <optional>

#include "core/clock.h"
#include "core/files.h"
#include "core/log.h"
#include "data/snapshot.h"
#include "env/code_version.h"
#include "pipeline/executor.h"
#include "pipeline/expression.h"
#include "pipeline/params.h"
#include "pipeline/run_lock.h"
#include "pipeline/runner.h"
#include "pipeline/step_paths.h"

namespace lockstep::manifest {

namespace {

using pipeline::StepInvocation;

// What to do about a snapshot the store lacks (docs/manifest.md).
constexpr char kSnapshotRemedy[] =
    "pull it with `lockstep pull` or snapshot the original data again";

class Reproducer {
 public:
  // With `same_inputs`, every step gets the inputs it had in the run
  // (a determinism check); otherwise inputs come from this re-run.
  Reproducer(const Json& manifest, store::BlobStore* blobs,
             const ReproduceOptions& options, bool same_inputs)
      : manifest_(manifest),
        blobs_(blobs),
        options_(options),
        same_inputs_(same_inputs) {}

  Result<ReproduceReport> Run();

 private:
  Status ClaimWorkFolder();
  Status ReproduceSteps();
  Status RestoreCode();
  Status CopyCodeFiles(const std::filesystem::path& tree,
                       const std::map<std::string, Digest>& wanted);
  void NoteCodeProblem(const std::string& problem);
  Status ReproduceStep(const Json& step);
  StepVerdict CheckSnapshot(const Json& step);
  Result<bool> ConditionHolds(const Json& step);
  Result<StepInvocation> Rewire(const Json& step, StepVerdict* verdict);
  void Compare(const Json& step, const pipeline::StepOutcome& outcome,
               StepVerdict* verdict);

  const Json& manifest_;
  store::BlobStore* blobs_;
  const ReproduceOptions& options_;
  bool same_inputs_;
  // Why the run's code cannot be had, once RestoreCode gave up.
  std::string code_problem_;
  ReproduceReport report_;
  // Step name -> output name -> digest produced by this re-run.
  std::map<std::string, std::map<std::string, Digest>> produced_;
  // Where step folders go; in the store it is held by work_lock_, so gc
  // leaves it alone while this process lives and removes it once a killed
  // reproduction left it behind.
  std::filesystem::path work_root_;
  std::optional<pipeline::RunLock> work_lock_;
};

StepVerdict Reproducer::CheckSnapshot(const Json& step) {
  StepVerdict verdict{step["name"], "identical", "", {}};
  Json recorded = step.value(Json::json_pointer("/outputs/dataset/digest"),
                             Json());
  if (!recorded.is_string()) {
    // Skipped, failed or cancelled before it took the snapshot (its
    // digest is null): there is nothing to check, as for a command step.
    std::string state = step.value("state", std::string("skipped"));
    bool ended = state == "failed" || state == "cancelled";
    verdict.status = ended ? state : "skipped";
    verdict.note = ended ? "the original step " + state
                         : step.value("message", std::string("skipped"));
    verdict.note += "; nothing to compare";
    return verdict;
  }
  std::string digest_text = recorded;
  Result<Digest> digest = Digest::Parse(digest_text);
  std::string label;
  uint64_t recorded_size = 0;
  for (const Json& snapshot : manifest_.value("data", Json::array())) {
    if (snapshot.value("digest", "") == digest_text) {
      label = snapshot["name"].get<std::string>() + "@" +
              std::to_string(snapshot["version"].get<int64_t>());
      recorded_size = snapshot.value("size", uint64_t{0});
    }
  }
  // A folder's files are checked too, not only its tree: without them
  // the steps that read it cannot run again.
  std::vector<std::string> problems =
      digest.ok()
          ? data::CheckSnapshotContent(blobs_, *digest, recorded_size)
          : std::vector<std::string>{digest.status().message()};
  if (!problems.empty()) {
    std::string what = " is not in the store";
    if (digest.ok() && blobs_->Contains(*digest)) {
      what = " is damaged in the store: " + problems.front();
      if (problems.size() > 1) {
        what += " (and " + std::to_string(problems.size() - 1) + " more)";
      }
    }
    verdict.status = "missing";
    verdict.note = "data snapshot " + label + " (" + digest_text + ")" +
                   what + "; " + kSnapshotRemedy;
    report_.missing.push_back(verdict.note);
    return verdict;
  }
  produced_[verdict.name]["dataset"] = *digest;
  verdict.note = "snapshot " + label + " present and verified";
  verdict.outputs.push_back(
      {"dataset", "exact", digest_text, digest_text, true, true, nullptr});
  return verdict;
}

Result<bool> Reproducer::ConditionHolds(const Json& step) {
  if (!step.contains("if")) {
    return true;
  }
  std::string text = step["if"]["expression"];
  ASSIGN_OR_RETURN(pipeline::Expression condition,
                   pipeline::Expression::Parse(text));
  auto resolve = [&](const std::string& reference) -> Result<Json> {
    if (reference.starts_with("params.")) {
      return pipeline::UntypedParam(
          manifest_["params"][reference.substr(7)]);
    }
    size_t dot = reference.find('.', 6);
    std::string producer = reference.substr(6, dot - 6);
    std::string output = reference.substr(reference.rfind('.') + 1);
    auto found = produced_.find(producer);
    if (found == produced_.end() || !found->second.contains(output)) {
      return Status::NotFound("output " + producer + "." + output +
                              " was not reproduced");
    }
    ASSIGN_OR_RETURN(std::string bytes,
                     blobs_->ReadVerified(found->second.at(output)));
    return pipeline::OutputValue(bytes);
  };
  ASSIGN_OR_RETURN(Json value, condition.Evaluate(resolve));
  return pipeline::IsTruthy(value);
}

// Builds the step's invocation with inputs taken from this re-run.
Result<StepInvocation> Reproducer::Rewire(const Json& step,
                                          StepVerdict* verdict) {
  ASSIGN_OR_RETURN(StepInvocation invocation,
                   StepInvocation::FromJson(step["invocation"]));
  for (const auto& [name, input] : step["inputs"].items()) {
    // These names reach the step folder too; the invocation's were
    // checked by FromJson, the step entry's are checked here.
    if (!pipeline::IsSimpleName(name)) {
      return Status::InvalidArgument(
          "malformed step record: step '" + invocation.step_name +
          "': input name '" + name + "' must be letters, digits, _ and -");
    }
    std::string from = input["from"];
    if (!from.starts_with("snapshot:")) {
      size_t dot = from.find('.');
      auto producer = produced_.find(from.substr(0, dot));
      if (producer != produced_.end() &&
          producer->second.contains(from.substr(dot + 1))) {
        invocation.inputs[name] = producer->second.at(from.substr(dot + 1));
        continue;
      }
    }
    if (!blobs_->Contains(invocation.inputs[name])) {
      verdict->status = "missing";
      verdict->note = "input " + name + " (" + from + ", " +
                      invocation.inputs[name].ToString() +
                      ") is not in the store";
      // A snapshot read by name has the same remedy as a snapshot step's
      // (docs/manifest.md).
      if (from.starts_with("snapshot:")) {
        verdict->note += std::string("; ") + kSnapshotRemedy;
      }
      report_.missing.push_back(verdict->note);
    }
  }
  for (const auto& [path, file] : invocation.code) {
    if (!blobs_->Contains(file.digest)) {
      verdict->status = "missing";
      verdict->note = "code file " + path + " (" + file.digest.ToString() +
                      ") is not in the store";
      if (code_problem_.empty()) {
        // No git commit to rebuild it from: say how else to get it.
        verdict->note += "; pull the run with `lockstep pull`, or run the "
                         "pipeline once from the code it used";
        report_.missing.push_back(verdict->note);
      }
    }
  }
  return invocation;
}

void Reproducer::Compare(const Json& step,
                         const pipeline::StepOutcome& outcome,
                         StepVerdict* verdict) {
  bool all_accepted = true;
  bool all_identical = true;
  for (const auto& [name, recorded] : step["outputs"].items()) {
    auto actual = outcome.outputs.find(name);
    if (actual == outcome.outputs.end()) {
      continue;
    }
    metadata::RecordedOutput declared;
    declared.type = recorded.value("type", "");
    declared.policy = recorded.value("reproduce", "exact");
    declared.tolerance = recorded.value("tolerance", 0.0);
    declared.digest = recorded.value("digest", "");
    declared.folder = recorded.value("folder", false) ||
                      outcome.folder_outputs.contains(name);
    OutputVerdict output =
        metadata::CompareOutput(name, declared, actual->second, *blobs_);
    Result<Digest> expected = Digest::Parse(declared.digest);
    // A determinism check feeds later steps the run's own outputs.
    produced_[verdict->name][name] =
        same_inputs_ && expected.ok() ? *expected : actual->second;
    all_accepted &= output.accepted;
    all_identical &= output.identical;
    if (!output.accepted && report_.first_divergence.empty()) {
      report_.first_divergence = "step " + verdict->name + ", output " + name;
      if (!output.first_file.empty()) {
        report_.first_divergence += ", file " + output.first_file;
      }
    }
    verdict->outputs.push_back(std::move(output));
  }
  verdict->status = !all_accepted   ? "diverged"
                    : all_identical ? "identical"
                                    : "accepted";
}

void Reproducer::NoteCodeProblem(const std::string& problem) {
  code_problem_ = problem;
  report_.missing.push_back(problem);
}

// Code files every step names that the store lacks, by path.
std::map<std::string, Digest> MissingCode(const Json& steps,
                                          const store::BlobStore& blobs) {
  std::map<std::string, Digest> missing;
  for (const Json& step : steps) {
    if (!step.contains("invocation")) {
      continue;
    }
    Result<StepInvocation> invocation =
        StepInvocation::FromJson(step["invocation"]);
    if (!invocation.ok()) {
      continue;  // Reported when the step itself is reproduced.
    }
    for (const auto& [path, file] : invocation->code) {
      if (!blobs.Contains(file.digest)) {
        missing.emplace(path, file.digest);
      }
    }
  }
  return missing;
}

// Takes each wanted file from `tree` (the materialised commit), checks it
// against the digest the manifest recorded, and stores it.
Status Reproducer::CopyCodeFiles(
    const std::filesystem::path& tree,
    const std::map<std::string, Digest>& wanted) {
  std::string commit = manifest_["code"].value("commit", "");
  std::string folder = manifest_["code"].value("pipeline_directory", ".");
  // The manifest is untrusted: its folder must stay inside the commit.
  std::filesystem::path normal =
      std::filesystem::path(folder).lexically_normal();
  if (normal.is_absolute() || (!normal.empty() &&
                               *normal.begin() == "..")) {
    NoteCodeProblem("the manifest's code.pipeline_directory '" + folder +
                    "' is not a folder inside the repository");
    return Status::Ok();
  }
  std::filesystem::path base = tree / normal;
  Json restored = Json::array();
  for (const auto& [path, digest] : wanted) {
    std::filesystem::path source = base / path;
    std::error_code error;
    if (!std::filesystem::is_regular_file(source, error)) {
      NoteCodeProblem("code file " + path + " (" + digest.ToString() +
                      ") is not in commit " + commit);
      return Status::Ok();
    }
    ASSIGN_OR_RETURN(Digest actual, Sha256OfFile(source));
    if (actual != digest) {
      NoteCodeProblem("code file " + path + " at commit " + commit +
                      " hashes to " + actual.ToString() +
                      ", but the manifest recorded " + digest.ToString());
      return Status::Ok();
    }
    ASSIGN_OR_RETURN(Digest stored, blobs_->PutFile(source));
    if (stored != digest) {
      return Status::DataLoss("code file " + path +
                              " changed while it was being stored");
    }
    restored.push_back(path);
  }
  report_.code_restored["files"] = restored;
  return Status::Ok();
}

// When code files are missing from the store and the manifest names a
// git commit, rebuilds that commit (with the dirty patch) from the source
// repository and takes the files from there.
Status Reproducer::RestoreCode() {
  std::map<std::string, Digest> missing =
      MissingCode(manifest_["steps"], *blobs_);
  const Json& code = manifest_.contains("code") ? manifest_["code"] : Json();
  if (missing.empty() || !code.is_object() ||
      !code.value("in_git_work_tree", false) ||
      code.value("commit", "").empty()) {
    return Status::Ok();
  }
  ASSIGN_OR_RETURN(env::CodeVersion version, env::CodeVersion::FromJson(code));
  if (version.dirty && !blobs_->Contains(version.patch_digest)) {
    NoteCodeProblem(
        "the run's work tree was dirty and its patch " +
        version.patch_digest.ToString() + " is not in the store, so commit " +
        version.commit + " cannot be rebuilt as it ran; pull the run with "
        "`lockstep pull` to get the patch");
    return Status::Ok();
  }

  std::filesystem::path repository = options_.source_repository;
  std::error_code error;
  if (repository.empty()) {
    repository = std::filesystem::current_path(error);
  }
  std::filesystem::path parent = options_.work_directory.empty()
                                     ? blobs_->TempDirectory()
                                     : options_.work_directory;
  std::filesystem::create_directories(parent, error);
  ASSIGN_OR_RETURN(std::filesystem::path folder,
                   MakeTempDirectory(parent, "code-"));
  std::filesystem::path tree = folder / "tree";
  LogInfo("rebuilding commit {} from {} in {}", version.commit,
          repository.string(), tree.string());
  Status built = env::MaterializeCode(repository, version, tree, blobs_);
  Status copied = built.ok() ? CopyCodeFiles(tree, missing) : Status::Ok();
  report_.code_restored["commit"] = version.commit;
  if (options_.keep) {
    report_.code_restored["folder"] = tree.string();
  } else {
    RemoveAllQuietly(folder);
  }
  if (built.IsNotFound() || built.IsDataLoss()) {
    std::string remote = version.remote_url.empty()
                             ? ""
                             : " from " + version.remote_url;
    NoteCodeProblem(
        "code commit " + version.commit + " is not available: " +
        built.message() + ". Fetch it with `git fetch`" + remote +
        " and run reproduce again from inside a clone that has it, or "
        "check out " + version.commit + " and run the pipeline once");
    report_.code_restored = nullptr;
    return Status::Ok();
  }
  RETURN_IF_ERROR(built);
  return copied;
}

Status Reproducer::ReproduceStep(const Json& step) {
  std::string name = step["name"];
  std::string state = step["state"];
  if (step["component"] == "lockstep/data-snapshot") {
    report_.steps.push_back(CheckSnapshot(step));
    return Status::Ok();
  }
  if (step["component"] == "lockstep/collect") {
    // A for_each: collection has no command of its own; its iterations
    // (NAME[i]) are reproduced and compared one by one.
    report_.steps.push_back({name, "skipped",
                             "collects the outputs of its for_each "
                             "iterations, which are compared one by one",
                             {}});
    return Status::Ok();
  }
  if (state == "failed" || state == "cancelled") {
    report_.steps.push_back({name, state,
                             "the original step " + state +
                                 "; nothing to compare",
                             {}});
    return Status::Ok();
  }
  StepVerdict verdict{name, "identical", "", {}};

  // A step skipped by its condition must be skipped again, and vice versa.
  Result<bool> holds = ConditionHolds(step);
  if (state == "skipped") {
    // Without an if: (or one never evaluated) the step was skipped for
    // want of an upstream output, not by its own condition.
    bool was_true = !step.contains("if") || step["if"].value("value", true);
    if (holds.ok() && *holds && !was_true) {
      verdict.status = "diverged";
      verdict.note = "its if: condition is now true (it was false)";
      report_.first_divergence = report_.first_divergence.empty()
                                     ? "step " + name + " (condition)"
                                     : report_.first_divergence;
    } else {
      verdict.status = "skipped";
      verdict.note = step.value("message", "skipped");
    }
    report_.steps.push_back(verdict);
    return Status::Ok();
  }
  if (holds.ok() && !*holds) {
    verdict.status = "diverged";
    verdict.note = "its if: condition is now false (it was true)";
    if (report_.first_divergence.empty()) {
      report_.first_divergence = "step " + name + " (condition)";
    }
    report_.steps.push_back(verdict);
    return Status::Ok();
  }

  ASSIGN_OR_RETURN(StepInvocation invocation, Rewire(step, &verdict));
  if (verdict.status == "missing") {
    report_.steps.push_back(verdict);
    return Status::Ok();
  }
  pipeline::ExecutorConfig config;
  config.work_root = work_root_;
  config.lockstep_binary = options_.lockstep_binary;
  config.keep_work = options_.keep;
  ASSIGN_OR_RETURN(pipeline::StepOutcome outcome,
                   pipeline::ExecuteStep(invocation, blobs_, config));
  verdict.executed = true;
  // Lockstep itself could not write in the store (its disk full or
  // read-only), so the step failing says nothing about reproducibility:
  // an I/O error with no verdict, not a divergence (found by a tester).
  // A step whose own writes fail there also complains on stderr, which
  // Lockstep then cannot copy into the step's log.
  if (!outcome.succeeded() && !outcome.process.stderr_file_error.empty()) {
    return Status::Unavailable(
        "step " + name + ": cannot tell whether it reproduces: Lockstep "
        "could not write its stderr log (" +
        outcome.process.stderr_file_error + "), and " + outcome.failure);
  }
  if (!outcome.succeeded()) {
    verdict.status = "diverged";
    verdict.note = "the step failed when re-run: " + outcome.failure;
    if (report_.first_divergence.empty()) {
      report_.first_divergence = "step " + name + " (failed)";
    }
    report_.steps.push_back(verdict);
    return Status::Ok();
  }
  Compare(step, outcome, &verdict);
  report_.steps.push_back(verdict);
  return Status::Ok();
}

Status Reproducer::ClaimWorkFolder() {
  if (!options_.work_directory.empty()) {
    work_root_ = options_.work_directory;
    return Status::Ok();
  }
  // Unique among processes (pid) and within this one (the sequence).
  static std::atomic<int> sequence{0};
  std::string id = "reproduce-" + std::to_string(::getpid()) + "-" +
                   std::to_string(NowUnixMillis()) + "-" +
                   std::to_string(sequence++);
  ASSIGN_OR_RETURN(pipeline::RunLock lock,
                   pipeline::RunLock::Acquire(blobs_->root(), id));
  work_lock_.emplace(std::move(lock));
  work_root_ = pipeline::RunWorkRoot(blobs_->root(), id);
  return Status::Ok();
}

Status Reproducer::ReproduceSteps() {
  RETURN_IF_ERROR(RestoreCode());
  for (const Json& step : manifest_["steps"]) {
    LogInfo("reproducing step {}", step["name"].get<std::string>());
    RETURN_IF_ERROR(ReproduceStep(step));
  }
  return Status::Ok();
}

Result<ReproduceReport> Reproducer::Run() {
  report_.run_id = manifest_.value("run_id", "");
  RETURN_IF_ERROR(ClaimWorkFolder());
  Status reproduced = ReproduceSteps();
  // Step folders are gone already unless --keep asked for them.
  if (work_lock_ && !options_.keep) RemoveAllQuietly(work_root_);
  RETURN_IF_ERROR(reproduced);
  report_.reproduced = report_.missing.empty() &&
                       report_.first_divergence.empty();
  return report_;
}

}  // namespace

size_t ReproduceReport::AcceptedNotIdentical() const {
  size_t count = 0;
  for (const StepVerdict& step : steps) {
    for (const OutputVerdict& output : step.outputs) {
      if (!output.identical && output.accepted) ++count;
    }
  }
  return count;
}

int ReproduceReport::ExitCode() const {
  if (!missing.empty()) {
    return 2;
  }
  return first_divergence.empty() ? 0 : 1;
}

Json ReproduceReport::ToJson() const {
  Json steps_json = Json::array();
  for (const StepVerdict& step : steps) {
    Json outputs = Json::array();
    bool identical = step.status == "identical" || step.status == "skipped";
    for (const OutputVerdict& output : step.outputs) {
      outputs.push_back(output.ToJson());
    }
    Json entry = {{"name", step.name}, {"status", step.status},
                  {"identical", identical}, {"outputs", outputs}};
    if (!step.note.empty()) {
      entry["note"] = step.note;
    }
    for (const OutputVerdict& output : step.outputs) {
      if (!output.identical) {
        entry["expected"] = output.expected;
        entry["actual"] = output.actual;
        break;
      }
    }
    steps_json.push_back(entry);
  }
  Json result = {{"run_id", run_id}, {"reproduced", reproduced},
                 {"bit_identical", reproduced && AcceptedNotIdentical() == 0},
                 {"steps", steps_json}};
  if (!first_divergence.empty()) {
    result["first_divergence"] = first_divergence;
  }
  if (!missing.empty()) {
    result["missing"] = missing;
  }
  if (!code_restored.is_null()) {
    result["code_restored"] = code_restored;
  }
  return result;
}

Json ReproduceReport::DeterminismJson() const {
  Json steps_json = Json::array();
  for (const StepVerdict& step : steps) {
    if (!step.executed) {
      continue;
    }
    bool identical = true;
    bool accepted = true;
    Json outputs = Json::array();
    for (const OutputVerdict& output : step.outputs) {
      identical &= output.identical;
      accepted &= output.accepted;
      outputs.push_back(output.ToJson());
    }
    // A step that failed on the second run is not deterministic either.
    if (step.status == "diverged" && step.outputs.empty()) {
      identical = accepted = false;
    }
    Json entry = {{"step", step.name}, {"identical", identical},
                  {"accepted", accepted}, {"outputs", outputs}};
    if (!step.note.empty()) {
      entry["note"] = step.note;
    }
    steps_json.push_back(entry);
  }
  return steps_json;
}

Result<ReproduceReport> Reproduce(const Json& manifest,
                                  store::BlobStore* blobs,
                                  const ReproduceOptions& options) {
  if (!manifest.contains("steps") || !manifest["steps"].is_array()) {
    return Status::InvalidArgument("the manifest has no steps");
  }
  try {
    return Reproducer(manifest, blobs, options, false).Run();
  } catch (const Json::exception& error) {
    return Status::InvalidArgument(std::string("malformed manifest: ") +
                                   error.what());
  }
}

Result<ReproduceReport> CheckDeterminism(const Json& manifest,
                                         store::BlobStore* blobs,
                                         const ReproduceOptions& options) {
  if (!manifest.contains("steps") || !manifest["steps"].is_array()) {
    return Status::InvalidArgument("the manifest has no steps");
  }
  try {
    return Reproducer(manifest, blobs, options, true).Run();
  } catch (const Json::exception& error) {
    return Status::InvalidArgument(std::string("malformed manifest: ") +
                                   error.what());
  }
}

}  // namespace lockstep::manifest
