#include "collector_config.h"

#include "config.h"
#include "util/read_file.h"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <set>

namespace collector {

namespace {

struct Error {
  std::string text;
};

class Reader {
public:
  explicit Reader(const std::string& source) : m_source(source) {}

  std::string where(const YAML::Node& n) const
  {
    const YAML::Mark m = n.Mark();
    return m.is_null() ? m_source + ": "
                       : m_source + ":" + std::to_string(m.line + 1) + ":" +
                             std::to_string(m.column + 1) + ": ";
  }

  void keys(const YAML::Node& map, const std::string& prefix, const std::set<std::string>& known)
  {
    if (!map.IsMap()) {
      throw Error{where(map) + (prefix.empty() ? "the top level" : "'" + prefix + "'") +
                  " must be a mapping of keys to values"};
    }
    std::set<std::string> seen;
    for (auto it = map.begin(); it != map.end(); ++it) {
      const YAML::Node k = it->first;
      const std::string key = k.IsScalar() ? k.Scalar() : std::string("?");
      const std::string full = prefix.empty() ? key : prefix + "." + key;
      if (!known.contains(key)) {
        throw Error{where(k) + "unknown key '" + full + "'"};
      }
      if (!seen.insert(key).second) {
        throw Error{where(k) + "duplicate key '" + full + "'"};
      }
    }
  }

  std::string text(const YAML::Node& n, const std::string& key) const
  {
    if (!n.IsScalar()) {
      throw Error{where(n) + "'" + key + "' must be a string"};
    }
    return n.Scalar();
  }

  std::string path(const YAML::Node& n, const std::string& key) const
  {
    std::string v = text(n, key);
    if (v.empty() || v.front() != '/') {
      throw Error{where(n) + "'" + key + "' must be an absolute path, not '" + v + "'"};
    }
    return v;
  }

  std::uint64_t number(const YAML::Node& n, const std::string& key, std::uint64_t min,
                       std::uint64_t max) const
  {
    const std::string v = text(n, key);
    std::uint64_t x = 0;
    const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
    if (ec != std::errc() || end != v.data() + v.size() || x < min || x > max) {
      throw Error{where(n) + "'" + key + "' must be a whole number from " + std::to_string(min) +
                  " to " + std::to_string(max) + ", not '" + v + "'"};
    }
    return x;
  }

  std::int64_t duration(const YAML::Node& n, const std::string& key) const
  {
    const std::string v = text(n, key);
    if (auto seconds = agent::parse_duration(v)) {
      return *seconds;
    }
    throw Error{where(n) + "'" + key +
                "' must be a positive duration like 3600, 90s, 30m, 12h or 7d, not '" + v + "'"};
  }

