#include "safe_resolve.h"

#include "test_support.h"

#include <catch2/catch.hpp>

#include <filesystem>

using agent::ResolveError;
using agent::Resolver;
using agent::testing::TempTree;

namespace {

// A mirror root "m" inside a scratch dir, so that escapes have somewhere to go.
struct Mirror {
  TempTree tree;
  std::string root = tree / "m";
  Mirror()
  {
    tree.file("m/releases/x86/2007.0/stages/stage3.tar.bz2", "stage3");
    tree.file("outside/secret", "secret");
  }
  Resolver open() const
  {
    auto r = Resolver::open(root);
    REQUIRE(r);
    return std::move(*r);
  }
  void link(const std::string& rel, const std::string& target) const
  {
    tree.link("m/" + rel, target);
  }
};

ResolveError error_of(Resolver& r, const std::string& path)
{
  auto got = r.resolve_file(r.root_chain(), path);
  REQUIRE_FALSE(got);
  return got.error().error;
}

} // namespace

TEST_CASE("resolve_file follows relative links inside the root", "[resolve]")
{
  Mirror m;
  m.link("t/e/stage3.tar.bz2", "../../releases/x86/2007.0/stages/stage3.tar.bz2");
  Resolver r = m.open();
  auto got = r.resolve_file(r.root_chain(), "t/e/stage3.tar.bz2");
  REQUIRE(got);
  CHECK(got->rel == "releases/x86/2007.0/stages/stage3.tar.bz2");
  CHECK(got->name == "stage3.tar.bz2");
  CHECK(got->st.st_size == 6);
  CHECK(got->trace.links_followed == 1);
  CHECK(got->trace.first_link == "t/e/stage3.tar.bz2");

  SECTION("a second resolution through the cache gives the same answer")
  {
    auto again = r.resolve_file(r.root_chain(), "t/e/stage3.tar.bz2");
    REQUIRE(again);
    CHECK(again->rel == got->rel);
    CHECK(again->st.st_ino == got->st.st_ino);
  }
  SECTION("open_file opens exactly the resolved file")
  {
    auto fd = r.open_file(*got);
    REQUIRE(fd);
    char buf[16] = {};
    CHECK(::read(fd->get(), buf, sizeof buf) == 6);
  }
}

TEST_CASE("resolve_file handles '.', '//' and intermediate in-root directory links", "[resolve]")
{
  Mirror m;
  m.link("releases/current", "x86/./2007.0");
  m.link("t/e/a", ".//../../releases/current//stages/./stage3.tar.bz2");
  Resolver r = m.open();
  auto got = r.resolve_file(r.root_chain(), "t/e/a");
  REQUIRE(got);
  CHECK(got->rel == "releases/x86/2007.0/stages/stage3.tar.bz2");
  CHECK(got->trace.links_followed == 2);
}

TEST_CASE("'..' above the root is an escape, even when it would come back in", "[resolve]")
{
  Mirror m;
  m.link("t/e/out", "../../../outside/secret");
  m.link("t/e/back", "../../../m/releases/x86/2007.0/stages/stage3.tar.bz2");
  m.link("releases/evil", "../..");
  m.link("t/e/through", "../../releases/evil/outside/secret");
  Resolver r = m.open();
  CHECK(error_of(r, "t/e/out") == ResolveError::escapes_root);
  CHECK(error_of(r, "t/e/back") == ResolveError::escapes_root);
  auto through = r.resolve_file(r.root_chain(), "t/e/through");
  REQUIRE_FALSE(through);
  CHECK(through.error().error == ResolveError::escapes_root);
  CHECK(through.error().trace.last_link == "releases/evil");
  CHECK(error_of(r, "../m/releases/x86/2007.0/stages/stage3.tar.bz2") ==
        ResolveError::escapes_root);
}

TEST_CASE("absolute targets are refused before any lookup", "[resolve]")
{
  Mirror m;
  m.link("t/e/abs", m.root + "/releases/x86/2007.0/stages/stage3.tar.bz2");
  m.link("releases/absdir", "/etc");
  m.link("t/e/via", "../../releases/absdir/passwd");
  Resolver r = m.open();
  CHECK(error_of(r, "t/e/abs") == ResolveError::absolute_target);
  auto via = r.resolve_file(r.root_chain(), "t/e/via");
  REQUIRE_FALSE(via);
  CHECK(via.error().error == ResolveError::absolute_target);
  CHECK(via.error().trace.last_link == "releases/absdir");
  CHECK(via.error().trace.first_link == "t/e/via");
}

