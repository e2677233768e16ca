// live_torrents.h: the torrents and magnets the collector publishes with the url-list as it
// stands now (issue 16 item 3):
//   GET /torrents/<file>.torrent             the catalog's torrent <file>, url-list spliced in
//                                            (seed_torrents.h: info bytes untouched), with a
//                                            strong ETag (of the body), Last-Modified (when
//                                            this body was first served) and 304 on a matching
//                                            If-None-Match; Cache-Control: no-cache
//   GET /api/v1/torrents/<info-hash>/magnet  {"info_hash","name","magnet"}; ?redirect=true:
//                                            302 to the magnet URI itself
#pragma once

#include "catalog.h"
#include "http_server.h"

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace collector {

// The url-list to publish for a catalog key.
using WebseedsFor = std::function<std::vector<std::string>(const std::string& key)>;

class LiveTorrents {
public:
  // The answer to GET /torrents/<file> (`file` percent-decoded): 404 when no catalog torrent
  // has that file name (only names, never paths: nothing outside the catalog is read).
  HttpResponse get(const Catalog& catalog, const std::string& file, const WebseedsFor& webseeds,
                   const HttpRequest& request, std::int64_t now);

private:
  std::mutex m_mutex;
  std::map<std::string, const CatalogEntry*> m_by_file; // built on first use
  bool m_indexed = false;
  // Per file: the ETag last served and since when (Last-Modified).
  std::map<std::string, std::pair<std::string, std::int64_t>> m_served;
};

// magnet:?xt=urn:btih:V1HEX[&xt=urn:btmh:1220V2HEX]&dn=NAME[&tr=URL]...[&ws=URL]...
// (v2-only torrents: only the btmh); every value percent-encoded (RFC 3986 unreserved kept).
std::string magnet_uri(const CatalogEntry& entry, const std::vector<std::string>& webseeds,
                       const std::vector<std::string>& trackers);

// The answer to GET /api/v1/torrents/<info-hash>/magnet for a known entry.
HttpResponse magnet_response(const CatalogEntry& entry, const std::vector<std::string>& webseeds,
                             const std::vector<std::string>& trackers, bool redirect);

// "Tue, 01 Dec 2026 05:00:00 GMT"
std::string http_date(std::int64_t unix_time);

// Whether an If-None-Match header value matches `etag` ("*", or a list with it, W/ ignored).
bool etag_matches(const std::string& if_none_match, const std::string& etag);

} // namespace collector
