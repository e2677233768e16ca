// check_run.h: one whole check of the mirror, as data: for every torrent, the payload judged
// on disk (links, sizes, hashes through the verification cache) and, with a base URL, the
// web-seed probe. `check`/`probe` print it; `run` turns it into status.json and a report.
#pragma once

#include "payload_check.h"
#include "probe_run.h"
#include "settings.h"
#include "torrent.h"
#include "util/json_text.h"

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace agent {

struct CheckOptions {
  std::vector<std::string> torrents; // overrides the config's `torrents` when not empty
  unsigned jobs = 0;                 // 0 = the config's verify.jobs (0 = one per core)
  bool json = false;
  bool nagios = false;        // --format nagios (nagios_output.h)
  bool full = false;          // ignore the verification cache (still record the results)
  std::string state_dir;      // overrides state_dir; "" = config, else the default
  bool low_priority = false;  // lower CPU and I/O priority first (config verify.nice/io_class)
  std::string base_url;       // overrides mirror.base_url: the web-seed probe's base
  bool no_probe = false;      // skip the web-seed probe even with a base URL
  bool require_probe = false; // `probe`: a base URL is required
  // Past this point no more hashing starts: torrents the cache does not cover get
  // verify-skipped (`run`, bounded by run.timeout).
  std::optional<std::chrono::steady_clock::time_point> hash_deadline;
  // The probe ends by then at the latest (probe.timeout capped to what is left when it starts).
  std::optional<std::chrono::steady_clock::time_point> probe_deadline;
  // `run`: what the config names inside the mirror root that cannot be found or read after a
  // sync (a torrents directory, the symlinks dir) is a finding on the run (CheckRun::findings:
  // torrents-missing, missing-tree), not an error: the tree is not ready. Torrents paths
  // outside the root stay configuration errors.
  bool tree_findings = false;
};

struct TorrentResult {
  std::string path;
  std::optional<Torrent> torrent; // unset when the .torrent is invalid
  PayloadReport report;
  std::optional<ProbeOutcome> probe; // set when a base URL is known
};

struct CheckRun {
  std::string root;
  std::string base_url; // "" = not probed
  std::vector<TorrentResult> torrents;
  std::vector<Finding> findings;     // about the run, not one torrent (see tree_findings)
  std::vector<std::string> warnings; // e.g. an unusable cache; the caller shows or logs them
  double seconds = 0;
  bool all_ready() const; // no error in `findings`, and every torrent ready
};

// The effective state directory: --state-dir, else state_dir, else the default.
std::string effective_state_dir(const Settings& settings, const std::string& option);

// Runs the check. Throws Fatal(usage) when there are no torrents to check, a torrents path
// cannot be read (but see tree_findings), the mirror root cannot be opened or the base URL is
// unusable. Each torrent is judged with fresh resolution handles, and before its verdict is
// recorded in the cache every file hashed is looked up again: one whose identity (device,
// inode, size, times) changed meanwhile (a tree swapped during the check) makes the torrent
// judged once more, and a second change gives verify-skipped.
CheckRun perform_check(const Settings& settings, const CheckOptions& options);

// The `check --json` document (docs/check.md, docs/check.schema.json).
util::Json check_json(const CheckRun& run);

} // namespace agent
