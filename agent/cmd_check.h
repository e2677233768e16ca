// cmd_check.h: `webseed-agent check` (and `probe`): for every torrent, can this mirror serve
// it as a web seed? Its files must be where the torrent-symlinks tree says (every `links`
// finding applies), with the right sizes and bytes, and, when a base URL is known, the
// mirror's web server must serve them to web-seed clients (webseed_probe.h). A torrent is
// ready when it has no error finding.
#pragma once

#include "exit_code.h"
#include "settings.h"

#include <ostream>
#include <string>
#include <vector>

namespace agent {

struct CheckOptions {
  std::vector<std::string> torrents; // overrides the config's `torrents` when not empty
  unsigned jobs = 0;                 // 0 = the config's verify.jobs (0 = one per core)
  bool json = false;
  bool full = false;          // ignore the verification cache (still record the results)
  std::string state_dir;      // overrides state_dir; "" = config, else the default
  bool low_priority = false;  // lower CPU and I/O priority first (config verify.nice/io_class)
  std::string base_url;       // overrides mirror.base_url: the web-seed probe's base
  bool no_probe = false;      // skip the web-seed probe even with a base URL
  bool require_probe = false; // `probe`: a base URL is required
};

// Returns ExitCode::ok when every torrent is ready, ExitCode::findings otherwise. Throws
// Fatal(usage) when there are no torrents to check or a torrents path cannot be read.
ExitCode run_check(const Settings& settings, const CheckOptions& options, std::ostream& out);

} // namespace agent
