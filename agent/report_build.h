// report_build.h: the readiness report `run` sends to the central team (docs/report.md,
// schema docs/report.schema.json). Versioned JSON; add fields, never rename or remove one.
//
// A status report says, per torrent, whether this mirror can serve it as a web seed, with
// evidence the central team can spot-check (the ranges the probe fetched and verified). When
// the sync failed or is still running, the tree is not judged: the report carries the sync
// state and no torrents. A withdraw report tells the central team to stop listing the mirror.
#pragma once

#include "check_run.h"
#include "sync_state.h"
#include "util/json_text.h"

#include <cstdint>
#include <string>

namespace agent {

inline constexpr int k_report_version = 1;

struct ReportHeader {
  std::string report_id; // new_report_id()
  std::string mirror;    // mirror.name
  std::string base_url;  // mirror.base_url
  std::int64_t generated_at = 0;
  bool opted_in = true;
};

// A random (version 4) UUID from OpenSSL's CSPRNG, lower-case. Throws std::runtime_error if
// the generator fails.
std::string new_report_id();

// True for a lower-case 8-4-4-4-12 hex UUID (the shape new_report_id makes).
bool is_report_id(std::string_view text);

// "2026-11-26T08:15:00Z".
std::string utc_time(std::int64_t unix_time);

// kind "status": the judgement of `check` (or none when the sync state says not to judge).
util::Json status_report(const ReportHeader& header, const SyncInfo& sync, const CheckRun* check,
                         double duration_seconds);

// kind "withdraw": stop listing this mirror, for every torrent, at once.
util::Json withdraw_report(const ReportHeader& header);

} // namespace agent
