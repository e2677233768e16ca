#include "progress.h"

#include "util/format.h"

#include <unistd.h>

#include <cstdio>

namespace agent {

Progress::Progress(std::string label, std::uint64_t total)
    : m_label(std::move(label)), m_total(total), m_enabled(::isatty(STDERR_FILENO) == 1),
      m_start(std::chrono::steady_clock::now())
{
}

Progress::~Progress()
{
  finish();
}

void Progress::update(std::uint64_t done)
{
  if (!m_enabled) {
    return;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - m_start).count();
  const double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0;
  const unsigned percent = m_total > 0 ? static_cast<unsigned>(100 * done / m_total) : 100;
  std::string eta = "-";
  if (rate > 0 && m_total >= done) {
    eta = std::to_string(static_cast<long long>(static_cast<double>(m_total - done) / rate)) + " s";
  }
  std::fprintf(stderr, "\r\033[K%s: %s of %s (%u%%), %s/s, ETA %s", m_label.c_str(),
               util::human_size(done).c_str(), util::human_size(m_total).c_str(), percent,
               util::human_size(static_cast<std::uint64_t>(rate)).c_str(), eta.c_str());
  std::fflush(stderr);
  m_shown = true;
}

void Progress::finish()
{
  if (m_shown) {
    std::fprintf(stderr, "\r\033[K");
    std::fflush(stderr);
    m_shown = false;
  }
}

} // namespace agent
