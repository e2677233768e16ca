#include "sync_state.h"

#include "metrics_file.h"
#include "test_support.h"

#include <catch2/catch.hpp>

#include <sys/time.h>

using namespace agent;

TEST_CASE("rsync exit policy: 0, 23 and 24 leave a tree worth judging", "[sync]")
{
  for (int code : {0, 23, 24}) {
    CHECK(rsync_exit_usable(code));
  }
  for (int code : {1, 2, 3, 5, 10, 11, 12, 20, 30, 35, 255}) {
    CHECK_FALSE(rsync_exit_usable(code));
  }
}

TEST_CASE("sync state from --rsync-exit, the ftpsync marker and the timestamp file", "[sync]")
{
  testing::TempTree t;
  t.file("root/timestamp.mirmon", "1795690000 upstream.example.org\n");
  t.file("root/timestamp.chk", "Thu Nov 26 10:00:00 UTC 2026\n");
  auto r = Resolver::open(t / "root");
  REQUIRE(r);
  SyncInfo s = read_sync_state(&*r, "timestamp.mirmon", std::nullopt);
  CHECK(s.state == SyncInfo::State::unknown);
  CHECK(s.judged());
  CHECK(s.tree_timestamp == 1795690000);
  s = read_sync_state(&*r, "", 24);
  CHECK(s.state == SyncInfo::State::complete);
  CHECK_FALSE(s.tree_timestamp);
  s = read_sync_state(&*r, "", 12);
  CHECK(s.state == SyncInfo::State::failed);
  CHECK_FALSE(s.judged());

  timeval times[2] = {{1700000000, 0}, {1700000000, 0}};
  ::utimes((t / "root/timestamp.chk").c_str(), times);
  CHECK(read_sync_state(&*r, "timestamp.chk", 0).tree_timestamp == 1700000000); // its mtime

  t.file("root/Archive-Update-in-Progress-mirror.example.org", "");
  s = read_sync_state(&*r, "", 0);
  CHECK(s.state == SyncInfo::State::syncing);
  CHECK(s.marker == "Archive-Update-in-Progress-mirror.example.org");
  CHECK(read_sync_state(&*r, "", 1).state == SyncInfo::State::failed);

  // ftpsync's own marker holds its PID while it runs the hook that started us.
  t.file("root/Archive-Update-in-Progress-mirror.example.org", std::to_string(::getppid()) + "\n");
  CHECK(read_sync_state(&*r, "", 0).state == SyncInfo::State::complete);
  t.file("root/Archive-Update-in-Progress-mirror.example.org", "999999999\n");
  CHECK(read_sync_state(&*r, "", 0).state == SyncInfo::State::syncing);
  CHECK(read_sync_state(nullptr, "", 10).state == SyncInfo::State::failed);

  t.link("root/escape", "../outside");
  s = read_sync_state(&*r, "escape", 0);
  CHECK_FALSE(s.tree_timestamp);
  CHECK(s.timestamp_error.find("escape") == 0);
}

TEST_CASE("metrics in the Prometheus text format", "[metrics]")
{
  RunMetrics m;
  m.outcome = "not-ready";
  m.torrents = 3;
  m.ready = 2;
  m.findings[{"hash-mismatch", "error"}] = 2;
  m.bytes_verified = 1234;
  m.finished_at = 1795696060;
  m.duration_seconds = 1.5;
  m.report_failures_total = 4;
  const std::string text = render_metrics(m);
  CHECK(text.find("webseed_agent_torrents{state=\"ready\"} 2\n") != std::string::npos);
  CHECK(text.find("webseed_agent_torrents{state=\"not_ready\"} 1\n") != std::string::npos);
  CHECK(text.find("webseed_agent_last_run_outcome{outcome=\"not-ready\"} 1\n") !=
        std::string::npos);
  CHECK(text.find("webseed_agent_findings{code=\"hash-mismatch\",severity=\"error\"} 2\n") !=
        std::string::npos);
  CHECK(text.find("webseed_agent_last_run_duration_seconds 1.500\n") != std::string::npos);
  CHECK(text.find("# TYPE webseed_agent_report_delivery_failures_total counter\n"
                  "webseed_agent_report_delivery_failures_total 4\n") != std::string::npos);
}
