#include "torrent.h"

#include "bencode.h"
#include "merkle.h"
#include "util/read_file.h"
#include "util/sha.h"
#include "util/text.h"

#include <algorithm>
#include <limits>
#include <unordered_map>

namespace agent {

namespace {

constexpr std::uint64_t k_max_piece_length = std::uint64_t{1} << 30; // 1 GiB
constexpr std::uint64_t k_max_total = std::uint64_t{1} << 62;
// The bound on a v2 tree's path bytes (torrent.h): max(floor, factor x the torrent's size).
constexpr std::uint64_t k_path_bytes_floor = std::uint64_t{1} << 20;
constexpr std::uint64_t k_path_bytes_factor = 8;
constexpr std::uint64_t k_path_component_overhead = sizeof(std::string);

// Thrown inside the parser only; parse_torrent turns it into a TorrentError.
struct Reject {
  TorrentErrc code;
  std::size_t offset;
  std::string what;
};

[[noreturn]] void invalid(const bencode::Node& at, std::string what)
{
  throw Reject{TorrentErrc::invalid, at.offset(), std::move(what)};
}

[[noreturn]] void unsafe(const bencode::Node& at, std::string what)
{
  throw Reject{TorrentErrc::unsafe_path, at.offset(), std::move(what)};
}

std::string quoted(std::string_view bytes)
{
  return "'" + util::escape_in_message(bytes) + "'";
}

// What makes `c` more than a name that can be created inside a directory; nothing if it is one.
std::optional<std::string> component_problem(std::string_view c)
{
  if (c.empty()) {
    return "empty path component";
  }
  if (c == "." || c == "..") {
    return "path component " + quoted(c) + " is not allowed";
  }
  if (c.find('/') != std::string_view::npos) {
    return "path component " + quoted(c) + " contains '/'";
  }
  if (c.find('\0') != std::string_view::npos) {
    return "path component " + quoted(c) + " contains a NUL byte";
  }
  return std::nullopt;
}

// A path component that can be created inside a directory and nothing else.
void check_component(const bencode::Node& at, const std::string& where, std::string_view c)
{
  if (auto problem = component_problem(c)) {
    unsafe(at, where + ": " + *problem);
  }
}

// "info.file tree/a/b" for the components of a v2 tree path (escaped).
std::string tree_where(const std::vector<std::string>& components)
{
  std::string out = "info.file tree";
  for (const std::string& c : components) {
    out += "/" + util::escape_in_message(c);
  }
  return out;
}

// A place in a message: a string, or a callable that builds it (only when a message is).
std::string place(const std::string& where)
{
  return where;
}
template <std::invocable Where> std::string place(const Where& where)
{
  return where();
}

template <typename Where>
std::optional<bencode::Node> find_typed(const bencode::Node& dict, std::string_view key,
                                        bencode::Type type, const Where& where)
{
  auto node = dict.find(key);
  if (node && node->type() != type) {
    static constexpr std::string_view names[] = {"an integer", "a string", "a list",
                                                 "a dictionary"};
    invalid(*node, place(where) + "." + std::string(key) + " must be " +
                       std::string(names[static_cast<int>(type)]));
  }
  return node;
}

template <typename Where> std::uint64_t non_negative(const bencode::Node& node, const Where& where)
{
  const std::int64_t v = node.integer();
  if (v < 0) {
    invalid(node, place(where) + " is negative (" + std::to_string(v) + ")");
  }
  return static_cast<std::uint64_t>(v);
}

template <typename Where>
std::uint64_t checked_add(const bencode::Node& at, std::uint64_t a, std::uint64_t b,
                          const Where& what)
{
  if (a > k_max_total || b > k_max_total - a) {
    invalid(at, place(what) + ": total size too large");
  }
  return a + b;
}

std::uint64_t pieces_for(std::uint64_t length, std::uint64_t piece_length)
{
  return length / piece_length + (length % piece_length != 0 ? 1 : 0);
}

template <typename Where>
std::vector<std::string> path_list(const bencode::Node& list, const Where& where)
{
  std::vector<std::string> out;
  out.reserve(list.size());
  std::size_t i = 0;
  list.for_each([&](bencode::Node c) {
    const auto here = [&] { return place(where) + "[" + std::to_string(i) + "]"; };
    if (!c.is_string()) {
      invalid(c, here() + " must be a string");
    }
    if (auto problem = component_problem(c.string())) {
      unsafe(c, here() + ": " + *problem);
    }
    out.emplace_back(c.string());
    ++i;
  });
  return out;
}

void apply_attr(TorrentFile& f, std::string_view attr)
{
  f.attr = std::string(attr);
  f.pad = attr.find('p') != std::string_view::npos;
  f.symlink = attr.find('l') != std::string_view::npos;
  f.executable = attr.find('x') != std::string_view::npos;
  f.hidden = attr.find('h') != std::string_view::npos;
}

// The merkle root over a piece layer (BEP 52): leaves padded to a power of two with the
// root of an all-zero piece.
util::Sha256 layer_root(std::string_view layer, std::uint64_t piece_length)
{
  std::vector<util::Sha256> leaves(layer.size() / 32);
  for (std::size_t i = 0; i < leaves.size(); ++i) {
    std::copy_n(reinterpret_cast<const std::uint8_t*>(layer.data()) + 32 * i, 32,
                leaves[i].begin());
  }
  return merkle_root(leaves, next_pow2(leaves.size()), zero_subtree(piece_height(piece_length)));
}

class Parser {
public:
  Parser(Torrent& t, const bencode::Node& root)
      : m_t(t), m_root(root),
        m_path_bytes_limit(std::max(k_path_bytes_floor, k_path_bytes_factor * t.bytes->size()))
  {
  }

