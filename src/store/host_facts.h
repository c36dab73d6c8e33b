// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// Answers about the host that cost a process to learn (whether bubblewrap
// can make a sandbox, the compiler's version line), cached in the store
// as <store>/cache/host-v1/<name>.json beside the key they were learnt
// under. A key lists everything that can change the answer and is read
// afresh on every use: files by path and stat (ctime included, so any
// write, chmod or relink changes it; each symlink on the way too),
// kernel settings and the boot id by value. Any difference, or a missing
// or damaged cache file, means learning the answer again.

#ifndef LOCKSTEP_STORE_HOST_FACTS_H_
#define LOCKSTEP_STORE_HOST_FACTS_H_

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace lockstep::store {

class HostFactKey {
 public:
  // The boot, the namespaces and the user this process runs as: part of
  // every key, since each can change what the host allows.
  HostFactKey();

  // The stat of `path` and of every symlink on the way to what it names
  // (null when missing).
  void AddFile(const std::string& label, const std::filesystem::path& path);
  // The bytes of a small file such as a /proc/sys setting (null when it
  // cannot be read).
  void AddFileContent(const std::string& label,
                      const std::filesystem::path& path);
  void AddValue(const std::string& label, nlohmann::json value);

  // False when a file added changed within the racy window (2 s, as for
  // blobs): it could change again without changing its stat.
  bool settled() const { return settled_; }
  const nlohmann::json& json() const { return json_; }

 private:
  nlohmann::json json_ = nlohmann::json::object();
  bool settled_ = true;
};

// The answer recorded for `name` under exactly `key`, else nullopt.
std::optional<nlohmann::json> LoadHostFact(
    const std::filesystem::path& store_root, std::string_view name,
    const HostFactKey& key);

// Records `answer` under `key` unless the key is unsettled. Best effort:
// a failure to write only means learning the answer again next time.
void SaveHostFact(const std::filesystem::path& store_root,
                  std::string_view name, const HostFactKey& key,
                  const nlohmann::json& answer);

// The file posix_spawnp would run for `name` with this process's PATH
// (a name with a slash as is); empty when there is none.
std::filesystem::path ResolveOnPath(const std::string& name);

}  // namespace lockstep::store

#endif  // LOCKSTEP_STORE_HOST_FACTS_H_
