// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "env/capture.h"

#include <gnu/libc-version.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "core/json_keys.h"
#include "core/files.h"
#include "core/subprocess.h"
#include "env/lockfile.h"

namespace lockstep::env {
namespace {

std::string_view Trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(
                              text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(
                              text.back()))) {
    text.remove_suffix(1);
  }
  return text;
}

// Calls `visit(line)` for each line of `text`.
template <typename Visit>
void ForEachLine(std::string_view text, Visit visit) {
  while (!text.empty()) {
    size_t end = text.find('\n');
    visit(text.substr(0, end));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
}

// Splits "key<separator>value", trimming both; false without separator.
bool SplitField(std::string_view line, char separator, std::string_view* key,
                std::string_view* value) {
  size_t at = line.find(separator);
  if (at == std::string_view::npos) return false;
  *key = Trim(line.substr(0, at));
  *value = Trim(line.substr(at + 1));
  return true;
}

Json StringOrNull(const std::optional<std::string>& value) {
  return value ? Json(*value) : Json(nullptr);
}

std::optional<std::string> ReadOptional(const fs::path& path) {
  auto text = ReadFile(path);
  if (!text.ok()) return std::nullopt;
  return *text;
}

// Runs a program and returns its stdout, or nullopt when it cannot be
// started or fails.
std::optional<std::string> RunForOutput(std::vector<std::string> argv) {
  auto folder = MakeTempDirectory(fs::temp_directory_path(), "capture");
  if (!folder.ok()) return std::nullopt;
  ProcessSpec spec;
  spec.argv = std::move(argv);
  spec.stdout_path = *folder / "stdout";
  spec.timeout_millis = 30000;
  auto outcome = RunProcess(spec);
  std::optional<std::string> output;
  if (outcome.ok() && outcome->succeeded()) {
    output = ReadOptional(spec.stdout_path);
  }
  RemoveAllQuietly(*folder);
  return output;
}

bool OnPath(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::string_view rest = path ? path : "";
  while (!rest.empty()) {
    size_t colon = rest.find(':');
    fs::path candidate = fs::path(rest.substr(0, colon)) / program;
    if (::access(candidate.c_str(), X_OK) == 0) return true;
    if (colon == std::string_view::npos) break;
    rest.remove_prefix(colon + 1);
  }
  return false;
}

std::optional<std::string> FirstLine(const std::optional<std::string>& text) {
  if (!text) return std::nullopt;
  std::string_view line = Trim(std::string_view(*text).substr(
      0, text->find('\n')));
  if (line.empty()) return std::nullopt;
  return std::string(line);
}

Json CaptureKernel() {
  struct utsname names;
  if (::uname(&names) != 0) return nullptr;
  return {{"name", names.sysname},
          {"release", names.release},
          {"version", names.version},
          {"machine", names.machine}};
}

// gcc's version line, from the store's cache when its key still holds.
Json GccVersionLine(const fs::path& cache_root) {
  fs::path gcc = store::ResolveOnPath("gcc");
  if (gcc.empty()) {
    return nullptr;
  }
  std::optional<store::HostFactKey> key;
  if (!cache_root.empty()) {
    key = CompilerKey(gcc);
    std::optional<Json> cached =
        store::LoadHostFact(cache_root, "gcc-version", *key);
    if (cached.has_value() && cached->is_string()) {
      return *cached;
    }
  }
  Json line = StringOrNull(FirstLine(RunForOutput({gcc.string(),
                                                   "--version"})));
  // A failure may be passing (a timeout under load): never cached.
  if (line.is_string() && key.has_value()) {
    store::SaveHostFact(cache_root, "gcc-version", *key, line);
  }
  return line;
}

Json CaptureCompiler(const fs::path& cache_root) {
#if defined(__clang__)
  std::string build = "clang " __clang_version__;
#elif defined(__GNUC__)
  std::string build = "gcc " __VERSION__;
#else
  std::string build = "unknown";
#endif
  return {{"lockstep_build", build}, {"gcc", GccVersionLine(cache_root)}};
}

// NVIDIA's driver file, then nvidia-smi; null when neither is present.
Json CaptureGpu(const fs::path& root) {
  Json gpu = {{"driver", nullptr}, {"models", Json::array()}};
  auto version = FirstLine(ReadOptional(root / "proc/driver/nvidia/version"));
  if (version) gpu["driver"] = *version;
  if (OnPath("nvidia-smi")) {
    auto output = RunForOutput({"nvidia-smi",
                                "--query-gpu=name,driver_version",
                                "--format=csv,noheader"});
    if (output) {
      ForEachLine(*output, [&](std::string_view line) {
        std::string_view name, driver;
        if (SplitField(line, ',', &name, &driver)) {
          gpu["models"].push_back(std::string(name));
          if (gpu["driver"].is_null()) gpu["driver"] = std::string(driver);
        }
      });
    }
  }
  if (gpu["driver"].is_null() && gpu["models"].empty()) return nullptr;
  return gpu;
}

constexpr char kPythonProbe[] =
    "import json, sys, sysconfig\n"
    "p = sysconfig.get_paths()\n"
    "print(json.dumps({'executable': sys.executable,\n"
    "  'version': sys.version.split()[0],\n"
    "  'paths': sorted({p['purelib'], p['platlib']})}))\n";

Result<Json> CapturePython(const std::string& python) {
  auto output = RunForOutput({python, "-c", kPythonProbe});
  if (!output) {
    return Status::Unavailable(
        fmt::format("python '{}' could not be run to list its packages",
                    python));
  }
  ASSIGN_OR_RETURN(Json probe, ParseJson(*output, python + " output"));
  Json packages = Json::object();
  for (const Json& path : probe["paths"]) {
    auto dists = ReadInstalledDistributions(path.get<std::string>());
    if (!dists.ok()) continue;  // A path may not exist (no user site).
    for (const auto& [name, dist] : *dists) packages[name] = dist.version;
  }
  return Json{{"executable", probe["executable"]},
              {"version", probe["version"]},
              {"packages", packages}};
}

bool IsListOfScalars(const Json& value) {
  return value.is_array() &&
         std::all_of(value.begin(), value.end(),
                     [](const Json& v) { return !v.is_structured(); });
}

void DiffValues(const std::string& field, const Json& a, const Json& b,
                std::vector<EnvironmentChange>* changes) {
  if (a.is_object() && b.is_object()) {
    std::set<std::string> keys;
    for (const auto& item : a.items()) keys.insert(item.key());
    for (const auto& item : b.items()) keys.insert(item.key());
    for (const std::string& key : keys) {
      Json left = a.contains(key) ? a[key] : Json(nullptr);
      Json right = b.contains(key) ? b[key] : Json(nullptr);
      DiffValues(field + "/" + PointerToken(key), left, right, changes);
    }
    return;
  }
  if (IsListOfScalars(a) && IsListOfScalars(b)) {
    std::set<std::string> left, right;
    for (const Json& v : a) left.insert(v.dump());
    for (const Json& v : b) right.insert(v.dump());
    for (const std::string& v : left) {
      if (!right.contains(v)) {
        changes->push_back({field, Json::parse(v), nullptr});
      }
    }
    for (const std::string& v : right) {
      if (!left.contains(v)) {
        changes->push_back({field, nullptr, Json::parse(v)});
      }
    }
    return;
  }
  if (a != b) changes->push_back({field, a, b});
}

// The version of package `name` ("libc6" or "libc6:amd64") in a capture's
// debian_packages, or null.
Json DebianVersion(const Json& packages, const std::string& name) {
  if (!packages.is_object()) return nullptr;
  if (packages.contains(name)) return packages[name];
  for (const auto& item : packages.items()) {
    if (item.key().starts_with(name + ":")) return item.value();
  }
  return nullptr;
}

Json Field(const Json& capture, const char* a, const char* b) {
  if (capture.contains(a) && capture[a].is_object() &&
      capture[a].contains(b)) {
    return capture[a][b];
  }
  return nullptr;
}

}  // namespace

