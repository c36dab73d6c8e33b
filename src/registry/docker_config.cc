// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "registry/docker_config.h"

#include <cstdint>
#include <string_view>

#include "core/base64.h"
#include "core/canonical_json.h"
#include "core/files.h"
#include "core/json_keys.h"
#include "core/subprocess.h"

namespace lockstep::registry {

namespace {

using MaybeLogin = std::optional<RegistryLogin>;

// Docker Hub's logins are all kept under its v1 index address.
constexpr std::string_view kDockerHubKey = "https://index.docker.io/v1/";

bool IsDockerHub(std::string_view registry) {
  return registry == "docker.io" || registry == "index.docker.io" ||
         registry == "registry-1.docker.io";
}

// The host[:port] an "auths" or "credHelpers" key names: docker accepts
// "host", "https://host" and "https://host/v2/" alike.
std::string_view HostOfKey(std::string_view key) {
  for (std::string_view scheme : {"https://", "http://"}) {
    if (key.starts_with(scheme)) key.remove_prefix(scheme.size());
  }
  return key.substr(0, key.find('/'));
}

bool KeyNamesRegistry(std::string_view key, std::string_view registry) {
  if (IsDockerHub(registry)) return IsDockerHub(HostOfKey(key));
  return HostOfKey(key) == registry;
}

// The member of `config`'s object `section` whose key names `registry`,
// if any.
const Json* EntryFor(const Json& config, const char* section,
                     const std::string& registry, std::string* key) {
  auto found = config.find(section);
  if (found == config.end() || !found->is_object()) return nullptr;
  for (const auto& [name, value] : found->items()) {
    if (KeyNamesRegistry(name, registry)) {
      *key = name;
      return &value;
    }
  }
  return nullptr;
}

// An error naming `config`, the line of member `key` of the object at
// JSON pointer `object`, and what is wrong.
Status BadEntry(const std::filesystem::path& config, std::string_view text,
                const std::string& object, const std::string& key,
                const std::string& what) {
  std::string location = JsonKeyLocation(text, object, key);
  return Status::InvalidArgument(config.string() + ":" +
                                 (location.empty() ? "" : location + ": ") +
                                 what);
}

Status IdentityTokenRefused(const std::filesystem::path& config,
                            const std::string& registry) {
  return Status::FailedPrecondition(
      config.string() + " holds an identity token for " + registry +
      ", which Lockstep cannot use; log in with a user name and password");
}

// Asks docker-credential-`helper` for the login of `server`.
Result<MaybeLogin> AskHelper(
    const std::filesystem::path& config, const std::string& helper,
    const std::string& server, const std::string& registry,
    int64_t timeout_ms) {
  std::string program = "docker-credential-" + helper;
  ProcessSpec spec;
  spec.argv = {program, "get"};
  spec.stdin_contents = server;
  spec.capture_stdout = true;
  spec.timeout_millis = timeout_ms;
  spec.kill_leftovers = true;
  ASSIGN_OR_RETURN(ProcessOutcome outcome, RunProcess(spec));
  std::string named_by = " (named in " + config.string() + ")";
  if (outcome.exit_code == 127) {
    return Status::FailedPrecondition(
        "the credential helper " + program + named_by +
        " could not be run: it is not on PATH, or not executable");
  }
  if (!outcome.succeeded()) {
    // Docker's helpers say so when they hold nothing for the server.
    if (outcome.captured_stdout.find("credentials not found") !=
        std::string::npos) {
      return MaybeLogin();
    }
    return Status::FailedPrecondition(
        "the credential helper " + program + named_by + " failed (" +
        outcome.Describe() + ") for " + registry);
  }
  Json answer = ParseJsonOrDiscarded(outcome.captured_stdout);
  if (!answer.is_object() || !answer.contains("Username") ||
      !answer["Username"].is_string() || !answer.contains("Secret") ||
      !answer["Secret"].is_string()) {
    return Status::FailedPrecondition(
        "the credential helper " + program + named_by +
        " answered without a string Username and Secret for " + registry);
  }
  if (answer["Username"] == "<token>") {
    return IdentityTokenRefused(config, registry);
  }
  return MaybeLogin(RegistryLogin{answer["Username"].get<std::string>(),
                                  answer["Secret"].get<std::string>()});
}

// The login of the "auths" entry `entry`, found under `key`.
Result<MaybeLogin> LoginOfAuthsEntry(
    const std::filesystem::path& config, std::string_view text,
    const std::string& key, const Json& entry, const std::string& registry) {
  auto bad = [&](const std::string& field, const std::string& what) {
    return BadEntry(config, text, "/auths/" + PointerToken(key), field,
                    "auths.\"" + key + "\"." + field + ": " + what);
  };
  if (!entry.is_object()) {
    return BadEntry(config, text, "/auths", key,
                    "auths.\"" + key + "\": must be an object");
  }
  if (entry.contains("auth") && entry["auth"] != "") {
    if (!entry["auth"].is_string()) return bad("auth", "must be a string");
    std::optional<std::string> decoded =
        Base64Decode(entry["auth"].get<std::string>());
    size_t colon = decoded ? decoded->find(':') : std::string::npos;
    if (colon == std::string::npos) {
      return bad("auth", "is not base64 of \"user:password\"");
    }
    return MaybeLogin(RegistryLogin{decoded->substr(0, colon),
                                    decoded->substr(colon + 1)});
  }
  if (entry.contains("username") || entry.contains("password")) {
    for (const char* field : {"username", "password"}) {
      if (!entry.contains(field) || !entry[field].is_string()) {
        return BadEntry(config, text, "/auths", key,
                        "auths.\"" + key + "\": wants string \"username\" "
                        "and \"password\" together");
      }
    }
    return MaybeLogin(RegistryLogin{entry["username"].get<std::string>(),
                                    entry["password"].get<std::string>()});
  }
  if (entry.contains("identitytoken")) {
    return IdentityTokenRefused(config, registry);
  }
  return MaybeLogin();
}

}  // namespace

Result<MaybeLogin> FindDockerLogin(const std::filesystem::path& config,
                                   const std::string& registry,
                                   int64_t helper_timeout_ms) {
  Result<std::string> text = ReadDocument(config);
  if (!text.ok() && text.status().IsNotFound()) {
    return MaybeLogin();
  }
  RETURN_IF_ERROR(text.status());
  ASSIGN_OR_RETURN(Json parsed, ParseJson(*text, config.string()));
  if (!parsed.is_object()) {
    return Status::InvalidArgument(config.string() + ":" +
                                   JsonValueLocation(*text, "") +
                                   ": must be a JSON object");
  }
  for (const char* section : {"auths", "credHelpers"}) {
    if (parsed.contains(section) && !parsed[section].is_object()) {
      return BadEntry(config, *text, "", section,
                      std::string(section) + ": must be an object");
    }
  }
  std::string server =
      IsDockerHub(registry) ? std::string(kDockerHubKey) : registry;

  std::string key;
  const Json* helper = EntryFor(parsed, "credHelpers", registry, &key);
  if (helper != nullptr && !helper->is_string()) {
    return BadEntry(config, *text, "/credHelpers", key,
                    "credHelpers.\"" + key + "\": must name a helper");
  }
  // An empty name is no helper, as docker reads it.
  if (helper != nullptr && !helper->get<std::string>().empty()) {
    return AskHelper(config, *helper, server, registry, helper_timeout_ms);
  }
  if (parsed.contains("credsStore")) {
    const Json& store = parsed["credsStore"];
    if (!store.is_string()) {
      return BadEntry(config, *text, "", "credsStore",
                      "credsStore: must be a string");
    }
    if (!store.get<std::string>().empty()) {
      return AskHelper(config, store, server, registry, helper_timeout_ms);
    }
  }
  if (const Json* entry =
          EntryFor(parsed, "auths", registry, &key)) {
    return LoginOfAuthsEntry(config, *text, key, *entry, registry);
  }
  return MaybeLogin();
}

}  // namespace lockstep::registry
