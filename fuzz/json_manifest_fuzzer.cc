// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// libFuzzer target for the JSON every manifest passes through: ParseJson
// (and its repeated-key check, for params and policy files), the RFC 8785 canonical form, and VerifyManifestHash (run on any parsed
// document, as `lockstep manifest verify` does on a file a user hands it).
// None may crash or throw; canonical text must parse back to the same
// canonical text, and a sealed manifest must verify.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/canonical_json.h"
#include "manifest/manifest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  lockstep::Result<lockstep::Json> parsed = lockstep::ParseJson(text, "fuzz");
  if (!parsed.ok()) return 0;

  // The repeated-key scan runs on any well-formed text; canonical text
  // (one key per member, from a parsed object) never repeats a key.
  (void)lockstep::ParseJsonWithUniqueKeys(text, "fuzz");

  // Any document: verification answers, never crashes.
  (void)lockstep::manifest::VerifyManifestHash(*parsed);

  lockstep::Result<std::string> canonical = lockstep::CanonicalJson(*parsed);
  if (!canonical.ok()) return 0;
  lockstep::Result<lockstep::Json> again =
      lockstep::ParseJson(*canonical, "canonical");
  if (!again.ok()) __builtin_trap();
  if (!lockstep::ParseJsonWithUniqueKeys(*canonical, "canonical").ok()) {
    __builtin_trap();
  }
  lockstep::Result<std::string> twice = lockstep::CanonicalJson(*again);
  if (!twice.ok() || *twice != *canonical) __builtin_trap();

  // An object sealed as a manifest must verify after a round trip.
  if (parsed->is_object()) {
    lockstep::Json manifest = *parsed;
    lockstep::Result<std::string> sealed =
        lockstep::manifest::SealManifest(&manifest);
    if (sealed.ok()) {
      lockstep::Result<lockstep::Json> reread =
          lockstep::ParseJson(*sealed, "sealed");
      if (!reread.ok() ||
          !lockstep::manifest::VerifyManifestHash(*reread).ok()) {
        __builtin_trap();
      }
    }
  }
  return 0;
}
