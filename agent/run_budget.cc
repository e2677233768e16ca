#include "run_budget.h"

#include <algorithm>

namespace agent {

RunBudget::RunBudget(Clock::time_point start, std::chrono::seconds run_timeout,
                     Clock::duration report_timeout, std::chrono::seconds hooks_timeout,
                     std::chrono::seconds probe_timeout)
    : m_start(start), m_total(run_timeout), m_report(report_timeout), m_hooks(hooks_timeout),
      m_probe(probe_timeout)
{
}

RunBudget::Clock::time_point RunBudget::resend_deadline(Clock::time_point now) const
{
  return std::min(now + m_report, m_start + m_total / 10);
}

RunBudget::Clock::time_point RunBudget::hash_deadline() const
{
  return end() - std::min<Clock::duration>(m_total / 2, tail() + m_probe);
}

RunBudget::Clock::time_point RunBudget::probe_deadline() const
{
  return end() - std::min<Clock::duration>(m_total / 4, tail());
}

RunBudget::Clock::time_point RunBudget::report_deadline(Clock::time_point now) const
{
  return std::min(now + m_report, end());
}

std::chrono::milliseconds RunBudget::hook_timeout(Clock::time_point now) const
{
  const auto left = std::max(std::chrono::milliseconds(0),
                             std::chrono::duration_cast<std::chrono::milliseconds>(end() - now));
  return std::max<std::chrono::milliseconds>(
      std::chrono::milliseconds(1000),
      std::min<std::chrono::milliseconds>(
          std::chrono::duration_cast<std::chrono::milliseconds>(m_hooks), left));
}

} // namespace agent
