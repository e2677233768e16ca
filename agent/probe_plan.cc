#include "probe_plan.h"

#include <algorithm>

namespace agent {

namespace {

constexpr std::uint64_t k_kib = 1024;
constexpr std::uint64_t k_mib = 1024 * k_kib;
constexpr std::uint64_t k_block = 32 * k_kib;      // an older client's request
constexpr std::uint64_t k_small_file = 64 * k_kib; // fetched whole
constexpr std::size_t k_max_end_of_file_probes = 8;
constexpr std::size_t k_max_pad_probes = 4;

// The runs of v1 piece `p` that are on the server (pad files are not).
std::vector<ProbeSegment> v1_piece_segments(const Torrent& t, std::uint64_t p)
{
  std::vector<ProbeSegment> out = t.v1_piece_runs(p);
  std::erase_if(out, [&](const ProbeSegment& s) { return t.files[s.file].pad; });
  return out;
}

std::uint64_t total_of(const std::vector<ProbeSegment>& segments)
{
  std::uint64_t n = 0;
  for (const ProbeSegment& s : segments) {
    n += s.length;
  }
  return n;
}

std::string size_text(std::uint64_t n)
{
  if (n >= k_mib && n % k_mib == 0) {
    return std::to_string(n / k_mib) + " MiB";
  }
  if (n >= k_kib && n % k_kib == 0) {
    return std::to_string(n / k_kib) + " KiB";
  }
  return std::to_string(n) + " bytes";
}

// Adds items while the budget lasts.
class Planner {
public:
  explicit Planner(std::uint64_t budget) : m_budget(budget) {}

  bool add(ProbeItem item)
  {
    const std::uint64_t n = total_of(item.segments);
    if (n == 0 || n > m_budget) {
      return false;
    }
    if (item.check == ProbeItem::Check::local && covered(item.segments.front())) {
      return true; // already fetched by an earlier request: counts as done
    }
    m_budget -= n;
    m_items.push_back(std::move(item));
    return true;
  }

  std::vector<ProbeItem> take() { return std::move(m_items); }

private:
  bool covered(const ProbeSegment& s) const
  {
    return std::any_of(m_items.begin(), m_items.end(), [&](const ProbeItem& item) {
      return std::any_of(item.segments.begin(), item.segments.end(), [&](const ProbeSegment& o) {
        return o.file == s.file && o.offset <= s.offset &&
               s.offset + s.length <= o.offset + o.length;
      });
    });
  }

