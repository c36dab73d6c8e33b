// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// The run-level no-op fast path (docs/caching.md, "Replaying a run").
// A normal run collects, while it computes its steps' cache keys, every
// thing outside the store those keys were computed from: the declared
// environment variables' values, each code file and folder and each
// step program with its stat, the host toolchain, and the stats of the
// output blobs it reused or made. When every step ran or hit, the CLI
// saves that as a replay record under <store>/cache/replay-v1/, named by
// a fingerprint of the run's cheap inputs (the pipeline file's bytes,
// the params given, the run options, the Lockstep binary). A later run
// with the same fingerprint whose every recorded stat, value and program
// still matches is recorded as a cached replay of that run without
// parsing the pipeline. Anything else takes the normal path.

#ifndef LOCKSTEP_PIPELINE_REPLAY_H_
#define LOCKSTEP_PIPELINE_REPLAY_H_

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/digest.h"
#include "core/status.h"
#include "data/stat_cache.h"
#include "store/blob_store.h"

namespace lockstep::pipeline {

using Json = nlohmann::json;

// A file or folder (links followed) with the stat it had before it was
// read for a key.
struct WatchedPath {
  std::string path;  // Absolute.
  data::StatKey identity;
};

// What a normal run's keys were computed from outside the store.
struct ReplayInputs {
  // Why this run cannot be replayed later; empty when it can.
  std::string refused;
  std::vector<WatchedPath> files;               // Code files and folders.
  std::map<std::string, std::string> programs;  // argv[0] -> resolved path
  std::vector<WatchedPath> program_files;       // Resolved programs.
  std::map<std::string, std::string> env;       // Declared variables.
  // Output blobs by digest, with the lstat the blob stat cache vouches
  // for (a blob hashed right at least the racy window after it changed).
  std::map<std::string, data::StatKey> blobs;

  void Refuse(const std::string& why) {
    if (refused.empty()) {
      refused = why;
    }
  }
  // Refuses when `identity` changed less than the racy window before
  // `read_at_ns`: a rewrite right after could keep the same stat.
  void WatchIfSettled(std::vector<WatchedPath>* list, const std::string& path,
                      const data::StatKey& identity, int64_t read_at_ns);
};

// The cheap parts of a run, known before the pipeline file is parsed.
struct ReplayFingerprintParts {
  std::filesystem::path lockstep_binary;
  std::string lockstep_version;
  std::string metadata_url;
  std::filesystem::path pipeline_file;  // As given.
  std::string pipeline_bytes;
  std::vector<std::string> param_overrides;
  std::string params_file;  // Path as given; empty when none.
  std::string params_bytes;  // The bytes the run read from it.
  std::string sandbox;      // bubblewrap | none
  bool allow_tags = false;
};

// sha256 over the parts and the binary's stat. NotFound when the binary
// cannot be stat'ed. Files are never read here: the bytes hashed are the
// ones the run used.
Result<Digest> ReplayFingerprint(const ReplayFingerprintParts& parts);

// <store>/cache/replay-v1/<hex>.json and .steps for a fingerprint.
std::filesystem::path ReplayRecordPath(const std::filesystem::path& store,
                                       const Digest& fingerprint);
std::filesystem::path ReplayStepsPath(const std::filesystem::path& store,
                                      const Digest& fingerprint);

Json StatKeyToJson(const data::StatKey& key);
data::StatKey StatKeyFromJson(const Json& json);

// Checks the record's environment variables, toolchain, programs, code
// files and folders, output blobs and the other blobs the manifest names
// (pipeline and code files) against the host and store now.
// Returns "" when everything matches, else what differs first.
std::string ReplayMismatch(const Json& record, const store::BlobStore& blobs);

}  // namespace lockstep::pipeline

#endif  // LOCKSTEP_PIPELINE_REPLAY_H_
