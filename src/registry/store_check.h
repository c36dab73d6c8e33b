// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// `lockstep store verify`: the whole store checked, as zot's scrub or a
// file system's fsck check theirs, and safe beside a running registry.
// Reads verify digests one blob at a time; this reads every copy of
// every blob, and follows every reference the registry's manifests and
// index and the lineage store hold, so that damage no command has read
// yet (a flipped bit, a blob removed by hand, an index listing a child
// that is gone, a lost manifest_refs row) is found before someone needs
// the bytes.

#ifndef LOCKSTEP_REGISTRY_STORE_CHECK_H_
#define LOCKSTEP_REGISTRY_STORE_CHECK_H_

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "registry/index.h"
#include "registry/retention.h"
#include "store/blob_store.h"

namespace lockstep::registry {

struct StoreProblem {
  // "corrupt": bytes that no longer hash to their name (a blob, or a
  // pack's index); "missing": a blob a run or snapshot needs is gone;
  // "dangling": a tag, manifest or index names what the registry does
  // not hold; "invalid": a manifest's bytes no longer parse; "index": the
  // registry's manifest_refs rows disagree with what a manifest's bytes
  // reference (gc marks from those rows).
  std::string kind;
  std::string digest;  // The blob or manifest concerned, when one is.
  std::string detail;  // What is wrong, and who needs it.
  std::string file;    // The pack concerned, when one is.

  bool operator==(const StoreProblem&) const = default;
};

struct StoreCheckReport {
  uint64_t blobs_checked = 0;  // Copies: a loose file, a pack's member.
  uint64_t bytes_checked = 0;
  uint64_t packs_checked = 0;  // Packs whose index was read and checked.
  uint64_t references_checked = 0;
  std::vector<StoreProblem> problems;

  nlohmann::json ToJson() const;
};

struct StoreCheckOptions {
  // Only follow references; do not re-hash every blob.
  bool skip_hashing = false;

  // For tests that interleave a writer with the check: called inside
  // each repository's read transaction, between the read of its
  // manifests and that of its tags ...
  std::function<void(const std::string& repo)> during_read;
  // ... and once that read is over, before the blob store is consulted.
  std::function<void(const std::string& repo)> after_read;
};

// Checks that every copy of every blob (each loose file, and each member
// of each pack, read from the pack itself) hashes to its name and that
// every pack's index is intact ("corrupt"); that every tag, manifest and
// index of the registry, read from the manifests' own bytes, references
// only what is there ("dangling", "invalid") and is recorded in the
// index as it references it ("index"); and that every blob a retention
// root names is there ("missing", with the root's reason). `index` may
// be null (a store that never served).
//
// Safe next to a running registry and gc: each repository is read in one
// snapshot, and a problem that a writer or gc could have made by moving
// between that snapshot and the blob store's reads must be seen again in
// a second, later look to count. Problems are reported, not repaired;
// the Status is an error only when the check itself could not run.
Result<StoreCheckReport> CheckStore(store::BlobStore& blobs, Index* index,
                                    RetentionRoots& roots,
                                    const StoreCheckOptions& options);

}  // namespace lockstep::registry

#endif  // LOCKSTEP_REGISTRY_STORE_CHECK_H_