  void parse()
  {
    if (!m_root.is_dict()) {
      invalid(m_root, "not a torrent: the top level is not a dictionary");
    }
    auto info = m_root.find("info");
    if (!info || !info->is_dict()) {
      invalid(info ? *info : m_root, "missing or invalid 'info' dictionary");
    }
    m_info = *info;
    const std::string_view info_bytes = info->raw();

    auto name = find_typed(m_info, "name", bencode::Type::string, "info");
    if (!name) {
      invalid(m_info, "info.name is missing");
    }
    check_component(*name, "info.name", name->string());
    m_t.name = std::string(name->string());

    auto piece_length = find_typed(m_info, "piece length", bencode::Type::integer, "info");
    if (!piece_length) {
      invalid(m_info, "info.piece length is missing");
    }
    const std::int64_t pl = piece_length->integer();
    if (pl <= 0 || static_cast<std::uint64_t>(pl) > k_max_piece_length) {
      invalid(*piece_length,
              "info.piece length " + std::to_string(pl) + " is out of range (1 byte to 1 GiB)");
    }
    m_t.piece_length = static_cast<std::uint64_t>(pl);

    std::int64_t meta_version = 1;
    if (auto mv = find_typed(m_info, "meta version", bencode::Type::integer, "info")) {
      meta_version = mv->integer();
      if (meta_version != 1 && meta_version != 2) {
        invalid(*mv, "unsupported info.meta version " + std::to_string(meta_version));
      }
    }
    const bool has_pieces = m_info.find("pieces").has_value();
    m_t.has_v2 = meta_version == 2;
    m_t.has_v1 = !m_t.has_v2 || has_pieces;

    std::vector<TorrentFile> v1_files;
    std::vector<TorrentFile> v2_files;
    if (m_t.has_v1) {
      v1_files = parse_v1_files();
    }
    if (m_t.has_v2) {
      v2_files = parse_v2_files();
    }
    if (m_t.has_v1 && m_t.has_v2) {
      check_hybrid(v1_files, v2_files);
    }
    m_t.files = m_t.has_v1 ? std::move(v1_files) : std::move(v2_files);
    if (m_t.has_v1) {
      parse_pieces();
    } else {
      m_t.piece_count = 0;
      for (const TorrentFile& f : m_t.files) {
        m_t.piece_count += pieces_for(f.length, m_t.piece_length);
      }
    }
    if (m_t.has_v2) {
      parse_piece_layers();
    }
    if (auto p = find_typed(m_info, "private", bencode::Type::integer, "info")) {
      m_t.is_private = p->integer() == 1;
    }
    parse_outer();

    if (m_t.has_v1) {
      m_t.info_hash_v1 = util::sha1(info_bytes);
    }
    if (m_t.has_v2) {
      m_t.info_hash_v2 = util::sha256(info_bytes);
    }
  }

private:
  std::vector<TorrentFile> parse_v1_files()
  {
    auto files = find_typed(m_info, "files", bencode::Type::list, "info");
    auto length = find_typed(m_info, "length", bencode::Type::integer, "info");
    if (files && length) {
      invalid(*files, "info has both 'files' and 'length'");
    }
    std::vector<TorrentFile> out;
    if (files) {
      out.reserve(files->size());
    }
    if (length) {
      TorrentFile f;
      f.path = {m_t.name};
      f.length = non_negative(*length, "info.length");
      checked_add(*length, 0, f.length, "info.length");
      if (auto attr = find_typed(m_info, "attr", bencode::Type::string, "info")) {
        apply_attr(f, attr->string());
      }
      out.push_back(std::move(f));
      m_t.multi_file = false;
    } else if (files) {
      m_t.multi_file = true;
      std::size_t i = 0;
      std::uint64_t offset = 0;
      files->for_each([&](bencode::Node entry) {
        const std::size_t index = i++;
        const auto where = [index] { return "info.files[" + std::to_string(index) + "]"; };
        if (!entry.is_dict()) {
          invalid(entry, where() + " must be a dictionary");
        }
        TorrentFile f;
        if (auto attr = find_typed(entry, "attr", bencode::Type::string, where)) {
          apply_attr(f, attr->string());
        }
        auto len = find_typed(entry, "length", bencode::Type::integer, where);
        if (!len && !f.symlink) {
          invalid(entry, where() + ".length is missing");
        }
        // BEP 47: a symlink has no data in the torrent, whatever length it claims.
        f.length = f.symlink ? 0 : non_negative(*len, [&] { return where() + ".length"; });
        auto path = find_typed(entry, "path", bencode::Type::list, where);
        if (path) {
          f.path = path_list(*path, [&] { return where() + ".path"; });
          if (f.path.empty() && !f.pad) {
            unsafe(*path, where() + ".path is empty");
          }
        } else if (f.pad) {
          // libtorrent names a pad file without a path .pad/LENGTH (BEP 47's convention).
          f.path = {".pad", std::to_string(f.length)};
        } else {
          invalid(entry, where() + ".path is missing");
        }
        if (f.symlink) {
          if (auto target = find_typed(entry, "symlink path", bencode::Type::list, where)) {
            f.symlink_path = path_list(*target, [&] { return where() + ".symlink path"; });
          }
        }
        f.offset = offset;
        offset = checked_add(entry, offset, f.length, where);
        out.push_back(std::move(f));
      });
      if (out.empty()) {
        invalid(*files, "info.files is empty");
      }
    } else {
      invalid(m_info, "info has neither 'files' nor 'length'");
    }
    std::uint64_t total = 0;
    for (const TorrentFile& f : out) {
      if (!f.pad) {
        total += f.length;
      }
    }
    if (total == 0) {
      invalid(m_info, "the torrent holds no data (total size 0)");
    }
    m_t.total_size = total;
    return out;
  }

