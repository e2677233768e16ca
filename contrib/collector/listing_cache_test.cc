// Unit tests of the listing cache: reused while nothing changes, recomputed on a write (this
// process or another connection) and when time alone makes a mirror stale.
#include "listing_cache.h"

#include "test_support.h"

#include <catch2/catch.hpp>

using namespace collector;

TEST_CASE("listing cache: reused until a write or staleness", "[collector][listing_cache]")
{
  agent::testing::TempTree t;
  t.file("torrents/a.torrent",
         agent::testing::bdict(
             {{"info",
               agent::testing::bdict({{"length", agent::testing::bint(40000)},
                                      {"name", agent::testing::bstr("a.iso")},
                                      {"piece length", agent::testing::bint(16384)},
                                      {"pieces", agent::testing::bstr(std::string(60, 'h'))}})}}));
  std::vector<std::string> problems;
  auto catalog = Catalog::load(t / "torrents", problems);
  REQUIRE(catalog);
  const std::string key = catalog->entries()[0].key;
  auto store = Store::open(t / "c.sqlite");
  REQUIRE(store);
  Store& s = **store;
  const std::int64_t now = 1'000'000;
  REQUIRE(s.add_mirror("m1", "http://m1.example.org/", "h1", now));
  ListingCache cache;
  const ListingPolicy policy{now, 3600, false};
  const auto first = cache.get(s, *catalog, policy);
  REQUIRE(first->mirrors.size() == 1);
  CHECK(cache.get(s, *catalog, policy) == first); // nothing changed: the same listing

  IngestedReport r;
  r.report_id = "r1";
  r.kind = "status";
  r.judged = true;
  TorrentClaim c;
  c.info_hash_v1 = key;
  c.name = "a.iso";
  c.ready = true;
  r.torrents.push_back(c);
  REQUIRE(s.ingest("m1", r, now));
  const auto second = cache.get(s, *catalog, policy);
  CHECK(second != first);
  CHECK(second->cell("m1", key).state == CellState::listed);
  CHECK(cache.get(s, *catalog, ListingPolicy{now + 30, 3600, false}) == second);

  // One second past stale_after: recomputed by time alone.
  const auto later = cache.get(s, *catalog, ListingPolicy{now + 3601, 3600, false});
  CHECK(later != second);
  CHECK(later->cell("m1", key).state == CellState::stale);

  // A write by another connection (the `mirror` commands) is seen too.
  {
    auto other = Store::open(t / "c.sqlite");
    REQUIRE(other);
    REQUIRE((*other)->set_disabled("m1", true));
  }
  const auto disabled = cache.get(s, *catalog, ListingPolicy{now + 3601, 3600, false});
  CHECK(disabled != later);
  CHECK(disabled->cell("m1", key).state == CellState::off);
}
