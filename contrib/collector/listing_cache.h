// listing_cache.h: the listing computed once and shared by every reader until something it
// depends on changes (issue 14: every GET rebuilt the whole listing, ~190 ms at 500 mirrors x
// 200 torrents). It is recomputed when the store's version changes (any write, by this
// process or another connection) or when time alone changes a cell: the first moment a
// mirror's last judged report becomes older than stale_after; and at least every minute (the
// "no judged report for ..." texts). One computation at a time; readers share its result.
#pragma once

#include "catalog.h"
#include "listing.h"
#include "store.h"

#include <cstdint>
#include <memory>
#include <mutex>

namespace collector {

class ListingCache {
public:
  // The listing for `policy.now` (see above when it is reused).
  std::shared_ptr<const Listing> get(Store& store, const Catalog& catalog,
                                     const ListingPolicy& policy);

private:
  std::mutex m_mutex;
  std::shared_ptr<const Listing> m_listing;
  Store::Version m_version{};
  std::int64_t m_valid_until = 0; // policy.now values below this reuse m_listing
  std::int64_t m_computed_at = 0;
};

} // namespace collector
