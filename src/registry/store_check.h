// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// `lockstep store verify`: the whole store checked at rest, as zot's
// scrub or a file system's fsck check theirs. Reads verify digests one
// blob at a time; this reads every blob, and follows every reference the
// registry's index and the lineage store hold, so that damage no command
// has read yet (a flipped bit, a blob removed by hand, an index listing a
// child that is gone) is found before someone needs the bytes.

#ifndef LOCKSTEP_REGISTRY_STORE_CHECK_H_
#define LOCKSTEP_REGISTRY_STORE_CHECK_H_

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "registry/index.h"
#include "registry/retention.h"
#include "store/blob_store.h"

namespace lockstep::registry {

struct StoreProblem {
  std::string kind;    // "corrupt", "missing" or "dangling"
  std::string digest;  // The blob or manifest concerned, when one is.
  std::string detail;  // What is wrong, and who needs it.
};

struct StoreCheckReport {
  uint64_t blobs_checked = 0;
  uint64_t bytes_checked = 0;
  uint64_t references_checked = 0;
  std::vector<StoreProblem> problems;

  nlohmann::json ToJson() const;
};

struct StoreCheckOptions {
  // Only follow references; do not re-hash every blob.
  bool skip_hashing = false;
};

// Checks that every blob (loose and packed) hashes to its name
// ("corrupt"), that what every tag, manifest and index of the registry
// references is there ("dangling"), and that every blob a retention root
// names is there ("missing", with the root's reason). `index` may be null
// (a store that never served). Problems are reported, not repaired; the
// Status is an error only when the check itself could not run.
Result<StoreCheckReport> CheckStore(store::BlobStore& blobs, Index* index,
                                    RetentionRoots& roots,
                                    const StoreCheckOptions& options);

}  // namespace lockstep::registry

#endif  // LOCKSTEP_REGISTRY_STORE_CHECK_H_
