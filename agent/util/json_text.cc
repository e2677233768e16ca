#include "util/json_text.h"

#include "util/text.h"

namespace util {

void put_bytes(Json& object, const std::string& key, std::string_view bytes)
{
  if (is_valid_utf8(bytes)) {
    object[key] = std::string(bytes);
  } else {
    object[key] = to_utf8_lossy(bytes);
    object[key + "_hex"] = to_hex(bytes);
  }
}

void put_optional_bytes(Json& object, const std::string& key,
                        const std::optional<std::string>& bytes)
{
  if (bytes) {
    put_bytes(object, key, *bytes);
  } else {
    object[key] = nullptr;
  }
}

} // namespace util
