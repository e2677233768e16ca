#include "payload_verify.h"

#include "test_support.h"
#include "util/fd.h"
#include "util/sha.h"

#include <catch2/catch.hpp>

#include <fcntl.h>

using namespace agent::testing;
using State = agent::FileVerdict::State;

namespace {

// Three files (3000, 5000 and 1000 bytes) in pieces of 4096: piece 0 = a + b[0, 1096),
// piece 1 = b[1096, 5000) + c[0, 192), piece 2 = c[192, 1000).
struct Fixture {
  TempTree tree;
  std::vector<std::string> names{"a", "b", "c"};
  std::vector<std::string> data{std::string(3000, 'a'), std::string(5000, 'b'),
                                std::string(1000, 'c')};

  std::string torrent_bytes() const
  {
    const std::string all = data[0] + data[1] + data[2];
    std::string pieces;
    for (std::size_t at = 0; at < all.size(); at += 4096) {
      const auto h = util::sha1(std::string_view(all).substr(at, 4096));
      pieces.append(reinterpret_cast<const char*>(h.data()), h.size());
    }
    std::vector<std::string> files;
    for (std::size_t i = 0; i < names.size(); ++i) {
      files.push_back(bdict({{"length", bint(static_cast<long long>(data[i].size()))},
                             {"path", blist({bstr(names[i])})}}));
    }
    return bdict({{"info", bdict({{"files", blist(files)},
                                  {"name", bstr("t")},
                                  {"piece length", bint(4096)},
                                  {"pieces", bstr(pieces)}})}});
  }

  agent::VerifyOutcome verify(const std::vector<std::string>& on_disk, unsigned jobs = 2,
                              const std::vector<bool>& present = {true, true, true},
                              const std::vector<bool>& known_good = {})
  {
    auto t = agent::parse_torrent(torrent_bytes(), "t.torrent");
    REQUIRE(t);
    std::vector<util::Fd> owned;
    std::vector<int> fds;
    for (std::size_t i = 0; i < names.size(); ++i) {
      tree.file("t/" + names[i], on_disk[i]);
      owned.emplace_back(present[i] ? ::open((tree / ("t/" + names[i])).c_str(), O_RDONLY) : -1);
      fds.push_back(owned.back().get());
    }
    agent::VerifyOptions options;
    options.jobs = jobs;
    return agent::verify_payload(*t, fds, options, known_good);
  }
};

} // namespace

TEST_CASE("intact payload: every file ok, every byte hashed", "[verify]")
{
  Fixture f;
  const auto out = f.verify(f.data);
  CHECK(out.all_ok());
  CHECK(out.bytes_hashed == 9000);
  CHECK(out.bad_v1_pieces.empty());
}

TEST_CASE("a flipped byte condemns exactly the piece and the files it spans", "[verify]")
{
  Fixture f;
  auto disk = f.data;
  disk[1][0] = 'X'; // b's first byte: inside piece 0, which spans a and b
  for (unsigned jobs : {1u, 2u}) {
    const auto out = f.verify(disk, jobs);
    CHECK(out.bad_v1_pieces == std::vector<std::uint64_t>{0});
    CHECK(out.files[0].state == State::mismatch);
    CHECK(out.files[1].state == State::mismatch);
    CHECK(out.files[1].bad_pieces == std::vector<std::uint64_t>{0});
    CHECK(out.files[2].state == State::ok);
  }
}

TEST_CASE("a missing file is unverified and its shared pieces are not judged", "[verify]")
{
  Fixture f;
  const auto out = f.verify(f.data, 2, {true, false, true});
  CHECK(out.files[1].state == State::unverified);
  CHECK(out.bad_v1_pieces.empty());
  // a and c share pieces 0 and 1 with b: they cannot be called good either.
  CHECK(out.files[0].state == State::unverified);
  CHECK(out.files[2].state == State::unverified);
  CHECK(out.bytes_hashed == 808); // only piece 2 could be read
  CHECK_FALSE(out.all_ok());
}

TEST_CASE("known-good files are not hashed; only pieces touching the others are", "[verify]")
{
  Fixture f;
  SECTION("everything known good: nothing read")
  {
    const auto out = f.verify(f.data, 2, {true, true, true}, {true, true, true});
    CHECK(out.all_ok());
    CHECK(out.bytes_hashed == 0);
  }
  SECTION("c changed: pieces 1 and 2, reading b's share of piece 1")
  {
    auto disk = f.data;
    disk[2][500] = 'X'; // in piece 2
    const auto out = f.verify(disk, 2, {true, true, true}, {true, true, false});
    CHECK(out.bytes_hashed == 4096 + 808);
    CHECK(out.bad_v1_pieces == std::vector<std::uint64_t>{2});
    CHECK(out.files[2].state == State::mismatch);
    CHECK(out.files[0].state == State::ok);
    CHECK(out.files[1].state == State::ok);
  }
  SECTION("a boundary piece fails: only the file not known good is blamed")
  {
    auto disk = f.data;
    disk[2][0] = 'X'; // in piece 1, which b (known good) shares
    const auto out = f.verify(disk, 1, {true, true, true}, {true, true, false});
    CHECK(out.bad_v1_pieces == std::vector<std::uint64_t>{1});
    CHECK(out.files[1].state == State::ok);
    CHECK(out.files[2].state == State::mismatch);
    CHECK(out.files[2].bad_pieces == std::vector<std::uint64_t>{1});
  }
}

TEST_CASE("a file shorter than it claims fails its pieces instead of reading garbage", "[verify]")
{
  Fixture f;
  auto disk = f.data;
  disk[2] = "ccc"; // the caller did not check the size: the engine must not trust it
  const auto out = f.verify(disk);
  CHECK(out.bad_v1_pieces == std::vector<std::uint64_t>{1, 2}); // both pieces c touches
  CHECK(out.files[2].state == State::mismatch);
}
