// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "image/reference.h"

namespace lockstep::image {

namespace {

bool IsLoopback(const std::string& registry) {
  std::string host = registry;
  if (host.starts_with("[")) {
    host = host.substr(0, host.find(']') + 1);
  } else {
    host = host.substr(0, host.find(':'));
  }
  return host == "localhost" || host == "[::1]" || host.starts_with("127.");
}

bool HasExplicitTag(const std::string& text) {
  std::string rest = text;
  size_t scheme = rest.find("://");
  if (scheme != std::string::npos) rest = rest.substr(scheme + 3);
  rest = rest.substr(0, rest.find('@'));
  size_t slash = rest.find('/');
  if (slash == std::string::npos) return false;
  std::string path = rest.substr(slash + 1);
  return path.find(':') != std::string::npos;
}

}  // namespace

Result<registry::Reference> ParseImageRef(const std::string& text,
                                          bool insecure) {
  bool explicit_scheme =
      text.starts_with("http://") || text.starts_with("https://");
  ASSIGN_OR_RETURN(registry::Reference ref,
                   registry::ParseReference(text, insecure));
  if (!explicit_scheme && IsLoopback(ref.registry)) {
    ref.scheme = "http";
  }
  if (!ref.digest.empty() && !HasExplicitTag(text)) {
    ref.tag.clear();
  }
  if (ref.digest.empty() && !HasExplicitTag(text)) {
    ref.tag.clear();  // neither: the caller decides what that means
  }
  return ref;
}

std::string FormatImageRef(const registry::Reference& ref) {
  bool default_http = IsLoopback(ref.registry);
  std::string text = ref.ToString();
  if (ref.scheme == "http" && !default_http) return "http://" + text;
  if (ref.scheme == "https" && default_http) return "https://" + text;
  return text;
}

Status RequirePinned(const registry::Reference& ref, const std::string& what) {
  if (IsPinned(ref)) return Status::Ok();
  std::string shown = FormatImageRef(ref);
  return Status::InvalidArgument(
      what + "image " + shown + " is given by tag only; pin it by digest as " +
      ref.registry + "/" + ref.repository + "@sha256:...");
}

}  // namespace lockstep::image
