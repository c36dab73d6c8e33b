// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "core/canonical_json.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "core/ascii.h"

namespace lockstep {

namespace {

// Integers beyond 2^53 are not exactly representable as doubles; RFC 8785
// treats every number as a double, so they are written as the double
// nearest to them, exactly as a JavaScript reader would see them.
constexpr uint64_t kMaxExactInteger = uint64_t{1} << 53;

std::u16string ToUtf16(std::string_view utf8) {
  std::u16string out;
  size_t i = 0;
  while (i < utf8.size()) {
    auto byte = static_cast<unsigned char>(utf8[i]);
    uint32_t code_point = 0;
    size_t length = 1;
    if (byte < 0x80) {
      code_point = byte;
    } else if ((byte >> 5) == 0x6) {
      code_point = byte & 0x1f;
      length = 2;
    } else if ((byte >> 4) == 0xe) {
      code_point = byte & 0x0f;
      length = 3;
    } else {
      code_point = byte & 0x07;
      length = 4;
    }
    for (size_t k = 1; k < length && i + k < utf8.size(); ++k) {
      code_point = (code_point << 6) |
                   (static_cast<unsigned char>(utf8[i + k]) & 0x3f);
    }
    i += length;
    if (code_point >= 0x10000) {
      code_point -= 0x10000;
      out.push_back(static_cast<char16_t>(0xd800 + (code_point >> 10)));
      out.push_back(static_cast<char16_t>(0xdc00 + (code_point & 0x3ff)));
    } else {
      out.push_back(static_cast<char16_t>(code_point));
    }
  }
  return out;
}

void AppendString(std::string_view text, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (byte < 0x20) {
          out->append("\\u00");
          out->push_back(kHex[byte >> 4]);
          out->push_back(kHex[byte & 0xf]);
        } else {
          out->push_back(c);
        }
    }
  }
  out->push_back('"');
}

// Where a value sits, as a chain of segments rendered into a JSON pointer
// only for an error message (building the string for every member cost
// more than writing the value).
struct Where {
  const Where* parent = nullptr;
  std::string_view key;
  size_t index = 0;
  bool is_index = false;

  std::string Pointer() const {
    if (parent == nullptr) {
      return "";
    }
    return parent->Pointer() + "/" +
           (is_index ? std::to_string(index) : std::string(key));
  }
};

Status AppendValue(const Json& value, const Where& where, std::string* out);

// True when a key has a code point beyond U+FFFF (a 4-byte UTF-8
// sequence): only then can UTF-16 order differ from byte order.
bool HasAstralCodePoint(const std::string& key) {
  for (char c : key) {
    if (static_cast<unsigned char>(c) >= 0xf0) {
      return true;
    }
  }
  return false;
}

Status AppendMember(const std::string& key, const Json& member,
                    const Where& where, bool first, std::string* out) {
  if (!first) {
    out->push_back(',');
  }
  AppendString(key, out);
  out->push_back(':');
  return AppendValue(member, Where{&where, key}, out);
}

Status AppendObject(const Json& object, const Where& where,
                    std::string* out) {
  // The members are stored in byte order of their UTF-8 keys, which is
  // code point order and so UTF-16 order too, unless a key holds a code
  // point beyond U+FFFF (whose UTF-16 surrogates sort below U+E000).
  const auto& members = object.get_ref<const Json::object_t&>();
  bool astral = false;
  for (const auto& [key, member] : members) {
    astral = astral || HasAstralCodePoint(key);
  }
  out->push_back('{');
  if (!astral) {
    bool first = true;
    for (const auto& [key, member] : members) {
      RETURN_IF_ERROR(AppendMember(key, member, where, first, out));
      first = false;
    }
    out->push_back('}');
    return Status::Ok();
  }

  std::vector<std::pair<std::u16string, const std::string*>> keys;
  keys.reserve(members.size());
  for (const auto& [key, member] : members) {
    keys.emplace_back(ToUtf16(key), &key);
  }
  std::sort(keys.begin(), keys.end());
  bool first = true;
  for (const auto& [utf16, key] : keys) {
    RETURN_IF_ERROR(
        AppendMember(*key, members.at(*key), where, first, out));
    first = false;
  }
  out->push_back('}');
  return Status::Ok();
}

