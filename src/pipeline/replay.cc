// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "pipeline/replay.h"

#include <sys/stat.h>

#include <cstdlib>

#include "core/files.h"
#include "pipeline/runner.h"

namespace lockstep::pipeline {

namespace fs = std::filesystem;

namespace {

// Each part is length-prefixed, so no two part lists hash alike.
void AddPart(Sha256* hasher, std::string_view part) {
  std::string length = std::to_string(part.size()) + ":";
  hasher->Update(length);
  hasher->Update(part);
}

std::string StatText(const data::StatKey& key) {
  return StatKeyToJson(key).dump();
}

// "" when `path` (links followed, or not for a blob) still has `identity`.
std::string PathMismatch(const std::string& path, const Json& identity,
                         bool follow_links) {
  struct stat info;
  int failed = follow_links ? ::stat(path.c_str(), &info)
                            : ::lstat(path.c_str(), &info);
  if (failed != 0) {
    return path + " is gone";
  }
  if (!(data::StatKeyOf(info) == StatKeyFromJson(identity))) {
    return path + " changed";
  }
  return "";
}

}  // namespace

void ReplayInputs::WatchIfSettled(std::vector<WatchedPath>* list,
                                  const std::string& path,
                                  const data::StatKey& identity,
                                  int64_t read_at_ns) {
  int64_t changed = std::max(identity.mtime_ns, identity.ctime_ns);
  if (read_at_ns - changed < data::StatCache::kRacyWindowNs) {
    Refuse(path + " changed less than 2 s before it was read");
    return;
  }
  list->push_back({path, identity});
}

Result<Digest> ReplayFingerprint(const ReplayFingerprintParts& parts) {
  struct stat binary;
  if (::stat(parts.lockstep_binary.c_str(), &binary) != 0) {
    return Status::NotFound("cannot stat the lockstep binary");
  }
  Sha256 hasher;
  AddPart(&hasher, "lockstep-replay-v1");
  AddPart(&hasher, parts.lockstep_version);
  AddPart(&hasher, parts.lockstep_binary.string());
  AddPart(&hasher, StatText(data::StatKeyOf(binary)));
  AddPart(&hasher, parts.metadata_url);
  AddPart(&hasher, fs::absolute(parts.pipeline_file).lexically_normal()
                       .string());
  AddPart(&hasher, Sha256Of(parts.pipeline_bytes).ToString());
  AddPart(&hasher, std::to_string(parts.param_overrides.size()));
  for (const std::string& param : parts.param_overrides) {
    AddPart(&hasher, param);
  }
  AddPart(&hasher, parts.params_file);
  if (!parts.params_file.empty()) {
    AddPart(&hasher, Sha256Of(parts.params_bytes).ToString());
  }
  AddPart(&hasher, parts.sandbox);
  AddPart(&hasher, parts.allow_tags ? "tags" : "pinned");
  return hasher.Finish();
}

fs::path ReplayRecordPath(const fs::path& store, const Digest& fingerprint) {
  return store / "cache" / "replay-v1" / (fingerprint.hex() + ".json");
}

fs::path ReplayStepsPath(const fs::path& store, const Digest& fingerprint) {
  return store / "cache" / "replay-v1" / (fingerprint.hex() + ".steps");
}

Json StatKeyToJson(const data::StatKey& key) {
  return Json::array({key.device, key.inode, key.size, key.mtime_ns,
                      key.ctime_ns});
}

data::StatKey StatKeyFromJson(const Json& json) {
  data::StatKey key;
  if (!json.is_array() || json.size() != 5) {
    return key;  // Matches no real file.
  }
  key.device = json[0].get<uint64_t>();
  key.inode = json[1].get<uint64_t>();
  key.size = json[2].get<uint64_t>();
  key.mtime_ns = json[3].get<int64_t>();
  key.ctime_ns = json[4].get<int64_t>();
  return key;
}

std::string ReplayMismatch(const Json& record,
                           const store::BlobStore& blobs) {
  for (const auto& [name, value] : record.at("env").items()) {
    const char* now = std::getenv(name.c_str());
    if ((now != nullptr ? now : "") != value.get<std::string>()) {
      return "env " + name + " changed";
    }
  }
  if (HostToolchain() != record.at("toolchain")) {
    return "the host toolchain changed";
  }
  for (const auto& [name, path] : record.at("programs").items()) {
    if (FindStepProgram(name).string() != path.get<std::string>()) {
      return "program " + name + " resolves elsewhere";
    }
  }
  for (const char* list : {"program_files", "files"}) {
    for (const Json& file : record.at(list)) {
      std::string why = PathMismatch(file.at(0).get<std::string>(),
                                     file.at(1), true);
      if (!why.empty()) {
        return why;
      }
    }
  }
  // Step outputs, always loose blobs (AdoptFile), checked by their file.
  for (const auto& [digest, identity] : record.at("blobs").items()) {
    Result<Digest> parsed = Digest::Parse(digest);
    if (!parsed.ok()) {
      return "bad blob digest in the record";
    }
    std::string why =
        PathMismatch(blobs.PathOf(*parsed).string(), identity, false);
    if (!why.empty()) {
      return "output blob " + why;
    }
  }
  for (const Json& digest : record.at("needed_blobs")) {
    Result<Digest> parsed = Digest::Parse(digest.get<std::string>());
    if (!parsed.ok()) {
      return "bad blob digest in the record";
    }
    if (!blobs.Contains(*parsed)) {
      return "blob " + parsed->ToString() + " the manifest names is gone";
    }
  }
  return "";
}

}  // namespace lockstep::pipeline