  void parse_pieces()
  {
    auto pieces = find_typed(m_info, "pieces", bencode::Type::string, "info");
    if (!pieces) {
      invalid(m_info, "info.pieces is missing");
    }
    const std::string_view p = pieces->string();
    if (p.size() % 20 != 0) {
      invalid(*pieces,
              "info.pieces is " + std::to_string(p.size()) + " bytes, not a multiple of 20");
    }
    const TorrentFile& last = m_t.files.back();
    const std::uint64_t v1_size = last.offset + last.length;
    const std::uint64_t expected = pieces_for(v1_size, m_t.piece_length);
    if (p.size() / 20 != expected) {
      invalid(*pieces, "info.pieces holds " + std::to_string(p.size() / 20) + " hashes, but " +
                           std::to_string(v1_size) + " bytes in pieces of " +
                           std::to_string(m_t.piece_length) + " need " + std::to_string(expected));
    }
    m_t.pieces_v1 = p;
    m_t.piece_count = expected;
  }

  std::vector<TorrentFile> parse_v2_files()
  {
    const std::uint64_t pl = m_t.piece_length;
    if (pl < k_v2_block_size || (pl & (pl - 1)) != 0) {
      invalid(*m_info.find("piece length"),
              "info.piece length " + std::to_string(pl) +
                  " must be a power of two of at least 16 KiB in a v2 torrent");
    }
    auto tree = find_typed(m_info, "file tree", bencode::Type::dict, "info");
    if (!tree) {
      invalid(m_info, "info.file tree is missing (meta version 2)");
    }
    std::uint64_t path_bytes = 0;
    count_path_bytes(*tree, 0, path_bytes);
    std::vector<TorrentFile> out;
    std::vector<std::string> prefix;
    walk_tree(*tree, prefix, out);
    if (out.empty()) {
      invalid(*tree, "info.file tree lists no file");
    }
    // A single file named like the torrent is a single-file torrent; otherwise the tree's
    // paths are below the name.
    const bool single = out.size() == 1 && out[0].path.size() == 1 && out[0].path[0] == m_t.name &&
                        tree->size() == 1;
    if (!m_t.has_v1) {
      m_t.multi_file = !single;
    }
    std::uint64_t offset = 0;
    std::uint64_t total = 0;
    for (TorrentFile& f : out) {
      f.offset = offset;
      const std::uint64_t span = pieces_for(f.length, pl) * pl;
      offset = checked_add(*tree, offset, span, "info.file tree");
      total += f.length;
    }
    if (!m_t.has_v1) {
      m_t.total_size = total;
    }
    return out;
  }

