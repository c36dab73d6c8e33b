// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// The JSON Canonicalization Scheme of RFC 8785: the one byte form of a JSON
// value that manifests and cache keys are hashed over. Object members are
// sorted by the UTF-16 code units of their names, strings use the minimal
// escapes, and numbers are written as ECMAScript writes an IEEE double.

#ifndef LOCKSTEP_CORE_CANONICAL_JSON_H_
#define LOCKSTEP_CORE_CANONICAL_JSON_H_

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/digest.h"
#include "core/status.h"

namespace lockstep {

using Json = nlohmann::json;

// Returns the RFC 8785 form of `value`. InvalidArgument, naming the JSON
// pointer of the value, when it holds NaN or an infinity (JSON has no
// spelling for them) or a binary value.
Result<std::string> CanonicalJson(const Json& value);

// Returns sha256 over CanonicalJson(value).
Result<Digest> CanonicalDigest(const Json& value);

// Formats `number` as ECMAScript's Number.prototype.toString does, which
// RFC 8785 adopts. REQUIRES: `number` is finite.
std::string FormatJsonNumber(double number);

// The deepest nesting of arrays and objects ParseJson accepts; real
// manifests, params and OCI documents stay within a dozen levels.
inline constexpr size_t kMaxJsonDepth = 256;

// Parses JSON text. InvalidArgument naming `source`:line:column when it
// is malformed or nests deeper than kMaxJsonDepth;
// `source` names the file in the message.
Result<Json> ParseJson(std::string_view text, std::string_view source);

// ParseJson for documents where a repeated key would be read one way by
// one tool and another way by the next (params, policies): a key that
// appears twice in one object is InvalidArgument naming
// `source`:line:column of its second appearance.
// With `KeyCase::kIgnored`, keys that differ only in ASCII case count as
// the same key too: Go's encoding/json matches them so, and so reads
// {"layers": [...], "Layers": [...]} as one member (the last), as do
// the OCI clients built on it.
enum class KeyCase { kExact, kIgnored };
Result<Json> ParseJsonWithUniqueKeys(std::string_view text,
                                     std::string_view source,
                                     KeyCase key_case = KeyCase::kExact);

// Where the member `key` of the object at JSON pointer `object` (such as
// "/0/condition") starts in `text`, as "LINE:COLUMN", so a checker that
// works on the parsed value can still point at the line; "" when there is
// no such member. REQUIRES: `text` is well-formed JSON.
std::string JsonKeyLocation(std::string_view text, std::string_view object,
                            std::string_view key);

// Where the value at JSON pointer `pointer` (such as "/1", or "" for the
// whole document) starts in `text`, as "LINE:COLUMN", for a value that
// has no key to point at: an array element, the top level. "" when there
// is no such value. REQUIRES: `text` is well-formed JSON.
std::string JsonValueLocation(std::string_view text,
                              std::string_view pointer);

// The first number within the value at JSON pointer `pointer` of `text`
// (the value itself, or any value inside it) that is written as an
// integer, digits alone with no fraction or exponent, and that neither
// int64 nor uint64 holds; as written, or nullopt when there is none.
// ParseJson reads such a number as the nearest double
// (123456789012345678901234567890 as 1.2345678901234568e+29), so only
// the text still says it was an integer, for a reader whose rules for
// integers and floats differ (params). REQUIRES: `text` is well-formed
// JSON.
std::optional<std::string> OversizedIntegerLiteral(std::string_view text,
                                                   std::string_view pointer);

// Parses JSON text that may be anything (a step's metrics, a registry's
// answer): a discarded value when it is malformed or too deep, never an
// exception.
Json ParseJsonOrDiscarded(std::string_view text);

}  // namespace lockstep

#endif  // LOCKSTEP_CORE_CANONICAL_JSON_H_
