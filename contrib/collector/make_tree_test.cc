#include "make_tree.h"

#include "link_audit.h"
#include "make_torrents.h"
#include "safe_resolve.h"
#include "test_support.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <filesystem>

using namespace agent::testing;
using namespace collector;

namespace {

std::vector<std::shared_ptr<const agent::Torrent>> made(const TempTree& t, TorrentFormat format)
{
  ArtefactRule rule;
  rule.scan.skip = tree_skips("experimental/torrent-symlinks", "");
  MakeOptions o;
  o.format = format;
  o.piece_length = 16384;
  const MakeOutcome out = make_torrents(t.path(), t / "torrents", rule, o);
  REQUIRE(out.problems.empty());
  std::vector<std::shared_ptr<const agent::Torrent>> list;
  for (const std::string& w : out.written) {
    list.push_back(std::make_shared<const agent::Torrent>(*agent::load_torrent(w)));
  }
  return list;
}

std::string target_of(const std::string& path)
{
  return std::filesystem::read_symlink(path).string();
}

void audit_clean(const TempTree& t)
{
  auto resolver = agent::Resolver::open(t.path());
  REQUIRE(resolver);
  const agent::LinkAudit audit =
      agent::audit_links(*resolver, t.path(), "experimental/torrent-symlinks");
  CHECK(audit.tree_findings.empty());
  for (const agent::EntryAudit& e : audit.entries) {
    INFO(e.name);
    CHECK(e.findings.empty());
  }
}

} // namespace

TEST_CASE("make-tree makes relative links, shared pad files, and passes the agent's audit",
          "[make_tree]")
{
  TempTree t;
  t.file("releases/amd64/install-1.iso", std::string(40000, 'i'));
  t.file("releases/amd64/install-1.iso.DIGESTS", "d\n");
  t.file("releases/amd64/install-1.iso.asc", "s\n");
  t.file("releases/x/lone.img", std::string(5000, 'l'));
  const auto torrents = made(t, TorrentFormat::hybrid);
  REQUIRE(torrents.size() == 2);

  const TreeOutcome out = make_tree(t.path(), torrents, TreeOptions{});
  CHECK(out.problems.empty());
  CHECK(out.changed);
  CHECK(out.entries == 2);
  const std::string tree = t / "experimental/torrent-symlinks";
  CHECK(target_of(tree + "/lone.img") == "../../releases/x/lone.img");
  CHECK(target_of(tree + "/install-1/install-1.iso") == "../../../releases/amd64/install-1.iso");
  // 40000 bytes in 16 KiB pieces: a pad of 9152 after the ISO, 16382 after the DIGESTS.
  CHECK(target_of(tree + "/install-1/.pad/9152") ==
        "../../../../experimental/torrent-symlinks-pad/9152");
  struct stat st {};
  REQUIRE(::stat((t / "experimental/torrent-symlinks-pad/9152").c_str(), &st) == 0);
  CHECK(st.st_size == 9152);
  audit_clean(t);

  SECTION("a second run changes nothing")
  {
    struct stat before {};
    ::lstat((tree + "/install-1").c_str(), &before);
    const TreeOutcome again = make_tree(t.path(), torrents, TreeOptions{});
    CHECK(!again.changed);
    struct stat after {};
    ::lstat((tree + "/install-1").c_str(), &after);
    CHECK(before.st_ino == after.st_ino);
  }
  SECTION("stale entries and unused pad files go; the swap leaves no temporary directory")
  {
    t.link("experimental/torrent-symlinks/gone", "../../releases/x/lone.img");
    const TreeOutcome again = make_tree(t.path(), {torrents[1]}, TreeOptions{}); // lone.img
    CHECK(again.changed);
    CHECK(!std::filesystem::exists(std::filesystem::symlink_status(tree + "/gone")));
    CHECK(!std::filesystem::exists(tree + "/install-1"));
    CHECK(!std::filesystem::exists(t / "experimental/torrent-symlinks-pad/9152"));
    for (const auto& e : std::filesystem::directory_iterator(t / "experimental")) {
      CHECK(!e.path().filename().string().starts_with(".torrent-symlinks."));
    }
    audit_clean(t);
  }
}

TEST_CASE("make-tree leaves out torrents whose files are not in the tree, and never follows a "
          "link to find them",
          "[make_tree]")
{
  TempTree t;
  t.file("releases/a/x.iso", std::string(1000, 'x'));
  t.file("releases/a/x.iso.asc", "s");
  const auto torrents = made(t, TorrentFormat::v1);
  REQUIRE(torrents.size() == 1);
  std::filesystem::rename(t / "releases/a", t / "elsewhere");
  t.link("releases/a", "../elsewhere"); // a directory link: not followed
  try {
    make_tree(t.path(), torrents, TreeOptions{});
    FAIL("an empty tree was made");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()).find("not in one directory") != std::string::npos);
    CHECK(std::string(e.what()).find("the old tree stays") != std::string::npos);
  }
  CHECK_THROWS(make_tree(t.path(), {}, TreeOptions{}));
  CHECK(!std::filesystem::exists(t / "experimental/torrent-symlinks"));
}
