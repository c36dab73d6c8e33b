// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// A store keeps a small file of reserved disk space, <store>/reserve, so
// that the commands that free space (gc, cleanup) still run when the disk
// is full: their databases need room to record what they remove, and
// without it an operator was left deleting files by hand.

#ifndef LOCKSTEP_STORE_SPACE_RESERVE_H_
#define LOCKSTEP_STORE_SPACE_RESERVE_H_

#include <cstdint>
#include <filesystem>

#include "core/status.h"

namespace lockstep::store {

inline constexpr const char* kSpaceReserveFile = "reserve";
// gc needs about 64 KiB free, 300 KiB in a store without a registry
// index yet (measured on a full tmpfs); 1 MiB leaves room to spare.
inline constexpr uint64_t kSpaceReserveBytes = uint64_t{1} << 20;

// Removes the reserve when the store's file system has less than
// kSpaceReserveBytes available. Returns whether it did.
bool ReleaseSpaceReserveIfLow(const std::filesystem::path& root);

// Makes the reserve, its blocks allocated, when it is missing and the
// file system has room for it twice over (so that making it never fills
// the disk). A store works without one: failures only return a Status.
Status RefillSpaceReserve(const std::filesystem::path& root);

}  // namespace lockstep::store

#endif  // LOCKSTEP_STORE_SPACE_RESERVE_H_
