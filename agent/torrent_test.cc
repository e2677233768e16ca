#include "torrent.h"

#include "mirror_layout.h"
#include "test_support.h"
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
  const auto e = error_of("d4:infod1:b0:1:a0:ee");
  CHECK(e.code == TorrentErrc::invalid);
  CHECK(e.message == "t.torrent: byte 13: dictionary keys not sorted ('a' after 'b')");
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
