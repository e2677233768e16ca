#include "webseed_probe.h"

#include "http_headers.h"
#include "merkle.h"
#include "mirror_layout.h"
#include "probe_judge.h"
#include "util/sha.h"

#include <curl/curl.h>
#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <map>
#include <memory>
#include <span>
#include <thread>
#include <tuple>

namespace agent {

namespace {

using Clock = std::chrono::steady_clock;

// The findings of one pass: one per (code, path, severity), with the URL that showed it.
class FindingSet {
public:
  FindingSet(const Torrent& t, const ProbeSettings& s) : m_t(t), m_s(s) {}

  void add(const ProbeSegment& seg, Problem p, const std::string& url)
  {
    const TorrentFile& f = m_t.files[seg.file];
    const std::string path = mirror_path(m_s.symlinks_dir, m_t, f);
    if (m_seen[std::tuple{p.code, path, p.severity}]++ > 0) {
      return;
    }
    Finding finding(p.code, path, std::nullopt, std::move(p.message), std::move(p.hint));
    if (p.severity != severity_of(p.code)) {
      finding.severity_override = p.severity;
    }
    finding.clients_override = p.clients;
    finding.url = url.empty() ? webseed_url(m_s.base_url, m_s.symlinks_dir, m_t, f) : url;
    m_findings.push_back(std::move(finding));
  }

  std::vector<Finding> take() { return std::move(m_findings); }

private:
  const Torrent& m_t;
  const ProbeSettings& m_s;
  std::vector<Finding> m_findings;
  std::map<std::tuple<Code, std::string, Severity>, int> m_seen;
};

struct Fetched {
  std::vector<HttpResponse> responses;
  std::vector<unsigned> retries;       // per request: retry rounds it took
  std::optional<ThrottleFacts> served; // throttled at first, all served in the end
  std::size_t first_throttled = 0;     // index of the request named in `served`
  bool first_refused = false;          // the lone first request was answered 503/429
};

// fetch_all, then like clients after 503/429: wait (Retry-After when asked, up to
// max_retry_after, else 1, 2, 4 s), retry the refused requests over one connection, a few
// rounds, within the batch's time.
Fetched fetch_with_backoff(const std::vector<HttpRequest>& requests, const ProbeSettings& s,
                           const FetchLimits& limits)
{
  const auto deadline = Clock::now() + limits.batch_timeout;
  Fetched f;
  f.retries.assign(requests.size(), 0);
  if (requests.empty()) {
    return f;
  }
  // The first request alone, on one connection, as libtorrent asks (one connection per web
  // seed): a refusal there is one libtorrent never recovers from; refusals of the requests
  // sent in parallel after it are throttling that only clients with many connections meet.
  FetchLimits one = limits;
  one.connections_per_host = 1;
  f.responses = fetch_all({requests.front()}, one);
  f.first_refused = is_throttled(f.responses.front());
  if (requests.size() > 1) {
    FetchLimits rest = limits;
    rest.batch_timeout = std::max(
        std::chrono::milliseconds{1},
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()));
    std::vector<HttpResponse> others =
        fetch_all(std::vector<HttpRequest>(requests.begin() + 1, requests.end()), rest);
    for (HttpResponse& r : others) {
      f.responses.push_back(std::move(r));
    }
  }
  std::vector<std::size_t> pending;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    if (is_throttled(f.responses[i])) {
      pending.push_back(i);
    }
  }
  if (pending.empty()) {
    return f;
  }
  ThrottleFacts facts;
  facts.requests = requests.size();
  facts.throttled = pending.size();
  facts.url = requests[pending.front()].url;
  facts.status = f.responses[pending.front()].status;
  facts.retry_after = f.responses[pending.front()].retry_after;
  f.first_throttled = pending.front();
  std::chrono::seconds backoff{1};
  for (unsigned round = 1; round <= s.throttle_rounds && !pending.empty(); ++round) {
    std::optional<std::chrono::seconds> asked;
    const auto now_unix = static_cast<std::int64_t>(std::time(nullptr));
    for (const std::size_t i : pending) {
      if (const auto ra = parse_retry_after(f.responses[i].retry_after, now_unix)) {
        asked = std::max(asked.value_or(std::chrono::seconds{0}), *ra);
      }
    }
    if (asked && *asked > s.max_retry_after) {
      break; // not waited for: the answers stand
    }
    const std::chrono::seconds wait = asked ? *asked : backoff;
    backoff = std::min(backoff * 2, std::chrono::seconds{8});
    if (Clock::now() + wait + std::chrono::seconds{1} >= deadline) {
      break;
    }
    // Waits in small steps, so that a cancelled batch (FetchLimits::cancel) ends at once.
    const auto until = Clock::now() + wait;
    while (Clock::now() < until && !(limits.cancel != nullptr && limits.cancel->load())) {
      std::this_thread::sleep_for(std::min<Clock::duration>(until - Clock::now(),
                                                            std::chrono::milliseconds{100}));
    }
    if (limits.cancel != nullptr && limits.cancel->load()) {
      break;
    }
    std::vector<HttpRequest> again;
    for (const std::size_t i : pending) {
      again.push_back(requests[i]);
    }
    one.batch_timeout =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    std::vector<HttpResponse> answers = fetch_all(again, one);
    std::vector<std::size_t> still;
    for (std::size_t k = 0; k < pending.size(); ++k) {
      f.responses[pending[k]] = std::move(answers[k]);
      f.retries[pending[k]] = round;
      if (is_throttled(f.responses[pending[k]])) {
        still.push_back(pending[k]);
      }
    }
    pending = std::move(still);
    facts.rounds = round;
  }
  if (pending.empty()) {
    f.served = facts;
  }
  return f;
}

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

