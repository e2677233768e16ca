#include "bencode.h"

#include "util/text.h"

#include <limits>

namespace bencode {

namespace {

constexpr std::size_t k_max_key_in_message = 40;

std::string quote_key(std::string_view key)
{
  const bool cut = key.size() > k_max_key_in_message;
  return "'" + util::escape_in_message(key.substr(0, k_max_key_in_message)) + (cut ? "...'" : "'");
}

bool is_digit(char c)
{
  return c >= '0' && c <= '9';
}

// A frame of the explicit parse stack: an open list or dictionary.
struct Frame {
  std::uint32_t token; // its token index
  bool dict;
  bool expect_key;           // dict: the next value is a key
  std::string_view last_key; // dict: previous key, for the order check
  bool has_key;
  std::uint32_t last_key_token; // dict: the previous key's token
};

// "('b' after 'c')" or "('b')".
std::string key_detail(Errc code, std::string_view key, std::string_view previous)
{
  return code == Errc::duplicate_key ? "(" + quote_key(key) + ")"
                                     : "(" + quote_key(key) + " after " + quote_key(previous) + ")";
}

std::string trailing_detail(std::size_t bytes)
{
  return "(" + std::to_string(bytes) + (bytes == 1 ? " byte" : " bytes") + " after the end)";
}

class Decoder {
public:
  Decoder(std::string_view buffer, const Limits& limits, Quirks quirks,
          std::vector<detail::Token>& tokens, std::vector<detail::Quirk>& recorded)
      : m_buf(buffer), m_limits(limits), m_quirks(quirks), m_tokens(tokens), m_recorded(recorded)
  {
  }

  std::expected<void, Error> run()
  {
    std::vector<Frame> stack;
    std::size_t pos = 0;
    do {
      if (!stack.empty()) {
        Frame& top = stack.back();
        if (pos >= m_buf.size()) {
          return fail(Errc::unexpected_end, pos);
        }
        if (m_buf[pos] == 'e') {
          if (top.dict && !top.expect_key) {
            return fail(Errc::missing_value, pos);
          }
          close(top.token, pos + 1);
          stack.pop_back();
          ++pos;
          continue;
        }
        if (top.dict && top.expect_key) {
          if (!is_digit(m_buf[pos])) {
            return fail(Errc::key_not_string, pos);
          }
          auto key = parse_string(pos);
          if (!key) {
            return std::unexpected(key.error());
          }
          const auto key_token = static_cast<std::uint32_t>(m_tokens.size() - 1);
          const std::string_view k = string_at(key_token);
          if (top.has_key && k <= top.last_key) {
            const Errc code = k == top.last_key ? Errc::duplicate_key : Errc::unsorted_keys;
            if (m_quirks == Quirks::reject) {
              return fail(code, m_tokens.back().begin, key_detail(code, k, top.last_key));
            }
            m_recorded.push_back(
                detail::Quirk{code, m_tokens.back().begin, key_token, top.last_key_token});
          }
          top.last_key = k;
          top.last_key_token = key_token;
          top.has_key = true;
          top.expect_key = false;
          pos = *key;
          continue;
        }
        if (top.dict) {
          top.expect_key = true;
        }
      }
      // A value starts at pos.
      if (pos >= m_buf.size()) {
        return fail(Errc::unexpected_end, pos);
      }
      const char c = m_buf[pos];
      if (c == 'l' || c == 'd') {
        if (stack.size() >= m_limits.max_depth) {
          return fail(Errc::depth_exceeded, pos,
                      "(more than " + std::to_string(m_limits.max_depth) + " levels)");
        }
        auto index = push(c == 'd' ? Type::dict : Type::list, pos, 0);
        if (!index) {
          return std::unexpected(index.error());
        }
        stack.push_back(Frame{*index, c == 'd', true, {}, false, 0});
        ++pos;
      } else if (c == 'i') {
        auto end = parse_integer(pos);
        if (!end) {
          return std::unexpected(end.error());
        }
        pos = *end;
      } else if (is_digit(c)) {
        auto end = parse_string(pos);
        if (!end) {
          return std::unexpected(end.error());
        }
        pos = *end;
      } else {
        return fail(Errc::expected_value, pos);
      }
    } while (!stack.empty());
    if (pos != m_buf.size()) {
      if (m_quirks == Quirks::reject) {
        return fail(Errc::trailing_data, pos, trailing_detail(m_buf.size() - pos));
      }
      m_recorded.push_back(
          detail::Quirk{Errc::trailing_data, static_cast<std::uint32_t>(pos), 0, 0});
    }
    return {};
  }

private:
  std::unexpected<Error> fail(Errc code, std::size_t offset, std::string detail = {}) const
  {
    return std::unexpected(Error{code, offset, std::move(detail)});
  }

