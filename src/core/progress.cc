// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "core/progress.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "core/clock.h"

namespace lockstep {

namespace {

std::atomic<bool> g_quiet{false};
std::atomic<int> g_drawn_lines{0};
std::mutex g_terminal_mutex;

void EraseDrawnLines() {
  int lines = g_drawn_lines.exchange(0);
  for (int i = 0; i < lines; ++i) {
    std::fputs("\r\033[2K", stderr);
    if (i + 1 < lines) {
      std::fputs("\033[1A", stderr);
    }
  }
  std::fflush(stderr);
}

}  // namespace

void SetProgressQuiet(bool quiet) { g_quiet = quiet; }

// TERM=dumb is a terminal that cannot move the cursor (Emacs shell
// buffers, some CI logs): it gets the plain lines (found by a tester:
// the cursor codes reached it).
bool ProgressEnabled() {
  const char* term = std::getenv("TERM");
  bool dumb = term != nullptr && std::string_view(term) == "dumb";
  return !g_quiet && !dumb && ::isatty(STDERR_FILENO) == 1;
}

void ClearProgressLine() {
  if (g_drawn_lines > 0) {
    std::lock_guard<std::mutex> lock(g_terminal_mutex);
    EraseDrawnLines();
  }
}

Progress::Progress(std::string label, uint64_t total, std::string unit)
    : enabled_(ProgressEnabled()),
      label_(std::move(label)),
      unit_(std::move(unit)),
      total_(total) {}

Progress::~Progress() { Finish(); }

void Progress::Advance(uint64_t amount) {
  done_.fetch_add(amount, std::memory_order_relaxed);
  if (!enabled_) return;
  std::lock_guard<std::mutex> lock(mutex_);
  Draw();
}

void Progress::SetTotal(uint64_t total) {
  std::lock_guard<std::mutex> lock(mutex_);
  total_ = total;
}

void Progress::SetLines(std::vector<std::string> lines) {
  std::lock_guard<std::mutex> lock(mutex_);
  lines_ = std::move(lines);
  last_draw_millis_ = 0;  // Always show a change of running steps.
  Draw();
}

void Progress::Finish() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (finished_) {
    return;
  }
  finished_ = true;
  ClearProgressLine();
}

// A bar of how much of the total is done, or nothing while the total is
// not known (a count alone then, not "N/0").
std::string Progress::Meter(uint64_t done) const {
  if (total_ == 0) return "";
  constexpr uint64_t kWidth = 30;
  uint64_t filled = kWidth * std::min(done, total_) / total_;
  return "[" + std::string(filled, '=') + std::string(kWidth - filled, ' ') +
         "] ";
}

void Progress::Draw() {
  if (finished_ || !enabled_) {
    return;
  }
  // Redrawing more than ten times a second only costs time; the last
  // step of a known total is always shown. With no total (0: not known
  // yet) every Advance was drawn: 3,000 frames for 3,000 small files.
  int64_t now = NowUnixMillis();
  uint64_t done = done_.load(std::memory_order_relaxed);
  bool complete = total_ != 0 && done >= total_;
  if (now - last_draw_millis_ < 100 && !complete) {
    return;
  }
  last_draw_millis_ = now;

  std::string block = label_ + " " + Meter(done) + std::to_string(done) +
                      (total_ == 0 ? "" : "/" + std::to_string(total_)) +
                      (unit_.empty() ? "" : " " + unit_);
  for (const std::string& line : lines_) {
    block += "\n  " + line.substr(0, 76);
  }

  std::lock_guard<std::mutex> lock(g_terminal_mutex);
  EraseDrawnLines();
  std::fputs(block.c_str(), stderr);
  std::fflush(stderr);
  g_drawn_lines = 1 + static_cast<int>(lines_.size());
}

}  // namespace lockstep
