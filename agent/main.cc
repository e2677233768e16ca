// main.cc: the one place exceptions are caught and turned into a message and an exit code.
#include "cli.h"
#include "error.h"

#include <sys/resource.h>

#include <csignal>
#include <exception>
#include <iostream>

namespace {

// Directory walks hold a descriptor per level: allow as many as the hard limit permits.
void raise_fd_limit()
{
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &lim);
  }
}

} // namespace

int main(int argc, char** argv)
{
  std::signal(SIGPIPE, SIG_IGN);
  raise_fd_limit();
  try {
    return agent::run_cli(argc, argv);
  } catch (const agent::Fatal& e) {
    std::cerr << "webseed-agent: error: " << e.what() << '\n';
    return agent::to_int(e.code());
  } catch (const std::exception& e) {
    std::cerr << "webseed-agent: internal error: " << e.what() << '\n';
    return agent::to_int(agent::ExitCode::internal);
  }
}
