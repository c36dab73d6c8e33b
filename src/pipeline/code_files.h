// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// The files behind a step's `code:` entries (docs/caching.md). An entry is
// a file or a folder relative to the pipeline file; folders are walked
// recursively and symlinks, to files or to folders, are followed, so the
// step gets, and its cache key covers, every byte it can read through
// them. What cannot be followed (a symlink loop, a dangling link, a fifo,
// an unreadable folder) is an error naming the path, never dropped. The
// one thing left out is a Lockstep store found inside a code folder
// (`code: [.]` with the default .lockstep store): its blobs and database
// are not code, and would change the key on every run.
// Validation and the runner both list code through here, so a pipeline
// that validates lays out the same files it was checked with.

#ifndef LOCKSTEP_PIPELINE_CODE_FILES_H_
#define LOCKSTEP_PIPELINE_CODE_FILES_H_

#include <filesystem>
#include <string>
#include <vector>

#include "core/status.h"
#include "data/stat_cache.h"

namespace lockstep::pipeline {

// More files than this under one entry is refused: links between folders
// that are not loops can still multiply the files without bound.
inline constexpr size_t kMaxCodeFiles = 100000;

struct CodeFile {
  std::filesystem::path source;  // Where the bytes are read from.
  std::string relative;          // Path in the step folder, '/'-separated.
  bool executable = false;       // Owner execute bit of the file itself.
  // The stat (links followed) taken before the file was listed: what a
  // replay record (pipeline/replay.h) compares it with later.
  data::StatKey identity;
};

// A folder the walk listed, with its stat (links followed) taken before
// listing: any entry added, removed or renamed in it changes its times.
struct CodeFolder {
  std::filesystem::path path;
  data::StatKey identity;
};

// The regular files of the code entry `entry` (relative to `directory`),
// in path order. NotFound when the entry does not exist; InvalidArgument
// "code path P: REASON" for a path CheckCodePath refuses (absolute,
// leaving the folder, or in a step layout folder), a loop, a dangling
// link, a special file or an unreadable folder at P (relative, as the
// step would see it). Each file's `relative` is built from the names on
// the way down, never from a link's target, so a symlink cannot move
// where a file lands in the step folder.
Result<std::vector<CodeFile>> ListCodeFiles(
    const std::filesystem::path& directory, const std::string& entry,
    std::vector<CodeFolder>* folders = nullptr);

// Whether `path` is (or links to) a Lockstep store: it holds blobs/sha256/
// and a store-id file, or (an older store) runs/ and tmp/ folders. An OCI
// image layout, which holds blobs/sha256/ too, is not one.
bool IsStoreFolder(const std::filesystem::path& path);

}  // namespace lockstep::pipeline

#endif  // LOCKSTEP_PIPELINE_CODE_FILES_H_
