// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// A set of digests kept in one flat table (open addressing, linear
// probing), for the hot sets of a folder snapshot: 100,000 digests as
// nodes of a std::unordered_set cost an allocation each to insert and a
// free each, 15 ms at the end of a first snapshot. A digest's bytes are
// already uniformly spread, so its first eight are the hash.

#ifndef LOCKSTEP_CORE_DIGEST_SET_H_
#define LOCKSTEP_CORE_DIGEST_SET_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/digest.h"

namespace lockstep {

class DigestSet {
 public:
  // Room for `count` digests without growing.
  void Reserve(size_t count);

  // Adds `raw`; false when it was there already.
  bool Insert(const Digest::Raw& raw);

  bool Contains(const Digest::Raw& raw) const;

  size_t size() const { return size_; }

 private:
  // Where `raw` is, or the free slot where it would go. REQUIRES: the
  // table has a free slot.
  size_t Find(const Digest::Raw& raw) const;
  void Grow(size_t slots);

  std::vector<Digest::Raw> slots_;
  std::vector<bool> used_;  // Any digest is valid, zero bytes included.
  size_t size_ = 0;
};

}  // namespace lockstep

#endif  // LOCKSTEP_CORE_DIGEST_SET_H_