  std::uint64_t m_budget;
  std::vector<ProbeItem> m_items;
};

ProbeItem local_item(std::size_t file, std::uint64_t offset, std::uint64_t length,
                     std::string purpose)
{
  ProbeItem item;
  item.check = ProbeItem::Check::local;
  item.segments.push_back({file, offset, length});
  item.purpose = std::move(purpose);
  return item;
}

// The distinct BEP 47 pad files (aria2 asks for NAME/.pad/N; one request per distinct path,
// the end of the file ending at EOF), at most k_max_pad_probes.
void add_pad_items(const Torrent& t, Planner& plan)
{
  std::vector<std::string> seen;
  for (std::size_t i = 0; i < t.files.size() && seen.size() < k_max_pad_probes; ++i) {
    const TorrentFile& f = t.files[i];
    if (!f.pad || f.length == 0 || !t.multi_file) {
      continue;
    }
    std::string path = f.joined_path();
    if (std::find(seen.begin(), seen.end(), path) != seen.end()) {
      continue;
    }
    seen.push_back(std::move(path));
    const std::uint64_t n = std::min(f.length, k_small_file);
    ProbeItem item;
    item.check = ProbeItem::Check::pad;
    item.segments.push_back({i, f.length - n, n});
    item.purpose = n == f.length ? "pad file (zeros)" : "end of pad file (zeros)";
    plan.add(std::move(item));
  }
}

} // namespace

bool pieces_span_files(const Torrent& t)
{
  if (!t.has_v1 || !t.multi_file) {
    return false;
  }
  std::uint64_t previous_end = 0;
  bool first = true;
  for (const TorrentFile& f : t.files) {
    if (f.pad || f.length == 0) {
      continue;
    }
    if (!first && (f.offset % t.piece_length != 0 || previous_end % t.piece_length != 0) &&
        f.offset / t.piece_length == (previous_end - 1) / t.piece_length) {
      return true;
    }
    previous_end = f.offset + f.length;
    first = false;
  }
  return false;
}

std::vector<ProbeItem> plan_probe(const Torrent& t, std::uint64_t max_bytes)
{
  Planner plan(max_bytes);
  // Files that are on the server: not pads, not empty, not BEP 47 symlinks.
  std::vector<std::size_t> files;
  for (std::size_t i = 0; i < t.files.size(); ++i) {
    if (!t.files[i].pad && !t.files[i].symlink && t.files[i].length > 0) {
      files.push_back(i);
    }
  }
  if (files.empty()) {
    return {};
  }
  const std::size_t largest = *std::max_element(files.begin(), files.end(), [&](auto a, auto b) {
    return t.files[a].length < t.files[b].length;
  });
  const TorrentFile& big = t.files[largest];
  const std::uint64_t pl = t.piece_length;

  // 1. Whole pieces against the torrent's hashes (as libtorrent asks): the first piece and
  //    the last one (which ends at the end of the payload), each if it fits half the budget.
  if (t.has_v1) {
    for (const std::uint64_t p : {std::uint64_t{0}, t.piece_count - 1}) {
      ProbeItem item;
      item.check = ProbeItem::Check::v1_piece;
      item.piece = p;
      item.segments = v1_piece_segments(t, p);
      item.purpose = "piece " + std::to_string(p) + " (" + size_text(pl) + ", SHA-1)";
      if (total_of(item.segments) * 2 <= max_bytes) {
        plan.add(std::move(item));
      }
      if (t.piece_count == 1) {
        break;
      }
    }
  } else if (big.pieces_root) {
    const std::uint64_t pieces = (big.length + pl - 1) / pl;
    for (const std::uint64_t j : {std::uint64_t{0}, pieces - 1}) {
      ProbeItem item;
      item.check = ProbeItem::Check::v2_piece;
      item.piece = j;
      item.segments.push_back({largest, j * pl, std::min(pl, big.length - j * pl)});
      item.purpose = "piece " + std::to_string(j) + " of the file (" + size_text(pl) +
                     ", SHA-256 piece layer)";
      if (total_of(item.segments) * 2 <= max_bytes) {
        plan.add(std::move(item));
      }
      if (pieces == 1) {
        break;
      }
    }
  }
  // 2. The pad files aria2 requests.
  add_pad_items(t, plan);
  // 3. A 1 MiB request (Transmission) and a 32 KiB one (older clients) inside the largest file.
  if (big.length > 2 * k_mib) {
    const std::uint64_t at = big.length / 2 / k_mib * k_mib;
    plan.add(local_item(largest, at, k_mib, "1 MiB request"));
  }
  if (big.length > 2 * k_block) {
    const std::uint64_t at = big.length / 3 / (16 * k_kib) * (16 * k_kib);
    plan.add(local_item(largest, at, k_block, "32 KiB request"));
  }
  // 4. Ranges straddling 2 GiB and 4 GiB (32-bit offset bugs).
  for (const std::uint64_t edge : {std::uint64_t{1} << 31, std::uint64_t{1} << 32}) {
    if (big.length > edge + k_block) {
      plan.add(local_item(largest, edge - k_block / 2, k_block,
                          "32 KiB across the " + size_text(edge) + " offset"));
    }
  }
  // 5. The end of each file, ending exactly at EOF (small files whole), largest files first.
  std::vector<std::size_t> by_size = files;
  std::stable_sort(by_size.begin(), by_size.end(),
                   [&](auto a, auto b) { return t.files[a].length > t.files[b].length; });
  std::size_t ends = 0;
  for (const std::size_t i : by_size) {
    if (ends == k_max_end_of_file_probes) {
      break;
    }
    const std::uint64_t len = t.files[i].length;
    const std::uint64_t n = len <= k_small_file ? len : k_block;
    if (plan.add(local_item(i, len - n, n, n == len ? "whole file" : "end of file"))) {
      ++ends;
    }
  }
  return plan.take();
}

std::vector<ProbeItem> plan_pieces(const Torrent& t, const std::vector<std::uint64_t>& pieces)
{
  std::vector<ProbeItem> items;
  const std::uint64_t pl = t.piece_length;
  std::optional<std::size_t> largest;
  for (std::size_t i = 0; i < t.files.size(); ++i) {
    if (!t.files[i].pad && t.files[i].pieces_root &&
        (!largest || t.files[i].length > t.files[*largest].length)) {
      largest = i;
    }
  }
  for (const std::uint64_t p : pieces) {
    ProbeItem item;
    if (t.has_v1) {
      if (p >= t.piece_count) {
        continue;
      }
      item.check = ProbeItem::Check::v1_piece;
      item.segments = v1_piece_segments(t, p);
      item.purpose = "piece " + std::to_string(p) + " (" + size_text(pl) + ", SHA-1)";
    } else {
      if (!largest || p * pl >= t.files[*largest].length) {
        continue;
      }
      const TorrentFile& f = t.files[*largest];
      item.check = ProbeItem::Check::v2_piece;
      item.segments.push_back({*largest, p * pl, std::min(pl, f.length - p * pl)});
      item.purpose = "piece " + std::to_string(p) + " of the file (" + size_text(pl) +
                     ", SHA-256 piece layer)";
    }
    item.piece = p;
    if (total_of(item.segments) > 0) {
      items.push_back(std::move(item));
    }
  }
  return items;
}

} // namespace agent
