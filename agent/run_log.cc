#include "run_log.h"

#include "util/text.h"

#include <iostream>
#include <syslog.h>
#include <unistd.h>

namespace agent {

void syslog_only(LogLevel level, const std::string& message)
{
  const int priority = level == LogLevel::error     ? LOG_ERR
                       : level == LogLevel::warning ? LOG_WARNING
                       : level == LogLevel::notice  ? LOG_NOTICE
                                                    : LOG_INFO;
  ::openlog("webseed-agent", LOG_PID, LOG_DAEMON);
  ::syslog(priority, "%s", util::escape_in_message(message).c_str());
}

RunLog::RunLog(bool always_stderr) : m_stderr(always_stderr || ::isatty(STDERR_FILENO) == 1)
{
  ::openlog("webseed-agent", LOG_PID, LOG_DAEMON);
}

RunLog::~RunLog()
{
  ::closelog();
}

void RunLog::say(LogLevel level, const std::string& message)
{
  const std::string text = util::escape_in_message(message);
  int priority = LOG_INFO;
  const char* prefix = "";
  switch (level) {
  case LogLevel::error:
    priority = LOG_ERR;
    prefix = "error: ";
    break;
  case LogLevel::warning:
    priority = LOG_WARNING;
    prefix = "warning: ";
    break;
  case LogLevel::notice: priority = LOG_NOTICE; break;
  case LogLevel::info: priority = LOG_INFO; break;
  }
  ::syslog(priority, "%s%s", prefix, text.c_str());
  if (m_stderr && level != LogLevel::info) {
    std::cerr << "webseed-agent: " << prefix << text << '\n';
  }
}

} // namespace agent
