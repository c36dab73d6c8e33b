// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// One worker thread that runs posted jobs in order, for work a request
// need not wait for (an upload's data sync between its PATCH and PUT).
// The thread starts with the first job, so a registry opened by a
// command that posts none never has one. Jobs still queued when the
// queue is destroyed are dropped: they may only be optional work.

#ifndef LOCKSTEP_REGISTRY_BACKGROUND_QUEUE_H_
#define LOCKSTEP_REGISTRY_BACKGROUND_QUEUE_H_

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace lockstep::registry {

class BackgroundQueue {
 public:
  BackgroundQueue() = default;
  // Waits for the running job, if any; drops the rest.
  ~BackgroundQueue();
  BackgroundQueue(const BackgroundQueue&) = delete;
  BackgroundQueue& operator=(const BackgroundQueue&) = delete;

  void Post(std::function<void()> job);

 private:
  void Run();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;  // guarded by mutex_
  bool stopping_ = false;                   // guarded by mutex_
  std::thread thread_;                      // started by the first Post
};

}  // namespace lockstep::registry

#endif  // LOCKSTEP_REGISTRY_BACKGROUND_QUEUE_H_
