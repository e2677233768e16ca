#include "seed_torrents.h"

#include "bencode.h"
#include "merkle.h"
#include "test_support.h"
#include "util/sha.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <stdexcept>

using namespace agent::testing;

namespace {

std::string raw(const util::Sha256& h)
{
  return std::string(reinterpret_cast<const char*>(h.data()), 32);
}

std::string v1_info(const std::string& name)
{
  return bdict({{"length", bint(40000)},
                {"name", bstr(name)},
                {"piece length", bint(16384)},
                {"pieces", bstr(std::string(60, 'h'))}});
}

// A v1 torrent with the usual companions of `info`; `url_list` is the raw value, if any.
std::string v1_torrent(const std::string& url_list)
{
  std::vector<std::pair<std::string, std::string>> keys = {
      {"announce", bstr("http://tracker/announce")},
      {"comment", bstr("Gentoo stage3")},
      {"creation date", bint(1700000000)},
      {"httpseeds", blist({bstr("http://old-seed/")})},
      {"info", v1_info("stage3.tar.xz")},
  };
  if (!url_list.empty()) {
    keys.emplace_back("url-list", url_list);
  }
  return bdict(keys);
}

// A hybrid torrent (v1 + v2) of one file of three 16 KiB pieces, with its piece layer.
struct Hybrid {
  std::string bytes;
  std::string layers; // raw bytes of the "piece layers" value
};

Hybrid hybrid_torrent()
{
  const std::size_t piece = 16384;
  std::vector<util::Sha256> leaves = {util::sha256("a"), util::sha256("b"), util::sha256("c")};
  std::string layer;
  for (const auto& h : leaves) {
    layer += raw(h);
  }
  const util::Sha256 root = agent::merkle_root(leaves, 4, util::Sha256{});
  const long long length = 3 * piece - 100;
  const auto tree =
      bdict({{"big.iso",
              bdict({{"", bdict({{"length", bint(length)}, {"pieces root", bstr(raw(root))}})}})}});
  Hybrid h;
  h.layers = bdict({{raw(root), bstr(layer)}});
  h.bytes = bdict({{"announce", bstr("http://tracker/announce")},
                   {"info", bdict({{"file tree", tree},
                                   {"length", bint(length)},
                                   {"meta version", bint(2)},
                                   {"name", bstr("big.iso")},
                                   {"piece length", bint(piece)},
                                   {"pieces", bstr(std::string(60, 'h'))}})},
                   {"piece layers", h.layers},
                   {"url-list", bstr("http://single/")}});
  return h;
}

// The raw bytes of each top-level pair ("key" -> raw value) and the keys in order.
struct TopLevel {
  std::vector<std::string> keys;
  std::vector<std::pair<std::string, std::string>> pairs;

