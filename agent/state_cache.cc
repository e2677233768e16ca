#include "state_cache.h"

#include "util/sqlite.h"

#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <utility>

namespace agent {

namespace {

constexpr int k_schema_version = 1;
constexpr const char* k_schema = R"(
CREATE TABLE IF NOT EXISTS verified_file (
  info_hash   TEXT    NOT NULL,
  file_index  INTEGER NOT NULL,
  dev         INTEGER NOT NULL,
  ino         INTEGER NOT NULL,
  size        INTEGER NOT NULL,
  mtime_ns    INTEGER NOT NULL,
  ctime_ns    INTEGER NOT NULL,
  verified_at INTEGER NOT NULL,
  PRIMARY KEY (info_hash, file_index)
);
PRAGMA user_version = 1;
)";

using util::sql_exec;
using util::SqlStatement;

// Opens and checks the database; nullptr (and why) when it is not usable.
sqlite3* try_open(const std::string& path, std::string& why)
{
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOFOLLOW,
                      nullptr) != SQLITE_OK) {
    why = db ? sqlite3_errmsg(db) : "cannot open";
    sqlite3_close(db);
    return nullptr;
  }
  sqlite3_busy_timeout(db, 2000);
  int version = -1;
  {
    SqlStatement q(db, "PRAGMA user_version");
    if (q && sqlite3_step(q.get()) == SQLITE_ROW) {
      version = sqlite3_column_int(q.get(), 0);
    }
  }
  bool healthy = false;
  {
    SqlStatement check(db, "PRAGMA quick_check");
    healthy =
        check && sqlite3_step(check.get()) == SQLITE_ROW &&
        std::strcmp(reinterpret_cast<const char*>(sqlite3_column_text(check.get(), 0)), "ok") == 0;
  } // finalized: an open statement would keep a read transaction open
  if (!healthy || (version != 0 && version != k_schema_version) ||
      !sql_exec(db, "PRAGMA journal_mode=WAL") || !sql_exec(db, k_schema)) {
    why = healthy ? (version != 0 && version != k_schema_version
                         ? "unknown schema version " + std::to_string(version)
                         : sqlite3_errmsg(db))
                  : "corrupt database";
    sqlite3_close(db);
    return nullptr;
  }
  return db;
}

} // namespace

FileIdentity FileIdentity::of(const struct stat& st)
{
  FileIdentity id;
  id.dev = static_cast<std::uint64_t>(st.st_dev);
  id.ino = static_cast<std::uint64_t>(st.st_ino);
  id.size = static_cast<std::uint64_t>(st.st_size);
  id.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  id.ctime_ns = static_cast<std::int64_t>(st.st_ctim.tv_sec) * 1'000'000'000 + st.st_ctim.tv_nsec;
  return id;
}

std::string default_state_dir()
{
  if (::geteuid() == 0) {
    return "/var/lib/webseed-agent";
  }
  if (const char* xdg = std::getenv("XDG_STATE_HOME"); xdg != nullptr && xdg[0] == '/') {
    return std::string(xdg) + "/webseed-agent";
  }
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr ? home : ".") + "/.local/state/webseed-agent";
}

StateCache StateCache::disabled()
{
  return StateCache(nullptr);
}

StateCache StateCache::open(const std::string& state_dir, std::vector<std::string>& warnings)
{
  std::error_code ec;
  std::filesystem::create_directories(state_dir, ec);
  if (ec) {
    warnings.push_back("state dir " + state_dir + ": " + ec.message() +
                       "; running without the cache");
    return disabled();
  }
  ::chmod(state_dir.c_str(), 0700);
  const std::string path = state_dir + "/state.sqlite";
  std::string why;
  if (sqlite3* db = try_open(path, why)) {
    return StateCache(db);
  }
  // Move the bad database aside (kept for inspection) and start afresh.
  const std::string aside = path + ".broken";
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::filesystem::rename(path + suffix, aside + suffix, ec);
  }
  warnings.push_back(path + ": " + why + "; moved to " + aside +
                     " and rebuilt (everything is hashed again)");
  if (sqlite3* db = try_open(path, why)) {
    return StateCache(db);
  }
  warnings.push_back(path + ": " + why + "; running without the cache");
  return disabled();
}

StateCache::StateCache(StateCache&& other) noexcept : m_db(std::exchange(other.m_db, nullptr)) {}

StateCache& StateCache::operator=(StateCache&& other) noexcept
{
  if (this != &other) {
    sqlite3_close(m_db);
    m_db = std::exchange(other.m_db, nullptr);
  }
  return *this;
}

