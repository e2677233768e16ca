#include "link_audit.h"

#include "test_support.h"

#include <catch2/catch.hpp>

#include <map>

using agent::Code;
using agent::testing::TempTree;

namespace {

constexpr const char* k_tree = "m/experimental/torrent-symlinks/";

struct Mirror {
  TempTree tree;
  std::string root = tree / "m";
  Mirror() { tree.file("m/releases/x86/2007.0/stages/stage3.tar.bz2", "stage3"); }
  void link(const std::string& rel, const std::string& target) const
  {
    tree.link(std::string(k_tree) + rel, target);
  }
  agent::LinkAudit audit(const std::string& symlinks_dir = "experimental/torrent-symlinks") const
  {
    auto r = agent::Resolver::open(root);
    REQUIRE(r);
    return agent::audit_links(*r, root, symlinks_dir);
  }
};

// path (relative to the symlinks dir) -> code, for every finding of every entry.
std::map<std::string, std::string> codes(const agent::LinkAudit& audit)
{
  std::map<std::string, std::string> out;
  for (const auto& e : audit.entries) {
    for (const auto& f : e.findings) {
      out[f.path.substr(std::string("experimental/torrent-symlinks/").size())] =
          std::string(agent::code_name(f.code));
    }
  }
  return out;
}

} // namespace

TEST_CASE("a clean tree of multi-file and single-file entries is ok", "[links]")
{
  Mirror m;
  m.link("stage3-x86-2007.0/stage3.tar.bz2", "../../../releases/x86/2007.0/stages/stage3.tar.bz2");
  m.link("stage3-x86-2007.0/sub dir/again",
         "../../../../releases/x86/2007.0/stages/stage3.tar.bz2");
  m.link("single.tar.bz2", "../../releases/x86/2007.0/stages/stage3.tar.bz2");
  const auto audit = m.audit();
  CHECK(audit.ok());
  CHECK(audit.links == 3);
  REQUIRE(audit.entries.size() == 2);
  CHECK(audit.entries[0].name == "single.tar.bz2");
  CHECK(audit.entries[1].name == "stage3-x86-2007.0");
  CHECK(audit.entries[1].links == 2);
  CHECK(codes(audit).empty());
}

TEST_CASE("each kind of broken link gets its code", "[links]")
{
  Mirror m;
  m.tree.file("outside", "x");
  m.tree.fifo("m/releases/pipe");
  m.link("e/abs", "/etc/passwd");
  m.link("e/escape", "../../../../outside");
  m.link("e/dangling", "../../../releases/amd64/x.iso");
  m.link("e/loop", "loop");
  m.link("e/dir", "../../../releases");
  m.link("e/pipe", "../../../releases/pipe");
  m.tree.file(std::string(k_tree) + "e/copy", "stage3");
  m.tree.fifo(std::string(k_tree) + "e/fifo-here");
  const auto audit = m.audit();
  CHECK_FALSE(audit.ok());
  CHECK(codes(audit) == std::map<std::string, std::string>{
                            {"e/abs", "absolute-target"},
                            {"e/escape", "escapes-root"},
                            {"e/dangling", "dangling"},
                            {"e/loop", "symlink-loop"},
                            {"e/dir", "not-regular-file"},
                            {"e/pipe", "not-regular-file"},
                            {"e/copy", "not-symlink"},
                            {"e/fifo-here", "not-regular-file"},
                        });
  const auto& findings = audit.entries.at(0).findings;
  CHECK(findings.back().code == Code::not_symlink); // warnings after errors
  CHECK(audit.count(agent::Severity::error) == 7);
  CHECK(audit.count(agent::Severity::warning) == 1);
}

TEST_CASE("findings carry the link's own target and a hint", "[links]")
{
  Mirror m;
  m.link("e/dangling", "../../../releases/amd64/x.iso");
  const auto audit = m.audit();
  const auto& f = audit.entries.at(0).findings;
  REQUIRE(f.size() == 1);
  CHECK(f[0].target == "../../../releases/amd64/x.iso");
  CHECK(f[0].hint.find("releases/") != std::string::npos);
}

TEST_CASE("an absolute link into the root gets a relative suggestion", "[links]")
{
  Mirror m;
  m.link("e/abs", m.root + "/releases/x86/2007.0/stages/stage3.tar.bz2");
  const auto audit = m.audit();
  const auto& f = audit.entries.at(0).findings.at(0);
  CHECK(f.code == Code::absolute_target);
  CHECK(f.hint == "make the link relative: ../../../releases/x86/2007.0/stages/stage3.tar.bz2");
}

TEST_CASE("copied files are warnings only: the tree stays ok", "[links]")
{
  Mirror m;
  m.tree.file(std::string(k_tree) + "e/file", "stage3");
  const auto audit = m.audit();
  CHECK(audit.ok());
  CHECK(codes(audit) == std::map<std::string, std::string>{{"e/file", "not-symlink"}});
}

TEST_CASE("what rsync -rt leaves: empty entry directories", "[links]")
{
  Mirror m;
  m.tree.dir(std::string(k_tree) + "e/sub");
  const auto audit = m.audit();
  CHECK(codes(audit) == std::map<std::string, std::string>{{"e", "empty-entry"}});
}

TEST_CASE("tree-level findings: missing and empty symlinks dir", "[links]")
{
  Mirror m;
  const auto missing = m.audit();
  REQUIRE(missing.tree_findings.size() == 1);
  CHECK(missing.tree_findings[0].code == Code::missing_tree);
  CHECK_FALSE(missing.ok());

  m.tree.dir(k_tree);
  const auto empty = m.audit();
  REQUIRE(empty.tree_findings.size() == 1);
  CHECK(empty.tree_findings[0].code == Code::empty_tree);

  m.tree.link("m/escape", "..");
  const auto escaping = m.audit("escape/m/experimental/torrent-symlinks");
  REQUIRE(escaping.tree_findings.size() == 1);
  CHECK(escaping.tree_findings[0].code == Code::missing_tree);
}

TEST_CASE("a symlinks dir reached through an in-root link resolves '..' from its real place",
          "[links]")
{
  Mirror m;
  // experimental -> mirrors/exp: links in it climb from mirrors/exp/torrent-symlinks/e.
  m.tree.link("m/experimental", "mirrors/exp");
  m.tree.link("m/mirrors/exp/torrent-symlinks/e/f",
              "../../../../releases/x86/2007.0/stages/stage3.tar.bz2");
  const auto audit = m.audit();
  CHECK(audit.ok());
  CHECK(audit.links == 1);
}
