// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// Image references as pipelines and `lockstep image` take them:
// REGISTRY/REPO@sha256:..., REGISTRY/REPO:TAG (refused unless the caller
// allows tags) and the registry client's http:// and https:// prefixes.
// A loopback registry (127.0.0.1, localhost, [::1]) is spoken to over
// plain http unless https:// is written, as local test registries are.

#ifndef LOCKSTEP_IMAGE_REFERENCE_H_
#define LOCKSTEP_IMAGE_REFERENCE_H_

#include <string>

#include "core/status.h"
#include "registry/client.h"

namespace lockstep::image {

// Parses an image reference. `insecure` forces http for any registry.
// A reference with neither tag nor digest keeps an empty tag here (the
// registry client would read it as "latest"), so callers can tell.
Result<registry::Reference> ParseImageRef(const std::string& text,
                                          bool insecure = false);

// True when the reference names its manifest by digest.
inline bool IsPinned(const registry::Reference& ref) {
  return !ref.digest.empty();
}

// The reference as written back into manifests: scheme only when it is
// not the default for that registry.
std::string FormatImageRef(const registry::Reference& ref);

// InvalidArgument unless `ref` carries a digest: "WHAT: image REF is
// given by tag only; pin it as REF@sha256:...".
Status RequirePinned(const registry::Reference& ref, const std::string& what);

}  // namespace lockstep::image

#endif  // LOCKSTEP_IMAGE_REFERENCE_H_
