// Unit tests of the listing index: always the same cells as compute_listing (the policy),
// updated by writes of this Store, by another connection, and by time alone.
#include "listing_index.h"

#include "test_support.h"

#include <catch2/catch.hpp>

using namespace collector;

namespace {

std::string torrent(const std::string& name, char fill)
{
  namespace T = agent::testing;
  return T::bdict({{"info", T::bdict({{"length", T::bint(40000)},
                                      {"name", T::bstr(name)},
                                      {"piece length", T::bint(16384)},
                                      {"pieces", T::bstr(std::string(60, fill))}})}});
}

IngestedReport report(const std::string& id, const std::vector<CatalogEntry>& entries,
                      const std::vector<bool>& ready, const std::string& codes = "[]")
{
  IngestedReport r;
  r.report_id = id;
  r.kind = "status";
  r.judged = true;
  r.sync_state = "complete";
  r.body = "{}";
  for (std::size_t i = 0; i < entries.size(); ++i) {
    TorrentClaim c;
    c.info_hash_v1 = entries[i].key;
    c.name = entries[i].torrent->name;
    c.ready = ready[i];
    c.reason = ready[i] ? "" : "dangling x";
    c.codes_json = codes;
    c.clients_json = R"({"aria2": false, "libtorrent": true})";
    r.torrents.push_back(c);
  }
  return r;
}

// Every cell of the index equals the policy's answer over the whole database.
void check_same_as_policy(ListingIndex& index, Store& store, const Catalog& catalog,
                          const ListingPolicy& policy)
{
  const Listing want =
      compute_listing(catalog, store.mirrors(), store.claims(), store.spot_checks(), policy);
  const ListingIndex::Snapshot got = index.mirrors(policy.now);
  REQUIRE(got.size() == want.mirrors.size());
  for (std::size_t m = 0; m < got.size(); ++m) {
    CHECK(got[m]->row.name == want.mirrors[m].name);
    for (std::size_t i = 0; i < catalog.entries().size(); ++i) {
      const Cell& c = want.cell(want.mirrors[m].name, catalog.entries()[i].key);
      const IndexCell& g = got[m]->cells[i];
      CHECK(state_name(g.state) == state_name(c.state));
      CHECK(g.reason == c.reason);
      CHECK((g.clients ? *g.clients : ClientMap{}) == c.clients);
    }
  }
  for (std::size_t i = 0; i < catalog.entries().size(); ++i) {
    std::vector<std::string> names;
    for (const ListingIndex::Listed& l : index.listed(i, policy.now)) {
      names.push_back(l.mirror);
    }
    std::vector<std::string> expected;
    for (const MirrorRow& m : want.mirrors) {
      if (want.cell(m.name, catalog.entries()[i].key).state == CellState::listed) {
        expected.push_back(m.name);
      }
    }
    CHECK(names == expected);
  }
  CHECK(index.notes(policy.now) == want.notes);
}

} // namespace

