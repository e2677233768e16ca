// Unit tests of the listing policy, tokens and the collector's config.
#include "collector_config.h"
#include "dashboard.h"
#include "listing.h"
#include "tokens.h"

#include "test_support.h"

#include <catch2/catch.hpp>

#include <set>

using namespace collector;

namespace {

MirrorRow mirror(const std::string& name, std::int64_t judged_at)
{
  MirrorRow m;
  m.name = name;
  m.base_url = "https://" + name + "/gentoo/";
  m.judged_at = judged_at;
  m.last_report_at = judged_at;
  return m;
}

Claim claim(const std::string& mirror_name, const std::string& v1, bool ready)
{
  Claim c;
  c.mirror = mirror_name;
  c.info_hash_v1 = v1;
  c.ready = ready;
  c.reason = ready ? "" : "dangling x: the target does not exist";
  return c;
}

} // namespace

TEST_CASE("listing: ready + fresh + spot-checked, and why not", "[collector]")
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
  REQUIRE(catalog->entries().size() == 1);
  const std::string key = catalog->entries()[0].key;
  const std::int64_t now = 1'000'000;
  std::vector<MirrorRow> mirrors;
  for (const char* name :
       {"listed", "pending", "spotfail", "notready", "unknown", "stale", "disabled", "withdrawn"}) {
    mirrors.push_back(mirror(name, now - 60));
  }
  mirrors[5].judged_at = now - 13 * 3600;
  mirrors[6].disabled = true;
  mirrors[7].opted_in = false;
  std::vector<Claim> claims;
  for (const char* name : {"listed", "pending", "spotfail", "stale", "disabled", "withdrawn"}) {
    claims.push_back(claim(name, key, true));
  }
  claims.push_back(claim("notready", key, false));
  const std::vector<SpotCheck> spots = {
      {"listed", key, true, "pieces 1, 2 verified", now - 5, 0},
      {"spotfail", key, false, "http-content-mismatch", now - 5, 0}};
  const Listing l =
      compute_listing(*catalog, mirrors, claims, spots, ListingPolicy{now, 12 * 3600, true});
  CHECK(l.cell("listed", key).state == CellState::listed);
  CHECK(l.cell("pending", key).state == CellState::pending);
  CHECK(l.cell("spotfail", key).state == CellState::spot_failed);
  CHECK(l.cell("spotfail", key).reason == "spot check failed: http-content-mismatch");
  CHECK(l.cell("notready", key).state == CellState::not_ready);
  CHECK(l.cell("notready", key).reason == "dangling x: the target does not exist");
  CHECK(l.cell("unknown", key).state == CellState::unknown);
  CHECK(l.cell("stale", key).state == CellState::stale);
  CHECK(l.cell("disabled", key).state == CellState::off);
  CHECK(l.cell("withdrawn", key).state == CellState::off);
  CHECK(l.base_urls(key) == std::vector<std::string>{"https://listed/gentoo/"});
  // Spot checks off: every fresh, enabled, ready claim is listed.
  const Listing trusting =
      compute_listing(*catalog, mirrors, claims, spots, ListingPolicy{now, 12 * 3600, false});
  CHECK(trusting.base_urls(key).size() == 3);
  CHECK(webseed_base("https://m/gentoo", "experimental/torrent-symlinks") ==
        "https://m/gentoo/experimental/torrent-symlinks/");
  CHECK(webseed_base("https://m/gentoo/", "experimental/torrent-symlinks") ==
        "https://m/gentoo/experimental/torrent-symlinks/");
}

