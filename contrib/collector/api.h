// api.h: the collector's HTTP interface (contrib/collector/README.md):
//   POST /api/v1/reports                     a mirror's report (Bearer token -> mirror)
//   GET  /api/v1/torrents/<info-hash>/webseeds  the web-seed URLs to list for a torrent
//   GET  /api/v1/mirrors                     every mirror's status, as JSON (streamed)
//   GET  /api/v1/mirrors/<name>              one mirror with its cells
//   GET  /api/v1/mirrors/<name>/events       a mirror's history, newest first (events.h)
//   GET  /api/v1/torrents/<info-hash>/magnet   its magnet (live_torrents.h)
//   GET  /torrents/<file>.torrent            the live torrent (live_torrents.h)
//   GET  /metrics                            Prometheus text format
//   GET  /                                   the HTML dashboard (an overview; ?mirror=NAME: its
//   cells)
// Answers are JSON {"error": "..."} on failure: 400 malformed or invalid report (the reason),
// 401 unknown or disabled token (answered from the headers, before the body is read),
// 429 over the mirror's report rate (Retry-After), 404, 405, 413 (the server), 415 not JSON.
#pragma once

#include "catalog.h"
#include "collector_config.h"
#include "events.h"
#include "http_server.h"
#include "listing_index.h"
#include "live_torrents.h"
#include "store.h"
#include "url_policy.h"

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <optional>

namespace collector {

struct ApiContext {
  Store& store;
  const Catalog& catalog;
  const CollectorConfig& config;
  std::function<std::int64_t()> now; // Unix time
  // Kept up to date one mirror at a time, shared by every reader (listing_index.h).
  ListingIndex index{store, catalog, config.stale_after_s, config.spot.enabled};
  // Per-mirror report rate limit: a token bucket (report_rate.per_hour, report_rate.burst)
  // per mirror name; a stored report takes a token, a duplicate none.
  struct Bucket {
    double tokens = 0;
    std::int64_t at = 0;
    bool started = false;
  };
  std::mutex rate_mutex{};
  std::map<std::string, Bucket> rate{};
  std::atomic<std::uint64_t> reports_stored{0};
  std::atomic<std::uint64_t> reports_duplicate{0};
  std::atomic<std::uint64_t> reports_refused{0};
  LiveTorrents live{};        // GET /torrents/<file> (live_torrents.h)
  RankCache ranks{};          // the url-list order (url_policy.h)
  EventLog* events = nullptr; // GET /api/v1/mirrors/<name>/events (events.h); null: 404
};

// The url-list published for a catalog key now (url_policy.h; config `publish`).
std::vector<std::string> published_webseeds(ApiContext& context, const std::string& key);

HttpResponse handle_request(ApiContext& context, const HttpRequest& request);

// The answer to give from a request's headers alone, before its body is read (http_server.h
// HeadCheck): 401 for a POST /api/v1/reports without a valid token; nullopt otherwise.
std::optional<HttpResponse> check_request_head(ApiContext& context, const HttpRequest& head);

} // namespace collector
