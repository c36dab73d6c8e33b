// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// Runs one step: lays out a fresh folder (inputs, declared code, an empty
// outputs/), runs the argv there, by default inside bubblewrap at the fixed
// path /lockstep with no network, read-only inputs and a cleared
// environment, then moves the declared outputs into the blob store. A step
// is described by a StepInvocation, which is also what a manifest records,
// so `reproduce` re-runs a step from its manifest entry alone.

#ifndef LOCKSTEP_PIPELINE_EXECUTOR_H_
#define LOCKSTEP_PIPELINE_EXECUTOR_H_

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/digest.h"
#include "core/status.h"
#include "core/subprocess.h"
#include "store/blob_store.h"
#include "store/host_facts.h"

namespace lockstep::pipeline {

using Json = nlohmann::json;

enum class SandboxMode { kBubblewrap, kNone };

std::string SandboxModeName(SandboxMode mode);

// The path a step sees as its working folder inside the sandbox.
inline constexpr const char* kSandboxRoot = "/lockstep";

// A file given to a step.
struct StepFile {
  Digest digest;
  bool executable = false;
};

struct StepInvocation {
  std::string step_name;
  std::string component;              // "command" or "lockstep/ml-train"
  std::vector<std::string> argv;      // "lockstep" first for built-ins
  std::map<std::string, std::string> env;  // declared host variables
  std::map<std::string, StepFile> code;    // relative path -> file
  std::map<std::string, Digest> inputs;    // input name -> blob
  // Inputs whose blob is a reproducible tar of a folder (store/tar.h);
  // they are unpacked read-only at inputs/NAME.
  std::set<std::string> folder_inputs;
  // Inputs whose blob is the tree of a folder snapshot (data/tree_digest.h);
  // its files are laid out read-only at inputs/NAME from their own blobs.
  std::set<std::string> tree_inputs;
  std::vector<std::string> outputs;        // output names
  SandboxMode sandbox = SandboxMode::kBubblewrap;
  int64_t timeout_millis = 0;
  std::string seed;  // LOCKSTEP_SEED, when the pipeline has a seed param
  // The image the step runs in, pinned (REGISTRY/REPO@sha256:...); its
  // unpacked root replaces the host's /usr and /etc. Empty: the host.
  std::string image;

  Json ToJson() const;
  static Result<StepInvocation> FromJson(const Json& json);
};

// Ok when every name in `invocation` that becomes a path or a variable
// is one a pipeline file could have produced (pipeline/step_paths.h):
// FromJson and ExecuteStep both check, so neither a manifest nor a bug
// upstream can make the executor write outside the step folder.
Status CheckInvocationNames(const StepInvocation& invocation);

// The environment every step starts from (before declared variables):
// TZ=UTC, LC_ALL=C.UTF-8, SOURCE_DATE_EPOCH, PYTHONHASHSEED, ...; its
// LOCKSTEP_STEP is the step name, without the [i] of an iteration.
std::map<std::string, std::string> FixedStepEnvironment(
    const StepInvocation& invocation);

struct StepOutcome {
  ProcessOutcome process;
  std::map<std::string, Digest> outputs;  // Set when the step succeeded.
  std::set<std::string> folder_outputs;   // Outputs stored as tar blobs.
  Digest stdout_digest;
  Digest stderr_digest;
  std::string failure;  // Why it failed, for people; empty on success.

  bool succeeded() const { return failure.empty(); }
};

struct ExecutorConfig {
  std::filesystem::path work_root;       // Step folders are made here.
  std::filesystem::path lockstep_binary;  // Runs built-in components.
  bool keep_work = false;                 // Keep step folders for debugging.
};

// Runs the step and stores its outputs. Returns an error Status only for
// infrastructure failures (cannot lay out the folder, store is broken);
// a step that fails is a StepOutcome with `failure` set.
Result<StepOutcome> ExecuteStep(const StepInvocation& invocation,
                                store::BlobStore* blobs,
                                const ExecutorConfig& config);

// True when bubblewrap can create a sandbox on this machine. The probe
// is a process (~10 ms), so with a `store_root` a "yes" is cached there
// (store/host_facts.h) keyed by the bwrap binary and /usr/bin/true (path
// on PATH and stat), the user-namespace sysctls, the boot and the
// namespaces; any change probes again. A "no" is never cached, so a fix
// is seen at once.
bool SandboxAvailable(const std::filesystem::path& store_root = {});

// The key SandboxAvailable caches its answer under, for `bwrap` (the
// resolved program). Exposed for tests.
store::HostFactKey SandboxProbeKey(const std::filesystem::path& bwrap);

}  // namespace lockstep::pipeline

#endif  // LOCKSTEP_PIPELINE_EXECUTOR_H_
