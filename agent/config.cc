#include "config.h"

#include "util/read_file.h"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <functional>
#include <map>
#include <set>

namespace agent {

namespace {

constexpr std::size_t k_max_config_size = 1 << 20;

class ConfigError {
public:
  std::string text;
};

class Parser {
public:
  explicit Parser(const std::string& source) : m_source(source) {}

  Config parse(std::string_view text)
  {
    YAML::Node doc;
    try {
      doc = YAML::Load(std::string(text));
    } catch (const YAML::Exception& e) {
      throw ConfigError{where(e.mark) + e.msg};
    }
    Config config;
    config.source = m_source;
    if (doc.IsNull()) {
      throw ConfigError{m_source + ":1:1: missing required key 'mirror'"};
    }
    expect_map(doc, "the top level");
    const auto seen =
        check_keys(doc, "",
                   {"mirror", "symlinks_dir", "torrents", "state_dir", "torrent_max_size", "verify",
                    "probe", "run", "report", "hooks", "metrics_file"});
    require(doc, seen, "", "mirror");
    for (const auto& [key, value] : seen) {
      m_key_mark = value.first;
      if (key == "mirror") {
        parse_mirror(value.second, config.mirror);
      } else if (key == "symlinks_dir") {
        config.symlinks_dir = string_value(value.second, key);
        if (auto ok = check_symlinks_dir(config.symlinks_dir); !ok) {
          throw ConfigError{where(value.second.Mark()) + "'symlinks_dir' " + ok.error()};
        }
      } else if (key == "torrents") {
        config.torrents = path_list(value.second, key);
      } else if (key == "state_dir") {
        config.state_dir = absolute_path(value.second, key);
      } else if (key == "torrent_max_size") {
        config.torrent_max_size = positive_integer(value.second, key);
      } else if (key == "verify") {
        parse_verify(value.second, config);
      } else if (key == "probe") {
        parse_probe(value.second, config.probe);
      } else if (key == "run") {
        parse_run(value.second, config);
      } else if (key == "report") {
        parse_report(value.second, config.report);
      } else if (key == "hooks") {
        parse_hooks(value.second, config.hooks);
      } else if (key == "metrics_file") {
        config.metrics_file = absolute_path(value.second, key);
      }
    }
    if (!config.report.endpoint.empty()) {
      const std::string& e = config.report.endpoint;
      if (config.report.token_file.empty()) {
        throw ConfigError{where(m_report_mark) + "'report.endpoint' needs 'report.token_file'"};
      }
      if (e.starts_with("http://") && !config.report.allow_insecure_http) {
        throw ConfigError{where(m_report_mark) +
                          "'report.endpoint' must be an https:// URL (plain http:// only with "
                          "'report.allow_insecure_http: true', for local testing)"};
      }
      if (config.mirror.base_url.empty()) {
        throw ConfigError{where(m_report_mark) +
                          "'report.endpoint' needs 'mirror.base_url' (the URL reported)"};
      }
    }
    if (config.report.client_cert.empty() != config.report.client_key.empty()) {
      throw ConfigError{where(m_report_mark) +
                        "'report.client_cert' and 'report.client_key' go together"};
    }
    return config;
  }

private:
  using Seen = std::map<std::string, std::pair<YAML::Mark, YAML::Node>>;

  std::string where(const YAML::Mark& mark) const
  {
    if (mark.is_null()) {
      return m_source + ": ";
    }
    return m_source + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1) +
           ": ";
  }

  void expect_map(const YAML::Node& node, const std::string& what) const
  {
    if (!node.IsMap()) {
      throw ConfigError{where(node.Mark()) + what + " must be a mapping of keys to values"};
    }
  }

  static std::string dotted(const std::string& prefix, const std::string& key)
  {
    return prefix.empty() ? key : prefix + "." + key;
  }

  Seen check_keys(const YAML::Node& map, const std::string& prefix,
                  const std::set<std::string>& known) const
  {
    Seen seen;
    for (auto it = map.begin(); it != map.end(); ++it) {
      const YAML::Node key_node = it->first; // a copy: *it is a temporary
      if (!key_node.IsScalar()) {
        throw ConfigError{where(key_node.Mark()) + "keys must be plain names"};
      }
      const std::string key = key_node.Scalar();
      if (!known.contains(key)) {
        std::string list;
        for (const auto& k : known) {
          list += (list.empty() ? "" : ", ") + k;
        }
        throw ConfigError{where(key_node.Mark()) + "unknown key '" + dotted(prefix, key) +
                          "' (known here: " + list + ")"};
      }
      if (!seen.emplace(key, std::pair(key_node.Mark(), it->second)).second) {
        throw ConfigError{where(key_node.Mark()) + "duplicate key '" + dotted(prefix, key) + "'"};
      }
    }
    return seen;
  }