  // Adds the path bytes of the files below `dir` (torrent.h: each component counts its length
  // plus k_path_component_overhead) to `total` before anything is copied; refuses the tree
  // as soon as the total exceeds the limit. Malformed entries are left to walk_tree.
  void count_path_bytes(const bencode::Node& dir, std::uint64_t prefix_bytes, std::uint64_t& total)
  {
    dir.for_each_pair([&](std::string_view key, bencode::Node value) {
      if (!value.is_dict()) {
        return;
      }
      const std::uint64_t bytes = prefix_bytes + key.size() + k_path_component_overhead;
      if (value.find("")) {
        total += bytes;
        if (total > m_path_bytes_limit) {
          invalid(value, "info.file tree: the paths of the files add up to more than " +
                             std::to_string(m_path_bytes_limit) +
                             " bytes (the limit: 8 times the torrent's size, at least 1 MiB, "
                             "each path component counted as its length plus " +
                             std::to_string(k_path_component_overhead) +
                             " bytes): a deep tree of long names repeated for every file");
        }
      } else {
        count_path_bytes(value, bytes, total);
      }
    });
  }

  // Messages name the place (tree_where) only when they are built: building it for every
  // entry would cost the tree's depth times its name lengths per file.
  void walk_tree(const bencode::Node& dir, std::vector<std::string>& prefix,
                 std::vector<TorrentFile>& out)
  {
    dir.for_each_pair([&](std::string_view key, bencode::Node value) {
      const auto here = [&] {
        prefix.emplace_back(key);
        std::string where = tree_where(prefix);
        prefix.pop_back();
        return where;
      };
      if (!value.is_dict()) {
        invalid(value, here() + " must be a dictionary");
      }
      if (key.empty()) {
        invalid(value,
                tree_where(prefix) + ": a file entry ('') must be the only key of its dictionary");
      }
      if (auto problem = component_problem(key)) {
        unsafe(value, tree_where(prefix) + ": " + *problem);
      }
      prefix.emplace_back(key);
      if (auto leaf = value.find("")) {
        if (value.size() != 1) {
          invalid(value, tree_where(prefix) + " is both a file and a directory");
        }
        out.push_back(parse_v2_file(*leaf, prefix));
      } else if (value.size() == 0) {
        invalid(value, tree_where(prefix) + " is an empty directory");
      } else {
        walk_tree(value, prefix, out);
      }
      prefix.pop_back();
    });
  }

