#include "state_cache.h"

#include "util/sqlite.h"

#include <pwd.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
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

// Why a database could not be used: its content is bad (move it aside), or it cannot be
// written (or read) now (leave it where it is).
enum class OpenFailure { corrupt, unusable };

struct Opened {
  sqlite3* db = nullptr;
  OpenFailure failure = OpenFailure::unusable;
  std::string why; // SQLite's message, with the errno text when there is one
  int err = 0;     // the errno behind an unusable database, 0 when none
};

enum class Access { read_write, read_only, immutable };

bool is_corruption(int rc)
{
  const int primary = rc & 0xff;
  return primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB;
}

Opened fail(sqlite3* db, int rc, OpenFailure failure)
{
  Opened o;
  o.failure = failure;
  o.err = db ? sqlite3_system_errno(db) : 0;
  o.why = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  if (o.err != 0 && failure == OpenFailure::unusable) {
    o.why += std::string(" (") + std::strerror(o.err) + ")";
  }
  // close_v2: callers fail from inside a statement's scope; plain close would return
  // SQLITE_BUSY and leak the handle (found by LeakSanitizer); close_v2 frees it once the
  // statement is finalized.
  sqlite3_close_v2(db);
  return o;
}

// Opens and checks the database; `db` null (and why) when it is not usable.
Opened try_open(const std::string& path, Access access)
{
  sqlite3* db = nullptr;
  const std::string name = access == Access::immutable ? "file:" + path + "?immutable=1" : path;
  const int flags = access == Access::read_write
                        ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOFOLLOW
                        : SQLITE_OPEN_READONLY | SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_URI;
  if (const int rc = sqlite3_open_v2(name.c_str(), &db, flags, nullptr); rc != SQLITE_OK) {
    return fail(db, rc, is_corruption(rc) ? OpenFailure::corrupt : OpenFailure::unusable);
  }
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, 2000);
  int version = -1;
  {
    SqlStatement q(db, "PRAGMA user_version");
    const int rc = q ? sqlite3_step(q.get()) : sqlite3_errcode(db);
    if (rc != SQLITE_ROW) {
      return fail(db, rc, is_corruption(rc) ? OpenFailure::corrupt : OpenFailure::unusable);
    }
    version = sqlite3_column_int(q.get(), 0);
  }
  {
    SqlStatement check(db, "PRAGMA quick_check");
    const int rc = check ? sqlite3_step(check.get()) : sqlite3_errcode(db);
    if (rc != SQLITE_ROW) {
      return fail(db, rc, is_corruption(rc) ? OpenFailure::corrupt : OpenFailure::unusable);
    }
    if (std::strcmp(reinterpret_cast<const char*>(sqlite3_column_text(check.get(), 0)), "ok") !=
        0) {
      Opened o = fail(db, SQLITE_CORRUPT, OpenFailure::corrupt);
      o.why = "corrupt database (integrity check failed)";
      return o;
    }
  } // finalized: an open statement would keep a read transaction open
  if (version != 0 && version != k_schema_version) {
    Opened o = fail(db, SQLITE_OK, OpenFailure::corrupt);
    o.why = "unknown schema version " + std::to_string(version);
    return o;
  }
  if (access != Access::read_write) {
    if (version == 0) { // an empty file: nothing to read
      Opened o = fail(db, SQLITE_OK, OpenFailure::unusable);
      o.why = "empty database";
      return o;
    }
    return Opened{db, OpenFailure::unusable, "", 0};
  }
  for (const char* sql : {"PRAGMA journal_mode=WAL", k_schema}) {
    if (!sql_exec(db, sql)) {
      const int rc = sqlite3_extended_errcode(db);
      return fail(db, rc, is_corruption(rc) ? OpenFailure::corrupt : OpenFailure::unusable);
    }
  }
  return Opened{db, OpenFailure::unusable, "", 0};
}

// The database opened for reading only, creating nothing beside it: without a -wal file
// the database file holds everything and is read as immutable (no -shm is made); with one,
// read-only (SQLite then needs the -shm), immutable as the last resort.
sqlite3* open_read_only(const std::string& path)
{
  struct stat st {};
  const bool wal = ::lstat((path + "-wal").c_str(), &st) == 0;
  const std::vector<Access> order =
      wal ? std::vector{Access::read_only, Access::immutable} : std::vector{Access::immutable};
  for (const Access access : order) {
    if (Opened o = try_open(path, access); o.db) {
      return o.db;
    }
  }
  return nullptr;
}

std::string user_name(uid_t uid)
{
  if (const struct passwd* pw = ::getpwuid(uid)) {
    return pw->pw_name;
  }
  return "uid " + std::to_string(uid);
}

// How to make the state directory usable again, for an errno.
std::string fix_for(int err, const std::string& state_dir)
{
  switch (err) {
  case ENOSPC:
  case EDQUOT: return "free space on the file system of " + state_dir;
  case EROFS: return "the file system is read-only: set state_dir to a writable directory";
  case EACCES:
  case EPERM:
    return "`install -d -o " + user_name(::geteuid()) + " " + state_dir + "` (and chown " +
           "the files in it), or set state_dir";
  default: return "check " + state_dir + " (space, permissions), or set state_dir";
  }
}

