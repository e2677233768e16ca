// collector_config.h: the collector's YAML configuration (sample: contrib/collector/
// collector.yaml; keys: contrib/collector/README.md). Strict like the agent's: unknown keys
// and bad values are errors naming "FILE:LINE:COLUMN". Keys are a public interface.
#pragma once

#include <cstdint>
#include <expected>
#include <string>
#include <vector>

namespace collector {

struct CollectorConfig {
  std::string source;
  std::string listen = "127.0.0.1:8443"; // ADDRESS:PORT (port 0: any free one)
  std::string tls_cert;                  // PEM; with tls_key: serve HTTPS itself
  std::string tls_key;                   //   (else plain HTTP, behind nginx on loopback)
  std::string database = "/var/lib/webseed-collector/collector.sqlite";
  std::string torrents; // directory of the distribution's .torrent files
  std::int64_t torrents_rescan_every_s = 60; // serve reloads a changed `torrents` (and on HUP)
  std::string symlinks_dir = "experimental/torrent-symlinks"; // under each mirror's base URL
  std::uint64_t max_body = 4u << 20;                          // bytes of a report
  std::int64_t stale_after_s = 12 * 3600; // a mirror not judged within this drops out
  unsigned threads = 4;
  // Intake against hostile clients (http_server.h).
  std::uint64_t max_connections = 4096;
  std::uint64_t max_connections_per_address = 64;
  std::int64_t first_byte_timeout_s = 10; // TLS handshake and each request's headers
  std::uint64_t max_buffered_bytes = 64u << 20;
  std::string database_group;         // "": the database is 0600; else 0640 with this group
  std::uint64_t report_per_hour = 60; // per mirror (report_rate.per_hour), then 429
  std::uint64_t report_burst = 60;    // reports a mirror may send at once (report_rate.burst)
  std::int64_t retention_reports_s =
      14 * 86400; // report bodies kept (the latest per mirror always)
  // Spot checks: before listing a mirror for a torrent, fetch random whole pieces from it.
  struct {
    bool enabled = true;
    std::uint64_t pieces = 2;                  // per (mirror, torrent)
    std::uint64_t max_piece_bytes = 16u << 20; // pieces larger than this are not fetched
    std::int64_t interval_s = 3600; // each mirror re-checked (one sampled pair) this often
    std::int64_t request_timeout_s = 30;
    std::uint64_t max_checks_per_round = 200; // rate limit: (mirror, torrent) pairs per round
    std::int64_t round_every_s = 60;
    std::string ca_file; // for mirrors' https base URLs; "" = the system store
    // Connect to loopback, private, link-local, multicast... addresses (tests). Off: only the
    // registered base URL's own address and port, and public addresses.
    bool allow_private = false;
    std::uint64_t network_quorum = 3;         // distinct mirrors all failing in transport: discard
    std::uint64_t max_concurrent_mirrors = 8; // mirrors checked at once in a round
    std::int64_t mirror_deadline_s = 600;     // one mirror's share of a round
    std::int64_t retry_failed_after_s = 600;  // a failed pair is re-checked this soon
    std::string canary_url;           // a URL that must load when a round looks like our fault
    std::uint64_t bytes_per_hour = 0; // piece bytes fetched per hour at most; 0: no limit
  } spot;
  // What the live torrents and magnets publish (url_policy.h, live_torrents.h).
  struct {
    std::uint64_t max_webseeds = 32;            // url-list entries at most (fallbacks included)
    std::vector<std::string> fallback_webseeds; // always last (the origin, an archive host)
    std::vector<std::string> trackers;          // tr= of the magnets (after the torrent's own)
  } publish;
  // History (events.h).
  struct {
    std::int64_t retention_s = 90 * 86400;     // events older than this are deleted
    std::vector<std::string> on_mirror_change; // argv (argv[0] absolute); [] none
    std::int64_t hook_timeout_s = 30;
  } events;
};

// Error: "FILE:LINE:COLUMN: what".
std::expected<CollectorConfig, std::string> parse_collector_config(const std::string& text,
                                                                   const std::string& source);
std::expected<CollectorConfig, std::string> load_collector_config(const std::string& path);

} // namespace collector
