#include "torrent.h"

#include "mirror_layout.h"
#include "test_support.h"
#include "torrent_output.h"
#include "util/sha.h"

#include <catch2/catch.hpp>

using agent::TorrentErrc;
using namespace agent::testing;

namespace {

std::string hashes(std::size_t n)
{
  return std::string(20 * n, 'h');
}

std::string v1_single(const std::string& name, long long length, long long piece,
                      std::size_t pieces)
{
  return bdict({{"announce", bstr("http://tracker/announce")},
                {"info", bdict({{"length", bint(length)},
                                {"name", bstr(name)},
                                {"piece length", bint(piece)},
                                {"pieces", bstr(hashes(pieces))}})},
                {"url-list", bstr("http://seed/")}});
}

std::string v1_multi(const std::vector<std::pair<std::vector<std::string>, long long>>& files,
                     long long piece, std::size_t pieces, const std::string& name = "dir")
{
  std::vector<std::string> list;
  for (const auto& [path, length] : files) {
    std::vector<std::string> comps;
    for (const auto& c : path) {
      comps.push_back(bstr(c));
    }
    list.push_back(bdict({{"length", bint(length)}, {"path", blist(comps)}}));
  }
  return bdict({{"info", bdict({{"files", blist(list)},
                                {"name", bstr(name)},
                                {"piece length", bint(piece)},
                                {"pieces", bstr(hashes(pieces))}})}});
}

agent::TorrentError error_of(const std::string& bytes)
{
  auto t = agent::parse_torrent(bytes, "t.torrent");
  REQUIRE_FALSE(t);
  return t.error();
}

} // namespace

TEST_CASE("a v1 single-file torrent", "[torrent]")
{
  const std::string bytes = v1_single("stage3.tar.bz2", 40000, 16384, 3);
  auto t = agent::parse_torrent(bytes, "t.torrent");
  REQUIRE(t);
  CHECK(t->name == "stage3.tar.bz2");
  CHECK_FALSE(t->multi_file);
  CHECK(t->has_v1);
  CHECK_FALSE(t->has_v2);
  CHECK(t->piece_count == 3);
  CHECK(t->total_size == 40000);
  REQUIRE(t->files.size() == 1);
  CHECK(t->files[0].path == std::vector<std::string>{"stage3.tar.bz2"});
  CHECK(t->url_list == std::vector<std::string>{"http://seed/"});
  CHECK(t->trackers == std::vector<std::vector<std::string>>{{"http://tracker/announce"}});
  // The info-hash is the SHA-1 of the exact info bytes.
  const auto info_at = bytes.find("4:infod") + 6;
  const auto info_end = bytes.find("e8:url-list");
  CHECK(*t->info_hash_v1 ==
        util::sha1(std::string_view(bytes).substr(info_at, info_end + 1 - info_at)));
  CHECK(t->piece_hash_v1(2) == std::string(20, 'h'));
}

TEST_CASE("a v1 multi-file torrent: offsets, sizes, mapping to the mirror", "[torrent]")
{
  auto t = agent::parse_torrent(
      v1_multi({{{"a.iso"}, 30000}, {{"sub", "b c.txt"}, 5000}, {{"empty"}, 0}}, 16384, 3),
      "t.torrent");
  REQUIRE(t);
  CHECK(t->multi_file);
  REQUIRE(t->files.size() == 3);
  CHECK(t->files[1].offset == 30000);
  CHECK(t->files[2].offset == 35000);
  CHECK(agent::mirror_path("experimental/torrent-symlinks", *t, t->files[1]) ==
        "experimental/torrent-symlinks/dir/sub/b c.txt");
  CHECK(
      agent::webseed_url("https://m.example/g", "experimental/torrent-symlinks", *t, t->files[1]) ==
      "https://m.example/g/experimental/torrent-symlinks/dir/sub/b%20c.txt");
}

TEST_CASE("single-file URLs end in the name; components are percent-encoded once", "[torrent]")
{
  auto t = agent::parse_torrent(v1_single("a b%#?\xc3\xa9.iso", 10, 16384, 1), "t.torrent");
  REQUIRE(t);
  CHECK(agent::webseed_url("http://m/", "x/y", *t, t->files[0]) ==
        "http://m/x/y/a%20b%25%23%3F%C3%A9.iso");
  CHECK(agent::percent_encode("A-z_0.9~") == "A-z_0.9~");
}

