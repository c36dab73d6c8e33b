// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "core/utf8.h"

#include <cstdint>

#include "core/json_keys.h"

namespace lockstep {

namespace {

// The length of the well-formed sequence starting at `i`, or 0.
size_t SequenceLength(std::string_view text, size_t i) {
  auto at = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  unsigned char lead = at(i);
  if (lead < 0x80) {
    return 1;
  }
  size_t length = 0;
  // The allowed range of the second byte (RFC 3629 table, section 4).
  unsigned char low = 0x80;
  unsigned char high = 0xbf;
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    if (lead == 0xe0) low = 0xa0;
    if (lead == 0xed) high = 0x9f;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    if (lead == 0xf0) low = 0x90;
    if (lead == 0xf4) high = 0x8f;
  } else {
    return 0;
  }
  if (i + length > text.size() || at(i + 1) < low || at(i + 1) > high) {
    return 0;
  }
  for (size_t k = 2; k < length; ++k) {
    if (at(i + k) < 0x80 || at(i + k) > 0xbf) {
      return 0;
    }
  }
  return length;
}


Status CheckJson(std::string_view what, const Json& value,
                 const std::string& pointer) {
  auto at = [&](const std::string& where) {
    return std::string(what) + (where.empty() ? "" : " at " + where);
  };
  if (value.is_string()) {
    return RequireUtf8(at(pointer), value.get_ref<const std::string&>());
  }
  if (value.is_array()) {
    for (size_t i = 0; i < value.size(); ++i) {
      RETURN_IF_ERROR(
          CheckJson(what, value[i], pointer + "/" + std::to_string(i)));
    }
  }
  if (value.is_object()) {
    for (const auto& [key, member] : value.items()) {
      RETURN_IF_ERROR(RequireUtf8(at(pointer) + " (a key)", key));
      RETURN_IF_ERROR(
          CheckJson(what, member, pointer + "/" + PointerToken(key)));
    }
  }
  return Status::Ok();
}

}  // namespace

size_t FirstNonUtf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    size_t length = SequenceLength(text, i);
    if (length == 0) {
      return i;
    }
    i += length;
  }
  return std::string_view::npos;
}

std::string EscapeBytes(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7f && c != '\\') {
      out.push_back(c);
    } else {
      out += "\\x";
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 0xf]);
    }
  }
  return out;
}

std::string DisplayPath(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  size_t i = 0;
  while (i < bytes.size()) {
    auto byte = static_cast<unsigned char>(bytes[i]);
    size_t length = SequenceLength(bytes, i);
    if (length > 0 && byte >= 0x20 && byte != 0x7f && byte != '\\') {
      out.append(bytes.substr(i, length));
      i += length;
      continue;
    }
    out += "\\x";
    out.push_back(kHex[byte >> 4]);
    out.push_back(kHex[byte & 0xf]);
    ++i;
  }
  return out;
}

bool HasHiddenCharacters(std::string_view text) {
  for (size_t i = 0; i < text.size(); ++i) {
    auto byte = static_cast<unsigned char>(text[i]);
    if (byte < 0x20 || byte == 0x7f) return true;
    auto next = [&](size_t k) {
      return i + k < text.size() ? static_cast<unsigned char>(text[i + k])
                                 : 0;
    };
    if (byte == 0xc2 && next(1) >= 0x80 && next(1) <= 0x9f) return true;
    if (byte == 0xd8 && next(1) == 0x9c) return true;  // U+061C
    if (byte == 0xe2 && next(1) == 0x80 &&
        (next(2) == 0x8e || next(2) == 0x8f ||
         (next(2) >= 0xaa && next(2) <= 0xae))) {
      return true;  // U+200E, U+200F, U+202A..U+202E
    }
    if (byte == 0xe2 && next(1) == 0x81 && next(2) >= 0xa6 &&
        next(2) <= 0xa9) {
      return true;  // U+2066..U+2069
    }
  }
  return false;
}

std::string JsonPath(std::string_view bytes) {
  bool plain = IsUtf8(bytes) && bytes.find('\\') == std::string_view::npos;
  return plain ? std::string(bytes) : DisplayPath(bytes);
}

Status RequireUtf8(std::string_view what, std::string_view text) {
  size_t bad = FirstNonUtf8(text);
  if (bad == std::string_view::npos) {
    return Status::Ok();
  }
  std::string shown = EscapeBytes(text.substr(bad, 1));
  return Status::InvalidArgument(
      std::string(what) + " holds a byte that is not UTF-8 (" +
      shown.replace(0, 2, "0x") + " at byte " + std::to_string(bad) +
      " of '" + EscapeBytes(text) +
      "'); Lockstep records text as UTF-8 JSON, so convert it (e.g. "
      "iconv -f latin1 -t utf-8) or rename it");
}

Status RequireUtf8Json(std::string_view what, const Json& value) {
  return CheckJson(what, value, "");
}

}  // namespace lockstep
