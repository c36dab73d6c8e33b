// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// Registry logins from a Docker client configuration file
// ($DOCKER_CONFIG/config.json or ~/.docker/config.json), found as the
// docker CLI finds them: a credential helper named for the registry in
// "credHelpers", else the one named by "credsStore", else the
// "auths" entry ("auth": base64 of "user:password", or "username" and
// "password"). A helper is the program docker-credential-NAME on PATH,
// asked with `get` and the registry's host on its standard input.

#ifndef LOCKSTEP_REGISTRY_DOCKER_CONFIG_H_
#define LOCKSTEP_REGISTRY_DOCKER_CONFIG_H_

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "core/status.h"

namespace lockstep::registry {

struct RegistryLogin {
  std::string username;
  std::string password;
};

// The login `config` holds for `registry` (host[:port]); nullopt when the
// file does not exist or names none. InvalidArgument, naming the file,
// line and field, for a malformed file or entry; FailedPrecondition for
// a helper that is missing or fails, or a login Lockstep cannot use (an
// identity token).
// A helper that runs longer than `helper_timeout_ms` is stopped, with
// what it started, and fails.
Result<std::optional<RegistryLogin>> FindDockerLogin(
    const std::filesystem::path& config, const std::string& registry,
    int64_t helper_timeout_ms = 60000);

}  // namespace lockstep::registry

#endif  // LOCKSTEP_REGISTRY_DOCKER_CONFIG_H_
