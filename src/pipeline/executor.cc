// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "pipeline/executor.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <set>

#include "core/files.h"
#include "core/log.h"
#include "data/tree_digest.h"
#include "image/reference.h"
#include "image/rootfs.h"
#include "pipeline/run_lock.h"
#include "pipeline/step_paths.h"
#include "store/tar.h"

namespace lockstep::pipeline {

namespace fs = std::filesystem;

namespace {

// Where the lockstep binary appears inside the sandbox, for built-ins.
constexpr const char* kSandboxBinary = "/opt/lockstep/bin/lockstep";

// A fixed, documented instant (1980-01-01, the earliest ZIP time) so that
// tools honouring SOURCE_DATE_EPOCH write the same bytes on every run.
constexpr const char* kSourceDateEpoch = "315532800";

// Whether the host has /usr/lib64, which the sandbox then links at /lib64.
bool HostHasLib64() {
  std::error_code error;
  return fs::exists("/usr/lib64", error);
}

// The folders of a step's own layout, never reported as stray writes.
const std::set<std::string>& kLayoutFolders = StepLayoutFolders();

// Whether `path`, once its links are resolved, is `dir` or inside it. The
// checks on names keep every path lexically inside; this also holds if
// something in the step folder became a link.
bool ResolvesInside(const fs::path& dir, const fs::path& path) {
  std::error_code error;
  fs::path base = fs::weakly_canonical(dir, error);
  if (error) return false;
  fs::path resolved = fs::weakly_canonical(path, error);
  if (error) return false;
  fs::path relative = resolved.lexically_relative(base);
  return !relative.empty() && *relative.begin() != "..";
}

Status Outside(const fs::path& path) {
  return Status::InvalidArgument(path.string() +
                                 " resolves outside the step folder; "
                                 "refusing to write there");
}

// Relative paths of everything in `dir` outside the layout folders.
std::set<std::string> ListStepFiles(const fs::path& dir) {
  std::set<std::string> files;
  std::error_code error;
  auto it = fs::recursive_directory_iterator(dir, error);
  for (; !error && it != fs::recursive_directory_iterator();
       it.increment(error)) {
    fs::path relative = it->path().lexically_relative(dir);
    if (kLayoutFolders.contains(relative.begin()->string())) {
      std::error_code kind_error;  // A step may leave a symlink loop.
      if (it->is_directory(kind_error)) {
        it.disable_recursion_pending();
      }
      continue;
    }
    files.insert(relative.string());
  }
  return files;
}

// Builds the folder snapshot whose tree blob is `tree` at `destination`,
// read-only like every input. DecodeTree refuses paths that would leave
// the destination, so a crafted tree cannot write elsewhere.
Status LayOutTree(const store::BlobStore& blobs, const Digest& tree,
                  const fs::path& destination) {
  ASSIGN_OR_RETURN(std::string bytes, blobs.ReadVerified(tree));
  ASSIGN_OR_RETURN(std::vector<data::TreeEntry> entries,
                   data::DecodeTree(bytes));
  if (::mkdir(destination.c_str(), 0755) != 0) {
    return ErrnoStatus(destination, errno);
  }
  std::vector<fs::path> folders = {destination};
  for (const data::TreeEntry& entry : entries) {
    fs::path target = destination / entry.path;
    if (entry.type == data::EntryType::kDirectory) {
      if (::mkdir(target.c_str(), 0755) != 0) {
        return ErrnoStatus(target, errno);
      }
      folders.push_back(target);
    } else if (entry.type == data::EntryType::kSymlink) {
      if (::symlink(entry.target.c_str(), target.c_str()) != 0) {
        return ErrnoStatus(target, errno);
      }
    } else {
      RETURN_IF_ERROR(blobs.CopyOut(entry.digest, target)
                          .WithContext(entry.path));
      ::chmod(target.c_str(), entry.executable ? 0555 : 0444);
    }
  }
  // Deepest first, so each folder is still writable while it is filled.
  for (auto it = folders.rbegin(); it != folders.rend(); ++it) {
    ::chmod(it->c_str(), 0555);
  }
  return Status::Ok();
}

Status LayOutStep(const StepInvocation& invocation, store::BlobStore* blobs,
                  const fs::path& dir) {
  std::error_code error;
  for (const std::string& folder : kLayoutFolders) {
    if (fs::create_directories(dir / folder, error); error) {
      return ErrnoStatus(dir / folder, error.value());
    }
  }
  for (const auto& [name, digest] : invocation.inputs) {
    if (!ResolvesInside(dir / "inputs", dir / "inputs" / name)) {
      return Outside(dir / "inputs" / name);
    }
    if (invocation.folder_inputs.contains(name)) {
      RETURN_IF_ERROR(store::UnpackFolder(*blobs, digest,
                                          dir / "inputs" / name, true)
                          .WithContext("input '" + name + "'"));
      continue;
    }
    if (invocation.tree_inputs.contains(name)) {
      RETURN_IF_ERROR(LayOutTree(*blobs, digest, dir / "inputs" / name)
                          .WithContext("input '" + name + "'"));
      continue;
    }
    Status status = blobs->CopyOut(digest, dir / "inputs" / name);
    RETURN_IF_ERROR(status.WithContext("input '" + name + "'"));
    ::chmod((dir / "inputs" / name).c_str(), 0444);
  }
  for (const auto& [path, file] : invocation.code) {
    fs::path target = dir / path;
    if (fs::create_directories(target.parent_path(), error); error) {
      return ErrnoStatus(target.parent_path(), error.value());
    }
    if (!ResolvesInside(dir, target.parent_path())) {
      return Outside(target);
    }
    RETURN_IF_ERROR(blobs->CopyOut(file.digest, target)
                        .WithContext("code file '" + path + "'"));
    ::chmod(target.c_str(), file.executable ? 0555 : 0444);
  }
  return Status::Ok();
}

// Binds each code file read-only at its place: the copies are the key's
// bytes, and root inside the sandbox's user namespace could otherwise
// rewrite or delete them despite their mode.
void AddCodeBinds(const StepInvocation& invocation, const fs::path& dir,
                  std::vector<std::string>* argv) {
  for (const auto& [path, file] : invocation.code) {
    argv->insert(argv->end(), {"--ro-bind", (dir / path).string(),
                               std::string(kSandboxRoot) + "/" + path});
  }
}

// The sandbox of a step in an image: the image's root, read-only, as /,
// with the same writable folders, no network and the same cleared
// environment as a host step.
std::vector<std::string> ImageSandboxArgv(const StepInvocation& invocation,
                                          const fs::path& rootfs,
                                          const fs::path& dir,
                                          const std::vector<std::string>& env) {
  std::vector<std::string> argv = {
      "bwrap", "--unshare-all", "--die-with-parent", "--new-session",
      "--ro-bind", rootfs.string(), "/",
      "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
      "--bind", dir.string(), kSandboxRoot,
      "--ro-bind", (dir / "inputs").string(),
      std::string(kSandboxRoot) + "/inputs",
      "--chdir", kSandboxRoot, "--clearenv"};
  AddCodeBinds(invocation, dir, &argv);
  for (const std::string& entry : env) {
    size_t eq = entry.find('=');
    argv.insert(argv.end(),
                {"--setenv", entry.substr(0, eq), entry.substr(eq + 1)});
  }
  argv.push_back("--");
  return argv;
}

std::vector<std::string> SandboxArgv(const StepInvocation& invocation,
                                     const fs::path& dir,
                                     const ExecutorConfig& config,
                                     const std::vector<std::string>& env) {
  std::vector<std::string> argv = {
      "bwrap", "--unshare-all", "--die-with-parent", "--new-session",
      "--ro-bind", "/usr", "/usr",
      "--symlink", "usr/bin", "/bin",
      "--symlink", "usr/sbin", "/sbin",
      "--symlink", "usr/lib", "/lib",
      "--ro-bind", "/etc", "/etc",
      "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
      "--bind", dir.string(), kSandboxRoot,
      "--ro-bind", (dir / "inputs").string(),
      std::string(kSandboxRoot) + "/inputs",
      "--chdir", kSandboxRoot, "--clearenv"};
  if (HostHasLib64()) {
    argv.insert(argv.end(), {"--symlink", "usr/lib64", "/lib64"});
  }
  AddCodeBinds(invocation, dir, &argv);
  if (invocation.component != "command") {
    argv.insert(argv.end(), {"--ro-bind", config.lockstep_binary.string(),
                             kSandboxBinary});
  }
  for (const std::string& entry : env) {
    size_t eq = entry.find('=');
    argv.insert(argv.end(),
                {"--setenv", entry.substr(0, eq), entry.substr(eq + 1)});
  }
  argv.push_back("--");
  return argv;
}

// How the step's process ended. In the sandbox bubblewrap, the step's
// PID 1, exits 128 + N when signal N killed the step (as a shell does),
// so such a code is named as the signal it stands for; a tester saw only
// "exit code 139" for a step that crashed.
std::string DescribeEnd(const ProcessOutcome& process, bool sandboxed) {
  const int signal = process.exit_code - 128;
  if (!sandboxed || process.term_signal != 0 || process.timed_out ||
      process.cancelled || signal <= 0 || signal >= NSIG) {
    return process.Describe();
  }
  return "killed by signal " + std::to_string(signal) + " (" +
         strsignal(signal) + "), which the sandbox reports as exit code " +
         std::to_string(process.exit_code);
}

// Adds what a person needs to know to a failure: the last lines of stderr
// and a hint when the sandbox's rules are the likely cause.
std::string DescribeFailure(const StepOutcome& outcome,
                            const std::string& stderr_text,
                            SandboxMode sandbox) {
  bool sandboxed = sandbox == SandboxMode::kBubblewrap;
  std::string message =
      "the step failed: " + DescribeEnd(outcome.process, sandboxed);
  if (sandboxed && (stderr_text.find("Network is unreachable") !=
                        std::string::npos ||
                    stderr_text.find("Temporary failure in name resolution") !=
                        std::string::npos ||
                    stderr_text.find("Name or service not known") !=
                        std::string::npos ||
                    stderr_text.find("Cannot assign requested address") !=
                        std::string::npos ||
                    // Only a loopback with nothing listening exists in
                    // the sandbox: every connection is refused.
                    stderr_text.find("Connection refused") !=
                        std::string::npos)) {
    message += "; it tried to use the network, which steps have no access "
               "to inside the sandbox";
  }
  if (sandboxed &&
      stderr_text.find("Read-only file system") != std::string::npos) {
    message += "; it tried to write outside its declared outputs (only "
               "outputs/ and /tmp are writable in the sandbox)";
  }
  std::string tail = stderr_text.size() > 600
                         ? stderr_text.substr(stderr_text.size() - 600)
                         : stderr_text;
  while (!tail.empty() && (tail.back() == '\n' || tail.back() == ' ')) {
    tail.pop_back();
  }
  if (!tail.empty()) {
    message += "\n  stderr: " + tail;
  }
  return message;
}

// How much of a step's stderr is kept in memory for a failure's message
// and the sandbox hints: the end is what explains a failure, and reading
// the whole of it held a 600 MB stderr in memory twice over.
constexpr size_t kStderrTailBytes = 64 * 1024;

// Stores a step's stdout or stderr. Most are empty: those skip the
// adopt-and-fsync of a file whose blob every store already has.
Result<Digest> AdoptLog(store::BlobStore* blobs, const fs::path& path) {
  std::error_code error;
  if (fs::file_size(path, error) == 0 && !error) {
    static const Digest kEmpty = Sha256Of("");
    if (!blobs->Contains(kEmpty)) {
      RETURN_IF_ERROR(blobs->PutBytes("").status());
    }
    fs::remove(path, error);
    return kEmpty;
  }
  return blobs->AdoptFile(path);
}

Status CollectOutputs(const StepInvocation& invocation,
                      store::BlobStore* blobs, const fs::path& dir,
                      StepOutcome* outcome) {
  // A step may replace outputs/ with a link to a host folder; following
  // it would move the host's files into the store.
  std::error_code link_error;
  if (!fs::is_directory(fs::symlink_status(dir / "outputs", link_error))) {
    outcome->failure = "outputs/ is no longer a folder (the step replaced "
                       "it); refusing to collect outputs through it";
    return Status::Ok();
  }
  for (const std::string& name : invocation.outputs) {
    fs::path path = dir / "outputs" / name;
    // The step's own doing, so the step fails; nothing is read or
    // written through the link.
    if (!ResolvesInside(dir / "outputs", path)) {
      outcome->failure = "output '" + name + "' is a link that resolves "
                         "outside outputs/; an output must be a file or "
                         "folder inside it";
      return Status::Ok();
    }
    std::error_code error;
    fs::file_status status = fs::symlink_status(path, error);
    if (!fs::exists(status)) {
      outcome->failure = "the step did not write its declared output '" +
                         name + "' (expected at outputs/" + name + ")";
      return Status::Ok();
    }
    if (fs::is_directory(status)) {
      Result<Digest> packed = store::PackFolder(path, blobs);
      if (packed.status().IsInvalidArgument()) {
        outcome->failure = "output '" + name + "': " +
                           packed.status().message();
        return Status::Ok();
      }
      RETURN_IF_ERROR(packed.status());
      outcome->outputs[name] = *packed;
      outcome->folder_outputs.insert(name);
      continue;
    }
    if (!fs::is_regular_file(status)) {
      outcome->failure = "output '" + name +
                         "' is neither a regular file nor a folder";
      return Status::Ok();
    }
    ASSIGN_OR_RETURN(outcome->outputs[name], blobs->AdoptFile(path));
  }
  return Status::Ok();
}

}  // namespace

std::string SandboxModeName(SandboxMode mode) {
  return mode == SandboxMode::kBubblewrap ? "bubblewrap" : "none";
}

Json StepInvocation::ToJson() const {
  Json code_json = Json::object();
  for (const auto& [path, file] : code) {
    code_json[path] = {{"digest", file.digest.ToString()},
                       {"executable", file.executable}};
  }
  Json inputs_json = Json::object();
  for (const auto& [name, digest] : inputs) {
    inputs_json[name] = digest.ToString();
  }
  Json json{{"step", step_name},   {"component", component},
            {"argv", argv},        {"env", env},
            {"code", code_json},   {"inputs", inputs_json},
            {"outputs", outputs},  {"sandbox", SandboxModeName(sandbox)},
            {"timeout_ms", timeout_millis}, {"seed", seed}};
  // Only when present, so records of file-only steps keep their bytes.
  if (!folder_inputs.empty()) {
    json["folder_inputs"] = folder_inputs;
  }
  if (!tree_inputs.empty()) {
    json["tree_inputs"] = tree_inputs;
  }
  if (!image.empty()) {
    json["image"] = image;
  }
  return json;
}

Status CheckInvocationNames(const StepInvocation& invocation) {
  auto refuse = [&](const std::string& what, const std::string& rule) {
    return Status::InvalidArgument("step '" + invocation.step_name +
                                   "': " + what + " " + rule);
  };
  const std::string simple = "must be letters, digits, _ and -";
  if (!IsStepRecordName(invocation.step_name)) {
    return refuse("the step name", simple + " (NAME or NAME[N])");
  }
  // A manifest's names may have been edited; they become file names.
  if (std::string problem = NameLengthProblem(
          "step", invocation.step_name, kMaxStepRecordNameBytes,
          "the step's work folder NAME-<16 hex digits>");
      !problem.empty()) {
    return Status::InvalidArgument(problem);
  }
  std::vector<std::string> names = invocation.outputs;
  for (const auto& [name, digest] : invocation.inputs) names.push_back(name);
  names.insert(names.end(), invocation.folder_inputs.begin(),
               invocation.folder_inputs.end());
  names.insert(names.end(), invocation.tree_inputs.begin(),
               invocation.tree_inputs.end());
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string& name = names[i];
    if (!IsSimpleName(name)) {
      return refuse("input or output name '" + name + "'", simple);
    }
    bool output = i < invocation.outputs.size();  // They come first.
    if (std::string problem =
            PortNameLengthProblem(output ? "output" : "input", name);
        !problem.empty()) {
      return Status::InvalidArgument("step '" + invocation.step_name +
                                     "': " + problem);
    }
  }
  for (const auto& [path, file] : invocation.code) {
    if (Status checked = CheckCodePath(path); !checked.ok()) {
      return Status::InvalidArgument("step '" + invocation.step_name +
                                     "': " + checked.message());
    }
    // What ListCodeFiles makes: normal, '/'-separated, naming a file.
    if (path == "." ||
        fs::path(path).lexically_normal().generic_string() != path) {
      return refuse("code path '" + path + "'", "is not a normal path");
    }
  }
  for (const auto& [name, value] : invocation.env) {
    if (!IsEnvName(name)) {
      return refuse("env name '" + name + "'",
                    "must be a variable name ([A-Za-z_][A-Za-z0-9_]*)");
    }
  }
  return Status::Ok();
}

