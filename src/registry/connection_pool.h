// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// The threads that serve the registry's connections. httplib hands each
// accepted connection to a task queue, and the task keeps its thread for
// the connection's whole life, keep-alive included. With a fixed pool of
// N threads, N clients that connect and stall (a slow or hostile client
// sending half a request) leave nobody to answer anyone else until their
// read times out. This pool starts a thread whenever a connection would
// otherwise wait, up to a high limit, and lets threads idle for a while
// exit again. A thread-per-connection server can still be exhausted by
// that many stalled connections: the limit raises the bar, it does not
// remove it.

#ifndef LOCKSTEP_REGISTRY_CONNECTION_POOL_H_
#define LOCKSTEP_REGISTRY_CONNECTION_POOL_H_

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>

#include <httplib.h>

namespace lockstep::registry {

class ConnectionPool : public httplib::TaskQueue {
 public:
  ConnectionPool(size_t max_threads, std::chrono::milliseconds idle_exit);
  // Waits for every thread, as shutdown() does.
  ~ConnectionPool() override;

  void enqueue(std::function<void()> task) override;
  // Runs what is queued, then waits until every thread has exited.
  void shutdown() override;

  size_t threads();

 private:
  void Work();

  const size_t max_threads_;
  const std::chrono::milliseconds idle_exit_;
  std::mutex mutex_;
  std::condition_variable work_;
  std::condition_variable exited_;
  std::deque<std::function<void()>> tasks_;
  size_t threads_ = 0;
  size_t idle_ = 0;
  bool stopping_ = false;
};

}  // namespace lockstep::registry

#endif  // LOCKSTEP_REGISTRY_CONNECTION_POOL_H_