  std::expected<std::uint32_t, Error> push(Type type, std::size_t begin, std::uint8_t header)
  {
    if (m_tokens.size() >= m_limits.max_tokens) {
      return fail(Errc::too_many_tokens, begin,
                  "(more than " + std::to_string(m_limits.max_tokens) + " values)");
    }
    const auto index = static_cast<std::uint32_t>(m_tokens.size());
    m_tokens.push_back(
        detail::Token{static_cast<std::uint32_t>(begin), 0, index + 1, type, header});
    return index;
  }

  void close(std::uint32_t index, std::size_t end)
  {
    m_tokens[index].end = static_cast<std::uint32_t>(end);
    m_tokens[index].next = static_cast<std::uint32_t>(m_tokens.size());
  }

  std::string_view string_at(std::size_t index) const
  {
    const detail::Token& t = m_tokens[index];
    return m_buf.substr(t.begin + t.header, t.end - t.begin - t.header);
  }

  // Parses "i...e" at pos; returns the offset after 'e'.
  std::expected<std::size_t, Error> parse_integer(std::size_t pos)
  {
    const std::size_t begin = pos;
    ++pos; // 'i'
    bool negative = false;
    if (pos < m_buf.size() && m_buf[pos] == '-') {
      negative = true;
      ++pos;
    }
    const std::size_t digits = pos;
    // Accumulate as negative to reach INT64_MIN without overflow.
    std::int64_t value = 0;
    constexpr std::int64_t min = std::numeric_limits<std::int64_t>::min();
    while (pos < m_buf.size() && is_digit(m_buf[pos])) {
      const int d = m_buf[pos] - '0';
      if (value < (min + d) / 10) {
        return fail(Errc::integer_overflow, digits, "(beyond 64 bits)");
      }
      value = value * 10 - d;
      ++pos;
    }
    if (pos >= m_buf.size()) {
      return fail(Errc::unexpected_end, pos);
    }
    if (pos == digits || m_buf[pos] != 'e') {
      return fail(Errc::invalid_integer, pos);
    }
    if (m_buf[digits] == '0' && pos - digits > 1) {
      return fail(Errc::leading_zero, digits);
    }
    if (negative && value == 0) {
      return fail(Errc::negative_zero, begin);
    }
    if (!negative && value == min) {
      return fail(Errc::integer_overflow, digits, "(beyond 64 bits)");
    }
    auto index = push(Type::integer, begin, 0);
    if (!index) {
      return std::unexpected(index.error());
    }
    close(*index, pos + 1);
    return pos + 1;
  }

  // Parses "N:bytes" at pos; returns the offset after the bytes.
  std::expected<std::size_t, Error> parse_string(std::size_t pos)
  {
    const std::size_t begin = pos;
    std::size_t length = 0;
    while (pos < m_buf.size() && is_digit(m_buf[pos])) {
      const auto d = static_cast<std::size_t>(m_buf[pos] - '0');
      if (length > (std::numeric_limits<std::size_t>::max() - d) / 10) {
        return fail(Errc::integer_overflow, begin, "(string length beyond 64 bits)");
      }
      length = length * 10 + d;
      ++pos;
    }
    if (pos >= m_buf.size()) {
      return fail(Errc::unexpected_end, pos);
    }
    if (m_buf[pos] != ':') {
      return fail(Errc::expected_colon, pos);
    }
    if (m_buf[begin] == '0' && pos - begin > 1) {
      return fail(Errc::leading_zero, begin);
    }
    ++pos; // ':'
    const std::size_t remaining = m_buf.size() - pos;
    if (length > remaining) {
      return fail(Errc::string_too_long, begin,
                  "(" + std::to_string(length) + " bytes, " + std::to_string(remaining) + " left)");
    }
    const std::size_t header = pos - begin; // at most 21 bytes: fits in uint8
    if (header > 255) {
      return fail(Errc::leading_zero, begin);
    }
    auto index = push(Type::string, begin, static_cast<std::uint8_t>(header));
    if (!index) {
      return std::unexpected(index.error());
    }
    close(*index, pos + length);
    return pos + length;
  }

