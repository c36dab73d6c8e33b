// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// Trees whose files need no refresh. A folder snapshot that refreshed
// (or wrote) every blob its tree lists, and then the tree, all under
// the sweep lock held shared, records the tree here with the lock's
// stamp (store/sweep_lock.h). A later snapshot that finds the same tree
// under the same stamp knows that no gc fixed a cutoff and nothing was
// removed since those refreshes, so the files are present, and any gc
// that sweeps later either marked them or sees them young: refreshing
// the tree alone is enough (docs/data.md, "Reused blobs and gc").
//
// One small text file under <store>/cache/: the stamp and the boot id,
// then the trees vouched for under them, one digest a line. A new stamp
// or a reboot starts it afresh; a missing or damaged file vouches for
// nothing.

#ifndef LOCKSTEP_DATA_VOUCHED_TREES_H_
#define LOCKSTEP_DATA_VOUCHED_TREES_H_

#include <filesystem>
#include <string>
#include <string_view>

#include "core/digest.h"
#include "core/status.h"

namespace lockstep::data {

// Whether `tree` was recorded under `stamp`.
bool IsVouched(const std::filesystem::path& file, const Digest& tree,
               std::string_view stamp);

// Records `tree` under `stamp`, forgetting trees of other stamps.
Status RecordVouched(const std::filesystem::path& file, const Digest& tree,
                     std::string_view stamp);

}  // namespace lockstep::data

#endif  // LOCKSTEP_DATA_VOUCHED_TREES_H_
