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
#include <string_view>
#include <unordered_map>
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

// One cell as the listing (listing.h, or an index of it) holds it; views into the caller's.
struct CellView {
  std::string_view key; // the catalog key
  CellState state;
  std::string_view reason;
};

// A mirror's own state and why: "off" (disabled or withdrawn), "listed" (listed for at least
// one torrent), "stale" (every cell stale: no judged report within stale_after), else
// "not-listed".
std::pair<std::string, std::string> mirror_state(const MirrorRow& mirror,
                                                 const std::vector<CellView>& cells);

// Last known states: (mirror, info_hash or "" for the mirror's own) -> state. Compact, as it
// holds every cell of the network (100,000 at 500 x 200): per mirror, a 64-bit hash of the key
// and the index of an interned state string (a handful of distinct states).
class KnownStates {
public:
  // The state last known, "" when none.
  std::string_view get(const std::string& mirror, std::string_view key) const;
  void set(const std::string& mirror, std::string_view key, std::string_view state);

private:
  std::unordered_map<std::string, std::unordered_map<std::uint64_t, std::uint16_t>> m_mirrors;
  std::vector<std::string> m_states{""}; // interned; index 0 is ""
};

// The events of one mirror between `known` and `cells` (its own state first, then its cells
// in the given order), appended to `out`; `known` is updated. Linear in the cells.
void diff_mirror(KnownStates& known, const MirrorRow& mirror, const std::vector<CellView>& cells,
                 std::int64_t now, std::vector<Event>& out);

// diff_mirror for every mirror of a whole listing (by name).
std::vector<Event> diff_states(KnownStates& known, const Listing& listing, std::int64_t now);

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

struct EventsOutcome {
  bool recorded = true;           // false: the write failed (`known` put back)
  std::vector<std::string> lines; // to log: failures, mirror state changes
};

// After diff_states/diff_mirror updated `known` and found `events`: records them (with the
// retention) and runs the hook for mirror events; when the write fails, `known` is put back
// (the changes are found again next time).
EventsOutcome record_events(EventLog& log, KnownStates& known, const std::vector<Event>& events,
                            std::int64_t now, std::int64_t retention_s, const EventHook& hook);

// record_events of diff_states(listing).
EventsOutcome watch_events(EventLog& log, KnownStates& known, const Listing& listing,
                           std::int64_t now, std::int64_t retention_s, const EventHook& hook);

} // namespace collector
