// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "core/digest_set.h"

#include <bit>
#include <cstring>

namespace lockstep {

namespace {

constexpr size_t kMinSlots = 16;

size_t HashOf(const Digest::Raw& raw) {
  uint64_t h;
  std::memcpy(&h, raw.data(), sizeof(h));
  return static_cast<size_t>(h);
}

}  // namespace

void DigestSet::Reserve(size_t count) {
  // At most half full, so a probe ends after a slot or two.
  size_t wanted = std::bit_ceil(std::max(kMinSlots, 2 * count));
  if (wanted > slots_.size()) Grow(wanted);
}

size_t DigestSet::Find(const Digest::Raw& raw) const {
  size_t mask = slots_.size() - 1;
  size_t i = HashOf(raw) & mask;
  while (used_[i] && slots_[i] != raw) i = (i + 1) & mask;
  return i;
}

bool DigestSet::Contains(const Digest::Raw& raw) const {
  return !slots_.empty() && used_[Find(raw)];
}

bool DigestSet::Insert(const Digest::Raw& raw) {
  if (2 * (size_ + 1) > slots_.size()) {
    Grow(std::max(kMinSlots, 2 * slots_.size()));
  }
  size_t i = Find(raw);
  if (used_[i]) return false;
  slots_[i] = raw;
  used_[i] = true;
  ++size_;
  return true;
}

void DigestSet::Grow(size_t slots) {
  std::vector<Digest::Raw> old_slots(slots);
  std::vector<bool> old_used(slots, false);
  old_slots.swap(slots_);
  old_used.swap(used_);
  size_ = 0;
  for (size_t i = 0; i < old_slots.size(); ++i) {
    if (old_used[i]) Insert(old_slots[i]);
  }
}

}  // namespace lockstep
