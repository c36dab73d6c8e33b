// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// The store's identity, so that a destructive command can tell the
// store's own lineage database from another one or an older copy of it
// (docs/ARCHITECTURE.md, "The store on disk"):
//   <store>/store-id          a random id made with the store, never
//                             changed;
//   <store>/store-generation  the highest generation the store's lineage
//                             database has reached.
// The database records the same id with its own generation, advanced in
// the transaction that adds a retention root (a finished run, a
// snapshot); the file follows after the commit, so the database is never
// behind the file unless it was replaced by an older copy.

#ifndef LOCKSTEP_STORE_IDENTITY_H_
#define LOCKSTEP_STORE_IDENTITY_H_

#include <cstdint>
#include <filesystem>
#include <string>

#include "core/status.h"

namespace lockstep::store {

inline constexpr const char* kStoreIdFile = "store-id";
inline constexpr const char* kStoreGenerationFile = "store-generation";

// The store's id: 32 lowercase hex digits. NotFound when the store has
// none (a store made by an older Lockstep), DataLoss when the file does
// not hold an id.
Result<std::string> ReadStoreId(const std::filesystem::path& root);

// The store's id, made when missing. Racing callers agree on one id: the
// file is published with link(), which never replaces an existing file.
Result<std::string> EnsureStoreId(const std::filesystem::path& root);

// The recorded generation; 0 when the file is missing.
Result<int64_t> ReadStoreGeneration(const std::filesystem::path& root);

// Raises the recorded generation to `generation`; a lower or equal value
// leaves it alone. Writers are serialised by an flock, so racing ones
// never lower it.
Status RaiseStoreGeneration(const std::filesystem::path& root,
                            int64_t generation);

}  // namespace lockstep::store

#endif  // LOCKSTEP_STORE_IDENTITY_H_
