// util/dir_list.h: listing a directory by descriptor. Knows nothing of the agent.
#pragma once

#include <expected>
#include <string>
#include <vector>

namespace util {

struct DirEntryName {
  std::string name;   // raw bytes, never "." or ".."
  unsigned char type; // DT_* from getdents; DT_UNKNOWN when the filesystem does not say
};

// Lists the directory `dirfd` refers to (an O_PATH descriptor is fine), sorted bytewise by
// name. Returns the errno on failure. Follows nothing: the listing is of `dirfd` itself.
std::expected<std::vector<DirEntryName>, int> list_dir(int dirfd);

} // namespace util