Status AppendValue(const Json& value, const Where& where, std::string* out) {
  switch (value.type()) {
    case Json::value_t::null:
      out->append("null");
      return Status::Ok();
    case Json::value_t::boolean:
      out->append(value.get<bool>() ? "true" : "false");
      return Status::Ok();
    case Json::value_t::string:
      AppendString(value.get_ref<const std::string&>(), out);
      return Status::Ok();
    case Json::value_t::number_integer: {
      int64_t n = value.get<int64_t>();
      uint64_t magnitude =
          n < 0 ? uint64_t(0) - static_cast<uint64_t>(n) : uint64_t(n);
      out->append(magnitude <= kMaxExactInteger
                      ? std::to_string(n)
                      : FormatJsonNumber(static_cast<double>(n)));
      return Status::Ok();
    }
    case Json::value_t::number_unsigned: {
      uint64_t n = value.get<uint64_t>();
      out->append(n <= kMaxExactInteger
                      ? std::to_string(n)
                      : FormatJsonNumber(static_cast<double>(n)));
      return Status::Ok();
    }
    case Json::value_t::number_float: {
      double d = value.get<double>();
      if (!std::isfinite(d)) {
        std::string pointer = where.Pointer();
        return Status::InvalidArgument(
            "canonical JSON cannot hold NaN or Infinity (at '" +
            (pointer.empty() ? std::string("/") : pointer) + "')");
      }
      out->append(FormatJsonNumber(d));
      return Status::Ok();
    }
    case Json::value_t::array: {
      out->push_back('[');
      for (size_t i = 0; i < value.size(); ++i) {
        if (i > 0) {
          out->push_back(',');
        }
        Where item{.parent = &where, .index = i, .is_index = true};
        RETURN_IF_ERROR(AppendValue(value[i], item, out));
      }
      out->push_back(']');
      return Status::Ok();
    }
    case Json::value_t::object:
      return AppendObject(value, where, out);
    case Json::value_t::binary:
    case Json::value_t::discarded:
      break;
  }
  return Status::InvalidArgument("canonical JSON cannot hold binary data");
}

}  // namespace

std::string FormatJsonNumber(double number) {
  if (number == 0) {
    return "0";  // Both +0 and -0.
  }
  std::string sign = number < 0 ? "-" : "";
  char buffer[64];
  auto result = std::to_chars(buffer, buffer + sizeof(buffer),
                              std::fabs(number),
                              std::chars_format::scientific);
  std::string_view text(buffer, static_cast<size_t>(result.ptr - buffer));

  // Split "d.ddde+XX" into the significant digits and the exponent.
  size_t e = text.find('e');
  std::string digits;
  for (char c : text.substr(0, e)) {
    if (c != '.') {
      digits.push_back(c);
    }
  }
  int exponent = std::stoi(std::string(text.substr(e + 1)));
  int k = static_cast<int>(digits.size());
  int n = exponent + 1;

  if (k <= n && n <= 21) {
    return sign + digits + std::string(static_cast<size_t>(n - k), '0');
  }
  if (0 < n && n <= 21) {
    return sign + digits.substr(0, static_cast<size_t>(n)) + "." +
           digits.substr(static_cast<size_t>(n));
  }
  if (-6 < n && n <= 0) {
    return sign + "0." + std::string(static_cast<size_t>(-n), '0') + digits;
  }
  std::string mantissa = digits.substr(0, 1);
  if (k > 1) {
    mantissa += "." + digits.substr(1);
  }
  int shown = n - 1;
  return sign + mantissa + "e" + (shown < 0 ? "-" : "+") +
         std::to_string(std::abs(shown));
}

Result<std::string> CanonicalJson(const Json& value) {
  std::string out;
  RETURN_IF_ERROR(AppendValue(value, Where{}, &out));
  return out;
}

Result<Digest> CanonicalDigest(const Json& value) {
  ASSIGN_OR_RETURN(std::string canonical, CanonicalJson(value));
  return Sha256Of(canonical);
}

// "LINE:COLUMN" (both from 1) of the character at `offset` in `text`, so a
// malformed file is reported the way editors and compilers point at it.
std::string LineAndColumn(std::string_view text, size_t offset) {
  offset = std::min(offset, text.size());
  std::string_view before = text.substr(0, offset);
  size_t line = 1 + std::count(before.begin(), before.end(), '\n');
  size_t line_start = before.rfind('\n');
  size_t column = line_start == std::string_view::npos
                      ? offset + 1
                      : offset - line_start;
  return std::to_string(line) + ":" + std::to_string(column);
}

