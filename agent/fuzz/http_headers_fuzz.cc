// http_headers_fuzz.cc: libFuzzer target for the header parsers of http_headers.h, which read
// bytes from web servers and the report endpoint.
//
// Besides "no crash, no UB", it checks what the header promises:
//  - parse_content_range accepts exactly "bytes " A "-" B "/" ... with A and B decimal
//    uint64 (checked against an independent reading), and returns them;
//  - parse_retry_after never returns a wait outside [0, 86400] s, and for plain digits
//    returns their value (clamped).
// A broken promise aborts with a line on stderr saying which.
#include "http_headers.h"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

[[noreturn]] void fail(const char* what)
{
  std::fprintf(stderr, "http_headers_fuzz: broken promise: %s\n", what);
  std::abort();
}

// Reads decimal digits as a uint64; false when none or it overflows.
bool number(std::string_view s, std::size_t& pos, std::uint64_t& out)
{
  const std::size_t start = pos;
  out = 0;
  while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
    const auto d = static_cast<std::uint64_t>(s[pos] - '0');
    if (out > (UINT64_MAX - d) / 10) {
      return false;
    }
    out = out * 10 + d;
    ++pos;
  }
  return pos > start;
}

void check_content_range(std::string_view s)
{
  const auto got = agent::parse_content_range(s);
  std::size_t pos = 6;
  std::uint64_t a = 0;
  std::uint64_t b = 0;
  const bool expected = s.starts_with("bytes ") && number(s, pos, a) && pos < s.size() &&
                        s[pos++] == '-' && number(s, pos, b) && pos < s.size() && s[pos] == '/';
  if (expected != got.has_value()) {
    fail(expected ? "a valid Content-Range was refused" : "an invalid Content-Range was accepted");
  }
  if (got && (got->first != a || got->second != b)) {
    fail("Content-Range numbers differ from the independent reading");
  }
}

void check_retry_after(std::string_view s)
{
  const auto wait = agent::parse_retry_after(s, 1795696060);
  if (wait && (wait->count() < 0 || wait->count() > 86400)) {
    fail("Retry-After wait outside [0, 1 day]");
  }
  std::size_t pos = 0;
  std::uint64_t n = 0;
  if (!s.empty() && s.size() <= 64 && number(s, pos, n) && pos == s.size()) {
    if (!wait || static_cast<std::uint64_t>(wait->count()) != std::min<std::uint64_t>(n, 86400)) {
      fail("Retry-After delta-seconds not returned (clamped)");
    }
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  if (size > 4096) {
    return -1;
  }
  const std::string owned(reinterpret_cast<const char*>(data), size);
  check_content_range(owned);
  check_retry_after(owned);
  return 0;
}