  void require(const YAML::Node& map, const Seen& seen, const std::string& prefix,
               const std::string& key) const
  {
    if (!seen.contains(key)) {
      throw ConfigError{where(map.Mark()) + "missing required key '" + dotted(prefix, key) + "'"};
    }
  }

  // A null value has no useful mark of its own: errors about it point at its key.
  std::string string_value(const YAML::Node& node, const std::string& key) const
  {
    if (node.IsNull()) {
      throw ConfigError{where(m_key_mark) + "'" + key + "' has no value"};
    }
    if (!node.IsScalar()) {
      throw ConfigError{where(node.Mark()) + "'" + key + "' must be a string, not a " +
                        (node.IsSequence() ? "list" : "mapping")};
    }
    return node.Scalar();
  }

  std::uint64_t positive_integer(const YAML::Node& node, const std::string& key) const
  {
    const std::string value = string_value(node, key);
    std::uint64_t n = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (ec != std::errc() || end != value.data() + value.size() || n == 0) {
      throw ConfigError{where(node.Mark()) + "'" + key +
                        "' must be a positive whole number, not '" + value + "'"};
    }
    return n;
  }

  std::uint64_t bounded_integer(const YAML::Node& node, const std::string& key, std::uint64_t min,
                                std::uint64_t max) const
  {
    const std::string value = string_value(node, key);
    std::uint64_t n = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (ec != std::errc() || end != value.data() + value.size() || n < min || n > max) {
      throw ConfigError{where(node.Mark()) + "'" + key + "' must be a whole number from " +
                        std::to_string(min) + " to " + std::to_string(max) + ", not '" + value +
                        "'"};
    }
    return n;
  }

  std::string absolute_path(const YAML::Node& node, const std::string& key) const
  {
    std::string value = string_value(node, key);
    if (value.empty() || value.front() != '/') {
      throw ConfigError{where(node.Mark()) + "'" + key + "' must be an absolute path, not '" +
                        value + "'"};
    }
    return value;
  }

  std::vector<std::string> path_list(const YAML::Node& node, const std::string& key) const
  {
    if (node.IsNull()) {
      return {};
    }
    if (!node.IsSequence()) {
      throw ConfigError{where(node.Mark()) + "'" + key +
                        "' must be a list of paths (one '- /path' per line)"};
    }
    std::vector<std::string> out;
    for (const YAML::Node& item : node) {
      out.push_back(absolute_path(item, key + "[]"));
    }
    return out;
  }

  void parse_verify(const YAML::Node& node, Config& config)
  {
    if (node.IsNull()) {
      return;
    }
    expect_map(node, "'verify'");
    const auto seen = check_keys(node, "verify", {"rescan_after", "jobs", "nice", "io_class"});
    for (const auto& [key, value] : seen) {
      m_key_mark = value.first;
      if (key == "rescan_after") {
        config.rescan_after_s = duration(value.second, "verify.rescan_after");
      } else if (key == "jobs") {
        config.jobs = static_cast<unsigned>(bounded_integer(value.second, "verify.jobs", 0, 1024));
      } else if (key == "nice") {
        config.priority.nice =
            static_cast<int>(bounded_integer(value.second, "verify.nice", 0, 19));
      } else if (key == "io_class") {
        auto io = parse_io_class(string_value(value.second, "verify.io_class"));
        if (!io) {
          throw ConfigError{where(value.second.Mark()) + "'verify.io_class' " + io.error()};
        }
        config.priority.io = *io;
      }
    }
  }

