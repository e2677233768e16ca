// events.h: the collector's history (issue 16 item 5): every change of a (mirror, torrent)
// pair's listing state and of a mirror's own state is an event (time, from, to, reason),
// kept in the database's `events` table for `events.retention`, served by
// GET /api/v1/mirrors/<name>/events, and, for mirror state changes, passed to the
// `events.on_mirror_change` command (argv, no shell, timeout) so the team can mail the
// mirror's admin.
//
// Events are found by comparing successive listings (listing.h), so an event's time is when
// the collector noticed the change: `serve` looks every few seconds.
#pragma once

#include "listing.h"

#include <chrono>
#include <cstdint>
#include <expected>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

struct sqlite3;

namespace collector {

struct Event {
  std::int64_t at = 0;
  std::string mirror;
  std::string info_hash; // the catalog key; "" for the mirror's own state
  std::string from;      // "" when the collector knew no state before
  std::string to;
  std::string reason;
};

// A mirror's own state: "off" (disabled or withdrawn), "listed" (listed for at least one
// torrent), "stale" (no judged report within stale_after), else "not-listed".
std::pair<std::string, std::string> mirror_state(const Listing& listing, const MirrorRow& mirror);

// Last known states: (mirror, info_hash or "") -> state.
using KnownStates = std::map<std::pair<std::string, std::string>, std::string>;

// The events between `known` and `now_listing` (mirror events first, then pair events, by
// mirror and key); `known` is updated to the new states. Linear in the listing's size.
std::vector<Event> diff_states(KnownStates& known, const Listing& now_listing, std::int64_t now);

// The `events` table, on its own connection to the collector's database (WAL).
class EventLog {
public:
  // Opens (creating the table). Error: "PATH: why".
  static std::expected<std::unique_ptr<EventLog>, std::string> open(const std::string& path);
  ~EventLog();
  EventLog(const EventLog&) = delete;
  EventLog& operator=(const EventLog&) = delete;

  // Appends `events` and deletes those older than now - retention_s, in one transaction.
  std::expected<void, std::string> record(const std::vector<Event>& events, std::int64_t now,
                                          std::int64_t retention_s);
  // A mirror's events, newest first, at most `limit`.
  std::vector<Event> for_mirror(const std::string& mirror, std::size_t limit);
  // The last recorded state of every (mirror, key), to start from after a restart.
  KnownStates last_states();

private:
  explicit EventLog(sqlite3* db) : m_db(db) {}
  std::mutex m_mutex;
  sqlite3* m_db;
};

struct EventHook {
  std::vector<std::string> argv; // events.on_mirror_change ([] none)
  std::chrono::milliseconds timeout{30'000};
  std::string output_file; // where its output goes
};

// Runs the hook once per mirror event: argv + MIRROR FROM TO REASON (no shell, no
// environment changes, killed after the timeout). Returns one log line per failure.
std::vector<std::string> run_event_hook(const EventHook& hook, const std::vector<Event>& events);

// One look: diffs `listing` against `known`, records the events (with the retention), runs
// the hook for mirror events. Returns log lines (failures; mirror state changes).
std::vector<std::string> watch_events(EventLog& log, KnownStates& known, const Listing& listing,
                                      std::int64_t now, std::int64_t retention_s,
                                      const EventHook& hook);

} // namespace collector
