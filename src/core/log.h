// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// Diagnostics for people: one line per message on stderr, prefixed
// "lockstep: <level>: ". Kept apart from progress output (progress.h) and
// from command results on stdout. Thread-safe.

#ifndef LOCKSTEP_CORE_LOG_H_
#define LOCKSTEP_CORE_LOG_H_

#include <string_view>

#include <fmt/core.h>

namespace lockstep {

enum class LogLevel { kDebug, kInfo, kWarning, kError };

// Messages below `level` are dropped. The default is kInfo.
void SetLogLevel(LogLevel level);
LogLevel GetLogLevel();

void LogMessage(LogLevel level, std::string_view message);

template <typename... Args>
void LogDebug(fmt::format_string<Args...> format, Args&&... args) {
  if (GetLogLevel() <= LogLevel::kDebug) {
    LogMessage(LogLevel::kDebug,
               fmt::format(format, std::forward<Args>(args)...));
  }
}
template <typename... Args>
void LogInfo(fmt::format_string<Args...> format, Args&&... args) {
  LogMessage(LogLevel::kInfo, fmt::format(format, std::forward<Args>(args)...));
}
template <typename... Args>
void LogWarning(fmt::format_string<Args...> format, Args&&... args) {
  LogMessage(LogLevel::kWarning,
             fmt::format(format, std::forward<Args>(args)...));
}
template <typename... Args>
void LogError(fmt::format_string<Args...> format, Args&&... args) {
  LogMessage(LogLevel::kError,
             fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace lockstep

#endif  // LOCKSTEP_CORE_LOG_H_
