#include "report_build.h"

#include "client_families.h"
#include "torrent_output.h"
#include "util/text.h"
#include "version.h"

#include <openssl/rand.h>

#include <algorithm>
#include <ctime>
#include <stdexcept>

namespace agent {

namespace {

constexpr std::size_t k_max_problems = 5;  // per torrent: enough for a dashboard tooltip
constexpr std::size_t k_max_requests = 32; // per torrent: the probe's evidence

util::Json header_json(const ReportHeader& h, std::string_view kind)
{
  util::Json j = util::Json::object();
  j["schema"] = "webseed-agent-report";
  j["version"] = k_report_version;
  j["kind"] = kind;
  j["report_id"] = h.report_id;
  j["mirror"] = util::to_utf8_lossy(h.mirror);
  j["base_url"] = util::to_utf8_lossy(h.base_url);
  j["agent"] = {{"name", "webseed-agent"}, {"version", k_version}};
  j["generated_at"] = utc_time(h.generated_at);
  j["opted_in"] = h.opted_in;
  return j;
}

util::Json problem_json(const Finding& f)
{
  return {{"code", std::string(code_name(f.code))},
          {"severity", std::string(severity_name(f.severity()))},
          {"path", util::to_utf8_lossy(f.path)},
          {"message", util::to_utf8_lossy(f.message)},
          {"clients", client_names(affected_clients(f))}};
}

util::Json evidence_json(const TorrentResult& r)
{
  util::Json e = util::Json::object();
  if (!r.probe) {
    e["probed"] = false;
    e["reason"] = "no base URL";
    return e;
  }
  const ProbeOutcome& p = *r.probe;
  e["probed"] = p.probed;
  e["reason"] = p.reason.empty() ? util::Json(nullptr) : util::Json(p.reason);
  if (r.torrent) {
    e["hashes"] = r.torrent->has_v1 ? "v1" : "v2";
  }
  e["pieces_verified"] = p.result.pieces_verified;
  e["bytes"] = p.result.bytes;
  e["requests"] = util::Json::array();
  for (const ProbeRequest& q : p.result.requests) {
    if (e["requests"].size() == k_max_requests) {
      break;
    }
    e["requests"].push_back({{"url", util::to_utf8_lossy(q.url)},
                             {"range", {q.first, q.last}},
                             {"purpose", q.purpose},
                             {"status", q.status > 0 ? util::Json(q.status) : util::Json(nullptr)},
                             {"ok", q.ok}});
    if (q.family != AddressFamily::any) {
      e["requests"].back()["family"] = std::string(family_text(q.family));
    }
  }
  return e;
}

util::Json torrent_json(const TorrentResult& r)
{
  util::Json t = util::Json::object();
  const std::string& path = r.path;
  const std::size_t slash = path.rfind('/');
  t["torrent"] = util::to_utf8_lossy(slash == std::string::npos ? path : path.substr(slash + 1));
  t["name"] = r.torrent ? util::Json(util::to_utf8_lossy(r.torrent->name)) : util::Json(nullptr);
  put_info_hashes(t, r.torrent ? &*r.torrent : nullptr);
  t["ready"] = r.report.ready();
  t["clients"] = client_usability_names(r.report.findings);
  std::vector<std::string> codes;
  for (const Finding& f : r.report.findings) {
    const std::string code(code_name(f.code));
    if (std::find(codes.begin(), codes.end(), code) == codes.end()) {
      codes.push_back(code);
    }
  }
  t["codes"] = codes;
  t["problems"] = util::Json::array();
  for (const Finding& f : r.report.findings) {
    if (t["problems"].size() == k_max_problems) {
      break;
    }
    t["problems"].push_back(problem_json(f));
  }
  t["bytes_verified"] = r.report.bytes_verified;
  t["cached"] = r.report.cached;
  t["evidence"] = evidence_json(r);
  return t;
}

} // namespace

std::string new_report_id()
{
  unsigned char b[16];
  if (RAND_bytes(b, sizeof b) != 1) {
    throw std::runtime_error("OpenSSL RAND_bytes failed");
  }
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40); // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80); // RFC 4122 variant
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) {
      out += '-';
    }
    out += digits[b[i] >> 4];
    out += digits[b[i] & 15];
  }
  return out;
}

bool is_report_id(std::string_view text)
{
  if (text.size() != 36) {
    return false;
  }
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return true;
}

std::string utc_time(std::int64_t unix_time)
{
  const std::time_t t = static_cast<std::time_t>(unix_time);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

util::Json status_report(const ReportHeader& header, const SyncInfo& sync, const CheckRun* check,
                         double duration_seconds)
{
  util::Json j = header_json(header, "status");
  util::Json s = util::Json::object();
  s["state"] = state_name(sync.state);
  s["rsync_exit"] = sync.rsync_exit ? util::Json(*sync.rsync_exit) : util::Json(nullptr);
  s["tree_timestamp"] =
      sync.tree_timestamp ? util::Json(utc_time(*sync.tree_timestamp)) : util::Json(nullptr);
  s["marker"] =
      sync.marker.empty() ? util::Json(nullptr) : util::Json(util::to_utf8_lossy(sync.marker));
  j["sync"] = std::move(s);
  const bool judged = check != nullptr;
  std::size_t ready = 0;
  std::uint64_t bytes = 0;
  j["torrents"] = util::Json::array();
  if (judged) {
    for (const TorrentResult& r : check->torrents) {
      ready += r.report.ready() ? 1 : 0;
      bytes += r.report.bytes_verified;
      j["torrents"].push_back(torrent_json(r));
    }
  }
  j["judged"] = judged;
  j["ready"] = judged && check->all_ready();
  // Findings on the run itself (torrents-missing...): the tree is not ready as a whole.
  j["problems"] = util::Json::array();
  for (std::size_t i = 0; judged && i < check->findings.size(); ++i) {
    j["problems"].push_back(problem_json(check->findings[i]));
  }
  j["summary"] = {{"torrents", judged ? check->torrents.size() : 0},
                  {"ready", ready},
                  {"bytes_verified", bytes},
                  {"duration_seconds",
                   static_cast<double>(static_cast<long long>(duration_seconds * 1000)) / 1000}};
  return j;
}

util::Json withdraw_report(const ReportHeader& header)
{
  ReportHeader h = header;
  h.opted_in = false;
  util::Json j = header_json(h, "withdraw");
  j["judged"] = false;
  j["ready"] = false;
  j["torrents"] = util::Json::array();
  return j;
}

} // namespace agent