// The v1 piece's bytes with its pad runs put back as zeros (pad files are not fetched).
std::string with_pads(const Torrent& t, std::uint64_t piece, const std::string& fetched)
{
  std::string full;
  std::size_t taken = 0;
  for (const PieceRun& run : t.v1_piece_runs(piece)) {
    const auto n = static_cast<std::size_t>(run.length);
    if (t.files[run.file].pad) {
      full.append(n, '\0');
    } else {
      full.append(fetched, taken, n);
      taken += n;
    }
  }
  return full;
}

// One pass over `items` on one address family.
ProbeResult probe_pass(const Torrent& t, const std::vector<ProbeItem>& items,
                       const LocalBytes& local, const ProbeSettings& settings, AddressFamily family)
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
  FetchLimits limits = settings.fetch;
  limits.family = family;
  const Fetched fetched = fetch_with_backoff(requests, settings, limits);
  const bool span = pieces_span_files(t);
  FindingSet findings(t, settings);
  std::size_t k = 0;
  for (const ProbeItem& item : items) {
    std::string piece_bytes;
    bool all_ok = true;
    const std::size_t first_rec = result.requests.size();
    for (const ProbeSegment& seg : item.segments) {
      const HttpResponse& r = fetched.responses[k];
      ProbeRequest& rec = result.requests.emplace_back();
      rec.url = requests[k].url;
      rec.first = seg.offset;
      rec.last = seg.offset + seg.length - 1;
      rec.purpose = item.purpose;
      rec.status = r.status;
      rec.bytes = r.body.size();
      rec.seconds = r.seconds;
      rec.family = family;
      rec.address = r.primary_ip;
      rec.retries = fetched.retries[k];
      if (r.redirects > 0) {
        rec.effective_url = r.effective_url;
      }
      ++k;
      result.bytes += r.body.size();
      const Expectation asked{rec.url, rec.first, rec.last, t.files[seg.file].length, span};
      std::optional<Problem> problem;
      if (item.check == ProbeItem::Check::pad) {
        problem = judge_pad_answer(asked, r);
      } else {
        AnswerVerdict v = judge_answer(asked, r);
        if (v.warning) {
          findings.add(seg, std::move(*v.warning), {});
        }
        problem = std::move(v.error);
        if (!problem && item.check == ProbeItem::Check::local) {
          const auto expected = local ? local(seg.file, seg.offset, seg.length) : std::nullopt;
          if (expected) {
            problem = judge_local_bytes(asked, r.body, *expected);
          } else {
            rec.purpose += " (not compared: local file unreadable)";
          }
        }
      }
      rec.ok = !problem;
      if (problem) {
        rec.code = problem->code;
        findings.add(seg, std::move(*problem), rec.url);
        all_ok = false;
      } else if (item.check != ProbeItem::Check::local && item.check != ProbeItem::Check::pad) {
        piece_bytes += r.body;
      }
    }
    if (!all_ok ||
        (item.check != ProbeItem::Check::v1_piece && item.check != ProbeItem::Check::v2_piece)) {
      continue;
    }
    if (item.check == ProbeItem::Check::v1_piece) {
      piece_bytes = with_pads(t, item.piece, piece_bytes);
    }
    if (piece_matches(t, item, piece_bytes)) {
      result.pieces_verified.push_back(item.piece);
      continue;
    }
    const std::span<ProbeRequest> recs = std::span(result.requests).subspan(first_rec);
    for (ProbeRequest& rec : recs) {
      rec.ok = false;
      rec.code = Code::http_content_mismatch;
    }
    findings.add(item.segments.front(),
                 piece_mismatch(item.purpose, recs.front().url, recs.size() > 1), recs.front().url);
  }
  if (fetched.served) {
    // on the file of the first throttled request
    std::size_t at = 0;
    for (const ProbeItem& item : items) {
      for (const ProbeSegment& seg : item.segments) {
        if (at++ == fetched.first_throttled) {
          if (fetched.first_refused) {
            findings.add(seg, single_connection_refused(*fetched.served), fetched.served->url);
          }
          findings.add(seg, throttled_problem(*fetched.served), fetched.served->url);
        }
      }
    }
  }
  result.findings = findings.take();
  if (has_error(result.findings)) {
    // the files themselves are not served: whether the pad files are is beside the point
    std::erase_if(result.findings,
                  [](const Finding& f) { return f.code == Code::pad_files_not_served; });
  }
  return result;
}