  TorrentFile parse_v2_file(const bencode::Node& leaf, const std::vector<std::string>& path)
  {
    const auto where = [&] { return tree_where(path); };
    if (!leaf.is_dict()) {
      invalid(leaf, where() + ": the file entry must be a dictionary");
    }
    TorrentFile f;
    f.path = path;
    const auto typed = [&](std::string_view key, bencode::Type type) {
      return find_typed(leaf, key, type, where);
    };
    if (auto attr = typed("attr", bencode::Type::string)) {
      apply_attr(f, attr->string());
      if (f.pad) {
        invalid(*attr, where() + ": a v2 file cannot be a pad file");
      }
    }
    auto len = typed("length", bencode::Type::integer);
    if (!len && !f.symlink) {
      invalid(leaf, where() + ".length is missing");
    }
    if (f.symlink) {
      f.length = 0; // BEP 47: no data, whatever length it claims
      if (auto target = typed("symlink path", bencode::Type::list)) {
        f.symlink_path = path_list(*target, [&] { return where() + ".symlink path"; });
      }
    } else {
      f.length = non_negative(*len, [&] { return where() + ".length"; });
      checked_add(*len, 0, f.length, where);
    }
    auto root = typed("pieces root", bencode::Type::string);
    if (f.length > 0) {
      if (!root) {
        invalid(leaf, where() + ": 'pieces root' is missing");
      }
      const std::string_view r = root->string();
      if (r.size() != 32) {
        invalid(*root,
                where() + ": 'pieces root' is " + std::to_string(r.size()) + " bytes, not 32");
      }
      if (std::all_of(r.begin(), r.end(), [](char c) { return c == 0; })) {
        invalid(*root, where() + ": 'pieces root' is all zeros");
      }
      std::array<std::uint8_t, 32> h{};
      std::copy_n(reinterpret_cast<const std::uint8_t*>(r.data()), 32, h.begin());
      f.pieces_root = h;
    }
    return f;
  }

  void check_hybrid(const std::vector<TorrentFile>& v1, const std::vector<TorrentFile>& v2)
  {
    std::size_t j = 0;
    for (const TorrentFile& f : v1) {
      if (f.pad) {
        continue;
      }
      const std::string where =
          "hybrid torrent: v1 file '" + util::escape_in_message(f.joined_path()) + "'";
      if (j >= v2.size()) {
        invalid(m_info, where + " is not in the v2 file tree");
      }
      const TorrentFile& g = v2[j];
      const std::vector<std::string>& v2_path = g.path;
      if (f.path != v2_path || f.length != g.length) {
        invalid(m_info, where + " (" + std::to_string(f.length) +
                            " bytes) does not match v2 file '" +
                            util::escape_in_message(g.joined_path()) + "' (" +
                            std::to_string(g.length) + " bytes)");
      }
      if (f.length > 0 && f.offset % m_t.piece_length != 0) {
        invalid(m_info, where + " does not start on a piece boundary (pad files missing)");
      }
      ++j;
    }
    if (j != v2.size()) {
      invalid(m_info, "hybrid torrent: v2 file '" + util::escape_in_message(v2[j].joined_path()) +
                          "' is not in the v1 file list");
    }
    // The model keeps the v1 list (with pad files): give it the v2 roots.
    m_v2_roots.clear();
    for (const TorrentFile& g : v2) {
      m_v2_roots.push_back(g.pieces_root);
    }
  }

  void parse_piece_layers()
  {
    if (m_t.has_v1) {
      std::size_t j = 0;
      for (TorrentFile& f : m_t.files) {
        if (!f.pad) {
          f.pieces_root = m_v2_roots[j++];
        }
      }
    }
    m_t.layers.assign(m_t.files.size(), std::string_view());
    auto layers = find_typed(m_root, "piece layers", bencode::Type::dict, "torrent");
    if (!layers) {
      return; // clients fetch them from peers; verification falls back to whole files
    }
    // Every entry, used or not, must be a 32-byte root -> a string of 32-byte hashes. Of
    // repeated keys (outside the info dictionary: a quirk) the first counts, as in libtorrent.
    struct Layer {
      bencode::Node node;
      bool verified = false; // hashes to its key: checked once, however many files name it
    };
    std::unordered_map<std::string_view, Layer> by_root;
    layers->for_each_pair([&](std::string_view key, bencode::Node value) {
      if (key.size() != 32) {
        invalid(value, "piece layers: a key is " + std::to_string(key.size()) +
                           " bytes, not a 32-byte pieces root");
      }
      if (!value.is_string() || value.string().size() % 32 != 0) {
        invalid(value, "piece layers: an entry is not a string of 32-byte hashes");
      }
      by_root.try_emplace(key, Layer{value});
    });
    for (std::size_t i = 0; i < m_t.files.size(); ++i) {
      const TorrentFile& f = m_t.files[i];
      if (!f.pieces_root || f.length <= m_t.piece_length) {
        continue;
      }
      const std::string_view key(reinterpret_cast<const char*>(f.pieces_root->data()), 32);
      auto found = by_root.find(key);
      if (found == by_root.end()) {
        continue;
      }
      Layer& layer = found->second;
      const auto where = [&] {
        return "piece layers of '" + util::escape_in_message(f.joined_path()) + "'";
      };
      const std::string_view bytes = layer.node.string();
      const std::uint64_t expected = pieces_for(f.length, m_t.piece_length) * 32;
      if (bytes.size() != expected) {
        invalid(layer.node, where() + " is " + std::to_string(bytes.size()) + " bytes, expected " +
                                std::to_string(expected));
      }
      if (!layer.verified) {
        if (layer_root(bytes, m_t.piece_length) != *f.pieces_root) {
          invalid(layer.node, where() + " do not hash to the file's pieces root");
        }
        layer.verified = true;
      }
      m_t.layers[i] = bytes;
    }
  }

