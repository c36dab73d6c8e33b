// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "core/log.h"

#include <atomic>
#include <cstdio>
#include <mutex>
#include <string>

#include "core/progress.h"

namespace lockstep {

namespace {

std::atomic<LogLevel> g_log_level{LogLevel::kInfo};
std::mutex g_log_mutex;

std::string_view LevelPrefix(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug: ";
    case LogLevel::kInfo:
      return "";
    case LogLevel::kWarning:
      return "warning: ";
    case LogLevel::kError:
      return "error: ";
  }
  return "";
}

}  // namespace

void SetLogLevel(LogLevel level) { g_log_level = level; }

LogLevel GetLogLevel() { return g_log_level; }

void LogMessage(LogLevel level, std::string_view message) {
  if (level < g_log_level) {
    return;
  }
  std::lock_guard<std::mutex> lock(g_log_mutex);
  // A live progress line would be overwritten mid-message; clear it first.
  ClearProgressLine();
  std::string line = "lockstep: " + std::string(LevelPrefix(level)) +
                     std::string(message) + "\n";
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace lockstep
