// util/text.h: byte strings as text. File names are bytes (spaces, newlines, non-UTF-8
// are all legal); these helpers render them safely for terminals and JSON.
#pragma once

#include <string>
#include <string_view>

namespace util {

// True when `bytes` is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
bool is_valid_utf8(std::string_view bytes);

// `bytes` as valid UTF-8: each byte of an ill-formed sequence becomes U+FFFD.
std::string to_utf8_lossy(std::string_view bytes);

// Lowercase hex of every byte ("a\n" -> "610a").
std::string to_hex(std::string_view bytes);

// One line, unambiguous, safe to print on a terminal: backslash -> "\\", control
// characters -> "\n" "\t" "\r" or "\xNN", bytes of ill-formed UTF-8 -> "\xNN",
// C1 controls and bidi overrides -> "\u{XXXX}". The result is wrapped in double quotes
// (with '"' escaped) when it is empty or contains a space or a double quote.
std::string escape_for_terminal(std::string_view bytes);

// Like escape_for_terminal, but never adds quotes: for messages that embed names.
std::string escape_in_message(std::string_view bytes);

} // namespace util
