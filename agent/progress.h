// progress.h: a one-line progress display (bytes, rate, ETA) on stderr, only when stderr
// is a terminal: hooks and pipes stay quiet.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace agent {

class Progress {
public:
  // `label` starts the line; `total` bytes are expected. Shown only if stderr is a TTY.
  Progress(std::string label, std::uint64_t total);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void update(std::uint64_t done);
  // Clears the line (nothing is left behind on the terminal).
  void finish();

private:
  std::string m_label;
  std::uint64_t m_total;
  bool m_enabled;
  bool m_shown = false;
  std::chrono::steady_clock::time_point m_start;
};

} // namespace agent
