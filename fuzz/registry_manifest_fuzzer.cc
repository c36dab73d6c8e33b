// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// libFuzzer target for the registry's parsers of untrusted input: the
// manifest/index parser (bodies of PUT /v2/<name>/manifests/<ref>, under
// each accepted media type), the cleanup policy parser, and the access
// rules parser. None may crash, hang or leak on any input.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "registry/auth.h"
#include "registry/cleanup.h"
#include "registry/oci.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  using namespace lockstep::registry;
  for (std::string_view type :
       {std::string_view(), kOciManifest, kOciIndex, kDockerManifest,
        kDockerManifestList}) {
    (void)ParseManifest(text, type);
  }
  (void)ParsePolicies(text, "fuzz.json");
  (void)Authenticator::FromText("", "fuzz", std::string(text), "fuzz.json");
  (void)IsValidRepositoryName(text);
  (void)IsValidTag(text);
  return 0;
}
