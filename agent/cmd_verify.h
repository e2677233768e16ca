// cmd_verify.h: `webseed-agent verify`: one torrent against one download directory (or
// file), without the mirror layout, like `imdl torrent verify`: locate, size, hash.
#pragma once

#include "exit_code.h"

#include <ostream>
#include <string>

namespace agent {

struct VerifyCommandOptions {
  std::string torrent;
  std::string content; // "" = the torrent's name next to the .torrent file
  unsigned jobs = 0;   // 0 = one per core
  bool json = false;
};

// Returns ExitCode::ok when every file is there with the right size and bytes,
// ExitCode::findings otherwise (also for an invalid torrent). Throws Fatal(usage) when the
// content path cannot be opened at all.
ExitCode run_verify(const VerifyCommandOptions& options, std::ostream& out);

} // namespace agent
