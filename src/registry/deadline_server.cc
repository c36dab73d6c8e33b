// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "registry/deadline_server.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cerrno>
#include <climits>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "core/log.h"

namespace lockstep::registry {
namespace {

int Millis(time_t sec, time_t usec) {
  int64_t millis = static_cast<int64_t>(sec) * 1000 + usec / 1000;
  return static_cast<int>(std::clamp<int64_t>(millis, 0, INT_MAX));
}

// Whether `sock` becomes ready for `events` within `millis`. A hang-up or
// an error counts as ready: the read or write that follows reports it.
bool WaitFor(int sock, short events, int millis) {
  struct pollfd fd = {sock, events, 0};
  for (;;) {
    int ready = ::poll(&fd, 1, millis);
    if (ready > 0) return true;
    if (ready == 0 || errno != EINTR) return false;
  }
}

void IpAndPort(int sock, bool peer, std::string& ip, int& port) {
  struct sockaddr_storage address = {};
  socklen_t length = sizeof(address);
  auto* raw = reinterpret_cast<struct sockaddr*>(&address);
  int got = peer ? ::getpeername(sock, raw, &length)
                 : ::getsockname(sock, raw, &length);
  if (got != 0) return;
  char host[NI_MAXHOST];
  char service[NI_MAXSERV];
  if (::getnameinfo(raw, length, host, sizeof(host), service,
                    sizeof(service), NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
    return;
  }
  ip = host;
  port = std::atoi(service);
}

void SetNonBlocking(int sock, bool on) {
  int flags = ::fcntl(sock, F_GETFL);
  if (flags < 0) return;
  ::fcntl(sock, F_SETFL, on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK);
}

struct Timeouts {
  int read_millis;
  int write_millis;
};

// What both streams say of their connection: its socket and addresses,
// and when it can be written to.
class ConnectionStream : public httplib::Stream {
 public:
  ConnectionStream(int sock, Timeouts timeouts)
      : sock_(sock), timeouts_(timeouts) {}

  bool is_writable() const override {
    // Writable is enough: a client that half-closed after its request
    // (shutdown(SHUT_WR)) still reads the answer; httplib's check took
    // its end of input for a client gone and cut the answer (a tester
    // got nothing back one time in four). A peer really gone fails the
    // send itself.
    return WaitFor(sock_, POLLOUT, timeouts_.write_millis);
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    IpAndPort(sock_, true, ip, port);
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    IpAndPort(sock_, false, ip, port);
  }
  socket_t socket() const override { return sock_; }

 protected:
  const int sock_;
  const Timeouts timeouts_;
};

// httplib's SocketStream: a blocking socket, each read and write first
// waiting for readiness within its timeout. Small reads (header lines
// are read a byte at a time) are served from a buffer.
class PlainStream : public ConnectionStream {
 public:
  PlainStream(int sock, Timeouts timeouts)
      : ConnectionStream(sock, timeouts), buffer_(4096) {}

  bool is_readable() const override {
    return WaitFor(sock_, POLLIN, timeouts_.read_millis);
  }

  ssize_t read(char* ptr, size_t size) override {
    if (offset_ < filled_) {
      size_t n = std::min(size, filled_ - offset_);
      std::memcpy(ptr, buffer_.data() + offset_, n);
      offset_ += n;
      return static_cast<ssize_t>(n);
    }
    if (!is_readable()) return -1;
    if (size >= buffer_.size()) return Receive(ptr, size);
    offset_ = filled_ = 0;
    ssize_t n = Receive(buffer_.data(), buffer_.size());
    if (n <= 0) return n;
    filled_ = static_cast<size_t>(n);
    offset_ = std::min(size, filled_);
    std::memcpy(ptr, buffer_.data(), offset_);
    return static_cast<ssize_t>(offset_);
  }

  ssize_t write(const char* ptr, size_t size) override {
    if (!is_writable()) return -1;
    for (;;) {
      // MSG_NOSIGNAL: a client gone mid-answer is an error, not SIGPIPE.
      ssize_t n = ::send(sock_, ptr, size, MSG_NOSIGNAL);
      if (n >= 0 || errno != EINTR) return n;
    }
  }

 private:
  ssize_t Receive(char* ptr, size_t size) {
    for (;;) {
      ssize_t n = ::recv(sock_, ptr, size, 0);
      if (n >= 0 || errno != EINTR) return n;
    }
  }

  std::vector<char> buffer_;
  size_t offset_ = 0;
  size_t filled_ = 0;
};

// httplib's SSLSocketStream, on a non-blocking socket: a read or write
// that needs the network waits for it within the stream's timeouts, so a
// TLS record trickled a byte at a time cannot block a read for ever.
class TlsStream : public ConnectionStream {
 public:
  TlsStream(int sock, SSL* ssl, Timeouts timeouts)
      : ConnectionStream(sock, timeouts), ssl_(ssl) {}

  bool is_readable() const override {
    return SSL_pending(ssl_) > 0 ||
           WaitFor(sock_, POLLIN, timeouts_.read_millis);
  }

  ssize_t read(char* ptr, size_t size) override {
    int length = static_cast<int>(std::min<size_t>(size, INT_MAX));
    for (;;) {
      ERR_clear_error();
      int n = SSL_read(ssl_, ptr, length);
      if (n > 0) return n;
      int error = SSL_get_error(ssl_, n);
      if (error == SSL_ERROR_ZERO_RETURN) return 0;
      if (!AwaitNetwork(error)) return -1;
    }
  }

  ssize_t write(const char* ptr, size_t size) override {
    if (!is_writable()) return -1;
    int length = static_cast<int>(std::min<size_t>(size, INT_MAX));
    for (;;) {
      ERR_clear_error();
      // Retried with the same arguments, as OpenSSL requires.
      int n = SSL_write(ssl_, ptr, length);
      if (n > 0) return n;
      if (!AwaitNetwork(SSL_get_error(ssl_, n))) return -1;
    }
  }

 private:
  bool AwaitNetwork(int error) const {
    if (error == SSL_ERROR_WANT_READ) {
      return WaitFor(sock_, POLLIN, timeouts_.read_millis);
    }
    if (error == SSL_ERROR_WANT_WRITE) {
      return WaitFor(sock_, POLLOUT, timeouts_.write_millis);
    }
    return false;
  }

  SSL* const ssl_;
};

// Set by CloseAfterAnswer; a connection is served on one thread.
thread_local bool close_after_answer = false;

// Whether CloseAfterAnswer was called since the last call, clearing it.
bool TakeCloseAfterAnswer() {
  bool asked = close_after_answer;
  close_after_answer = false;
  return asked;
}

// Ends the writing side and reads what the client still sends (a body
// it was told not to send) for up to a second, so that closing with
// unread bytes does not reset the connection before the client read
// its answer.
void DrainBeforeClose(int sock) {
  ::shutdown(sock, SHUT_WR);
  char buffer[16384];
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return;
    if (!WaitFor(sock, POLLIN, static_cast<int>(left.count()))) return;
    if (::recv(sock, buffer, sizeof(buffer), 0) <= 0) return;
  }
}

// httplib's keep-alive loop (process_server_socket_core), with the
// deadline armed when each request's first byte arrives. A
// connection idle for `keep_alive_millis` between requests is closed,
// as httplib does. `serve` answers one request on a fresh stream, as
// httplib makes one per request.
// `first_armed`: the first request's deadline runs already (from the
// start of a TLS handshake).
bool ServeRequests(const std::atomic<socket_t>& server_socket, int sock,
                   size_t max_requests, int keep_alive_millis,
                   HeaderDeadlines::Connection& connection, bool first_armed,
                   const std::function<bool()>& buffered,
                   const std::function<bool(bool, bool&)>& serve,
                   const std::function<void()>& drain_before_close) {
  TakeCloseAfterAnswer();  // A pool thread served other connections.
  bool ok = false;
  for (size_t left = max_requests;
       server_socket != INVALID_SOCKET && left > 0; --left) {
    // Armed once the request's first byte is in: an idle keep-alive
    // connection is the keep-alive timeout's (which every answer
    // announces), not a late request to drop and log.
    if (!buffered() && !WaitFor(sock, POLLIN, keep_alive_millis)) break;
    if (left != max_requests || !first_armed) connection.Arm();
    bool closed = false;
    ok = serve(left == 1, closed);
    // A request refused before routing never reached the pre-routing
    // handler; its headers are no longer awaited either.
    connection.Disarm();
    if (!ok || closed) break;
    if (TakeCloseAfterAnswer()) {
      drain_before_close();
      break;
    }
  }
  return ok;
}

// The peer's address, taken while the connection stands: once it is
// shut down and the client gone, getpeername fails.
std::string Peer(int sock) {
  std::string ip = "?";
  int port = 0;
  IpAndPort(sock, true, ip, port);
  return fmt::format("{}:{}", ip, port);
}

// A dropped connection is a refusal the operator should see, logged as
// the server's other refusals.
void LogIfExpired(const HeaderDeadlines& deadlines,
                  const HeaderDeadlines::Connection& connection,
                  const std::string& peer) {
  if (!connection.expired()) return;
  LogInfo("registry: dropped the connection from {}: request headers not "
          "complete within {:g} s",
          peer, deadlines.limit().count() / 1000.0);
}

void Close(int sock) {
  ::shutdown(sock, SHUT_RDWR);
  ::close(sock);
}

// The TLS handshake on a non-blocking socket, each step waiting for the
// network within `millis`, as httplib's ssl_connect_or_accept_nonblocking.
bool AcceptTls(SSL* ssl, int sock, int millis) {
  for (;;) {
    ERR_clear_error();
    int done = SSL_accept(ssl);
    if (done == 1) return true;
    int error = SSL_get_error(ssl, done);
    if (error == SSL_ERROR_WANT_READ) {
      if (!WaitFor(sock, POLLIN, millis)) return false;
    } else if (error == SSL_ERROR_WANT_WRITE) {
      if (!WaitFor(sock, POLLOUT, millis)) return false;
    } else {
      return false;
    }
  }
}

}  // namespace

void CloseAfterAnswer() { close_after_answer = true; }

DeadlineServer::DeadlineServer(std::chrono::milliseconds header_timeout)
    : deadlines_(header_timeout) {}

bool DeadlineServer::process_and_close_socket(socket_t sock) {
  Timeouts timeouts = {Millis(read_timeout_sec_, read_timeout_usec_),
                       Millis(write_timeout_sec_, write_timeout_usec_)};
  std::string peer = Peer(sock);
  bool ok = false;
  {
    // Unregistered before the descriptor is closed (header_deadline.h).
    HeaderDeadlines::Connection connection(deadlines_, sock);
    ok = ServeRequests(
        svr_sock_, sock, keep_alive_max_count_,
        Millis(keep_alive_timeout_sec_, 0), connection, false,
        [] { return false; },
        [&](bool close_connection, bool& connection_closed) {
          PlainStream stream(sock, timeouts);
          return process_request(stream, close_connection, connection_closed,
                                 nullptr);
        },
        [sock] { DrainBeforeClose(sock); });
    LogIfExpired(deadlines_, connection, peer);
  }
  Close(sock);
  return ok;
}

DeadlineSslServer::DeadlineSslServer(const char* cert_path,
                                     const char* key_path,
                                     std::chrono::milliseconds header_timeout)
    : httplib::SSLServer(cert_path, key_path), deadlines_(header_timeout) {}

bool DeadlineSslServer::process_and_close_socket(socket_t sock) {
  Timeouts timeouts = {Millis(read_timeout_sec_, read_timeout_usec_),
                       Millis(write_timeout_sec_, write_timeout_usec_)};
  std::string peer = Peer(sock);
  bool ok = false;
  {
    HeaderDeadlines::Connection connection(deadlines_, sock);
    connection.Arm();
    // SSL_new on a shared context is thread-safe in OpenSSL 3; httplib's
    // mutex only guarded its own older uses.
    SSL* ssl = SSL_new(ssl_context());
    if (ssl != nullptr) {
      SetNonBlocking(sock, true);
      if (SSL_set_fd(ssl, sock) == 1 &&
          AcceptTls(ssl, sock, timeouts.read_millis)) {
        ok = ServeRequests(
            svr_sock_, sock, keep_alive_max_count_,
            Millis(keep_alive_timeout_sec_, 0), connection, true,
            [ssl] { return SSL_has_pending(ssl) == 1; },
            [&](bool close_connection, bool& connection_closed) {
              TlsStream stream(sock, ssl, timeouts);
              return process_request(
                  stream, close_connection, connection_closed,
                  [ssl](httplib::Request& req) { req.ssl = ssl; });
            },
            // Raw bytes of TLS records are not worth reading; the
            // close_notify below ends the connection in order.
            [] {});
        // A close_notify only to a client that seemed to be there, as
        // httplib: best effort, a full send buffer leaves it unsent.
        if (ok) SSL_shutdown(ssl);
      }
      SSL_free(ssl);
    }
    LogIfExpired(deadlines_, connection, peer);
  }
  Close(sock);
  return ok;
}

}  // namespace lockstep::registry
