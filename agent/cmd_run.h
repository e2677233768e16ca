// cmd_run.h: `webseed-agent run`, the post-sync hook (docs/run.md). Under the state lock:
// resend spooled reports; judge the tree unless the sync failed or is still running; write
// STATE_DIR/status.json atomically; send the readiness report (spooled first, so nothing is
// lost); write the metrics file; start the notification hooks. Bounded by run.timeout.
// Silent on success; problems go to syslog (and stderr on a terminal).
#pragma once

#include "exit_code.h"
#include "settings.h"

#include <optional>
#include <ostream>
#include <string>

namespace agent {

struct RunOptions {
  std::optional<int> rsync_exit; // --rsync-exit N: the exit code of the sync that just ran
  bool strict = false;           // exit 1 when not ready (default: 0, never breaking the sync)
  // Print the report instead of sending it: no spool, status.json, metrics or hooks (the
  // check itself runs, and records what it verified in the cache).
  bool dry_run = false;
  std::string write_report; // also write the report to this file (atomically)
};

// Exit codes: 0 (and with --strict: 0 ready, 1 not ready / not judged), 2 usage or
// configuration, 3 internal (or the run.timeout watchdog), 4 busy (another run holds the
// lock). Throws Fatal for 2 and 4.
ExitCode run_run(const Overrides& overrides, const RunOptions& options, std::ostream& out);

} // namespace agent
