// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "registry/connection_pool.h"

#include <thread>

namespace lockstep::registry {

ConnectionPool::ConnectionPool(size_t max_threads,
                               std::chrono::milliseconds idle_exit)
    : max_threads_(max_threads), idle_exit_(idle_exit) {}

ConnectionPool::~ConnectionPool() { shutdown(); }

void ConnectionPool::enqueue(std::function<void()> task) {
  std::lock_guard lock(mutex_);
  tasks_.push_back(std::move(task));
  // Every idle thread may already be promised to an earlier task.
  if (idle_ < tasks_.size() && threads_ < max_threads_) {
    ++threads_;
    std::thread([this] { Work(); }).detach();
  }
  work_.notify_one();
}

void ConnectionPool::shutdown() {
  std::unique_lock lock(mutex_);
  stopping_ = true;
  work_.notify_all();
  exited_.wait(lock, [this] { return threads_ == 0; });
}

size_t ConnectionPool::threads() {
  std::lock_guard lock(mutex_);
  return threads_;
}

void ConnectionPool::Work() {
  std::unique_lock lock(mutex_);
  while (true) {
    if (tasks_.empty() && !stopping_) {
      ++idle_;
      bool woken = work_.wait_for(lock, idle_exit_, [this] {
        return !tasks_.empty() || stopping_;
      });
      --idle_;
      if (!woken) break;  // Idle too long.
    }
    if (tasks_.empty()) break;  // Stopping, and nothing left to run.
    std::function<void()> task = std::move(tasks_.front());
    tasks_.pop_front();
    lock.unlock();
    task();
    lock.lock();
  }
  --threads_;
  exited_.notify_all();
}

}  // namespace lockstep::registry
