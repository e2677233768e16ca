// nagios_output.h: `check --format nagios`, the monitoring-plugins convention: one status
// line "WEBSEED <STATE> - <summary> | <perfdata>" and the exit code 0 OK (every torrent
// ready, no warning), 1 WARNING (ready, with warnings), 2 CRITICAL (a torrent not ready),
// 3 UNKNOWN (the check could not run: configuration, mirror root, torrents).
#pragma once

#include "check_run.h"

#include <ostream>
#include <string>

namespace agent {

// Prints the status line and returns the plugin exit code (0..3).
int print_nagios(std::ostream& out, const CheckRun& run);

// For a check that could not run: prints "WEBSEED UNKNOWN - <message>", returns 3.
int print_nagios_unknown(std::ostream& out, const std::string& message);

} // namespace agent