Json ParseOsRelease(std::string_view text) {
  Json out = {{"id", nullptr}, {"version_id", nullptr},
              {"pretty_name", nullptr}};
  ForEachLine(text, [&](std::string_view line) {
    std::string_view key, value;
    if (!SplitField(line, '=', &key, &value)) return;
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
        value.back() == value.front()) {
      value = value.substr(1, value.size() - 2);
    }
    if (key == "ID") out["id"] = std::string(value);
    if (key == "VERSION_ID") out["version_id"] = std::string(value);
    if (key == "PRETTY_NAME") out["pretty_name"] = std::string(value);
  });
  return out;
}

Json ParseCpuInfo(std::string_view text) {
  Json out = {{"model", nullptr}, {"flags", Json::array()}};
  bool have_flags = false;
  ForEachLine(text, [&](std::string_view line) {
    std::string_view key, value;
    if (!SplitField(line, ':', &key, &value)) return;
    if (key == "model name" && out["model"].is_null()) {
      out["model"] = std::string(value);
    }
    // x86 says "flags", ARM says "Features".
    if ((key == "flags" || key == "Features") && !have_flags) {
      have_flags = true;
      std::set<std::string> flags;
      size_t i = 0;
      while (i < value.size()) {
        size_t end = value.find(' ', i);
        if (end == std::string_view::npos) end = value.size();
        if (end > i) flags.insert(std::string(value.substr(i, end - i)));
        i = end + 1;
      }
      out["flags"] = flags;
    }
  });
  return out;
}

