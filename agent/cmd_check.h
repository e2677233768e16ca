// cmd_check.h: `webseed-agent check` (and `probe`): for every torrent, can this mirror serve
// it as a web seed? Its files must be where the torrent-symlinks tree says (every `links`
// finding applies), with the right sizes and bytes, and, when a base URL is known, the
// mirror's web server must serve them to web-seed clients (webseed_probe.h). A torrent is
// ready when it has no error finding.
#pragma once

#include "check_run.h"
#include "exit_code.h"
#include "settings.h"

#include <ostream>
#include <string>
#include <vector>

namespace agent {

// With options.nagios: the plugin's codes instead (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN),
// and a check that cannot run is UNKNOWN, not an exception.
// Returns ExitCode::ok when every torrent is ready, ExitCode::findings otherwise. Throws
// Fatal(usage) when there are no torrents to check or a torrents path cannot be read.
ExitCode run_check(const Settings& settings, const CheckOptions& options, std::ostream& out);

} // namespace agent
