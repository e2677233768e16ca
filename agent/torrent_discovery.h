// torrent_discovery.h: the .torrent files named by the config (`torrents`) or --torrents:
// files as given, directories walked recursively for regular files named *.torrent.
#pragma once

#include <expected>
#include <string>
#include <vector>

namespace agent {

// Every .torrent file under `paths`, sorted, without duplicates. A path given explicitly is
// taken whatever its name; inside directories only regular files ending in ".torrent" count,
// symlinks are not followed and nesting stops at 32 levels. Error: "PATH: <why>" for a path
// that does not exist or cannot be read.
std::expected<std::vector<std::string>, std::string>
find_torrents(const std::vector<std::string>& paths);

} // namespace agent
