#include "bencode.h"

#include <catch2/catch.hpp>

using bencode::Errc;

namespace {

bencode::Error error_of(std::string_view input, const bencode::Limits& limits = {})
{
  auto doc = bencode::decode(input, limits);
  REQUIRE_FALSE(doc);
  return doc.error();
}

} // namespace

TEST_CASE("decode reads every type and keeps views into the buffer", "[bencode]")
{
  const std::string input = "d3:agei-42e5:emptyde4:listl1:ai0ee4:name5:hello4:zero0:e";
  auto doc = bencode::decode(input);
  REQUIRE(doc);
  const bencode::Node root = doc->root();
  CHECK(root.is_dict());
  CHECK(root.size() == 5);
  CHECK(root.raw() == input);
  CHECK(root.find("age")->integer() == -42);
  CHECK(root.find("name")->string() == "hello");
  CHECK(root.find("name")->string().data() == input.data() + input.find("hello"));
  CHECK(root.find("zero")->string().empty());
  const auto list = *root.find("list");
  REQUIRE(list.size() == 2);
  CHECK(list.at(0).string() == "a");
  CHECK(list.at(1).integer() == 0);
  CHECK(list.raw() == "l1:ai0ee");
  CHECK(root.find("empty")->is_dict());
  CHECK(root.find("empty")->size() == 0);
  CHECK_FALSE(root.find("missing"));
  std::vector<std::string> keys;
  root.for_each_pair([&](std::string_view k, bencode::Node) { keys.emplace_back(k); });
  CHECK(keys == std::vector<std::string>{"age", "empty", "list", "name", "zero"});
}

TEST_CASE("integers at the edges of int64", "[bencode]")
{
  auto max = bencode::decode("i9223372036854775807e");
  REQUIRE(max);
  CHECK(max->root().integer() == INT64_MAX);
  auto min = bencode::decode("i-9223372036854775808e");
  REQUIRE(min);
  CHECK(min->root().integer() == INT64_MIN);
  CHECK(error_of("i9223372036854775808e").code == Errc::integer_overflow);
  CHECK(error_of("i-9223372036854775809e").code == Errc::integer_overflow);
  CHECK(error_of("i99999999999999999999999e").code == Errc::integer_overflow);
}

TEST_CASE("malformed input is rejected with the code and the byte offset", "[bencode]")
{
  struct Case {
    std::string input;
    Errc code;
    std::size_t offset;
  };
  const Case cases[] = {
      {"", Errc::unexpected_end, 0},
      {"x", Errc::expected_value, 0},
      {"i03e", Errc::leading_zero, 1},
      {"i-0e", Errc::negative_zero, 0},
      {"i-e", Errc::invalid_integer, 2},
      {"ie", Errc::invalid_integer, 1},
      {"i12", Errc::unexpected_end, 3},
      {"i1x2e", Errc::invalid_integer, 2},
      {"03:abc", Errc::leading_zero, 0},
      {"3abc", Errc::expected_colon, 1},
      {"5:abc", Errc::string_too_long, 0},
      {"l5:abce", Errc::string_too_long, 1},
      {"99999999999999999999999:x", Errc::integer_overflow, 0},
      {"18446744073709551615:x", Errc::string_too_long, 0},
      {"di1e1:ae", Errc::key_not_string, 1},
      {"d1:b1:x1:a1:ye", Errc::unsorted_keys, 7},
      {"d1:a1:x1:a1:ye", Errc::duplicate_key, 7},
      {"d1:ae", Errc::missing_value, 4},
      {"l", Errc::unexpected_end, 1},
      {"d1:a", Errc::unexpected_end, 4},
      {"le1", Errc::trailing_data, 2},
      {"i1ei2e", Errc::trailing_data, 3},
  };
  for (const Case& c : cases) {
    INFO("input: " << c.input);
    const auto e = error_of(c.input);
    CHECK(e.code == c.code);
    CHECK(e.offset == c.offset);
  }
}

TEST_CASE("error messages name the offset and the offending key", "[bencode]")
{
  CHECK(error_of("d1:c1:x1:b1:ye").message() ==
        "byte 7: dictionary keys not sorted ('b' after 'c')");
  CHECK(error_of("d1:a1:x1:a1:ye").message() == "byte 7: duplicate dictionary key ('a')");
  CHECK(error_of("le  ").message() ==
        "byte 2: trailing data after the top-level value (2 bytes after the end)");
  // Keys are escaped and cut in messages.
  const std::string long_key(100, 'z');
  const std::string input = "d100:" + long_key + "i1e1:\nI1ee";
  CHECK(error_of(input).message().find("'\\n' after 'zzzz") != std::string::npos);
}

