#include "util/text.h"

#include <array>
#include <cstdint>
#include <cstdio>
#include <optional>

namespace util {

namespace {

constexpr std::string_view k_hex_digits = "0123456789abcdef";

struct Decoded {
  char32_t code_point;
  std::size_t length;
};

// Decodes one well-formed UTF-8 sequence at the start of `s`, or nothing.
std::optional<Decoded> decode_one(std::string_view s)
{
  const auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(s[i]); };
  const std::uint8_t b0 = byte(0);
  if (b0 < 0x80) {
    return Decoded{b0, 1};
  }
  std::size_t length = 0;
  char32_t cp = 0;
  char32_t min = 0;
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    length = 2;
    cp = b0 & 0x1f;
    min = 0x80;
  } else if (b0 >= 0xe0 && b0 <= 0xef) {
    length = 3;
    cp = b0 & 0x0f;
    min = 0x800;
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    length = 4;
    cp = b0 & 0x07;
    min = 0x10000;
  } else {
    return std::nullopt;
  }
  if (s.size() < length) {
    return std::nullopt;
  }
  for (std::size_t i = 1; i < length; ++i) {
    if ((byte(i) & 0xc0) != 0x80) {
      return std::nullopt;
    }
    cp = (cp << 6) | (byte(i) & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
    return std::nullopt;
  }
  return Decoded{cp, length};
}

void append_hex_byte(std::string& out, std::uint8_t b)
{
  out += "\\x";
  out += k_hex_digits[b >> 4];
  out += k_hex_digits[b & 0xf];
}

bool is_invisible_format(char32_t cp)
{
  return (cp >= 0x80 && cp <= 0x9f) || (cp >= 0x202a && cp <= 0x202e) ||
         (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200e || cp == 0x200f || cp == 0x2028 ||
         cp == 0x2029 || cp == 0xfeff;
}

} // namespace

bool is_valid_utf8(std::string_view bytes)
{
  while (!bytes.empty()) {
    const auto d = decode_one(bytes);
    if (!d) {
      return false;
    }
    bytes.remove_prefix(d->length);
  }
  return true;
}

std::string to_utf8_lossy(std::string_view bytes)
{
  std::string out;
  out.reserve(bytes.size());
  while (!bytes.empty()) {
    if (const auto d = decode_one(bytes)) {
      out.append(bytes.substr(0, d->length));
      bytes.remove_prefix(d->length);
    } else {
      out += "\xef\xbf\xbd";
      bytes.remove_prefix(1);
    }
  }
  return out;
}

std::string to_hex(std::string_view bytes)
{
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char c : bytes) {
    const auto b = static_cast<std::uint8_t>(c);
    out += k_hex_digits[b >> 4];
    out += k_hex_digits[b & 0xf];
  }
  return out;
}

namespace {

std::string escape(std::string_view bytes, bool& needs_quotes)
{
  std::string out;
  out.reserve(bytes.size() + 2);
  needs_quotes = bytes.empty();
  while (!bytes.empty()) {
    const auto d = decode_one(bytes);
    if (!d) {
      append_hex_byte(out, static_cast<std::uint8_t>(bytes[0]));
      bytes.remove_prefix(1);
      continue;
    }
    const char32_t cp = d->code_point;
    switch (cp) {
    case '\\': out += "\\\\"; break;
    case '\n': out += "\\n"; break;
    case '\t': out += "\\t"; break;
    case '\r': out += "\\r"; break;
    case '"':
      out += "\\\"";
      needs_quotes = true;
      break;
    case ' ':
      out += ' ';
      needs_quotes = true;
      break;
    default:
      if (cp < 0x20 || cp == 0x7f) {
        append_hex_byte(out, static_cast<std::uint8_t>(cp));
      } else if (is_invisible_format(cp)) {
        std::array<char, 16> buf{};
        std::snprintf(buf.data(), buf.size(), "\\u{%04X}", static_cast<unsigned>(cp));
        out += buf.data();
      } else {
        out.append(bytes.substr(0, d->length));
      }
    }
    bytes.remove_prefix(d->length);
  }
  return out;
}

} // namespace

std::string escape_for_terminal(std::string_view bytes)
{
  bool needs_quotes = false;
  std::string out = escape(bytes, needs_quotes);
  if (needs_quotes) {
    return '"' + out + '"';
  }
  return out;
}

std::string escape_in_message(std::string_view bytes)
{
  bool needs_quotes = false;
  return escape(bytes, needs_quotes);
}

} // namespace util