Result<StepInvocation> StepInvocation::FromJson(const Json& json) {
  StepInvocation invocation;
  try {
    invocation.step_name = json.at("step").get<std::string>();
    invocation.component = json.at("component").get<std::string>();
    invocation.argv = json.at("argv").get<std::vector<std::string>>();
    invocation.env =
        json.at("env").get<std::map<std::string, std::string>>();
    for (const auto& [path, file] : json.at("code").items()) {
      ASSIGN_OR_RETURN(Digest digest,
                       Digest::Parse(file.at("digest").get<std::string>()));
      invocation.code[path] = {digest, file.at("executable").get<bool>()};
    }
    for (const auto& [name, digest_text] : json.at("inputs").items()) {
      ASSIGN_OR_RETURN(invocation.inputs[name],
                       Digest::Parse(digest_text.get<std::string>()));
    }
    invocation.outputs = json.at("outputs").get<std::vector<std::string>>();
    invocation.sandbox = json.at("sandbox") == "none"
                             ? SandboxMode::kNone
                             : SandboxMode::kBubblewrap;
    invocation.timeout_millis = json.at("timeout_ms").get<int64_t>();
    invocation.seed = json.value("seed", "");
    if (json.contains("folder_inputs")) {
      invocation.folder_inputs =
          json.at("folder_inputs").get<std::set<std::string>>();
    }
    if (json.contains("tree_inputs")) {
      invocation.tree_inputs =
          json.at("tree_inputs").get<std::set<std::string>>();
    }
    invocation.image = json.value("image", "");
  } catch (const Json::exception& error) {
    return Status::InvalidArgument(std::string("malformed step record: ") +
                                   error.what());
  }
  // A manifest is untrusted input: its names become paths.
  Status named = CheckInvocationNames(invocation);
  if (!named.ok()) {
    return Status::InvalidArgument("malformed step record: " +
                                   named.message());
  }
  return invocation;
}

