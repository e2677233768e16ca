// run_log_test.cc: the lines `run` logs, as a terminal (and syslog) shows them.
#include "run_log.h"

#include <catch2/catch.hpp>

#include <iostream>
#include <sstream>

namespace {

// What RunLog(true).say(level, message) writes to stderr.
std::string stderr_of(agent::LogLevel level, const std::string& message)
{
  std::ostringstream captured;
  std::streambuf* old = std::cerr.rdbuf(captured.rdbuf());
  {
    agent::RunLog log(true);
    log.say(level, message);
  }
  std::cerr.rdbuf(old);
  return captured.str();
}

} // namespace

TEST_CASE("run's log lines are the message, not a quoted string", "[run_log]")
{
  CHECK(stderr_of(agent::LogLevel::warning, "the sync failed (rsync exit 10): not judged") ==
        "webseed-agent: warning: the sync failed (rsync exit 10): not judged\n");
  CHECK(stderr_of(agent::LogLevel::error, "state_dir /var/lib/x: not writable") ==
        "webseed-agent: error: state_dir /var/lib/x: not writable\n");
  // Control characters from an untrusted tree are still escaped.
  const std::string escaped = stderr_of(agent::LogLevel::warning, "bad name a\x1b[2Jb");
  CHECK(escaped.find('\x1b') == std::string::npos);
}
