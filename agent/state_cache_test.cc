#include "state_cache.h"

#include "test_support.h"

#include <catch2/catch.hpp>
#include <sqlite3.h>

#include <algorithm>
#include <filesystem>

using agent::FileIdentity;
using agent::StateCache;
using agent::testing::TempTree;

namespace {

std::vector<std::string> asides(const std::string& dir)
{
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.find(".broken") != std::string::npos && !name.ends_with("-wal") &&
        !name.ends_with("-shm")) {
      out.push_back(name);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool contains(const std::vector<std::string>& lines, const std::string& text)
{
  return std::any_of(lines.begin(), lines.end(),
                     [&](const std::string& l) { return l.find(text) != std::string::npos; });
}

} // namespace

TEST_CASE("state cache remembers a verified identity", "[state-cache]")
{
  TempTree t;
  std::vector<std::string> warnings;
  FileIdentity id{1, 2, 3, 4, 5};
  {
    StateCache c = StateCache::open(t / "state", warnings);
    REQUIRE(c.enabled());
    CHECK_FALSE(c.read_only());
    c.update("abc", {{0, id}}, {}, 100);
    CHECK(c.write_problem().empty());
  }
  StateCache c = StateCache::open(t / "state", warnings);
  CHECK(warnings.empty());
  CHECK(c.fresh_files("abc", {{0, id}}, 1, 101, 3600) == std::vector<bool>{true});
  FileIdentity other = id;
  other.ctime_ns = 6;
  CHECK(c.fresh_files("abc", {{0, other}}, 1, 101, 3600) == std::vector<bool>{false});
}

TEST_CASE("a corrupt cache is moved aside, never over an earlier copy", "[state-cache]")
{
  TempTree t;
  for (int round = 1; round <= 2; ++round) {
    t.file("state/state.sqlite", std::string(4096, 'x'));
    std::vector<std::string> warnings;
    StateCache c = StateCache::open(t / "state", warnings);
    CHECK(c.enabled());
    CHECK(contains(warnings, "moved to"));
    CHECK(contains(warnings, "rebuilt"));
    CHECK(asides(t / "state").size() == static_cast<std::size_t>(round));
  }
}

TEST_CASE("an unknown schema is moved aside; a healthy cache is kept", "[state-cache]")
{
  TempTree t;
  std::vector<std::string> warnings;
  {
    StateCache c = StateCache::open(t / "state", warnings);
    REQUIRE(c.enabled());
  }
  {
    StateCache c = StateCache::open(t / "state", warnings);
    CHECK(warnings.empty());
  }
  CHECK(asides(t / "state").empty());
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open((t / "state/state.sqlite").c_str(), &db) == SQLITE_OK);
  REQUIRE(sqlite3_exec(db, "PRAGMA user_version = 7", nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
  StateCache c = StateCache::open(t / "state", warnings);
  CHECK(c.enabled());
  CHECK(contains(warnings, "unknown schema version 7"));
  CHECK(asides(t / "state").size() == 1);
}
