// torrent_output.h: what `webseed-agent torrent show` prints: per torrent, what
// transmission-show prints (name, hashes, pieces, sizes, files, trackers, web seeds) and,
// with a base URL, the web-seed URL of each file. JSON: docs/torrent-show.md.
#pragma once

#include "findings.h"
#include "torrent.h"
#include "util/json_text.h"

#include <expected>
#include <optional>
#include <ostream>
#include <string>

namespace agent {

// Where the mirror serves its tree, for the per-file URLs; empty base_url = no URLs.
struct UrlContext {
  std::string base_url;
  std::string symlinks_dir;
};

// The finding for a torrent that failed to load (torrent-invalid or unsafe-path).
Finding torrent_finding(const std::string& path, const TorrentError& error);

// The warning for a torrent read with bencoding quirks that clients accept
// (torrent-noncanonical: Torrent::quirks, each with its byte offset); nothing without quirks.
std::optional<Finding> quirk_finding(const std::string& path, const Torrent& torrent);

void print_torrent_human(std::ostream& out, const std::string& path,
                         const std::expected<Torrent, TorrentError>& torrent,
                         const UrlContext& urls);

// Sets "info_hash_v1" and "info_hash_v2" (lowercase hex, or null; both null without a torrent).
void put_info_hashes(util::Json& j, const Torrent* torrent);

util::Json torrent_json(const std::string& path,
                        const std::expected<Torrent, TorrentError>& torrent,
                        const UrlContext& urls);

} // namespace agent
