#include "webseed_probe.h"

#include "http_headers.h"

#include "merkle.h"
#include "mirror_layout.h"
#include "util/sha.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <map>
#include <span>
#include <tuple>

namespace agent {

namespace {

constexpr std::uint64_t k_kib = 1024;
constexpr std::uint64_t k_mib = 1024 * k_kib;
constexpr std::uint64_t k_block = 32 * k_kib;      // an older client's request
constexpr std::uint64_t k_small_file = 64 * k_kib; // fetched whole
constexpr std::size_t k_max_end_of_file_probes = 8;

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

std::string last_component(std::string_view url)
{
  if (const auto q = url.find_first_of("?#"); q != std::string_view::npos) {
    url = url.substr(0, q);
  }
  const auto slash = url.rfind('/');
  return std::string(slash == std::string_view::npos ? url : url.substr(slash + 1));
}

std::string hint_for_status(long status)
{
  if (status == 403) {
    return "the web server refuses the file: it probably does not follow the symlinks. "
           "Apache: 'Options +FollowSymLinks' for the mirror's directory; nginx: "
           "'disable_symlinks off;' (the default). The files must also be world-readable";
  }
  if (status == 404 || status == 410) {
    return "is mirror.base_url the URL of the mirror root, and is the torrent-symlinks tree "
           "published by the web server (same docroot as mirror.root)?";
  }
  if (status >= 500) {
    return "the web server failed to serve the file: see its error log";
  }
  if (status == 416) {
    return "the server says the range is not satisfiable: is its copy of the file shorter "
           "(stale docroot or a sync in progress)?";
  }
  return "web-seed clients expect 206 Partial Content for a Range request";
}

// True when a v1 piece holds bytes of two real files (no BEP 47 alignment). Measured:
// python3-libtorrent 2.0.8 never completes such a piece when the web seed redirects (it
// follows redirects per file), while aria2c does; such a redirect is an error.
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

class Judge {
public:
  Judge(const Torrent& t, const ProbeSettings& s, const LocalBytes& local)
      : m_t(t), m_s(s), m_local(local)
  {
  }

  // Judges the answer to one segment request; the body is kept for the piece check.
  bool judge(const ProbeSegment& seg, const HttpResponse& r, ProbeRequest& rec)
  {
    const TorrentFile& f = m_t.files[seg.file];
    rec.status = r.status;
    rec.bytes = r.body.size();
    rec.seconds = r.seconds;
    if (r.redirects > 0) {
      rec.effective_url = r.effective_url;
    }
    const std::string range_text =
        "bytes " + std::to_string(rec.first) + "-" + std::to_string(rec.last);
    const std::string where = rec.url + " (" + range_text + ")";
    if (r.timed_out) {
      return fail(rec, seg, Code::http_timeout,
                  "no complete answer in time for " + where + ": " + r.error,
                  "the server stalls or is overloaded; the probe waits probe.request_timeout "
                  "per request");
    }
    if (r.transport_error) {
      return fail(rec, seg, Code::http_unreachable, where + ": " + r.error,
                  "is mirror.base_url right, and is the web server running and reachable "
                  "(DNS, port, firewall, TLS certificate)?");
    }
    if (r.redirects > 0) {
      const bool other_file = last_component(r.effective_url) != last_component(rec.url);
      if (other_file) {
        return fail(rec, seg, Code::http_redirect,
                    where + " redirects to another file: " + r.effective_url,
                    "clients would fetch the wrong file: fix the redirect rules for the "
                    "torrent-symlinks tree");
      }
      if (pieces_span_files(m_t)) {
        return fail(rec, seg, Code::http_redirect,
                    where + " redirects to " + r.effective_url +
                        "; this torrent has pieces that span files, which libtorrent 2.0 cannot "
                        "fetch through redirects",
                    "make mirror.base_url the URL that serves the files, without redirects");
      }
      add(seg, Code::http_redirect, where + " redirects to " + r.effective_url,
          "clients follow it, at the cost of a round trip per request: make mirror.base_url "
          "the URL that serves the files");
    }
    if (r.status != 206 && r.status != 200) {
      return fail(rec, seg, Code::http_status, where + " answered HTTP " + std::to_string(r.status),
                  hint_for_status(r.status));
    }
    if (!r.content_encoding.empty() && r.content_encoding != "identity") {
      return fail(rec, seg, Code::http_content_encoding,
                  where + " came with Content-Encoding: " + r.content_encoding +
                      " (no Accept-Encoding was sent)",
                  "turn compression off for these files (nginx: gzip off or gzip_types; "
                  "Apache: mod_deflate / SetEnv no-gzip): clients hash the raw bytes");
    }
    const bool whole_file = rec.first == 0 && rec.last + 1 == f.length;
    if (r.status == 200 && !whole_file) {
      return fail(
          rec, seg, Code::http_range_ignored,
          where + " answered 200 with the whole file instead of 206 with the range" +
              (r.content_type.starts_with("text/html") ? " (an HTML page: a soft 404?)" : ""),
          "the server (or a proxy or CDN in front of it) must honour Range requests: "
          "clients fetch pieces, and large files fail without it");
    }
    if (r.status == 206) {
      const auto got = parse_content_range(r.content_range);
      if (!got || got->first != rec.first || got->second != rec.last) {
        return fail(rec, seg, Code::http_range_ignored,
                    where + " answered 206 with Content-Range '" + r.content_range + "'",
                    "the server must return exactly the range asked for");
      }
    }
    if (r.body_cut || r.body.size() != seg.length) {
      return fail(rec, seg, Code::http_content_mismatch,
                  where + " returned " +
                      (r.body_cut ? "more than" : std::to_string(r.body.size())) +
                      (r.body_cut ? " " + std::to_string(seg.length) : "") + " bytes instead of " +
                      std::to_string(seg.length),
                  looks_like_html(r.body) ? mismatch_hint(r.body)
                                          : "a truncated answer: is the server's copy of the "
                                            "file complete?");
    }
    return true;
  }

