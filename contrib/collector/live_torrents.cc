#include "live_torrents.h"

#include "mirror_layout.h" // agent::percent_encode (RFC 3986)
#include "seed_torrents.h"
#include "util/sha.h"

#include <nlohmann/json.hpp>

#include <ctime>

namespace collector {

namespace {

std::string hex_of(const util::Sha1& h)
{
  return agent::hex(h);
}

std::string base_name(const std::string& path)
{
  const std::size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string_view trim(std::string_view s)
{
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

// Fields set one by one: HttpResponse may grow members (no aggregate initialisation here).
HttpResponse answer(int status, std::string type, std::string body,
                    std::vector<std::pair<std::string, std::string>> headers = {})
{
  HttpResponse r;
  r.status = status;
  r.content_type = std::move(type);
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

HttpResponse not_found()
{
  return answer(404, "application/json",
                R"({"error":"no such torrent in the collector's catalog"})"
                "\n",
                {});
}

} // namespace

std::string http_date(std::int64_t unix_time)
{
  const auto t = static_cast<std::time_t>(unix_time);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[64];
  const std::size_t n = std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return std::string(buf, n);
}

bool etag_matches(const std::string& if_none_match, const std::string& etag)
{
  std::string_view rest = if_none_match;
  while (true) {
    const std::size_t comma = rest.find(',');
    std::string_view one = trim(rest.substr(0, comma));
    if (one == "*") {
      return true;
    }
    if (one.starts_with("W/")) {
      one.remove_prefix(2);
    }
    if (one == etag) {
      return true;
    }
    if (comma == std::string_view::npos) {
      return false;
    }
    rest.remove_prefix(comma + 1);
  }
}

HttpResponse LiveTorrents::get(const Catalog& catalog, const std::string& file,
                               const WebseedsFor& webseeds, const HttpRequest& request,
                               std::int64_t now)
{
  const CatalogEntry* entry = nullptr;
  {
    const std::lock_guard lock(m_mutex);
    if (!m_indexed) {
      for (const CatalogEntry& e : catalog.entries()) {
        m_by_file.emplace(base_name(e.file), &e); // the first of a repeated name
      }
      m_indexed = true;
    }
    const auto it = m_by_file.find(file);
    if (it == m_by_file.end()) {
      return not_found();
    }
    entry = it->second;
  }
  auto body = with_url_list(*entry->torrent->bytes, webseeds(entry->key), file);
  if (!body) {
    return answer(500, "application/json",
                  R"({"error":"cannot publish this torrent"})"
                  "\n",
                  {});
  }
  const std::string etag = "\"" + hex_of(util::sha1(*body)) + "\"";
  std::int64_t since = now;
  {
    const std::lock_guard lock(m_mutex);
    auto& served = m_served[file];
    if (served.first == etag) {
      since = served.second;
    } else {
      served = {etag, now};
    }
  }
  std::vector<std::pair<std::string, std::string>> headers = {
      {"ETag", etag}, {"Last-Modified", http_date(since)}, {"Cache-Control", "no-cache"}};
  if (etag_matches(request.header("if-none-match"), etag)) {
    return answer(304, "application/x-bittorrent", "", std::move(headers));
  }
  return answer(200, "application/x-bittorrent", std::move(*body), std::move(headers));
}

std::string magnet_uri(const CatalogEntry& entry, const std::vector<std::string>& webseeds,
                       const std::vector<std::string>& trackers)
{
  std::string out = "magnet:?";
  const agent::Torrent& t = *entry.torrent;
  if (t.info_hash_v1) {
    out += "xt=urn:btih:" + agent::hex(*t.info_hash_v1);
  }
  if (t.info_hash_v2) {
    out +=
        std::string(t.info_hash_v1 ? "&" : "") + "xt=urn:btmh:1220" + agent::hex(*t.info_hash_v2);
  }
  out += "&dn=" + agent::percent_encode(t.name);
  for (const std::string& tr : trackers) {
    out += "&tr=" + agent::percent_encode(tr);
  }
  for (const std::string& ws : webseeds) {
    out += "&ws=" + agent::percent_encode(ws);
  }
  return out;
}

HttpResponse magnet_response(const CatalogEntry& entry, const std::vector<std::string>& webseeds,
                             const std::vector<std::string>& trackers, bool redirect)
{
  const std::string uri = magnet_uri(entry, webseeds, trackers);
  if (redirect) {
    return answer(302, "text/plain; charset=utf-8", uri + "\n", {{"Location", uri}});
  }
  const nlohmann::ordered_json j = {
      {"info_hash", entry.key}, {"name", entry.torrent->name}, {"magnet", uri}};
  return answer(200, "application/json",
                j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n",
                {});
}

} // namespace collector