TEST_CASE("unsafe paths are rejected as unsafe-path", "[torrent]")
{
  for (const std::vector<std::string>& path : std::vector<std::vector<std::string>>{
           {".."}, {"a", ".."}, {"."}, {""}, {"a/b"}, {std::string("a\0b", 3)}, {}}) {
    const auto e = error_of(v1_multi({{path, 10}}, 16384, 1));
    CHECK(e.code == TorrentErrc::unsafe_path);
  }
  CHECK(error_of(v1_single("..", 10, 16384, 1)).code == TorrentErrc::unsafe_path);
  CHECK(error_of(v1_single("/etc", 10, 16384, 1)).code == TorrentErrc::unsafe_path);
  const auto e = error_of(v1_multi({{{"ok"}, 10}, {{"a", ".."}, 10}}, 16384, 1));
  CHECK(e.message.find("t.torrent: byte ") == 0);
  CHECK(e.message.find("info.files[1].path[1]: path component '..' is not allowed") !=
        std::string::npos);
}

TEST_CASE("malformed v1 torrents are torrent-invalid with the place named", "[torrent]")
{
  CHECK(error_of("le").message ==
        "t.torrent: byte 0: not a torrent: the top level is not a dictionary");
  CHECK(error_of(bdict({{"announce", bstr("x")}})).message.find("missing or invalid 'info'") !=
        std::string::npos);
  CHECK(error_of(v1_single("x", 40000, 16384, 2)).message.find("info.pieces holds 2 hashes") !=
        std::string::npos);
  CHECK(error_of(v1_single("x", -1, 16384, 1)).message.find("info.length is negative") !=
        std::string::npos);
  CHECK(error_of(v1_single("x", 10, 0, 1)).message.find("piece length 0 is out of range") !=
        std::string::npos);
  CHECK(error_of(v1_single("x", 0, 16384, 0)).message.find("total size 0") != std::string::npos);
  CHECK(error_of(v1_multi({}, 16384, 0)).message.find("info.files is empty") != std::string::npos);
  const auto e = error_of(
      "d4:infod6:lengthi5e4:name1:x12:piece lengthi16384e6:pieces20:" + hashes(1) + "ei03ee");
  CHECK(e.code == TorrentErrc::invalid);
  CHECK(e.message == "t.torrent: byte 82: dictionary key is not a string");
}

namespace {

// A 83-byte v1 torrent with every offset known:
//   0 d   1 4:info   7 d   8 6:length  16 i5e  19 4:name  25 1:x  28 12:piece length
//  43 i16384e  50 6:pieces  58 20:<20 bytes>  81 e (info)  82 e (top)
const std::string k_mini =
    "d4:infod6:lengthi5e4:name1:x12:piece lengthi16384e6:pieces20:" + hashes(1) + "ee";

std::string info_of(const std::string& bytes, std::size_t begin, std::size_t end)
{
  return bytes.substr(begin, end - begin);
}

} // namespace

