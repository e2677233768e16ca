// notify_hooks.h: the admin's notification commands (config hooks.on_ready / on_problem),
// started after a run through Boost.Process: an argv list, never a shell; stdin from
// /dev/null; stdout and stderr to a file in the state directory whose tail is logged when
// the command fails; killed after hooks.timeout. The run's result is in the environment:
//   WEBSEED_AGENT_OUTCOME      ready | not-ready | syncing | sync-failed
//   WEBSEED_AGENT_PREVIOUS     the previous run's outcome ("" on the first run)
//   WEBSEED_AGENT_TORRENTS     torrents judged      WEBSEED_AGENT_READY  of them ready
//   WEBSEED_AGENT_NOT_READY    names of the torrents not ready, one per line
//   WEBSEED_AGENT_REPORT       delivered | spooled | rejected | disabled
//   WEBSEED_AGENT_STATUS_FILE  the status.json path
// A hook that fails, times out or cannot start is logged, never fatal.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace agent {

struct HookResult {
  bool started = false;
  bool timed_out = false;
  int exit_code = -1;  // when started and not timed out
  std::string message; // one line when it did not succeed
  bool ok() const { return started && !timed_out && exit_code == 0; }
};

// Runs `argv` (argv[0] an absolute path) with `env` added to the agent's environment (set in
// this process around the start: call it while no other thread reads the environment).
HookResult run_hook(const std::vector<std::string>& argv,
                    const std::map<std::string, std::string>& env,
                    std::chrono::milliseconds timeout, const std::string& output_file);

} // namespace agent
