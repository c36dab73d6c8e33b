// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "core/count_text.h"

namespace lockstep {

std::string CountText(uint64_t count, std::string_view singular,
                      std::string_view plural) {
  std::string text = std::to_string(count) + " ";
  if (count == 1) {
    return text.append(singular);
  }
  return plural.empty() ? text.append(singular).append("s")
                        : text.append(plural);
}

}  // namespace lockstep
