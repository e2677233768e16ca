#include "cmd_report.h"

#include "check_run.h"
#include "error.h"
#include "report_build.h"
#include "report_delivery.h"
#include "report_setup.h"
#include "report_spool.h"
#include "run_lock.h"
#include "run_log.h"
#include "util/atomic_file.h"

#include <algorithm>
#include <ctime>
#include <unistd.h>

namespace agent {

namespace {

struct Session {
  Settings settings;
  std::string state_dir;
  ReportSetup setup;
  std::optional<RunLock> lock;
  std::optional<ReportSpool> spool;
};

Session open_session(const Overrides& overrides, const char* command)
{
  Session s;
  s.settings = load_settings(overrides);
  s.state_dir = effective_state_dir(s.settings, "");
  s.setup = prepare_report(s.settings.config, s.state_dir);
  if (!s.setup.enabled) {
    throw Fatal(ExitCode::usage, std::string(command) +
                                     ": report.endpoint is not set in the config file: this "
                                     "mirror sends no reports");
  }
  auto lock = RunLock::acquire(s.state_dir);
  if (!lock) {
    throw Fatal(lock.error().busy ? ExitCode::busy : ExitCode::usage, lock.error().message);
  }
  s.lock = std::move(*lock);
  auto spool = ReportSpool::open(s.setup.spool_dir, s.setup.spool_max);
  if (!spool) {
    throw Fatal(ExitCode::usage, "report spool " + spool.error());
  }
  s.spool = std::move(*spool);
  return s;
}

FlushResult flush(const Session& s, RunLog& log)
{
  const FlushResult r =
      flush_spool(*s.spool, s.setup.endpoint, std::chrono::steady_clock::now() + s.setup.timeout);
  for (const std::string& m : r.messages) {
    log.say(LogLevel::warning, m);
  }
  return r;
}

} // namespace

ExitCode run_report_flush(const Overrides& overrides, std::ostream& out)
{
  const Session s = open_session(overrides, "report --flush");
  RunLog log(true);
  const FlushResult r = flush(s, log);
  out << r.delivered << (r.delivered == 1 ? " report" : " reports") << " delivered, " << r.remaining
      << " still spooled";
  if (r.rejected > 0) {
    out << ", " << r.rejected << " rejected (kept as *.rejected in " << s.setup.spool_dir << ")";
  }
  out << '\n';
  return r.remaining == 0 ? ExitCode::ok : ExitCode::findings;
}

ExitCode run_withdraw(const Overrides& overrides, bool cancel, std::ostream& out)
{
  if (cancel) {
    // Needs no endpoint: a mirror may cancel after removing report.* from its config.
    const Settings settings = load_settings(overrides);
    const std::string state_dir = effective_state_dir(settings, "");
    auto lock = RunLock::acquire(state_dir);
    if (!lock) {
      throw Fatal(lock.error().busy ? ExitCode::busy : ExitCode::usage, lock.error().message);
    }
    const std::string marker = withdrawn_marker_path(state_dir);
    if (::unlink(marker.c_str()) != 0) {
      out << "this mirror had not withdrawn; nothing to cancel\n";
      return ExitCode::ok;
    }
    RunLog(true).say(LogLevel::notice,
                     "withdraw cancelled: the next run reports this mirror as opted in");
    out << "opted in again: the next run reports this mirror as opted in\n";
    return ExitCode::ok;
  }
  Session s = open_session(overrides, "withdraw");
  RunLog log(true);
  const std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));
  if (auto w = util::write_file_atomic(s.setup.withdrawn_marker, utc_time(now) + "\n", 0644); !w) {
    throw Fatal(ExitCode::usage, "cannot record the withdrawal: " + w.error());
  }
  ReportHeader header;
  header.report_id = new_report_id();
  header.mirror = s.settings.config.mirror.name;
  header.base_url = s.settings.config.mirror.base_url;
  header.generated_at = now;
  header.opted_in = false;
  const DeliveryResult d =
      spool_and_send(*s.spool, s.setup.endpoint, header.report_id, withdraw_report(header).dump(),
                     std::chrono::steady_clock::now() + s.setup.timeout);
  for (const std::string& m : d.warnings) {
    log.say(LogLevel::warning, m);
  }
  if (d.state == DeliveryState::not_spooled) {
    throw Fatal(ExitCode::usage, "cannot spool the withdraw report: " + d.spool_error +
                                     "; and it could not be sent now: " + d.message);
  }
  const bool delivered = d.state == DeliveryState::delivered;
  log.say(LogLevel::notice, std::string("withdrawn from the web-seed lists; report ") +
                                std::string(delivery_name(d.state)));
  if (delivered) {
    out << "withdrawn: the central team was told to stop listing this mirror (report "
        << header.report_id << ")\n";
    return ExitCode::ok;
  }
  out << "withdrawn locally; the report " << header.report_id
      << " is spooled and goes out with the next run or 'webseed-agent report --flush'\n";
  return ExitCode::findings;
}

} // namespace agent
