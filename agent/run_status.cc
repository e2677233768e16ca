#include "run_status.h"

#include "report_build.h"
#include "util/atomic_file.h"
#include "util/read_file.h"

namespace agent {

std::string_view outcome_name(RunOutcome outcome)
{
  switch (outcome) {
  case RunOutcome::ready: return "ready";
  case RunOutcome::not_ready: return "not-ready";
  case RunOutcome::syncing: return "syncing";
  case RunOutcome::sync_failed: return "sync-failed";
  case RunOutcome::failed: return "failed";
  }
  return "failed";
}

PreviousRun read_previous_run(const std::string& status_path)
{
  PreviousRun p;
  auto text = util::read_small_file(status_path, 256u << 20);
  if (!text) {
    return p;
  }
  const util::Json j = util::Json::parse(*text, nullptr, false);
  if (j.is_object()) {
    if (j.contains("outcome") && j["outcome"].is_string()) {
      p.outcome = j["outcome"].get<std::string>();
    }
    if (j.contains("report") && j["report"].is_object() && j["report"].contains("failures_total") &&
        j["report"]["failures_total"].is_number_unsigned()) {
      p.failures_total = j["report"]["failures_total"].get<std::uint64_t>();
    }
  }
  return p;
}

util::Json status_json(const RunStatus& s)
{
  const auto optional_text = [](const std::string& t) {
    return t.empty() ? util::Json(nullptr) : util::Json(t);
  };
  const util::Json& report = s.report;
  const auto from_report = [&](const char* key) {
    return report.is_object() && report.contains(key) ? report[key] : util::Json(nullptr);
  };
  util::Json j = util::Json::object();
  j["version"] = 1;
  j["outcome"] = outcome_name(s.outcome);
  j["error"] = optional_text(s.error);
  j["started_at"] = utc_time(s.started_at);
  j["finished_at"] = utc_time(s.finished_at);
  j["duration_seconds"] =
      static_cast<double>(static_cast<long long>(s.duration_seconds * 1000)) / 1000;
  j["sync"] = from_report("sync");
  j["summary"] = from_report("summary");
  j["problems"] =
      report.is_object() && report.contains("problems") ? report["problems"] : util::Json::array();
  const StatusDelivery& d = s.delivery;
  j["report"] = {{"enabled", d.enabled},
                 {"report_id", optional_text(d.report_id)},
                 {"opted_in", d.opted_in ? util::Json(*d.opted_in) : util::Json(nullptr)},
                 {"delivery", delivery_name(d.state)},
                 {"message", optional_text(d.message)},
                 {"spooled", d.spooled ? util::Json(*d.spooled) : util::Json(nullptr)},
                 {"failures_total", d.failures_total}};
  j["check"] = s.check ? check_json(*s.check) : util::Json(nullptr);
  return j;
}

std::expected<void, std::string> write_status(const std::string& path, const RunStatus& status)
{
  return util::write_file_atomic(path, status_json(status).dump(2) + "\n", 0644);
}

} // namespace agent