// "ipv6 (::1)": the family and the address its requests went to.
std::string family_label(const ProbeResult& pass, AddressFamily family)
{
  std::string label(family_text(family));
  for (const ProbeRequest& r : pass.requests) {
    if (!r.address.empty()) {
      return label + " (" + r.address + ")";
    }
  }
  return label;
}

// Several families' passes as one result: each finding once, its message naming the families
// that showed it ("ipv6 (::1): ...", "ipv4 (127.0.0.1) and ipv6 (::1): ...").
ProbeResult merge_passes(std::vector<ProbeResult> passes, const std::vector<std::string>& labels)
{
  ProbeResult out;
  std::map<std::tuple<Code, std::string, Severity>, std::size_t> index;
  std::vector<std::vector<std::string>> seen_in;
  for (std::size_t p = 0; p < passes.size(); ++p) {
    ProbeResult& pass = passes[p];
    for (ProbeRequest& r : pass.requests) {
      out.requests.push_back(std::move(r));
    }
    out.bytes += pass.bytes;
    for (const std::uint64_t piece : pass.pieces_verified) {
      out.pieces_verified.push_back(piece);
    }
    for (Finding& f : pass.findings) {
      const auto key = std::tuple{f.code, f.path, f.severity()};
      const auto [it, fresh] = index.emplace(key, out.findings.size());
      if (fresh) {
        out.findings.push_back(std::move(f));
        seen_in.push_back({labels[p]});
      } else {
        seen_in[it->second].push_back(labels[p]);
      }
    }
  }
  for (std::size_t i = 0; i < out.findings.size(); ++i) {
    std::string prefix;
    for (std::size_t j = 0; j < seen_in[i].size(); ++j) {
      prefix += (j == 0 ? "" : " and ") + seen_in[i][j];
    }
    out.findings[i].message = prefix + ": " + out.findings[i].message;
  }
  std::sort(out.pieces_verified.begin(), out.pieces_verified.end());
  // A piece counts as verified when every family served it right.
  std::vector<std::uint64_t> verified;
  for (std::size_t i = 0; i < out.pieces_verified.size();) {
    std::size_t j = i;
    while (j < out.pieces_verified.size() && out.pieces_verified[j] == out.pieces_verified[i]) {
      ++j;
    }
    if (j - i == passes.size()) {
      verified.push_back(out.pieces_verified[i]);
    }
    i = j;
  }
  out.pieces_verified = std::move(verified);
  return out;
}

