// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// The decimal number forms of YAML 1.2's core schema, recognised by
// scanning rather than std::regex: libstdc++'s regex recurses once per
// character, so a long value overflowed the stack. Pipeline params type
// YAML scalars with them, and CSV snapshots infer column types.

#ifndef LOCKSTEP_CORE_NUMBER_TEXT_H_
#define LOCKSTEP_CORE_NUMBER_TEXT_H_

#include <string_view>

namespace lockstep {

// [-+]?[0-9]+
bool IsIntText(std::string_view text);

// [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
bool IsFloatText(std::string_view text);

}  // namespace lockstep

#endif  // LOCKSTEP_CORE_NUMBER_TEXT_H_