  std::string value(const std::string& key) const
  {
    for (const auto& [k, v] : pairs) {
      if (k == key) {
        return v;
      }
    }
    return "<absent>";
  }
};

TopLevel top_level(const std::string& bytes)
{
  auto doc = bencode::decode(bytes); // strict: rejects unsorted or duplicate keys
  REQUIRE(doc);
  REQUIRE(doc->root().is_dict());
  TopLevel t;
  doc->root().for_each_pair([&](std::string_view key, const bencode::Node& value) {
    t.keys.emplace_back(key);
    t.pairs.emplace_back(std::string(key), std::string(value.raw()));
  });
  return t;
}

std::string read_all(const std::string& path)
{
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string error_of(const std::string& bytes)
{
  auto r = collector::with_url_list(bytes, {"http://m/"}, "x.torrent");
  REQUIRE_FALSE(r);
  return r.error();
}

} // namespace

TEST_CASE("with_url_list replaces a single-string url-list by a list, nothing else changes",
          "[collector]")
{
  const std::string in = v1_torrent(bstr("http://single/"));
  const std::vector<std::string> urls = {"https://m1.example/gentoo/", "http://m2/x/"};
  auto out = collector::with_url_list(in, urls, "x.torrent");
  REQUIRE(out);

  // Byte for byte what a careful encoder would write.
  CHECK(*out == v1_torrent(blist({bstr(urls[0]), bstr(urls[1])})));

  const auto before = top_level(in);
  const auto after = top_level(*out);
  CHECK(after.keys == std::vector<std::string>{"announce", "comment", "creation date", "httpseeds",
                                               "info", "url-list"});
  for (const char* key : {"announce", "comment", "creation date", "httpseeds", "info"}) {
    CHECK(after.value(key) == before.value(key));
  }
  CHECK(after.value("url-list") == "l26:https://m1.example/gentoo/12:http://m2/x/e");

  auto t_in = agent::parse_torrent(in, "in");
  auto t_out = agent::parse_torrent(*out, "out");
  REQUIRE(t_in);
  REQUIRE(t_out);
  CHECK(t_out->info_hash_v1 == t_in->info_hash_v1);
  CHECK(t_out->url_list == urls);
  CHECK(t_out->httpseeds == t_in->httpseeds);
  CHECK(t_out->comment == t_in->comment);
  CHECK(t_out->creation_date == t_in->creation_date);
  CHECK(t_out->trackers == t_in->trackers);
}

TEST_CASE("with_url_list sets, keeps sorted and removes url-list", "[collector]")
{
  SECTION("absent: inserted after info, before later keys (compared bytewise, unsigned)")
  {
    const std::string in = bdict({{"announce", bstr("http://t/")},
                                  {"info", v1_info("a")},
                                  {"url", bstr("u")},
                                  {"url-lis", bstr("before")},
                                  {"url-list0", bstr("after")},
                                  {"x-extra", bdict({{"k", bint(-5)}})},
                                  {"\xff", bstr("high byte")}});
    auto out = collector::with_url_list(in, {"http://m/"}, "x.torrent");
    REQUIRE(out);
    const auto after = top_level(*out);
    CHECK(after.keys == std::vector<std::string>{"announce", "info", "url", "url-lis", "url-list",
                                                 "url-list0", "x-extra", "\xff"});
    CHECK(after.value("url-list") == "l9:http://m/e");
    // Everything but the inserted pair is the input, in place.
    const std::string pair = "8:url-listl9:http://m/e";
    const auto at = out->find(pair);
    REQUIRE(at != std::string::npos);
    CHECK(out->substr(0, at) + out->substr(at + pair.size()) == in);
  }
  SECTION("only info: appended")
  {
    const std::string in = bdict({{"info", v1_info("a")}});
    auto out = collector::with_url_list(in, {"http://m/"}, "x.torrent");
    REQUIRE(out);
    CHECK(*out == bdict({{"info", v1_info("a")}, {"url-list", blist({bstr("http://m/")})}}));
  }
  SECTION("one URL is still a list")
  {
    auto out = collector::with_url_list(v1_torrent(""), {"http://m/"}, "x.torrent");
    REQUIRE(out);
    CHECK(*out == v1_torrent("l9:http://m/e"));
  }
  SECTION("an existing list is replaced")
  {
    auto out = collector::with_url_list(v1_torrent(blist({bstr("a"), bstr("b")})), {"c"}, "x");
    REQUIRE(out);
    CHECK(*out == v1_torrent("l1:ce"));
  }
  SECTION("no URLs: the key is removed")
  {
    auto out = collector::with_url_list(v1_torrent(bstr("http://single/")), {}, "x.torrent");
    REQUIRE(out);
    CHECK(*out == v1_torrent(""));
    auto none = collector::with_url_list(v1_torrent(""), {}, "x.torrent");
    REQUIRE(none);
    CHECK(*none == v1_torrent(""));
  }
  SECTION("URLs are bytes: nothing is escaped or dropped")
  {
    const char odd_bytes[] = "http://m/a b:c\0d\xc3";
    const std::string odd(odd_bytes, sizeof odd_bytes - 1);
    auto out = collector::with_url_list(v1_torrent(""), {odd}, "x.torrent");
    REQUIRE(out);
    auto t = agent::parse_torrent(*out, "out");
    REQUIRE(t);
    CHECK(t->url_list == std::vector<std::string>{odd});
  }
}

TEST_CASE("with_url_list on a hybrid torrent keeps both info-hashes and the piece layers",
          "[collector]")
{
  const Hybrid h = hybrid_torrent();
  auto t_in = agent::parse_torrent(h.bytes, "in");
  REQUIRE(t_in);
  REQUIRE(t_in->has_v1);
  REQUIRE(t_in->has_v2);
  REQUIRE_FALSE(t_in->piece_layer(t_in->files[0]).empty());

  auto out = collector::with_url_list(h.bytes, {"http://m1/", "http://m2/"}, "x.torrent");
  REQUIRE(out);
  auto t_out = agent::parse_torrent(*out, "out");
  REQUIRE(t_out);
  CHECK(t_out->info_hash_v1 == t_in->info_hash_v1);
  CHECK(t_out->info_hash_v2 == t_in->info_hash_v2);
  CHECK(t_out->piece_layer(t_out->files[0]) == t_in->piece_layer(t_in->files[0]));
  CHECK(t_out->url_list == std::vector<std::string>{"http://m1/", "http://m2/"});

  const auto before = top_level(h.bytes);
  const auto after = top_level(*out);
  CHECK(after.keys == std::vector<std::string>{"announce", "info", "piece layers", "url-list"});
  CHECK(after.value("info") == before.value("info"));
  CHECK(after.value("piece layers") == h.layers);
  CHECK(after.value("announce") == before.value("announce"));
  // The hashes are those of the exact info bytes of the output.
  CHECK(*t_out->info_hash_v1 == util::sha1(after.value("info")));
  CHECK(*t_out->info_hash_v2 == util::sha256(after.value("info")));
}

TEST_CASE("with_url_list refuses what is not one bencoded dictionary with an info dict",
          "[collector]")
{
  const std::string good = v1_torrent(bstr("http://single/"));
  CHECK(error_of(good.substr(0, good.size() - 1)) ==
        "x.torrent: byte " + std::to_string(good.size() - 1) + ": unexpected end of data");
  CHECK(error_of(good.substr(0, 40)).starts_with("x.torrent: byte "));
  CHECK(error_of(blist({bstr("info")})) ==
        "x.torrent: byte 0: top level is a list, not a dictionary");
  CHECK(error_of(bstr("spam")) == "x.torrent: byte 0: top level is a string, not a dictionary");
  CHECK(error_of(bint(3)) == "x.torrent: byte 0: top level is an integer, not a dictionary");
  CHECK(error_of("") == "x.torrent: byte 0: unexpected end of data");
  CHECK(error_of(bdict({{"announce", bstr("http://t/")}})) == "x.torrent: no 'info' dictionary");
  CHECK(error_of("d4:infol1:aee") == "x.torrent: byte 7: 'info' is a list, not a dictionary");
}

TEST_CASE("with_url_list keeps quirks clients accept; trailing bytes are dropped",
          "[collector]")
{
  // torrent-noncanonical torrents load in the catalog (libtorrent, aria2 and Transmission
  // accept them): seeding copies their pairs verbatim and keeps the info bytes.
  const std::string good = v1_torrent(bstr("http://single/"));
  const std::vector<std::string> urls = {"https://m1.example/gentoo/"};
  auto plain = collector::with_url_list(good, urls, "x.torrent");
  REQUIRE(plain);
  auto trailing = collector::with_url_list(good + "\n", urls, "x.torrent");
  REQUIRE(trailing);
  CHECK(*trailing == *plain);
  CHECK(collector::with_url_list(good + "garbage", urls, "x.torrent").value() == *plain);

  // unsorted root keys: copied in their order, url-list before the first key after it
  const std::string unsorted = "d4:infod6:lengthi1e4:name1:a12:piece lengthi16384e6:pieces20:" +
                               std::string(20, 'h') + "e8:announce3:urle";
  auto out = collector::with_url_list(unsorted, urls, "x.torrent");
  REQUIRE(out);
  auto t_in = agent::parse_torrent(unsorted, "in");
  auto t_out = agent::parse_torrent(*out, "out");
  REQUIRE(t_in);
  REQUIRE(t_out);
  CHECK(t_out->info_hash_v1 == t_in->info_hash_v1);
  CHECK(t_out->url_list == urls);
}

TEST_CASE("seed_torrents writes the valid torrents and reports the others", "[collector]")
{
  TempTree t;
  const std::string good = v1_torrent(bstr("http://single/"));
  t.file("in/a.torrent", good);
  t.file("in/b.torrent", "d4:infoi3ee");
  t.file("outside/secret.torrent", good);
  t.link("in/c.torrent", "../outside/secret.torrent");
  t.fifo("in/d.torrent");
  t.dir("in/e.torrent");
  t.file("in/notes.txt", good);
  t.file("in/.torrent", good);
  t.file("in/f.torrent.bak", good);

  std::vector<std::string> asked;
  const collector::UrlsFor urls_for = [&](const agent::Torrent& torrent) {
    asked.push_back(torrent.name);
    return std::vector<std::string>{"http://m1/" + torrent.name, "http://m2/"};
  };
  const auto outcome = collector::seed_torrents(t / "in", t / "out/deep", urls_for);

  CHECK(outcome.written == std::vector<std::string>{t / "out/deep/a.torrent"});
  CHECK(asked == std::vector<std::string>{"stage3.tar.xz"});
  const std::string written = read_all(t / "out/deep/a.torrent");
  auto expected = collector::with_url_list(good, {"http://m1/stage3.tar.xz", "http://m2/"}, "x");
  REQUIRE(expected);
  CHECK(written == *expected);
  struct stat st {};
  REQUIRE(::stat((t / "out/deep/a.torrent").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0644);

  REQUIRE(outcome.problems.size() == 4);
  CHECK(outcome.problems[0].starts_with(t / "in/b.torrent: byte 7: "));
  CHECK(outcome.problems[1] ==
        t / "in/c.torrent: a symbolic link (not followed; copy the .torrent file itself)");
  CHECK(outcome.problems[2] == t / "in/d.torrent: not a regular file");
  CHECK(outcome.problems[3] == t / "in/e.torrent: not a regular file");

  std::vector<std::string> out_names;
  for (const auto& e : std::filesystem::directory_iterator(t / "out/deep")) {
    out_names.push_back(e.path().filename().string());
  }
  CHECK(out_names == std::vector<std::string>{"a.torrent"});
}

TEST_CASE("seed_torrents: size limit, rerun over its own output, and fatal errors", "[collector]")
{
  TempTree t;
  const std::string good = v1_torrent("");
  t.file("in/a.torrent", good);
  const collector::UrlsFor urls_for = [](const agent::Torrent&) {
    return std::vector<std::string>{"http://m/"};
  };

  SECTION("a file over max_size is reported")
  {
    const auto outcome = collector::seed_torrents(t / "in", t / "out", urls_for, good.size() - 1);
    CHECK(outcome.written.empty());
    REQUIRE(outcome.problems.size() == 1);
    CHECK(outcome.problems[0] ==
          t / "in/a.torrent: larger than " + std::to_string(good.size() - 1) + " bytes");
  }
  SECTION("seeding the output again gives the same bytes (idempotent), in place too")
  {
    auto first = collector::seed_torrents(t / "in", t / "out", urls_for);
    REQUIRE(first.problems.empty());
    const std::string once = read_all(t / "out/a.torrent");
    auto second = collector::seed_torrents(t / "out", t / "out", urls_for);
    REQUIRE(second.problems.empty());
    CHECK(read_all(t / "out/a.torrent") == once);
  }
  SECTION("an unreadable input directory or an uncreatable output directory throws")
  {
    CHECK_THROWS_AS(collector::seed_torrents(t / "missing", t / "out", urls_for),
                    std::runtime_error);
    t.file("blocker", "x");
    CHECK_THROWS_AS(collector::seed_torrents(t / "in", t / "blocker/out", urls_for),
                    std::runtime_error);
  }
}
