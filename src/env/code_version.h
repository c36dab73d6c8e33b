// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// Which code a run used, through libgit2: commit, branch, remote and, when
// the work tree differs from its commit, a binary-safe git patch of the
// difference (untracked files included), kept as a blob so that a dirty
// run can still be reproduced. MaterializeCode rebuilds that exact tree
// in a fresh folder without touching the source repository's work tree,
// index or object database.

#ifndef LOCKSTEP_ENV_CODE_VERSION_H_
#define LOCKSTEP_ENV_CODE_VERSION_H_

#include <filesystem>
#include <string>
#include <string_view>

#include "core/canonical_json.h"
#include "core/digest.h"
#include "core/status.h"
#include "store/blob_store.h"

namespace lockstep::env {

namespace fs = std::filesystem;

struct CodeVersion {
  bool in_git_work_tree = false;
  std::string note;        // Why not, e.g. "not in a git work tree".
  std::string work_tree;   // Absolute root of the work tree.
  std::string commit;      // 40 hex; empty on a branch with no commits.
  std::string branch;      // Short name; empty when detached.
  bool detached = false;
  std::string remote_url;  // "origin" or else the first remote, no
                           // credentials; empty without remotes.
  bool dirty = false;      // Tracked changes, staged changes or untracked
                           // files that are not ignored.
  std::string patch;       // The dirty difference; in memory only.
  Digest patch_digest;     // sha256 of `patch`, when dirty.
  bool patch_stored = false;  // `patch` is in the blob store.

  // {"in_git_work_tree", "commit", "branch", "detached", "remote_url",
  //  "dirty", "patch_digest", "patch_stored"} (and "note" when not in
  // git); the patch itself is referenced by digest, never inlined.
  Json ToJson() const;
  // Reads ToJson()'s form back (without the patch text).
  static Result<CodeVersion> FromJson(const Json& json);
};

// Describes the work tree containing `folder`. Not being in a git work
// tree is a normal result (in_git_work_tree false), not an error. When
// dirty and `blobs` is given, the patch is stored there.
Result<CodeVersion> CaptureCodeVersion(const fs::path& folder,
                                       store::BlobStore* blobs = nullptr);

// OK when CaptureCodeVersion(folder) can work: libgit2 opens, or is not
// needed because no folder from `folder` up could hold a repository. A
// run checks this before its first step, so a missing library stops it
// before any work rather than at its manifest (FailedPrecondition naming
// the package).
Status CodeVersionAvailable(const fs::path& folder);

// Writes the tree of `version.commit` from the repository at `repo_path`
// into `destination` (which must not exist), then applies the dirty patch
// (from version.patch, else from `blobs` by patch_digest) so the folder
// equals the captured work tree. NotFound naming the commit when the
// repository lacks it; DataLoss when the patch does not match its digest.
// The folder appears whole (built beside it and renamed) or not at all.
Status MaterializeCode(const fs::path& repo_path, const CodeVersion& version,
                       const fs::path& destination,
                       const store::BlobStore* blobs = nullptr);

// Removes user:password@ (or a token@) from a URL; scp-style
// "git@host:path" and ssh user names without a password are kept.
std::string StripUrlCredentials(std::string_view url);

}  // namespace lockstep::env

#endif  // LOCKSTEP_ENV_CODE_VERSION_H_
