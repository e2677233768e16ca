// run_log.h: where `run` says things. Hook-friendly: nothing on success; problems go to
// syslog (facility daemon, ident webseed-agent) and, when stderr is a terminal (an admin
// trying the hook by hand), to stderr too. Manual commands (`report --flush`, `withdraw`)
// always print to stderr as well. One line per message; messages never carry secrets.
#pragma once

#include <string>

namespace agent {

enum class LogLevel { error, warning, notice, info };

// To syslog only (for a message the caller also prints itself, e.g. a fatal error).
void syslog_only(LogLevel level, const std::string& message);

class RunLog {
public:
  // `always_stderr`: print to stderr even when it is not a terminal.
  explicit RunLog(bool always_stderr);
  ~RunLog();
  RunLog(const RunLog&) = delete;
  RunLog& operator=(const RunLog&) = delete;

  // info goes to syslog only; the other levels to syslog and (see above) stderr.
  void say(LogLevel level, const std::string& message);

private:
  bool m_stderr;
};

} // namespace agent
