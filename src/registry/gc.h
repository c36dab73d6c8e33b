// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// Garbage collection of the shared blob store, safe while the registry
// serves pushes. Mark: every manifest the index holds and everything it
// references (index -> child manifests -> configs and layers; referrers
// are manifests, so they are held too), every blob link that is young or
// used by a manifest of its repository, and every retention root (kept
// runs and snapshots). Sweep, under the index's write lock in batches:
// links older than the grace period that no manifest of their repository
// uses are dropped, then each unmarked blob is removed only when, at that
// moment, nothing in the index holds it and its file is older than both
// the mark start and the grace period. Packs (store/pack.h) go whole, by
// the same rules applied to all of their blobs and the pack's mtime; a
// pack holding any kept blob is kept whole. Uploads publish and link under the
// same lock and refresh the blob's mtime, so a blob pushed after marking
// began is never swept.

#ifndef LOCKSTEP_REGISTRY_GC_H_
#define LOCKSTEP_REGISTRY_GC_H_

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "core/status.h"
#include "registry/index.h"
#include "registry/retention.h"
#include "store/blob_store.h"
#include "store/sweep_lock.h"

namespace lockstep::registry {

struct GcOptions {
  bool dry_run = false;
  int64_t grace_ms = 60 * 60 * 1000;  // never sweep blobs younger than this
  // Test seam: runs after marking, before sweeping.
  std::function<void()> after_mark;
  // Passed to every wait for the sweep lock (store/sweep_lock.h).
  store::SweepLock::WaitNotice on_sweep_lock_wait;
};

struct SweptBlob {
  Digest digest;
  uint64_t size = 0;
};

struct DroppedLink {
  std::string repository;
  Digest digest;
};

struct GcReport {
  int64_t mark_started_ms = 0;
  size_t marked = 0;
  std::vector<KeptBlob> kept_by_roots;   // roots that were present
  std::vector<DroppedLink> dropped_links;
  std::vector<SweptBlob> swept;          // (would be) removed
  std::vector<Digest> spared_young;      // unmarked but too young
  uint64_t bytes_freed = 0;
  // Packs removed (each blob of them is in `swept`), and the bytes of
  // unmarked blobs left in packs kept for their other blobs.
  std::vector<std::filesystem::path> packs_removed;
  uint64_t dead_bytes_in_kept_packs = 0;
};

// Stops at a safe point (core/subprocess.h) before each batch and pack
// it sweeps: what it swept stays swept, and the rest waits for the next
// gc. A stopped gc records no gc.
Result<GcReport> CollectGarbage(Index& index, store::BlobStore& blobs,
                                RetentionRoots& roots,
                                const GcOptions& options);

}  // namespace lockstep::registry

#endif  // LOCKSTEP_REGISTRY_GC_H_