  bool compare_local(const ProbeSegment& seg, const std::string& body, ProbeRequest& rec)
  {
    const auto expected = m_local ? m_local(seg.file, seg.offset, seg.length) : std::nullopt;
    if (!expected) {
      rec.ok = true; // nothing to compare with: the HTTP answer itself was fine
      rec.purpose += " (not compared: local file unreadable)";
      return true;
    }
    if (*expected == body) {
      rec.ok = true;
      return true;
    }
    std::uint64_t at = 0;
    while (at < body.size() && body[at] == (*expected)[at]) {
      ++at;
    }
    return fail(rec, seg, Code::http_content_mismatch,
                rec.url + " (bytes " + std::to_string(rec.first) + "-" + std::to_string(rec.last) +
                    ") differs from the verified local file from byte " +
                    std::to_string(seg.offset + at),
                mismatch_hint(body));
  }

  void fail_piece(const ProbeItem& item, std::span<ProbeRequest> recs)
  {
    for (ProbeRequest& rec : recs) {
      rec.ok = false;
      rec.code = Code::http_content_mismatch;
    }
    const ProbeSegment& seg = item.segments.front();
    add(seg, Code::http_content_mismatch,
        "the bytes served for " + item.purpose + " (" + recs.front().url +
            (recs.size() > 1 ? " and the next files" : "") +
            ") do not match the torrent's piece hash",
        "the web server serves other bytes than the verified files: is its docroot this tree "
        "(mirror.root), or a stale copy?");
  }

  std::vector<Finding> take() { return std::move(m_findings); }

private:
  static bool looks_like_html(const std::string& body)
  {
    const std::string_view head(body.data(), std::min<std::size_t>(body.size(), 512));
    return head.find("<html") != std::string_view::npos ||
           head.find("<HTML") != std::string_view::npos ||
           head.find("<!DOCTYPE") != std::string_view::npos ||
           head.find("<!doctype") != std::string_view::npos;
  }

  static std::string mismatch_hint(const std::string& body)
  {
    if (looks_like_html(body)) {
      return "the answer is an HTML page (a soft 404?): is mirror.base_url right?";
    }
    return "the web server serves other bytes than the verified files: is its docroot this "
           "tree (mirror.root), or a stale copy?";
  }

  bool fail(ProbeRequest& rec, const ProbeSegment& seg, Code code, std::string message,
            std::string hint)
  {
    rec.ok = false;
    rec.code = code;
    add(seg, code, std::move(message), std::move(hint), rec.url, Severity::error);
    return false;
  }

  void add(const ProbeSegment& seg, Code code, std::string message, std::string hint,
           const std::string& url = {}, std::optional<Severity> severity = std::nullopt)
  {
    const TorrentFile& f = m_t.files[seg.file];
    const std::string path = mirror_path(m_s.symlinks_dir, m_t, f);
    const auto key = std::tuple{code, path, severity.value_or(severity_of(code))};
    if (m_seen[key]++ > 0) {
      return;
    }
    Finding finding(code, path, std::nullopt, std::move(message), std::move(hint));
    if (severity && *severity != severity_of(code)) {
      finding.severity_override = severity;
    }
    finding.url = url.empty() ? webseed_url(m_s.base_url, m_s.symlinks_dir, m_t, f) : url;
    m_findings.push_back(std::move(finding));
  }

