// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "registry/gc.h"

#include <algorithm>
#include <optional>
#include <filesystem>
#include <string>
#include <unordered_set>

#include "core/clock.h"
#include "core/subprocess.h"
#include "store/scratch.h"
#include "store/sweep_lock.h"

namespace lockstep::registry {
namespace {

// Blobs swept per write transaction, so pushes wait at most one batch.
constexpr size_t kSweepBatch = 128;

// Unmarked bytes of a pack that something keeps.
uint64_t DeadBytes(const store::PackIndex& pack,
                   const std::unordered_set<Digest>& marked) {
  uint64_t dead = 0;
  for (const store::PackEntry& entry : pack.entries) {
    if (!marked.contains(store::FromRaw(entry.digest))) dead += entry.length;
  }
  return dead;
}

// Packs go whole: one is removed only when none of its blobs is marked or
// held now and its file is older than the cutoff (a reuse of any of its
// blobs refreshes it). A pack with a kept blob is kept whole, its dead
// bytes counted in the report; packs are never rewritten.
Status SweepPacks(Index& index, store::BlobStore& blobs,
                  const std::unordered_set<Digest>& marked, int64_t cutoff,
                  int64_t file_cutoff, const GcOptions& options,
                  GcReport* report) {
  const bool dry_run = options.dry_run;
  ASSIGN_OR_RETURN(std::vector<store::PackIndex> packs, blobs.ListPacks());
  for (const store::PackIndex& pack : packs) {
    RETURN_IF_ERROR(CancellationStatus());
    uint64_t dead = DeadBytes(pack, marked);
    bool kept = std::any_of(
        pack.entries.begin(), pack.entries.end(),
        [&](const store::PackEntry& entry) {
          return marked.contains(store::FromRaw(entry.digest));
        });
    if (kept) {
      report->dead_bytes_in_kept_packs += dead;
      continue;
    }
    // As for loose blobs: a snapshot refreshing this pack's blobs either
    // finishes first (the pack is then young) or finds it gone.
    ASSIGN_OR_RETURN(store::SweepLock sweep_lock,
                     store::SweepLock::Acquire(
                         blobs.root(), store::SweepLock::Mode::kExclusive,
                         options.on_sweep_lock_wait));
    Status status = index.InWriteTransaction([&]() -> Status {
      for (const store::PackEntry& entry : pack.entries) {
        ASSIGN_OR_RETURN(bool held,
                         index.IsHeld(store::FromRaw(entry.digest), cutoff));
        if (held) return Status::Ok();
      }
      std::optional<int64_t> modified =
          store::NewestModificationMillis(pack.path);
      if (!modified) return Status::Ok();
      for (const store::PackEntry& entry : pack.entries) {
        Digest digest = store::FromRaw(entry.digest);
        if (*modified >= file_cutoff) {
          report->spared_young.push_back(digest);
        } else {
          report->swept.push_back({digest, entry.length});
        }
      }
      if (*modified >= file_cutoff) return Status::Ok();
      report->bytes_freed += pack.file_size;
      report->packs_removed.push_back(pack.path);
      return dry_run ? Status::Ok() : blobs.RemovePack(pack.path);
    });
    RETURN_IF_ERROR(status);
  }
  return Status::Ok();
}

}  // namespace

Result<GcReport> CollectGarbage(Index& index, store::BlobStore& blobs,
                                RetentionRoots& roots,
                                const GcOptions& options) {
  GcReport report;
  // A snapshot reusing blobs holds the sweep lock shared from refreshing
  // them to recording them: one that spans the cutoff would have them
  // neither young nor marked.
  Result<store::SweepLock> cutoff_lock = store::SweepLock::Acquire(
      blobs.root(), store::SweepLock::Mode::kExclusive,
      options.on_sweep_lock_wait);
  RETURN_IF_ERROR(cutoff_lock.status());
  std::optional<store::SweepLock> cutoff_held(std::move(*cutoff_lock));
  report.mark_started_ms = NowUnixMillis();
  // Anything written after this instant, or within the grace period
  // before it, is spared whatever the marks say. The index's push times
  // come from the same clock as the mark; blob files' mtimes from the file
  // system's, so they are judged against the file system's own now.
  const int64_t cutoff = report.mark_started_ms - options.grace_ms;
  const int64_t file_cutoff =
      store::FileClockNowMillis(blobs.TempDirectory()) - options.grace_ms;
  cutoff_held.reset();

  // Mark.
  std::unordered_set<Digest> marked;
  ASSIGN_OR_RETURN(std::vector<Digest> held, index.AllHeldDigests(cutoff));
  marked.insert(held.begin(), held.end());
  ASSIGN_OR_RETURN(std::vector<KeptBlob> kept, roots.Roots());
  for (KeptBlob& root : kept) {
    marked.insert(root.digest);
    if (blobs.Contains(root.digest)) {
      report.kept_by_roots.push_back(std::move(root));
    }
  }
  report.marked = marked.size();
  if (options.after_mark) options.after_mark();
  RETURN_IF_ERROR(CancellationStatus());
  // Listed after marking: blobs that appear in between are candidates
  // too, and only their mtime and the index re-check protect them.
  ASSIGN_OR_RETURN(std::vector<Digest> present, blobs.ListLoose());
  std::sort(present.begin(), present.end());

  // Unused old links go first, so the blobs they alone held can be swept.
  ASSIGN_OR_RETURN(auto stale, index.StaleLinks(cutoff));
  for (auto& [repo, digest] : stale) {
    report.dropped_links.push_back({repo, digest});
  }
  if (!options.dry_run) {
    Status dropped = index.InWriteTransaction([&]() -> Status {
      ASSIGN_OR_RETURN(auto still_stale, index.StaleLinks(cutoff));
      for (const auto& [repo, digest] : still_stale) {
        RETURN_IF_ERROR(index.UnlinkBlob(repo, digest).status());
      }
      return Status::Ok();
    });
    RETURN_IF_ERROR(dropped);
  }

  // Sweep, re-checking each candidate under the write lock.
  std::vector<Digest> candidates;
  for (const Digest& digest : present) {
    if (!marked.count(digest)) candidates.push_back(digest);
  }
  for (size_t begin = 0; begin < candidates.size(); begin += kSweepBatch) {
    RETURN_IF_ERROR(CancellationStatus());
    size_t end = std::min(candidates.size(), begin + kSweepBatch);
    // Taken before the index's lock, so pushes never wait on a snapshot.
    ASSIGN_OR_RETURN(store::SweepLock sweep_lock,
                     store::SweepLock::Acquire(
                         blobs.root(), store::SweepLock::Mode::kExclusive,
                         options.on_sweep_lock_wait));
    Status batch = index.InWriteTransaction([&]() -> Status {
      for (size_t i = begin; i < end; ++i) {
        const Digest& digest = candidates[i];
        std::optional<int64_t> modified =
            store::NewestModificationMillis(blobs.PathOf(digest));
        if (!modified) continue;
        ASSIGN_OR_RETURN(bool held_now, index.IsHeld(digest, cutoff));
        if (held_now) continue;
        if (*modified >= file_cutoff) {
          report.spared_young.push_back(digest);
          continue;
        }
        Result<uint64_t> size = blobs.SizeOf(digest);
        report.swept.push_back({digest, size.ok() ? *size : 0});
        report.bytes_freed += size.ok() ? *size : 0;
        if (!options.dry_run) RETURN_IF_ERROR(blobs.Remove(digest));
      }
      return Status::Ok();
    });
    RETURN_IF_ERROR(batch);
  }
  RETURN_IF_ERROR(SweepPacks(index, blobs, marked, cutoff, file_cutoff,
                             options, &report));
  if (!options.dry_run) {
    RETURN_IF_ERROR(index.RecordGc(report.mark_started_ms,
                                   static_cast<int64_t>(report.swept.size())));
  }
  return report;
}

}  // namespace lockstep::registry
