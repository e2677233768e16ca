// seed_torrents.h: `webseed-collector seed-torrents --in DIR --out DIR`: each .torrent of DIR
// written to the output directory with its BEP 19 `url-list` set to the web-seed URLs of the
// mirrors listed for it, and nothing else changed: the `info` dictionary's bytes (hence both
// info-hashes) and every other key stay byte for byte. Written atomically (temp + fsync +
// rename), so a client or web server reading the output never sees half a file.
#pragma once

#include "torrent.h"

#include <expected>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace collector {

// `bytes` (a valid .torrent) with its top-level "url-list" replaced by `urls` (a list, even of
// one; the key is removed when `urls` is empty). Keys stay sorted; every other value keeps its
// exact bytes (the pairs are spliced from `bytes`; nothing is re-encoded). Error: "SOURCE: what"
// for bytes that are not exactly one strict bencoded dictionary (bencode.h; trailing bytes
// included) holding an "info" dictionary, e.g. "x.torrent: byte 12: unexpected end of data".
std::expected<std::string, std::string> with_url_list(std::string_view bytes,
                                                      const std::vector<std::string>& urls,
                                                      const std::string& source);

// The web-seed URLs to list for a torrent (e.g. the ready mirrors' BASE/SYMLINKS_DIR/).
using UrlsFor = std::function<std::vector<std::string>(const agent::Torrent&)>;

struct SeedOutcome {
  std::vector<std::string> written;  // output paths
  std::vector<std::string> problems; // one line per .torrent that could not be handled
};

// Every *.torrent directly in `in_dir` (not recursive; at most `max_size` bytes each) is
// parsed with the agent's parser; valid ones are written to out_dir/<same file name> with
// url-list = urls_for(torrent). Entries are opened without following symbolic links and
// without blocking: a symlink, FIFO, directory or device named *.torrent is reported, as is an
// invalid torrent or a failed write ("IN_DIR/NAME: why", the path escaped for a terminal;
// also Torrent::source); none is written. Sorted by name. Throws std::runtime_error when
// `in_dir` cannot be read or `out_dir` cannot be created; exceptions from urls_for propagate.
SeedOutcome seed_torrents(const std::string& in_dir, const std::string& out_dir,
                          const UrlsFor& urls_for, std::uint64_t max_size = 256u << 20);

} // namespace collector
