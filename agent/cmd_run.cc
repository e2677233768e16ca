#include "cmd_run.h"

#include "check_run.h"
#include "error.h"
#include "metrics_file.h"
#include "notify_hooks.h"
#include "priority.h"
#include "report_build.h"
#include "report_delivery.h"
#include "report_setup.h"
#include "report_spool.h"
#include "run_budget.h"
#include "run_lock.h"
#include "run_log.h"
#include "run_status.h"
#include "sync_state.h"
#include "util/atomic_file.h"

#include <atomic>
#include <condition_variable>
#include <ctime>
#include <functional>
#include <mutex>
#include <thread>
#include <unistd.h>

namespace agent {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t k_max_logged_torrents = 20;

// Ends the process at `deadline` (run.timeout plus a grace: a stuck read on a dead NFS
// server, a hung web server the timeouts did not catch), after `last_words`.
class Watchdog {
public:
  Watchdog(Clock::time_point deadline, std::function<void()> last_words)
      : m_last_words(std::move(last_words)), m_thread([this, deadline] {
          std::unique_lock lock(m_mutex);
          if (!m_done.wait_until(lock, deadline, [this] { return m_stop; })) {
            RunLog log(false);
            log.say(LogLevel::error, "run.timeout exceeded; the run is stopped");
            m_last_words();
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
  std::function<void()> m_last_words;
  std::mutex m_mutex;
  std::condition_variable m_done;
  bool m_stop = false;
  std::thread m_thread; // last: starts after the members it uses
};

std::int64_t unix_now()
{
  return static_cast<std::int64_t>(std::time(nullptr));
}

// What every step may need: the settings, where the state is, the time.
struct RunContext {
  Settings settings;
  std::string state_dir;
  std::string status_path;
  Clock::time_point started;
  std::int64_t started_unix = 0;
  PreviousRun previous;
  // Report deliveries that failed in this run (atomic: the watchdog's thread reads it).
  std::atomic<std::uint64_t> failures = 0;
  const Config& config() const { return settings.config; }
};

// status.json (and the metrics file) for a run that stopped with `error`: never a verdict
// older than this run.
void record_failed_run(const RunContext& run, const std::string& error)
{
  RunStatus s;
  s.outcome = RunOutcome::failed;
  s.error = error;
  s.started_at = run.started_unix;
  s.finished_at = unix_now();
  s.duration_seconds = std::chrono::duration<double>(Clock::now() - run.started).count();
  s.delivery.enabled = !run.config().report.endpoint.empty();
  s.delivery.state = DeliveryState::not_sent;
  s.delivery.failures_total = run.previous.failures_total + run.failures;
  if (auto w = write_status(run.status_path, s); !w) {
    RunLog(false).say(LogLevel::error, "cannot write the status: " + w.error());
  }
  if (!run.config().metrics_file.empty()) {
    RunMetrics m;
    m.outcome = outcome_name(RunOutcome::failed);
    m.finished_at = s.finished_at;
    m.duration_seconds = s.duration_seconds;
    m.report_failures_total = s.delivery.failures_total;
    if (auto w = write_metrics_file(run.config().metrics_file, m); !w) {
      RunLog(false).say(LogLevel::error, "metrics_file: " + w.error());
    }
  }
}

RunLock lock_state_dir(const std::string& state_dir)
{
  auto lock = RunLock::acquire(state_dir);
  if (!lock) {
    throw Fatal(lock.error().busy ? ExitCode::busy : ExitCode::usage, lock.error().message);
  }
  return std::move(*lock);
}

// Reports an earlier run could not deliver go first, oldest first. The spool, when reports
// are sent.
std::optional<ReportSpool> resend_spooled(RunContext& run, const ReportSetup& setup, bool send,
                                          const RunBudget& budget, RunLog& log)
{
  if (!send) {
    return std::nullopt;
  }
  auto spool = ReportSpool::open(setup.spool_dir, setup.spool_max);
  if (!spool) {
    throw Fatal(ExitCode::usage, "report spool " + spool.error());
  }
  if (!spool->list().empty() || !spool->untrusted().empty()) {
    const FlushResult flushed =
        flush_spool(*spool, setup.endpoint, budget.resend_deadline(Clock::now()));
    run.failures += static_cast<std::uint64_t>(flushed.failures);
    for (const std::string& m : flushed.messages) {
      log.say(LogLevel::warning, m);
    }
  }
  return std::move(*spool);
}

// The sync state. A first sync that failed may have left no mirror root: that is still a
// report; a missing root after a sync that did not fail is a configuration error.
SyncInfo read_sync(const RunContext& run, const RunOptions& options, RunLog& log)
{
  auto resolver = Resolver::open(run.settings.root);
  const bool sync_failed = options.rsync_exit && !rsync_exit_usable(*options.rsync_exit);
  if (!resolver && !sync_failed) {
    throw Fatal(ExitCode::usage, "mirror root " + resolver.error());
  }
  SyncInfo sync = read_sync_state(resolver ? &*resolver : nullptr,
                                  run.config().mirror.timestamp_file, options.rsync_exit);
  if (sync.state == SyncInfo::State::failed) {
    log.say(LogLevel::warning, "the sync failed (rsync exit " + std::to_string(*sync.rsync_exit) +
                                   "): the tree is not judged this time");
  } else if (sync.state == SyncInfo::State::syncing) {
    log.say(LogLevel::notice,
            "a sync is in progress (" + sync.marker + "): the tree is not judged this time");
  }
  return sync;
}

// The check, within the run's budget, when the sync state says to judge the tree. What the
// config names inside the root and cannot be found is a finding on the run.
std::optional<CheckRun> judge_tree(const RunContext& run, const SyncInfo& sync,
                                   const RunBudget& budget, RunLog& log)
{
  if (!sync.judged()) {
    return std::nullopt;
  }
  CheckOptions co;
  co.state_dir = run.state_dir;
  co.hash_deadline = budget.hash_deadline();
  co.probe_deadline = budget.probe_deadline();
  co.tree_findings = true;
  CheckRun check = perform_check(run.settings, co);
  if (!sync.timestamp_error.empty()) {
    check.findings.emplace_back(Code::missing_file, run.config().mirror.timestamp_file,
                                std::nullopt, "mirror.timestamp_file " + sync.timestamp_error,
                                "is it excluded from the sync (rsync --exclude, "
                                "--delete-excluded)? else fix mirror.timestamp_file");
    sort_findings(check.findings);
  }
  for (const std::string& w : check.warnings) {
    log.say(LogLevel::warning, w);
  }
  return check;
}

RunOutcome outcome_of(const SyncInfo& sync, const CheckRun* check)
{
  switch (sync.state) {
  case SyncInfo::State::failed: return RunOutcome::sync_failed;
  case SyncInfo::State::syncing: return RunOutcome::syncing;
  case SyncInfo::State::complete:
  case SyncInfo::State::unknown: break;
  }
  return check && check->all_ready() ? RunOutcome::ready : RunOutcome::not_ready;
}

util::Json build_report(const RunContext& run, const ReportSetup& setup, const SyncInfo& sync,
                        const CheckRun* check, std::string& report_id)
{
  ReportHeader header;
  header.report_id = new_report_id();
  header.mirror = run.config().mirror.name;
  header.base_url = run.config().mirror.base_url;
  header.generated_at = unix_now();
  header.opted_in = !is_withdrawn(setup);
  report_id = header.report_id;
  const double seconds = std::chrono::duration<double>(Clock::now() - run.started).count();
  return status_report(header, sync, check, seconds);
}

// Into the spool, then the spool is sent, oldest first.
DeliveryResult deliver(RunContext& run, const ReportSetup& setup, std::optional<ReportSpool>& spool,
                       const std::string& report_id, const util::Json& report,
                       const RunBudget& budget, RunLog& log)
{
  if (!spool) {
    return DeliveryResult{};
  }
  DeliveryResult d = spool_and_send(*spool, setup.endpoint, report_id, report.dump(),
                                    budget.report_deadline(Clock::now()));
  if (!d.spool_error.empty()) {
    log.say(LogLevel::error, "cannot spool the report: " + d.spool_error);
  }
  for (const std::string& m : d.warnings) {
    log.say(LogLevel::warning, m);
  }
  run.failures += d.failures;
  return d;
}

void write_run_status(const RunContext& run, RunOutcome outcome, const util::Json& report,
                      const ReportSetup& setup, const std::string& report_id,
                      const DeliveryResult& delivery, const CheckRun* check, RunLog& log)
{
  RunStatus s;
  s.outcome = outcome;
  s.started_at = run.started_unix;
  s.finished_at = unix_now();
  s.duration_seconds = std::chrono::duration<double>(Clock::now() - run.started).count();
  s.report = report;
  s.delivery.enabled = setup.enabled;
  s.delivery.report_id = report_id;
  s.delivery.opted_in = report["opted_in"].get<bool>();
  s.delivery.state = delivery.state;
  s.delivery.message = delivery.message;
  s.delivery.spooled = delivery.spooled;
  s.delivery.failures_total = run.previous.failures_total + run.failures;
  s.check = check;
  if (auto w = write_status(run.status_path, s); !w) {
    log.say(LogLevel::error, "cannot write the status: " + w.error());
  }
}

void write_run_metrics(const RunContext& run, RunOutcome outcome, const DeliveryResult& delivery,
                       const CheckRun* check, RunLog& log)
{
  if (run.config().metrics_file.empty()) {
    return;
  }
  RunMetrics m;
  m.outcome = outcome_name(outcome);
  m.finished_at = unix_now();
  m.duration_seconds = std::chrono::duration<double>(Clock::now() - run.started).count();
  m.report_failures_total = run.previous.failures_total + run.failures;
  m.reports_spooled = delivery.spooled;
  const auto count = [&](const Finding& f) {
    ++m.findings[{std::string(code_name(f.code)), std::string(severity_name(f.severity()))}];
  };
  if (check) {
    for (const Finding& f : check->findings) {
      count(f);
    }
    for (const TorrentResult& r : check->torrents) {
      ++m.torrents;
      m.ready += r.report.ready() ? 1 : 0;
      m.bytes_verified += r.report.bytes_verified;
      for (const Finding& f : r.report.findings) {
        count(f);
      }
    }
  }
  if (auto w = write_metrics_file(run.config().metrics_file, m); !w) {
    log.say(LogLevel::error, "metrics_file: " + w.error());
  }
}

std::string finding_line(const Finding& f)
{
  std::string line = std::string(code_name(f.code)) + " " + f.path + ": " + f.message;
  if (!f.hint.empty()) {
    line += " (" + f.hint + ")";
  }
  return line;
}

// The findings on the run and the torrents not ready (at most k_max_logged_torrents), then
// one summary line.
void log_run(const RunContext& run, RunOutcome outcome, const util::Json& report,
             DeliveryState delivery, const CheckRun* check, RunLog& log)
{
  if (check) {
    for (const Finding& f : check->findings) {
      log.say(f.severity() == Severity::error ? LogLevel::warning : LogLevel::notice,
              "not ready: " + finding_line(f));
    }
    std::size_t logged = 0;
    std::size_t not_ready = 0;
    for (const TorrentResult& r : check->torrents) {
      if (r.report.ready()) {
        continue;
      }
      ++not_ready;
      if (logged++ == k_max_logged_torrents) {
        continue;
      }
      std::string line = (r.torrent ? r.torrent->name : r.path) + ": not ready";
      for (const Finding& f : r.report.findings) {
        if (f.severity() == Severity::error) {
          line += ": " + finding_line(f);
          break;
        }
      }
      log.say(LogLevel::warning, line);
    }
    if (logged > k_max_logged_torrents) {
      log.say(LogLevel::warning, std::to_string(not_ready - k_max_logged_torrents) +
                                     " more torrents not ready: see status.json");
    }
  }
  const double duration = std::chrono::duration<double>(Clock::now() - run.started).count();
  log.say(LogLevel::info, std::string(outcome_name(outcome)) + ": " +
                              std::to_string(report["summary"]["ready"].get<std::size_t>()) +
                              " of " +
                              std::to_string(report["summary"]["torrents"].get<std::size_t>()) +
                              " torrents ready; report " + std::string(delivery_name(delivery)) +
                              "; " + std::to_string(static_cast<long long>(duration)) + " s");
}

// hooks.on_ready after a ready run whose report (if any) was delivered, else on_problem.
void start_hook(const RunContext& run, RunOutcome outcome, bool send, const util::Json& report,
                DeliveryState delivery, const CheckRun* check, const RunBudget& budget, RunLog& log)
{
  const bool problem =
      outcome != RunOutcome::ready || (send && delivery != DeliveryState::delivered);
  const HooksConfig& hooks = run.config().hooks;
  const std::vector<std::string>& hook = problem ? hooks.on_problem : hooks.on_ready;
  if (hook.empty()) {
    return;
  }
  std::string names;
  if (check) {
    for (const TorrentResult& r : check->torrents) {
      if (!r.report.ready()) {
        names += (r.torrent ? r.torrent->name : r.path) + "\n";
      }
    }
  }
  const std::map<std::string, std::string> env = {
      {"WEBSEED_AGENT_OUTCOME", std::string(outcome_name(outcome))},
      {"WEBSEED_AGENT_PREVIOUS", run.previous.outcome},
      {"WEBSEED_AGENT_TORRENTS", std::to_string(report["summary"]["torrents"].get<std::size_t>())},
      {"WEBSEED_AGENT_READY", std::to_string(report["summary"]["ready"].get<std::size_t>())},
      {"WEBSEED_AGENT_NOT_READY", names},
      {"WEBSEED_AGENT_REPORT", std::string(delivery_name(delivery))},
      {"WEBSEED_AGENT_STATUS_FILE", run.status_path}};
  const HookResult h =
      run_hook(hook, env, budget.hook_timeout(Clock::now()), run.state_dir + "/hook-output");
  if (!h.ok()) {
    log.say(LogLevel::warning, (problem ? "hooks.on_problem: " : "hooks.on_ready: ") + h.message);
  }
}

ExitCode exit_code(const RunOptions& options, RunOutcome outcome)
{
  return options.strict && outcome != RunOutcome::ready ? ExitCode::findings : ExitCode::ok;
}

// The steps after the lock (cmd_run.h); Fatal for what stops the run.
ExitCode run_locked(RunContext& run, const RunOptions& options, std::ostream& out, RunLog& log)
{
  const ReportSetup setup = prepare_report(run.config(), run.state_dir);
  const bool send = setup.enabled && !options.dry_run;
  const RunBudget budget(run.started, std::chrono::seconds(run.config().run_timeout_s),
                         std::chrono::duration_cast<Clock::duration>(setup.timeout),
                         std::chrono::seconds(run.config().hooks.timeout_s),
                         std::chrono::seconds(run.config().probe.timeout_s));
  const Watchdog watchdog(budget.watchdog(), [&run, &options] {
    if (!options.dry_run) {
      record_failed_run(run, "run.timeout exceeded; the run was stopped");
    }
  });
  if (auto lowered = lower_priority(run.config().priority); !lowered) {
    log.say(LogLevel::warning, lowered.error());
  }

  std::optional<ReportSpool> spool = resend_spooled(run, setup, send, budget, log);
  const SyncInfo sync = read_sync(run, options, log);
  const std::optional<CheckRun> check = judge_tree(run, sync, budget, log);
  const CheckRun* checked = check ? &*check : nullptr;
  const RunOutcome outcome = outcome_of(sync, checked);

  std::string report_id;
  const util::Json report = build_report(run, setup, sync, checked, report_id);
  if (!options.write_report.empty()) {
    if (auto w = util::write_file_atomic(options.write_report, report.dump(2) + "\n", 0644); !w) {
      log.say(LogLevel::error, "--write-report: " + w.error());
    }
  }
  if (options.dry_run) {
    out << report.dump(2) << '\n';
    out.flush();
    return exit_code(options, outcome);
  }

  const DeliveryResult delivery = deliver(run, setup, spool, report_id, report, budget, log);
  write_run_status(run, outcome, report, setup, report_id, delivery, checked, log);
  write_run_metrics(run, outcome, delivery, checked, log);
  log_run(run, outcome, report, delivery.state, checked, log);
  start_hook(run, outcome, send, report, delivery.state, checked, budget, log);
  return exit_code(options, outcome);
}

} // namespace

ExitCode run_run(const Overrides& overrides, const RunOptions& options, std::ostream& out)
{
  RunContext run;
  run.started = Clock::now();
  run.started_unix = unix_now();
  RunLog log(false);
  // A fatal error (Fatal) reaches syslog through the command line's handler (cli.cc).
  run.settings = load_settings(overrides);
  run.state_dir = effective_state_dir(run.settings, "");
  run.status_path = run.state_dir + "/status.json";
  const RunLock lock = lock_state_dir(run.state_dir);
  run.previous = read_previous_run(run.status_path);
  try {
    return run_locked(run, options, out, log);
  } catch (const std::exception& e) {
    // Recorded, then handed on to main() (the one place that reports errors).
    if (!options.dry_run) {
      record_failed_run(run, e.what());
    }
    throw;
  }
}

} // namespace agent
