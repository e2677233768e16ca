// util/json_text.h: putting byte strings into JSON. JSON strings must be UTF-8, file names
// are bytes: put_bytes() stores valid UTF-8 as is; otherwise it stores a lossy copy (U+FFFD
// for each bad byte) and the exact bytes in hex under "<key>_hex".
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace util {

using Json = nlohmann::ordered_json;

void put_bytes(Json& object, const std::string& key, std::string_view bytes);

// As put_bytes, or null when `bytes` is unset.
void put_optional_bytes(Json& object, const std::string& key,
                        const std::optional<std::string>& bytes);

} // namespace util