TEST_CASE("Quirks::record accepts key order and trailing bytes, with their offsets", "[bencode]")
{
  const auto record = [](std::string_view input) {
    auto doc = bencode::decode(input, {}, bencode::Quirks::record);
    REQUIRE(doc);
    return std::move(*doc);
  };
  const auto unsorted = record("d1:c1:x1:b1:ye");
  REQUIRE(unsorted.quirk_count() == 1);
  CHECK(unsorted.quirk(0).code == Errc::unsorted_keys);
  CHECK(unsorted.quirk_offset(0) == 7);
  CHECK(unsorted.quirk(0).message() == "byte 7: dictionary keys not sorted ('b' after 'c')");
  CHECK(unsorted.root().find("b")->string() == "y");

  // The first of repeated keys counts, as in libtorrent's dict_find.
  const auto duplicate = record("d1:a1:x1:a1:ye");
  REQUIRE(duplicate.quirk_count() == 1);
  CHECK(duplicate.quirk(0).message() == "byte 7: duplicate dictionary key ('a')");
  CHECK(duplicate.root().find("a")->string() == "x");
  CHECK(duplicate.root().size() == 2);

  // Trailing bytes are not decoded: the root ends where its value ends.
  const std::string torrent_like = "d1:a0:e\n";
  const auto trailing = record(torrent_like);
  REQUIRE(trailing.quirk_count() == 1);
  CHECK(trailing.quirk(0).message() ==
        "byte 7: trailing data after the top-level value (1 byte after the end)");
  CHECK(trailing.root().raw() == "d1:a0:e");
  CHECK(record("le  ").quirk(0).message() ==
        "byte 2: trailing data after the top-level value (2 bytes after the end)");

  // Several, in byte order: unsorted at 6, duplicate at 11, trailing at 17; nested dicts too.
  const auto several = record("d1:b0:1:a0:1:a0:e\n");
  REQUIRE(several.quirk_count() == 3);
  CHECK(several.quirk(0).code == Errc::unsorted_keys);
  CHECK(several.quirk_offset(0) == 6);
  CHECK(several.quirk(1).code == Errc::duplicate_key);
  CHECK(several.quirk_offset(1) == 11);
  CHECK(several.quirk(2).code == Errc::trailing_data);
  CHECK(several.quirk_offset(2) == 17);
  const auto nested = record("d1:ad1:z0:1:y0:ee");
  REQUIRE(nested.quirk_count() == 1);
  CHECK(nested.quirk(0).message() == "byte 10: dictionary keys not sorted ('y' after 'z')");

  // Canonical input: no quirks. Everything else stays an error.
  CHECK(record("d1:a0:1:b0:e").quirk_count() == 0);
  for (const char* bad : {"d1:a0:", "i03e", "d1:ai1e1:be", "i-0e", "03:abc", "di1e0:e"}) {
    CAPTURE(bad);
    CHECK_FALSE(bencode::decode(bad, {}, bencode::Quirks::record));
  }
  // Quirks::reject (the default) still refuses them, at the same offsets.
  CHECK(error_of("d1:b0:1:a0:1:a0:e\n").offset == 6);
}

TEST_CASE("key order is bytewise unsigned", "[bencode]")
{
  CHECK(bencode::decode("d1:a0:1:\xff"
                        "0:e"));
  CHECK(error_of("d1:\xff"
                 "0:1:a0:e")
            .code == Errc::unsorted_keys);
  CHECK(bencode::decode("d1:a0:2:aa0:e")); // a prefix sorts first
}

TEST_CASE("limits: depth, tokens and size", "[bencode]")
{
  bencode::Limits limits;
  limits.max_depth = 3;
  CHECK(bencode::decode("lllleeee", bencode::Limits{}));
  const auto deep = error_of("lllleeee", limits);
  CHECK(deep.code == Errc::depth_exceeded);
  CHECK(deep.offset == 3);
  CHECK(bencode::decode("llleee", limits));

  const std::string very_deep(100000, 'l');
  CHECK(error_of(very_deep).code == Errc::depth_exceeded);

  bencode::Limits few;
  few.max_tokens = 3;
  CHECK(bencode::decode("li1ei2ee", few));
  CHECK(error_of("li1ei2ei3ee", few).code == Errc::too_many_tokens);

  bencode::Limits small;
  small.max_size = 4;
  CHECK(error_of("i100e", small).code == Errc::input_too_large);
}

TEST_CASE("raw() of the info dictionary is the exact span", "[bencode]")
{
  const std::string input = "d8:announce3:url4:infod4:name1:x6:lengthi1eee";
  auto doc = bencode::decode(input);
  // "name" > "length": the dict is unsorted, so the decoder refuses it.
  REQUIRE_FALSE(doc);
  const std::string sorted = "d8:announce3:url4:infod6:lengthi1e4:name1:xee";
  auto ok = bencode::decode(sorted);
  REQUIRE(ok);
  CHECK(ok->root().find("info")->raw() == "d6:lengthi1e4:name1:xe");
  CHECK(ok->root().find("info")->offset() == 22);
}
