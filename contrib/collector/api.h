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
#include <memory>
#include <mutex>
#include <optional>

namespace collector {

// One loaded catalog and what is derived from it (its listing index, its live torrents),
// replaced as a whole when `serve` reloads the catalog (SIGHUP, or the torrents directory
// changed: config `torrents_rescan_every`). A request works on the view it began with.
struct CatalogView {
  CatalogView(Store& store, std::shared_ptr<const Catalog> loaded, const CollectorConfig& config,
              std::string fingerprint);
  const std::shared_ptr<const Catalog> catalog;
  const std::string fingerprint; // Catalog::fingerprint when loaded; "" unknown
  // Kept up to date one mirror at a time, shared by every reader (listing_index.h).
  ListingIndex index;
  LiveTorrents live{}; // GET /torrents/<file> (live_torrents.h)
};

class ApiContext {
public:
  ApiContext(Store& store, const CollectorConfig& config, std::function<std::int64_t()> now,
             std::shared_ptr<const Catalog> catalog, std::string fingerprint = {});

  // The current catalog view (shared: it lives as long as a request holds it).
  std::shared_ptr<CatalogView> view() const;
  // Publishes a newly loaded catalog. Requests that began keep their view; the old index is
  // retired (no longer refreshed) so that every later change reaches the new one.
  void replace_catalog(std::shared_ptr<const Catalog> catalog, std::string fingerprint);

  Store& store;
  const CollectorConfig& config;
  std::function<std::int64_t()> now; // Unix time
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
  RankCache ranks{};          // the url-list order (url_policy.h)
  EventLog* events = nullptr; // GET /api/v1/mirrors/<name>/events (events.h); null: 404

private:
  mutable std::mutex m_view_mutex;
  std::shared_ptr<CatalogView> m_view;
};

// The url-list published for a catalog key now (url_policy.h; config `publish`).
std::vector<std::string> published_webseeds(ApiContext& context, const std::string& key);

HttpResponse handle_request(ApiContext& context, const HttpRequest& request);

// The answer to give from a request's headers alone, before its body is read (http_server.h
// HeadCheck): 401 for a POST /api/v1/reports without a valid token; nullopt otherwise.
std::optional<HttpResponse> check_request_head(ApiContext& context, const HttpRequest& head);

} // namespace collector
