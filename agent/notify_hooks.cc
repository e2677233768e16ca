#include "notify_hooks.h"

#include "util/read_file.h"

#include <boost/process.hpp>

#include <cstdlib>
#include <thread>

namespace agent {

namespace bp = boost::process;

namespace {

// The last line of the hook's output, for the log (untrusted bytes, bounded).
std::string output_tail(const std::string& path)
{
  auto text = util::read_small_file(path, 1 << 20);
  if (!text || text->empty()) {
    return {};
  }
  std::string_view t = *text;
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) {
    t.remove_suffix(1);
  }
  const std::size_t nl = t.rfind('\n');
  t = nl == std::string_view::npos ? t : t.substr(nl + 1);
  return ": " + std::string(t.substr(0, 200));
}

} // namespace

HookResult run_hook(const std::vector<std::string>& argv,
                    const std::map<std::string, std::string>& env,
                    std::chrono::milliseconds timeout, const std::string& output_file)
{
  HookResult result;
  const std::string name = argv.empty() ? std::string("(empty)") : argv.front();
  if (argv.empty()) {
    result.message = "hook has no command";
    return result;
  }
  // The child inherits our environment with `env` added: set here, removed after the start.
  // (Boost 1.74's basic_environment::find() reads past short entries, as ASan shows.)
  for (const auto& [key, value] : env) {
    ::setenv(key.c_str(), value.c_str(), 1);
  }
  std::error_code ec;
  bp::child child(bp::exe = argv.front(),
                  bp::args = std::vector<std::string>(argv.begin() + 1, argv.end()),
                  bp::std_in<bp::null, (bp::std_out & bp::std_err)> output_file, ec);
  for (const auto& [key, value] : env) {
    ::unsetenv(key.c_str());
  }
  if (ec) {
    result.message = "hook " + name + " could not start: " + ec.message();
    return result;
  }
  result.started = true;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (child.running(ec) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (child.running(ec)) {
    child.terminate(ec); // SIGKILL
    child.wait(ec);
    result.timed_out = true;
    result.message =
        "hook " + name + " killed after " +
        std::to_string(std::chrono::duration_cast<std::chrono::seconds>(timeout).count()) +
        " s (hooks.timeout)";
    return result;
  }
  child.wait(ec);
  const int status = child.native_exit_code();
  if (WIFSIGNALED(status)) {
    result.exit_code = 128 + WTERMSIG(status);
    result.message = "hook " + name + " died of signal " + std::to_string(WTERMSIG(status));
  } else {
    result.exit_code = WEXITSTATUS(status);
    if (result.exit_code != 0) {
      result.message = "hook " + name + " exited with " + std::to_string(result.exit_code) +
                       output_tail(output_file);
    }
  }
  return result;
}

} // namespace agent
