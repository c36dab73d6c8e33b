// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "core/number_text.h"

#include <cstddef>

namespace lockstep {

namespace {

// Advances `*at` over digits; true when there was at least one.
bool SkipDigits(std::string_view text, size_t* at) {
  size_t start = *at;
  while (*at < text.size() && text[*at] >= '0' && text[*at] <= '9') ++*at;
  return *at > start;
}

// Advances `*at` over an optional sign.
void SkipSign(std::string_view text, size_t* at) {
  if (*at < text.size() && (text[*at] == '-' || text[*at] == '+')) ++*at;
}

}  // namespace

bool IsIntText(std::string_view text) {
  size_t at = 0;
  SkipSign(text, &at);
  return SkipDigits(text, &at) && at == text.size();
}

bool IsFloatText(std::string_view text) {
  size_t at = 0;
  SkipSign(text, &at);
  bool whole = SkipDigits(text, &at);
  if (at < text.size() && text[at] == '.') {
    ++at;
    bool fraction = SkipDigits(text, &at);
    if (!whole && !fraction) return false;
  } else if (!whole) {
    return false;
  }
  if (at < text.size() && (text[at] == 'e' || text[at] == 'E')) {
    ++at;
    SkipSign(text, &at);
    if (!SkipDigits(text, &at)) return false;
  }
  return at == text.size();
}

}  // namespace lockstep
