// cmd_torrent.h: `webseed-agent torrent show`: what each .torrent file says, and where a
// web-seed client would fetch each of its files from this mirror.
#pragma once

#include "exit_code.h"

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace agent {

struct TorrentShowOptions {
  std::vector<std::string> files;
  bool json = false;
  std::string base_url;                // empty: no per-file URLs
  std::string symlinks_dir;            // for the URLs
  std::uint64_t max_size = 256u << 20; // larger .torrent files are refused
};

// Loads every file (a bad one never stops the others) and prints them. Returns
// ExitCode::ok when all loaded, ExitCode::findings otherwise.
ExitCode run_torrent_show(const TorrentShowOptions& options, std::ostream& out);

} // namespace agent
