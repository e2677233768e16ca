#include "priority.h"

#include <catch2/catch.hpp>

#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

// Runs `body` in a child process (priorities cannot be raised back) and returns its exit code.
template <typename F> int in_child(F body)
{
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::_exit(body());
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 255;
}

int io_priority()
{
  return static_cast<int>(::syscall(SYS_ioprio_get, 1, 0));
}

} // namespace

TEST_CASE("lower_priority sets nice and the idle I/O class", "[priority]")
{
  CHECK(in_child([] {
          if (!agent::lower_priority({10, agent::IoClass::idle})) {
            return 1;
          }
          if (::getpriority(PRIO_PROCESS, 0) != 10) {
            return 2;
          }
          return io_priority() == (3 << 13) ? 0 : 3; // IOPRIO_CLASS_IDLE, level 0
        }) == 0);
}

TEST_CASE("lower_priority never raises an already lower priority", "[priority]")
{
  CHECK(in_child([] {
          if (::setpriority(PRIO_PROCESS, 0, 15) != 0 ||
              !agent::lower_priority({5, agent::IoClass::best_effort})) {
            return 1;
          }
          if (::getpriority(PRIO_PROCESS, 0) != 15) {
            return 2;
          }
          return io_priority() == ((2 << 13) | 7) ? 0 : 3; // best-effort, lowest level
        }) == 0);
}

TEST_CASE("nice 0 and io unchanged leave everything alone", "[priority]")
{
  CHECK(in_child([] {
          const int nice_before = ::getpriority(PRIO_PROCESS, 0);
          const int io_before = io_priority();
          if (!agent::lower_priority({0, agent::IoClass::unchanged})) {
            return 1;
          }
          return ::getpriority(PRIO_PROCESS, 0) == nice_before && io_priority() == io_before ? 0
                                                                                             : 2;
        }) == 0);
}

TEST_CASE("io class names round-trip", "[priority]")
{
  for (const auto io :
       {agent::IoClass::idle, agent::IoClass::best_effort, agent::IoClass::unchanged}) {
    CHECK(agent::parse_io_class(agent::io_class_name(io)) == io);
  }
  CHECK_FALSE(agent::parse_io_class("realtime"));
}
