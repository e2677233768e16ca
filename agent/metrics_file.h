// metrics_file.h: the last run as Prometheus metrics, for node_exporter's textfile collector
// (config metrics_file, e.g. /var/lib/prometheus/node-exporter/webseed_agent.prom), written
// atomically so the collector never reads half a file. Metric names are a public interface
// (docs/metrics.md): add, never rename.
#pragma once

#include <cstdint>
#include <expected>
#include <map>
#include <string>

namespace agent {

struct RunMetrics {
  std::string outcome; // ready | not-ready | syncing | sync-failed | failed
  std::uint64_t torrents = 0;
  std::uint64_t ready = 0;
  std::map<std::pair<std::string, std::string>, std::uint64_t> findings; // (code, severity)
  std::uint64_t bytes_verified = 0;
  std::int64_t finished_at = 0; // Unix time
  double duration_seconds = 0;
  std::uint64_t report_failures_total = 0; // deliveries that failed, since the state began
  std::uint64_t reports_spooled = 0;       // waiting in the spool now
};

// The text (exposition format 0.0.4).
std::string render_metrics(const RunMetrics& m);

// Writes render_metrics(m) to `path` atomically (mode 0644). Error: "PATH: <why>".
std::expected<void, std::string> write_metrics_file(const std::string& path, const RunMetrics& m);

} // namespace agent
