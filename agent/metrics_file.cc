#include "metrics_file.h"

#include "util/atomic_file.h"

#include <array>
#include <cstdio>

namespace agent {

namespace {

void family(std::string& out, const char* name, const char* type, const char* help)
{
  out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

std::string number(double v)
{
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  return buf;
}

} // namespace

std::string render_metrics(const RunMetrics& m)
{
  std::string out;
  family(out, "webseed_agent_torrents", "gauge", "Torrents judged by the last run, by state.");
  out += "webseed_agent_torrents{state=\"ready\"} " + std::to_string(m.ready) + "\n";
  out +=
      "webseed_agent_torrents{state=\"not_ready\"} " + std::to_string(m.torrents - m.ready) + "\n";
  family(out, "webseed_agent_last_run_outcome", "gauge",
         "1 for the outcome of the last run (ready, not-ready, syncing, sync-failed, failed).");
  for (const char* o : {"ready", "not-ready", "syncing", "sync-failed", "failed"}) {
    out += std::string("webseed_agent_last_run_outcome{outcome=\"") + o + "\"} " +
           (m.outcome == o ? "1" : "0") + "\n";
  }
  family(out, "webseed_agent_findings", "gauge", "Findings of the last run, by code and severity.");
  for (const auto& [key, count] : m.findings) {
    out += "webseed_agent_findings{code=\"" + key.first + "\",severity=\"" + key.second + "\"} " +
           std::to_string(count) + "\n";
  }
  family(out, "webseed_agent_bytes_verified", "gauge", "Payload bytes hashed by the last run.");
  out += "webseed_agent_bytes_verified " + std::to_string(m.bytes_verified) + "\n";
  family(out, "webseed_agent_last_run_timestamp_seconds", "gauge",
         "When the last run finished (Unix time).");
  out += "webseed_agent_last_run_timestamp_seconds " + std::to_string(m.finished_at) + "\n";
  family(out, "webseed_agent_last_run_duration_seconds", "gauge", "How long the last run took.");
  out += "webseed_agent_last_run_duration_seconds " + number(m.duration_seconds) + "\n";
  family(out, "webseed_agent_report_delivery_failures_total", "counter",
         "Report deliveries that failed (network, TLS, HTTP errors).");
  out += "webseed_agent_report_delivery_failures_total " + std::to_string(m.report_failures_total) +
         "\n";
  family(out, "webseed_agent_reports_spooled", "gauge", "Reports waiting in the spool.");
  out += "webseed_agent_reports_spooled " + std::to_string(m.reports_spooled) + "\n";
  return out;
}

std::expected<void, std::string> write_metrics_file(const std::string& path, const RunMetrics& m)
{
  return util::write_file_atomic(path, render_metrics(m), 0644);
}

} // namespace agent
