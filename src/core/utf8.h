// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// UTF-8 checks for text that ends up in JSON (manifests, cache keys, the
// metadata store): nlohmann::json refuses to write a string that is not
// UTF-8, so such text is refused where it enters, with a message saying
// where, instead of aborting later on a half-recorded run.

#ifndef LOCKSTEP_CORE_UTF8_H_
#define LOCKSTEP_CORE_UTF8_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "core/canonical_json.h"
#include "core/status.h"

namespace lockstep {

// The offset of the first byte of `text` that does not start a
// well-formed UTF-8 sequence (RFC 3629: no overlong forms, no surrogates,
// nothing past U+10FFFF), or std::string_view::npos when it is all UTF-8.
size_t FirstNonUtf8(std::string_view text);

inline bool IsUtf8(std::string_view text) {
  return FirstNonUtf8(text) == std::string_view::npos;
}

// `text` with every byte outside printable ASCII written as \xHH, so a
// message can show which bytes were refused.
std::string EscapeBytes(std::string_view text);

// A path (or any name) of exact bytes shown as UTF-8 text: each byte
// that does not start a well-formed sequence, each control byte, and the
// backslash itself become \xHH, so no two names show alike (a name
// holding a literal "\xff" looked like one holding the byte 0xff).
std::string DisplayPath(std::string_view bytes);

// A path for a JSON string: its exact bytes when they are UTF-8 with no
// backslash (JSON escapes control characters such as a newline
// unambiguously), else DisplayPath's form, since JSON cannot carry bytes
// that are not UTF-8 and the escapes must not be mistaken for a name.
std::string JsonPath(std::string_view bytes);

// Whether `text` holds a character a terminal does not show as itself:
// a C0 or C1 control, DEL, or a bidirectional formatting character
// (U+061C, U+200E, U+200F, U+202A to U+202E, U+2066 to U+2069), which
// reorders what follows it on screen ("Trojan Source", CVE-2021-42574).
bool HasHiddenCharacters(std::string_view text);

// InvalidArgument "`what` holds a byte that is not UTF-8 (0xHH at byte
// N): ..." naming the first bad byte; Ok when `text` is UTF-8.
Status RequireUtf8(std::string_view what, std::string_view text);

// RequireUtf8 over every string and object key in `value`; `what`
// names the value, and the message adds the JSON pointer of the string.
Status RequireUtf8Json(std::string_view what, const Json& value);

}  // namespace lockstep

#endif  // LOCKSTEP_CORE_UTF8_H_
