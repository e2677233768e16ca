#include "url_policy.h"

#include "collector_config.h"

#include <catch2/catch.hpp>

using namespace collector;

namespace {

Listing listing_of(const std::vector<std::string>& listed,
                   const std::vector<std::string>& not_listed)
{
  Listing l;
  for (const bool is_listed : {true, false}) {
    for (const std::string& n : is_listed ? listed : not_listed) {
      MirrorRow m;
      m.name = n;
      m.base_url = "http://" + n + ".example/pub/";
      l.mirrors.push_back(m);
      l.cells[{n, "k"}] = Cell(is_listed ? CellState::listed : CellState::spot_failed, "");
    }
  }
  return l;
}

} // namespace

TEST_CASE("url-list policy: spot-check success first, then recency, capped, fallbacks last",
          "[url_policy]")
{
  const Listing l = listing_of({"a", "b", "c", "d"}, {"x"});
  const std::vector<SpotCheck> spots = {
      {"a", "k", true, "", 100, 0}, {"a", "k2", false, "", 100, 0}, // a: 1 of 2
      {"b", "k", true, "", 50, 0},                                  // b: 1 of 1, older
      {"c", "k", true, "", 200, 0},                                 // c: 1 of 1, newer
      {"x", "k", true, "", 300, 0},                                 // x: not listed
  };
  const MirrorRanks ranks = rank_mirrors(spots);
  const std::string dir = "experimental/torrent-symlinks";
  CHECK(published_webseeds(listed_mirrors(l, "k"), ranks, dir, 32, {}) ==
        std::vector<std::string>{"http://c.example/pub/experimental/torrent-symlinks/",
                                 "http://b.example/pub/experimental/torrent-symlinks/",
                                 "http://a.example/pub/experimental/torrent-symlinks/",
                                 "http://d.example/pub/experimental/torrent-symlinks/"});
  CHECK(published_webseeds(listed_mirrors(l, "k"), ranks, dir, 3, {"https://origin/pub/"}) ==
        std::vector<std::string>{"http://c.example/pub/experimental/torrent-symlinks/",
                                 "http://b.example/pub/experimental/torrent-symlinks/",
                                 "https://origin/pub/"});
  CHECK(published_webseeds(listed_mirrors(l, "unknown"), ranks, dir, 3, {"https://origin/pub/"}) ==
        std::vector<std::string>{"https://origin/pub/"});
}

TEST_CASE("url-list policy: measured throughput before recency, in factor-of-two steps",
          "[url_policy]")
{
  const Listing l = listing_of({"fast", "slow", "near", "new"}, {});
  const std::vector<SpotCheck> spots = {
      {"fast", "k", true, "", 100, 8'000'000}, {"fast", "k2", true, "", 100, 12'000'000},
      {"slow", "k", true, "", 300, 1'000'000}, // newer, but 10x slower
      {"near", "k", true, "", 200, 9'000'000}, // the same step as fast's mean (10 MB/s): newer
      {"new", "k", true, "", 400, 0},          // passed, nothing measured: last
  };
  const MirrorRanks ranks = rank_mirrors(spots);
  CHECK(ranks.at("fast").bytes_per_second == 10'000'000);
  CHECK(throughput_step(ranks.at("fast")) == throughput_step(ranks.at("near")));
  CHECK(throughput_step(ranks.at("new")) == 0);
  CHECK(published_webseeds(listed_mirrors(l, "k"), ranks, "d", 32, {}) ==
        std::vector<std::string>{"http://near.example/pub/d/", "http://fast.example/pub/d/",
                                 "http://slow.example/pub/d/", "http://new.example/pub/d/"});
}

TEST_CASE("publish keys: lists of URLs, strict", "[url_policy]")
{
  const auto ok = parse_collector_config("torrents: /t\npublish:\n  max_webseeds: 3\n"
                                         "  fallback_webseeds: [http://o/]\n"
                                         "  trackers: [udp://t:1, http://t2/a]\n",
                                         "c.yaml");
  REQUIRE(ok);
  CHECK(ok->publish.max_webseeds == 3);
  CHECK(ok->publish.fallback_webseeds == std::vector<std::string>{"http://o/"});
  CHECK(ok->publish.trackers == std::vector<std::string>{"udp://t:1", "http://t2/a"});
  CHECK(parse_collector_config("torrents: /t\n", "c.yaml")->publish.max_webseeds == 32);
  const auto bad =
      parse_collector_config("torrents: /t\npublish:\n  trackers: [ftp://x]\n", "c.yaml");
  REQUIRE(!bad);
  CHECK(bad.error() == "c.yaml:3:14: 'publish.trackers' entries must be http(s) or udp URLs, not "
                       "'ftp://x'");
  CHECK(!parse_collector_config("torrents: /t\npublish:\n  fallback: []\n", "c.yaml"));
}
