// listing.h: which mirrors the collector lists as web seeds for which torrent, and why not.
// A pure function of the database's rows, the catalog and the time: the API, the dashboard,
// the metrics and seed-torrents all read the same answer.
//
// A mirror is listed for a torrent when all hold: the mirror is enabled and opted in (no
// withdraw); its last judged report is younger than stale_after; that report says the torrent
// is ready; and the collector's own spot check of it passed (unless spot checks are off).
#pragma once

#include "catalog.h"
#include "store.h"

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace collector {

enum class CellState {
  listed,      // ready, verified by the collector: in the url-list
  pending,     // ready by the report, not spot-checked yet
  spot_failed, // ready by the report, but the collector's spot check failed
  not_ready,   // the report says not ready
  unknown,     // the report does not mention the torrent
  stale,       // no judged report within stale_after
  off,         // disabled by the central team, or withdrawn / not opted in
};

std::string_view state_name(CellState state);

struct Cell {
  Cell() = default;
  Cell(CellState state_, std::string reason_) : state(state_), reason(std::move(reason_)) {}

  CellState state = CellState::unknown;
  std::string reason; // one line for the dashboard
  // The report's word on each client family (agent/client_families.h): can it fetch the
  // torrent from this mirror. Empty when the report did not say (an older agent).
  std::map<std::string, bool> clients;
};

// A warning about a torrent itself, the same on every mirror (shown once per torrent):
// torrent-format-unsupported and torrent-noncanonical from the torrent, pad-files-not-served
// when every mirror that reported the torrent says so.
struct TorrentNote {
  std::string code;
  std::string message;
  std::vector<std::string> clients; // the families it concerns
  bool operator==(const TorrentNote&) const = default;
};

struct Listing {
  std::vector<MirrorRow> mirrors;                            // by name
  std::map<std::pair<std::string, std::string>, Cell> cells; // (mirror, catalog key)
  std::map<std::string, std::vector<TorrentNote>> notes;     // catalog key -> its notes
  const Cell& cell(const std::string& mirror, const std::string& key) const;
  // The listed mirrors' base URLs for a catalog key, by mirror name.
  std::vector<std::string> base_urls(const std::string& key) const;
};

struct ListingPolicy {
  std::int64_t now = 0;
  std::int64_t stale_after_s = 12 * 3600;
  bool spot_checks = true;
};

// One cell: `claim` the mirror's claim about the torrent (nullptr: none), `spot` the
// collector's last spot check of the pair (nullptr: none). `clients` is filled from the claim
// (unless with_clients is false: then the caller reads parse_clients itself).
Cell cell_for(const MirrorRow& mirror, const Claim* claim, const SpotCheck* spot,
              const ListingPolicy& policy, bool with_clients = true);

// A claim's stored {"libtorrent": true, ...}; malformed or non-boolean entries left out.
std::map<std::string, bool> parse_clients(const std::string& text);

// The catalog entry a claim is about (by v1, else v2 hash); nullptr when none.
const CatalogEntry* claimed_entry(const Catalog& catalog, const Claim& claim);

// Does time alone change this mirror's cells, and when next: the first second its last judged
// report is older than stale_after (when fresh), `now` + 60 for a stale one (the "no judged
// report for ..." text); INT64_MAX when never (disabled, withdrawn, never judged).
std::int64_t cells_change_at(const MirrorRow& mirror, const ListingPolicy& policy);

Listing compute_listing(const Catalog& catalog, const std::vector<MirrorRow>& mirrors,
                        const std::vector<Claim>& claims, const std::vector<SpotCheck>& spots,
                        const ListingPolicy& policy);

// The notes of one torrent: what the torrent itself says, and what every claim about it says
// (claims: those of enabled, opted-in mirrors).
std::vector<TorrentNote> torrent_notes(const CatalogEntry& entry,
                                       const std::vector<const Claim*>& claims);

// The parts of torrent_notes: what the torrent itself says; whether a claim says the mirror
// does not serve the pad files; the note when every claim says so.
std::vector<TorrentNote> torrent_own_notes(const CatalogEntry& entry);
bool says_pad_files_not_served(const Claim& claim);
TorrentNote pad_files_note();

// "libtorrent yes, transmission no, aria2 yes"; "" when `clients` is empty.
std::string clients_line(const std::map<std::string, bool>& clients);

// The BEP 19 url-list entry for a mirror: BASE_URL + SYMLINKS_DIR + "/" (the client appends
// the torrent's name and file path).
std::string webseed_base(const std::string& base_url, const std::string& symlinks_dir);

} // namespace collector
