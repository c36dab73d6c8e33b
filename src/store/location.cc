// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "store/location.h"

#include <cstdlib>
#include <string>

#include "store/identity.h"
#include "store/space_reserve.h"

namespace lockstep::store {

namespace fs = std::filesystem;

namespace {

constexpr const char* kStoreFolder = ".lockstep";

// Walks up from `start` looking for a `.lockstep` folder.
fs::path FindUpward(const fs::path& start) {
  std::error_code error;
  for (fs::path dir = start; !dir.empty(); dir = dir.parent_path()) {
    if (fs::is_directory(dir / kStoreFolder, error)) {
      return dir / kStoreFolder;
    }
    if (dir == dir.parent_path()) {
      break;
    }
  }
  return {};
}

bool IsEmptyFolder(const fs::path& folder) {
  std::error_code error;
  return fs::is_empty(folder, error) && !error;
}

// True when `folder` holds an empty folder `sub` and nothing else.
bool HoldsOnlyEmptyFolder(const fs::path& folder, const char* sub) {
  std::error_code error;
  fs::directory_iterator entries(folder, error);
  if (error || entries == fs::directory_iterator() ||
      entries->path().filename() != sub) {
    return false;
  }
  return IsEmptyFolder(entries->path()) &&
         ++entries == fs::directory_iterator();
}

// True for a folder with blobs/ but no id and nothing stored: what a
// creation killed (or out of space) before its id was made leaves, with
// a Lockstep that made the folders first. A store from an older
// Lockstep that was ever used holds something (a lineage database, a
// blob, registry/), so this never takes one of those for new.
bool IsUnfinishedStore(const fs::path& root) {
  std::error_code error;
  if (fs::exists(root / kStoreIdFile, error) || error) return false;
  for (fs::directory_iterator entry(root, error), end;
       !error && entry != end; entry.increment(error)) {
    const fs::path& path = entry->path();
    std::string name = path.filename().string();
    if (name == "tmp" || name == "work" || name == kSpaceReserveFile) {
      continue;  // Never content.
    }
    if (name == "runs" && IsEmptyFolder(path)) continue;
    if (name == "blobs" && HoldsOnlyEmptyFolder(path, "sha256")) continue;
    return false;
  }
  return !error;
}

Status CreateFolder(const fs::path& folder) {
  std::error_code error;
  fs::create_directories(folder, error);
  if (error) {
    return Status::Unavailable("cannot create " + folder.string() + ": " +
                               error.message());
  }
  return Status::Ok();
}

}  // namespace

Status InitializeStoreLayout(const fs::path& root) {
  std::error_code error;
  // Only a new store gets an id here: one from an older Lockstep gets it
  // from `store migrate`, which also records it in its database.
  bool fresh = !fs::exists(root / "blobs", error) || IsUnfinishedStore(root);
  // The id before the folders and blobs/ last, since blobs/ is what
  // marks a store: a creation stopped at any point leaves either no
  // store (made anew by the next command) or one with its id.
  RETURN_IF_ERROR(CreateFolder(root / "tmp"));
  if (fresh) RETURN_IF_ERROR(EnsureStoreId(root).status());
  for (const char* sub : {"runs", "work", "blobs/sha256"}) {
    RETURN_IF_ERROR(CreateFolder(root / sub));
  }
  // Best effort: on a disk too full for it, the store is made without.
  if (fresh) (void)RefillSpaceReserve(root);
  return Status::Ok();
}

Result<StoreLocation> LocateStore(const std::string& explicit_root,
                                  CreateIfMissing create) {
  std::error_code error;
  fs::path chosen;
  if (!explicit_root.empty()) {
    chosen = fs::absolute(explicit_root, error);
  } else if (const char* env = std::getenv("LOCKSTEP_STORE");
             env != nullptr && *env != '\0') {
    chosen = fs::absolute(env, error);
  } else {
    chosen = FindUpward(fs::current_path(error));
    if (chosen.empty()) {
      chosen = fs::current_path(error) / kStoreFolder;
    }
  }

  StoreLocation location{chosen.lexically_normal(), false};
  if (fs::is_directory(location.root / "blobs", error) &&
      !IsUnfinishedStore(location.root)) {
    return location;
  }
  if (create == CreateIfMissing::kNo) {
    return Status::NotFound("no Lockstep store at " + location.root.string() +
                            " (run a pipeline or snapshot data to create "
                            "one, or pass --store)");
  }
  RETURN_IF_ERROR(InitializeStoreLayout(location.root));
  location.created = true;
  return location;
}

}  // namespace lockstep::store
