#include "run_budget.h"

#include <catch2/catch.hpp>

using agent::RunBudget;
using namespace std::chrono_literals;

namespace {

const RunBudget::Clock::time_point t0{};

// The defaults: run.timeout 2h, report.timeout 30 s, hooks.timeout 60 s, probe.timeout 5 min.
RunBudget defaults()
{
  return RunBudget(t0, 2h, 30s, 60s, 5min);
}

} // namespace

TEST_CASE("run budget with the default timeouts", "[run-budget]")
{
  const RunBudget b = defaults();
  CHECK(b.end() == t0 + 2h);
  CHECK(b.watchdog() == t0 + 2h + 30s);
  // reserve = min(1 h, 30 s + 60 s + 5 min) = 6 min 30 s
  CHECK(b.hash_deadline() == t0 + 2h - 6min - 30s);
  // min(30 min, 90 s)
  CHECK(b.probe_deadline() == t0 + 2h - 90s);
  CHECK(b.resend_deadline(t0) == t0 + 30s);
  CHECK(b.report_deadline(t0 + 1h) == t0 + 1h + 30s);
  CHECK(b.hook_timeout(t0 + 1h) == 60s);
}

TEST_CASE("run budget: a short run.timeout caps every share", "[run-budget]")
{
  const RunBudget b(t0, 60s, 30s, 60s, 5min);
  CHECK(b.hash_deadline() == t0 + 30s);    // half of the run at most
  CHECK(b.probe_deadline() == t0 + 45s);   // a quarter at most
  CHECK(b.resend_deadline(t0) == t0 + 6s); // a tenth of the run
  CHECK(b.report_deadline(t0 + 50s) == t0 + 60s);
  CHECK(b.hook_timeout(t0 + 55s) == 5s);
}

TEST_CASE("run budget: past the end the hook still gets a second, the report none", "[run-budget]")
{
  const RunBudget b = defaults();
  CHECK(b.hook_timeout(t0 + 3h) == 1s);
  CHECK(b.report_deadline(t0 + 3h) == b.end());
  CHECK(b.resend_deadline(t0 + 1h) == t0 + 12min); // already past: nothing is resent
}

TEST_CASE("run budget: sub-second report timeouts are kept exactly", "[run-budget]")
{
  const RunBudget b(t0, 10s, 1500ms, 1s, 2s);
  CHECK(b.hash_deadline() == t0 + 5500ms);  // reserve min(5 s, 1.5 s + 1 s + 2 s)
  CHECK(b.probe_deadline() == t0 + 7500ms); // min(2.5 s, 2.5 s)
}
