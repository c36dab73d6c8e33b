// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "data/parallel.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

namespace lockstep::data {

namespace {

unsigned WorkerCount(size_t jobs) {
  unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  return static_cast<unsigned>(
      std::min<size_t>(cores, std::max<size_t>(jobs, 1)));
}

}  // namespace

Status ParallelFor(size_t count, const std::function<Status(size_t)>& job) {
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mutex;
  Status first = Status::Ok();
  auto work = [&] {
    for (size_t i = next++; i < count && !failed; i = next++) {
      Status status = job(i);
      if (!status.ok()) {
        std::lock_guard lock(mutex);
        if (first.ok()) first = status;
        failed = true;
      }
    }
  };
  std::vector<std::thread> threads;
  unsigned workers = WorkerCount(count);
  for (unsigned i = 1; i < workers; ++i) threads.emplace_back(work);
  work();
  for (std::thread& thread : threads) thread.join();
  return first;
}

}  // namespace lockstep::data
