// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "store/location.h"

#include <cstdlib>

#include "store/identity.h"

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

}  // namespace

Status InitializeStoreLayout(const fs::path& root) {
  std::error_code error;
  // Only a new store gets an id here: one from an older Lockstep gets it
  // from `store migrate`, which also records it in its database.
  bool fresh = !fs::exists(root / "blobs", error);
  for (const char* sub : {"blobs/sha256", "tmp", "runs", "work"}) {
    fs::create_directories(root / sub, error);
    if (error) {
      return Status::Unavailable("cannot create " + (root / sub).string() +
                                 ": " + error.message());
    }
  }
  return fresh ? EnsureStoreId(root).status() : Status::Ok();
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
  if (fs::is_directory(location.root / "blobs", error)) {
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