// nlohmann's message repeats its own exception id and position; keep only
// the reason ("syntax error while parsing value - invalid literal; ...").
std::string ParseErrorReason(const char* what) {
  std::string_view message = what;
  size_t column = message.find(", column ");
  size_t reason = column == std::string_view::npos
                      ? message.find("] ")
                      : message.find(": ", column);
  if (reason == std::string_view::npos) return std::string(message);
  return std::string(message.substr(reason + 2));
}

// Where `text` first nests arrays and objects deeper than `limit`, or
// npos. Every reader of a parsed document (canonical JSON, params, the
// JSON tree's own destructor) recurses once per level, so a 50,000-deep
// file crashed them with a stack overflow (found by a tester).
size_t TooDeepAt(std::string_view text, size_t limit) {
  size_t depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limit) return i;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return std::string_view::npos;
}

namespace {

// One open array or object while walking JSON text: its pointer and, for
// an object, the member being read; for an array, the element's index.
struct OpenContainer {
  bool is_object = false;
  bool expecting_key = false;
  std::string pointer;
  std::string member;
  size_t index = 0;

  std::string ChildPointer() const {
    std::string token = is_object ? member : std::to_string(index);
    std::string escaped;
    for (char c : token) {
      escaped += c == '~' ? "~0" : c == '/' ? "~1" : std::string(1, c);
    }
    return pointer + "/" + escaped;
  }
};

// Calls `on_key(object pointer, key, offset of the key's quote)` for
// every member key, and `on_value(pointer, offset)` for the first
// character of every value (the root's pointer is ""), in document order,
// until one returns true; either may be null. Keys are decoded, so
// "\u0061" and "a" are the same key. An array element or a whole
// document has no key to point at, so a checker refusing one points at
// its value. REQUIRES: well-formed JSON.
using KeyVisitor =
    std::function<bool(const std::string&, const std::string&, size_t)>;
using ValueVisitor = std::function<bool(const std::string&, size_t)>;
void WalkJson(std::string_view text, const KeyVisitor& on_key,
              const ValueVisitor& on_value) {
  std::vector<OpenContainer> open;
  bool value_next = true;  // The document's own value comes first.
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') continue;
    bool empty_array = c == ']' && !open.empty() && !open.back().is_object;
    if (value_next && !empty_array) {
      value_next = false;
      std::string pointer = open.empty() ? "" : open.back().ChildPointer();
      if (on_value && on_value(pointer, i)) return;
    }
    if (c == '"') {
      size_t start = i;
      for (++i; text[i] != '"'; ++i) {
        if (text[i] == '\\') ++i;
      }
      if (open.empty() || !open.back().expecting_key) continue;
      OpenContainer& current = open.back();
      current.member =
          Json::parse(text.substr(start, i - start + 1)).get<std::string>();
      current.expecting_key = false;
      if (on_key && on_key(current.pointer, current.member, start)) return;
    } else if (c == ':') {
      value_next = true;
    } else if (c == '{' || c == '[') {
      std::string pointer = open.empty() ? "" : open.back().ChildPointer();
      open.push_back({c == '{', c == '{', std::move(pointer), "", 0});
      value_next = c == '[';
    } else if (c == '}' || c == ']') {
      value_next = false;
      open.pop_back();
    } else if (c == ',' && !open.empty()) {
      if (open.back().is_object) {
        open.back().expecting_key = true;
      } else {
        ++open.back().index;
        value_next = true;
      }
    }
  }
}

void VisitObjectKeys(std::string_view text, const KeyVisitor& visit) {
  WalkJson(text, visit, nullptr);
}

void VisitValueStarts(std::string_view text, const ValueVisitor& visit) {
  WalkJson(text, nullptr, visit);
}

// Where the first key repeated within one object starts, and the key;
// npos when there is none. REQUIRES: `text` is well-formed JSON.
std::pair<size_t, std::string> RepeatedKeyAt(std::string_view text,
                                             KeyCase key_case) {
  std::map<std::string, std::set<std::string>> keys_by_object;
  std::pair<size_t, std::string> repeated{std::string_view::npos, ""};
  VisitObjectKeys(text, [&](const std::string& object,
                            const std::string& key, size_t at) {
    std::string seen = key_case == KeyCase::kIgnored ? AsciiLowercase(key)
                                                     : key;
    if (keys_by_object[object].insert(seen).second) return false;
    repeated = {at, key};
    return true;
  });
  return repeated;
}

}  // namespace