  void parse_probe(const YAML::Node& node, ProbeConfig& probe)
  {
    if (node.IsNull()) {
      return;
    }
    expect_map(node, "'probe'");
    const auto seen = check_keys(node, "probe",
                                 {"sample", "max_bytes_per_torrent", "max_bytes_per_run",
                                  "request_timeout", "timeout", "connections_per_host", "ca_file"});
    for (const auto& [key, value] : seen) {
      m_key_mark = value.first;
      const std::string full = "probe." + key;
      if (key == "sample") {
        probe.sample = bounded_integer(value.second, full, 0, 1'000'000);
      } else if (key == "max_bytes_per_torrent") {
        probe.max_bytes_per_torrent = bounded_integer(value.second, full, 1024, 1u << 30);
      } else if (key == "max_bytes_per_run") {
        probe.max_bytes_per_run = bounded_integer(value.second, full, 1024, 1ull << 40);
      } else if (key == "request_timeout") {
        probe.request_timeout_s = duration(value.second, full);
      } else if (key == "timeout") {
        probe.timeout_s = duration(value.second, full);
      } else if (key == "connections_per_host") {
        probe.connections_per_host = bounded_integer(value.second, full, 1, 16);
      } else if (key == "ca_file") {
        probe.ca_file = absolute_path(value.second, full);
      }
    }
  }

  void parse_run(const YAML::Node& node, Config& config)
  {
    if (node.IsNull()) {
      return;
    }
    expect_map(node, "'run'");
    const auto seen = check_keys(node, "run", {"timeout"});
    for (const auto& [key, value] : seen) {
      m_key_mark = value.first;
      config.run_timeout_s = duration(value.second, "run." + key);
    }
  }

  bool boolean(const YAML::Node& node, const std::string& key) const
  {
    const std::string value = string_value(node, key);
    if (auto b = parse_boolean(value)) {
      return *b;
    }
    throw ConfigError{where(node.Mark()) + "'" + key + "' must be true or false, not '" + value +
                      "'"};
  }

