// http_headers.h: parsing header values that web servers and the report endpoint send. Their
// bytes are untrusted: every parser here is total (any input gives a value or nullopt, never
// UB) and is fuzzed (agent/fuzz/http_headers_fuzz.cc).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>

namespace agent {

// A Content-Range value "bytes A-B/TOTAL" (TOTAL may be "*") -> (A, B); nullopt when
// malformed. A and B are as sent: the caller compares them with what it asked for.
std::optional<std::pair<std::uint64_t, std::uint64_t>> parse_content_range(std::string_view v);

// A Retry-After value (delta-seconds, or an HTTP date relative to `now`, Unix time): the wait
// it asks for, clamped to [0, 1 day]; nullopt when unparsable.
std::optional<std::chrono::seconds> parse_retry_after(std::string_view value, std::int64_t now);

} // namespace agent
