#include "util/format.h"

#include <array>
#include <cstdio>
#include <ctime>

namespace util {

std::string human_size(std::uint64_t bytes)
{
  static constexpr const char* k_units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  if (bytes < 1024) {
    return std::to_string(bytes) + " B";
  }
  double value = static_cast<double>(bytes);
  std::size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(k_units)) {
    value /= 1024;
    ++unit;
  }
  std::array<char, 32> buf{};
  std::snprintf(buf.data(), buf.size(), "%.1f %s", value, k_units[unit]);
  return buf.data();
}

std::string utc_time(std::int64_t seconds)
{
  const auto t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  std::array<char, 64> buf{};
  if (seconds < -62135596800LL || seconds > 253402300799LL || ::gmtime_r(&t, &tm) == nullptr ||
      std::strftime(buf.data(), buf.size(), "%Y-%m-%d %H:%M:%S UTC", &tm) == 0) {
    return std::to_string(seconds);
  }
  return buf.data();
}

} // namespace util
