// Unit tests of the report's parts: ids, times, Retry-After, backoff, the token file, the
// spool and the run lock. Delivery itself is tested against a real HTTPS endpoint
// (tests/integration/test_run_report.py).
#include "http_headers.h"
#include "report_build.h"
#include "report_send.h"
#include "report_spool.h"
#include "run_lock.h"
#include "test_support.h"

#include <catch2/catch.hpp>

#include <filesystem>
#include <set>
#include <sys/stat.h>

using namespace agent;

TEST_CASE("report ids are random version 4 UUIDs", "[report]")
{
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    const std::string id = new_report_id();
    CHECK(is_report_id(id));
    CHECK(id[14] == '4');
    CHECK(std::string("89ab").find(id[19]) != std::string::npos);
    seen.insert(id);
  }
  CHECK(seen.size() == 100);
  CHECK_FALSE(is_report_id("C7F481FD-E1D9-4670-9173-EA58A2FEF83B"));
  CHECK_FALSE(is_report_id("c7f481fd-e1d9-4670-9173-ea58a2fef83"));
  CHECK_FALSE(is_report_id("../../../../etc/passwd-xxxxxxxxxxxxxxxx"));
}

TEST_CASE("times are RFC 3339 UTC", "[report]")
{
  CHECK(utc_time(0) == "1970-01-01T00:00:00Z");
  CHECK(utc_time(1795696060) == "2026-11-26T12:27:40Z");
}

TEST_CASE("Retry-After: seconds or an HTTP date, clamped", "[report]")
{
  const std::int64_t now = 1795696060; // Thu, 26 Nov 2026 12:27:40 GMT
  CHECK(parse_retry_after("120", now) == std::chrono::seconds(120));
  CHECK(parse_retry_after("0", now) == std::chrono::seconds(0));
  CHECK(parse_retry_after("99999999999999999999999", now) == std::chrono::seconds(86400));
  CHECK(parse_retry_after("Thu, 26 Nov 2026 12:28:40 GMT", now) == std::chrono::seconds(60));
  CHECK(parse_retry_after("Thu, 26 Nov 2026 12:00:00 GMT", now) == std::chrono::seconds(0));
  CHECK_FALSE(parse_retry_after("", now));
  CHECK_FALSE(parse_retry_after("12abc", now));
  CHECK_FALSE(parse_retry_after("-5", now));
  CHECK_FALSE(parse_retry_after("soon", now));
}

TEST_CASE("backoff doubles up to a minute, with jitter in the upper half", "[report]")
{
  using std::chrono::milliseconds;
  CHECK(backoff_delay(1, 0.0) == milliseconds(500));
  CHECK(backoff_delay(1, 0.999) <= milliseconds(1000));
  CHECK(backoff_delay(2, 0.0) == milliseconds(1000));
  CHECK(backoff_delay(3, 0.5) == milliseconds(3000));
  CHECK(backoff_delay(10, 1.0) == milliseconds(60000));
  CHECK(backoff_delay(1000, 0.0) == milliseconds(30000));
}

TEST_CASE("the token file must be private and one line", "[report]")
{
  testing::TempTree t;
  t.file("token", "s3cret-token\n");
  ::chmod((t / "token").c_str(), 0600);
  CHECK(read_token_file(t / "token") == std::string("s3cret-token"));
  ::chmod((t / "token").c_str(), 0640);
  auto bad = read_token_file(t / "token");
  REQUIRE_FALSE(bad);
  CHECK(bad.error() == t / "token" +
                           ": the token file is accessible by group or others (mode 0640); "
                           "refusing to use it: chmod 600 " +
                           t / "token");
  t.file("inject", "abc\r\nX-Evil: 1\n");
  ::chmod((t / "inject").c_str(), 0600);
  REQUIRE_FALSE(read_token_file(t / "inject"));
  CHECK(read_token_file(t / "inject").error().find("X-Evil") == std::string::npos);
  t.file("empty", "\n");
  ::chmod((t / "empty").c_str(), 0400);
  CHECK(read_token_file(t / "empty").error() == t / "empty" + ": the token file is empty");
  t.fifo("fifo");
  ::chmod((t / "fifo").c_str(), 0600);
  CHECK(read_token_file(t / "fifo").error() ==
        t / "fifo" + ": the token file is not a regular file");
  CHECK_FALSE(read_token_file(t / "missing"));
}

TEST_CASE("the spool keeps reports oldest first, bounded, and cleans up after a crash", "[report]")
{
  testing::TempTree t;
  t.file("spool/00000000000000000001-xx.json.tmp.123.4", "half");
  auto spool = ReportSpool::open(t / "spool", 3);
  REQUIRE(spool);
  CHECK_FALSE(std::filesystem::exists(t / "spool/00000000000000000001-xx.json.tmp.123.4"));
  REQUIRE(ReportSpool::open(t / "new/spool", 3));
  struct stat st {};
  REQUIRE(::stat((t / "new/spool").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    ids.push_back(new_report_id());
    auto dropped = spool->add(ids.back(), "{\"n\":" + std::to_string(i) + "}");
    REQUIRE(dropped);
    CHECK(dropped->size() == (i < 3 ? 0u : 1u));
  }
  const auto queue = spool->list();
  REQUIRE(queue.size() == 3);
  CHECK(queue[0].report_id == ids[2]);
  CHECK(queue[2].report_id == ids[4]);
  CHECK(spool->read(queue[0]) == std::string("{\"n\":2}"));
  spool->reject(queue[0]);
  spool->remove(queue[1]);
  CHECK(spool->list().size() == 1);
  CHECK(std::filesystem::exists(t / ("spool/" + queue[0].name + ".rejected")));
  t.file("spool/not-a-report.json", "{}"); // not ours: ignored, kept
  CHECK(spool->list().size() == 1);
}

TEST_CASE("a second run lock is refused at once, and freed with its holder", "[report]")
{
  testing::TempTree t;
  {
    auto first = RunLock::acquire(t / "state");
    REQUIRE(first);
    auto second = RunLock::acquire(t / "state");
    REQUIRE_FALSE(second);
    CHECK(second.error().busy);
    CHECK(second.error().message.find("another webseed-agent run holds") == 0);
    CHECK(second.error().message.find("(pid " + std::to_string(::getpid()) + ")") !=
          std::string::npos);
  }
  CHECK(RunLock::acquire(t / "state"));
}
