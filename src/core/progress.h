// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// Live progress on a terminal: a status block redrawn in place on stderr.
// Shown only when stderr is a terminal and --quiet was not given, so logs
// and pipes stay clean. Thread-safe.

#ifndef LOCKSTEP_CORE_PROGRESS_H_
#define LOCKSTEP_CORE_PROGRESS_H_

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace lockstep {

// Turns all progress output off (--quiet) or back to automatic.
void SetProgressQuiet(bool quiet);

// True when progress lines would be drawn.
bool ProgressEnabled();

// Erases the live block, if one is drawn, so a log line can be written.
void ClearProgressLine();

// A bar with a count, e.g. "hashing [=====     ] 512/1024 MiB", plus an
// optional list of live lines (one per running pipeline step).
class Progress {
 public:
  Progress(std::string label, uint64_t total, std::string unit = "");
  ~Progress();

  void Advance(uint64_t amount);
  void SetTotal(uint64_t total);

  // Replaces the live lines drawn under the bar.
  void SetLines(std::vector<std::string> lines);

  // Erases the block for good.
  void Finish();

 private:
  void Draw();
  std::string Meter(uint64_t done) const;

  // Settled when made: without a terminal, or with --quiet, Advance is
  // one atomic add (a snapshot advances once per file on every core).
  const bool enabled_;
  std::mutex mutex_;
  std::string label_;
  std::string unit_;
  uint64_t total_;
  std::atomic<uint64_t> done_{0};
  int64_t last_draw_millis_ = 0;
  std::vector<std::string> lines_;
  bool finished_ = false;
};

}  // namespace lockstep

#endif  // LOCKSTEP_CORE_PROGRESS_H_
