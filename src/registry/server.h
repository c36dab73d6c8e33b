// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// `lockstep registry serve`: the OCI Distribution HTTP API over a Registry,
// through cpp-httplib (plain HTTP, or TLS through OpenSSL). The handlers
// only translate requests and responses; every decision is in Registry.

#ifndef LOCKSTEP_REGISTRY_SERVER_H_
#define LOCKSTEP_REGISTRY_SERVER_H_

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>

#include "core/status.h"
#include "registry/auth.h"
#include "registry/registry.h"

namespace lockstep::registry {

struct ServeOptions {
  std::string host = "127.0.0.1";
  int port = 5000;
  std::filesystem::path tls_cert;  // both set: HTTPS
  std::filesystem::path tls_key;
  bool read_only = false;
  // A mount without `from` mounts from any repository the caller may
  // read (the spec's automatic content discovery). Off, as distribution
  // has it: such a mount starts an upload, 202.
  bool automatic_mount = false;
  // Users and rules, followed as their files change. Null: everyone may
  // do anything.
  AuthFiles* auth = nullptr;
  // Set (with auth): Docker's token flow, tokens issued at /token;
  // otherwise HTTP Basic on every request.
  const TokenIssuer* tokens = nullptr;
  // The token endpoint URL sent as the Bearer challenge's realm. Empty:
  // built from the request's Host header, which a client or a proxy
  // forwarding Host can set to any server (docs/registry.md).
  std::string token_realm;
  // Each request's headers (and a TLS handshake) must be complete this
  // long after its first byte is awaited, or the connection is dropped:
  // a client that trickles them would hold its thread for ever (the read
  // timeout restarts with every byte). Zero: no deadline.
  std::chrono::milliseconds header_timeout = std::chrono::seconds(30);
  // Polled ten times a second: once it returns true the server stops
  // taking connections, lets the requests in flight finish, and Serve
  // returns Ok. Unset: served until the process is killed.
  std::function<bool()> stop_requested;
};

// Serves until `options.stop_requested` says so or the process is
// stopped. Returns a bind or TLS setup failure, or Ok once stopped.
Status Serve(Registry& registry, const ServeOptions& options);

}  // namespace lockstep::registry

#endif  // LOCKSTEP_REGISTRY_SERVER_H_
