// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "registry/connection_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace lockstep::registry {
namespace {

using std::chrono::milliseconds;

// Found by a tester: 128 connections that stalled mid-request held every
// thread of a fixed pool, and nobody else was answered. Here 200 tasks
// that each wait for all the others can only finish if each got a thread.
TEST(ConnectionPoolTest, EveryWaitingConnectionGetsAThread) {
  constexpr int kTasks = 200;
  ConnectionPool pool(1024, milliseconds(50));
  std::mutex mutex;
  std::condition_variable all_started;
  int started = 0;
  std::atomic<int> finished = 0;

  for (int i = 0; i < kTasks; ++i) {
    pool.enqueue([&] {
      std::unique_lock lock(mutex);
      ++started;
      all_started.notify_all();
      if (all_started.wait_for(lock, std::chrono::seconds(20),
                               [&] { return started == kTasks; })) {
        ++finished;
      }
    });
  }
  pool.shutdown();

  EXPECT_EQ(finished, kTasks);
}

TEST(ConnectionPoolTest, IdleThreadsExit) {
  ConnectionPool pool(8, milliseconds(20));
  std::atomic<int> ran = 0;
  for (int i = 0; i < 8; ++i) pool.enqueue([&] { ++ran; });

  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (pool.threads() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(5));
  }

  EXPECT_EQ(ran, 8);
  EXPECT_EQ(pool.threads(), 0u);
}

TEST(ConnectionPoolTest, NeverMoreThreadsThanTheLimit) {
  ConnectionPool pool(3, milliseconds(1000));
  std::mutex mutex;
  std::condition_variable release;
  bool released = false;
  for (int i = 0; i < 10; ++i) {
    pool.enqueue([&] {
      std::unique_lock lock(mutex);
      release.wait(lock, [&] { return released; });
    });
  }

  EXPECT_EQ(pool.threads(), 3u);
  {
    std::lock_guard lock(mutex);
    released = true;
  }
  release.notify_all();
  pool.shutdown();
  EXPECT_EQ(pool.threads(), 0u);
}

}  // namespace
}  // namespace lockstep::registry
