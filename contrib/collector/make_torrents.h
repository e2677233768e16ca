// make_torrents.h: `webseed-collector make-torrents`: one torrent per release artefact and its
// companions (checksums, signatures, contents lists), hashed with the agent's engine
// (payload_verify.h: all cores, page cache dropped), written atomically and idempotently.
//
// Grouping: a file whose name matches one of `patterns` (fnmatch, on the name) is an
// artefact, unless it is itself a companion of another artefact; the companions of artefact A
// are the files of A's directory named "A.SUFFIX" with SUFFIX matching one of `companions`.
// The torrent's name is A without its release extension (from the last ".iso", ".img" or
// ".tar" on), or A itself for an artefact without companions (a single-file torrent) or when
// two groups would share a name. Files are listed in bytewise name order.
//
// Idempotent: when OUT/NAME.torrent exists, lists the same files with the same sizes in the
// same format, and the payload still matches its hashes (no file's ctime is newer than the
// torrent's mtime, or, when one is or with `rehash`, verified by the same engine), its
// `info` (and `piece layers`, `creation date`) are kept; the file is not rewritten at all when
// the other keys (url-list, trackers, created by) are also the same, so its bytes and
// info-hashes stay.
#pragma once

#include "release_scan.h"

#include <cstdint>
#include <expected>
#include <string>
#include <vector>

namespace collector {

enum class TorrentFormat { v1, v2, hybrid };

struct ArtefactRule {
  ScanRule scan; // where to look (releases/, experimental/; the symlinks tree skipped)
  std::vector<std::string> patterns = {"*.iso", "*.tar.bz2", "*.tar.xz", "*.img*"};
  std::vector<std::string> companions = {"DIGESTS*", "asc",    "sig",    "CONTENTS*",
                                         "sha256",   "sha512", "minisig"};
};

struct ReleaseGroup {
  std::string name;               // the torrent's name (and NAME.torrent)
  std::string dir;                // the artefact's directory below ROOT
  std::string artefact;           // the artefact's file name
  std::vector<ReleaseFile> files; // the artefact and its companions, by name
};

// The groups of `files` (scan_release_files' answer) by the rule, sorted by name. A name two
// groups would still share after falling back to the artefacts' file names is a problem
// (both left out).
std::vector<ReleaseGroup> group_release_files(const std::vector<ReleaseFile>& files,
                                              const ArtefactRule& rule,
                                              std::vector<std::string>& problems);

// The piece length for a payload, as libtorrent chooses it: the power of two nearest above
// total/2048 (about 2048 pieces), at least 16 KiB and at most 4 MiB (so about 8 GiB of payload
// have 2048 pieces; larger ones have more).
std::uint64_t piece_length_for(std::uint64_t total_size);

struct MakeOptions {
  TorrentFormat format = TorrentFormat::v1;
  std::vector<std::string> web_seeds; // url-list (BEP 19), in this order
  std::vector<std::string> trackers;  // announce (the first) and announce-list (one tier each)
  std::string created_by;             // "webseed-collector VERSION"
  std::int64_t creation_date = 0;     // for new torrents
  unsigned jobs = 0;                  // hashing threads; 0 = one per core
  std::uint64_t piece_length = 0;     // 0: piece_length_for(payload)
  bool rehash = false;                // verify existing torrents even when no file changed
  // Remove OUT's torrents of groups that no longer exist: files directly in OUT named
  // *.torrent, made by webseed-collector (`created by`), whose name is no group's. Nothing is
  // removed when the scan had a problem (a directory it could not read may hold their group).
  bool prune = false;
};

// The torrent's bytes for `group` whose payload is open in `fds` (one per group file).
// Error: one line (a file that could not be read whole).
std::expected<std::string, std::string>
make_torrent(const ReleaseGroup& group, const std::vector<int>& fds, const MakeOptions& options);

struct MakeOutcome {
  std::vector<std::string> written;   // OUT/NAME.torrent made or updated
  std::vector<std::string> unchanged; // kept byte for byte
  std::vector<std::string> problems;  // one line each (nothing written for them)
  std::vector<std::string> removed;   // with `prune`: OUT/NAME.torrent of groups gone
};

// Scans ROOT, groups, and writes OUT/NAME.torrent for every group (temp + fsync + rename).
// Throws std::runtime_error when ROOT cannot be read or OUT cannot be created.
MakeOutcome make_torrents(const std::string& root, const std::string& out_dir,
                          const ArtefactRule& rule, const MakeOptions& options);

} // namespace collector