TEST_CASE("dangling targets name the missing component", "[resolve]")
{
  Mirror m;
  m.link("t/e/gone", "../../releases/amd64/file");
  m.link("t/e/through-file", "../../releases/x86/2007.0/stages/stage3.tar.bz2/x");
  m.link("t/e/trailing", "../../releases/x86/2007.0/stages/stage3.tar.bz2/");
  Resolver r = m.open();
  auto gone = r.resolve_file(r.root_chain(), "t/e/gone");
  REQUIRE_FALSE(gone);
  CHECK(gone.error().error == ResolveError::dangling);
  CHECK(gone.error().where == "releases/amd64");
  CHECK(error_of(r, "t/e/through-file") == ResolveError::dangling);
  CHECK(error_of(r, "t/e/trailing") == ResolveError::dangling);
  CHECK(error_of(r, "t/e/missing-leaf") == ResolveError::dangling);
}

TEST_CASE("at most 40 links are followed", "[resolve]")
{
  Mirror m;
  // chain/l0 -> l1 -> ... -> lN -> the file: N+1 links in all.
  const auto chain = [&](const std::string& dir, int links) {
    for (int i = 0; i < links - 1; ++i) {
      m.link(dir + "/l" + std::to_string(i), "l" + std::to_string(i + 1));
    }
    m.link(dir + "/l" + std::to_string(links - 1), "../releases/x86/2007.0/stages/stage3.tar.bz2");
  };
  chain("c40", 40);
  chain("c41", 41);
  m.link("loop/a", "b");
  m.link("loop/b", "a");
  m.link("loop/self", "self");
  Resolver r = m.open();
  CHECK(r.resolve_file(r.root_chain(), "c40/l0"));
  CHECK(error_of(r, "c41/l0") == ResolveError::symlink_loop);
  CHECK(error_of(r, "loop/a") == ResolveError::symlink_loop);
  CHECK(error_of(r, "loop/self") == ResolveError::symlink_loop);
}

TEST_CASE("directories, FIFOs and devices are not regular files and are never opened", "[resolve]")
{
  Mirror m;
  m.tree.fifo("m/releases/pipe");
  m.link("t/e/dir", "../../releases");
  m.link("t/e/pipe", "../../releases/pipe");
  Resolver r = m.open();
  auto dir = r.resolve_file(r.root_chain(), "t/e/dir");
  REQUIRE_FALSE(dir);
  CHECK(dir.error().error == ResolveError::not_regular_file);
  CHECK((dir.error().file_type & S_IFMT) == S_IFDIR);
  auto pipe = r.resolve_file(r.root_chain(), "t/e/pipe");
  REQUIRE_FALSE(pipe);
  CHECK(pipe.error().error == ResolveError::not_regular_file);
  CHECK((pipe.error().file_type & S_IFMT) == S_IFIFO);
}

TEST_CASE("resolve_dir returns the canonical chain of a directory", "[resolve]")
{
  Mirror m;
  m.link("experimental", "releases/x86");
  Resolver r = m.open();
  auto chain = r.resolve_dir(r.root_chain(), "experimental/2007.0");
  REQUIRE(chain);
  CHECK(chain->back()->rel == "releases/x86/2007.0");
  CHECK(chain->size() == 4);
  auto file = r.resolve_dir(r.root_chain(), "releases/x86/2007.0/stages/stage3.tar.bz2");
  REQUIRE_FALSE(file);
  CHECK(file.error().error == ResolveError::not_regular_file);
}

TEST_CASE("Resolver::open reports a missing root", "[resolve]")
{
  TempTree t;
  auto r = Resolver::open(t / "nope");
  REQUIRE_FALSE(r);
  CHECK(r.error() == t / "nope" + ": No such file or directory");
}

TEST_CASE("describe() says what went wrong without repeating the subject link", "[resolve]")
{
  Mirror m;
  m.link("t/e/gone", "../../releases/amd64/file");
  Resolver r = m.open();
  auto gone = r.resolve_file(r.root_chain(), "t/e/gone");
  REQUIRE_FALSE(gone);
  CHECK(gone.error().describe("t/e/gone") ==
        "target does not exist: releases/amd64: No such file or directory");
  CHECK(gone.error().describe() ==
        "target does not exist: releases/amd64: No such file or directory (via t/e/gone -> "
        "../../releases/amd64/file)");
}

TEST_CASE("forget(): a directory moved out of the root is not reached through an old handle",
          "[resolve]")
{
  Mirror m;
  Resolver r = m.open();
  REQUIRE(r.resolve_file(r.root_chain(), "releases/x86/2007.0/stages/stage3.tar.bz2"));
  std::filesystem::rename(m.tree / "m/releases", m.tree / "moved-out");
  // Without forget() the remembered handle of releases/ (now outside) would still answer.
  r.forget();
  auto again = r.resolve_file(r.root_chain(), "releases/x86/2007.0/stages/stage3.tar.bz2");
  REQUIRE_FALSE(again);
  CHECK(again.error().error == ResolveError::dangling);
}