TEST_CASE("quirks clients accept: kept with byte offsets, hashes over the exact info bytes",
          "[torrent]")
{
  REQUIRE(k_mini.size() == 83);
  SECTION("canonical: no quirks")
  {
    auto t = agent::parse_torrent(k_mini, "t.torrent");
    REQUIRE(t);
    CHECK(t->quirk_count == 0);
    CHECK(t->quirks.empty());
    CHECK_FALSE(agent::quirk_finding("t.torrent", *t));
  }
  SECTION("a newline after the top-level dictionary")
  {
    auto t = agent::parse_torrent(k_mini + "\n", "t.torrent");
    REQUIRE(t);
    REQUIRE(t->quirk_count == 1);
    CHECK(t->quirks[0].offset == 83);
    CHECK(t->quirks[0].what == "trailing data after the top-level value (1 byte after the end)");
    CHECK(t->info_hash_v1 == util::sha1(info_of(k_mini, 7, 82)));
    const auto finding = agent::quirk_finding("t.torrent", *t);
    REQUIRE(finding);
    CHECK(finding->code == agent::Code::torrent_noncanonical);
    CHECK(finding->severity() == agent::Severity::warning);
    CHECK(finding->path == "t.torrent");
    CHECK(finding->message ==
          "t.torrent: byte 83: trailing data after the top-level value (1 byte after the end)");
  }
  SECTION("unsorted keys in the info dictionary: the hash is over them as they are")
  {
    std::string bytes = k_mini;
    bytes.replace(8, 20, "4:name1:x6:lengthi5e");
    auto t = agent::parse_torrent(bytes, "t.torrent");
    REQUIRE(t);
    REQUIRE(t->quirk_count == 1);
    CHECK(t->quirks[0].offset == 17);
    CHECK(t->quirks[0].what == "dictionary keys not sorted ('length' after 'name')");
    CHECK(t->total_size == 5);
    CHECK(t->info_hash_v1 == util::sha1(info_of(bytes, 7, 82)));
    CHECK(t->info_hash_v1 != util::sha1(info_of(k_mini, 7, 82)));
  }
  SECTION("a duplicate key: the first counts, as in libtorrent")
  {
    std::string bytes = k_mini;
    bytes.replace(19, 9, "4:name1:x4:name1:y");
    auto t = agent::parse_torrent(bytes, "t.torrent");
    REQUIRE(t);
    REQUIRE(t->quirk_count == 1);
    CHECK(t->quirks[0].offset == 28);
    CHECK(t->quirks[0].what == "duplicate dictionary key ('name')");
    CHECK(t->name == "x");
  }
  SECTION("file dictionaries with unsorted keys (older tools)")
  {
    const std::string bytes = "d4:infod5:filesld4:pathl1:ae6:lengthi5eee4:name1:d"
                              "12:piece lengthi16384e6:pieces20:" +
                              hashes(1) + "ee";
    auto t = agent::parse_torrent(bytes, "t.torrent");
    REQUIRE(t);
    REQUIRE(t->quirk_count == 1);
    CHECK(t->quirks[0].offset == bytes.find("6:length"));
    CHECK(t->files.at(0).joined_path() == "a");
    CHECK(t->files.at(0).length == 5);
  }
  SECTION("many quirks: the first five kept, all counted, the message says how many more")
  {
    std::string bytes = k_mini.substr(0, 82);
    for (int i = 9; i >= 1; --i) {
      bytes += "2:x" + std::to_string(i) + "0:";
    }
    bytes += "e\n";
    auto t = agent::parse_torrent(bytes, "t.torrent");
    REQUIRE(t);
    CHECK(t->quirk_count == 9); // 8 unsorted x-keys + the newline
    REQUIRE(t->quirks.size() == agent::Torrent::k_max_kept_quirks);
    CHECK(std::is_sorted(t->quirks.begin(), t->quirks.end(),
                         [](const auto& a, const auto& b) { return a.offset < b.offset; }));
    const auto finding = agent::quirk_finding("t.torrent", *t);
    REQUIRE(finding);
    CHECK(finding->message.starts_with("t.torrent: byte 88: dictionary keys not sorted ('x8' "
                                       "after 'x9'); byte 94: "));
    CHECK(finding->message.ends_with("; 4 more"));
  }
}

TEST_CASE("BEP 47 attributes are read; pad files do not count in the total", "[torrent]")
{
  const std::string info = bdict(
      {{"files",
        blist({bdict({{"length", bint(10)}, {"path", blist({bstr("a")})}}),
               bdict({{"attr", bstr("p")},
                      {"length", bint(16374)},
                      {"path", blist({bstr(".pad"), bstr("16374")})}}),
               bdict({{"attr", bstr("x")}, {"length", bint(5)}, {"path", blist({bstr("b")})}})})},
       {"name", bstr("d")},
       {"piece length", bint(16384)},
       {"pieces", bstr(hashes(2))}});
  auto t = agent::parse_torrent(bdict({{"info", info}}), "t.torrent");
  REQUIRE(t);
  CHECK(t->files[1].pad);
  CHECK(t->files[2].executable);
  CHECK(t->files[2].offset == 16384);
  CHECK(t->total_size == 15);
}

