// config.h: the YAML configuration file (sample: conf/agent.yaml; keys: docs/config.md).
//
// Strict: unknown keys, duplicate keys, wrong types and missing required values are errors
// that name the place, e.g. "agent.yaml:12:3: unknown key 'mirror.nmae'". Config keys are a
// public interface: add keys, never rename or remove one.
#pragma once

#include "priority.h"

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace agent {

inline constexpr std::string_view k_default_config_path = "/etc/webseed-agent/agent.yaml";

struct MirrorConfig {
  std::string name;     // required in a file
  std::string root;     // required in a file; absolute
  std::string base_url; // optional; http:// or https://
  // Optional, relative to root: a file whose mtime (or leading Unix time, as in a mirmon
  // timestamp) says when the tree was last synced upstream; reported as the tree timestamp.
  std::string timestamp_file;
};

// probe.*: the web-seed probe's bounds (docs/config.md).
struct ProbeConfig {
  std::uint64_t sample = 0;                       // torrents probed per run; 0 = all
  std::uint64_t max_bytes_per_torrent = 4u << 20; // fetched per torrent
  std::uint64_t max_bytes_per_run = 64u << 20;    // fetched in all
  std::int64_t request_timeout_s = 20;
  std::int64_t timeout_s = 300; // the whole probe of a run
  std::uint64_t connections_per_host = 2;
  std::string ca_file; // absolute; "" = the system CA store
};

// report.*: where and how `run` sends readiness reports (docs/report.md). Nothing is sent
// unless `endpoint` is set.
struct ReportConfig {
  std::string endpoint;             // https:// (http:// only with allow_insecure_http); "" = off
  bool allow_insecure_http = false; // for local testing only
  std::string token_file;           // absolute; required with an endpoint; no group/other access
  std::string ca_file;              // absolute; "" = the system CA store
  std::string client_cert;          // absolute; optional mTLS (with client_key)
  std::string client_key;
  std::int64_t timeout_s = 30;   // per delivery attempt series (retries included)
  std::string spool_dir;         // absolute; "" = state_dir/spool
  std::uint64_t spool_max = 100; // reports kept for resending; the oldest are dropped
};

// hooks.*: admin commands `run` starts after each run (argv lists, never a shell).
struct HooksConfig {
  std::vector<std::string> on_ready;   // every torrent ready
  std::vector<std::string> on_problem; // anything else (not ready, sync failed, report failed)
  std::int64_t timeout_s = 60;
};

struct Config {
  std::string source; // the file it was read from; "" for the built-in defaults
  MirrorConfig mirror;
  std::string symlinks_dir = "experimental/torrent-symlinks"; // relative to mirror.root
  std::vector<std::string> torrents;           // .torrent files or directories; absolute
  std::string state_dir;                       // absolute; "" = the built-in default
  std::uint64_t torrent_max_size = 256u << 20; // bytes: larger .torrent files are refused
  std::int64_t rescan_after_s = 7 * 24 * 3600; // verify.rescan_after: re-hash anyway after this
  unsigned jobs = 0;                           // verify.jobs: hashing threads; 0 = one per core
  Priority priority;                           // verify.nice, verify.io_class (run, --low-priority)
  ProbeConfig probe;
  std::int64_t run_timeout_s = 2 * 3600; // run.timeout: the whole `run`, bounded
  ReportConfig report;
  HooksConfig hooks;
  std::string metrics_file; // absolute; "" = none (Prometheus textfile collector format)
};

// Parses configuration text. `source` names the text in error messages.
// Error: one line "SOURCE:LINE:COLUMN: what is wrong".
std::expected<Config, std::string> parse_config(std::string_view text, const std::string& source);

// Reads and parses the file at `path` (at most 1 MiB, a regular file).
// Error: one line naming the file (and line:column for content errors).
std::expected<Config, std::string> load_config_file(const std::string& path);

// A duration value: "3600", "90s", "30m", "12h" or "7d" -> seconds (positive, no overflow);
// nullopt otherwise. Shared with the collector's config.
std::optional<std::int64_t> parse_duration(std::string_view text);

// "true"/"yes" or "false"/"no"; nullopt otherwise.
std::optional<bool> parse_boolean(std::string_view text);

// Checks a symlinks dir value: relative, not empty, no ".." component.
// Returns an error text without location ("must be relative ...").
std::expected<void, std::string> check_symlinks_dir(std::string_view value);

} // namespace agent
