// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// Wall-clock helpers. Times are recorded in metadata and manifests as UTC
// RFC 3339 strings with millisecond precision; they never enter a cache key.

#ifndef LOCKSTEP_CORE_CLOCK_H_
#define LOCKSTEP_CORE_CLOCK_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lockstep {

// Milliseconds since the Unix epoch.
int64_t NowUnixMillis();

// "2026-12-04T16:00:00.123Z" for `unix_millis`.
std::string FormatRfc3339(int64_t unix_millis);

// Parses "YYYY-MM-DD", "YYYY-MM-DDTHH:MM:SS[.mmm]Z" into Unix millis.
std::optional<int64_t> ParseRfc3339(std::string_view text);

// Parses a duration such as "30s", "15m", "12h", "365d", "2w" into millis.
std::optional<int64_t> ParseDurationMillis(std::string_view text);

}  // namespace lockstep

#endif  // LOCKSTEP_CORE_CLOCK_H_