// A name beside `path` that nothing has yet: PATH.broken-<UTC time>[.N].
std::string free_aside_name(const std::string& path)
{
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
  const std::string base = path + ".broken-" + stamp;
  struct stat st {};
  for (int n = 0; n < 1000; ++n) {
    const std::string name = n == 0 ? base : base + "." + std::to_string(n);
    if (::lstat(name.c_str(), &st) != 0 && errno == ENOENT) {
      return name;
    }
  }
  return {};
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
  return StateCache(nullptr, false);
}

StateCache StateCache::open(const std::string& state_dir, std::vector<std::string>& warnings)
{
  std::error_code ec;
  std::filesystem::create_directories(state_dir, ec);
  if (ec) {
    warnings.push_back(
        "state dir " + state_dir + ": " + ec.message() +
        "; running without the cache (everything is hashed): " + fix_for(ec.value(), state_dir));
    return disabled();
  }
  const std::string path = state_dir + "/state.sqlite";
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0 && st.st_uid != ::geteuid()) {
    // Another user's cache (an admin ran `check` as root once): read it if we may, never
    // move or change it.
    const std::string owner = user_name(st.st_uid);
    const std::string fix = "run the agent as " + owner + ", or `chown -R " +
                            user_name(::geteuid()) + " " + state_dir + "`, or set state_dir";
    if (sqlite3* db = open_read_only(path)) {
      warnings.push_back(path + ": owned by " + owner +
                         ", not this user: the cache is used read-only (what is verified now "
                         "is not remembered): " +
                         fix);
      return StateCache(db, true);
    }
    warnings.push_back(path + ": owned by " + owner +
                       " and not readable by this user; running without the cache "
                       "(everything is hashed): " +
                       fix);
    return disabled();
  }
  if (struct stat dir{}; ::stat(state_dir.c_str(), &dir) == 0 && dir.st_uid == ::geteuid()) {
    ::chmod(state_dir.c_str(), 0700); // ours: keep it private
  }
  Opened opened = try_open(path, Access::read_write);
  if (opened.db) {
    return StateCache(opened.db, false);
  }
  if (opened.failure == OpenFailure::corrupt) {
    // Move the bad database aside (kept for inspection, never over an earlier one) and
    // start afresh.
    const std::string aside = free_aside_name(path);
    if (aside.empty() || ::rename(path.c_str(), aside.c_str()) != 0) {
      warnings.push_back(path + ": " + opened.why + "; cannot move it aside (" +
                         (aside.empty() ? std::string("too many earlier copies")
                                        : std::string(std::strerror(errno))) +
                         "); running without the cache (everything is hashed): remove it");
      return disabled();
    }
    for (const char* suffix : {"-wal", "-shm"}) {
      ::rename((path + suffix).c_str(), (aside + suffix).c_str());
    }
    warnings.push_back(path + ": " + opened.why + "; moved to " + aside +
                       " and rebuilt (everything is hashed again)");
    opened = try_open(path, Access::read_write);
    if (opened.db) {
      return StateCache(opened.db, false);
    }
  }
  // Cannot be written now (full, read-only, not ours, locked): never moved; read if possible.
  const std::string fix = fix_for(opened.err, state_dir);
  if (sqlite3* db = open_read_only(path)) {
    warnings.push_back(path + ": cannot write: " + opened.why +
                       "; the cache is used read-only this run (what is verified now is not "
                       "remembered): " +
                       fix);
    return StateCache(db, true);
  }
  warnings.push_back(path + ": " + opened.why +
                     "; running without the cache (everything is hashed): " + fix);
  return disabled();
}

std::string StateCache::write_problem() const
{
  return m_write_error;
}

StateCache::StateCache(StateCache&& other) noexcept
    : m_db(std::exchange(other.m_db, nullptr)), m_read_only(other.m_read_only),
      m_write_error(std::move(other.m_write_error))
{
}

StateCache& StateCache::operator=(StateCache&& other) noexcept
{
  if (this != &other) {
    sqlite3_close(m_db);
    m_db = std::exchange(other.m_db, nullptr);
    m_read_only = other.m_read_only;
    m_write_error = std::move(other.m_write_error);
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
  if (!m_db || m_read_only) {
    return;
  }
  bool ok = sql_exec(m_db, "BEGIN IMMEDIATE");
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
  if (ok && sql_exec(m_db, "COMMIT")) {
    return;
  }
  if (m_write_error.empty()) {
    const int err = sqlite3_system_errno(m_db);
    m_write_error = std::string(sqlite3_errmsg(m_db)) +
                    (err != 0 ? std::string(" (") + std::strerror(err) + ")" : std::string());
  }
  sql_exec(m_db, "ROLLBACK");
}

} // namespace agent
