// report_spool.h: reports waiting to be delivered, one file each in the spool directory
// (report.spool_dir, default STATE_DIR/spool), written atomically (util/atomic_file.h) so a
// crash or kill -9 leaves whole reports only. Names sort oldest first:
// <20-digit nanoseconds since 1970>-<report_id>.json. Delivery is at-least-once: a report
// leaves the spool only after the endpoint acknowledged it (its report_id makes a resend
// harmless). Bounded: past report.spool_max the oldest reports are dropped, and said so.
// Reports the endpoint will never take (400, 413, 422) are kept aside as NAME.rejected,
// bounded the same way. Only regular files owned by the agent's user count as spooled
// reports: a symlink or another user's file named like one is never read or sent, only
// reported (untrusted()) and left in place. A spool directory writable by group or others is
// refused.
#pragma once

#include "report_send.h"

#include <chrono>
#include <cstdint>
#include <expected>
#include <functional>
#include <string>
#include <vector>

namespace agent {

struct SpooledReport {
  std::string name;      // file name in the spool directory
  std::string report_id; // from the name
};

class ReportSpool {
public:
  // Creates the directory (0700) if needed; removes temporary files a killed writer left.
  // Error: "DIR: <why>", also when it is writable by group or others (with the chmod).
  static std::expected<ReportSpool, std::string> open(const std::string& dir, std::uint64_t max);

  const std::string& dir() const { return m_dir; }

  // Adds a report. Returns the messages about reports dropped to stay within the bound.
  // Error: "PATH: <why>" (nothing half-written is left).
  std::expected<std::vector<std::string>, std::string> add(const std::string& report_id,
                                                           const std::string& body);

  // The spooled reports, oldest first.
  std::vector<SpooledReport> list() const;

  // One line per entry named like a report that is not to be trusted (a symbolic link, not
  // a regular file, another user's): skipped, left in place.
  std::vector<std::string> untrusted() const;

  // The report's bytes (at most 64 MiB), opened with O_NOFOLLOW: a regular file owned by
  // this user. Error: "PATH: <why>".
  std::expected<std::string, std::string> read(const SpooledReport& report) const;

  void remove(const SpooledReport& report) const;
  // Keeps the report aside as NAME.rejected (bounded), out of the queue.
  void reject(const SpooledReport& report) const;

private:
  ReportSpool(std::string dir, std::uint64_t max) : m_dir(std::move(dir)), m_max(max) {}
  std::vector<std::string> names_with_suffix(std::string_view suffix,
                                             std::vector<std::string>* skipped = nullptr) const;
  std::vector<std::string> trim(std::string_view suffix) const;
  std::string m_dir;
  std::uint64_t m_max;
};

struct FlushResult {
  std::size_t delivered = 0;
  std::size_t rejected = 0;
  std::size_t remaining = 0;         // still spooled afterwards
  int failures = 0;                  // deliveries that did not succeed (for metrics)
  std::vector<std::string> messages; // one line per problem, for the log
  std::vector<std::string> delivered_ids;
};

// Sends the spooled reports oldest first until one cannot be delivered now (then the rest
// wait, keeping their order) or the deadline passes. Untrusted entries are only named in
// `messages`.
FlushResult flush_spool(const ReportSpool& spool, const Endpoint& endpoint,
                        std::chrono::steady_clock::time_point deadline);

} // namespace agent