struct CurlUrlDeleter {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};
struct AddrInfoDeleter {
  void operator()(addrinfo* a) const { freeaddrinfo(a); }
};

} // namespace

std::vector<AddressFamily> probe_families(const std::string& base_url)
{
  std::unique_ptr<CURLU, CurlUrlDeleter> url(curl_url());
  if (!url || curl_url_set(url.get(), CURLUPART_URL, base_url.c_str(), 0) != CURLUE_OK) {
    return {};
  }
  char* raw = nullptr;
  if (curl_url_get(url.get(), CURLUPART_HOST, &raw, 0) != CURLUE_OK || raw == nullptr) {
    return {};
  }
  std::string host(raw);
  curl_free(raw);
  if (host.empty() || host.front() == '[') {
    return {}; // an IPv6 literal
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &found) == 0) {
    freeaddrinfo(found);
    return {}; // an IPv4 literal
  }
  hints.ai_flags = 0;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &found) != 0) {
    return {};
  }
  std::unique_ptr<addrinfo, AddrInfoDeleter> owner(found);
  bool v4 = false;
  bool v6 = false;
  for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
    v4 = v4 || a->ai_family == AF_INET;
    v6 = v6 || a->ai_family == AF_INET6;
  }
  std::vector<AddressFamily> out;
  if (v4) {
    out.push_back(AddressFamily::ipv4);
  }
  if (v6) {
    out.push_back(AddressFamily::ipv6);
  }
  return out;
}

ProbeResult probe_torrent(const Torrent& t, const LocalBytes& local, const ProbeSettings& settings)
{
  return probe_items(t, plan_probe(t, settings.max_bytes), local, settings);
}

ProbeResult probe_items(const Torrent& t, const std::vector<ProbeItem>& items,
                        const LocalBytes& local, const ProbeSettings& settings)
{
  ProbeResult result;
  if (settings.families.size() <= 1) {
    result = probe_pass(t, items, local, settings,
                        settings.families.empty() ? AddressFamily::any : settings.families[0]);
  } else {
    std::vector<ProbeResult> passes;
    std::vector<std::string> labels;
    const auto deadline = Clock::now() + settings.fetch.batch_timeout;
    for (std::size_t i = 0; i < settings.families.size(); ++i) {
      const AddressFamily family = settings.families[i];
      ProbeSettings each = settings;
      // Never fetch.share: a shared connection could be of the other family.
      each.fetch.share = i < settings.family_shares.size() ? settings.family_shares[i] : nullptr;
      each.fetch.batch_timeout =
          std::max(std::chrono::milliseconds{1},
                   std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()));
      passes.push_back(probe_pass(t, items, local, each, family));
      labels.push_back(family_label(passes.back(), family));
    }
    result = merge_passes(std::move(passes), labels);
  }
  if (!items.empty()) {
    if (auto p = judge_base_url(settings.base_url)) {
      result.findings.emplace_back(p->code, settings.symlinks_dir + "/" + t.name, std::nullopt,
                                   std::move(p->message), std::move(p->hint));
    }
  }
  sort_findings(result.findings);
  return result;
}

} // namespace agent
