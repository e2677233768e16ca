// listing_index.h: the listing (listing.h) kept up to date one mirror at a time, so that a
// read costs what it returns, not the network's size (issue 14: at 500 mirrors x 200
// torrents, recomputing the whole listing took ~190 ms per GET).
//
// Each mirror has an immutable MirrorStatus (its cells in catalog order, counts per state),
// replaced as a whole when something about the mirror changes: a write through the Store
// (a report, a spot check, a `mirror` command of this process: Store::take_changed_mirrors),
// a write by another connection (the `mirror` commands: SQLite's data_version; then every
// mirror is read again), or time alone (a mirror's last judged report passing stale_after,
// and once a minute the "no judged report for ..." text of a stale one; no database read).
// Per torrent it keeps the listed mirrors (by name) and the count of cells per state, so that
// GET /api/v1/torrents/<hash>/webseeds is O(mirrors listed for it).
//
// Every read first brings the index up to date (one reader at a time does that; the others
// wait for it), then reads under a shared lock: a write done before a read began is seen by
// it. A change by another process is seen by the next read that finds the database idle, and
// within a second at most.
#pragma once

#include "catalog.h"
#include "listing.h"
#include "store.h"

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

namespace collector {

constexpr std::size_t k_cell_states = 7; // CellState values

using ClientMap = std::map<std::string, bool>;

struct IndexCell {
  CellState state = CellState::unknown;
  std::string reason;
  std::shared_ptr<const ClientMap> clients; // nullptr: the report did not say (shared)
};

struct MirrorStatus {
  MirrorRow row;
  std::vector<IndexCell> cells; // catalog order
  std::array<std::uint32_t, k_cell_states> counts{};
  // Per catalog entry, for the torrents' notes (enabled, opted-in mirrors only): 0 no claim,
  // 1 a claim, 2 a claim saying pad-files-not-served.
  std::vector<std::uint8_t> claims;
  std::string main_reason; // the most frequent reason of its cells not listed; "" when none
  std::uint32_t main_reason_cells = 0;
  std::int64_t change_at = 0; // cells_change_at (listing.h)

  std::uint32_t count(CellState s) const { return counts[static_cast<std::size_t>(s)]; }
};

class ListingIndex {
public:
  ListingIndex(Store& store, const Catalog& catalog, std::int64_t stale_after_s, bool spot_checks);

  struct Listed {
    std::string mirror;
    std::string base_url;
  };
  // The mirrors listed for catalog entry `entry` at `now`, by name.
  std::vector<Listed> listed(std::size_t entry, std::int64_t now);
  // render(listed(entry)), computed once and shared until that torrent's list changes (the
  // webseeds answer: a read is then a lookup and a copy).
  std::shared_ptr<const std::string>
  listed_rendered(std::size_t entry, std::int64_t now,
                  const std::function<std::string(const std::vector<Listed>&)>& render);

  using Snapshot = std::vector<std::shared_ptr<const MirrorStatus>>;
  // Every mirror's status at `now`, by name (shared, immutable: readable without a lock).
  Snapshot mirrors(std::int64_t now);
  std::shared_ptr<const MirrorStatus> mirror(const std::string& name, std::int64_t now);

  struct Totals {
    std::vector<std::array<std::uint32_t, k_cell_states>> per_torrent; // catalog order
    std::array<std::uint64_t, k_cell_states> cells{};
    std::size_t mirrors = 0;
  };
  Totals totals(std::int64_t now);

  // Per catalog key, the notes of torrents that have any (listing.h torrent_notes).
  std::map<std::string, std::vector<TorrentNote>> notes(std::int64_t now);

  // From now on this index is no longer brought up to date (reads answer from what it has):
  // a reloaded catalog's index replaces it, and the Store's changed mirrors must go to that
  // one only (api.h CatalogView).
  void retire();

private:
  void refresh(std::int64_t now);
  std::shared_ptr<const MirrorStatus> compute(const MirrorRow& row, std::int64_t now);
  std::shared_ptr<const MirrorStatus> restale(const MirrorStatus& old, std::int64_t now) const;
  std::shared_ptr<const ClientMap> intern(ClientMap clients);
  // Under m_rw (unique): replaces (or adds; nullptr removes) one mirror's status.
  void publish(const std::string& name, std::shared_ptr<const MirrorStatus> status);
  ListingPolicy policy(std::int64_t now) const { return {now, m_stale_after_s, m_spot_checks}; }

  Store& m_store;
  const Catalog& m_catalog;
  const std::int64_t m_stale_after_s;
  const bool m_spot_checks;
  std::vector<std::vector<TorrentNote>> m_own_notes; // catalog order

  std::mutex m_refresh; // one refresher at a time; guards the members below up to m_rw
  bool m_loaded = false;
  bool m_retired = false;
  std::optional<std::int64_t> m_others;
  std::chrono::steady_clock::time_point m_others_checked{};
  std::map<ClientMap, std::weak_ptr<const ClientMap>> m_client_sets;
  std::size_t m_client_sweep_at = 64;

  std::shared_mutex m_rw; // the published state below
  std::map<std::string, std::shared_ptr<const MirrorStatus>> m_mirrors;
  // Per entry: the listed mirrors by name, pointing into their status in m_mirrors (which
  // owns the name and base URL: ~60 bytes a pair, not two more strings).
  std::vector<std::map<std::string_view, const MirrorStatus*>> m_listed;
  std::mutex m_rendered_mutex; // readers filling m_rendered (under the shared lock)
  std::vector<std::shared_ptr<const std::string>> m_rendered; // per entry; nullptr: changed
  std::vector<std::array<std::uint32_t, k_cell_states>> m_torrent_counts;
  std::vector<std::array<std::uint32_t, 2>> m_claims; // per entry: claims, pad-files-not-served
  std::int64_t m_next_change = 0;                     // min change_at
};

} // namespace collector
