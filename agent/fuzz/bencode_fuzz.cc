// bencode_fuzz.cc: libFuzzer target for bencode::decode (bencode.h).
//
// Besides "no crash, no leak, no UB", it checks what the header promises:
//  - decode() accepts exactly what a small independent strict BEP 3 checker (below) accepts,
//    whenever the input stays clear of the depth and token limits;
//  - every node's raw() lies inside the buffer at offset(), children tile their parent's raw()
//    exactly, integers and strings re-encode to their raw() bytes (canonical form), dictionary
//    keys are strictly increasing, size()/at()/find()/for_each()/for_each_pair() agree;
//  - a failure has an offset within the buffer and a non-empty message;
//  - Quirks::record agrees with Quirks::reject: no quirk where strict decoding succeeds (the
//    same tokens), and where it fails on key order or trailing bytes, either the first quirk is
//    that very error (code and offset) or decoding fails later; quirks come in byte order and
//    the root ends where its value ends.
// A broken promise aborts with a line on stderr saying which.
//
// Built by tests/fuzz/run-fuzz (clang, -fsanitize=fuzzer,address,undefined).
#include "bencode.h"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <expected>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

namespace {

constexpr std::uint32_t k_max_depth = 100;
constexpr std::uint32_t k_max_tokens = 100'000;
constexpr std::size_t k_max_size = 1u << 20;
// find()/at() are O(n): call them on this many elements per container, plus the last one.
constexpr std::size_t k_lookups = 32;

volatile std::uint64_t g_sink; // keeps the reads from being optimized away

[[noreturn]] void fail(const char* what, std::size_t offset)
{
  std::fprintf(stderr, "bencode_fuzz: broken promise at byte %zu: %s\n", offset, what);
  std::abort();
}

void expect(bool ok, const char* what, std::size_t offset)
{
  if (!ok) {
    fail(what, offset);
  }
}

// ---- independent reference checker (accept/reject only) ----
//
// Strict BEP 3 as bencode.h describes it. Recursion depth is bounded by the caller: it stops
// at k_max_depth + 8 and reports "near a limit", in which case the answers are not compared.
class Reference {
public:
  explicit Reference(std::string_view in) : m_in(in) {}

  // nullopt: near the depth or token limit (do not compare).
  std::optional<bool> accepts()
  {
    const bool ok = value(1) && m_pos == m_in.size();
    if (m_near_limit || m_tokens + 8 >= k_max_tokens || m_max_depth + 2 >= k_max_depth) {
      return std::nullopt;
    }
    return ok;
  }

private:
  bool digits_u64(std::uint64_t& out)
  {
    const std::size_t start = m_pos;
    out = 0;
    while (m_pos < m_in.size() && m_in[m_pos] >= '0' && m_in[m_pos] <= '9') {
      const auto d = static_cast<std::uint64_t>(m_in[m_pos] - '0');
      if (out > (std::numeric_limits<std::uint64_t>::max() - d) / 10) {
        return false;
      }
      out = out * 10 + d;
      ++m_pos;
    }
    const std::size_t n = m_pos - start;
    return n > 0 && !(n > 1 && m_in[start] == '0');
  }

  bool string_value(std::string_view* out)
  {
    std::uint64_t len = 0;
    if (!digits_u64(len) || m_pos >= m_in.size() || m_in[m_pos] != ':') {
      return false;
    }
    ++m_pos;
    if (len > m_in.size() - m_pos) {
      return false;
    }
    if (out != nullptr) {
      *out = m_in.substr(m_pos, len);
    }
    m_pos += len;
    return true;
  }

  bool integer_value()
  {
    ++m_pos; // 'i'
    bool negative = false;
    if (m_pos < m_in.size() && m_in[m_pos] == '-') {
      negative = true;
      ++m_pos;
    }
    std::uint64_t magnitude = 0;
    if (!digits_u64(magnitude) || m_pos >= m_in.size() || m_in[m_pos] != 'e') {
      return false;
    }
    ++m_pos;
    if (negative && magnitude == 0) {
      return false; // "-0"
    }
    const std::uint64_t max_pos = std::numeric_limits<std::int64_t>::max();
    return negative ? magnitude <= max_pos + 1 : magnitude <= max_pos;
  }

