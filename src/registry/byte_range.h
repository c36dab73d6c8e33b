// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// HTTP byte ranges (RFC 9110 section 14) for blob GETs and upload chunks.
// The registry answers Range itself instead of leaving it to the HTTP
// library, whose handling of ranges that pass the end of a blob sent a
// Content-Length it did not honour and broke clients.

#ifndef LOCKSTEP_REGISTRY_BYTE_RANGE_H_
#define LOCKSTEP_REGISTRY_BYTE_RANGE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lockstep::registry {

// The inclusive byte span [first, last] of a representation.
struct ByteSpan {
  uint64_t first = 0;
  uint64_t last = 0;

  uint64_t length() const { return last - first + 1; }
};

// What to do with a request's Range header for a body of `size` bytes.
struct RangeDecision {
  enum class Kind {
    kWhole,          // No usable single range: answer 200 with everything.
    kPartial,        // Answer 206 with `span`.
    kUnsatisfiable,  // Answer 416 with "Content-Range: bytes */size".
  };
  Kind kind = Kind::kWhole;
  ByteSpan span;
};

// Decides how to answer `header` (the Range value, empty when absent).
// A header that is not a valid single "bytes=" range (the unit in any
// case), or that asks for several ranges, is ignored as RFC 9110 section
// 14.2 allows; a range starting at or past the end (or a zero-length
// suffix) is unsatisfiable; an end past the last byte is clamped to it,
// however many digits it has.
RangeDecision DecideRange(std::string_view header, uint64_t size);

// "bytes FIRST-LAST/SIZE" for a 206, or "bytes */SIZE" for a 416.
std::string ContentRangeValue(const RangeDecision& decision, uint64_t size);

// The span a chunk upload's Content-Range claims ("FIRST-LAST", with or
// without the "bytes " unit and a "/total" suffix); nullopt when it is
// malformed or LAST < FIRST.
std::optional<ByteSpan> ParseChunkRange(std::string_view header);

}  // namespace lockstep::registry

#endif  // LOCKSTEP_REGISTRY_BYTE_RANGE_H_
