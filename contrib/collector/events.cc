#include "events.h"

#include "notify_hooks.h"
#include "util/sqlite.h"

#include <sqlite3.h>

#include <algorithm>

namespace collector {

namespace {

constexpr const char* k_schema = R"SQL(
CREATE TABLE IF NOT EXISTS events(
  id INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  mirror TEXT NOT NULL,
  info_hash TEXT NOT NULL,
  from_state TEXT NOT NULL,
  to_state TEXT NOT NULL,
  reason TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_by_mirror ON events(mirror, id);
CREATE INDEX IF NOT EXISTS events_by_time ON events(at);
)SQL";

} // namespace

std::pair<std::string, std::string> mirror_state(const MirrorRow& m,
                                                 const std::vector<CellView>& cells)
{
  if (m.disabled) {
    return {"off", "disabled by the central team"};
  }
  if (!m.opted_in) {
    return {"off", "withdrawn by the mirror"};
  }
  std::size_t listed = 0;
  std::size_t stale = 0;
  std::string_view stale_reason;
  for (const CellView& c : cells) {
    if (c.state == CellState::listed) {
      ++listed;
    } else if (c.state == CellState::stale) {
      ++stale;
      stale_reason = c.reason;
    }
  }
  if (listed > 0) {
    return {"listed", "listed for " + std::to_string(listed) + " of " +
                          std::to_string(cells.size()) + " torrents"};
  }
  if (!cells.empty() && stale == cells.size()) {
    return {"stale", std::string(stale_reason)};
  }
  return {"not-listed", "listed for no torrent"};
}

std::string_view KnownStates::get(const std::string& mirror, std::string_view key) const
{
  const auto m = m_mirrors.find(mirror);
  if (m == m_mirrors.end()) {
    return "";
  }
  const auto c = m->second.find(std::hash<std::string_view>{}(key));
  return c == m->second.end() ? std::string_view() : std::string_view(m_states[c->second]);
}

void KnownStates::set(const std::string& mirror, std::string_view key, std::string_view state)
{
  auto at = std::find(m_states.begin(), m_states.end(), state);
  if (at == m_states.end()) {
    m_states.emplace_back(state);
    at = m_states.end() - 1;
  }
  m_mirrors[mirror][std::hash<std::string_view>{}(key)] =
      static_cast<std::uint16_t>(at - m_states.begin());
}

void diff_mirror(KnownStates& known, const MirrorRow& m, const std::vector<CellView>& cells,
                 std::int64_t now, std::vector<Event>& out)
{
  const auto note = [&](std::string_view key, std::string_view state, std::string_view reason) {
    const std::string_view before = known.get(m.name, key);
    if (before != state) {
      out.push_back(Event{now, m.name, std::string(key), std::string(before), std::string(state),
                          std::string(reason)});
      known.set(m.name, key, state);
    }
  };
  const auto [state, reason] = mirror_state(m, cells);
  note("", state, reason);
  for (const CellView& c : cells) {
    note(c.key, state_name(c.state), c.reason);
  }
}

std::vector<Event> diff_states(KnownStates& known, const Listing& l, std::int64_t now)
{
  std::vector<Event> out;
  std::vector<CellView> cells;
  for (const MirrorRow& m : l.mirrors) {
    cells.clear();
    for (auto it = l.cells.lower_bound({m.name, ""});
         it != l.cells.end() && it->first.first == m.name; ++it) {
      cells.push_back(CellView{it->first.second, it->second.state, it->second.reason});
    }
    diff_mirror(known, m, cells, now, out);
  }
  return out;
}

std::expected<std::unique_ptr<EventLog>, std::string> EventLog::open(const std::string& path)
{
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    std::string error = path + ": " + (db ? sqlite3_errmsg(db) : "cannot open");
    sqlite3_close(db);
    return std::unexpected(error);
  }
  sqlite3_busy_timeout(db, 10'000);
  std::string error;
  if (!util::sql_exec(db, "PRAGMA journal_mode=WAL", &error) ||
      !util::sql_exec(db, "PRAGMA synchronous=FULL", &error) ||
      !util::sql_exec(db, k_schema, &error)) {
    sqlite3_close(db);
    return std::unexpected(path + ": " + error);
  }
  return std::unique_ptr<EventLog>(new EventLog(db));
}

EventLog::~EventLog()
{
  sqlite3_close(m_db);
}

std::expected<void, std::string> EventLog::record(const std::vector<Event>& events,
                                                  std::int64_t now, std::int64_t retention_s)
{
  const std::lock_guard lock(m_mutex);
  std::string error;
  if (!util::sql_exec(m_db, "BEGIN IMMEDIATE", &error)) {
    return std::unexpected("events: " + error);
  }
  for (const Event& e : events) {
    util::SqlStatement s(m_db, "INSERT INTO events(at, mirror, info_hash, from_state, to_state, "
                               "reason) VALUES(?,?,?,?,?,?)");
    s.bind(1, e.at)
        .bind(2, e.mirror)
        .bind(3, e.info_hash)
        .bind(4, e.from)
        .bind(5, e.to)
        .bind(6, e.reason);
    if (s.step() != SQLITE_DONE) {
      util::sql_exec(m_db, "ROLLBACK");
      return std::unexpected(std::string("events: ") + sqlite3_errmsg(m_db));
    }
  }
  util::SqlStatement prune(m_db, "DELETE FROM events WHERE at < ?");
  prune.bind(1, now - retention_s).step();
  if (!util::sql_exec(m_db, "COMMIT", &error)) {
    util::sql_exec(m_db, "ROLLBACK");
    return std::unexpected("events: " + error);
  }
  return {};
}

std::vector<Event> EventLog::for_mirror(const std::string& mirror, std::size_t limit)
{
  const std::lock_guard lock(m_mutex);
  util::SqlStatement s(m_db, "SELECT at, mirror, info_hash, from_state, to_state, reason FROM "
                             "events WHERE mirror = ? ORDER BY id DESC LIMIT ?");
  s.bind(1, mirror).bind(2, static_cast<std::int64_t>(limit));
  std::vector<Event> out;
  while (s.step() == SQLITE_ROW) {
    out.push_back(Event{s.integer(0), s.text(1), s.text(2), s.text(3), s.text(4), s.text(5)});
  }
  return out;
}

KnownStates EventLog::last_states()
{
  const std::lock_guard lock(m_mutex);
  util::SqlStatement s(m_db, "SELECT mirror, info_hash, to_state FROM events WHERE id IN "
                             "(SELECT MAX(id) FROM events GROUP BY mirror, info_hash)");
  KnownStates out;
  while (s.step() == SQLITE_ROW) {
    out.set(s.text(0), s.text(1), s.text(2));
  }
  return out;
}

std::vector<std::string> run_event_hook(const EventHook& hook, const std::vector<Event>& events)
{
  std::vector<std::string> failures;
  if (hook.argv.empty()) {
    return failures;
  }
  for (const Event& e : events) {
    if (!e.info_hash.empty()) {
      continue;
    }
    std::vector<std::string> argv = hook.argv;
    argv.insert(argv.end(), {e.mirror, e.from, e.to, e.reason});
    const agent::HookResult r = agent::run_hook(argv, {}, hook.timeout, hook.output_file);
    if (!r.ok()) {
      failures.push_back("events.on_mirror_change for mirror " + e.mirror + ": " + r.message);
    }
  }
  return failures;
}

EventsOutcome record_events(EventLog& log, KnownStates& known, const std::vector<Event>& events,
                            std::int64_t now, std::int64_t retention_s, const EventHook& hook)
{
  EventsOutcome out;
  std::vector<std::string>& lines = out.lines;
  if (events.empty()) {
    return out;
  }
  if (auto ok = log.record(events, now, retention_s); !ok) {
    for (auto e = events.rbegin(); e != events.rend(); ++e) {
      known.set(e->mirror, e->info_hash, e->from);
    }
    lines.push_back(ok.error() + " (the changes are looked at again next time)");
    out.recorded = false;
    return out;
  }
  for (const Event& e : events) {
    if (e.info_hash.empty()) {
      lines.push_back("mirror " + e.mirror + ": " + (e.from.empty() ? "(new)" : e.from) + " -> " +
                      e.to + " (" + e.reason + ")");
    }
  }
  for (std::string& f : run_event_hook(hook, events)) {
    lines.push_back(std::move(f));
  }
  return out;
}

EventsOutcome watch_events(EventLog& log, KnownStates& known, const Listing& listing,
                           std::int64_t now, std::int64_t retention_s, const EventHook& hook)
{
  const std::vector<Event> events = diff_states(known, listing, now);
  return record_events(log, known, events, now, retention_s, hook);
}

} // namespace collector