uint64_t ParseMemTotal(std::string_view text) {
  uint64_t bytes = 0;
  ForEachLine(text, [&](std::string_view line) {
    std::string_view key, value;
    if (!SplitField(line, ':', &key, &value) || key != "MemTotal") return;
    bytes = std::strtoull(std::string(value).c_str(), nullptr, 10) * 1024;
  });
  return bytes;
}

std::map<std::string, std::string> ParseDpkgStatus(std::string_view text) {
  std::map<std::string, std::string> packages;
  std::string name, version, arch;
  bool installed = false;
  auto finish = [&] {
    if (installed && !name.empty() && !version.empty()) {
      packages[arch.empty() ? name : name + ":" + arch] = version;
    }
    name.clear();
    version.clear();
    arch.clear();
    installed = false;
  };
  ForEachLine(text, [&](std::string_view line) {
    if (Trim(line).empty()) {
      finish();
      return;
    }
    if (line.front() == ' ' || line.front() == '\t') return;  // Continued.
    std::string_view key, value;
    if (!SplitField(line, ':', &key, &value)) return;
    if (key == "Package") name = value;
    if (key == "Version") version = value;
    if (key == "Architecture") arch = value;
    if (key == "Status") installed = value.ends_with(" installed");
  });
  finish();
  return packages;
}

store::HostFactKey CompilerKey(const fs::path& gcc) {
  store::HostFactKey key;
  key.AddFile("gcc", gcc);
  for (const char* name : {"LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG",
                           "GCC_EXEC_PREFIX", "COMPILER_PATH"}) {
    const char* value = std::getenv(name);
    key.AddValue(name, value != nullptr ? Json(value) : Json(nullptr));
  }
  return key;
}

// The installed Debian packages, from the store's cache while dpkg's
// status file keeps its stat: parsing its ~1 MB took a tenth of a
// 1,000-step no-op run. The key is taken before the file is read, so a
// change in between only makes the next run read it again.
Json DebianPackages(const fs::path& root, const fs::path& cache_root) {
  fs::path path = root / "var/lib/dpkg/status";
  std::optional<store::HostFactKey> key;
  if (!cache_root.empty()) {
    key.emplace();
    key->AddFile("dpkg-status", path);
    std::optional<Json> cached =
        store::LoadHostFact(cache_root, "debian-packages", *key);
    if (cached.has_value()) {
      return *cached;
    }
  }
  auto status = ReadOptional(path);
  Json packages = status ? Json(ParseDpkgStatus(*status)) : Json(nullptr);
  if (key.has_value()) {
    store::SaveHostFact(cache_root, "debian-packages", *key, packages);
  }
  return packages;
}

