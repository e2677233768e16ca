#include "make_torrents.h"

#include "bencode.h"
#include "payload_verify.h"
#include "test_support.h"
#include "torrent.h"
#include "util/read_file.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include <random>

using namespace agent::testing;
using namespace collector;

namespace {

std::string noise(std::size_t n, unsigned seed)
{
  std::mt19937 gen(seed);
  std::string s(n, '\0');
  for (char& c : s) {
    c = static_cast<char>(gen());
  }
  return s;
}

// A release tree: an ISO with companions, a stage tarball with companions, a lone image,
// and what must never be read: a symlink out of the tree, a FIFO, the symlinks tree itself.
void release_tree(const TempTree& t)
{
  t.file("releases/amd64/install-1.iso", noise(300000, 1));
  t.file("releases/amd64/install-1.iso.DIGESTS", "sha512 ...\n");
  t.file("releases/amd64/install-1.iso.asc", "-----BEGIN PGP SIGNATURE-----\n");
  t.file("releases/amd64/install-1.iso.unrelated", "not a companion\n");
  t.file("releases/amd64/stage3-1.tar.xz", noise(70001, 2));
  t.file("releases/amd64/stage3-1.tar.xz.CONTENTS.gz", noise(999, 3));
  t.file("releases/amd64/stage3-1.tar.xz.sha256", "abc\n");
  t.file("experimental/arm/lone.img.xz", noise(20000, 4));
  t.file("experimental/torrent-symlinks/old.iso", "never an artefact");
  t.link("releases/amd64/outside.iso", "/etc/passwd");
  t.fifo("releases/amd64/blocking.iso");
}

std::string read(const std::string& path)
{
  return *util::read_small_file(path, 64u << 20);
}

std::vector<int> open_all(const TempTree& t, const ReleaseGroup& g, std::vector<util::Fd>& held)
{
  std::vector<int> fds;
  for (const ReleaseFile& f : g.files) {
    held.emplace_back(::open((t / f.rel).c_str(), O_RDONLY | O_CLOEXEC));
    fds.push_back(held.back().get());
  }
  return fds;
}

} // namespace

TEST_CASE("make-torrents groups artefacts with their companions and never follows links",
          "[make_torrents]")
{
  TempTree t;
  release_tree(t);
  ArtefactRule rule;
  rule.scan.skip = {"experimental/torrent-symlinks"};
  std::vector<std::string> problems;
  const auto files = scan_release_files(t.path(), rule.scan, problems);
  REQUIRE(files);
  CHECK(problems.empty());
  for (const ReleaseFile& f : *files) {
    CHECK(f.name != "outside.iso");  // a symlink: never followed
    CHECK(f.name != "blocking.iso"); // a FIFO: never opened
    CHECK(!f.rel.starts_with("experimental/torrent-symlinks"));
  }
  const auto groups = group_release_files(*files, rule, problems);
  REQUIRE(groups.size() == 3);
  CHECK(groups[0].name == "install-1");
  CHECK(groups[0].files.size() == 3);
  CHECK(groups[0].files[0].name == "install-1.iso");
  CHECK(groups[0].files[1].name == "install-1.iso.DIGESTS");
  CHECK(groups[0].files[2].name == "install-1.iso.asc");
  CHECK(groups[1].name == "lone.img.xz"); // no companions: single-file, named as the file
  CHECK(groups[1].files.size() == 1);
  CHECK(groups[2].name == "stage3-1");
  CHECK(groups[2].files.size() == 3);
}

TEST_CASE("make-torrents: the same name twice falls back to the file names, then refuses",
          "[make_torrents]")
{
  TempTree t;
  t.file("releases/a/x.iso", "1");
  t.file("releases/a/x.iso.asc", "1");
  t.file("releases/b/x.iso", "2");
  t.file("releases/b/x.iso.asc", "2");
  t.file("releases/b/y.img", "3");
  t.file("releases/b/y.img.DIGESTS", "3");
  t.file("releases/c/y.iso", "4");
  t.file("releases/c/y.iso.sig", "4");
  std::vector<std::string> problems;
  const auto files = scan_release_files(t.path(), ScanRule{}, problems);
  REQUIRE(files);
  const auto groups = group_release_files(*files, ArtefactRule{}, problems);
  std::vector<std::string> names;
  for (const auto& g : groups) {
    names.push_back(g.name);
  }
  CHECK(names == std::vector<std::string>{"y.img", "y.iso"});
  REQUIRE(problems.size() == 2);
  CHECK(problems[0].find("x.iso") != std::string::npos);
}

