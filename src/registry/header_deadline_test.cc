// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "registry/header_deadline.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

namespace lockstep::registry {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = HeaderDeadlines::Clock;

// Records what the watchdog would shut down. The tick is an hour, so only
// the test's own ExpireDue calls act.
struct Recorder {
  std::mutex mutex;
  std::vector<int> socks;
  HeaderDeadlines::Expire expire() {
    return [this](int sock) {
      std::lock_guard lock(mutex);
      socks.push_back(sock);
    };
  }
};

TEST(HeaderDeadlinesTest, AConnectionPastItsDeadlineIsShutDown) {
  Recorder recorder;
  HeaderDeadlines deadlines(seconds(30), hours(1), recorder.expire());
  HeaderDeadlines::Connection connection(deadlines, 7);
  connection.Arm();
  EXPECT_EQ(deadlines.ExpireDue(Clock::now() + seconds(29)), 0u);
  EXPECT_FALSE(connection.expired());
  EXPECT_EQ(deadlines.ExpireDue(Clock::now() + seconds(31)), 1u);
  EXPECT_EQ(recorder.socks, std::vector<int>{7});
  EXPECT_TRUE(connection.expired());
  // Once: the next tick does not shut it down again, nor re-arm it.
  connection.Arm();
  EXPECT_EQ(deadlines.ExpireDue(Clock::now() + hours(2)), 0u);
  EXPECT_EQ(recorder.socks.size(), 1u);
}

TEST(HeaderDeadlinesTest, HeadersInTimeDisarm) {
  Recorder recorder;
  HeaderDeadlines deadlines(seconds(30), hours(1), recorder.expire());
  HeaderDeadlines::Connection connection(deadlines, 7);
  connection.Arm();
  HeaderDeadlines::HeadersReceived();  // this thread's connection
  EXPECT_EQ(deadlines.ExpireDue(Clock::now() + hours(2)), 0u);
  EXPECT_TRUE(recorder.socks.empty());
  EXPECT_FALSE(connection.expired());
}

TEST(HeaderDeadlinesTest, EachRequestGetsItsOwnDeadline) {
  Recorder recorder;
  HeaderDeadlines deadlines(seconds(30), hours(1), recorder.expire());
  HeaderDeadlines::Connection connection(deadlines, 7);
  connection.Arm();
  connection.Disarm();
  Clock::time_point second_armed = Clock::now();
  connection.Arm();
  EXPECT_EQ(deadlines.ExpireDue(second_armed + seconds(29)), 0u);
  EXPECT_EQ(deadlines.ExpireDue(Clock::now() + seconds(31)), 1u);
}

TEST(HeaderDeadlinesTest, AnUnregisteredConnectionIsLeftAlone) {
  Recorder recorder;
  HeaderDeadlines deadlines(seconds(30), hours(1), recorder.expire());
  {
    HeaderDeadlines::Connection connection(deadlines, 7);
    connection.Arm();
    EXPECT_EQ(deadlines.size(), 1u);
  }
  // Its descriptor may already be another connection's.
  EXPECT_EQ(deadlines.size(), 0u);
  EXPECT_EQ(deadlines.ExpireDue(Clock::now() + hours(2)), 0u);
  EXPECT_TRUE(recorder.socks.empty());
}

TEST(HeaderDeadlinesTest, HeadersReceivedTouchesOnlyItsThreadsConnection) {
  Recorder recorder;
  HeaderDeadlines deadlines(seconds(30), hours(1), recorder.expire());
  HeaderDeadlines::Connection mine(deadlines, 7);
  mine.Arm();
  std::thread([&] {
    HeaderDeadlines::Connection theirs(deadlines, 8);
    theirs.Arm();
    HeaderDeadlines::HeadersReceived();
    EXPECT_EQ(deadlines.ExpireDue(Clock::now() + hours(2)), 1u);
  }).join();
  EXPECT_EQ(recorder.socks, std::vector<int>{7});
  // No connection on this thread any more: nothing to disarm.
  std::thread([] { HeaderDeadlines::HeadersReceived(); }).join();
}

TEST(HeaderDeadlinesTest, ZeroLimitArmsNothing) {
  Recorder recorder;
  HeaderDeadlines deadlines(milliseconds(0), hours(1), recorder.expire());
  HeaderDeadlines::Connection connection(deadlines, 7);
  connection.Arm();
  EXPECT_EQ(deadlines.ExpireDue(Clock::now() + hours(2)), 0u);
}

// The real thing: a thread blocked reading a socket whose client trickles
// nothing more is released by the watchdog's shutdown.
TEST(HeaderDeadlinesTest, TheWatchdogEndsABlockedRead) {
  int pair[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
  HeaderDeadlines deadlines(milliseconds(100), milliseconds(20));
  auto started = Clock::now();
  auto read = std::async(std::launch::async, [&] {
    HeaderDeadlines::Connection connection(deadlines, pair[0]);
    connection.Arm();
    char byte;
    ssize_t n = ::recv(pair[0], &byte, 1, 0);
    return std::make_pair(n, connection.expired());
  });
  if (read.wait_for(seconds(10)) != std::future_status::ready) {
    ADD_FAILURE() << "the read was not ended";
    ::shutdown(pair[1], SHUT_RDWR);  // so that the test ends
  }
  auto [n, expired] = read.get();
  EXPECT_EQ(n, 0);
  EXPECT_TRUE(expired);
  EXPECT_GE(Clock::now() - started, milliseconds(100));
  ::close(pair[0]);
  ::close(pair[1]);
}

}  // namespace
}  // namespace lockstep::registry