  bool value(std::uint32_t depth)
  {
    if (depth > k_max_depth + 8) {
      m_near_limit = true;
      return false;
    }
    if (depth > m_max_depth) {
      m_max_depth = depth;
    }
    if (++m_tokens > k_max_tokens + 8) {
      m_near_limit = true;
      return false;
    }
    if (m_pos >= m_in.size()) {
      return false;
    }
    const char c = m_in[m_pos];
    if (c == 'i') {
      return integer_value();
    }
    if (c >= '0' && c <= '9') {
      return string_value(nullptr);
    }
    if (c == 'l') {
      ++m_pos;
      while (m_pos < m_in.size() && m_in[m_pos] != 'e') {
        if (!value(depth + 1)) {
          return false;
        }
      }
      if (m_pos >= m_in.size()) {
        return false;
      }
      ++m_pos;
      return true;
    }
    if (c == 'd') {
      ++m_pos;
      std::optional<std::string_view> previous;
      while (m_pos < m_in.size() && m_in[m_pos] != 'e') {
        std::string_view key;
        if (m_in[m_pos] < '0' || m_in[m_pos] > '9') {
          return false;
        }
        ++m_tokens;
        if (!string_value(&key)) {
          return false;
        }
        if (previous && !(*previous < key)) {
          return false;
        }
        previous = key;
        if (m_pos >= m_in.size() || m_in[m_pos] == 'e' || !value(depth + 1)) {
          return false;
        }
      }
      if (m_pos >= m_in.size()) {
        return false;
      }
      ++m_pos;
      return true;
    }
    return false;
  }

  std::string_view m_in;
  std::size_t m_pos = 0;
  std::uint32_t m_tokens = 0;
  std::uint32_t m_max_depth = 0;
  bool m_near_limit = false;
};

// ---- walking the decoded tree ----

void walk(const bencode::Node& node, std::string_view buffer);

// Checks the children of a list/dict tile its raw() between the opening byte and the 'e'.
class Tiling {
public:
  Tiling(const bencode::Node& parent, std::string_view buffer)
      : m_buffer(buffer), m_next(parent.offset() + 1), m_end(parent.offset() + parent.raw().size())
  {
  }
  void child(const bencode::Node& c)
  {
    expect(c.offset() == m_next, "child does not start where the previous one ended", m_next);
    m_next = c.offset() + c.raw().size();
    expect(m_next < m_end, "child runs past its parent's closing 'e'", c.offset());
  }
  void done() const
  {
    expect(m_next + 1 == m_end, "children do not end right before the parent's 'e'", m_next);
    expect(m_buffer[m_next] == 'e', "container does not end with 'e'", m_next);
  }

private:
  std::string_view m_buffer;
  std::size_t m_next;
  std::size_t m_end;
};

void walk_list(const bencode::Node& node, std::string_view buffer)
{
  const std::size_t n = node.size();
  std::size_t count = 0;
  Tiling tiling(node, buffer);
  node.for_each([&](const bencode::Node& element) {
    tiling.child(element);
    if (count < k_lookups || count + 1 == n) {
      expect(count < n && node.at(count).offset() == element.offset(),
             "list at(i) differs from the i-th element of for_each", element.offset());
    }
    ++count;
    walk(element, buffer);
  });
  tiling.done();
  expect(count == n, "list size() differs from the number of for_each elements", node.offset());
  expect(!node.find("").has_value(), "find() on a list found something", node.offset());
}

void walk_dict(const bencode::Node& node, std::string_view buffer)
{
  const std::size_t n = node.size();
  std::size_t pairs = 0;
  std::optional<std::string_view> previous;
  Tiling tiling(node, buffer);
  node.for_each_pair([&](std::string_view key, const bencode::Node& value) {
    expect(key.data() >= buffer.data() && key.data() + key.size() <= buffer.data() + buffer.size(),
           "dictionary key is not a view into the buffer", value.offset());
    expect(!previous || *previous < key, "dictionary keys not strictly increasing", value.offset());
    previous = key;
    if (pairs < k_lookups || pairs + 1 == n) {
      const auto found = node.find(key);
      expect(found.has_value() && found->offset() == value.offset(),
             "find(key) does not return the value for_each_pair gave", value.offset());
    }
    ++pairs;
    walk(value, buffer);
  });
  expect(pairs == n, "dict size() differs from the number of for_each_pair pairs", node.offset());

  // for_each on a dictionary visits keys and values alternately.
  std::size_t visited = 0;
  node.for_each([&](const bencode::Node& child) {
    tiling.child(child);
    if (visited % 2 == 0) {
      expect(child.is_string(), "dictionary key node is not a string", child.offset());
      walk(child, buffer);
    }
    ++visited;
  });
  tiling.done();
  expect(visited == 2 * n, "for_each on a dict did not visit 2 * size() nodes", node.offset());

  // A key that sorts after every key cannot be present: must not be found.
  if (previous) {
    std::string after(*previous);
    after.push_back('\0');
    expect(!node.find(after).has_value(), "find() found an absent key", node.offset());
  }
  expect(n != 0 || !node.find("").has_value(), "find() on an empty dict found something",
         node.offset());
}

void walk(const bencode::Node& node, std::string_view buffer)
{
  const std::string_view raw = node.raw();
  const std::size_t off = node.offset();
  expect(!raw.empty(), "empty raw()", off);
  expect(raw.data() == buffer.data() + off, "raw() does not start at offset()", off);
  expect(off <= buffer.size() && raw.size() <= buffer.size() - off, "raw() past the buffer", off);
  switch (node.type()) {
  case bencode::Type::integer: {
    const std::int64_t v = node.integer();
    g_sink = g_sink + static_cast<std::uint64_t>(v);
    expect(raw == "i" + std::to_string(v) + "e", "integer does not re-encode to raw()", off);
    break;
  }
  case bencode::Type::string: {
    const std::string_view s = node.string();
    expect(s.data() + s.size() == raw.data() + raw.size(), "string() not at the end of raw()", off);
    expect(raw.substr(0, raw.size() - s.size()) == std::to_string(s.size()) + ":",
           "string does not re-encode to raw()", off);
    g_sink = g_sink + s.size();
    break;
  }
  case bencode::Type::list:
    expect(raw.front() == 'l', "list raw() does not start with 'l'", off);
    walk_list(node, buffer);
    break;
  case bencode::Type::dict:
    expect(raw.front() == 'd', "dict raw() does not start with 'd'", off);
    walk_dict(node, buffer);
    break;
  default: fail("unknown node type", off);
  }
  expect(node.is_int() + node.is_string() + node.is_list() + node.is_dict() == 1,
         "is_*() not exactly one", off);
}

} // namespace

