// api.h: the collector's HTTP interface (contrib/collector/README.md):
//   POST /api/v1/reports                     a mirror's report (Bearer token -> mirror)
//   GET  /api/v1/torrents/<info-hash>/webseeds  the web-seed URLs to list for a torrent
//   GET  /api/v1/mirrors                     every mirror's status, as JSON
//   GET  /metrics                            Prometheus text format
//   GET  /                                   the HTML dashboard (mirrors x torrents)
// Answers are JSON {"error": "..."} on failure: 400 malformed or invalid report (the reason),
// 401 unknown or disabled token (answered from the headers, before the body is read), 404, 405, 413 (the server), 415 not JSON.
#pragma once

#include "catalog.h"
#include "collector_config.h"
#include "http_server.h"
#include "listing_cache.h"
#include "store.h"

#include <atomic>
#include <functional>
#include <optional>

namespace collector {

struct ApiContext {
  Store& store;
  const Catalog& catalog;
  const CollectorConfig& config;
  std::function<std::int64_t()> now; // Unix time
  ListingCache listing{};            // shared by every reader (listing_cache.h)
  std::atomic<std::uint64_t> reports_stored{0};
  std::atomic<std::uint64_t> reports_duplicate{0};
  std::atomic<std::uint64_t> reports_refused{0};
};

HttpResponse handle_request(ApiContext& context, const HttpRequest& request);

// The answer to give from a request's headers alone, before its body is read (http_server.h
// HeadCheck): 401 for a POST /api/v1/reports without a valid token; nullopt otherwise.
std::optional<HttpResponse> check_request_head(ApiContext& context, const HttpRequest& head);

} // namespace collector
