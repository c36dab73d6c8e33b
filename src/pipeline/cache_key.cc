// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "pipeline/cache_key.h"

#include <set>

#include "core/canonical_json.h"

namespace lockstep::pipeline {

namespace {

// Short human form of a key part's value: digests abbreviated, typed
// params shown by value.
std::string Show(const Json& value) {
  if (value.is_null()) {
    return "(none)";
  }
  if (value.is_object() && value.contains("value") &&
      value.contains("type")) {
    return Show(value["value"]);
  }
  if (value.is_object() && value.contains("digest")) {
    return Show(value["digest"]);
  }
  if (value.is_string()) {
    const std::string& text = value.get_ref<const std::string&>();
    if (text.starts_with("sha256:") && text.size() > 19) {
      return text.substr(0, 19) + "..";
    }
    return text;
  }
  std::string dumped = value.dump();
  return dumped.size() > 60 ? dumped.substr(0, 57) + "..." : dumped;
}

// The singular word for a map-valued part in explanations.
std::string Singular(const std::string& part) {
  if (part == "params") {
    return "param";
  }
  if (part == "inputs") {
    return "input";
  }
  if (part == "outputs") {
    return "output";
  }
  if (part == "env") {
    return "env";
  }
  return part;
}

void ExplainMap(const std::string& part, const Json& before, const Json& now,
                std::vector<std::string>* reasons) {
  std::set<std::string> names;
  for (const auto& [name, value] : before.items()) {
    names.insert(name);
  }
  for (const auto& [name, value] : now.items()) {
    names.insert(name);
  }
  for (const std::string& name : names) {
    Json old_value = before.contains(name) ? before[name] : Json();
    Json new_value = now.contains(name) ? now[name] : Json();
    if (old_value != new_value) {
      reasons->push_back(Singular(part) + " " + name + " " + Show(old_value) +
                         " -> " + Show(new_value));
    }
  }
}

}  // namespace

Result<Digest> ComputeCacheKey(const Json& parts) {
  return CanonicalDigest(parts);
}

std::vector<std::string> ExplainKeyChange(const Json& before,
                                          const Json& now) {
  std::vector<std::string> reasons;
  std::set<std::string> parts;
  for (const auto& [name, value] : before.items()) {
    parts.insert(name);
  }
  for (const auto& [name, value] : now.items()) {
    parts.insert(name);
  }
  for (const std::string& part : parts) {
    Json old_value = before.contains(part) ? before[part] : Json();
    Json new_value = now.contains(part) ? now[part] : Json();
    if (old_value == new_value) {
      continue;
    }
    if (old_value.is_object() && new_value.is_object() &&
        part != "component" && part != "environment") {
      ExplainMap(part, old_value, new_value, &reasons);
    } else {
      reasons.push_back(part + " " + Show(old_value) + " -> " +
                        Show(new_value));
    }
  }
  // The argv follows from params and inputs; name it only when nothing
  // else explains the change (a literal edited in the pipeline file).
  if (reasons.size() > 1) {
    std::erase_if(reasons, [](const std::string& reason) {
      return reason.starts_with("argv ");
    });
  }
  return reasons;
}

}  // namespace lockstep::pipeline
