// report_delivery.h: sending one new report the durable way, shared by `run` and `withdraw`:
// into the spool first (so nothing is lost), then the spool is sent oldest first; when the
// spool cannot take it (a full disk), one direct attempt.
#pragma once

#include "report_spool.h"

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace agent {

// What became of a run's report (status.json report.delivery, WEBSEED_AGENT_REPORT).
enum class DeliveryState {
  delivered,   // the endpoint acknowledged it
  spooled,     // kept in the spool for a later run
  rejected,    // the endpoint will never take it (kept as *.rejected)
  not_spooled, // the spool could not take it and the one direct attempt failed: lost
  disabled,    // report.endpoint is not set (or --dry-run)
  not_sent,    // the run stopped before its report (status.json of a failed run)
};

// "delivered", "spooled", "rejected", "not-spooled", "disabled", "not-sent".
std::string_view delivery_name(DeliveryState state);

struct DeliveryResult {
  DeliveryState state = DeliveryState::disabled;
  std::string message;               // the last delivery problem, one line; "" when none
  std::uint64_t spooled = 0;         // reports waiting in the spool afterwards
  std::uint64_t failures = 0;        // deliveries that did not succeed (metrics)
  std::string spool_error;           // why the spool could not take the report ("" if it did)
  std::vector<std::string> warnings; // one line each, for the log (drops, failed sends)
};

// Spools `body` as report `report_id`, then sends the spool oldest first until `deadline`.
DeliveryResult spool_and_send(ReportSpool& spool, const Endpoint& endpoint,
                              const std::string& report_id, const std::string& body,
                              std::chrono::steady_clock::time_point deadline);

} // namespace agent
