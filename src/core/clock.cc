// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "core/clock.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>

namespace lockstep {

int64_t NowUnixMillis() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch())
      .count();
}

int64_t UnixNanosOf(const struct timespec& time) {
  return static_cast<int64_t>(time.tv_sec) * 1'000'000'000 + time.tv_nsec;
}

int64_t NowUnixNanos() {
  struct timespec now;
  ::clock_gettime(CLOCK_REALTIME, &now);
  return UnixNanosOf(now);
}

std::string FormatRfc3339(int64_t unix_millis) {
  time_t seconds = static_cast<time_t>(unix_millis / 1000);
  int millis = static_cast<int>(unix_millis % 1000);
  struct tm parts;
  gmtime_r(&seconds, &parts);
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
                parts.tm_hour, parts.tm_min, parts.tm_sec, millis);
  return buffer;
}

std::optional<int64_t> ParseRfc3339(std::string_view text) {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  int millis = 0;
  std::string copy(text);
  int fields = std::sscanf(copy.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3d", &year,
                           &month, &day, &hour, &minute, &second, &millis);
  if (fields != 3 && fields < 6) {
    return std::nullopt;
  }
  if (month < 1 || month > 12 || day < 1 || day > 31) {
    return std::nullopt;
  }
  struct tm parts = {};
  parts.tm_year = year - 1900;
  parts.tm_mon = month - 1;
  parts.tm_mday = day;
  parts.tm_hour = hour;
  parts.tm_min = minute;
  parts.tm_sec = second;
  return static_cast<int64_t>(timegm(&parts)) * 1000 + millis;
}

namespace {

// Millis per unit, or 0 for an unknown unit.
int64_t UnitMillis(std::string_view unit) {
  if (unit == "ms") return 1;
  if (unit == "s") return 1000;
  if (unit == "m") return 60 * 1000;
  if (unit == "h") return 3600 * 1000;
  if (unit == "d") return 86400 * 1000;
  if (unit == "w") return 7 * 86400 * 1000;
  return 0;
}

}  // namespace

Result<int64_t> ParseDurationMillis(std::string_view text) {
  size_t digits = text.find_first_not_of("0123456789");
  std::string_view unit =
      digits == std::string_view::npos ? "" : text.substr(digits);
  int64_t per_unit = UnitMillis(unit);
  if (digits == 0 || per_unit == 0) {
    return Status::InvalidArgument(
        "'" + std::string(text) +
        "' is not a duration: want a whole number and a unit, ms, s, m, h, "
        "d or w (30s, 12h, 365d)");
  }
  // Accumulate against the limit so that no step can overflow: the limit
  // times 10 plus 9 is far below INT64_MAX.
  int64_t count = 0;
  for (char c : text.substr(0, digits)) {
    count = count * 10 + (c - '0');
    if (count > kMaxDurationMillis / per_unit) {
      return Status::InvalidArgument(
          "duration '" + std::string(text) +
          "' is too long: at most 1000000d (about 2,700 years)");
    }
  }
  return count * per_unit;
}

Result<int64_t> AddMillis(int64_t unix_millis, int64_t delta_millis) {
  int64_t sum = 0;
  if (__builtin_add_overflow(unix_millis, delta_millis, &sum)) {
    return Status::InvalidArgument(
        "time " + std::to_string(unix_millis) + " ms plus " +
        std::to_string(delta_millis) + " ms is out of range");
  }
  return sum;
}

}  // namespace lockstep