  std::string_view m_buf;
  const Limits& m_limits;
  Quirks m_quirks;
  std::vector<detail::Token>& m_tokens;
  std::vector<detail::Quirk>& m_recorded;
};

std::string_view string_of(std::string_view buffer, const detail::Token& t)
{
  return buffer.substr(t.begin + t.header, t.end - t.begin - t.header);
}

} // namespace

std::string_view describe(Errc code)
{
  switch (code) {
  case Errc::input_too_large: return "input too large";
  case Errc::unexpected_end: return "unexpected end of data";
  case Errc::expected_value: return "expected a value (i, l, d or a string length)";
  case Errc::invalid_integer: return "invalid integer";
  case Errc::leading_zero: return "leading zero in a number";
  case Errc::negative_zero: return "negative zero";
  case Errc::integer_overflow: return "integer overflow";
  case Errc::expected_colon: return "expected ':' after a string length";
  case Errc::string_too_long: return "string length beyond the end of the data";
  case Errc::key_not_string: return "dictionary key is not a string";
  case Errc::unsorted_keys: return "dictionary keys not sorted";
  case Errc::duplicate_key: return "duplicate dictionary key";
  case Errc::missing_value: return "dictionary key without a value";
  case Errc::depth_exceeded: return "nesting too deep";
  case Errc::too_many_tokens: return "too many values";
  case Errc::trailing_data: return "trailing data after the top-level value";
  }
  return "invalid bencoding";
}

std::string Error::message() const
{
  std::string out = "byte " + std::to_string(offset) + ": " + std::string(describe(code));
  if (!detail.empty()) {
    out += " " + detail;
  }
  return out;
}

Error Document::quirk(std::size_t i) const
{
  const detail::Quirk& q = m_quirks[i];
  if (q.code == Errc::trailing_data) {
    return Error{q.code, q.offset, trailing_detail(m_buffer.size() - q.offset)};
  }
  return Error{q.code, q.offset,
               key_detail(q.code, string_of(m_buffer, m_tokens[q.key]),
                          string_of(m_buffer, m_tokens[q.previous]))};
}

std::expected<Document, Error> decode(std::string_view buffer, const Limits& limits, Quirks quirks)
{
  constexpr std::size_t k_offset_limit = std::numeric_limits<std::uint32_t>::max();
  if (buffer.size() > limits.max_size || buffer.size() >= k_offset_limit) {
    return std::unexpected(Error{Errc::input_too_large, 0,
                                 "(" + std::to_string(buffer.size()) + " bytes, limit " +
                                     std::to_string(std::min(limits.max_size, k_offset_limit - 1)) +
                                     ")"});
  }
  Document doc;
  doc.m_buffer = buffer;
  // Every value takes at least 2 bytes ("0:", "le", "i0e"): a safe upper bound to reserve.
  doc.m_tokens.reserve(std::min<std::size_t>(buffer.size() / 2 + 1, limits.max_tokens));
  Decoder decoder(buffer, limits, quirks, doc.m_tokens, doc.m_quirks);
  if (auto ok = decoder.run(); !ok) {
    return std::unexpected(ok.error());
  }
  return doc;
}

// ---- Node ----

Type Node::type() const
{
  return m_doc->m_tokens[m_index].type;
}

std::size_t Node::offset() const
{
  return m_doc->m_tokens[m_index].begin;
}

std::string_view Node::raw() const
{
  const auto& t = m_doc->m_tokens[m_index];
  return m_doc->m_buffer.substr(t.begin, t.end - t.begin);
}

std::int64_t Node::integer() const
{
  // Validated by decode(): 'i' [-] digits 'e' within int64.
  const std::string_view r = raw();
  std::size_t i = 1;
  const bool negative = r[i] == '-';
  if (negative) {
    ++i;
  }
  std::int64_t value = 0;
  for (; r[i] != 'e'; ++i) {
    value = value * 10 - (r[i] - '0');
  }
  return negative ? value : -value;
}

std::string_view Node::string() const
{
  const auto& t = m_doc->m_tokens[m_index];
  return m_doc->m_buffer.substr(t.begin + t.header, t.end - t.begin - t.header);
}

std::uint32_t Node::next_of(std::uint32_t index) const
{
  return m_doc->m_tokens[index].next;
}

std::size_t Node::size() const
{
  std::size_t n = 0;
  if (is_dict()) {
    for_each_pair([&](std::string_view, Node) { ++n; });
  } else if (is_list()) {
    for_each([&](Node) { ++n; });
  }
  return n;
}

Node Node::at(std::size_t i) const
{
  std::uint32_t index = m_index + 1;
  for (; i > 0; --i) {
    index = next_of(index);
  }
  return Node(*m_doc, index);
}

std::optional<Node> Node::find(std::string_view key) const
{
  if (!is_dict()) {
    return std::nullopt;
  }
  std::uint32_t i = m_index + 1;
  const std::uint32_t end = next_of(m_index);
  while (i < end) {
    const std::uint32_t value = next_of(i);
    if (Node(*m_doc, i).string() == key) {
      return Node(*m_doc, value);
    }
    i = next_of(value);
  }
  return std::nullopt;
}

} // namespace bencode
