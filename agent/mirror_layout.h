// mirror_layout.h: where a torrent lives on the mirror and on its web server, in one place.
//
// The torrent's `name` is the entry under the symlinks dir: a directory for a multi-file
// torrent (its files at name/path...), the link itself for a single-file torrent. A web-seed
// client (BEP 19) given the directory URL BASE/SYMLINKS_DIR/ fetches BASE/SYMLINKS_DIR/name
// (single-file) or BASE/SYMLINKS_DIR/name/path... (multi-file), each component
// percent-encoded.
#pragma once

#include "torrent.h"

#include <string>
#include <string_view>
#include <vector>

namespace agent {

// Path components of `file` relative to the mirror root: symlinks dir components, the
// torrent's name, then the file's path (single-file: the name only).
std::vector<std::string> mirror_components(std::string_view symlinks_dir, const Torrent& torrent,
                                           const TorrentFile& file);

// The same joined with '/': the path to check under the mirror root.
std::string mirror_path(std::string_view symlinks_dir, const Torrent& torrent,
                        const TorrentFile& file);

// The URL a web-seed client fetches `file` from when the mirror's tree is served at
// `base_url` (a '/' is added to it when missing).
std::string webseed_url(std::string_view base_url, std::string_view symlinks_dir,
                        const Torrent& torrent, const TorrentFile& file);

// RFC 3986 percent-encoding of one path component: unreserved characters (A-Z a-z 0-9 - . _ ~)
// are kept, every other byte becomes %XX (uppercase hex).
std::string percent_encode(std::string_view component);

} // namespace agent
