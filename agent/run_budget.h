// run_budget.h: how `run` shares run.timeout between its steps (docs/run.md, "Time"). Pure
// arithmetic on steady_clock time points, so the unit tests can give any start and "now".
//
//   end      = start + run.timeout                        (30 s later: the watchdog)
//   tail     = report.timeout + hooks.timeout             (what the end of the run needs)
//   hashing  stops starting new torrents at end - min(run.timeout / 2, tail + probe.timeout)
//   probe    ends by end - min(run.timeout / 4, tail)
//   resend   of spooled reports: report.timeout, at most a tenth of run.timeout from the start
//   report   report.timeout, no later than end
//   hooks    hooks.timeout, capped to what is left before end, at least 1 s
#pragma once

#include <chrono>

namespace agent {

class RunBudget {
public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::seconds k_watchdog_grace{30};

  RunBudget(Clock::time_point start, std::chrono::seconds run_timeout,
            Clock::duration report_timeout, std::chrono::seconds hooks_timeout,
            std::chrono::seconds probe_timeout);

  Clock::time_point start() const { return m_start; }
  Clock::time_point end() const { return m_start + m_total; }
  // The watchdog ends the process then.
  Clock::time_point watchdog() const { return end() + k_watchdog_grace; }

  // Resending reports earlier runs could not deliver, starting at `now`.
  Clock::time_point resend_deadline(Clock::time_point now) const;
  // No new torrent is hashed past this point (CheckOptions::hash_deadline).
  Clock::time_point hash_deadline() const;
  // The probe ends by then (CheckOptions::probe_deadline).
  Clock::time_point probe_deadline() const;
  // Sending this run's report (and the spool after it), starting at `now`.
  Clock::time_point report_deadline(Clock::time_point now) const;
  // The notification hook's time limit, starting at `now`.
  std::chrono::milliseconds hook_timeout(Clock::time_point now) const;

private:
  Clock::duration tail() const { return m_report + m_hooks; }

  Clock::time_point m_start;
  Clock::duration m_total;
  Clock::duration m_report;
  Clock::duration m_hooks;
  Clock::duration m_probe;
};

} // namespace agent
