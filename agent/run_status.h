// run_status.h: STATE_DIR/status.json, what the last `run` found (docs/run.md, "status.json"),
// rewritten atomically by every run that gets past the lock, also by one that fails: the file
// never keeps a verdict older than the last run.
#pragma once

#include "check_run.h"
#include "report_delivery.h"
#include "util/json_text.h"

#include <cstdint>
#include <expected>
#include <string>
#include <string_view>

namespace agent {

enum class RunOutcome {
  ready,       // judged, nothing wrong with the run, every torrent ready
  not_ready,   // judged: a torrent not ready, or a finding on the run (torrents-missing...)
  syncing,     // a sync in progress: not judged
  sync_failed, // the sync failed: not judged
  failed,      // the run itself stopped with an error (status.json `error` says why)
};

// "ready", "not-ready", "syncing", "sync-failed", "failed".
std::string_view outcome_name(RunOutcome outcome);

// What the previous status.json says (empty/zero when there is none or it is unreadable).
struct PreviousRun {
  std::string outcome;
  std::uint64_t failures_total = 0;
};
PreviousRun read_previous_run(const std::string& status_path);

// The `report` block.
struct StatusDelivery {
  bool enabled = false;
  std::string report_id; // "" = none (a failed run)
  std::optional<bool> opted_in;
  DeliveryState state = DeliveryState::disabled;
  std::string message;
  std::optional<std::uint64_t> spooled;
  std::uint64_t failures_total = 0;
};

struct RunStatus {
  RunOutcome outcome = RunOutcome::failed;
  std::int64_t started_at = 0; // Unix time
  std::int64_t finished_at = 0;
  double duration_seconds = 0;
  std::string error; // why a failed run stopped; "" otherwise
  util::Json report =
      util::Json(nullptr); // the run's report (sync, summary, problems); null when none
  StatusDelivery delivery;
  const CheckRun* check = nullptr; // null when not judged
};

util::Json status_json(const RunStatus& status);

// Writes status_json(status) to `path` atomically (0644). Error: "PATH: <why>".
std::expected<void, std::string> write_status(const std::string& path, const RunStatus& status);

} // namespace agent
