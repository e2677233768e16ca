// error.h: the one exception type of the agent. Low layers return std::expected values;
// only the command layer throws Fatal, and main() catches it once and prints
// "webseed-agent: error: <message>" before exiting with its code.
#pragma once

#include "exit_code.h"

#include <stdexcept>
#include <string>

namespace agent {

class Fatal : public std::runtime_error {
public:
  Fatal(ExitCode code, const std::string& message) : std::runtime_error(message), m_code(code) {}
  ExitCode code() const noexcept { return m_code; }

private:
  ExitCode m_code;
};

} // namespace agent