namespace {

// "train" for "train[3]": an iteration's cache entry is keyed by its item,
// not its position (docs/pipeline-file.md), so the position must not
// reach the step, whose output could otherwise depend on it unkeyed.
std::string StepOfIteration(const std::string& name) {
  size_t open = name.rfind('[');
  if (open == std::string::npos || name.back() != ']' ||
      open + 2 >= name.size()) {
    return name;
  }
  for (size_t i = open + 1; i + 1 < name.size(); ++i) {
    if (name[i] < '0' || name[i] > '9') {
      return name;
    }
  }
  return name.substr(0, open);
}

}  // namespace

std::map<std::string, std::string> FixedStepEnvironment(
    const StepInvocation& invocation) {
  bool sandboxed = invocation.sandbox == SandboxMode::kBubblewrap;
  std::map<std::string, std::string> env = {
      {"PATH", "/usr/local/bin:/usr/bin:/bin"},
      {"TZ", "UTC"},
      {"LC_ALL", "C.UTF-8"},
      {"LANG", "C.UTF-8"},
      {"SOURCE_DATE_EPOCH", kSourceDateEpoch},
      {"PYTHONHASHSEED", "0"},
      {"PYTHONDONTWRITEBYTECODE", "1"},
      {"LOCKSTEP_STEP", StepOfIteration(invocation.step_name)},
  };
  if (sandboxed) {
    env["HOME"] = "/tmp";
    env["TMPDIR"] = "/tmp";
  }
  if (!invocation.seed.empty()) {
    env["LOCKSTEP_SEED"] = invocation.seed;
  }
  return env;
}

