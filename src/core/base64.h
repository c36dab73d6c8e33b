// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// Base64 in the two spellings the env module meets: the standard alphabet
// with padding (signature files) and the URL-safe alphabet without padding
// that wheel RECORD files use for their hashes (PEP 376, PEP 427).

#ifndef LOCKSTEP_CORE_BASE64_H_
#define LOCKSTEP_CORE_BASE64_H_

#include <optional>
#include <string>
#include <string_view>

namespace lockstep {

// Standard alphabet, '=' padded.
std::string Base64Encode(std::string_view bytes);

// Decodes either alphabet, with or without padding. nullopt on any
// character outside the alphabet or an impossible length.
std::optional<std::string> Base64Decode(std::string_view text);

// Lowercase hex of `bytes`.
std::string HexOf(std::string_view bytes);

}  // namespace lockstep

#endif  // LOCKSTEP_CORE_BASE64_H_
