// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// A deadline for the header section of each request on a connection, as
// Go's ReadHeaderTimeout and nginx's client_header_timeout have it.
// httplib's read timeout is an idle timer that every byte restarts, so a
// client that sends one header byte every 20 s holds its thread for
// ever, and as many such clients as there are threads freeze the server
// for everyone (slowloris). A connection is armed when a request's first
// byte is awaited and disarmed once its headers are parsed; a watchdog
// thread shuts down the socket of any connection still armed past its
// deadline, which ends the blocked read in the connection's own thread.
// Bodies are not covered: a body that keeps moving may take its time.

#ifndef LOCKSTEP_REGISTRY_HEADER_DEADLINE_H_
#define LOCKSTEP_REGISTRY_HEADER_DEADLINE_H_

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <list>
#include <mutex>
#include <thread>

namespace lockstep::registry {

class HeaderDeadlines {
 private:
  struct Entry;

 public:
  using Clock = std::chrono::steady_clock;
  // What is done to a connection past its deadline; the default shuts
  // the socket down in both directions (it is not closed: its own thread
  // still owns the descriptor and closes it).
  using Expire = std::function<void(int sock)>;

  // `limit` zero: no deadline, nothing is armed. `tick` is how often
  // the watchdog looks, so a connection is dropped between `limit` and
  // `limit + tick` after it was armed. A null `expire` shuts down.
  HeaderDeadlines(std::chrono::milliseconds limit,
                  std::chrono::milliseconds tick = std::chrono::seconds(1),
                  Expire expire = nullptr);
  // Stops the watchdog. Every Connection must be gone by then.
  ~HeaderDeadlines();

  HeaderDeadlines(const HeaderDeadlines&) = delete;
  HeaderDeadlines& operator=(const HeaderDeadlines&) = delete;

  std::chrono::milliseconds limit() const { return limit_; }

  // One connection's registration, for as long as its thread serves it.
  // It must be destroyed before the socket is closed, so the watchdog
  // never acts on a descriptor that has been reused for another file.
  // While it lives it is the current connection of the thread that
  // made it (see HeadersReceived).
  class Connection {
   public:
    Connection(HeaderDeadlines& deadlines, int sock);
    ~Connection();

    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    // A request has begun (its first byte is in, or its TLS handshake
    // has started): its headers are due within the limit.
    void Arm();
    // The headers are in (or there are none to wait for).
    void Disarm();
    // Whether the watchdog dropped this connection.
    bool expired() const;

   private:
    HeaderDeadlines& deadlines_;
    std::list<Entry>::iterator entry_;
    Connection* previous_;
  };

  // Disarms the current thread's connection, if it has one: called where
  // httplib has parsed a request's headers (its pre-routing handler),
  // which runs in the connection's thread.
  static void HeadersReceived();

  // Whether the current thread's connection was dropped by the watchdog:
  // httplib then answers the cut request 400, which no client receives
  // and which must not be logged as a refusal.
  static bool CurrentConnectionExpired();

  // Expires every armed connection whose headers were due by `now`;
  // returns how many. The watchdog calls it each tick; tests call it directly.
  size_t ExpireDue(Clock::time_point now);

  // Connections registered, armed or not.
  size_t size();

 private:
  struct Entry {
    int sock;
    bool armed = false;
    bool expired = false;
    Clock::time_point due;
  };
  friend class Connection;

  void Watch();

  const std::chrono::milliseconds limit_;
  const std::chrono::milliseconds tick_;
  const Expire expire_;
  std::mutex mutex_;
  std::condition_variable stop_;
  bool stopping_ = false;
  std::list<Entry> entries_;
  std::thread watchdog_;
};

}  // namespace lockstep::registry

#endif  // LOCKSTEP_REGISTRY_HEADER_DEADLINE_H_
