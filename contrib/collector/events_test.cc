#include "events.h"

#include "test_support.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

using namespace agent::testing;
using namespace collector;

namespace {

Listing one_mirror(CellState a, CellState b, bool disabled = false)
{
  Listing l;
  MirrorRow m;
  m.name = "m1";
  m.disabled = disabled;
  l.mirrors.push_back(m);
  l.cells[{"m1", "ka"}] = Cell(a, "reason a");
  l.cells[{"m1", "kb"}] = Cell(b, "reason b");
  return l;
}

} // namespace

TEST_CASE("events: listing changes of pairs and mirrors, nothing when nothing changed", "[events]")
{
  KnownStates known;
  auto first = diff_states(known, one_mirror(CellState::pending, CellState::pending), 10);
  REQUIRE(first.size() == 3);
  CHECK(first[0].info_hash.empty());
  CHECK(first[0].from.empty());
  CHECK(first[0].to == "not-listed");
  CHECK(diff_states(known, one_mirror(CellState::pending, CellState::pending), 11).empty());

  auto listed = diff_states(known, one_mirror(CellState::listed, CellState::pending), 12);
  REQUIRE(listed.size() == 2);
  CHECK(listed[0].to == "listed");
  CHECK(listed[0].from == "not-listed");
  CHECK(listed[0].reason == "listed for 1 of 2 torrents");
  CHECK(listed[1].info_hash == "ka");
  CHECK(listed[1].from == "pending");
  CHECK(listed[1].to == "listed");
  CHECK(listed[1].reason == "reason a");

  auto off = diff_states(known, one_mirror(CellState::off, CellState::off, true), 13);
  REQUIRE(off.size() == 3);
  CHECK(off[0].to == "off");
  CHECK(off[0].reason == "disabled by the central team");
  auto stale = diff_states(known, one_mirror(CellState::stale, CellState::stale), 14);
  CHECK(stale[0].to == "stale");
}

TEST_CASE("events: stored, listed newest first, kept for the retention, known after a restart",
          "[events]")
{
  TempTree t;
  const std::string db = t / "c.sqlite";
  {
    auto log = EventLog::open(db);
    REQUIRE(log);
    KnownStates known;
    CHECK(watch_events(**log, known, one_mirror(CellState::pending, CellState::pending), 100, 1000,
                       EventHook{})
              .lines.size() == 1); // the mirror's own change is logged
    CHECK(watch_events(**log, known, one_mirror(CellState::listed, CellState::pending), 200, 1000,
                       EventHook{})
              .lines.size() == 1);
    const auto events = (*log)->for_mirror("m1", 10);
    REQUIRE(events.size() == 5);
    CHECK(events[0].at == 200);
    CHECK(events[0].to == "listed");
    CHECK((*log)->for_mirror("m1", 2).size() == 2);
    CHECK((*log)->for_mirror("other", 10).empty());
    // Past the retention: the first three go.
    REQUIRE((*log)->record({Event{1200, "m2", "", "", "off", "x"}}, 1150, 1000));
    CHECK((*log)->for_mirror("m1", 10).size() == 2);
  }
  auto again = EventLog::open(db);
  REQUIRE(again);
  KnownStates known = (*again)->last_states();
  CHECK(known.get("m1", "ka") == "listed");
  CHECK(known.get("m1", "kx").empty());
  CHECK(known.get("nobody", "ka").empty());
  // kb's only event is past the retention: it is known again from the next look, once.
  const auto after = diff_states(known, one_mirror(CellState::listed, CellState::pending), 300);
  REQUIRE(after.size() == 1);
  CHECK(after[0].info_hash == "kb");
  CHECK(after[0].from.empty());
}

TEST_CASE("events: the hook gets MIRROR FROM TO REASON as arguments, mirror events only",
          "[events]")
{
  TempTree t;
  const std::string out = t / "args";
  t.file("hook.sh", "#!/bin/sh\nprintf '%s|' \"$@\" >> " + out + "\necho >> " + out + "\n");
  REQUIRE(::chmod((t / "hook.sh").c_str(), 0755) == 0);
  const EventHook hook{{t / "hook.sh"}, std::chrono::seconds(10), t / "hook.log"};
  const auto failures =
      run_event_hook(hook, {Event{1, "m1", "", "listed", "off", "withdrawn by the mirror"},
                            Event{1, "m1", "ka", "listed", "off", "pair events do not call it"}});
  CHECK(failures.empty());
  std::ifstream in(out);
  std::stringstream text;
  text << in.rdbuf();
  CHECK(text.str() == "m1|listed|off|withdrawn by the mirror|\n");
  const EventHook missing{{t / "nope"}, std::chrono::seconds(1), t / "hook.log"};
  CHECK(run_event_hook(missing, {Event{1, "m1", "", "", "off", ""}}).size() == 1);
}
