// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// Refusing keys a JSON file format does not have. A reader that ignores
// them turns a misspelling into a silent change of meaning (a cleanup
// condition dropped, an access rule's list left out).

#ifndef LOCKSTEP_CORE_JSON_KEYS_H_
#define LOCKSTEP_CORE_JSON_KEYS_H_

#include <initializer_list>
#include <string>
#include <string_view>

#include "core/canonical_json.h"
#include "core/status.h"

namespace lockstep {

// InvalidArgument `source`:LINE:COLUMN: unknown key "K" in `where`
// (known: ...) for the first member of `object` not in `known`; OK when
// there is none or `object` is not an object. `pointer` is the JSON
// pointer of `object` in `text`, the file it was parsed from.
Status RequireKnownKeys(const Json& object, std::string_view text,
                        std::string_view source, std::string_view pointer,
                        std::string_view where,
                        std::initializer_list<const char*> known);

// A member name as one JSON Pointer reference token (RFC 6901): "~" is
// written "~0" and "/" is written "~1".
std::string PointerToken(std::string_view key);

// Where the member a checker's field path names starts in `text`, as
// "LINE:COLUMN": the path is written as the checkers write it in their
// messages ("[1].condition.olderThan", "rules[0].read"); a path ending
// in an index ("[1]") gives where that element's value starts. "" when
// the path names nothing. REQUIRES: `text` is well-formed JSON.
std::string JsonPathLocation(std::string_view text, std::string_view path);

// `status` with `source`:LINE:COLUMN in front when it is an
// InvalidArgument of the form "`source`: PATH: what" and PATH (or, for a
// missing member, the nearest key or element above it) is in `text`;
// otherwise `status` itself. Lets a checker of a parsed JSON file name
// fields by path and still point at their line.
Status LocateJsonError(const Status& status, std::string_view text,
                       std::string_view source);

}  // namespace lockstep

#endif  // LOCKSTEP_CORE_JSON_KEYS_H_
