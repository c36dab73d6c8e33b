// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// ASCII case, as protocols and formats define it (HTTP auth schemes and
// media types, hash algorithm names, package names): only A-Z and a-z,
// whatever the locale, and other bytes as they are.

#ifndef LOCKSTEP_CORE_ASCII_H_
#define LOCKSTEP_CORE_ASCII_H_

#include <string>
#include <string_view>

namespace lockstep {

// `text` with A-Z made a-z.
std::string AsciiLowercase(std::string_view text);

// Whether `a` and `b` are equal once A-Z are made a-z.
bool EqualsIgnoringAsciiCase(std::string_view a, std::string_view b);

}  // namespace lockstep

#endif  // LOCKSTEP_CORE_ASCII_H_