namespace {

// A v2 single file of `length` bytes whose blocks hash to `leaf`: builds the piece layer and
// root the way BEP 52 does (16 KiB blocks, pieces of `piece` bytes).
struct V2File {
  std::string layer;
  util::Sha256 root;
};

util::Sha256 merkle(std::vector<util::Sha256> level, const util::Sha256& pad)
{
  std::size_t width = 1;
  while (width < level.size()) {
    width *= 2;
  }
  level.resize(width, pad);
  while (level.size() > 1) {
    for (std::size_t i = 0; i < level.size() / 2; ++i) {
      level[i] = util::sha256_pair(level[2 * i], level[2 * i + 1]);
    }
    level.resize(level.size() / 2);
  }
  return level[0];
}

V2File v2_file(std::size_t pieces, std::size_t piece)
{
  // Every piece is a subtree of piece/16KiB blocks hashing to 'b' repeated.
  util::Sha256 block{};
  block.fill('b');
  std::vector<util::Sha256> blocks(piece / 16384, block);
  const util::Sha256 piece_hash = merkle(blocks, util::Sha256{});
  util::Sha256 zero_piece{};
  for (std::size_t b = piece / 16384; b > 1; b /= 2) {
    zero_piece = util::sha256_pair(zero_piece, zero_piece);
  }
  V2File f;
  std::vector<util::Sha256> layer(pieces, piece_hash);
  for (const auto& h : layer) {
    f.layer.append(reinterpret_cast<const char*>(h.data()), 32);
  }
  f.root = merkle(layer, zero_piece);
  return f;
}

std::string raw(const util::Sha256& h)
{
  return std::string(reinterpret_cast<const char*>(h.data()), 32);
}

} // namespace

TEST_CASE("v2 and hybrid torrents: roots, piece layers and the v1/v2 consistency check",
          "[torrent]")
{
  const std::size_t piece = 32768;
  const V2File f = v2_file(3, piece);
  const long long length = 3 * piece - 100;
  const auto tree = bdict(
      {{"big.iso",
        bdict({{"", bdict({{"length", bint(length)}, {"pieces root", bstr(raw(f.root))}})}})}});
  const auto layers = bdict({{raw(f.root), bstr(f.layer)}});
  const auto v2_info = bdict({{"file tree", tree},
                              {"meta version", bint(2)},
                              {"name", bstr("big.iso")},
                              {"piece length", bint(piece)}});
  SECTION("v2 only")
  {
    auto t =
        agent::parse_torrent(bdict({{"info", v2_info}, {"piece layers", layers}}), "t.torrent");
    REQUIRE(t);
    CHECK_FALSE(t->has_v1);
    CHECK(t->has_v2);
    CHECK_FALSE(t->multi_file);
    CHECK(t->piece_count == 3);
    CHECK(t->total_size == static_cast<std::uint64_t>(length));
    CHECK(t->piece_layer(t->files[0]) == f.layer);
    CHECK_FALSE(t->info_hash_v1);
    CHECK(t->info_hash_v2);
  }
  SECTION("a piece layer that does not hash to the root is rejected")
  {
    std::string bad = f.layer;
    bad[5] ^= 1;
    const auto e =
        error_of(bdict({{"info", v2_info}, {"piece layers", bdict({{raw(f.root), bstr(bad)}})}}));
    CHECK(e.message.find("do not hash to the file's pieces root") != std::string::npos);
  }
  SECTION("hybrid: the v1 view must describe the same file")
  {
    const auto hybrid = [&](long long v1_length) {
      return bdict({{"info", bdict({{"file tree", tree},
                                    {"length", bint(v1_length)},
                                    {"meta version", bint(2)},
                                    {"name", bstr("big.iso")},
                                    {"piece length", bint(piece)},
                                    {"pieces", bstr(hashes(3))}})},
                    {"piece layers", layers}});
    };
    auto ok = agent::parse_torrent(hybrid(length), "t.torrent");
    REQUIRE(ok);
    CHECK(ok->has_v1);
    CHECK(ok->has_v2);
    CHECK(ok->files[0].pieces_root == f.root);
    CHECK(error_of(hybrid(length - 1)).message.find("does not match v2 file") != std::string::npos);
  }
  SECTION("v2 structural errors")
  {
    const auto with_info = [](const std::string& info) { return bdict({{"info", info}}); };
    CHECK(error_of(with_info(bdict({{"file tree", tree},
                                    {"meta version", bint(2)},
                                    {"name", bstr("big.iso")},
                                    {"piece length", bint(20000)}})))
              .message.find("power of two") != std::string::npos);
    const auto zero_root =
        bdict({{"x", bdict({{"", bdict({{"length", bint(5)},
                                        {"pieces root", bstr(std::string(32, '\0'))}})}})}});
    CHECK(error_of(with_info(bdict({{"file tree", zero_root},
                                    {"meta version", bint(2)},
                                    {"name", bstr("n")},
                                    {"piece length", bint(piece)}})))
              .message.find("all zeros") != std::string::npos);
    const auto unsafe_tree = bdict({{"..", bdict({{"", bdict({{"length", bint(0)}})}})}});
    CHECK(error_of(with_info(bdict({{"file tree", unsafe_tree},
                                    {"meta version", bint(2)},
                                    {"name", bstr("n")},
                                    {"piece length", bint(piece)}})))
              .code == TorrentErrc::unsafe_path);
  }
}

