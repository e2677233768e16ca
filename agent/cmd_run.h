// cmd_run.h: `webseed-agent run`, the post-sync hook (docs/run.md). The steps, in order:
//  1. settings; 2. the state lock (exit 4 when held);
//  3. report settings (token, TLS files), the run budget (run_budget.h) and its watchdog,
//     lower priority;
//  4. resend the reports earlier runs could not deliver;
//  5. the sync state (not judged when the sync failed or is still running);
//  6. the check (check_run.h), where what the config names inside the root and cannot be
//     found is a finding on the run (torrents-missing, missing-tree, missing-file);
//  7. the report (report_build.h), --write-report, --dry-run stops here;
//  8. delivery: spooled first, then sent (report_delivery.h);
//  9. STATE_DIR/status.json (run_status.h); 10. the metrics file; 11. the log lines;
//  12. the notification hook.
// Whatever stops a run after the lock (a Fatal, the watchdog), status.json says it failed,
// when and why (outcome "failed"), and never keeps an older verdict. Silent on success;
// problems go to syslog (and stderr on a terminal).
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
