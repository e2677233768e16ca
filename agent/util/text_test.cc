#include "util/text.h"

#include <catch2/catch.hpp>

using namespace std::string_literals;

TEST_CASE("is_valid_utf8 accepts well-formed and rejects ill-formed sequences", "[text]")
{
  CHECK(util::is_valid_utf8(""));
  CHECK(util::is_valid_utf8("stage3-x86-2007.0.tar.bz2"));
  CHECK(util::is_valid_utf8("caf\xc3\xa9"));
  CHECK(util::is_valid_utf8("\xf0\x9f\x98\x80"));
  CHECK_FALSE(util::is_valid_utf8("\xff"));
  CHECK_FALSE(util::is_valid_utf8("\xc3"));             // truncated
  CHECK_FALSE(util::is_valid_utf8("\xc0\xaf"));         // overlong '/'
  CHECK_FALSE(util::is_valid_utf8("\xed\xa0\x80"));     // surrogate
  CHECK_FALSE(util::is_valid_utf8("\xf4\x90\x80\x80")); // > U+10FFFF
}

TEST_CASE("to_utf8_lossy replaces each bad byte with U+FFFD", "[text]")
{
  CHECK(util::to_utf8_lossy("a\xff"
                            "b") == "a\xef\xbf\xbd"
                                    "b");
  CHECK(util::to_utf8_lossy("caf\xc3\xa9") == "caf\xc3\xa9");
  CHECK(util::is_valid_utf8(util::to_utf8_lossy("\xc3\x28\xa0\xa1")));
}

TEST_CASE("to_hex is lowercase, two digits per byte", "[text]")
{
  CHECK(util::to_hex("a\n\xff"s) == "610aff");
  CHECK(util::to_hex(""s).empty());
}

TEST_CASE("escape_for_terminal keeps names on one unambiguous line", "[text]")
{
  CHECK(util::escape_for_terminal("plain.iso") == "plain.iso");
  CHECK(util::escape_for_terminal("a\nb") == "a\\nb");
  CHECK(util::escape_for_terminal("tab\there") == "tab\\there");
  CHECK(util::escape_for_terminal("back\\slash") == "back\\\\slash");
  CHECK(util::escape_for_terminal("bad\xff") == "bad\\xff");
  CHECK(util::escape_for_terminal("with space") == "\"with space\"");
  CHECK(util::escape_for_terminal("q\"uote") == "\"q\\\"uote\"");
  CHECK(util::escape_for_terminal("") == "\"\"");
  CHECK(util::escape_for_terminal("\x1b[31m") == "\\x1b[31m");
  CHECK(util::escape_for_terminal("rtl\xe2\x80\xae"
                                  "gpj.exe") == "rtl\\u{202E}gpj.exe");
  CHECK(util::escape_for_terminal("caf\xc3\xa9") == "caf\xc3\xa9");
}

TEST_CASE("escape_in_message escapes like escape_for_terminal but never quotes", "[text]")
{
  CHECK(util::escape_in_message("target 'a b' is\nbad") == "target 'a b' is\\nbad");
}