TEST_CASE("a pad file without a path is .pad/LENGTH, as libtorrent names it", "[torrent]")
{
  const auto files = blist({bdict({{"length", bint(100)}, {"path", blist({bstr("a")})}}),
                            bdict({{"attr", bstr("p")}, {"length", bint(16284)}}),
                            bdict({{"length", bint(5)}, {"path", blist({bstr("b")})}})});
  auto t = agent::parse_torrent(bdict({{"info", bdict({{"files", files},
                                                       {"name", bstr("d")},
                                                       {"piece length", bint(16384)},
                                                       {"pieces", bstr(hashes(2))}})}}),
                                "t.torrent");
  REQUIRE(t);
  REQUIRE(t->files.size() == 3);
  CHECK(t->files[1].pad);
  CHECK(t->files[1].joined_path() == ".pad/16284");
  CHECK(t->total_size == 105);
  // A file that is not a pad file still needs its path.
  const auto no_path = blist({bdict({{"length", bint(100)}})});
  CHECK(error_of(bdict({{"info", bdict({{"files", no_path},
                                        {"name", bstr("d")},
                                        {"piece length", bint(16384)},
                                        {"pieces", bstr(hashes(1))}})}}))
            .message == "t.torrent: byte 16: info.files[0].path is missing");
}

TEST_CASE("v2 and hybrid info dictionaries stay canonical; quirks outside them are accepted",
          "[torrent]")
{
  const std::size_t piece = 32768;
  const V2File f = v2_file(3, piece);
  const long long length = 3 * piece - 100;
  const auto leaf = bdict({{"length", bint(length)}, {"pieces root", bstr(raw(f.root))}});
  const auto info = [&](const std::string& leaf_bytes) {
    return "d9:file treed7:big.isod0:" + leaf_bytes +
           "ee12:meta versioni2e4:name7:big.iso12:piece lengthi" + std::to_string(piece) + "ee";
  };
  const std::string layer_entry = bstr(raw(f.root)) + bstr(f.layer);
  const std::string good = "d4:info" + info(leaf) + "12:piece layersd" + layer_entry + "ee";
  REQUIRE(agent::parse_torrent(good, "t.torrent"));

  // Unsorted keys in a file's dictionary inside the v2 info dictionary: an error.
  const std::string unsorted_leaf =
      "d11:pieces root" + bstr(raw(f.root)) + "6:length" + bint(length) + "e";
  const std::string bad = "d4:info" + info(unsorted_leaf) + "12:piece layersd" + layer_entry + "ee";
  const auto e = error_of(bad);
  CHECK(e.code == TorrentErrc::invalid);
  CHECK(e.message.starts_with("t.torrent: byte " + std::to_string(bad.find("6:length")) +
                              ": dictionary keys not sorted ('length' after 'pieces root') "));
  CHECK(e.message.find("v2 or hybrid") != std::string::npos);

  // Outside it: a newline, the top-level keys out of order, a repeated piece layer (the first
  // counts): warnings.
  auto trailing = agent::parse_torrent(good + "\n", "t.torrent");
  REQUIRE(trailing);
  CHECK(trailing->quirk_count == 1);
  const std::string swapped = "d12:piece layersd" + layer_entry + "e4:info" + info(leaf) + "e";
  auto top = agent::parse_torrent(swapped, "t.torrent");
  REQUIRE(top);
  CHECK(top->quirk_count == 1);
  CHECK(top->quirks[0].offset == swapped.find("4:info"));
  CHECK(top->info_hash_v2 == trailing->info_hash_v2);
  std::string wrong_layer = f.layer;
  wrong_layer[3] ^= 1;
  const std::string repeated = "d4:info" + info(leaf) + "12:piece layersd" + layer_entry +
                               bstr(raw(f.root)) + bstr(wrong_layer) + "ee";
  auto dup = agent::parse_torrent(repeated, "t.torrent");
  REQUIRE(dup);
  CHECK(dup->quirk_count == 1);
  CHECK(dup->piece_layer(dup->files[0]) == f.layer);
}

