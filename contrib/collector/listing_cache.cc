#include "listing_cache.h"

#include <algorithm>

namespace collector {

namespace {

constexpr std::int64_t k_max_age_s = 60;

} // namespace

std::shared_ptr<const Listing> ListingCache::get(Store& store, const Catalog& catalog,
                                                 const ListingPolicy& policy)
{
  std::lock_guard lock(m_mutex);
  const Store::Version version = store.version();
  if (m_listing && version == m_version && policy.now >= m_computed_at &&
      policy.now < m_valid_until) {
    return m_listing;
  }
  auto listing = std::make_shared<const Listing>(
      compute_listing(catalog, store.mirrors(), store.claims(), store.spot_checks(), policy));
  std::int64_t until = policy.now + k_max_age_s;
  for (const MirrorRow& m : listing->mirrors) {
    if (m.judged_at) {
      const std::int64_t stale_from = *m.judged_at + policy.stale_after_s + 1;
      if (stale_from > policy.now) {
        until = std::min(until, stale_from);
      }
    }
  }
  m_listing = std::move(listing);
  m_version = version;
  m_computed_at = policy.now;
  m_valid_until = until;
  return m_listing;
}

} // namespace collector
