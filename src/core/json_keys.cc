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
