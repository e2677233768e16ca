// spot_check.h: trust, but verify. Before a mirror is listed for a torrent, and again every
// spot_check.interval, the collector fetches a few random whole pieces from the mirror's
// web-seed URLs (the way clients ask) and checks them against the torrent's own hashes. A
// round checks at most max_checks_per_round (mirror, torrent) pairs, the oldest first.
//
// If most checks of a round fail for every mirror at once, the collector's own network is the
// likelier culprit: the round is discarded and nothing changes (the log says so).
#pragma once

#include "catalog.h"
#include "collector_config.h"
#include "store.h"

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace collector {

struct SpotRound {
  std::size_t checked = 0;
  std::size_t failed = 0;
  bool discarded = false; // suspected local network trouble: results not recorded
  std::vector<std::string> messages;
};

// One check: `pieces` random whole pieces of `entry` from `base_url`. `ok` with what was
// verified, or the first problem (the probe's finding message and URL).
SpotCheck spot_check_one(const CatalogEntry& entry, const MirrorRow& mirror,
                         const CollectorConfig& config, std::mt19937_64& random, std::int64_t now);

// One round over the pairs that need a check (claimed ready, enabled, opted in, not stale,
// never checked or checked longer than interval ago), recorded in `store`.
SpotRound spot_check_round(Store& store, const Catalog& catalog, const CollectorConfig& config,
                           std::int64_t now);

} // namespace collector
