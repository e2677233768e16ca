// store.h: the collector's SQLite database (WAL, synchronous=FULL: a report is acknowledged
// only once its transaction is on disk, so kill -9 or a crash loses no acknowledged report).
// Writes go through one connection, serialised by a mutex: every call is one short
// transaction. Reads go through a second, read-only connection with a mutex of its own: in
// WAL mode a read sees every write committed before it began and never waits for a write
// (nor a write for it).
//
// Tables: mirrors (name, base URL, SHA-256 of the token, disabled, last report, opted in),
// reports (every report, by report_id: a resent report is stored once), claims (per mirror
// and torrent, the latest judged report's verdict), spot_checks (the collector's own checks).
#pragma once

#include <atomic>
#include <cstdint>
#include <expected>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

struct sqlite3;

namespace collector {

struct MirrorRow {
  std::string name;
  std::string base_url;
  bool disabled = false;
  std::int64_t created_at = 0;
  std::optional<std::int64_t> last_report_at; // any report
  std::optional<std::int64_t> judged_at;      // the last report that judged the tree
  std::string last_report_id;
  bool opted_in = true;
  std::string sync_state; // of the last status report
};

struct TorrentClaim {
  std::string info_hash_v1; // "" when v2-only
  std::string info_hash_v2; // "" when v1-only
  std::string name;
  bool ready = false;
  std::string codes_json = "[]"; // the report's codes
  std::string reason;            // the first problem, for the dashboard
  // The report's per-client usability ({"libtorrent": true, ...}); "" when it has none.
  std::string clients_json;
};

struct Claim : TorrentClaim {
  std::string mirror;
  std::string report_id;
};

// What ingestion keeps of a valid report (report_check.h makes it).
struct IngestedReport {
  std::string report_id;
  std::string kind; // status | withdraw
  bool opted_in = true;
  bool judged = false;
  std::string sync_state;
  std::string body; // as received
  std::vector<TorrentClaim> torrents;
};

struct SpotCheck {
  std::string mirror;
  std::string info_hash; // the catalog key (v1 hex, else v2 hex)
  bool ok = false;
  std::string reason; // why not ok; what was checked when ok
  std::int64_t checked_at = 0;
  std::int64_t bytes_per_second = 0; // passed: the pieces' bytes over the time fetching them
};

class Store {
public:
  // Opens or creates the database. Error: "PATH: why".
  static std::expected<std::unique_ptr<Store>, std::string> open(const std::string& path);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Error: "mirror NAME already exists" or an SQLite message.
  std::expected<void, std::string> add_mirror(const std::string& name, const std::string& base_url,
                                              const std::string& token_hash, std::int64_t now);
  bool set_token(const std::string& name, const std::string& token_hash); // false: no such mirror
  bool set_disabled(const std::string& name, bool disabled);
  std::vector<MirrorRow> mirrors();
  std::optional<MirrorRow> mirror(const std::string& name);
  std::optional<MirrorRow> mirror_by_token(const std::string& token_hash);

  enum class Ingest { stored, duplicate };
  // One transaction: the report (unless its report_id is known: duplicate, nothing changes),
  // the mirror's last report, and for a judged report its claims (replaced); a withdraw or
  // opted_in false report removes the mirror from every list (its claims are dropped).
  std::expected<Ingest, std::string> ingest(const std::string& mirror, const IngestedReport& report,
                                            std::int64_t now);

  bool has_report(const std::string& report_id); // stored (not pruned) already
  std::vector<Claim> claims();
  std::vector<Claim> claims_of(const std::string& mirror); // one mirror's (its index)
  void record_spot_check(const SpotCheck& check);
  std::vector<SpotCheck> spot_checks();
  std::vector<SpotCheck> spot_checks_of(const std::string& mirror);
  // Rows in the reports table (counted once, then kept by ingest: no scan per call).
  std::int64_t report_count();
  // From now on, each ingest also deletes up to 64 of that mirror's reports received more
  // than `seconds` ago (never the one being stored: the latest is always kept). 0: keep all.
  void set_report_retention(std::int64_t seconds);

  // Changes when anything was written: by this Store (counted when the write is done) or by
  // another connection (SQLite's data_version: the `mirror` commands). A reader that sees a
  // new version and then reads sees the write.
  using Version = std::pair<std::uint64_t, std::int64_t>;
  Version version();

  // The mirrors this Store wrote about since the last call (ingest, spot check, add, disable,
  // enable, token), and clears the set; taken under a lock of its own (never waits for a
  // transaction). A write is in the set once it is done.
  std::set<std::string> take_changed_mirrors();
  // SQLite's data_version (writes by other connections: the `mirror` commands); nullopt when
  // the database is busy with a write of this Store and `wait` is false.
  std::optional<std::int64_t> others_version(bool wait);

private:
  Store(sqlite3* db, sqlite3* read_db) : m_db(db), m_read_db(read_db) {}
  struct WriteCount {
    Store& store;
    std::string mirror;
    ~WriteCount() { store.written(mirror); }
  };
  void written(const std::string& mirror);
  sqlite3* m_db;
  std::mutex m_mutex;
  sqlite3* m_read_db;
  std::mutex m_read_mutex;
  std::atomic<std::uint64_t> m_writes{0};
  std::int64_t m_report_rows = -1; // -1: not counted yet
  std::int64_t m_retention_s = 0;
  std::mutex m_changed_mutex;
  std::set<std::string> m_changed; // mirrors written about since take_changed_mirrors()
};

} // namespace collector