std::string JsonKeyLocation(std::string_view text, std::string_view object,
                            std::string_view key) {
  std::string location;
  VisitObjectKeys(text, [&](const std::string& pointer,
                            const std::string& member, size_t at) {
    if (pointer != object || member != key) return false;
    location = LineAndColumn(text, at);
    return true;
  });
  return location;
}

std::string JsonValueLocation(std::string_view text,
                              std::string_view pointer) {
  std::string location;
  VisitValueStarts(text, [&](const std::string& at_pointer, size_t at) {
    if (at_pointer != pointer) return false;
    location = LineAndColumn(text, at);
    return true;
  });
  return location;
}

std::optional<std::string> OversizedIntegerLiteral(std::string_view text,
                                                   std::string_view pointer) {
  std::optional<std::string> found;
  VisitValueStarts(text, [&](const std::string& at_pointer, size_t at) {
    bool inside = at_pointer == pointer ||
                  (at_pointer.starts_with(pointer) &&
                   at_pointer[pointer.size()] == '/');
    char first = text[at];
    if (!inside || (first != '-' && (first < '0' || first > '9'))) {
      return false;
    }
    size_t end = text.find_first_not_of("0123456789+-.eE", at);
    std::string_view number = text.substr(at, end - at);
    if (number.find_first_of(".eE") != std::string_view::npos) return false;
    // What nlohmann's lexer holds: int64 when negative, else uint64.
    const char* last = number.data() + number.size();
    int64_t negative = 0;
    uint64_t positive = 0;
    std::errc error =
        first == '-'
            ? std::from_chars(number.data(), last, negative).ec
            : std::from_chars(number.data(), last, positive).ec;
    if (error != std::errc::result_out_of_range) return false;
    found = std::string(number);
    return true;
  });
  return found;
}

Json ParseJsonOrDiscarded(std::string_view text) {
  if (TooDeepAt(text, kMaxJsonDepth) != std::string_view::npos) {
    return Json(Json::value_t::discarded);
  }
  return Json::parse(text, nullptr, false);
}

Result<Json> ParseJson(std::string_view text, std::string_view source) {
  if (size_t at = TooDeepAt(text, kMaxJsonDepth);
      at != std::string_view::npos) {
    return Status::InvalidArgument(
        std::string(source) + ":" + LineAndColumn(text, at) +
        ": malformed JSON: nested deeper than " +
        std::to_string(kMaxJsonDepth) + " levels");
  }
  try {
    return Json::parse(text);
  } catch (const Json::parse_error& error) {
    // error.byte counts the characters read, the offending one included.
    size_t offset = error.byte == 0 ? 0 : error.byte - 1;
    return Status::InvalidArgument(
        std::string(source) + ":" + LineAndColumn(text, offset) +
        ": malformed JSON: " + ParseErrorReason(error.what()));
  } catch (const Json::exception& error) {
    // A number beyond a double (1e999) is out_of_range, not parse_error;
    // uncaught, it aborted every reader of JSON (found by the fuzzer). It
    // carries no offset, but it names the number: found in the text, it
    // gives the line (the first such spelling; a tester saw the library's
    // own words, "[json.exception.out_of_range.406]", instead).
    std::string what = error.what();
    size_t open = what.find('\'');
    size_t close = what.rfind('\'');
    if (open != std::string::npos && close > open + 1) {
      std::string number = what.substr(open + 1, close - open - 1);
      size_t at = text.find(number);
      if (at != std::string_view::npos) {
        return Status::InvalidArgument(
            std::string(source) + ":" + LineAndColumn(text, at) +
            ": malformed JSON: the number " + number +
            " is beyond a double's range");
      }
    }
    return Status::InvalidArgument(std::string(source) +
                                   ": malformed JSON: " + what);
  }
}

Result<Json> ParseJsonWithUniqueKeys(std::string_view text,
                                     std::string_view source,
                                     KeyCase key_case) {
  ASSIGN_OR_RETURN(Json value, ParseJson(text, source));
  auto [at, key] = RepeatedKeyAt(text, key_case);
  if (at != std::string_view::npos) {
    return Status::InvalidArgument(
        std::string(source) + ":" + LineAndColumn(text, at) + ": key \"" +
        key + "\" appears twice in the same object" +
        (key_case == KeyCase::kIgnored ? " (keys are compared ignoring case)"
                                       : ""));
  }
  return value;
}

}  // namespace lockstep
