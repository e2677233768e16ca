#include "links_output.h"

#include <catch2/catch.hpp>

#include <sstream>

using agent::Code;

namespace {

agent::LinkAudit sample()
{
  agent::LinkAudit a;
  a.root = "/srv/mirror";
  a.symlinks_dir = "experimental/torrent-symlinks";
  agent::EntryAudit bad;
  bad.name = "bad\xff name";
  bad.links = 2;
  bad.findings.push_back({Code::dangling, "experimental/torrent-symlinks/bad\xff name/new\nline",
                          std::string("../../../releases/\xfe"), "target does not exist", "hint"});
  agent::EntryAudit good;
  good.name = "good";
  good.links = 1;
  a.entries = {bad, good};
  a.links = 3;
  return a;
}

} // namespace

TEST_CASE("links JSON keeps bytes exact and stays valid UTF-8", "[output]")
{
  const auto j = agent::links_json(sample());
  CHECK(j["version"] == 1);
  CHECK(j["ok"] == false);
  CHECK(j["summary"]["entries"] == 2);
  CHECK(j["summary"]["entries_ok"] == 1);
  CHECK(j["summary"]["links"] == 3);
  CHECK(j["summary"]["errors"] == 1);
  const auto& e = j["entries"][0];
  CHECK(e["name"] == "bad\xef\xbf\xbd name");
  CHECK(e["name_hex"] == "626164ff206e616d65");
  const auto& f = e["findings"][0];
  CHECK(f["code"] == "dangling");
  CHECK(f["severity"] == "error");
  CHECK(f.contains("path_hex"));
  CHECK(f["target_hex"] == "2e2e2f2e2e2f2e2e2f72656c65617365732ffe");
  CHECK(j["entries"][1]["ok"] == true);
  CHECK_FALSE(j["entries"][1].contains("name_hex"));
  // dump() throws on invalid UTF-8: it must not.
  CHECK_NOTHROW(j.dump());
}

TEST_CASE("a valid UTF-8 name with a newline stays verbatim in JSON", "[output]")
{
  agent::Finding f{Code::not_symlink, "a/new\nline", std::nullopt, "m", "h"};
  const auto j = agent::finding_json(f);
  CHECK(j["path"] == "a/new\nline");
  CHECK_FALSE(j.contains("path_hex"));
  CHECK(j["target"].is_null());
  CHECK(j["severity"] == "warning");
}

TEST_CASE("human output escapes names and lists problem entries only", "[output]")
{
  std::ostringstream out;
  agent::print_links_human(out, sample(), agent::Verbose::no);
  const std::string text = out.str();
  CHECK(text.find("new\\nline") != std::string::npos);
  CHECK(text.find("\\xff") != std::string::npos);
  CHECK(text.find("-> ../../../releases/\\xfe") != std::string::npos);
  CHECK(text.find("new\nline") == std::string::npos);
  CHECK(text.find("good") == std::string::npos);
  CHECK(text.find("NOT OK: 2 entries (1 ok), 3 links, 1 error, 0 warnings") != std::string::npos);

  std::ostringstream verbose;
  agent::print_links_human(verbose, sample(), agent::Verbose::yes);
  CHECK(verbose.str().find("good") != std::string::npos);
}

TEST_CASE("a finding code as long as its column is still apart from the path", "[output]")
{
  for (const Code code : {Code::http_content_mismatch, Code::torrent_format_unsupported,
                          Code::dangling}) {
    agent::Finding f{code, "experimental/torrent-symlinks/x", std::nullopt, "msg", ""};
    std::ostringstream out;
    agent::print_finding_human(out, f, 2);
    const std::string line = out.str().substr(0, out.str().find('\n'));
    INFO(line);
    CHECK(line.find(std::string(agent::code_name(code)) + " ") != std::string::npos);
    CHECK(line.ends_with(" experimental/torrent-symlinks/x"));
  }
}

TEST_CASE("a hint repeated for many files is printed in full once", "[output]")
{
  std::set<std::string> seen;
  std::ostringstream out;
  for (int i = 0; i < 3; ++i) {
    agent::Finding f{Code::dangling, "experimental/torrent-symlinks/x" + std::to_string(i),
                     std::nullopt, "target does not exist", "rsync skipped them: add --links"};
    agent::print_finding_human(out, f, 2, &seen);
  }
  agent::Finding other{Code::dangling, "y", std::nullopt, "m", "another cause"};
  agent::print_finding_human(out, other, 2, &seen);
  const std::string text = out.str();
  const auto count = [&](const std::string& needle) {
    std::size_t n = 0;
    for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1))
      ++n;
    return n;
  };
  CHECK(count("hint: rsync skipped them: add --links\n") == 1);
  CHECK(count("hint: as above\n") == 2);
  CHECK(count("hint: another cause\n") == 1);
  // Without a set (a single finding), the hint is always in full.
  std::ostringstream single;
  agent::print_finding_human(single, other, 2);
  CHECK(single.str().find("hint: another cause\n") != std::string::npos);
}
