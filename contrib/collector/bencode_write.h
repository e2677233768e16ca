// bencode_write.h: writing BEP 3 bencode (the collector's made torrents). Values are built as
// their encoded bytes; a dictionary sorts its keys bytewise (as BEP 3 requires) and refuses
// none: callers pass distinct keys. Already-encoded bytes (an existing torrent's `info`) are
// spliced in as they are, so their hash never changes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace collector::benc {

// "4:spam"
std::string str(std::string_view s);
// "i42e"
std::string integer(std::int64_t v);
// "l" + items (each already encoded) + "e"
std::string list(const std::vector<std::string>& items);
// "d" + key/value pairs sorted by key (values already encoded) + "e"
std::string dict(std::vector<std::pair<std::string, std::string>> pairs);

} // namespace collector::benc