  void parse_report(const YAML::Node& node, ReportConfig& report)
  {
    m_report_mark = m_key_mark;
    if (node.IsNull()) {
      return;
    }
    expect_map(node, "'report'");
    const auto seen =
        check_keys(node, "report",
                   {"endpoint", "allow_insecure_http", "token_file", "ca_file", "client_cert",
                    "client_key", "timeout", "spool_dir", "spool_max"});
    for (const auto& [key, value] : seen) {
      m_key_mark = value.first;
      const std::string full = "report." + key;
      if (key == "endpoint") {
        report.endpoint = string_value(value.second, full);
        if (!report.endpoint.starts_with("https://") && !report.endpoint.starts_with("http://")) {
          throw ConfigError{where(value.second.Mark()) + "'" + full +
                            "' must be an https:// URL, not '" + report.endpoint + "'"};
        }
      } else if (key == "allow_insecure_http") {
        report.allow_insecure_http = boolean(value.second, full);
      } else if (key == "token_file") {
        report.token_file = absolute_path(value.second, full);
      } else if (key == "ca_file") {
        report.ca_file = absolute_path(value.second, full);
      } else if (key == "client_cert") {
        report.client_cert = absolute_path(value.second, full);
      } else if (key == "client_key") {
        report.client_key = absolute_path(value.second, full);
      } else if (key == "timeout") {
        report.timeout_s = duration(value.second, full);
      } else if (key == "spool_dir") {
        report.spool_dir = absolute_path(value.second, full);
      } else if (key == "spool_max") {
        report.spool_max = bounded_integer(value.second, full, 1, 100'000);
      }
    }
  }

  std::vector<std::string> argv_list(const YAML::Node& node, const std::string& key) const
  {
    if (node.IsNull()) {
      return {};
    }
    if (!node.IsSequence() || node.size() == 0) {
      throw ConfigError{where(node.Mark()) + "'" + key +
                        "' must be a command as a list: [/path/to/program, arg, ...]"};
    }
    std::vector<std::string> out;
    for (const YAML::Node& item : node) {
      out.push_back(string_value(item, key + "[]"));
    }
    if (out.front().empty() || out.front().front() != '/') {
      throw ConfigError{where(node.Mark()) + "'" + key +
                        "' must start with an absolute program path, not '" + out.front() + "'"};
    }
    return out;
  }

  void parse_hooks(const YAML::Node& node, HooksConfig& hooks)
  {
    if (node.IsNull()) {
      return;
    }
    expect_map(node, "'hooks'");
    const auto seen = check_keys(node, "hooks", {"on_ready", "on_problem", "timeout"});
    for (const auto& [key, value] : seen) {
      m_key_mark = value.first;
      const std::string full = "hooks." + key;
      if (key == "on_ready") {
        hooks.on_ready = argv_list(value.second, full);
      } else if (key == "on_problem") {
        hooks.on_problem = argv_list(value.second, full);
      } else if (key == "timeout") {
        hooks.timeout_s = duration(value.second, full);
      }
    }
  }

  // "3600", "90s", "30m", "12h", "7d": seconds.
  std::int64_t duration(const YAML::Node& node, const std::string& key) const
  {
    const std::string value = string_value(node, key);
    if (auto seconds = parse_duration(value)) {
      return *seconds;
    }
    throw ConfigError{where(node.Mark()) + "'" + key +
                      "' must be a positive duration like 3600, 90s, 30m, 12h or 7d, not '" +
                      value + "'"};
  }

  void parse_mirror(const YAML::Node& node, MirrorConfig& mirror)
  {
    if (node.IsNull()) {
      throw ConfigError{where(m_key_mark) + "'mirror' has no value (needs name and root)"};
    }
    expect_map(node, "'mirror'");
    const auto seen = check_keys(node, "mirror", {"name", "root", "base_url", "timestamp_file"});
    require(node, seen, "mirror", "name");
    require(node, seen, "mirror", "root");
    for (const auto& [key, value] : seen) {
      m_key_mark = value.first;
      const std::string full = dotted("mirror", key);
      if (key == "name") {
        mirror.name = string_value(value.second, full);
        if (mirror.name.empty()) {
          throw ConfigError{where(value.second.Mark()) + "'" + full + "' must not be empty"};
        }
      } else if (key == "root") {
        mirror.root = absolute_path(value.second, full);
      } else if (key == "base_url") {
        mirror.base_url = string_value(value.second, full);
        if (!mirror.base_url.starts_with("http://") && !mirror.base_url.starts_with("https://")) {
          throw ConfigError{where(value.second.Mark()) + "'" + full +
                            "' must start with http:// or https://"};
        }
      } else if (key == "timestamp_file") {
        mirror.timestamp_file = string_value(value.second, full);
        if (auto ok = check_symlinks_dir(mirror.timestamp_file); !ok) {
          throw ConfigError{where(value.second.Mark()) + "'" + full + "' " + ok.error()};
        }
      }
    }
  }

  const std::string& m_source;
  YAML::Mark m_key_mark = YAML::Mark::null_mark();    // the key whose value is being read
  YAML::Mark m_report_mark = YAML::Mark::null_mark(); // the 'report' key
};

} // namespace

std::optional<std::int64_t> parse_duration(std::string_view text)
{
  std::int64_t n = 0;
  // cppcheck-suppress invalidLifetime ; `text` is the caller's, alive for this call
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  const std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
  const std::int64_t scale = unit.empty() || unit == "s" ? 1
                             : unit == "m"               ? 60
                             : unit == "h"               ? 3600
                             : unit == "d"               ? 86400
                                                         : 0;
  if (ec != std::errc() || n <= 0 || scale == 0 || n > INT64_MAX / scale) {
    return std::nullopt;
  }
  return n * scale;
}

std::optional<bool> parse_boolean(std::string_view text)
{
  if (text == "true" || text == "yes") {
    return true;
  }
  if (text == "false" || text == "no") {
    return false;
  }
  return std::nullopt;
}

std::expected<void, std::string> check_symlinks_dir(std::string_view value)
{
  if (value.empty()) {
    return std::unexpected("must not be empty");
  }
  if (value.front() == '/') {
    return std::unexpected("must be relative to the mirror root, not '" + std::string(value) + "'");
  }
  std::size_t pos = 0;
  while (pos <= value.size()) {
    const std::size_t slash = value.find('/', pos);
    const std::size_t end = slash == std::string_view::npos ? value.size() : slash;
    if (value.substr(pos, end - pos) == "..") {
      return std::unexpected("must stay inside the mirror root (no '..'), not '" +
                             std::string(value) + "'");
    }
    if (slash == std::string_view::npos) {
      break;
    }
    pos = slash + 1;
  }
  return {};
}

std::expected<Config, std::string> parse_config(std::string_view text, const std::string& source)
{
  try {
    return Parser(source).parse(text);
  } catch (const ConfigError& e) {
    return std::unexpected(e.text);
  } catch (const YAML::Exception& e) {
    return std::unexpected(source + ": " + e.what());
  }
}

std::expected<Config, std::string> load_config_file(const std::string& path)
{
  auto text = util::read_small_file(path, k_max_config_size);
  if (!text) {
    return std::unexpected(text.error());
  }
  return parse_config(*text, path);
}

} // namespace agent
