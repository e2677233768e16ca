// util/format.h: numbers and times for humans. Knows nothing of the agent.
#pragma once

#include <cstdint>
#include <string>

namespace util {

// "0 B", "1023 B", "1.0 KiB", "3.7 GiB" (binary units, one decimal).
std::string human_size(std::uint64_t bytes);

// "2007-05-01 12:00:00 UTC" for seconds since the epoch; the number itself when out of range.
std::string utc_time(std::int64_t seconds);

} // namespace util