StateCache::~StateCache()
{
  sqlite3_close(m_db);
}

std::vector<bool> StateCache::fresh_files(const std::string& info_hash, const Identities& files,
                                          std::size_t file_count, std::int64_t now,
                                          std::int64_t max_age_s)
{
  std::vector<bool> fresh(file_count, false);
  if (!m_db || files.empty()) {
    return fresh;
  }
  SqlStatement q(m_db, "SELECT file_index, dev, ino, size, mtime_ns, ctime_ns, verified_at "
                       "FROM verified_file WHERE info_hash = ?1");
  if (!q) {
    return fresh;
  }
  sqlite3_bind_text(q.get(), 1, info_hash.c_str(), -1, SQLITE_TRANSIENT);
  std::vector<const FileIdentity*> current(file_count, nullptr);
  for (const auto& [index, id] : files) {
    if (index < file_count) {
      current[index] = &id;
    }
  }
  while (sqlite3_step(q.get()) == SQLITE_ROW) {
    const sqlite3_int64 index = sqlite3_column_int64(q.get(), 0);
    if (index < 0 || static_cast<std::uint64_t>(index) >= file_count ||
        current[static_cast<std::size_t>(index)] == nullptr) {
      continue;
    }
    FileIdentity id;
    id.dev = static_cast<std::uint64_t>(sqlite3_column_int64(q.get(), 1));
    id.ino = static_cast<std::uint64_t>(sqlite3_column_int64(q.get(), 2));
    id.size = static_cast<std::uint64_t>(sqlite3_column_int64(q.get(), 3));
    id.mtime_ns = sqlite3_column_int64(q.get(), 4);
    id.ctime_ns = sqlite3_column_int64(q.get(), 5);
    const std::int64_t at = sqlite3_column_int64(q.get(), 6);
    const auto i = static_cast<std::size_t>(index);
    fresh[i] = at <= now && now - at < max_age_s && *current[i] == id;
  }
  return fresh;
}

void StateCache::update(const std::string& info_hash, const Identities& verified,
                        const std::vector<bool>& keep, std::int64_t now)
{
  if (!m_db) {
    return;
  }
  sql_exec(m_db, "BEGIN IMMEDIATE");
  bool ok = true;
  {
    // Forget what is neither kept nor re-verified (re-verified rows are replaced below).
    SqlStatement rows(m_db, "SELECT file_index FROM verified_file WHERE info_hash = ?1");
    SqlStatement del(m_db, "DELETE FROM verified_file WHERE info_hash = ?1 AND file_index = ?2");
    ok = rows && del;
    std::vector<sqlite3_int64> drop;
    if (ok) {
      sqlite3_bind_text(rows.get(), 1, info_hash.c_str(), -1, SQLITE_TRANSIENT);
      while (sqlite3_step(rows.get()) == SQLITE_ROW) {
        const sqlite3_int64 index = sqlite3_column_int64(rows.get(), 0);
        const bool kept = index >= 0 && static_cast<std::uint64_t>(index) < keep.size() &&
                          keep[static_cast<std::size_t>(index)];
        if (!kept) {
          drop.push_back(index);
        }
      }
    }
    for (const sqlite3_int64 index : drop) {
      sqlite3_reset(del.get());
      sqlite3_bind_text(del.get(), 1, info_hash.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_int64(del.get(), 2, index);
      ok = ok && sqlite3_step(del.get()) == SQLITE_DONE;
    }
  }
  SqlStatement ins(m_db,
                   "INSERT OR REPLACE INTO verified_file VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
  ok = ok && static_cast<bool>(ins);
  for (const auto& [index, id] : verified) {
    if (!ok) {
      break;
    }
    sqlite3_reset(ins.get());
    sqlite3_bind_text(ins.get(), 1, info_hash.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(ins.get(), 2, static_cast<sqlite3_int64>(index));
    sqlite3_bind_int64(ins.get(), 3, static_cast<sqlite3_int64>(id.dev));
    sqlite3_bind_int64(ins.get(), 4, static_cast<sqlite3_int64>(id.ino));
    sqlite3_bind_int64(ins.get(), 5, static_cast<sqlite3_int64>(id.size));
    sqlite3_bind_int64(ins.get(), 6, id.mtime_ns);
    sqlite3_bind_int64(ins.get(), 7, id.ctime_ns);
    sqlite3_bind_int64(ins.get(), 8, now);
    ok = sqlite3_step(ins.get()) == SQLITE_DONE;
  }
  sql_exec(m_db, ok ? "COMMIT" : "ROLLBACK");
}

} // namespace agent