Result<Json> CaptureEnvironment(const CaptureOptions& options) {
  const fs::path& root = options.root;
  Json out;
  auto os_release = ReadOptional(root / "etc/os-release");
  out["os"] = os_release ? ParseOsRelease(*os_release) : Json(nullptr);
  out["kernel"] = CaptureKernel();

  auto cpuinfo = ReadOptional(root / "proc/cpuinfo");
  out["cpu"] = cpuinfo ? ParseCpuInfo(*cpuinfo)
                       : Json{{"model", nullptr}, {"flags", Json::array()}};
  out["cpu"]["cores"] = ::sysconf(_SC_NPROCESSORS_ONLN);
  auto meminfo = ReadOptional(root / "proc/meminfo");
  out["memory_bytes"] = meminfo ? Json(ParseMemTotal(*meminfo))
                                : Json(nullptr);

  out["compiler"] = CaptureCompiler(options.cache_root);
  out["libc"] = {{"name", "glibc"}, {"version", gnu_get_libc_version()}};
  out["debian_packages"] = DebianPackages(root, options.cache_root);
  if (!options.python.empty()) {
    ASSIGN_OR_RETURN(out["python"], CapturePython(options.python));
  }
  out["gpu"] = CaptureGpu(root);
  return out;
}

std::vector<EnvironmentChange> DiffEnvironments(const Json& a, const Json& b) {
  std::vector<EnvironmentChange> changes;
  DiffValues("", a, b, &changes);
  return changes;
}

Json ChangesToJson(const std::vector<EnvironmentChange>& changes) {
  Json out = Json::array();
  for (const EnvironmentChange& change : changes) {
    out.push_back({{"field", change.field},
                   {"old", change.old_value},
                   {"new", change.new_value}});
  }
  return out;
}

Json ToolchainFingerprint(const Json& capture,
                          const std::vector<std::string>& debian_packages) {
  Json os = Field(capture, "os", "id");
  Json version = Field(capture, "os", "version_id");
  Json packages = Json::object();
  const Json empty;
  const Json& installed =
      capture.contains("debian_packages") ? capture["debian_packages"] : empty;
  for (const std::string& name : debian_packages) {
    packages[name] = DebianVersion(installed, name);
  }
  return {{"os", os.is_string() && version.is_string()
                     ? Json(os.get<std::string>() + " " +
                            version.get<std::string>())
                     : os},
          {"arch", Field(capture, "kernel", "machine")},
          {"compiler", Field(capture, "compiler", "gcc")},
          {"libc", Field(capture, "libc", "version")},
          {"debian_packages", packages}};
}

std::string FormatEnvironmentSummary(const Json& capture) {
  auto text = [](const Json& value) {
    if (value.is_null()) return std::string("(unknown)");
    return value.is_string() ? value.get<std::string>() : value.dump();
  };
  std::string out;
  out += fmt::format("os:        {}\n", text(Field(capture, "os",
                                                    "pretty_name")));
  out += fmt::format("kernel:    {} {}\n", text(Field(capture, "kernel",
                                                      "release")),
                     text(Field(capture, "kernel", "machine")));
  out += fmt::format("cpu:       {} ({} cores, {} flags)\n",
                     text(Field(capture, "cpu", "model")),
                     text(Field(capture, "cpu", "cores")),
                     Field(capture, "cpu", "flags").size());
  const Json& memory = capture["memory_bytes"];
  out += fmt::format("memory:    {}\n",
                     memory.is_number()
                         ? fmt::format("{:.1f} GiB",
                                       memory.get<double>() / (1 << 30))
                         : "(unknown)");
  out += fmt::format("compiler:  {}\n", text(Field(capture, "compiler",
                                                    "gcc")));
  out += fmt::format("libc:      glibc {}\n", text(Field(capture, "libc",
                                                         "version")));
  const Json& debian = capture["debian_packages"];
  out += fmt::format("debian:    {} packages\n",
                     debian.is_object() ? debian.size() : 0);
  if (capture.contains("python")) {
    out += fmt::format("python:    {} ({} packages)\n",
                       text(capture["python"]["version"]),
                       capture["python"]["packages"].size());
  }
  const Json& gpu = capture["gpu"];
  out += fmt::format("gpu:       {}\n",
                     gpu.is_null() ? std::string("none")
                                   : text(gpu["models"]) + " driver " +
                                         text(gpu["driver"]));
  return out;
}

}  // namespace lockstep::env
