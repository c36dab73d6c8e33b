// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// Where the store is: `--store DIR`, else $LOCKSTEP_STORE, else the first
// `.lockstep/` found walking up from the working folder (as git finds
// `.git`), else a new `.lockstep/` in the working folder.

#ifndef LOCKSTEP_STORE_LOCATION_H_
#define LOCKSTEP_STORE_LOCATION_H_

#include <filesystem>
#include <string>

#include "core/status.h"

namespace lockstep::store {

enum class CreateIfMissing { kNo, kYes };

struct StoreLocation {
  std::filesystem::path root;
  bool created = false;  // True when this call made the folder.
};

// Resolves the store folder. With kYes a missing store is created (the
// caller prints the one-line notice); with kNo a missing store is
// NotFound, so read-only commands never leave a folder behind.
Result<StoreLocation> LocateStore(const std::string& explicit_root,
                                  CreateIfMissing create);

// Creates the store's fixed folders under `root` and, for a new store
// (no blobs/ yet, or only the empty folders of a creation stopped before
// its id was made), its id (store/identity.h). The id is made first and
// blobs/ last, so a creation stopped at any point leaves a folder that is
// no store yet or a store with its id.
Status InitializeStoreLayout(const std::filesystem::path& root);

}  // namespace lockstep::store

#endif  // LOCKSTEP_STORE_LOCATION_H_