  const Torrent& m_t;
  const ProbeSettings& m_s;
  const LocalBytes& m_local;
  std::vector<Finding> m_findings;
  std::map<std::tuple<Code, std::string, Severity>, int> m_seen;
};

bool piece_matches(const Torrent& t, const ProbeItem& item, const std::string& bytes)
{
  if (item.check == ProbeItem::Check::v1_piece) {
    const util::Sha1 got = util::sha1(bytes);
    return std::memcmp(got.data(), t.piece_hash_v1(item.piece).data(), got.size()) == 0;
  }
  // v2: the root of the piece's 16 KiB blocks.
  const TorrentFile& f = t.files[item.segments.front().file];
  std::vector<util::Sha256> leaves;
  for (std::size_t at = 0; at < bytes.size(); at += k_v2_block_size) {
    leaves.push_back(util::sha256(std::string_view(bytes).substr(at, k_v2_block_size)));
  }
  if (f.length <= t.piece_length) {
    return f.pieces_root &&
           merkle_root(leaves, next_pow2(leaves.size()), util::Sha256{}) == *f.pieces_root;
  }
  const std::string_view layer = t.piece_layer(f);
  if (layer.size() < 32 * (item.piece + 1)) {
    return false;
  }
  const util::Sha256 root = merkle_root(
      leaves, static_cast<std::size_t>(t.piece_length / k_v2_block_size), util::Sha256{});
  return std::memcmp(root.data(), layer.data() + 32 * item.piece, 32) == 0;
}

} // namespace

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
  // 2. A 1 MiB request (Transmission) and a 32 KiB one (older clients) inside the largest file.
  if (big.length > 2 * k_mib) {
    const std::uint64_t at = big.length / 2 / k_mib * k_mib;
    plan.add(local_item(largest, at, k_mib, "1 MiB request"));
  }
  if (big.length > 2 * k_block) {
    const std::uint64_t at = big.length / 3 / (16 * k_kib) * (16 * k_kib);
    plan.add(local_item(largest, at, k_block, "32 KiB request"));
  }
  // 3. Ranges straddling 2 GiB and 4 GiB (32-bit offset bugs).
  for (const std::uint64_t edge : {std::uint64_t{1} << 31, std::uint64_t{1} << 32}) {
    if (big.length > edge + k_block) {
      plan.add(local_item(largest, edge - k_block / 2, k_block,
                          "32 KiB across the " + size_text(edge) + " offset"));
    }
  }
  // 4. The end of each file, ending exactly at EOF (small files whole), largest files first.
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

ProbeResult probe_torrent(const Torrent& t, const LocalBytes& local, const ProbeSettings& settings)
{
  return probe_items(t, plan_probe(t, settings.max_bytes), local, settings);
}

ProbeResult probe_items(const Torrent& t, const std::vector<ProbeItem>& items,
                        const LocalBytes& local, const ProbeSettings& settings)
{
  ProbeResult result;
  std::vector<HttpRequest> requests;
  for (const ProbeItem& item : items) {
    for (const ProbeSegment& seg : item.segments) {
      HttpRequest req;
      req.url = webseed_url(settings.base_url, settings.symlinks_dir, t, t.files[seg.file]);
      req.range = std::pair{seg.offset, seg.offset + seg.length - 1};
      req.max_body = seg.length;
      requests.push_back(std::move(req));
    }
  }
  const std::vector<HttpResponse> responses = fetch_all(requests, settings.fetch);
  Judge judge(t, settings, local);
  std::size_t k = 0;
  for (const ProbeItem& item : items) {
    std::string piece_bytes;
    bool all_ok = true;
    const std::size_t first_rec = result.requests.size();
    for (const ProbeSegment& seg : item.segments) {
      const HttpResponse& r = responses[k];
      ProbeRequest& rec = result.requests.emplace_back();
      rec.url = requests[k].url;
      rec.first = seg.offset;
      rec.last = seg.offset + seg.length - 1;
      rec.purpose = item.purpose;
      ++k;
      result.bytes += r.body.size();
      bool ok = judge.judge(seg, r, rec);
      if (ok && item.check == ProbeItem::Check::local) {
        ok = judge.compare_local(seg, r.body, rec);
      } else if (ok) {
        rec.ok = true;
        piece_bytes += r.body;
      }
      all_ok = all_ok && ok;
    }
    if (item.check == ProbeItem::Check::local || !all_ok) {
      continue;
    }
    // Pad files are zeros, not on the server: put them back where they belong.
    if (item.check == ProbeItem::Check::v1_piece) {
      std::string full;
      std::size_t taken = 0;
      for (const PieceRun& run : t.v1_piece_runs(item.piece)) {
        const auto n = static_cast<std::size_t>(run.length);
        if (t.files[run.file].pad) {
          full.append(n, '\0');
        } else {
          full.append(piece_bytes, taken, n);
          taken += n;
        }
      }
      piece_bytes = std::move(full);
    }
    if (piece_matches(t, item, piece_bytes)) {
      result.pieces_verified.push_back(item.piece);
    } else {
      judge.fail_piece(item, std::span(result.requests).subspan(first_rec));
    }
  }
  result.findings = judge.take();
  sort_findings(result.findings);
  return result;
}

} // namespace agent
