// torrent_fuzz.cc: libFuzzer target for agent::parse_torrent (torrent.h).
//
// Besides "no crash, no leak, no UB", it checks what the header promises:
//  - a rejection is a one-line message naming the source;
//  - an accepted torrent is strict bencode but for the quirks it lists (Torrent::quirks: all
//    counted, the first ones kept in byte order; none inside a v2/hybrid info dictionary, whose
//    bytes decode strictly on their own), has safe path components only, info hashes exactly
//    for the versions it has, one 20-byte v1 hash per piece, contiguous v1 file offsets, a
//    total size that is the sum of the non-pad lengths, v2 piece sizes that are powers of two
//    >= 16 KiB, a pieces root for every non-empty v2 file (symlinks aside), and piece layers
//    of the right size (or none: a torrent may lack them, clients then fetch them from peers);
//  - the piece hashes stay valid in a copy after the original Torrent is gone (ASan checks it).
// Every field of the result is read. A broken promise aborts with a line on stderr.
//
// Built by tests/fuzz/run-fuzz (clang, -fsanitize=fuzzer,address,undefined).
#include "bencode.h"
#include "torrent.h"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <algorithm>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

namespace {

constexpr std::size_t k_max_size = 1u << 20;
constexpr std::string_view k_source = "fuzz.torrent";

volatile std::uint64_t g_sink; // keeps the reads from being optimized away

[[noreturn]] void fail(const char* what, std::string_view context = {})
{
  std::fprintf(stderr, "torrent_fuzz: broken promise: %s%s%.*s\n", what,
               context.empty() ? "" : ": ", static_cast<int>(context.size()), context.data());
  std::abort();
}

void expect(bool ok, const char* what, std::string_view context = {})
{
  if (!ok) {
    fail(what, context);
  }
}

void touch(std::string_view s)
{
  std::uint64_t h = s.size();
  for (const char c : s) {
    h = h * 31 + static_cast<unsigned char>(c);
  }
  g_sink = g_sink + h;
}

bool safe_component(std::string_view c)
{
  return !c.empty() && c != "." && c != ".." && c.find('/') == std::string_view::npos &&
         c.find('\0') == std::string_view::npos;
}

bool inside(std::string_view view, const std::string& bytes)
{
  return view.empty() ||
         (view.data() >= bytes.data() && view.data() + view.size() <= bytes.data() + bytes.size());
}

bool lowercase_hex(const std::string& s, std::size_t n)
{
  if (s.size() != n) {
    return false;
  }
  for (const char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return true;
}

void check_files(const agent::Torrent& t)
{
  std::uint64_t next_offset = 0; // wrapping, like any overflow the parser would have missed
  std::uint64_t v1_total = 0;
  std::uint64_t total = 0;
  for (const agent::TorrentFile& f : t.files) {
    expect(!f.path.empty(), "file with an empty path");
    std::string joined;
    for (const std::string& c : f.path) {
      expect(safe_component(c), "accepted an unsafe path component", c);
      joined += joined.empty() ? "" : "/";
      joined += c;
    }
    expect(f.joined_path() == joined, "joined_path() is not the components joined with '/'",
           f.joined_path());
    touch(f.attr);
    for (const std::string& c : f.symlink_path) {
      touch(c);
    }
    g_sink = g_sink + f.length + f.offset + f.pad + 2 * f.symlink + 4 * f.executable + 8 * f.hidden;
    if (t.has_v1) {
      expect(f.offset == next_offset, "v1 file offsets are not contiguous", joined);
      next_offset += f.length;
    }
    v1_total += f.length;
    if (!f.pad) {
      total += f.length;
    }
    if (f.pieces_root) {
      g_sink = g_sink + (*f.pieces_root)[0] + (*f.pieces_root)[31];
      expect(t.has_v2 && !f.pad, "pieces root on a pad file or in a v1-only torrent", joined);
    }
    if (t.has_v2 && !f.pad && !f.symlink && f.length > 0) {
      expect(f.pieces_root.has_value(), "non-empty v2 file without a pieces root", joined);
    }

    const std::string_view layer = t.piece_layer(f);
    expect(inside(layer, *t.bytes), "piece layer is not a view into bytes", joined);
    touch(layer);
    if (t.has_v2 && !f.pad && f.length > t.piece_length) {
      const std::uint64_t pieces =
          f.length / t.piece_length + (f.length % t.piece_length != 0 ? 1 : 0);
      // Empty when the torrent has no layer for the file (clients fetch it from peers).
      expect(layer.empty() || (layer.size() / 32 == pieces && layer.size() % 32 == 0),
             "piece layer size is not 32 bytes per piece", joined);
    } else {
      expect(layer.empty(), "piece layer for a file that fits in one piece (or v1/pad)", joined);
    }
  }
  expect(total == t.total_size, "total_size is not the sum of the non-pad file lengths");
  if (t.has_v1) {
    const std::uint64_t pieces =
        v1_total / t.piece_length + (v1_total % t.piece_length != 0 ? 1 : 0);
    expect(t.piece_count == pieces, "v1 piece count does not cover the files exactly");
  }
}

void check(const agent::Torrent& t, const std::string& input)
{
  expect(t.bytes != nullptr && *t.bytes == input, "bytes is not the input");
  expect(t.source == k_source, "source is not the name passed in", t.source);
  expect(t.has_v1 || t.has_v2, "neither v1 nor v2");
  expect(t.has_v1 == t.info_hash_v1.has_value(), "info_hash_v1 present iff has_v1");
  expect(t.has_v2 == t.info_hash_v2.has_value(), "info_hash_v2 present iff has_v2");
  if (t.info_hash_v1) {
    expect(lowercase_hex(agent::hex(*t.info_hash_v1), 40), "hex(v1) is not 40 lowercase hex");
  }
  if (t.info_hash_v2) {
    expect(lowercase_hex(agent::hex(*t.info_hash_v2), 64), "hex(v2) is not 64 lowercase hex");
  }
  expect(safe_component(t.name), "accepted an unsafe name", t.name);
  expect(t.piece_length > 0, "piece length 0");
  if (t.has_v2) {
    expect(t.piece_length >= 16384 && (t.piece_length & (t.piece_length - 1)) == 0,
           "v2 piece length not a power of two >= 16 KiB");
  }
  const auto lenient = bencode::decode(input, {}, bencode::Quirks::record);
  expect(lenient.has_value(), "accepted a torrent that is not bencode with quirks");
  expect(lenient->quirk_count() == t.quirk_count, "quirk_count is not the decoder's count");
  expect(bencode::decode(input).has_value() == (t.quirk_count == 0),
         "strict bencode iff no quirk");
  expect(t.quirks.size() == std::min(t.quirk_count, agent::Torrent::k_max_kept_quirks),
         "not the first quirks kept");
  for (std::size_t i = 0; i < t.quirks.size(); ++i) {
    expect(t.quirks[i].offset == lenient->quirk_offset(i) && t.quirks[i].offset <= input.size(),
           "quirk offset is not the decoder's");
    expect(!t.quirks[i].what.empty() && t.quirks[i].what.find('\n') == std::string::npos,
           "quirk text is not one line", t.quirks[i].what);
  }
  if (t.has_v2) {
    const auto info = lenient->root().find("info");
    expect(info && bencode::decode(info->raw()).has_value(),
           "accepted a v2/hybrid info dictionary that is not strict bencode");
  }

  if (t.has_v1) {
    expect(inside(t.pieces_v1, *t.bytes), "pieces_v1 is not a view into bytes");
    expect(t.pieces_v1.size() % 20 == 0 && t.pieces_v1.size() / 20 == t.piece_count,
           "v1 pieces is not 20 bytes per piece");
    for (std::uint64_t i = 0; i < t.piece_count; ++i) {
      const std::string_view h = t.piece_hash_v1(i);
      expect(h.size() == 20 && h == t.pieces_v1.substr(i * 20, 20),
             "piece_hash_v1(i) is not the i-th 20 bytes of pieces");
      touch(h);
    }
  }
  check_files(t);

  touch(t.name);
  g_sink = g_sink + t.multi_file + t.is_private + t.piece_count + t.total_size;
  for (const std::string& u : t.url_list) {
    touch(u);
  }
  for (const std::string& u : t.httpseeds) {
    touch(u);
  }
  for (const auto& tier : t.trackers) {
    for (const std::string& u : tier) {
      touch(u);
    }
  }
  touch(t.comment);
  touch(t.created_by);
  if (t.creation_date) {
    g_sink = g_sink + static_cast<std::uint64_t>(*t.creation_date);
  }
  for (const std::string_view layer : t.layers) {
    expect(inside(layer, *t.bytes), "layers[i] is not a view into bytes");
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  if (size > k_max_size) {
    return -1; // not added to the corpus
  }
  const std::string input(reinterpret_cast<const char*>(data), size);
  agent::TorrentLimits limits;
  limits.max_size = k_max_size;

  std::optional<agent::Torrent> copy;
  {
    auto parsed = agent::parse_torrent(input, std::string(k_source), limits);
    if (!parsed) {
      const agent::TorrentError& e = parsed.error();
      expect(e.code == agent::TorrentErrc::invalid || e.code == agent::TorrentErrc::unsafe_path,
             "unknown error code");
      expect(e.message.starts_with(std::string(k_source) + ": "),
             "error message does not start with the source", e.message);
      expect(e.message.find('\n') == std::string::npos, "error message is not one line", e.message);
      touch(e.message);
      return 0;
    }
    copy.emplace(*parsed); // the original dies at the end of this block
  }
  check(*copy, input);
  return 0;
}
