// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "store/host_facts.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>

#include "core/canonical_json.h"
#include "core/clock.h"
#include "core/files.h"

namespace lockstep::store {

namespace fs = std::filesystem;
using Json = nlohmann::json;

namespace {

// A file changed less than this before it was looked at may change again
// within its file system's timestamp granularity, keeping its stat.
constexpr int64_t kRacyWindowNs = 2'000'000'000;

// Symlinks followed before giving up (the kernel's own limit).
constexpr int kMaxLinks = 40;

Json StatJson(const struct stat& st) {
  return {static_cast<int64_t>(st.st_dev), static_cast<int64_t>(st.st_ino),
          static_cast<int64_t>(st.st_mode), static_cast<int64_t>(st.st_uid),
          static_cast<int64_t>(st.st_gid), static_cast<int64_t>(st.st_size),
          UnixNanosOf(st.st_mtim), UnixNanosOf(st.st_ctim)};
}

fs::path HostFactPath(const fs::path& store_root, std::string_view name) {
  return store_root / "cache" / "host-v1" / (std::string(name) + ".json");
}

}  // namespace

HostFactKey::HostFactKey() {
  AddFileContent("boot_id", "/proc/sys/kernel/random/boot_id");
  std::error_code error;
  for (const char* ns : {"mnt", "user", "pid", "net"}) {
    fs::path target = fs::read_symlink(fs::path("/proc/self/ns") / ns, error);
    AddValue(std::string("ns_") + ns,
             error ? Json(nullptr) : Json(target.string()));
  }
  AddValue("uid", {static_cast<int64_t>(::getuid()),
                   static_cast<int64_t>(::geteuid())});
}

void HostFactKey::AddFile(const std::string& label, const fs::path& path) {
  Json chain = Json::array();
  int64_t now = NowUnixNanos();
  fs::path current = path;
  for (int links = 0; links <= kMaxLinks; ++links) {
    struct stat st;
    if (::lstat(current.c_str(), &st) != 0) {
      chain.push_back({current.string(), nullptr});
      break;
    }
    if (now - UnixNanosOf(st.st_ctim) < kRacyWindowNs ||
        now - UnixNanosOf(st.st_mtim) < kRacyWindowNs) {
      settled_ = false;
    }
    chain.push_back({current.string(), StatJson(st)});
    if (!S_ISLNK(st.st_mode)) {
      break;
    }
    std::error_code error;
    fs::path target = fs::read_symlink(current, error);
    if (error) {
      break;
    }
    current = target.is_absolute() ? target : current.parent_path() / target;
  }
  json_[label] = std::move(chain);
}

void HostFactKey::AddFileContent(const std::string& label,
                                 const fs::path& path) {
  Result<std::string> bytes = ReadFile(path);
  json_[label] = bytes.ok() ? Json(*bytes) : Json(nullptr);
}

void HostFactKey::AddValue(const std::string& label, Json value) {
  json_[label] = std::move(value);
}

std::optional<Json> LoadHostFact(const fs::path& store_root,
                                 std::string_view name,
                                 const HostFactKey& key) {
  Result<std::string> text = ReadFile(HostFactPath(store_root, name));
  if (!text.ok()) {
    return std::nullopt;
  }
  Json record = ParseJsonOrDiscarded(*text);
  if (!record.is_object() || !record.contains("answer") ||
      record.value("key", Json()) != key.json()) {
    return std::nullopt;
  }
  return record["answer"];
}

void SaveHostFact(const fs::path& store_root, std::string_view name,
                  const HostFactKey& key, const Json& answer) {
  if (!key.settled() || store_root.empty()) {
    return;
  }
  Json record = {{"key", key.json()}, {"answer", answer}};
  (void)WriteFileAtomically(HostFactPath(store_root, name), record.dump());
}

fs::path ResolveOnPath(const std::string& name) {
  if (name.empty()) {
    return {};
  }
  if (name.find('/') != std::string::npos) {
    return name;
  }
  // posix_spawnp's search: $PATH, or glibc's default when it is unset;
  // an empty entry is the current folder.
  const char* path = std::getenv("PATH");
  std::string_view rest = path != nullptr ? path : "/bin:/usr/bin";
  while (true) {
    size_t colon = rest.find(':');
    std::string_view dir = rest.substr(0, colon);
    fs::path candidate = (dir.empty() ? fs::path(".") : fs::path(dir)) / name;
    struct stat st;
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        ::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
    if (colon == std::string_view::npos) {
      return {};
    }
    rest.remove_prefix(colon + 1);
  }
}

}  // namespace lockstep::store
