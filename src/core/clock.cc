// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "core/clock.h"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace lockstep {

int64_t NowUnixMillis() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch())
      .count();
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

std::optional<int64_t> ParseDurationMillis(std::string_view text) {
  if (text.size() < 2) {
    return std::nullopt;
  }
  int64_t count = 0;
  for (char c : text.substr(0, text.size() - 1)) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    count = count * 10 + (c - '0');
  }
  switch (text.back()) {
    case 's':
      return count * 1000;
    case 'm':
      return count * 60 * 1000;
    case 'h':
      return count * 3600 * 1000;
    case 'd':
      return count * 86400 * 1000;
    case 'w':
      return count * 7 * 86400 * 1000;
    default:
      return std::nullopt;
  }
}

}  // namespace lockstep
