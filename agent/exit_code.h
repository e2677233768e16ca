// exit_code.h: the process exit codes, a public interface (README, --help, docs/cli.md).
#pragma once

namespace agent {

enum class ExitCode : int {
  ok = 0,       // everything ready / no error finding
  findings = 1, // at least one error finding: something is not ready
  usage = 2,    // bad command line or configuration
  internal = 3, // unexpected failure inside the agent
  busy = 4,     // `run`, `report --flush`, `withdraw`: another run holds the state lock
};

constexpr int to_int(ExitCode code)
{
  return static_cast<int>(code);
}

} // namespace agent
