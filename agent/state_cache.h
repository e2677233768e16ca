// state_cache.h: the verification cache that makes `check` incremental (SQLite, in
// state_dir/state.sqlite).
//
// Per torrent (by info-hash) and payload file, it records the identity of each file that
// verified: device, inode, size, mtime and ctime in nanoseconds. A later run skips hashing a
// file only if it still has exactly that identity and its verification is younger than
// rescan_after; when every file of a torrent is so, the torrent is not read at all. ctime
// cannot be set from user space, so a file rewritten in place with its mtime put back is
// still noticed. Only successes are cached: a failure is always re-checked, and a broken
// cache costs time, never a wrong verdict.
//
// A *corrupt* database (integrity check fails, unknown schema) is moved aside to
// state.sqlite.broken-<UTC time>[.N] (never over an earlier copy) and rebuilt, with a warning.
// A database that *cannot be written now* (ENOSPC, EACCES, EROFS, locked) or that belongs to
// another user is never moved or changed: it is used read-only when it can be read (what is
// verified in this run is not remembered), else the cache is disabled for the run; either way
// one warning says why (with the errno text) and how to fix it.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

struct sqlite3;

namespace agent {

struct FileIdentity {
  std::uint64_t dev = 0;
  std::uint64_t ino = 0;
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  std::int64_t ctime_ns = 0;

  static FileIdentity of(const struct stat& st);
  bool operator==(const FileIdentity&) const = default;
};

class StateCache {
public:
  // Opens (creating state_dir with mode 0700 and the database as needed). Never throws for
  // a bad database: `warnings` receives what happened and the cache may come back disabled.
  static StateCache open(const std::string& state_dir, std::vector<std::string>& warnings);
  // A cache that remembers nothing (--full, or no usable state dir).
  static StateCache disabled();

  StateCache(StateCache&&) noexcept;
  StateCache& operator=(StateCache&&) noexcept;
  ~StateCache();

  bool enabled() const { return m_db != nullptr; }
  // Opened read-only (see above): update() records nothing.
  bool read_only() const { return m_read_only; }
  // The first failure of update() to record (e.g. the disk filled up during the run), one
  // line with the errno text; "" when every update succeeded.
  std::string write_problem() const;

  using Identities = std::vector<std::pair<std::size_t, FileIdentity>>;

  // One flag per file of a torrent with `file_count` files: true for each of `files`
  // (index -> current identity) that verified for torrent `info_hash` with exactly this
  // identity less than `max_age_s` seconds before `now`.
  std::vector<bool> fresh_files(const std::string& info_hash, const Identities& files,
                                std::size_t file_count, std::int64_t now, std::int64_t max_age_s);

  // After a verification: records `verified` (files hashed now and found good) and forgets
  // every other file of the torrent except those flagged in `keep` (still fresh).
  void update(const std::string& info_hash, const Identities& verified,
              const std::vector<bool>& keep, std::int64_t now);

private:
  StateCache(sqlite3* db, bool read_only) : m_db(db), m_read_only(read_only) {}
  sqlite3* m_db = nullptr;
  bool m_read_only = false;
  std::string m_write_error;
};

// The default state dir: /var/lib/webseed-agent for root, else $XDG_STATE_HOME/webseed-agent
// (default ~/.local/state/webseed-agent).
std::string default_state_dir();

} // namespace agent
