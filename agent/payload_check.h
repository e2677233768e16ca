// payload_check.h: one torrent's payload judged on disk: every file located (through the
// caller's locator, which resolves safely inside a root), its size compared, its bytes
// verified against the torrent's hashes. Shared by `verify` (a download directory) and
// `check` (the mirror's torrent-symlinks tree).
#pragma once

#include "findings.h"
#include "payload_verify.h"
#include "safe_resolve.h"
#include "state_cache.h"
#include "torrent.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace agent {

// Where one torrent file is: the resolved file, or findings saying why not (missing-file,
// link findings...). Findings may accompany a file (e.g. a not-symlink warning).
struct LocatedFile {
  std::optional<ResolvedFile> file;
  std::vector<Finding> findings;
};

using Locator = std::function<LocatedFile(const TorrentFile&)>;
// The path shown in findings for a torrent file.
using DisplayPath = std::function<std::string(const TorrentFile&)>;

// Identities of the payload files that were located and opened, by torrent file index.
using Identities = StateCache::Identities;

// Consulted once every file is located, sized and opened: one flag per torrent file, true for
// a file unchanged since it was verified, so it need not be hashed again.
using FreshCheck = std::function<std::vector<bool>(const Identities&)>;

struct PayloadReport {
  std::vector<Finding> findings; // sorted: errors first
  std::uint64_t bytes_verified = 0;
  bool cached = false;          // nothing hashed: every file unchanged since it was verified
  std::size_t files_cached = 0; // files not hashed because they were unchanged
  std::vector<bool> fresh;      // per torrent file: unchanged since verified (not hashed)
  Identities verified;          // files hashed in this run and found good (to record)
  bool skipped = false;         // hashing was needed but not allowed (check_payload's may_hash)
  bool ready() const { return !has_error(findings); }
};

// Locates every non-empty, non-pad, non-symlink file of `torrent`; size-mismatch when the
// size differs; opens the rest (Resolver::open_file, never blocking) and verifies them;
// hash-mismatch per file with the failed pieces and the byte ranges they cover. Without
// `may_hash` nothing is hashed: a torrent the cache does not cover comes back `skipped`.
PayloadReport check_payload(const Resolver& resolver, const Torrent& torrent, const Locator& locate,
                            const DisplayPath& display, const VerifyOptions& options,
                            const FreshCheck& fresh = {}, bool may_hash = true);

// "3, 7-9, 12" for sorted piece indices.
std::string piece_list(const std::vector<std::uint64_t>& pieces);

} // namespace agent
