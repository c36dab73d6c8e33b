// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// httplib servers (plain and TLS) whose connections each have a deadline
// for every request's headers (registry/header_deadline.h). httplib 0.11
// offers no hook between accepting a connection and reading its first
// request, so these replace its per-connection loop (the private virtual
// process_and_close_socket) with one that arms the deadline before each
// request is awaited. The loop and the socket streams mirror httplib's
// own, which its shared-library header does not declare; the TLS stream
// keeps the socket non-blocking so that its read and write timeouts hold
// even inside a TLS record.
//
// Whoever installs the handlers must call HeaderDeadlines::
// HeadersReceived() from the pre-routing handler: that is where the
// headers are known to be in.

#ifndef LOCKSTEP_REGISTRY_DEADLINE_SERVER_H_
#define LOCKSTEP_REGISTRY_DEADLINE_SERVER_H_

#include <chrono>

#include <httplib.h>

#include "registry/header_deadline.h"

namespace lockstep::registry {

// Asks the connection loop serving this thread's request to close the
// connection once the answer is written, reading what the client still
// sends for a moment first so that its answer is not reset away. For an
// answer httplib sends before routing (to a request that awaits 100
// Continue), after which the connection would otherwise stay open with
// the unread body taken as the next request.
void CloseAfterAnswer();

class DeadlineServer : public httplib::Server {
 public:
  // `header_timeout` zero: no deadline, as httplib::Server.
  explicit DeadlineServer(std::chrono::milliseconds header_timeout);

 private:
  bool process_and_close_socket(socket_t sock) override;

  HeaderDeadlines deadlines_;
};

class DeadlineSslServer : public httplib::SSLServer {
 public:
  // The deadline covers the TLS handshake too: a handshake trickled a
  // byte at a time holds a thread as a request would.
  DeadlineSslServer(const char* cert_path, const char* key_path,
                    std::chrono::milliseconds header_timeout);

 private:
  bool process_and_close_socket(socket_t sock) override;

  HeaderDeadlines deadlines_;
};

}  // namespace lockstep::registry

#endif  // LOCKSTEP_REGISTRY_DEADLINE_SERVER_H_
