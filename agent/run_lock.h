// run_lock.h: one `run` (or `report --flush`, `withdraw`) at a time per state directory: an
// exclusive flock(2) on STATE_DIR/lock, held until the RunLock is destroyed or the process
// ends (the kernel drops it even after kill -9, so a crash never leaves a stale lock).
#pragma once

#include "util/fd.h"

#include <expected>
#include <string>

namespace agent {

struct LockFailure {
  bool busy = false;   // another process holds the lock
  std::string message; // one line: who holds it, or why the lock file cannot be used
};

// How to make `state_dir` usable by the agent's user: "`install -d -o USER DIR` (...), or set
// state_dir in the config file".
std::string state_dir_fix(const std::string& state_dir);

class RunLock {
public:
  // Never waits: LockFailure{busy = true} at once when the lock is held. Creates state_dir
  // if needed; refuses one writable by group or others (with the chmod), and says how to fix
  // one the agent's user cannot write.
  static std::expected<RunLock, LockFailure> acquire(const std::string& state_dir);

private:
  explicit RunLock(util::Fd fd) : m_fd(std::move(fd)) {}
  util::Fd m_fd;
};

} // namespace agent
