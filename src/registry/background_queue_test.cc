// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "registry/background_queue.h"

#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <thread>
#include <vector>

namespace lockstep::registry {
namespace {

TEST(BackgroundQueueTest, RunsJobsInOrder) {
  std::vector<int> ran;
  std::promise<void> done;
  {
    BackgroundQueue queue;
    for (int i = 0; i < 5; ++i) queue.Post([&ran, i] { ran.push_back(i); });
    queue.Post([&done] { done.set_value(); });
    done.get_future().wait();
  }
  EXPECT_EQ(ran, (std::vector<int>{0, 1, 2, 3, 4}));
}

// Destroying the queue waits for the running job (whose captures must
// stay valid until it ends); what is still queued may be dropped.
TEST(BackgroundQueueTest, DestructionWaitsForTheRunningJob) {
  int ran = 0;
  std::promise<void> started;
  std::promise<void> release;
  auto queue = std::make_unique<BackgroundQueue>();
  queue->Post([&] {
    started.set_value();
    release.get_future().wait();
    ran += 1;
  });
  queue->Post([&] { ran += 100; });
  started.get_future().wait();
  std::thread destroy([&] { queue.reset(); });
  release.set_value();
  destroy.join();
  EXPECT_EQ(ran % 100, 1);
}

TEST(BackgroundQueueTest, UnusedQueueStartsNoThread) {
  BackgroundQueue queue;  // destroyed at once: nothing to join
}

}  // namespace
}  // namespace lockstep::registry
