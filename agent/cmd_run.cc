#include "cmd_run.h"

#include "check_run.h"
#include "error.h"
#include "metrics_file.h"
#include "notify_hooks.h"
#include "report_build.h"
#include "report_setup.h"
#include "report_spool.h"
#include "run_lock.h"
#include "run_log.h"
#include "sync_state.h"
#include "util/atomic_file.h"
#include "util/read_file.h"

#include <algorithm>
#include <condition_variable>
#include <ctime>
#include <mutex>
#include <thread>
#include <unistd.h>

namespace agent {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::chrono::seconds k_watchdog_grace{30};
constexpr std::size_t k_max_logged_torrents = 20;

// Ends the process if the run overruns run.timeout by more than the grace (a stuck read on a
// dead NFS server, a hung web server the timeouts did not catch).
class Watchdog {
public:
  explicit Watchdog(Clock::time_point end)
      : m_thread([this, end] {
          std::unique_lock lock(m_mutex);
          if (!m_done.wait_until(lock, end + k_watchdog_grace, [this] { return m_stop; })) {
            RunLog log(false);
            log.say(LogLevel::error, "run.timeout exceeded; the run is stopped");
            ::_exit(to_int(ExitCode::internal));
          }
        })
  {
  }
  ~Watchdog()
  {
    {
      std::lock_guard lock(m_mutex);
      m_stop = true;
    }
    m_done.notify_one();
    m_thread.join();
  }

private:
  std::mutex m_mutex;
  std::condition_variable m_done;
  bool m_stop = false;
  std::thread m_thread; // last: starts after the members it uses
};

struct Previous {
  std::string outcome;
  std::uint64_t failures_total = 0;
};

Previous read_previous(const std::string& status_path)
{
  Previous p;
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

std::string outcome_of(const SyncInfo& sync, const CheckRun* check)
{
  if (sync.state == SyncInfo::State::failed) {
    return "sync-failed";
  }
  if (sync.state == SyncInfo::State::syncing) {
    return "syncing";
  }
  return check && check->all_ready() ? "ready" : "not-ready";
}

std::chrono::milliseconds until(Clock::time_point t)
{
  return std::max(std::chrono::milliseconds(0),
                  std::chrono::duration_cast<std::chrono::milliseconds>(t - Clock::now()));
}

void log_findings(RunLog& log, const CheckRun& check)
{
  std::size_t logged = 0;
  std::size_t not_ready = 0;
  for (const TorrentResult& r : check.torrents) {
    if (r.report.ready()) {
      continue;
    }
    ++not_ready;
    if (logged++ == k_max_logged_torrents) {
      continue;
    }
    const Finding* first = nullptr;
    for (const Finding& f : r.report.findings) {
      if (f.severity() == Severity::error) {
        first = &f;
        break;
      }
    }
    std::string line = (r.torrent ? r.torrent->name : r.path) + ": not ready";
    if (first) {
      line +=
          ": " + std::string(code_name(first->code)) + " " + first->path + ": " + first->message;
      if (!first->hint.empty()) {
        line += " (" + first->hint + ")";
      }
    }
    log.say(LogLevel::warning, line);
  }
  if (logged > k_max_logged_torrents) {
    log.say(LogLevel::warning, std::to_string(not_ready - k_max_logged_torrents) +
                                   " more torrents not ready: see status.json");
  }
}

} // namespace

ExitCode run_run(const Overrides& overrides, const RunOptions& options, std::ostream& out)
{
  const Clock::time_point started = Clock::now();
  const std::int64_t started_unix = static_cast<std::int64_t>(std::time(nullptr));
  RunLog log(false);
  // A fatal error (Fatal) reaches syslog through the command line's handler (cli.cc).
  const Settings settings = load_settings(overrides);
  const std::string state_dir = effective_state_dir(settings, "");
  const ReportSetup report_setup = prepare_report(settings.config, state_dir);
  const Config& config = settings.config;
  const bool send = report_setup.enabled && !options.dry_run;

  auto lock = RunLock::acquire(state_dir);
  if (!lock) {
    throw Fatal(lock.error().busy ? ExitCode::busy : ExitCode::usage, lock.error().message);
  }
  const Clock::time_point end = started + std::chrono::seconds(config.run_timeout_s);
  const Watchdog watchdog(end);
  if (auto lowered = lower_priority(config.priority); !lowered) {
    log.say(LogLevel::warning, lowered.error());
  }

  // Reports an earlier run could not deliver go first, oldest first.
  std::optional<ReportSpool> spool;
  std::uint64_t failures = 0;
  const auto report_budget = std::chrono::duration_cast<Clock::duration>(report_setup.timeout);
  if (send) {
    auto opened = ReportSpool::open(report_setup.spool_dir, report_setup.spool_max);
    if (!opened) {
      throw Fatal(ExitCode::usage, "report spool " + opened.error());
    }
    spool = std::move(*opened);
    if (!spool->list().empty()) {
      const FlushResult flushed =
          flush_spool(*spool, report_setup.endpoint,
                      std::min(Clock::now() + report_budget, started + (end - started) / 10));
      failures += static_cast<std::uint64_t>(flushed.failures);
      for (const std::string& m : flushed.messages) {
        log.say(LogLevel::warning, m);
      }
    }
  }

  // A first sync that failed may have left no mirror root: that is still a report.
  auto resolver = Resolver::open(settings.root);
  const bool sync_failed = options.rsync_exit && !rsync_exit_usable(*options.rsync_exit);
  if (!resolver && !sync_failed) {
    throw Fatal(ExitCode::usage, "mirror root " + resolver.error());
  }
  const SyncInfo sync = read_sync_state(resolver ? &*resolver : nullptr,
                                        config.mirror.timestamp_file, options.rsync_exit);
  if (!sync.timestamp_error.empty()) {
    log.say(LogLevel::warning, "mirror.timestamp_file " + sync.timestamp_error);
  }

  std::optional<CheckRun> check;
  if (sync.judged()) {
    // What the end of the run needs: the probe, the report and the hooks. Hashing stops
    // starting new torrents when only that is left.
    const auto tail = report_budget + std::chrono::seconds(config.hooks.timeout_s);
    const auto probe_budget = std::chrono::seconds(config.probe.timeout_s);
    const auto reserve = std::min<Clock::duration>((end - started) / 2, tail + probe_budget);
    CheckOptions co;
    co.state_dir = state_dir;
    co.hash_deadline = end - reserve;
    co.probe_deadline = end - std::min<Clock::duration>((end - started) / 4, tail);
    check = perform_check(settings, co);
    for (const std::string& w : check->warnings) {
      log.say(LogLevel::warning, w);
    }
  } else if (sync.state == SyncInfo::State::failed) {
    log.say(LogLevel::warning, "the sync failed (rsync exit " + std::to_string(*sync.rsync_exit) +
                                   "): the tree is not judged this time");
  } else {
    log.say(LogLevel::notice,
            "a sync is in progress (" + sync.marker + "): the tree is not judged this time");
  }
  const std::string outcome = outcome_of(sync, check ? &*check : nullptr);

  ReportHeader header;
  header.report_id = new_report_id();
  header.mirror = config.mirror.name;
  header.base_url = config.mirror.base_url;
  header.generated_at = static_cast<std::int64_t>(std::time(nullptr));
  header.opted_in = !is_withdrawn(report_setup);
  const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  const util::Json report = status_report(header, sync, check ? &*check : nullptr, seconds);
  if (!options.write_report.empty()) {
    if (auto w = util::write_file_atomic(options.write_report, report.dump(2) + "\n", 0644); !w) {
      log.say(LogLevel::error, "--write-report: " + w.error());
    }
  }
  if (options.dry_run) {
    out << report.dump(2) << '\n';
    out.flush();
    return options.strict && outcome != "ready" ? ExitCode::findings : ExitCode::ok;
  }

  // Delivery: spooled first (durable), then the spool is sent, oldest first.
  std::string delivery = "disabled";
  std::string delivery_message;
  std::uint64_t spooled = 0;
  if (send) {
    const std::string body = report.dump();
    auto added = spool->add(header.report_id, body);
    if (!added) {
      // Nowhere to keep it (disk full?): one direct attempt, so it is not lost for sure.
      log.say(LogLevel::error, "cannot spool the report: " + added.error());
      const Delivery d = deliver_report(report_setup.endpoint, body, header.report_id,
                                        std::min(Clock::now() + report_budget, end));
      failures += d.outcome == Delivery::Outcome::delivered ? 0 : 1;
      delivery = d.outcome == Delivery::Outcome::delivered ? "delivered" : "not-spooled";
      delivery_message = d.message;
      if (!d.message.empty()) {
        log.say(LogLevel::warning, "report " + header.report_id + " lost: " + d.message);
      }
      spooled = spool->list().size();
    } else {
      for (const std::string& m : *added) {
        log.say(LogLevel::warning, m);
      }
      const FlushResult flushed =
          flush_spool(*spool, report_setup.endpoint, std::min(Clock::now() + report_budget, end));
      failures += static_cast<std::uint64_t>(flushed.failures);
      for (const std::string& m : flushed.messages) {
        log.say(LogLevel::warning, m);
        delivery_message = m;
      }
      spooled = flushed.remaining;
      const auto& ids = flushed.delivered_ids;
      const std::vector<SpooledReport> left = spool->list();
      delivery =
          std::find(ids.begin(), ids.end(), header.report_id) != ids.end() ? "delivered"
          : std::any_of(left.begin(), left.end(),
                        [&](const SpooledReport& r) { return r.report_id == header.report_id; })
              ? "spooled"
              : "rejected";
    }
  }

  const std::string status_path = state_dir + "/status.json";
  const Previous previous = read_previous(status_path);
  const std::int64_t finished_unix = static_cast<std::int64_t>(std::time(nullptr));
  const double duration = std::chrono::duration<double>(Clock::now() - started).count();
  util::Json status = util::Json::object();
  status["version"] = 1;
  status["outcome"] = outcome;
  status["started_at"] = utc_time(started_unix);
  status["finished_at"] = utc_time(finished_unix);
  status["duration_seconds"] = static_cast<double>(static_cast<long long>(duration * 1000)) / 1000;
  status["sync"] = report["sync"];
  status["summary"] = report["summary"];
  status["report"] = {
      {"enabled", report_setup.enabled},
      {"report_id", header.report_id},
      {"opted_in", header.opted_in},
      {"delivery", delivery},
      {"message", delivery_message.empty() ? util::Json(nullptr) : util::Json(delivery_message)},
      {"spooled", spooled},
      {"failures_total", previous.failures_total + failures}};
  status["check"] = check ? check_json(*check) : util::Json(nullptr);
  if (auto w = util::write_file_atomic(status_path, status.dump(2) + "\n", 0644); !w) {
    log.say(LogLevel::error, "cannot write the status: " + w.error());
  }

  if (!config.metrics_file.empty()) {
    RunMetrics m;
    m.outcome = outcome;
    m.finished_at = finished_unix;
    m.duration_seconds = duration;
    m.report_failures_total = previous.failures_total + failures;
    m.reports_spooled = spooled;
    if (check) {
      for (const TorrentResult& r : check->torrents) {
        ++m.torrents;
        m.ready += r.report.ready() ? 1 : 0;
        m.bytes_verified += r.report.bytes_verified;
        for (const Finding& f : r.report.findings) {
          ++m.findings[{std::string(code_name(f.code)), std::string(severity_name(f.severity()))}];
        }
      }
    }
    if (auto w = write_metrics_file(config.metrics_file, m); !w) {
      log.say(LogLevel::error, "metrics_file: " + w.error());
    }
  }

  if (check) {
    log_findings(log, *check);
  }
  const std::size_t ready_count = report["summary"]["ready"].get<std::size_t>();
  const std::size_t torrent_count = report["summary"]["torrents"].get<std::size_t>();
  log.say(LogLevel::info, outcome + ": " + std::to_string(ready_count) + " of " +
                              std::to_string(torrent_count) + " torrents ready; report " +
                              delivery + "; " + std::to_string(static_cast<long long>(duration)) +
                              " s");

  const bool problem = outcome != "ready" || (send && delivery != "delivered");
  const std::vector<std::string>& hook = problem ? config.hooks.on_problem : config.hooks.on_ready;
  if (!hook.empty()) {
    std::string names;
    if (check) {
      for (const TorrentResult& r : check->torrents) {
        if (!r.report.ready()) {
          names += (r.torrent ? r.torrent->name : r.path) + "\n";
        }
      }
    }
    const std::map<std::string, std::string> env = {
        {"WEBSEED_AGENT_OUTCOME", outcome},
        {"WEBSEED_AGENT_PREVIOUS", previous.outcome},
        {"WEBSEED_AGENT_TORRENTS", std::to_string(torrent_count)},
        {"WEBSEED_AGENT_READY", std::to_string(ready_count)},
        {"WEBSEED_AGENT_NOT_READY", names},
        {"WEBSEED_AGENT_REPORT", delivery},
        {"WEBSEED_AGENT_STATUS_FILE", status_path}};
    const auto hook_timeout = std::max<std::chrono::milliseconds>(
        std::chrono::milliseconds(1000),
        std::min<std::chrono::milliseconds>(std::chrono::seconds(config.hooks.timeout_s),
                                            until(end)));
    const HookResult h = run_hook(hook, env, hook_timeout, state_dir + "/hook-output");
    if (!h.ok()) {
      log.say(LogLevel::warning, (problem ? "hooks.on_problem: " : "hooks.on_ready: ") + h.message);
    }
  }
  return options.strict && outcome != "ready" ? ExitCode::findings : ExitCode::ok;
}

} // namespace agent
