// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "registry/header_deadline.h"

#include <sys/socket.h>

#include <utility>

namespace lockstep::registry {
namespace {

// The connection the current thread serves: httplib runs a connection's
// requests, and so its pre-routing handler, in the connection's thread.
thread_local HeaderDeadlines::Connection* current_connection = nullptr;

void ShutdownSocket(int sock) { ::shutdown(sock, SHUT_RDWR); }

}  // namespace

HeaderDeadlines::HeaderDeadlines(std::chrono::milliseconds limit,
                                 std::chrono::milliseconds tick,
                                 Expire expire)
    : limit_(limit),
      tick_(tick),
      expire_(expire ? std::move(expire) : Expire(ShutdownSocket)) {
  if (limit_.count() > 0) watchdog_ = std::thread([this] { Watch(); });
}

HeaderDeadlines::~HeaderDeadlines() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  stop_.notify_all();
  if (watchdog_.joinable()) watchdog_.join();
}

void HeaderDeadlines::Watch() {
  std::unique_lock lock(mutex_);
  while (!stop_.wait_for(lock, tick_, [this] { return stopping_; })) {
    lock.unlock();
    ExpireDue(Clock::now());
    lock.lock();
  }
}

size_t HeaderDeadlines::ExpireDue(Clock::time_point now) {
  size_t expired = 0;
  // Under the mutex, so a connection cannot unregister (and then close
  // its descriptor, which another accept may reuse) while this acts on
  // it: shutdown() does not block.
  std::lock_guard lock(mutex_);
  for (Entry& entry : entries_) {
    if (!entry.armed || entry.due > now) continue;
    entry.armed = false;
    entry.expired = true;
    expire_(entry.sock);
    ++expired;
  }
  return expired;
}

size_t HeaderDeadlines::size() {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

void HeaderDeadlines::HeadersReceived() {
  if (current_connection != nullptr) current_connection->Disarm();
}

bool HeaderDeadlines::CurrentConnectionExpired() {
  return current_connection != nullptr && current_connection->expired();
}

HeaderDeadlines::Connection::Connection(HeaderDeadlines& deadlines, int sock)
    : deadlines_(deadlines), previous_(current_connection) {
  {
    std::lock_guard lock(deadlines_.mutex_);
    deadlines_.entries_.push_front(Entry{sock});
    entry_ = deadlines_.entries_.begin();
  }
  current_connection = this;
}

HeaderDeadlines::Connection::~Connection() {
  current_connection = previous_;
  std::lock_guard lock(deadlines_.mutex_);
  deadlines_.entries_.erase(entry_);
}

void HeaderDeadlines::Connection::Arm() {
  if (deadlines_.limit_.count() <= 0) return;
  std::lock_guard lock(deadlines_.mutex_);
  // Once dropped, a connection stays dropped: its socket is shut down.
  if (entry_->expired) return;
  entry_->armed = true;
  entry_->due = Clock::now() + deadlines_.limit_;
}

void HeaderDeadlines::Connection::Disarm() {
  std::lock_guard lock(deadlines_.mutex_);
  entry_->armed = false;
}

bool HeaderDeadlines::Connection::expired() const {
  std::lock_guard lock(deadlines_.mutex_);
  return entry_->expired;
}

}  // namespace lockstep::registry
