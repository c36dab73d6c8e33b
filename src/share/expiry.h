// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// Snapshot expiry, run by `lockstep gc` before it marks: an expired
// snapshot (past its `expires_ms`) is marked removed in the lineage store
// only when no recorded run's manifest needs it, by name@version or by
// digest; otherwise it is kept, naming the run. A removed snapshot stops
// being a retention root, so the same gc sweeps its blobs unless
// something else (a run, another snapshot, the registry) still holds them.

#ifndef LOCKSTEP_SHARE_EXPIRY_H_
#define LOCKSTEP_SHARE_EXPIRY_H_

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "metadata/metadata_store.h"

namespace lockstep::share {

struct ExpiryDecision {
  std::string snapshot;  // NAME@V
  int64_t artifact_id = 0;
  std::string digest;
  int64_t expired_ms = 0;  // When it expired.
  bool remove = false;
  std::string reason;  // Why it is removed or kept.

  nlohmann::json ToJson() const;
};

// Decides every expired, still-live snapshot as of `now_ms`; with `apply`
// marks the removable ones removed (MarkArtifactRemoved with the reason).
// DataLoss when a run's manifest cannot be read: removing a snapshot
// without knowing whether that run needs it could lose it.
Result<std::vector<ExpiryDecision>> ExpireSnapshots(
    metadata::MetadataStore* metadata, int64_t now_ms, bool apply);

}  // namespace lockstep::share

#endif  // LOCKSTEP_SHARE_EXPIRY_H_
