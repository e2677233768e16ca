#include "probe_plan.h"

#include "test_support.h"

#include <catch2/catch.hpp>

using namespace agent::testing;
using Check = agent::ProbeItem::Check;

namespace {

constexpr std::uint64_t k_mib = 1 << 20;

// A v1 torrent of files with the given lengths (hashes are zeros: the plan never reads them).
agent::Torrent v1_torrent(const std::vector<std::uint64_t>& lengths, std::uint64_t piece_length)
{
  std::uint64_t total = 0;
  std::vector<std::string> files;
  for (std::size_t i = 0; i < lengths.size(); ++i) {
    total += lengths[i];
    files.push_back(bdict({{"length", bint(static_cast<long long>(lengths[i]))},
                           {"path", blist({bstr("f" + std::to_string(i))})}}));
  }
  const std::uint64_t pieces = (total + piece_length - 1) / piece_length;
  auto t = agent::parse_torrent(
      bdict({{"info", bdict({{"files", blist(files)},
                             {"name", bstr("t")},
                             {"piece length", bint(static_cast<long long>(piece_length))},
                             {"pieces", bstr(std::string(pieces * 20, '\0'))}})}}),
      "t.torrent");
  REQUIRE(t);
  return std::move(*t);
}

std::uint64_t planned(const std::vector<agent::ProbeItem>& plan)
{
  std::uint64_t n = 0;
  for (const auto& item : plan) {
    for (const auto& s : item.segments) {
      n += s.length;
    }
  }
  return n;
}

bool has_range(const std::vector<agent::ProbeItem>& plan, std::size_t file, std::uint64_t first,
               std::uint64_t length)
{
  for (const auto& item : plan) {
    for (const auto& s : item.segments) {
      if (s.file == file && s.offset == first && s.length == length) {
        return true;
      }
    }
  }
  return false;
}

} // namespace

TEST_CASE("probe plan: whole pieces, client-sized requests, EOF and 2/4 GiB edges", "[probe]")
{
  const std::uint64_t big = (5ull << 30) + 12345; // a 5 GiB image and its 1 KiB DIGESTS
  const auto t = v1_torrent({big, 1024}, 2 * k_mib);
  const auto plan = agent::plan_probe(t, 8 * k_mib);
  REQUIRE(!plan.empty());
  CHECK(planned(plan) <= 8 * k_mib);
  // the first piece, checked against its SHA-1
  CHECK(plan[0].check == Check::v1_piece);
  CHECK(plan[0].piece == 0);
  CHECK(has_range(plan, 0, 0, 2 * k_mib));
  // the last piece spans the end of the image and the whole DIGESTS file
  CHECK(plan[1].check == Check::v1_piece);
  CHECK(plan[1].piece == t.piece_count - 1);
  CHECK(plan[1].segments.size() == 2);
  CHECK(has_range(plan, 1, 0, 1024));
  // ranges straddling 2 GiB and 4 GiB
  CHECK(has_range(plan, 0, (1ull << 31) - 16 * 1024, 32 * 1024));
  CHECK(has_range(plan, 0, (1ull << 32) - 16 * 1024, 32 * 1024));
  // the end of the image, ending exactly at EOF (covered by the last piece here or its own)
  bool eof = false;
  for (const auto& item : plan) {
    for (const auto& s : item.segments) {
      eof = eof || (s.file == 0 && s.offset + s.length == big);
    }
  }
  CHECK(eof);
}

TEST_CASE("probe plan: the budget bounds it; pieces too large are compared locally", "[probe]")
{
  const auto t = v1_torrent({64 * k_mib}, 16 * k_mib);
  const auto plan = agent::plan_probe(t, 4 * k_mib);
  REQUIRE(!plan.empty());
  CHECK(planned(plan) <= 4 * k_mib);
  for (const auto& item : plan) {
    CHECK(item.check == Check::local); // a 16 MiB piece does not fit half of 4 MiB
  }
  CHECK(has_range(plan, 0, 32 * k_mib, k_mib)); // the 1 MiB request in the middle
}

TEST_CASE("probe plan: small files are fetched whole, once", "[probe]")
{
  const auto t = v1_torrent({3000, 5000, 1000}, 16 * 1024);
  const auto plan = agent::plan_probe(t, 4 * k_mib);
  // one piece covers everything: it is the whole plan (whole files would repeat it)
  REQUIRE(plan.size() == 1);
  CHECK(plan[0].check == Check::v1_piece);
  CHECK(plan[0].segments.size() == 3);
  CHECK(planned(plan) == 9000);
}

TEST_CASE("probe plan: a tiny budget still plans something useful", "[probe]")
{
  const auto t = v1_torrent({10 * k_mib}, k_mib);
  const auto plan = agent::plan_probe(t, 64 * 1024);
  REQUIRE(!plan.empty());
  CHECK(planned(plan) <= 64 * 1024);
}
