// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "registry/byte_range.h"

#include <charconv>

namespace lockstep::registry {

namespace {

// Parses all of `text` as a decimal number (no sign, no spaces).
std::optional<uint64_t> ParseNumber(std::string_view text) {
  uint64_t value = 0;
  if (text.empty()) return std::nullopt;
  auto [end, error] =
      std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

// A range position: like ParseNumber, but a valid number too large for
// 64 bits saturates. RFC 9110 bounds no position, and one past any
// blob's end means "to the end" (or, as a first byte, unsatisfiable).
std::optional<uint64_t> ParsePosition(std::string_view text) {
  if (text.empty()) return std::nullopt;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  std::optional<uint64_t> value = ParseNumber(text);
  return value ? value : std::optional<uint64_t>(UINT64_MAX);
}

std::string_view Trimmed(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
    text.remove_prefix(1);
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) {
    text.remove_suffix(1);
  }
  return text;
}

// Range units are case-insensitive (RFC 9110 section 14.1).
bool HasBytesUnit(std::string_view header) {
  constexpr std::string_view kUnit = "bytes=";
  if (header.size() < kUnit.size()) return false;
  for (size_t i = 0; i < kUnit.size(); ++i) {
    char c = header[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != kUnit[i]) return false;
  }
  return true;
}

// The one range-spec of a range-set, or nullopt when it holds none or
// several. Empty list elements ("bytes=0-3,") do not count: RFC 9110
// section 5.6.1.2 has recipients accept them.
std::optional<std::string_view> SoleSpec(std::string_view set) {
  std::optional<std::string_view> sole;
  while (true) {
    size_t comma = set.find(',');
    std::string_view element = Trimmed(set.substr(0, comma));
    if (!element.empty()) {
      if (sole) return std::nullopt;
      sole = element;
    }
    if (comma == std::string_view::npos) return sole;
    set.remove_prefix(comma + 1);
  }
}

}  // namespace

RangeDecision DecideRange(std::string_view header, uint64_t size) {
  RangeDecision whole;
  header = Trimmed(header);
  if (!HasBytesUnit(header)) return whole;
  std::optional<std::string_view> spec = SoleSpec(header.substr(6));
  if (!spec) return whole;
  size_t dash = spec->find('-');
  if (dash == std::string_view::npos) return whole;
  std::string_view first_text = Trimmed(spec->substr(0, dash));
  std::string_view last_text = Trimmed(spec->substr(dash + 1));

  RangeDecision decision;
  decision.kind = RangeDecision::Kind::kPartial;
  if (first_text.empty()) {
    // A suffix range: the last N bytes.
    std::optional<uint64_t> suffix = ParsePosition(last_text);
    if (!suffix) return whole;
    if (*suffix == 0 || size == 0) {
      decision.kind = RangeDecision::Kind::kUnsatisfiable;
      return decision;
    }
    uint64_t length = *suffix < size ? *suffix : size;
    decision.span = {size - length, size - 1};
    return decision;
  }

  std::optional<uint64_t> first = ParsePosition(first_text);
  std::optional<uint64_t> last =
      last_text.empty() ? std::optional<uint64_t>(UINT64_MAX)
                        : ParsePosition(last_text);
  if (!first || !last || *last < *first) return whole;
  if (*first >= size) {
    decision.kind = RangeDecision::Kind::kUnsatisfiable;
    return decision;
  }
  decision.span = {*first, *last < size - 1 ? *last : size - 1};
  return decision;
}

std::string ContentRangeValue(const RangeDecision& decision, uint64_t size) {
  if (decision.kind == RangeDecision::Kind::kUnsatisfiable) {
    return "bytes */" + std::to_string(size);
  }
  return "bytes " + std::to_string(decision.span.first) + "-" +
         std::to_string(decision.span.last) + "/" + std::to_string(size);
}

std::optional<ByteSpan> ParseChunkRange(std::string_view header) {
  header = Trimmed(header);
  constexpr std::string_view kUnit = "bytes ";
  if (header.substr(0, kUnit.size()) == kUnit) {
    header = Trimmed(header.substr(kUnit.size()));
  }
  if (size_t slash = header.find('/'); slash != std::string_view::npos) {
    header = header.substr(0, slash);
  }
  size_t dash = header.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  std::optional<uint64_t> first = ParseNumber(header.substr(0, dash));
  std::optional<uint64_t> last = ParseNumber(header.substr(dash + 1));
  if (!first || !last || *last < *first) return std::nullopt;
  return ByteSpan{*first, *last};
}

}  // namespace lockstep::registry
