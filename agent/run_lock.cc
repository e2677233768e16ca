#include "run_lock.h"

#include "util/atomic_file.h"
#include "util/private_dir.h"
#include "util/read_file.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <pwd.h>
#include <sys/file.h>
#include <unistd.h>

namespace agent {

std::string state_dir_fix(const std::string& state_dir)
{
  const struct passwd* pw = ::getpwuid(::geteuid());
  const std::string user = pw ? pw->pw_name : std::to_string(::geteuid());
  return "`install -d -o " + user + " " + state_dir +
         "` (the user the agent runs as), or set "
         "state_dir in the config file";
}

std::expected<RunLock, LockFailure> RunLock::acquire(const std::string& state_dir)
{
  if (auto made = util::make_dirs(state_dir, 0755); !made) {
    return std::unexpected(LockFailure{false, made.error() + ": " + state_dir_fix(state_dir)});
  }
  if (auto shared = util::refuse_shared_dir(state_dir); !shared) {
    return std::unexpected(LockFailure{false, "state_dir " + shared.error()});
  }
  const std::string path = state_dir + "/lock";
  util::Fd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0644));
  if (!fd) {
    const int err = errno;
    return std::unexpected(LockFailure{false, path + ": cannot open: " + std::strerror(err) +
                                                  (err == EACCES || err == EPERM || err == EROFS
                                                       ? ": " + state_dir_fix(state_dir)
                                                       : std::string())});
  }
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      char buf[32] = {};
      const std::size_t n = util::read_at(fd.get(), buf, sizeof buf - 1, 0);
      std::string pid(buf, n);
      while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) {
        pid.pop_back();
      }
      return std::unexpected(LockFailure{
          true, "another webseed-agent run holds " + path +
                    (pid.empty() ? std::string() : " (pid " + pid + ")") + "; not starting"});
    }
    return std::unexpected(LockFailure{false, path + ": cannot lock: " + std::strerror(errno)});
  }
  // Who holds it, for the message a second run prints (informative only).
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd.get(), 0) == 0) {
    [[maybe_unused]] const ssize_t n = ::pwrite(fd.get(), pid.data(), pid.size(), 0);
  }
  return RunLock(std::move(fd));
}

} // namespace agent
