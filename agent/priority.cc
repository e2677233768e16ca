#include "priority.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace agent {

namespace {

// From linux/ioprio.h (not exported by glibc).
constexpr int k_ioprio_who_process = 1;
constexpr int k_ioprio_class_shift = 13;
constexpr int k_ioprio_class_be = 2;
constexpr int k_ioprio_class_idle = 3;
constexpr int k_ioprio_be_lowest = 7;

} // namespace

std::expected<IoClass, std::string> parse_io_class(const std::string& text)
{
  if (text == "idle") {
    return IoClass::idle;
  }
  if (text == "best-effort") {
    return IoClass::best_effort;
  }
  if (text == "unchanged") {
    return IoClass::unchanged;
  }
  return std::unexpected("must be idle, best-effort or unchanged, not '" + text + "'");
}

const char* io_class_name(IoClass io)
{
  switch (io) {
  case IoClass::idle: return "idle";
  case IoClass::best_effort: return "best-effort";
  case IoClass::unchanged: break;
  }
  return "unchanged";
}

std::expected<void, std::string> lower_priority(const Priority& priority)
{
  if (priority.nice > 0) {
    errno = 0;
    const int current = ::getpriority(PRIO_PROCESS, 0);
    if (current == -1 && errno != 0) {
      return std::unexpected(std::string("cannot read the CPU priority: ") + std::strerror(errno));
    }
    if (::setpriority(PRIO_PROCESS, 0, std::max(current, std::min(priority.nice, 19))) != 0) {
      return std::unexpected(std::string("cannot lower the CPU priority: ") + std::strerror(errno));
    }
  }
  if (priority.io != IoClass::unchanged) {
    // best-effort at its lowest level (7); idle has no levels.
    const int value = priority.io == IoClass::idle
                          ? k_ioprio_class_idle << k_ioprio_class_shift
                          : (k_ioprio_class_be << k_ioprio_class_shift) | k_ioprio_be_lowest;
    if (::syscall(SYS_ioprio_set, k_ioprio_who_process, 0, value) != 0) {
      return std::unexpected(std::string("cannot set the I/O priority to ") +
                             io_class_name(priority.io) + ": " + std::strerror(errno));
    }
  }
  return {};
}

} // namespace agent
