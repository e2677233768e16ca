#include "listing_index.h"

#include <algorithm>
#include <limits>
#include <unordered_map>
#include <utility>

namespace collector {

namespace {

constexpr auto k_others_every = std::chrono::seconds(1);

std::size_t at(CellState s)
{
  return static_cast<std::size_t>(s);
}

} // namespace

ListingIndex::ListingIndex(Store& store, const Catalog& catalog, std::int64_t stale_after_s,
                           bool spot_checks)
    : m_store(store), m_catalog(catalog), m_stale_after_s(stale_after_s), m_spot_checks(spot_checks)
{
  const std::size_t n = catalog.entries().size();
  for (const CatalogEntry& e : catalog.entries()) {
    m_own_notes.push_back(torrent_own_notes(e));
  }
  m_listed.resize(n);
  m_rendered.resize(n);
  m_torrent_counts.resize(n);
  m_claims.resize(n);
}

std::shared_ptr<const ClientMap> ListingIndex::intern(ClientMap clients)
{
  if (clients.empty()) {
    return nullptr;
  }
  if (m_client_sets.size() >= m_client_sweep_at) { // drop the sets no cell uses any more
    std::erase_if(m_client_sets, [](const auto& kv) { return kv.second.expired(); });
    m_client_sweep_at = 64 + 2 * m_client_sets.size();
  }
  auto& slot = m_client_sets[clients];
  if (auto shared = slot.lock()) {
    return shared;
  }
  auto shared = std::make_shared<const ClientMap>(std::move(clients));
  slot = shared;
  return shared;
}

std::shared_ptr<const MirrorStatus> ListingIndex::compute(const MirrorRow& row, std::int64_t now)
{
  const std::vector<CatalogEntry>& entries = m_catalog.entries();
  const std::vector<Claim> claims = m_store.claims_of(row.name);
  const std::vector<SpotCheck> spots = m_store.spot_checks_of(row.name);
  std::vector<const Claim*> claim_of(entries.size(), nullptr);
  for (const Claim& c : claims) {
    if (const CatalogEntry* e = claimed_entry(m_catalog, c)) {
      claim_of[static_cast<std::size_t>(e - entries.data())] = &c;
    }
  }
  std::vector<const SpotCheck*> spot_of(entries.size(), nullptr);
  for (const SpotCheck& s : spots) {
    if (const CatalogEntry* e = m_catalog.find(s.info_hash); e && e->key == s.info_hash) {
      spot_of[static_cast<std::size_t>(e - entries.data())] = &s;
    }
  }
  auto status = std::make_shared<MirrorStatus>();
  status->row = row;
  status->cells.reserve(entries.size());
  status->claims.assign(entries.size(), 0);
  const ListingPolicy p = policy(now);
  const bool counted = !row.disabled && row.opted_in;
  std::unordered_map<std::string_view, std::uint32_t> reasons;
  std::unordered_map<std::string_view, std::shared_ptr<const ClientMap>> parsed; // by JSON text
  for (std::size_t i = 0; i < entries.size(); ++i) {
    Cell c = cell_for(row, claim_of[i], spot_of[i], p, false);
    ++status->counts[at(c.state)];
    std::shared_ptr<const ClientMap> clients;
    if (claim_of[i] != nullptr) {
      if (counted) {
        status->claims[i] = says_pad_files_not_served(*claim_of[i]) ? 2 : 1;
      }
      if (!claim_of[i]->clients_json.empty()) {
        const auto [it, added] = parsed.try_emplace(claim_of[i]->clients_json);
        if (added) {
          it->second = intern(parse_clients(claim_of[i]->clients_json));
        }
        clients = it->second;
      }
    }
    status->cells.push_back({c.state, std::move(c.reason), std::move(clients)});
  }
  for (const IndexCell& c : status->cells) {
    if (c.state != CellState::listed) {
      const std::uint32_t n = ++reasons[c.reason];
      if (n > status->main_reason_cells) {
        status->main_reason_cells = n;
        status->main_reason = c.reason;
      }
    }
  }
  status->change_at = cells_change_at(row, p);
  return status;
}

std::shared_ptr<const MirrorStatus> ListingIndex::restale(const MirrorStatus& old,
                                                          std::int64_t now) const
{
  // Time alone only makes an enabled, opted-in mirror stale (or its text older): every cell
  // becomes the same stale cell; the report's per-client word stays.
  auto status = std::make_shared<MirrorStatus>(old);
  const ListingPolicy p = policy(now);
  const Cell stale = cell_for(old.row, nullptr, nullptr, p);
  for (IndexCell& c : status->cells) {
    c.state = stale.state;
    c.reason = stale.reason;
  }
  status->counts = {};
  status->counts[at(stale.state)] = static_cast<std::uint32_t>(status->cells.size());
  status->main_reason = status->cells.empty() ? std::string() : stale.reason;
  status->main_reason_cells = static_cast<std::uint32_t>(status->cells.size());
  status->change_at = cells_change_at(old.row, p);
  return status;
}

void ListingIndex::publish(const std::string& name, std::shared_ptr<const MirrorStatus> status)
{
  const auto it = m_mirrors.find(name);
  const MirrorStatus* old = it == m_mirrors.end() ? nullptr : it->second.get();
  const std::size_t n = m_listed.size();
  for (std::size_t i = 0; i < n; ++i) {
    const bool was =
        old != nullptr && i < old->cells.size() && old->cells[i].state == CellState::listed;
    const bool is =
        status && i < status->cells.size() && status->cells[i].state == CellState::listed;
    // The per-torrent list (and its rendered answer) changes only when this mirror joins or
    // leaves it, or moves: a report that changes nothing keeps every answer cached.
    if (was != is || (is && old->row.base_url != status->row.base_url)) {
      m_rendered[i] = nullptr;
    }
    // The entry points into the status it was made from: it follows the new one (the node
    // moved, not reallocated: same name, same place).
    auto node = was ? m_listed[i].extract(std::string_view(name)) : decltype(m_listed[i].extract(
                                                                         std::string_view()))();
    if (is && node) {
      node.key() = status->row.name;
      node.mapped() = status.get();
      m_listed[i].insert(std::move(node));
    } else if (is) {
      m_listed[i].emplace(status->row.name, status.get());
    }
    if (old != nullptr && i < old->cells.size()) {
      --m_torrent_counts[i][at(old->cells[i].state)];
      if (old->claims[i] != 0) {
        --m_claims[i][0];
        m_claims[i][1] -= old->claims[i] == 2 ? 1 : 0;
      }
    }
    if (status && i < status->cells.size()) {
      ++m_torrent_counts[i][at(status->cells[i].state)];
      if (status->claims[i] != 0) {
        ++m_claims[i][0];
        m_claims[i][1] += status->claims[i] == 2 ? 1 : 0;
      }
    }
  }
  if (!status) {
    if (it != m_mirrors.end()) {
      m_mirrors.erase(it);
    }
    return;
  }
  m_mirrors[name] = std::move(status);
}

void ListingIndex::refresh(std::int64_t now)
{
  std::lock_guard refreshing(m_refresh);
  if (m_retired) {
    return;
  }
  std::set<std::string> changed = m_store.take_changed_mirrors();
  const auto steady = std::chrono::steady_clock::now();
  bool full = !m_loaded;
  if (const auto others =
          m_store.others_version(full || steady - m_others_checked >= k_others_every)) {
    m_others_checked = steady;
    full = full || others != m_others;
    m_others = others;
  }
  std::vector<std::pair<std::string, std::shared_ptr<const MirrorStatus>>> updates;
  if (full) { // every mirror read again, one at a time (bounded memory)
    std::set<std::string> seen;
    for (const MirrorRow& row : m_store.mirrors()) {
      seen.insert(row.name);
      updates.emplace_back(row.name, compute(row, now));
    }
    std::shared_lock reading(m_rw);
    for (const auto& [name, status] : m_mirrors) {
      if (!seen.contains(name)) {
        updates.emplace_back(name, nullptr);
      }
    }
    m_loaded = true;
  } else {
    for (const std::string& name : changed) {
      const std::optional<MirrorRow> row = m_store.mirror(name);
      updates.emplace_back(name, row ? compute(*row, now) : nullptr);
    }
    if (now >= m_next_change) {
      std::shared_lock reading(m_rw);
      for (const auto& [name, status] : m_mirrors) {
        if (status->change_at <= now && !changed.contains(name)) {
          updates.emplace_back(name, restale(*status, now));
        }
      }
    }
  }
  if (updates.empty()) {
    return;
  }
  std::unique_lock writing(m_rw);
  for (auto& [name, status] : updates) {
    publish(name, std::move(status));
  }
  m_next_change = std::numeric_limits<std::int64_t>::max();
  for (const auto& [name, status] : m_mirrors) {
    m_next_change = std::min(m_next_change, status->change_at);
  }
}

void ListingIndex::retire()
{
  std::lock_guard refreshing(m_refresh);
  m_retired = true;
}

std::vector<ListingIndex::Listed> ListingIndex::listed(std::size_t entry, std::int64_t now)
{
  refresh(now);
  std::shared_lock reading(m_rw);
  std::vector<Listed> out;
  if (entry < m_listed.size()) {
    out.reserve(m_listed[entry].size());
    for (const auto& [name, status] : m_listed[entry]) {
      out.push_back({std::string(name), status->row.base_url});
    }
  }
  return out;
}

std::shared_ptr<const std::string>
ListingIndex::listed_rendered(std::size_t entry, std::int64_t now,
                              const std::function<std::string(const std::vector<Listed>&)>& render)
{
  refresh(now);
  std::shared_lock reading(m_rw);
  if (entry >= m_listed.size()) {
    return std::make_shared<const std::string>(render({}));
  }
  std::lock_guard filling(m_rendered_mutex);
  if (!m_rendered[entry]) {
    std::vector<Listed> listed;
    listed.reserve(m_listed[entry].size());
    for (const auto& [name, status] : m_listed[entry]) {
      listed.push_back({std::string(name), status->row.base_url});
    }
    m_rendered[entry] = std::make_shared<const std::string>(render(listed));
  }
  return m_rendered[entry];
}

ListingIndex::Snapshot ListingIndex::mirrors(std::int64_t now)
{
  refresh(now);
  std::shared_lock reading(m_rw);
  Snapshot out;
  out.reserve(m_mirrors.size());
  for (const auto& [name, status] : m_mirrors) {
    out.push_back(status);
  }
  return out;
}

std::shared_ptr<const MirrorStatus> ListingIndex::mirror(const std::string& name, std::int64_t now)
{
  refresh(now);
  std::shared_lock reading(m_rw);
  const auto it = m_mirrors.find(name);
  return it == m_mirrors.end() ? nullptr : it->second;
}

ListingIndex::Totals ListingIndex::totals(std::int64_t now)
{
  refresh(now);
  std::shared_lock reading(m_rw);
  Totals t;
  t.per_torrent = m_torrent_counts;
  t.mirrors = m_mirrors.size();
  for (const auto& counts : m_torrent_counts) {
    for (std::size_t s = 0; s < k_cell_states; ++s) {
      t.cells[s] += counts[s];
    }
  }
  return t;
}

std::map<std::string, std::vector<TorrentNote>> ListingIndex::notes(std::int64_t now)
{
  refresh(now);
  std::shared_lock reading(m_rw);
  std::map<std::string, std::vector<TorrentNote>> out;
  const std::vector<CatalogEntry>& entries = m_catalog.entries();
  for (std::size_t i = 0; i < entries.size(); ++i) {
    std::vector<TorrentNote> notes = m_own_notes[i];
    if (m_claims[i][0] > 0 && m_claims[i][1] == m_claims[i][0]) {
      notes.push_back(pad_files_note());
    }
    if (!notes.empty()) {
      out[entries[i].key] = std::move(notes);
    }
  }
  return out;
}

} // namespace collector
