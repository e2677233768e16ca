// report_setup.h: the report settings of a run, checked before any work starts: the endpoint,
// the bearer token (read now: a token file others can read stops the run), TLS files, the
// spool, and whether this mirror has withdrawn (`webseed-agent withdraw`).
#pragma once

#include "config.h"
#include "report_send.h"

#include <chrono>
#include <string>

namespace agent {

struct ReportSetup {
  bool enabled = false; // report.endpoint is set: reports leave the machine
  Endpoint endpoint;
  std::string spool_dir;
  std::uint64_t spool_max = 100;
  std::chrono::seconds timeout{30};
  std::string withdrawn_marker; // STATE_DIR/withdrawn: present after `withdraw`
};

// Throws Fatal(usage) with a one-line message when the token file is unusable (missing,
// readable by group or others, malformed) or a TLS file is missing.
ReportSetup prepare_report(const Config& config, const std::string& state_dir);

// STATE_DIR/withdrawn.
std::string withdrawn_marker_path(const std::string& state_dir);

// True when `withdraw` was run (and not cancelled): reports say opted_in false.
bool is_withdrawn(const ReportSetup& setup);

} // namespace agent
