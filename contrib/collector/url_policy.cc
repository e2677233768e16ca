#include "url_policy.h"

#include <algorithm>
#include <unordered_set>

namespace collector {

MirrorRanks rank_mirrors(const std::vector<SpotCheck>& spots)
{
  MirrorRanks ranks;
  std::map<std::string, std::pair<long double, std::size_t>> speed; // sum, count
  for (const SpotCheck& s : spots) {
    MirrorRank& r = ranks[s.mirror];
    ++r.checks;
    if (s.ok) {
      ++r.passed;
      r.last_pass = std::max(r.last_pass, s.checked_at);
      if (s.bytes_per_second > 0) {
        auto& [sum, n] = speed[s.mirror];
        sum += static_cast<long double>(s.bytes_per_second);
        ++n;
      }
    }
  }
  for (const auto& [name, sn] : speed) {
    ranks[name].bytes_per_second = static_cast<std::int64_t>(sn.first / sn.second);
  }
  return ranks;
}

int throughput_step(const MirrorRank& rank)
{
  int step = 0;
  for (std::int64_t v = rank.bytes_per_second; v > 1; v >>= 1) {
    ++step;
  }
  return step;
}

std::vector<ListedMirror> listed_mirrors(const Listing& listing, const std::string& key)
{
  std::vector<ListedMirror> out;
  for (const MirrorRow& m : listing.mirrors) {
    if (listing.cell(m.name, key).state == CellState::listed) {
      out.push_back({m.name, m.base_url});
    }
  }
  return out;
}

std::vector<std::string> published_webseeds(std::vector<ListedMirror> listed,
                                            const MirrorRanks& ranks,
                                            const std::string& symlinks_dir,
                                            std::uint64_t max_webseeds,
                                            const std::vector<std::string>& fallbacks)
{
  const auto rank = [&](const ListedMirror& m) {
    const auto it = ranks.find(m.name);
    return it == ranks.end() ? MirrorRank{} : it->second;
  };
  std::stable_sort(listed.begin(), listed.end(), [&](const ListedMirror& a, const ListedMirror& b) {
    const MirrorRank ra = rank(a);
    const MirrorRank rb = rank(b);
    // passed/checks compared without division: a.passed * b.checks vs b.passed * a.checks
    // (a mirror without checks counts as 0 of 1).
    const std::uint64_t la = ra.passed * std::max<std::size_t>(rb.checks, 1);
    const std::uint64_t lb = rb.passed * std::max<std::size_t>(ra.checks, 1);
    if (la != lb) {
      return la > lb;
    }
    if (throughput_step(ra) != throughput_step(rb)) {
      return throughput_step(ra) > throughput_step(rb);
    }
    if (ra.last_pass != rb.last_pass) {
      return ra.last_pass > rb.last_pass;
    }
    return a.name < b.name;
  });
  std::unordered_set<std::string> seen;
  std::vector<std::string> fallback;
  for (const std::string& f : fallbacks) {
    if (seen.insert(f).second && fallback.size() < max_webseeds) {
      fallback.push_back(f);
    }
  }
  const std::uint64_t room = max_webseeds - fallback.size();
  std::vector<std::string> out;
  std::unordered_set<std::string> mine;
  for (const ListedMirror& m : listed) {
    if (out.size() >= room) {
      break;
    }
    std::string url = webseed_base(m.base_url, symlinks_dir);
    if (!seen.contains(url) && mine.insert(url).second) {
      out.push_back(std::move(url));
    }
  }
  out.insert(out.end(), fallback.begin(), fallback.end());
  return out;
}

std::shared_ptr<const MirrorRanks> RankCache::get(Store& store)
{
  const std::lock_guard lock(m_mutex);
  const Store::Version version = store.version();
  if (!m_ranks || version != m_version) {
    m_ranks = std::make_shared<const MirrorRanks>(rank_mirrors(store.spot_checks()));
    m_version = version;
  }
  return m_ranks;
}

} // namespace collector
