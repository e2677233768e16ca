#include "live_torrents.h"

#include "bencode.h"
#include "test_support.h"

#include <catch2/catch.hpp>

using namespace agent::testing;
using namespace collector;

namespace {

Catalog catalog_with(const TempTree& t)
{
  const std::string info = bdict({{"length", bint(20000)},
                                  {"name", bstr("x y.iso")},
                                  {"piece length", bint(16384)},
                                  {"pieces", bstr(std::string(40, 'h'))}});
  t.file("torrents/x.torrent", bdict({{"info", info}, {"url-list", blist({bstr("http://old/")})}}));
  std::vector<std::string> problems;
  return *Catalog::load(t / "torrents", problems);
}

} // namespace

TEST_CASE("live torrents: url-list now, info untouched, ETag and 304", "[live_torrents]")
{
  TempTree t;
  const Catalog catalog = catalog_with(t);
  LiveTorrents live;
  std::vector<std::string> urls = {"http://m1/pub/experimental/torrent-symlinks/"};
  const WebseedsFor webseeds = [&](const std::string&) { return urls; };
  HttpRequest req;
  req.method = "GET";
  HttpResponse r = live.get(catalog, "x.torrent", webseeds, req, 1000);
  REQUIRE(r.status == 200);
  CHECK(r.content_type == "application/x-bittorrent");
  auto parsed = agent::parse_torrent(r.body, "live");
  REQUIRE(parsed);
  CHECK(parsed->url_list == urls);
  CHECK(parsed->info_hash_v1 == catalog.entries()[0].torrent->info_hash_v1);
  const auto header = [](const HttpResponse& x, const std::string& name) {
    for (const auto& [k, v] : x.headers) {
      if (k == name) {
        return v;
      }
    }
    return std::string();
  };
  const std::string etag = header(r, "ETag");
  CHECK(etag.size() == 42);
  CHECK(header(r, "Last-Modified") == "Thu, 01 Jan 1970 00:16:40 GMT");

  req.headers["if-none-match"] = "\"other\", " + etag;
  HttpResponse again = live.get(catalog, "x.torrent", webseeds, req, 2000);
  CHECK(again.status == 304);
  CHECK(again.body.empty());
  CHECK(header(again, "Last-Modified") == "Thu, 01 Jan 1970 00:16:40 GMT"); // unchanged since

  urls.push_back("http://m2/");
  HttpResponse changed = live.get(catalog, "x.torrent", webseeds, req, 3000);
  CHECK(changed.status == 200);
  CHECK(header(changed, "ETag") != etag);
  CHECK(header(changed, "Last-Modified") == "Thu, 01 Jan 1970 00:50:00 GMT");

  CHECK(live.get(catalog, "../x.torrent", webseeds, req, 1).status == 404);
  CHECK(live.get(catalog, "nope.torrent", webseeds, req, 1).status == 404);
}

TEST_CASE("magnet: btih, dn, tr and ws percent-encoded", "[live_torrents]")
{
  TempTree t;
  const Catalog catalog = catalog_with(t);
  const CatalogEntry& e = catalog.entries()[0];
  const std::string m = magnet_uri(e, {"http://m1/a b/"}, {"udp://tracker.example:6969/announce"});
  CHECK(m == "magnet:?xt=urn:btih:" + e.v1 +
                 "&dn=x%20y.iso&tr=udp%3A%2F%2Ftracker.example%3A6969%2Fannounce"
                 "&ws=http%3A%2F%2Fm1%2Fa%20b%2F");
  const HttpResponse redirect = magnet_response(e, {}, {}, true);
  CHECK(redirect.status == 302);
  CHECK(etag_matches("*", "\"a\""));
  CHECK(etag_matches("W/\"a\"", "\"a\""));
  CHECK(!etag_matches("\"b\"", "\"a\""));
}
