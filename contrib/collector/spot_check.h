// spot_check.h: trust, but verify. Before a mirror is listed for a torrent, and again every
// spot_check.interval, the collector fetches a few random whole pieces from the mirror's
// web-seed URLs (the way clients ask) and checks them against the torrent's own hashes. A
// round checks at most max_checks_per_round (mirror, torrent) pairs, the oldest first.
//
// Where the checks may connect: address_policy.h (no SSRF through a mirror's redirects). The
// reasons recorded (and published) are finding codes and the mirror's URL; the probe's full
// text goes to the operator's log (SpotRound::messages).
//
// The network guard: when every mirror checked in a round failed most of its checks in
// transport (connect, DNS, TLS, timeout; never a wrong status or wrong bytes), the collector's
// own network is suspected if spot_check.canary_url is set and does not load, or, without a
// canary, if at least spot_check.network_quorum distinct mirrors were checked. Then the
// transport failures of the round are discarded (nothing changes for those pairs; the log
// says so); every other result is recorded, as soon as it is known.
//
// Mirrors are checked concurrently (spot_check.max_concurrent_mirrors), each mirror's due
// pairs one after the other within spot_check.mirror_deadline: a stalled mirror delays only
// itself. Rounds may overlap (serve starts one every round_every, whether or not the previous
// one still waits for a slow mirror; they share an InFlight): a mirror is in one round at a
// time, and a mirror that reported while a round waited for a stalled one is checked by the
// next round, not after the stalled one's deadline. Never-checked pairs come first, then the
// oldest; a failed pair is due again after spot_check.retry_failed_after, a passed one after
// spot_check.interval.
#pragma once

#include "catalog.h"
#include "http_fetch.h"
#include "collector_config.h"
#include "store.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace collector {

// The mirrors being checked by any round now (shared by overlapping rounds).
struct InFlight {
  std::mutex mutex;
  std::set<std::string> mirrors;
};

struct SpotRound {
  std::size_t checked = 0;
  std::size_t failed = 0;
  bool discarded = false; // suspected local network trouble: results not recorded
  std::vector<std::string> messages;
};

// One check's result, and what is not stored: the probe's full message (libcurl's text,
// redirect targets: the operator's log only) and whether the failure was in transport
// (connect, DNS, TLS, timeout: possibly the collector's own network).
struct SpotOutcome {
  SpotCheck check;
  std::string detail;
  bool transport = false;
};

// One check: `pieces` random whole pieces of `entry` from `base_url`. `ok` with what was
// verified, or the first problem: its finding code and the mirror's URL (published).
// `cancel` (may be nullptr) ends the check's requests at once when it becomes true.
// `pieces`: how many (0: spot_check.pieces).
// `connections`: kept alive across this mirror's checks of the round, one cache per address
// family probed (a dual-stack mirror is checked over IPv4 and over IPv6); nullptr: each
// check its own.
struct MirrorConnections {
  std::shared_ptr<agent::ConnectionShare> any = std::make_shared<agent::ConnectionShare>();
  std::shared_ptr<agent::ConnectionShare> ipv4 = std::make_shared<agent::ConnectionShare>();
  std::shared_ptr<agent::ConnectionShare> ipv6 = std::make_shared<agent::ConnectionShare>();
};
SpotOutcome spot_check_one(const CatalogEntry& entry, const MirrorRow& mirror,
                           const CollectorConfig& config, std::mt19937_64& random, std::int64_t now,
                           const std::atomic<bool>* cancel = nullptr, std::uint64_t pieces = 0,
                           const MirrorConnections* connections = nullptr);

// One round over the pairs that need a check (claimed ready, enabled, opted in, not stale,
// never checked or checked longer than interval ago), recorded in `store`.
// `cancel` true (e.g. SIGTERM): the round ends within a fraction of a second; checks cut
// short are not recorded. `in_flight` (may be nullptr): mirrors in it are left out, the
// round's own are added while it checks them, and the round uses at most
// max_concurrent_mirrors minus the mirrors other rounds are checking (none free: it checks
// nothing).
SpotRound spot_check_round(Store& store, const Catalog& catalog, const CollectorConfig& config,
                           std::int64_t now, const std::atomic<bool>* cancel = nullptr,
                           InFlight* in_flight = nullptr);

} // namespace collector