namespace {

std::vector<std::string> SandboxProbeArgv(const fs::path& bwrap) {
  std::vector<std::string> argv = {
      bwrap.string(), "--unshare-all", "--ro-bind", "/usr", "/usr",
      "--symlink", "usr/bin", "/bin", "--symlink", "usr/lib", "/lib"};
  if (HostHasLib64()) {
    argv.insert(argv.end(), {"--symlink", "usr/lib64", "/lib64"});
  }
  argv.insert(argv.end(), {"--", "/usr/bin/true"});
  return argv;
}

}  // namespace

store::HostFactKey SandboxProbeKey(const fs::path& bwrap) {
  store::HostFactKey key;
  key.AddValue("argv", SandboxProbeArgv(bwrap));
  key.AddFile("bwrap", bwrap);
  key.AddFile("true", "/usr/bin/true");
  // What lets an unprivileged process make the namespaces bwrap needs
  // (Debian's and Ubuntu's switches, and the per-user limits).
  for (const char* setting :
       {"kernel/unprivileged_userns_clone",
        "kernel/apparmor_restrict_unprivileged_userns",
        "kernel/overflowuid", "kernel/overflowgid",
        "user/max_user_namespaces", "user/max_mnt_namespaces",
        "user/max_pid_namespaces", "user/max_net_namespaces",
        "user/max_ipc_namespaces", "user/max_uts_namespaces",
        "user/max_cgroup_namespaces"}) {
    key.AddFileContent(setting, fs::path("/proc/sys") / setting);
  }
  return key;
}

