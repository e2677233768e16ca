// cmd_links.h: the `links` command: audit the torrent-symlinks tree of a mirror.
#pragma once

#include "exit_code.h"
#include "links_output.h"
#include "settings.h"

#include <ostream>

namespace agent {

struct LinksOptions {
  bool json = false;
  Verbose verbose = Verbose::no;
};

// Runs the audit and prints the result to `out`. Returns ExitCode::ok when no error finding,
// ExitCode::findings otherwise. Throws Fatal(usage) when the root cannot be opened.
ExitCode run_links(const Settings& settings, const LinksOptions& options, std::ostream& out);

} // namespace agent
