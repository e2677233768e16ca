// bencode.h: a strict, zero-copy BEP 3 decoder for hostile input.
//
// decode() checks the whole buffer once and produces a flat array of tokens (16 bytes each,
// offsets into the caller's buffer); Node is a cheap view over one token. Nothing is copied:
// THE BUFFER MUST OUTLIVE THE Document AND EVERY Node AND string_view OBTAINED FROM IT.
//
// Strict BEP 3, stricter than most clients (libtorrent accepts some of these in v1 torrents):
//  - integers: 'i' [-] digits 'e', no leading zeros, no "-0", no empty digits, within int64;
//  - strings: decimal length (no leading zeros, within the remaining bytes) ':' bytes;
//  - dictionary keys: strings, strictly increasing in byte order (no duplicates);
//  - nothing after the top-level value.
// With Quirks::record, the last two are recorded instead of refused (Document::quirk): keys
// out of order or repeated (each checked against the key before it, as libtorrent does), and
// bytes after the top-level value (not decoded; the root ends where its value ends). Lookups
// (Node::find) then return the first of repeated keys, like libtorrent's dict_find.
// Limits: nesting depth, number of tokens and input size (Limits), all checked before any
// allocation they would cause; integer overflow is checked before it can happen.
// An Error carries a code and the byte offset where the input went wrong.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bencode {

enum class Type : std::uint8_t { integer, string, list, dict };

enum class Errc {
  input_too_large,  // the buffer exceeds Limits::max_size
  unexpected_end,   // the buffer ends inside a value
  expected_value,   // a byte that starts no value (not i, l, d or a digit)
  invalid_integer,  // bad integer syntax (empty, non-digit, missing 'e')
  leading_zero,     // "i03e" or "03:abc"
  negative_zero,    // "i-0e"
  integer_overflow, // does not fit in int64 (or a length in size_t)
  expected_colon,   // a string length not followed by ':'
  string_too_long,  // a string length beyond the end of the buffer
  key_not_string,   // a dictionary key that is not a string
  unsorted_keys,    // dictionary keys out of order
  duplicate_key,    // the same key twice in one dictionary
  missing_value,    // a dictionary key with no value before 'e'
  depth_exceeded,   // nesting deeper than Limits::max_depth
  too_many_tokens,  // more values than Limits::max_tokens
  trailing_data,    // bytes after the top-level value
};

struct Error {
  Errc code;
  std::size_t offset; // byte offset in the buffer where the problem is
  std::string detail; // e.g. "('b' after 'c')"; may be empty

  // "byte N: <what>[ <detail>]", e.g. "byte 1834: dictionary keys not sorted ('b' after 'c')".
  std::string message() const;
};

// What the stable text of each code says, e.g. "dictionary keys not sorted".
std::string_view describe(Errc code);

// What decode() does with unsorted or duplicate keys and trailing bytes.
enum class Quirks {
  reject, // an Error (unsorted_keys, duplicate_key, trailing_data)
  record, // accepted; Document::quirk_count()/quirk() list them in byte order
};

struct Limits {
  std::size_t max_size = 256u << 20; // bytes; real torrents with large piece layers fit
  std::uint32_t max_depth = 100;     // nested lists/dicts (libtorrent's default)
  std::uint32_t max_tokens = 10'000'000;
};

class Document;

namespace detail {
// One decoded value (16 bytes). Internal to the decoder and Node.
struct Token {
  std::uint32_t begin; // offset of the value's first byte
  std::uint32_t end;   // offset one past its last byte
  std::uint32_t next;  // index of the token after this value's subtree
  Type type;
  std::uint8_t header; // strings: length of "123:" before the bytes
};
// One recorded quirk (16 bytes): unsorted_keys/duplicate_key name the key's token and the
// previous key's; trailing_data has neither.
struct Quirk {
  Errc code;
  std::uint32_t offset;
  std::uint32_t key;
  std::uint32_t previous;
};
} // namespace detail

// A view of one decoded value. Valid while its Document and the buffer live.
class Node {
public:
  Type type() const;
  bool is_int() const { return type() == Type::integer; }
  bool is_string() const { return type() == Type::string; }
  bool is_list() const { return type() == Type::list; }
  bool is_dict() const { return type() == Type::dict; }

  // The exact bytes of this value in the buffer (e.g. the whole "d...e" of a dictionary).
  std::string_view raw() const;
  // Byte offset of this value in the buffer.
  std::size_t offset() const;

  // The value of an integer node. Precondition: is_int().
  std::int64_t integer() const;
  // The bytes of a string node. Precondition: is_string().
  std::string_view string() const;

  // Lists and dictionaries: number of elements (dictionary: key/value pairs). O(n).
  std::size_t size() const;
  // List element `i` (O(i)); precondition is_list() and i < size().
  Node at(std::size_t i) const;
  // Dictionary lookup by key (O(n)); nothing if absent or not a dictionary.
  std::optional<Node> find(std::string_view key) const;

  // Iteration: list elements, or dictionary (key, value) pairs.
  template <typename Visit> void for_each(Visit&& visit) const
  {
    std::uint32_t i = m_index + 1;
    const std::uint32_t end = next_of(m_index);
    while (i < end) {
      visit(Node(*m_doc, i));
      i = next_of(i);
    }
  }
  template <typename Visit> void for_each_pair(Visit&& visit) const
  {
    std::uint32_t i = m_index + 1;
    const std::uint32_t end = next_of(m_index);
    while (i < end) {
      const std::uint32_t value = next_of(i);
      visit(Node(*m_doc, i).string(), Node(*m_doc, value));
      i = next_of(value);
    }
  }

private:
  friend class Document;
  Node(const Document& doc, std::uint32_t index) : m_doc(&doc), m_index(index) {}
  std::uint32_t next_of(std::uint32_t index) const;

  const Document* m_doc;
  std::uint32_t m_index;
};

// The result of decode(): the token array over the caller's buffer.
class Document {
public:
  Node root() const { return Node(*this, 0); }
  std::size_t token_count() const { return m_tokens.size(); }

  // Quirks::record: how many quirks were accepted (0 with Quirks::reject).
  std::size_t quirk_count() const { return m_quirks.size(); }
  // Quirk `i` (< quirk_count(), in byte order) as the Error Quirks::reject would have given.
  Error quirk(std::size_t i) const;
  // Its byte offset alone (no message built).
  std::size_t quirk_offset(std::size_t i) const { return m_quirks[i].offset; }

private:
  friend class Node;
  friend std::expected<Document, Error> decode(std::string_view, const Limits&, Quirks);
  std::string_view m_buffer;
  std::vector<detail::Token> m_tokens;
  std::vector<detail::Quirk> m_quirks;
};

// Decodes `buffer` (which must outlive the result). Max size is also capped at 4 GiB - 1.
std::expected<Document, Error> decode(std::string_view buffer, const Limits& limits = {},
                                      Quirks quirks = Quirks::reject);

} // namespace bencode
