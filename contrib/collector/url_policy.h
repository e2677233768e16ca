// url_policy.h: which listed mirrors go into a published url-list (live torrents, magnets,
// seed-torrents), in which order (contrib/collector/README.md, "The url-list policy").
//
// Clients use a few web seeds at a time, mostly the first ones, and every url-list entry
// is carried by every copy of the torrent: the mirrors the collector saw serving best come
// first and the list is capped. Order: the share of the mirror's spot checks (its latest one
// per torrent, over every torrent) that passed, higher first; then the throughput measured by
// its passed checks (their mean bytes per second, compared in factor-of-two steps so that
// noise does not reorder mirrors of about the same speed), higher first; then its most recent
// passed check, newer first; then its name. At most `max_webseeds` entries in all: the configured
// fallback seeds (the origin, an archive host) always come last and count against the cap,
// so mirrors are cut first.
#pragma once

#include "listing.h"
#include "store.h"

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace collector {

struct MirrorRank {
  std::size_t checks = 0;     // latest spot checks, one per torrent checked
  std::size_t passed = 0;     // of them, passed
  std::int64_t last_pass = 0; // Unix time of the newest passed one (0: none)
  std::int64_t bytes_per_second = 0; // mean of the passed checks that measured it (0: none)
};

// The throughput step a rank is compared by: floor(log2(bytes_per_second)), 0 for none.
int throughput_step(const MirrorRank& rank);

using MirrorRanks = std::map<std::string, MirrorRank>; // by mirror name

MirrorRanks rank_mirrors(const std::vector<SpotCheck>& spots);

// A mirror listed for a torrent (whatever keeps the listing: listing.h, or an index of it).
struct ListedMirror {
  std::string name;
  std::string base_url;
};

// The mirrors listed for catalog key `key` in `listing`.
std::vector<ListedMirror> listed_mirrors(const Listing& listing, const std::string& key);

// The url-list: the `listed` mirrors' BASE_URL/SYMLINKS_DIR/ in the order above, then
// `fallbacks` (a URL already there skipped), at most `max_webseeds` in all.
std::vector<std::string> published_webseeds(std::vector<ListedMirror> listed,
                                            const MirrorRanks& ranks,
                                            const std::string& symlinks_dir,
                                            std::uint64_t max_webseeds,
                                            const std::vector<std::string>& fallbacks);

// The ranks, recomputed only when the store changed (Store::version).
class RankCache {
public:
  std::shared_ptr<const MirrorRanks> get(Store& store);

private:
  std::mutex m_mutex;
  std::shared_ptr<const MirrorRanks> m_ranks;
  Store::Version m_version{};
};

} // namespace collector
