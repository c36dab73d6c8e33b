// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// A count with its noun in the right number ("1 step", "2 steps"), for
// messages and summaries.

#ifndef LOCKSTEP_CORE_COUNT_TEXT_H_
#define LOCKSTEP_CORE_COUNT_TEXT_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace lockstep {

// "1 step", "0 steps", "2 steps": `singular` with an "s" added unless
// `count` is 1, or `plural` when the noun has another one ("entry",
// "entries").
std::string CountText(uint64_t count, std::string_view singular,
                      std::string_view plural = {});

}  // namespace lockstep

#endif  // LOCKSTEP_CORE_COUNT_TEXT_H_