TEST_CASE("piece length follows the payload size like libtorrent", "[make_torrents]")
{
  CHECK(piece_length_for(1) == 16384);
  CHECK(piece_length_for(32u << 20) == 16384);
  CHECK(piece_length_for(64u << 20) == 32768);
  CHECK(piece_length_for((64u << 20) + 2048) == 65536);
  CHECK(piece_length_for(std::uint64_t{4} << 30) == 2u << 20);
  CHECK(piece_length_for(std::uint64_t{100} << 30) == 4u << 20);
}

TEST_CASE("made torrents parse and verify in every format", "[make_torrents]")
{
  TempTree t;
  release_tree(t);
  std::vector<std::string> problems;
  const auto files = scan_release_files(t.path(), ScanRule{}, problems);
  REQUIRE(files);
  const auto groups = group_release_files(*files, ArtefactRule{}, problems);
  for (const TorrentFormat format : {TorrentFormat::v1, TorrentFormat::v2, TorrentFormat::hybrid}) {
    for (const ReleaseGroup& g : groups) {
      std::vector<util::Fd> held;
      const std::vector<int> fds = open_all(t, g, held);
      MakeOptions o;
      o.format = format;
      o.web_seeds = {"http://m.example/experimental/torrent-symlinks/"};
      o.trackers = {"http://t1/announce", "udp://t2:6969"};
      o.created_by = "webseed-collector test";
      o.creation_date = 1700000000;
      auto bytes = make_torrent(g, fds, o);
      REQUIRE(bytes);
      auto torrent = agent::parse_torrent(*bytes, g.name);
      INFO(g.name << " format " << static_cast<int>(format));
      REQUIRE(torrent);
      CHECK(torrent->quirk_count == 0); // canonical bencode
      CHECK(torrent->name == g.name);
      CHECK(torrent->has_v1 == (format != TorrentFormat::v2));
      CHECK(torrent->has_v2 == (format != TorrentFormat::v1));
      CHECK(torrent->url_list == o.web_seeds);
      CHECK(torrent->trackers.size() == 2);
      CHECK(torrent->created_by == "webseed-collector test");
      if (format == TorrentFormat::hybrid && g.files.size() > 1) {
        CHECK(std::any_of(torrent->files.begin(), torrent->files.end(),
                          [](const agent::TorrentFile& f) { return f.pad; }));
      }
      std::vector<int> all;
      std::size_t i = 0;
      for (const agent::TorrentFile& f : torrent->files) {
        all.push_back(f.pad ? -1 : fds[i++]);
      }
      CHECK(agent::verify_payload(*torrent, all, agent::VerifyOptions{}).all_ok());
    }
  }
}

TEST_CASE("make-torrents is idempotent: an unchanged group keeps its torrent byte for byte",
          "[make_torrents]")
{
  TempTree t;
  release_tree(t);
  ArtefactRule rule;
  rule.scan.skip = {"experimental/torrent-symlinks"};
  MakeOptions o;
  o.format = TorrentFormat::hybrid;
  o.creation_date = 1700000000;
  MakeOutcome first = make_torrents(t.path(), t / "out", rule, o);
  CHECK(first.problems.empty());
  REQUIRE(first.written.size() == 3);
  const std::string before = read(t / "out/stage3-1.torrent");
  struct stat st1 {};
  ::stat((t / "out/stage3-1.torrent").c_str(), &st1);

  o.creation_date = 1800000000; // a later run
  MakeOutcome second = make_torrents(t.path(), t / "out", rule, o);
  CHECK(second.written.empty());
  CHECK(second.unchanged.size() == 3);
  CHECK(read(t / "out/stage3-1.torrent") == before);
  struct stat st2 {};
  ::stat((t / "out/stage3-1.torrent").c_str(), &st2);
  CHECK(st1.st_ino == st2.st_ino); // not even rewritten

  // New web seeds: the same info (same info-hash), a new url-list.
  o.web_seeds = {"http://new.example/experimental/torrent-symlinks/"};
  MakeOutcome third = make_torrents(t.path(), t / "out", rule, o);
  CHECK(third.written.size() == 3);
  const auto a = agent::parse_torrent(before, "before");
  const auto b = agent::load_torrent(t / "out/stage3-1.torrent");
  REQUIRE(a);
  REQUIRE(b);
  CHECK(a->info_hash_v1 == b->info_hash_v1);
  CHECK(a->info_hash_v2 == b->info_hash_v2);
  CHECK(b->creation_date == a->creation_date);
  CHECK(b->url_list == o.web_seeds);

  // Changed payload: a new torrent.
  t.file("releases/amd64/stage3-1.tar.xz.sha256", "def\n");
  MakeOutcome fourth = make_torrents(t.path(), t / "out", rule, o);
  CHECK(fourth.written == std::vector<std::string>{t / "out/stage3-1.torrent"});
  const auto c = agent::load_torrent(t / "out/stage3-1.torrent");
  REQUIRE(c);
  CHECK(c->info_hash_v1 != a->info_hash_v1);
}