TEST_CASE("hostile shapes: shared piece layers, deep trees, repeated URLs", "[torrent]")
{
  SECTION("files sharing one pieces root all get the one layer")
  {
    const std::size_t piece = 16384;
    const V2File f = v2_file(3, piece);
    const auto leaf =
        bdict({{"", bdict({{"length", bint(3 * piece)}, {"pieces root", bstr(raw(f.root))}})}});
    std::vector<std::pair<std::string, std::string>> tree;
    for (int i = 0; i < 50; ++i) {
      tree.emplace_back("f" + std::to_string(100 + i), leaf);
    }
    auto t = agent::parse_torrent(bdict({{"info", bdict({{"file tree", bdict(tree)},
                                                         {"meta version", bint(2)},
                                                         {"name", bstr("n")},
                                                         {"piece length", bint(piece)}})},
                                         {"piece layers", bdict({{raw(f.root), bstr(f.layer)}})}}),
                                  "t.torrent");
    REQUIRE(t);
    REQUIRE(t->files.size() == 50);
    for (const auto& file : t->files) {
      CHECK(t->piece_layer(file) == f.layer);
    }
  }
  SECTION("a v2 tree whose paths add up to more than the bound is refused before it is built")
  {
    const auto deep = [](std::size_t depth, std::size_t name_len, std::size_t files) {
      std::string dir = "d";
      for (std::size_t i = 0; i < files; ++i) {
        dir += bstr("f" + std::to_string(100000 + i)) +
               bdict({{"",
                       bdict({{"length", bint(1)}, {"pieces root", bstr(std::string(32, 'r'))}})}});
      }
      dir += "e";
      for (std::size_t level = depth; level-- > 0;) {
        dir = "d" + bstr(std::to_string(level) + std::string(name_len, 'x')) + dir + "e";
      }
      return bdict({{"info", bdict({{"file tree", dir},
                                    {"meta version", bint(2)},
                                    {"name", bstr("n")},
                                    {"piece length", bint(16384)}})}});
    };
    // 20 x 1000-byte names for 200 files: 4 MB of paths from 32 KB of torrent.
    const auto e = error_of(deep(20, 1000, 200));
    CHECK(e.code == TorrentErrc::invalid);
    CHECK(e.message.find("info.file tree: the paths of the files add up to more than 1048576 "
                         "bytes") != std::string::npos);
    auto ok = agent::parse_torrent(deep(20, 100, 100), "t.torrent");
    REQUIRE(ok);
    CHECK(ok->files.size() == 100);
    CHECK(ok->files[0].path.size() == 21);
  }
  SECTION("repeated and blank web seeds and trackers are dropped, the order kept")
  {
    const auto list = blist({bstr("http://a/"), bstr(" http://b/ "), bstr("http://a/"), bstr(""),
                             bint(5), bstr("http://b/")});
    auto t = agent::parse_torrent(bdict({{"announce-list", blist({list})},
                                         {"httpseeds", list},
                                         {"info", bdict({{"length", bint(5)},
                                                         {"name", bstr("x")},
                                                         {"piece length", bint(16384)},
                                                         {"pieces", bstr(hashes(1))}})},
                                         {"url-list", list}}),
                                  "t.torrent");
    REQUIRE(t);
    const std::vector<std::string> expected{"http://a/", "http://b/"};
    CHECK(t->url_list == expected);
    CHECK(t->httpseeds == expected);
    REQUIRE(t->trackers.size() == 1);
    CHECK(t->trackers[0] == expected);
  }
}

TEST_CASE("load_torrent refuses what is not a regular file, without blocking", "[torrent]")
{
  TempTree t;
  t.fifo("f.torrent");
  auto r = agent::load_torrent(t / "f.torrent");
  REQUIRE_FALSE(r);
  CHECK(r.error().message == t / "f.torrent" + ": not a regular file");
  auto missing = agent::load_torrent(t / "none.torrent");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message == t / "none.torrent" + ": No such file or directory");
}