bool SandboxAvailable(const fs::path& store_root) {
  fs::path bwrap = store::ResolveOnPath("bwrap");
  if (bwrap.empty()) {
    return false;
  }
  // The key is read before the probe, so a change during it is seen by
  // the next run.
  std::optional<store::HostFactKey> key;
  if (!store_root.empty()) {
    key = SandboxProbeKey(bwrap);
    std::optional<Json> cached = store::LoadHostFact(store_root,
                                                     "sandbox", *key);
    if (cached.has_value() && *cached == true) {
      return true;
    }
  }
  ProcessSpec probe;
  probe.argv = SandboxProbeArgv(bwrap);
  Result<ProcessOutcome> outcome = RunProcess(probe);
  bool available = outcome.ok() && outcome->succeeded();
  if (available && key.has_value()) {
    store::SaveHostFact(store_root, "sandbox", *key, true);
  }
  return available;
}

namespace {

// The unpacked root of the step's image (pulled on first use, so that
// `reproduce` on another machine finds it too).
Result<fs::path> StepRootfs(const StepInvocation& invocation,
                            store::BlobStore* blobs) {
  if (invocation.sandbox != SandboxMode::kBubblewrap) {
    return Status::FailedPrecondition(
        "step '" + invocation.step_name + "' runs in image " +
        invocation.image + ", which needs the bubblewrap sandbox");
  }
  ASSIGN_OR_RETURN(registry::Reference ref,
                   image::ParseImageRef(invocation.image));
  RETURN_IF_ERROR(image::RequirePinned(ref, "step '" + invocation.step_name +
                                                "': "));
  return image::PrepareRootfs(*blobs, ref);
}

}  // namespace

