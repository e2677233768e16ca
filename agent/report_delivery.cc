#include "report_delivery.h"

#include <algorithm>

namespace agent {

std::string_view delivery_name(DeliveryState state)
{
  switch (state) {
  case DeliveryState::delivered: return "delivered";
  case DeliveryState::spooled: return "spooled";
  case DeliveryState::rejected: return "rejected";
  case DeliveryState::not_spooled: return "not-spooled";
  case DeliveryState::disabled: return "disabled";
  case DeliveryState::not_sent: return "not-sent";
  }
  return "disabled";
}

DeliveryResult spool_and_send(ReportSpool& spool, const Endpoint& endpoint,
                              const std::string& report_id, const std::string& body,
                              std::chrono::steady_clock::time_point deadline)
{
  DeliveryResult result;
  auto added = spool.add(report_id, body);
  if (!added) {
    // Nowhere to keep it (disk full?): one direct attempt, so it is not lost for sure.
    result.spool_error = added.error();
    const Delivery d = deliver_report(endpoint, body, report_id, deadline);
    const bool delivered = d.outcome == Delivery::Outcome::delivered;
    result.failures = delivered ? 0 : 1;
    result.state = delivered ? DeliveryState::delivered : DeliveryState::not_spooled;
    result.message = d.message;
    if (!d.message.empty()) {
      result.warnings.push_back("report " + report_id + " lost: " + d.message);
    }
    result.spooled = spool.list().size();
    return result;
  }
  result.warnings = std::move(*added);
  const FlushResult flushed = flush_spool(spool, endpoint, deadline);
  result.failures = static_cast<std::uint64_t>(flushed.failures);
  for (const std::string& m : flushed.messages) {
    result.warnings.push_back(m);
    result.message = m;
  }
  result.spooled = flushed.remaining;
  const auto& ids = flushed.delivered_ids;
  const std::vector<SpooledReport> left = spool.list();
  result.state = std::find(ids.begin(), ids.end(), report_id) != ids.end()
                     ? DeliveryState::delivered
                 : std::any_of(left.begin(), left.end(),
                               [&](const SpooledReport& r) { return r.report_id == report_id; })
                     ? DeliveryState::spooled
                     : DeliveryState::rejected;
  return result;
}

} // namespace agent