namespace {

bool is_quirk(bencode::Errc code)
{
  return code == bencode::Errc::unsorted_keys || code == bencode::Errc::duplicate_key ||
         code == bencode::Errc::trailing_data;
}

void check_quirks(std::string_view buffer, const bencode::Limits& limits,
                  const std::expected<bencode::Document, bencode::Error>& strict)
{
  const auto lenient = bencode::decode(buffer, limits, bencode::Quirks::record);
  if (strict) {
    expect(lenient && lenient->quirk_count() == 0 &&
               lenient->token_count() == strict->token_count(),
           "Quirks::record differs where strict decoding succeeds", 0);
    return;
  }
  if (!lenient) {
    expect(!is_quirk(lenient.error().code), "Quirks::record failed on a quirk",
           lenient.error().offset);
    expect(lenient.error().offset >= strict.error().offset,
           "Quirks::record failed before strict decoding did", lenient.error().offset);
    return;
  }
  expect(is_quirk(strict.error().code), "Quirks::record accepted a non-quirk error",
         strict.error().offset);
  expect(lenient->quirk_count() > 0, "accepted with quirks, none recorded", 0);
  const bencode::Error first = lenient->quirk(0);
  expect(first.code == strict.error().code && first.offset == strict.error().offset &&
             first.message() == strict.error().message(),
         "the first quirk is not strict decoding's error", first.offset);
  for (std::size_t i = 0; i < lenient->quirk_count(); ++i) {
    expect(lenient->quirk_offset(i) <= buffer.size(), "quirk offset past the end", i);
    expect(i == 0 || lenient->quirk_offset(i) > lenient->quirk_offset(i - 1),
           "quirks not in byte order", i);
    expect(!lenient->quirk(i).message().empty(), "empty quirk message", i);
  }
  const bencode::Node root = lenient->root();
  expect(root.offset() == 0 && root.raw().size() <= buffer.size(), "root raw() out of bounds",
         0);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  if (size > k_max_size) {
    return -1; // not added to the corpus
  }
  // Copy into an exactly-sized heap buffer so ASan sees any read past the end.
  const std::string owned(reinterpret_cast<const char*>(data), size);
  const std::string_view buffer(owned);

  bencode::Limits limits;
  limits.max_size = k_max_size;
  limits.max_depth = k_max_depth;
  limits.max_tokens = k_max_tokens;

  const auto doc = bencode::decode(buffer, limits);
  check_quirks(buffer, limits, doc);
  const std::optional<bool> reference = Reference(buffer).accepts();
  if (reference && *reference != doc.has_value()) {
    fail(doc ? "decode() accepted what the strict reference rejects"
             : "decode() rejected what the strict reference accepts",
         doc ? 0 : doc.error().offset);
  }
  if (!doc) {
    const bencode::Error& e = doc.error();
    expect(e.offset <= size, "error offset past the end of the buffer", e.offset);
    expect(!e.message().empty(), "empty error message", e.offset);
    expect(!bencode::describe(e.code).empty(), "empty describe()", e.offset);
    return 0;
  }
  expect(doc->token_count() >= 1 && doc->token_count() <= k_max_tokens,
         "token_count() outside [1, max_tokens]", 0);
  const bencode::Node root = doc->root();
  expect(root.offset() == 0 && root.raw().size() == size, "root raw() is not the whole buffer", 0);
  walk(root, buffer);
  return 0;
}
