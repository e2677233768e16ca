#include "bencode_write.h"

#include <algorithm>

namespace collector::benc {

std::string str(std::string_view s)
{
  std::string out = std::to_string(s.size());
  out += ':';
  out += s;
  return out;
}

std::string integer(std::int64_t v)
{
  return "i" + std::to_string(v) + "e";
}

std::string list(const std::vector<std::string>& items)
{
  std::string out = "l";
  for (const std::string& item : items) {
    out += item;
  }
  out += 'e';
  return out;
}

std::string dict(std::vector<std::pair<std::string, std::string>> pairs)
{
  // std::string compares like memcmp (unsigned bytes): the BEP 3 order.
  std::sort(pairs.begin(), pairs.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string out = "d";
  for (const auto& [key, value] : pairs) {
    out += str(key);
    out += value;
  }
  out += 'e';
  return out;
}

} // namespace collector::benc