  void parse_outer()
  {
    add_urls(m_t.url_list, m_root.find("url-list"));
    add_urls(m_t.httpseeds, m_root.find("httpseeds"));
    if (auto list = m_root.find("announce-list"); list && list->is_list()) {
      list->for_each([&](bencode::Node tier) {
        std::vector<std::string> urls;
        if (tier.is_list()) {
          add_urls(urls, tier);
        }
        if (!urls.empty()) {
          m_t.trackers.push_back(std::move(urls));
        }
      });
    }
    if (m_t.trackers.empty()) {
      if (auto a = m_root.find("announce"); a && a->is_string() && !trimmed(a->string()).empty()) {
        m_t.trackers.push_back({std::string(trimmed(a->string()))});
      }
    }
    if (auto c = m_root.find("comment"); c && c->is_string()) {
      m_t.comment = std::string(c->string());
    }
    if (auto c = m_root.find("created by"); c && c->is_string()) {
      m_t.created_by = std::string(c->string());
    }
    if (auto d = m_root.find("creation date"); d && d->is_int()) {
      m_t.creation_date = d->integer();
    }
  }

  static std::string_view trimmed(std::string_view s)
  {
    while (!s.empty() &&
           (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' || s.front() == '\r')) {
      s.remove_prefix(1);
    }
    while (!s.empty() &&
           (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r')) {
      s.remove_suffix(1);
    }
    return s;
  }

  // A URL list as clients read it: one string, or a list whose string items count (other
  // items are skipped, as libtorrent does); blanks trimmed, empty and repeated ones dropped.
  // Repeats are found through an open-addressing table of indices into `out` (no allocation
  // per URL): linear in the list.
  static void add_urls(std::vector<std::string>& out, const std::optional<bencode::Node>& node)
  {
    if (!node) {
      return;
    }
    const std::size_t first = out.size();
    std::size_t capacity = 4;
    if (node->is_list()) {
      const std::size_t n = node->size();
      out.reserve(first + n);
      while (capacity < 2 * n) {
        capacity *= 2;
      }
    }
    constexpr std::uint32_t k_empty = std::numeric_limits<std::uint32_t>::max();
    std::vector<std::uint32_t> slots(capacity, k_empty);
    const std::size_t mask = capacity - 1;
    const auto add = [&](std::string_view url) {
      const std::string_view u = trimmed(url);
      if (u.empty()) {
        return;
      }
      const std::size_t hash = std::hash<std::string_view>{}(u);
      std::size_t slot = hash & mask;
      for (; slots[slot] != k_empty; slot = (slot + 1) & mask) {
        if (out[first + slots[slot]] == u) {
          return;
        }
      }
      slots[slot] = static_cast<std::uint32_t>(out.size() - first);
      out.emplace_back(u);
    };
    if (node->is_string()) {
      add(node->string());
    } else if (node->is_list()) {
      node->for_each([&](bencode::Node u) {
        if (u.is_string()) {
          add(u.string());
        }
      });
    }
  }

  Torrent& m_t;
  bencode::Node m_root;
  bencode::Node m_info = m_root;
  std::vector<std::optional<std::array<std::uint8_t, 32>>> m_v2_roots;
  std::uint64_t m_path_bytes_limit; // of a v2 tree (count_path_bytes)
};

// A torrent whose info dictionary has a `meta version` (v2 and hybrid): libtorrent refuses
// non-canonical bencoding inside that dictionary (bdecode_node::has_soft_error).
std::optional<bencode::Node> strict_info(const bencode::Node& root)
{
  if (!root.is_dict()) {
    return std::nullopt;
  }
  auto info = root.find("info");
  if (!info || !info->is_dict()) {
    return std::nullopt;
  }
  auto version = info->find("meta version");
  if (!version || !version->is_int() || version->integer() <= 0) {
    return std::nullopt;
  }
  return info;
}

} // namespace

std::string TorrentFile::joined_path() const
{
  std::string out;
  for (const std::string& c : path) {
    if (!out.empty()) {
      out += '/';
    }
    out += c;
  }
  return out;
}

std::string_view Torrent::piece_hash_v1(std::uint64_t i) const
{
  return pieces_v1.substr(static_cast<std::size_t>(i) * 20, 20);
}

std::vector<PieceRun> Torrent::v1_piece_runs(std::uint64_t i) const
{
  const std::uint64_t begin = i * piece_length;
  const std::uint64_t end = std::min(begin + piece_length, v1_end());
  // The first file that ends after `begin`.
  auto it = std::upper_bound(
      files.begin(), files.end(), begin,
      [](std::uint64_t at, const TorrentFile& f) { return at < f.offset + f.length; });
  std::vector<PieceRun> out;
  for (; it != files.end() && it->offset < end; ++it) {
    if (it->length == 0) {
      continue;
    }
    const std::uint64_t from = std::max(begin, it->offset);
    const std::uint64_t to = std::min(end, it->offset + it->length);
    out.push_back(
        PieceRun{static_cast<std::size_t>(it - files.begin()), from - it->offset, to - from});
  }
  return out;
}

std::string_view Torrent::piece_layer(const TorrentFile& file) const
{
  const auto i = static_cast<std::size_t>(&file - files.data());
  return i < layers.size() ? layers[i] : std::string_view();
}

std::expected<Torrent, TorrentError> parse_torrent(std::string bytes, const std::string& source,
                                                   const TorrentLimits& limits)
{
  Torrent t;
  t.source = source;
  t.bytes = std::make_shared<const std::string>(std::move(bytes));
  bencode::Limits blimits;
  blimits.max_size = static_cast<std::size_t>(limits.max_size);
  auto doc = bencode::decode(*t.bytes, blimits, bencode::Quirks::record);
  if (!doc) {
    return std::unexpected(
        TorrentError{TorrentErrc::invalid, source + ": " + doc.error().message()});
  }
  if (doc->quirk_count() > 0) {
    if (auto info = strict_info(doc->root())) {
      const std::size_t begin = info->offset();
      const std::size_t end = begin + info->raw().size();
      for (std::size_t i = 0; i < doc->quirk_count(); ++i) {
        const std::size_t at = doc->quirk_offset(i);
        if (at >= begin && at < end) {
          return std::unexpected(
              TorrentError{TorrentErrc::invalid,
                           source + ": " + doc->quirk(i).message() +
                               " (the info dictionary of a v2 or hybrid torrent must be canonical "
                               "bencoding; libtorrent refuses it too)"});
        }
      }
    }
    t.quirk_count = doc->quirk_count();
    for (std::size_t i = 0; i < std::min(t.quirk_count, Torrent::k_max_kept_quirks); ++i) {
      const bencode::Error e = doc->quirk(i);
      std::string what(bencode::describe(e.code));
      if (!e.detail.empty()) {
        what += " " + e.detail;
      }
      t.quirks.push_back(TorrentQuirk{e.offset, std::move(what)});
    }
  }
  try {
    Parser(t, doc->root()).parse();
  } catch (const Reject& r) {
    return std::unexpected(
        TorrentError{r.code, source + ": byte " + std::to_string(r.offset) + ": " + r.what});
  }
  return t;
}

std::expected<Torrent, TorrentError> load_torrent(const std::string& path,
                                                  const TorrentLimits& limits)
{
  auto bytes = util::read_small_file(path, static_cast<std::size_t>(limits.max_size));
  if (!bytes) {
    return std::unexpected(TorrentError{TorrentErrc::invalid, bytes.error()});
  }
  return parse_torrent(std::move(*bytes), path, limits);
}

template <std::size_t N> std::string hex(const std::array<std::uint8_t, N>& bytes)
{
  return util::to_hex(std::string_view(reinterpret_cast<const char*>(bytes.data()), N));
}

template std::string hex<20>(const std::array<std::uint8_t, 20>&);
template std::string hex<32>(const std::array<std::uint8_t, 32>&);

} // namespace agent