TEST_CASE("tokens: random, url-safe, stored as SHA-256", "[collector]")
{
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) {
    const std::string t = new_token();
    CHECK(t.size() == 4 + 43);
    CHECK(t.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
                              4) == std::string::npos);
    seen.insert(t);
  }
  CHECK(seen.size() == 50);
  CHECK(token_hash("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("collector config: defaults and errors name the place", "[collector]")
{
  auto c = parse_collector_config("torrents: /srv/torrents\n", "c.yaml");
  REQUIRE(c);
  CHECK(c->listen == "127.0.0.1:8443");
  CHECK(c->stale_after_s == 12 * 3600);
  CHECK(c->spot.enabled);
  auto d = parse_collector_config("torrents: /t\nstale_after: 2h\nspot_check:\n  pieces: 3\n"
                                  "  round_every: 5s\ntls:\n  cert: /c.pem\n  key: /k.pem\n",
                                  "c.yaml");
  REQUIRE(d);
  CHECK(d->stale_after_s == 7200);
  CHECK(d->spot.pieces == 3);
  CHECK(d->tls_cert == "/c.pem");
  CHECK(parse_collector_config("torrents: /t\nlisten: nowhere\n", "c.yaml").error() ==
        "c.yaml:2:9: 'listen' must be ADDRESS:PORT, not 'nowhere'");
  CHECK(parse_collector_config("torrents: /t\nspot_check:\n  piecez: 1\n", "c.yaml").error() ==
        "c.yaml:3:3: unknown key 'spot_check.piecez'");
  CHECK(parse_collector_config("listen: 127.0.0.1:1\n", "c.yaml").error() ==
        "c.yaml: missing required key 'torrents'");
  CHECK(parse_collector_config("torrents: /t\ntls:\n  cert: /c\n", "c.yaml").error() ==
        "c.yaml:3:3: 'tls' needs both 'cert' and 'key'");
}

TEST_CASE("dashboard escapes what mirrors and torrents say", "[collector]")
{
  CHECK(html_escape("<script>alert('x')</script> & \"") ==
        "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;");
  const Catalog empty;
  auto status = std::make_shared<MirrorStatus>();
  status->row = mirror("<b>evil</b>", 100);
  status->main_reason = "<i>why</i>";
  const ListingIndex::Snapshot mirrors{status};
  const std::map<std::string, std::vector<TorrentNote>> notes;
  const DashboardView view{empty, mirrors, notes, 200, 3600};
  for (const std::string& html : {render_overview(view), render_mirror_page(view, *status)}) {
    CHECK(html.find("<b>evil</b>") == std::string::npos);
    CHECK(html.find("&lt;b&gt;evil&lt;/b&gt;") != std::string::npos);
    CHECK(html.find("<i>") == std::string::npos);
  }
}

TEST_CASE("listing: per-client usability per cell, torrent notes once per torrent",
          "[collector][clients]")
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
  const std::int64_t now = 1'000'000;
  std::vector<MirrorRow> mirrors{mirror("one", now - 60), mirror("two", now - 60),
                                 mirror("off", now - 60)};
  mirrors[2].disabled = true;
  std::vector<Claim> claims{claim("one", key, true), claim("two", key, true),
                            claim("off", key, true)};
  for (Claim& c : claims) {
    c.codes_json = R"(["pad-files-not-served"])";
    c.clients_json = R"({"libtorrent": true, "transmission": true, "aria2": false})";
  }
  claims[2].codes_json = "[]"; // a disabled mirror does not count
  claims[1].clients_json = R"({"aria2": "maybe", "libtorrent": true})"; // not booleans: dropped
  const ListingPolicy policy{now, 12 * 3600, false};
  Listing l = compute_listing(*catalog, mirrors, claims, {}, policy);

  const Cell& one = l.cell("one", key);
  CHECK(one.clients == std::map<std::string, bool>{
                           {"aria2", false}, {"libtorrent", true}, {"transmission", true}});
  CHECK(clients_line(one.clients) == "aria2 no, libtorrent yes, transmission yes");
  CHECK(l.cell("two", key).clients == std::map<std::string, bool>{{"libtorrent", true}});

  // pad files served nowhere: one note for the torrent, not one per mirror
  REQUIRE(l.notes.count(key) == 1);
  REQUIRE(l.notes.at(key).size() == 1);
  CHECK(l.notes.at(key)[0].code == "pad-files-not-served");
  CHECK(l.notes.at(key)[0].clients == std::vector<std::string>{"transmission", "aria2"});

  // one mirror serves them: no note
  claims[1].codes_json = "[]";
  l = compute_listing(*catalog, mirrors, claims, {}, policy);
  CHECK(l.notes.count(key) == 0);
}

TEST_CASE("listing: a torrent with quirks clients accept gets its note once",
          "[collector][clients]")
{
  agent::testing::TempTree t;
  t.file("torrents/a.torrent",
         agent::testing::bdict(
             {{"info",
               agent::testing::bdict({{"length", agent::testing::bint(40000)},
                                      {"name", agent::testing::bstr("a.iso")},
                                      {"piece length", agent::testing::bint(16384)},
                                      {"pieces", agent::testing::bstr(std::string(60, 'h'))}})}}) +
             "\n");
  std::vector<std::string> problems;
  auto catalog = Catalog::load(t / "torrents", problems);
  REQUIRE(catalog);
  REQUIRE(catalog->entries().size() == 1);
  const std::string key = catalog->entries()[0].key;
  const Listing l = compute_listing(*catalog, {}, {}, {}, ListingPolicy{1'000'000, 3600, false});
  REQUIRE(l.notes.count(key) == 1);
  REQUIRE(l.notes.at(key).size() == 1);
  CHECK(l.notes.at(key)[0].code == "torrent-noncanonical");
  CHECK(l.notes.at(key)[0].message.find("trailing data") != std::string::npos);
  CHECK(l.notes.at(key)[0].clients.empty());
}
