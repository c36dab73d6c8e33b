// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// Wall-clock helpers. Times are recorded in metadata and manifests as UTC
// RFC 3339 strings with millisecond precision; they never enter a cache key.

#ifndef LOCKSTEP_CORE_CLOCK_H_
#define LOCKSTEP_CORE_CLOCK_H_

#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace lockstep {

// Milliseconds since the Unix epoch.
int64_t NowUnixMillis();

// Nanoseconds since the Unix epoch, as file timestamps are compared.
int64_t NowUnixNanos();

// A file timestamp (st_mtim, st_ctim) in nanoseconds since the epoch.
int64_t UnixNanosOf(const struct timespec& time);

// "2026-12-04T16:00:00.123Z" for `unix_millis`.
std::string FormatRfc3339(int64_t unix_millis);

// Parses "YYYY-MM-DD", "YYYY-MM-DDTHH:MM:SS[.mmm]Z" into Unix millis.
std::optional<int64_t> ParseRfc3339(std::string_view text);

// The longest duration ParseDurationMillis accepts: 1,000,000 days (about
// 2,700 years). Any timestamp plus or minus it stays far inside int64, so
// an expiry or a gc grace period can never wrap into the past.
inline constexpr int64_t kMaxDurationMillis = 1'000'000LL * 86'400'000LL;

// Parses a duration, a whole number then a unit: "250ms", "30s", "15m",
// "12h", "365d", "2w", into millis. Every duration the CLI, pipeline files
// and cleanup policies accept goes through here. Longer than
// kMaxDurationMillis is an error (InvalidArgument) saying so, as is any
// other text.
Result<int64_t> ParseDurationMillis(std::string_view text);

// `unix_millis + delta_millis`, or an error when the sum leaves int64.
Result<int64_t> AddMillis(int64_t unix_millis, int64_t delta_millis);

}  // namespace lockstep

#endif  // LOCKSTEP_CORE_CLOCK_H_
