// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "core/json_keys.h"

#include <algorithm>
#include <string>

namespace lockstep {

Status RequireKnownKeys(const Json& object, std::string_view text,
                        std::string_view source, std::string_view pointer,
                        std::string_view where,
                        std::initializer_list<const char*> known) {
  if (!object.is_object()) return Status::Ok();
  for (const auto& [key, unused] : object.items()) {
    if (std::any_of(known.begin(), known.end(),
                    [&](const char* name) { return key == name; })) {
      continue;
    }
    std::string names;
    for (const char* name : known) {
      names += (names.empty() ? "" : ", ") + std::string(name);
    }
    return Status::InvalidArgument(
        std::string(source) + ":" + JsonKeyLocation(text, pointer, key) +
        ": unknown key \"" + key + "\" in " + std::string(where) +
        " (known: " + names + ")");
  }
  return Status::Ok();
}

std::string JsonPathLocation(std::string_view text, std::string_view path) {
  std::string pointer;  // Of the object holding `key`.
  std::string key;
  bool ends_in_key = false;
  size_t at = 0;
  while (at < path.size()) {
    if (ends_in_key) pointer += "/" + PointerToken(key);
    if (path[at] == '[') {
      size_t close = path.find(']', at);
      if (close == std::string_view::npos) return "";
      pointer += "/" + std::string(path.substr(at + 1, close - at - 1));
      ends_in_key = false;
      at = close + 1;
      continue;
    }
    if (path[at] == '.') ++at;
    size_t end = std::min(path.find_first_of(".[", at), path.size());
    key = std::string(path.substr(at, end - at));
    ends_in_key = true;
    at = end;
  }
  // An element has no key: point at where its value starts.
  return ends_in_key ? JsonKeyLocation(text, pointer, key)
                     : JsonValueLocation(text, pointer);
}

Status LocateJsonError(const Status& status, std::string_view text,
                       std::string_view source) {
  if (!status.IsInvalidArgument()) return status;
  std::string prefix = std::string(source) + ": ";
  std::string_view message = status.message();
  if (!message.starts_with(prefix)) return status;
  std::string_view rest = message.substr(prefix.size());
  size_t colon = rest.find(": ");
  if (colon == std::string_view::npos) return status;
  // A member that is missing is shown where its object is.
  std::string_view path = rest.substr(0, colon);
  std::string location;
  while (location.empty() && !path.empty()) {
    location = JsonPathLocation(text, path);
    size_t parent = path.find_last_of(".[");
    path = path.substr(0, parent == std::string_view::npos ? 0 : parent);
  }
  if (location.empty()) return status;
  return Status::InvalidArgument(std::string(source) + ":" + location +
                                 ": " + std::string(rest));
}

std::string PointerToken(std::string_view key) {
  std::string token;
  for (char c : key) {
    if (c == '~') {
      token += "~0";
    } else if (c == '/') {
      token += "~1";
    } else {
      token.push_back(c);
    }
  }
  return token;
}

}  // namespace lockstep