  bool boolean(const YAML::Node& n, const std::string& key) const
  {
    const std::string v = text(n, key);
    if (auto b = agent::parse_boolean(v)) {
      return *b;
    }
    throw Error{where(n) + "'" + key + "' must be true or false, not '" + v + "'"};
  }

private:
  const std::string& m_source;
};

} // namespace

std::expected<CollectorConfig, std::string> parse_collector_config(const std::string& text,
                                                                   const std::string& source)
{
  CollectorConfig c;
  c.source = source;
  Reader r(source);
  try {
    const YAML::Node doc = YAML::Load(text);
    if (doc.IsNull()) {
      throw Error{source + ":1:1: missing required key 'torrents'"};
    }
    r.keys(doc, "",
           {"listen", "tls", "database", "torrents", "torrents_rescan_every", "symlinks_dir", "max_body", "stale_after",
            "threads", "spot_check", "max_connections", "max_connections_per_address",
            "first_byte_timeout", "max_buffered_bytes", "database_group", "retention", "publish",
            "events", "report_rate"});
    for (auto it = doc.begin(); it != doc.end(); ++it) {
      const std::string key = it->first.Scalar();
      const YAML::Node v = it->second;
      if (key == "listen") {
        c.listen = r.text(v, key);
        if (c.listen.rfind(':') == std::string::npos) {
          throw Error{r.where(v) + "'listen' must be ADDRESS:PORT, not '" + c.listen + "'"};
        }
      } else if (key == "tls") {
        r.keys(v, "tls", {"cert", "key"});
        if (!v["cert"] || !v["key"]) {
          throw Error{r.where(v) + "'tls' needs both 'cert' and 'key'"};
        }
        c.tls_cert = r.path(v["cert"], "tls.cert");
        c.tls_key = r.path(v["key"], "tls.key");
      } else if (key == "database") {
        c.database = r.path(v, key);
      } else if (key == "torrents") {
        c.torrents = r.path(v, key);
      } else if (key == "torrents_rescan_every") {
        c.torrents_rescan_every_s = r.duration(v, key);
      } else if (key == "symlinks_dir") {
        c.symlinks_dir = r.text(v, key);
      } else if (key == "max_body") {
        c.max_body = r.number(v, key, 1024, 1u << 30);
      } else if (key == "stale_after") {
        c.stale_after_s = r.duration(v, key);
      } else if (key == "threads") {
        c.threads = static_cast<unsigned>(r.number(v, key, 1, 64));
      } else if (key == "max_connections") {
        c.max_connections = r.number(v, key, 1, 1'000'000);
      } else if (key == "max_connections_per_address") {
        c.max_connections_per_address = r.number(v, key, 1, 1'000'000);
      } else if (key == "first_byte_timeout") {
        c.first_byte_timeout_s = r.duration(v, key);
      } else if (key == "max_buffered_bytes") {
        c.max_buffered_bytes = r.number(v, key, 1024, std::uint64_t{1} << 40);
      } else if (key == "report_rate") {
        r.keys(v, "report_rate", {"per_hour", "burst"});
        if (v["per_hour"]) {
          c.report_per_hour = r.number(v["per_hour"], "report_rate.per_hour", 1, 1'000'000);
        }
        if (v["burst"]) {
          c.report_burst = r.number(v["burst"], "report_rate.burst", 1, 1'000'000);
        }
      } else if (key == "retention") {
        r.keys(v, "retention", {"reports"});
        if (v["reports"]) {
          c.retention_reports_s = r.duration(v["reports"], "retention.reports");
        }
      } else if (key == "publish") {
        r.keys(v, "publish", {"max_webseeds", "fallback_webseeds", "trackers"});
        if (v["max_webseeds"]) {
          c.publish.max_webseeds = r.number(v["max_webseeds"], "publish.max_webseeds", 1, 10000);
        }
        for (const char* list : {"fallback_webseeds", "trackers"}) {
          const std::string full = std::string("publish.") + list;
          if (!v[list]) {
            continue;
          }
          if (!v[list].IsSequence()) {
            throw Error{r.where(v[list]) + "'" + full + "' must be a list of URLs"};
          }
          for (const YAML::Node& u : v[list]) {
            const std::string url = r.text(u, full);
            const bool web = url.starts_with("http://") || url.starts_with("https://");
            if (!web && !(std::string_view(list) == "trackers" && url.starts_with("udp://"))) {
              throw Error{r.where(u) + "'" + full + "' entries must be http(s)" +
                          (std::string_view(list) == "trackers" ? " or udp" : "") + " URLs, not '" +
                          url + "'"};
            }
            (std::string_view(list) == "trackers" ? c.publish.trackers
                                                  : c.publish.fallback_webseeds)
                .push_back(url);
          }
        }
      } else if (key == "events") {
        r.keys(v, "events", {"retention", "on_mirror_change", "hook_timeout"});
        if (v["retention"]) {
          c.events.retention_s = r.duration(v["retention"], "events.retention");
        }
        if (v["hook_timeout"]) {
          c.events.hook_timeout_s = r.duration(v["hook_timeout"], "events.hook_timeout");
        }
        if (const YAML::Node argv = v["on_mirror_change"]) {
          if (!argv.IsSequence() || argv.size() == 0) {
            throw Error{r.where(argv) + "'events.on_mirror_change' must be a list: the command "
                                        "and its arguments (no shell)"};
          }
          for (const YAML::Node& a : argv) {
            c.events.on_mirror_change.push_back(r.text(a, "events.on_mirror_change"));
          }
          if (c.events.on_mirror_change.front().front() != '/') {
            throw Error{r.where(argv) +
                        "'events.on_mirror_change' must start with an absolute "
                        "path, not '" +
                        c.events.on_mirror_change.front() + "'"};
          }
        }
      } else if (key == "database_group") {
        c.database_group = r.text(v, key);
      } else if (key == "spot_check") {
        r.keys(v, "spot_check",
               {"enabled", "pieces", "max_piece_bytes", "interval", "request_timeout",
                "max_checks_per_round", "round_every", "ca_file", "allow_private", "network_quorum",
                "canary_url", "max_concurrent_mirrors", "mirror_deadline", "retry_failed_after",
                "bytes_per_hour"});
        for (auto s = v.begin(); s != v.end(); ++s) {
          const std::string k = s->first.Scalar();
          const std::string full = "spot_check." + k;
          const YAML::Node x = s->second;
          if (k == "enabled") {
            c.spot.enabled = r.boolean(x, full);
          } else if (k == "pieces") {
            c.spot.pieces = r.number(x, full, 1, 64);
          } else if (k == "max_piece_bytes") {
            c.spot.max_piece_bytes = r.number(x, full, 16384, 1u << 30);
          } else if (k == "interval") {
            c.spot.interval_s = r.duration(x, full);
          } else if (k == "request_timeout") {
            c.spot.request_timeout_s = r.duration(x, full);
          } else if (k == "max_checks_per_round") {
            c.spot.max_checks_per_round = r.number(x, full, 1, 1'000'000);
          } else if (k == "round_every") {
            c.spot.round_every_s = r.duration(x, full);
          } else if (k == "ca_file") {
            c.spot.ca_file = r.path(x, full);
          } else if (k == "allow_private") {
            c.spot.allow_private = r.boolean(x, full);
          } else if (k == "max_concurrent_mirrors") {
            c.spot.max_concurrent_mirrors = r.number(x, full, 1, 256);
          } else if (k == "mirror_deadline") {
            c.spot.mirror_deadline_s = r.duration(x, full);
          } else if (k == "retry_failed_after") {
            c.spot.retry_failed_after_s = r.duration(x, full);
          } else if (k == "bytes_per_hour") {
            c.spot.bytes_per_hour = r.number(x, full, 0, std::uint64_t{1} << 50);
          } else if (k == "network_quorum") {
            c.spot.network_quorum = r.number(x, full, 1, 1'000'000);
          } else if (k == "canary_url") {
            c.spot.canary_url = r.text(x, full);
            if (!c.spot.canary_url.starts_with("http://") &&
                !c.spot.canary_url.starts_with("https://")) {
              throw Error{r.where(x) + "'" + full + "' must start with http:// or https://, not '" +
                          c.spot.canary_url + "'"};
            }
          }
        }
      }
    }
    if (c.torrents.empty()) {
      throw Error{source + ": missing required key 'torrents'"};
    }
  } catch (const Error& e) {
    return std::unexpected(e.text);
  } catch (const YAML::Exception& e) {
    return std::unexpected(source + ":" + std::to_string(e.mark.line + 1) + ":" +
                           std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
  return c;
}

std::expected<CollectorConfig, std::string> load_collector_config(const std::string& path)
{
  auto text = util::read_small_file(path, 1 << 20);
  if (!text) {
    return std::unexpected(text.error());
  }
  return parse_collector_config(*text, path);
}

} // namespace collector