Result<StepOutcome> ExecuteStep(const StepInvocation& invocation,
                                store::BlobStore* blobs,
                                const ExecutorConfig& config) {
  RETURN_IF_ERROR(CheckInvocationNames(invocation));
  fs::path rootfs;
  if (!invocation.image.empty()) {
    ASSIGN_OR_RETURN(rootfs, StepRootfs(invocation, blobs));
  }
  ASSIGN_OR_RETURN(fs::path dir,
                   MakeTempDirectory(config.work_root,
                                     invocation.step_name + "-"));
  Status laid_out = LayOutStep(invocation, blobs, dir);
  if (!laid_out.ok()) {
    RemoveAllQuietly(dir);
    return laid_out;
  }
  std::set<std::string> files_before = ListStepFiles(dir);

  // The environment: fixed variables, then the declared host ones.
  std::map<std::string, std::string> env_map =
      FixedStepEnvironment(invocation);
  bool sandboxed = invocation.sandbox == SandboxMode::kBubblewrap;
  if (!sandboxed) {
    env_map["HOME"] = (dir / "tmp").string();
    env_map["TMPDIR"] = (dir / "tmp").string();
  }
  for (const auto& [name, value] : invocation.env) {
    // A host that does not set a declared variable (or sets it empty)
    // leaves a fixed one as it is: `env: [TZ]` still runs in UTC there,
    // where it used to run with TZ blank.
    if (value.empty() && env_map.count(name) > 0) continue;
    env_map[name] = value;
  }
  std::vector<std::string> env;
  for (const auto& [name, value] : env_map) {
    env.push_back(name + "=" + value);
  }

  // The argv: built-ins run this very binary.
  std::vector<std::string> argv = invocation.argv;
  if (invocation.component != "command") {
    argv[0] = sandboxed ? kSandboxBinary : config.lockstep_binary.string();
  }
  ProcessSpec process;
  process.working_directory = dir;
  process.timeout_millis = invocation.timeout_millis;
  process.kill_leftovers = true;
  process.stdout_path = dir.string() + ".stdout";
  process.stderr_path = dir.string() + ".stderr";
  process.stderr_tail_bytes = kStderrTailBytes;
  // Beside the step's folder, where the step cannot touch it; read by
  // RecoverAbandonedRuns if this process is killed.
  process.group_record = dir.string() + kStepGroupSuffix;
  if (sandboxed) {
    std::vector<std::string> sandbox =
        rootfs.empty() ? SandboxArgv(invocation, dir, config, env)
                       : ImageSandboxArgv(invocation, rootfs, dir, env);
    // bwrap stays in the sandbox as its PID 1, and a step can read that
    // process's cmdline: its options (host paths of the store, the run's
    // folder) go through descriptor 3, which bwrap closes after reading.
    std::string options;
    for (size_t i = 1; i + 1 < sandbox.size(); ++i) {
      options += sandbox[i];
      options += '\0';
    }
    process.fd3_contents = std::move(options);
    process.argv = {sandbox.front(), "--args", "3", "--"};
    process.argv.insert(process.argv.end(), argv.begin(), argv.end());
    process.environment = std::vector<std::string>{};
  } else {
    process.argv = argv;
    process.environment = env;
  }

  StepOutcome outcome;
  Result<ProcessOutcome> ran = RunProcess(process);
  Status status = ran.status();
  if (status.ok()) {
    outcome.process = *ran;
  }
  // Kept in memory as it was copied: read back from the file, it lacked
  // what a full disk refused (found by a tester).
  std::string stderr_text =
      status.ok() ? std::move(outcome.process.stderr_tail) : "";
  if (status.ok()) {
    ASSIGN_OR_RETURN(outcome.stdout_digest,
                     AdoptLog(blobs, process.stdout_path));
    ASSIGN_OR_RETURN(outcome.stderr_digest,
                     AdoptLog(blobs, process.stderr_path));
  }

  if (status.ok() && !outcome.process.succeeded()) {
    outcome.failure =
        DescribeFailure(outcome, stderr_text, invocation.sandbox);
  } else if (status.ok()) {
    std::set<std::string> files_after = ListStepFiles(dir);
    std::string stray;
    for (const std::string& file : files_after) {
      if (!files_before.contains(file)) {
        stray += (stray.empty() ? "" : ", ") + file;
      }
    }
    if (!stray.empty()) {
      outcome.failure = "the step wrote outside its declared outputs: " +
                        stray + " (write results to outputs/NAME and "
                        "scratch files to $TMPDIR)";
    } else {
      status = CollectOutputs(invocation, blobs, dir, &outcome);
    }
  }

  if (!config.keep_work) {
    RemoveAllQuietly(dir);
  }
  RETURN_IF_ERROR(status);
  return outcome;
}

}  // namespace lockstep::pipeline
