#include "spot_check.h"

#include "listing.h"
#include "webseed_probe.h"

#include <algorithm>
#include <map>

namespace collector {

SpotCheck spot_check_one(const CatalogEntry& entry, const MirrorRow& mirror,
                         const CollectorConfig& config, std::mt19937_64& random, std::int64_t now)
{
  const agent::Torrent& t = *entry.torrent;
  SpotCheck result;
  result.mirror = mirror.name;
  result.info_hash = entry.key;
  result.checked_at = now;
  if (t.piece_length > config.spot.max_piece_bytes) {
    result.reason = "pieces larger than spot_check.max_piece_bytes: not checked";
    result.ok = true;
    return result;
  }
  std::uint64_t count = t.piece_count;
  if (!t.has_v1) {
    std::uint64_t largest = 0;
    for (const agent::TorrentFile& f : t.files) {
      largest = std::max(largest, f.pad ? 0 : f.length);
    }
    count = (largest + t.piece_length - 1) / t.piece_length;
  }
  std::vector<std::uint64_t> pieces;
  std::uniform_int_distribution<std::uint64_t> pick(0, count == 0 ? 0 : count - 1);
  for (std::uint64_t i = 0; i < std::min<std::uint64_t>(config.spot.pieces, count); ++i) {
    std::uint64_t p = pick(random);
    while (std::find(pieces.begin(), pieces.end(), p) != pieces.end()) {
      p = (p + 1) % count;
    }
    pieces.push_back(p);
  }
  std::sort(pieces.begin(), pieces.end());
  agent::ProbeSettings settings;
  settings.base_url = mirror.base_url;
  settings.symlinks_dir = config.symlinks_dir;
  settings.fetch.request_timeout = std::chrono::seconds(config.spot.request_timeout_s);
  settings.fetch.batch_timeout = std::chrono::seconds(config.spot.request_timeout_s * 2);
  settings.fetch.ca_file = config.spot.ca_file;
  settings.fetch.user_agent = "webseed-collector spot check";
  settings.families = agent::probe_families(mirror.base_url);
  const auto items = agent::plan_pieces(t, pieces);
  const agent::ProbeResult probe = agent::probe_items(
      t, items, [](std::size_t, std::uint64_t, std::uint64_t) { return std::nullopt; }, settings);
  std::string list;
  for (const std::uint64_t p : probe.pieces_verified) {
    list += (list.empty() ? "" : ", ") + std::to_string(p);
  }
  const bool all = probe.pieces_verified.size() == items.size() && !items.empty();
  if (all && !agent::has_error(probe.findings)) {
    result.ok = true;
    result.reason = "piece" + std::string(items.size() == 1 ? " " : "s ") + list + " verified";
    return result;
  }
  for (const agent::Finding& f : probe.findings) {
    if (f.severity() == agent::Severity::error) {
      result.reason = std::string(agent::code_name(f.code)) + ": " + f.message +
                      (f.url.empty() ? "" : " (" + f.url + ")");
      return result;
    }
  }
  result.reason = "no piece could be verified";
  return result;
}

SpotRound spot_check_round(Store& store, const Catalog& catalog, const CollectorConfig& config,
                           std::int64_t now)
{
  SpotRound round;
  const std::vector<MirrorRow> mirrors = store.mirrors();
  const std::vector<SpotCheck> previous = store.spot_checks();
  const ListingPolicy policy{now, config.stale_after_s, false};
  const Listing claimed = compute_listing(catalog, mirrors, store.claims(), {}, policy);
  std::map<std::pair<std::string, std::string>, std::int64_t> last;
  for (const SpotCheck& s : previous) {
    last[{s.mirror, s.info_hash}] = s.checked_at;
  }
  struct Due {
    std::int64_t last;
    const MirrorRow* mirror;
    const CatalogEntry* entry;
  };
  std::vector<Due> due;
  for (const MirrorRow& m : mirrors) {
    for (const CatalogEntry& e : catalog.entries()) {
      if (claimed.cell(m.name, e.key).state != CellState::listed) {
        continue; // claimed ready, enabled, opted in, fresh (listed when spot checks are off)
      }
      const auto it = last.find({m.name, e.key});
      if (it == last.end() || now - it->second >= config.spot.interval_s) {
        due.push_back({it == last.end() ? 0 : it->second, &m, &e});
      }
    }
  }
  std::stable_sort(due.begin(), due.end(),
                   [](const Due& a, const Due& b) { return a.last < b.last; });
  if (due.size() > config.spot.max_checks_per_round) {
    due.resize(config.spot.max_checks_per_round);
  }
  std::random_device seed;
  std::mt19937_64 random(seed());
  std::vector<SpotCheck> results;
  std::map<std::string, std::pair<std::size_t, std::size_t>> per_mirror; // failed, total
  for (const Due& d : due) {
    results.push_back(spot_check_one(*d.entry, *d.mirror, config, random, now));
    auto& [failed, total] = per_mirror[d.mirror->name];
    ++total;
    failed += results.back().ok ? 0 : 1;
  }
  round.checked = results.size();
  for (const SpotCheck& r : results) {
    round.failed += r.ok ? 0 : 1;
  }
  // Every mirror failing most of its checks at once: suspect our own network.
  const bool everyone_failing =
      per_mirror.size() >= 2 &&
      std::all_of(per_mirror.begin(), per_mirror.end(),
                  [](const auto& m) { return m.second.first * 2 > m.second.second; });
  if (everyone_failing) {
    round.discarded = true;
    round.messages.push_back("spot checks: most checks failed for all " +
                             std::to_string(per_mirror.size()) +
                             " mirrors at once; suspecting the collector's own network, nothing "
                             "changed this round");
    return round;
  }
  for (const SpotCheck& r : results) {
    store.record_spot_check(r);
    if (!r.ok) {
      round.messages.push_back("spot check failed: mirror " + r.mirror + ", torrent " +
                               r.info_hash + ": " + r.reason);
    }
  }
  return round;
}

} // namespace collector
