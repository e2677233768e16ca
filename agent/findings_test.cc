#include "findings.h"

#include <catch2/catch.hpp>

using agent::Code;

TEST_CASE("finding codes keep their public names and severities", "[findings]")
{
  // These strings are a public interface (JSON, reports, the central team): never change.
  CHECK(agent::code_name(Code::missing_tree) == "missing-tree");
  CHECK(agent::code_name(Code::empty_tree) == "empty-tree");
  CHECK(agent::code_name(Code::empty_entry) == "empty-entry");
  CHECK(agent::code_name(Code::not_symlink) == "not-symlink");
  CHECK(agent::code_name(Code::absolute_target) == "absolute-target");
  CHECK(agent::code_name(Code::escapes_root) == "escapes-root");
  CHECK(agent::code_name(Code::dangling) == "dangling");
  CHECK(agent::code_name(Code::symlink_loop) == "symlink-loop");
  CHECK(agent::code_name(Code::not_regular_file) == "not-regular-file");
  CHECK(agent::code_name(Code::unreadable) == "unreadable");
  CHECK(agent::code_name(Code::torrent_invalid) == "torrent-invalid");
  CHECK(agent::code_name(Code::unsafe_path) == "unsafe-path");
  CHECK(agent::code_name(Code::missing_file) == "missing-file");
  CHECK(agent::code_name(Code::unexpected_file) == "unexpected-file");
  CHECK(agent::code_name(Code::size_mismatch) == "size-mismatch");
  CHECK(agent::code_name(Code::hash_mismatch) == "hash-mismatch");
  CHECK(agent::severity_of(Code::unexpected_file) == agent::Severity::warning);
  CHECK(agent::severity_of(Code::not_symlink) == agent::Severity::warning);
  CHECK(agent::severity_of(Code::dangling) == agent::Severity::error);
}

TEST_CASE("sort_findings puts errors first, then orders by path", "[findings]")
{
  std::vector<agent::Finding> f{
      {Code::not_symlink, "a", std::nullopt, "", ""},
      {Code::dangling, "z", std::nullopt, "", ""},
      {Code::escapes_root, "b", std::nullopt, "", ""},
  };
  agent::sort_findings(f);
  CHECK(f[0].path == "b");
  CHECK(f[1].path == "z");
  CHECK(f[2].path == "a");
  CHECK(agent::has_error(f));
  f.erase(f.begin(), f.begin() + 2);
  CHECK_FALSE(agent::has_error(f));
}
