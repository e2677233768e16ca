#include "http_headers.h"

#include <curl/curl.h>

#include <algorithm>
#include <charconv>
#include <string>

namespace agent {

std::optional<std::pair<std::uint64_t, std::uint64_t>> parse_content_range(std::string_view v)
{
  if (!v.starts_with("bytes ")) {
    return std::nullopt;
  }
  v.remove_prefix(6);
  std::uint64_t a = 0;
  std::uint64_t b = 0;
  auto r = std::from_chars(v.data(), v.data() + v.size(), a);
  if (r.ec != std::errc() || r.ptr == v.data() + v.size() || *r.ptr != '-') {
    return std::nullopt;
  }
  r = std::from_chars(r.ptr + 1, v.data() + v.size(), b);
  if (r.ec != std::errc() || r.ptr == v.data() + v.size() || *r.ptr != '/') {
    return std::nullopt;
  }
  return std::pair{a, b};
}

std::optional<std::chrono::seconds> parse_retry_after(std::string_view value, std::int64_t now)
{
  constexpr std::int64_t k_max = 86400;
  if (value.empty() || value.size() > 64) {
    return std::nullopt;
  }
  if (value.front() >= '0' && value.front() <= '9') {
    std::int64_t n = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (end != value.data() + value.size() ||
        (ec != std::errc() && ec != std::errc::result_out_of_range)) {
      return std::nullopt;
    }
    return std::chrono::seconds(ec == std::errc() ? std::min(n, k_max) : k_max);
  }
  const std::string date(value);
  const time_t when = curl_getdate(date.c_str(), nullptr);
  if (when == -1) {
    return std::nullopt;
  }
  const std::int64_t wait = static_cast<std::int64_t>(when) - now;
  return std::chrono::seconds(std::clamp<std::int64_t>(wait, 0, k_max));
}

} // namespace agent