TEST_CASE("listing index: the policy's cells, kept up to date one mirror at a time",
          "[collector][listing_index]")
{
  agent::testing::TempTree t;
  t.file("torrents/a.torrent", torrent("a.iso", 'a'));
  t.file("torrents/b.torrent", torrent("b.iso", 'b'));
  std::vector<std::string> problems;
  auto catalog = Catalog::load(t / "torrents", problems);
  REQUIRE(catalog);
  const auto& entries = catalog->entries();
  REQUIRE(entries.size() == 2);
  auto opened = Store::open(t / "c.sqlite");
  REQUIRE(opened);
  Store& s = **opened;
  const std::int64_t day = 24 * 3600;
  std::int64_t now = 1'000'000;
  REQUIRE(s.add_mirror("m1", "http://m1.example.org/", "h1", now));
  REQUIRE(s.add_mirror("m2", "http://m2.example.org/", "h2", now));
  REQUIRE(s.add_mirror("never", "http://never.example.org/", "h3", now));
  ListingIndex index(s, *catalog, day, true);
  const auto policy = [&] { return ListingPolicy{now, day, true}; };
  check_same_as_policy(index, s, *catalog, policy());

  REQUIRE(s.ingest("m1", report("r1", entries, {true, true}), now));
  REQUIRE(s.ingest("m2", report("r2", entries, {true, false}, R"(["pad-files-not-served"])"), now));
  check_same_as_policy(index, s, *catalog, policy()); // pending: nobody listed yet
  CHECK(index.listed(0, now).empty());

  s.record_spot_check({"m1", entries[0].key, true, "piece 1 verified", now});
  s.record_spot_check({"m2", entries[0].key, true, "piece 0 verified", now});
  s.record_spot_check({"m1", entries[1].key, false, "http-content-mismatch (x)", now});
  check_same_as_policy(index, s, *catalog, policy());
  REQUIRE(index.listed(0, now).size() == 2);
  CHECK(index.listed(0, now)[0].base_url == "http://m1.example.org/");
  CHECK(index.listed(1, now).empty());
  CHECK(index.mirror("m1", now)->count(CellState::spot_failed) == 1);

  // another connection (the `mirror` commands) disables m2
  {
    auto other = Store::open(t / "c.sqlite");
    REQUIRE(other);
    REQUIRE((*other)->set_disabled("m2", true));
  }
  check_same_as_policy(index, s, *catalog, policy());
  CHECK(index.listed(0, now).size() == 1);

  // time alone: m1's report gets older than stale_after, then older still
  now += day;
  check_same_as_policy(index, s, *catalog, policy());
  now += 1;
  check_same_as_policy(index, s, *catalog, policy());
  CHECK(index.listed(0, now).empty());
  now += 3 * 3600;
  check_same_as_policy(index, s, *catalog, policy());
  CHECK(index.mirror("m1", now)->cells[0].reason == "no judged report for 27 h");

  // a fresh report brings it back (its spot checks still stand)
  REQUIRE(s.ingest("m1", report("r3", entries, {true, true}), now));
  check_same_as_policy(index, s, *catalog, policy());
  CHECK(index.listed(0, now).size() == 1);
  // a report that changes no list keeps every rendered answer (no re-render per ingest)
  int renders = 0;
  const auto render = [&](const std::vector<ListingIndex::Listed>& l) {
    ++renders;
    return std::to_string(l.size());
  };
  const auto first = index.listed_rendered(0, now, render);
  REQUIRE(s.ingest("m1", report("r4", entries, {true, true}), now));
  CHECK(index.listed_rendered(0, now, render) == first);
  CHECK(renders == 1);
  REQUIRE(s.ingest("m1", report("r5", entries, {false, true}), now)); // m1 leaves torrent 0
  CHECK(*index.listed_rendered(0, now, render) == "0");
  CHECK(renders == 2);
  REQUIRE(s.ingest("m1", report("r6", entries, {true, true}), now));
  check_same_as_policy(index, s, *catalog, policy());
  const ListingIndex::Totals totals = index.totals(now);
  CHECK(totals.mirrors == 3);
  CHECK(totals.per_torrent[0][static_cast<std::size_t>(CellState::listed)] == 1);
  CHECK(totals.cells[static_cast<std::size_t>(CellState::off)] == 2);
  CHECK(index.mirror("nobody", now) == nullptr);
}

TEST_CASE("a retired index stops taking changes; the index of a reloaded catalog sees them",
          "[collector][listing_index]")
{
  agent::testing::TempTree t;
  t.file("torrents/a.torrent", torrent("a.iso", 'a'));
  std::vector<std::string> problems;
  auto one = Catalog::load(t / "torrents", problems);
  REQUIRE(one);
  auto opened = Store::open(t / "c.sqlite");
  REQUIRE(opened);
  Store& s = **opened;
  const std::int64_t day = 24 * 3600;
  const std::int64_t now = 1'000'000;
  REQUIRE(s.add_mirror("m1", "http://m1.example.org/", "h1", now));
  ListingIndex old(s, *one, day, false);
  CHECK(old.listed(0, now).empty());

  // A claim for a torrent not in the catalog yet: stored, matched once the catalog has it.
  t.file("torrents/b.torrent", torrent("b.iso", 'b'));
  auto two = Catalog::load(t / "torrents", problems);
  REQUIRE(two);
  REQUIRE(two->entries().size() == 2);
  old.retire();
  REQUIRE(s.ingest("m1", report("r1", two->entries(), {true, true}), now));
  CHECK(old.listed(0, now).empty()); // retired: answers from what it had
  ListingIndex reloaded(s, *two, day, false);
  CHECK(reloaded.listed(0, now).size() == 1);
  CHECK(reloaded.listed(1, now).size() == 1);
  check_same_as_policy(reloaded, s, *two, ListingPolicy{now, day, false});
}
