#include "store.h"

#include "util/sqlite.h"

#include <sqlite3.h>

#include <stdexcept>
#include <utility>

namespace collector {

namespace {

constexpr const char* k_schema = R"SQL(
CREATE TABLE IF NOT EXISTS mirrors(
  name TEXT PRIMARY KEY,
  base_url TEXT NOT NULL,
  token_hash TEXT NOT NULL UNIQUE,
  disabled INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  last_report_at INTEGER,
  judged_at INTEGER,
  last_report_id TEXT NOT NULL DEFAULT '',
  opted_in INTEGER NOT NULL DEFAULT 1,
  sync_state TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS reports(
  report_id TEXT PRIMARY KEY,
  mirror TEXT NOT NULL,
  kind TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS reports_mirror_time ON reports(mirror, received_at);
CREATE TABLE IF NOT EXISTS claims(
  mirror TEXT NOT NULL,
  info_hash_v1 TEXT NOT NULL,
  info_hash_v2 TEXT NOT NULL,
  name TEXT NOT NULL,
  ready INTEGER NOT NULL,
  codes TEXT NOT NULL,
  reason TEXT NOT NULL,
  report_id TEXT NOT NULL,
  clients TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS claims_mirror ON claims(mirror);
CREATE TABLE IF NOT EXISTS spot_checks(
  mirror TEXT NOT NULL,
  info_hash TEXT NOT NULL,
  ok INTEGER NOT NULL,
  reason TEXT NOT NULL,
  checked_at INTEGER NOT NULL,
  bytes_per_second INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY(mirror, info_hash));
)SQL";

// A prepared statement; a statement that does not prepare is a bug or a broken database:
// std::runtime_error (ingest answers 503, the rest 500).
class Stmt : public util::SqlStatement {
public:
  Stmt(sqlite3* db, const char* sql) : util::SqlStatement(db, sql)
  {
    if (!*this) {
      throw std::runtime_error(std::string("sqlite: ") + sqlite3_errmsg(db));
    }
  }
};

using util::sql_exec;

constexpr const char* k_mirror_columns =
    "name, base_url, disabled, created_at, last_report_at, judged_at, last_report_id, opted_in, "
    "sync_state";

MirrorRow mirror_row(const Stmt& s)
{
  MirrorRow m;
  m.name = s.text(0);
  m.base_url = s.text(1);
  m.disabled = s.integer(2) != 0;
  m.created_at = s.integer(3);
  m.last_report_at = s.optional_integer(4);
  m.judged_at = s.optional_integer(5);
  m.last_report_id = s.text(6);
  m.opted_in = s.integer(7) != 0;
  m.sync_state = s.text(8);
  return m;
}

// Rolls back unless committed.
class Transaction {
public:
  explicit Transaction(sqlite3* db) : m_db(db)
  {
    if (!sql_exec(db, "BEGIN IMMEDIATE")) {
      throw std::runtime_error(std::string("sqlite: ") + sqlite3_errmsg(db));
    }
  }
  ~Transaction()
  {
    if (!m_done) {
      sql_exec(m_db, "ROLLBACK");
    }
  }
  void commit()
  {
    std::string error;
    if (!sql_exec(m_db, "COMMIT", &error)) {
      throw std::runtime_error("sqlite: commit: " + error);
    }
    m_done = true;
  }

private:
  sqlite3* m_db;
  bool m_done = false;
};

} // namespace

namespace {

bool has_column(sqlite3* db, const char* table, std::string_view column)
{
  const std::string sql = std::string("SELECT name FROM pragma_table_info('") + table + "')";
  Stmt s(db, sql.c_str());
  while (s.step() == SQLITE_ROW) {
    if (s.text(0) == column) {
      return true;
    }
  }
  return false;
}

} // namespace

std::expected<std::unique_ptr<Store>, std::string> Store::open(const std::string& path)
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
  if (!sql_exec(db, "PRAGMA journal_mode=WAL", &error) ||
      !sql_exec(db, "PRAGMA synchronous=FULL", &error) || !sql_exec(db, k_schema, &error)) {
    sqlite3_close(db);
    return std::unexpected(path + ": " + error);
  }
  // Columns added later: a database made by an older collector gains them.
  if (!has_column(db, "claims", "clients") &&
      !sql_exec(db, "ALTER TABLE claims ADD COLUMN clients TEXT NOT NULL DEFAULT ''", &error)) {
    sqlite3_close(db);
    return std::unexpected(path + ": " + error);
  }
  if (!has_column(db, "spot_checks", "bytes_per_second") &&
      !sql_exec(db, "ALTER TABLE spot_checks ADD COLUMN bytes_per_second INTEGER NOT NULL DEFAULT 0",
                &error)) {
    sqlite3_close(db);
    return std::unexpected(path + ": " + error);
  }
  // The readers' connection: in WAL mode it reads the last committed state while a write
  // (and its fsync) is under way, so reads never wait for a report being stored.
  sqlite3* read_db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &read_db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    error = path + ": " + (read_db ? sqlite3_errmsg(read_db) : "cannot open");
    sqlite3_close(read_db);
    sqlite3_close(db);
    return std::unexpected(error);
  }
  sqlite3_busy_timeout(read_db, 10'000);
  // Its files opened now, while descriptors are free: SQLite opens them at the first read,
  // which could come when every descriptor is taken by clients (EMFILE).
  if (!sql_exec(read_db, "SELECT count(*) FROM mirrors", &error)) {
    sqlite3_close(read_db);
    sqlite3_close(db);
    return std::unexpected(path + ": " + error);
  }
  return std::unique_ptr<Store>(new Store(db, read_db));
}

Store::~Store()
{
  sqlite3_close(m_read_db);
  sqlite3_close(m_db);
}

std::expected<void, std::string> Store::add_mirror(const std::string& name,
                                                   const std::string& base_url,
                                                   const std::string& token_hash, std::int64_t now)
{
  std::lock_guard lock(m_mutex);
  const WriteCount counted{*this, name}; // after the write, before the unlock
  Stmt s(m_db, "INSERT INTO mirrors(name, base_url, token_hash, created_at) VALUES(?,?,?,?)");
  s.bind(1, name).bind(2, base_url).bind(3, token_hash).bind(4, now);
  const int rc = s.step();
  if (rc == SQLITE_CONSTRAINT) {
    return std::unexpected("mirror " + name + " already exists");
  }
  if (rc != SQLITE_DONE) {
    return std::unexpected(std::string("sqlite: ") + sqlite3_errmsg(m_db));
  }
  return {};
}

bool Store::set_token(const std::string& name, const std::string& token_hash)
{
  std::lock_guard lock(m_mutex);
  const WriteCount counted{*this, name}; // after the write, before the unlock
  Stmt s(m_db, "UPDATE mirrors SET token_hash = ? WHERE name = ?");
  s.bind(1, token_hash).bind(2, name);
  return s.step() == SQLITE_DONE && sqlite3_changes(m_db) == 1;
}

bool Store::set_disabled(const std::string& name, bool disabled)
{
  std::lock_guard lock(m_mutex);
  const WriteCount counted{*this, name}; // after the write, before the unlock
  Stmt s(m_db, "UPDATE mirrors SET disabled = ? WHERE name = ?");
  s.bind(1, std::int64_t{disabled ? 1 : 0}).bind(2, name);
  return s.step() == SQLITE_DONE && sqlite3_changes(m_db) == 1;
}

std::vector<MirrorRow> Store::mirrors()
{
  std::lock_guard lock(m_read_mutex);
  Stmt s(m_read_db, (std::string("SELECT ") + k_mirror_columns + " FROM mirrors ORDER BY name").c_str());
  std::vector<MirrorRow> out;
  while (s.step() == SQLITE_ROW) {
    out.push_back(mirror_row(s));
  }
  return out;
}

std::optional<MirrorRow> Store::mirror(const std::string& name)
{
  std::lock_guard lock(m_read_mutex);
  Stmt s(m_read_db,
         (std::string("SELECT ") + k_mirror_columns + " FROM mirrors WHERE name = ?").c_str());
  s.bind(1, name);
  if (s.step() == SQLITE_ROW) {
    return mirror_row(s);
  }
  return std::nullopt;
}

std::optional<MirrorRow> Store::mirror_by_token(const std::string& token_hash)
{
  std::lock_guard lock(m_read_mutex);
  Stmt s(
      m_read_db,
      (std::string("SELECT ") + k_mirror_columns + " FROM mirrors WHERE token_hash = ?").c_str());
  s.bind(1, token_hash);
  if (s.step() == SQLITE_ROW) {
    return mirror_row(s);
  }
  return std::nullopt;
}

std::expected<Store::Ingest, std::string>
Store::ingest(const std::string& mirror, const IngestedReport& report, std::int64_t now)
{
  std::lock_guard lock(m_mutex);
  const WriteCount counted{*this, mirror}; // after the write, before the unlock
  try {
    Transaction tx(m_db);
    {
      Stmt s(m_db, "INSERT OR IGNORE INTO reports(report_id, mirror, kind, received_at, body) "
                   "VALUES(?,?,?,?,?)");
      s.bind(1, report.report_id)
          .bind(2, mirror)
          .bind(3, report.kind)
          .bind(4, now)
          .bind(5, report.body);
      if (s.step() != SQLITE_DONE) {
        return std::unexpected(std::string("sqlite: ") + sqlite3_errmsg(m_db));
      }
      if (sqlite3_changes(m_db) == 0) {
        return Ingest::duplicate; // rolled back: nothing changes
      }
    }
    std::int64_t pruned = 0;
    if (m_retention_s > 0) { // this mirror's reports older than the retention, a batch at a time
      Stmt s(m_db, "DELETE FROM reports WHERE rowid IN (SELECT rowid FROM reports WHERE "
                   "mirror = ? AND received_at < ? AND report_id != ? LIMIT 64)");
      s.bind(1, mirror).bind(2, now - m_retention_s).bind(3, report.report_id);
      if (s.step() != SQLITE_DONE) {
        return std::unexpected(std::string("sqlite: ") + sqlite3_errmsg(m_db));
      }
      pruned = sqlite3_changes(m_db);
    }
    const bool listed = report.kind == "status" && report.opted_in;
    {
      Stmt s(m_db, "UPDATE mirrors SET last_report_at = ?, last_report_id = ?, opted_in = ?, "
                   "sync_state = ?, judged_at = CASE WHEN ? THEN ? ELSE judged_at END "
                   "WHERE name = ?");
      s.bind(1, now)
          .bind(2, report.report_id)
          .bind(3, std::int64_t{listed ? 1 : 0})
          .bind(4, report.sync_state)
          .bind(5, std::int64_t{report.judged ? 1 : 0})
          .bind(6, now)
          .bind(7, mirror);
      if (s.step() != SQLITE_DONE) {
        return std::unexpected(std::string("sqlite: ") + sqlite3_errmsg(m_db));
      }
    }
    if (report.judged || !listed) {
      Stmt del(m_db, "DELETE FROM claims WHERE mirror = ?");
      del.bind(1, mirror);
      if (del.step() != SQLITE_DONE) {
        return std::unexpected(std::string("sqlite: ") + sqlite3_errmsg(m_db));
      }
    }
    if (report.judged && listed) {
      for (const TorrentClaim& t : report.torrents) {
        Stmt s(m_db, "INSERT INTO claims(mirror, info_hash_v1, info_hash_v2, name, ready, codes, "
                     "reason, report_id, clients) VALUES(?,?,?,?,?,?,?,?,?)");
        s.bind(1, mirror)
            .bind(2, t.info_hash_v1)
            .bind(3, t.info_hash_v2)
            .bind(4, t.name)
            .bind(5, std::int64_t{t.ready ? 1 : 0})
            .bind(6, t.codes_json)
            .bind(7, t.reason)
            .bind(8, report.report_id)
            .bind(9, t.clients_json);
        if (s.step() != SQLITE_DONE) {
          return std::unexpected(std::string("sqlite: ") + sqlite3_errmsg(m_db));
        }
      }
    }
    tx.commit();
    if (m_report_rows >= 0) {
      m_report_rows += 1 - pruned;
    }
    return Ingest::stored;
  } catch (const std::runtime_error& e) {
    return std::unexpected(std::string(e.what()));
  }
}

bool Store::has_report(const std::string& report_id)
{
  std::lock_guard lock(m_read_mutex);
  Stmt s(m_read_db, "SELECT 1 FROM reports WHERE report_id = ?");
  s.bind(1, report_id);
  return s.step() == SQLITE_ROW;
}

namespace {

std::vector<Claim> read_claims(Stmt& s)
{
  std::vector<Claim> out;
  while (s.step() == SQLITE_ROW) {
    Claim c;
    c.mirror = s.text(0);
    c.info_hash_v1 = s.text(1);
    c.info_hash_v2 = s.text(2);
    c.name = s.text(3);
    c.ready = s.integer(4) != 0;
    c.codes_json = s.text(5);
    c.reason = s.text(6);
    c.report_id = s.text(7);
    c.clients_json = s.text(8);
    out.push_back(std::move(c));
  }
  return out;
}

constexpr const char* k_claim_columns =
    "mirror, info_hash_v1, info_hash_v2, name, ready, codes, reason, report_id, clients";

} // namespace

std::vector<Claim> Store::claims()
{
  std::lock_guard lock(m_read_mutex);
  Stmt s(m_read_db,
         (std::string("SELECT ") + k_claim_columns + " FROM claims ORDER BY mirror, name").c_str());
  return read_claims(s);
}

std::vector<Claim> Store::claims_of(const std::string& mirror)
{
  std::lock_guard lock(m_read_mutex);
  Stmt s(m_read_db,
         (std::string("SELECT ") + k_claim_columns + " FROM claims WHERE mirror = ? ORDER BY name")
             .c_str());
  s.bind(1, mirror);
  return read_claims(s);
}

void Store::record_spot_check(const SpotCheck& check)
{
  std::lock_guard lock(m_mutex);
  const WriteCount counted{*this, check.mirror}; // after the write, before the unlock
  Stmt s(m_db, "INSERT OR REPLACE INTO spot_checks(mirror, info_hash, ok, reason, checked_at, "
               "bytes_per_second) VALUES(?,?,?,?,?,?)");
  s.bind(1, check.mirror)
      .bind(2, check.info_hash)
      .bind(3, std::int64_t{check.ok ? 1 : 0})
      .bind(4, check.reason)
      .bind(5, check.checked_at)
      .bind(6, check.bytes_per_second);
  s.step();
}

std::vector<SpotCheck> Store::spot_checks()
{
  std::lock_guard lock(m_read_mutex);
  Stmt s(m_read_db, "SELECT mirror, info_hash, ok, reason, checked_at, bytes_per_second FROM spot_checks");
  std::vector<SpotCheck> out;
  while (s.step() == SQLITE_ROW) {
    out.push_back({s.text(0), s.text(1), s.integer(2) != 0, s.text(3), s.integer(4), s.integer(5)});
  }
  return out;
}

std::vector<SpotCheck> Store::spot_checks_of(const std::string& mirror)
{
  std::lock_guard lock(m_read_mutex);
  Stmt s(m_read_db,
         "SELECT mirror, info_hash, ok, reason, checked_at, bytes_per_second FROM spot_checks WHERE mirror = ?");
  s.bind(1, mirror);
  std::vector<SpotCheck> out;
  while (s.step() == SQLITE_ROW) {
    out.push_back({s.text(0), s.text(1), s.integer(2) != 0, s.text(3), s.integer(4), s.integer(5)});
  }
  return out;
}

std::int64_t Store::report_count()
{
  std::lock_guard lock(m_mutex);
  if (m_report_rows < 0) { // counted once; ingest keeps it up to date
    Stmt s(m_db, "SELECT count(*) FROM reports");
    m_report_rows = s.step() == SQLITE_ROW ? s.integer(0) : 0;
  }
  return m_report_rows;
}

void Store::set_report_retention(std::int64_t seconds)
{
  std::lock_guard lock(m_mutex);
  m_retention_s = seconds;
}

Store::Version Store::version()
{
  std::lock_guard lock(m_mutex);
  Stmt s(m_db, "PRAGMA data_version");
  const std::int64_t others = s.step() == SQLITE_ROW ? s.integer(0) : -1;
  return {m_writes.load(), others};
}

void Store::written(const std::string& mirror)
{
  {
    std::lock_guard lock(m_changed_mutex);
    m_changed.insert(mirror);
  }
  ++m_writes;
}

std::set<std::string> Store::take_changed_mirrors()
{
  std::lock_guard lock(m_changed_mutex);
  return std::exchange(m_changed, {});
}

std::optional<std::int64_t> Store::others_version(bool wait)
{
  std::unique_lock lock(m_mutex, std::defer_lock);
  if (wait) {
    lock.lock();
  } else if (!lock.try_lock()) {
    return std::nullopt;
  }
  Stmt s(m_db, "PRAGMA data_version");
  return s.step() == SQLITE_ROW ? s.integer(0) : -1;
}

} // namespace collector
