#include "config.h"

#include "test_support.h"

#include <catch2/catch.hpp>

#include <sys/stat.h>

namespace {

std::string error_of(const std::string& yaml)
{
  auto c = agent::parse_config(yaml, "agent.yaml");
  REQUIRE_FALSE(c);
  return c.error();
}

} // namespace

TEST_CASE("a complete config parses", "[config]")
{
  auto c = agent::parse_config(R"(mirror:
  name: mirror.example.org
  root: /srv/mirror/gentoo
  base_url: https://mirror.example.org/gentoo/
symlinks_dir: experimental/torrent-symlinks
torrents:
  - /srv/mirror/gentoo/releases/torrents
  - /var/lib/torrents/extra.torrent
state_dir: /var/lib/webseed-agent
)",
                               "agent.yaml");
  REQUIRE(c);
  CHECK(c->mirror.name == "mirror.example.org");
  CHECK(c->mirror.root == "/srv/mirror/gentoo");
  CHECK(c->mirror.base_url == "https://mirror.example.org/gentoo/");
  CHECK(c->torrents.size() == 2);
  CHECK(c->state_dir == "/var/lib/webseed-agent");
  CHECK(c->source == "agent.yaml");
}

TEST_CASE("defaults apply to optional keys", "[config]")
{
  auto c = agent::parse_config("mirror: {name: m, root: /srv/m}\n", "agent.yaml");
  REQUIRE(c);
  CHECK(c->symlinks_dir == "experimental/torrent-symlinks");
  CHECK(c->torrents.empty());
  CHECK(c->mirror.base_url.empty());
  CHECK(c->torrent_max_size == 256u << 20);
  CHECK(c->rescan_after_s == 7 * 24 * 3600);
  auto hours = agent::parse_config("mirror: {name: m, root: /srv/m}\nverify: {rescan_after: 12h}\n",
                                   "agent.yaml");
  REQUIRE(hours);
  CHECK(hours->rescan_after_s == 12 * 3600);
  auto sized = agent::parse_config("mirror: {name: m, root: /srv/m}\ntorrent_max_size: 1048576\n",
                                   "agent.yaml");
  REQUIRE(sized);
  CHECK(sized->torrent_max_size == 1048576);
  CHECK(c->jobs == 0);
  CHECK(c->priority.nice == 10);
  CHECK(c->priority.io == agent::IoClass::idle);
  auto gentle = agent::parse_config(
      "mirror: {name: m, root: /srv/m}\nverify: {jobs: 3, nice: 0, io_class: best-effort}\n",
      "agent.yaml");
  REQUIRE(gentle);
  CHECK(gentle->jobs == 3);
  CHECK(gentle->priority.nice == 0);
  CHECK(gentle->priority.io == agent::IoClass::best_effort);
  CHECK(c->probe.sample == 0);
  CHECK(c->probe.max_bytes_per_torrent == 4u << 20);
  CHECK(c->probe.request_timeout_s == 20);
  auto probe = agent::parse_config("mirror: {name: m, root: /srv/m}\nprobe: {sample: 5, "
                                   "request_timeout: 2s, timeout: 1m, connections_per_host: 4, "
                                   "ca_file: /etc/ca.pem, max_bytes_per_run: 1048576}\n",
                                   "agent.yaml");
  REQUIRE(probe);
  CHECK(probe->probe.sample == 5);
  CHECK(probe->probe.request_timeout_s == 2);
  CHECK(probe->probe.timeout_s == 60);
  CHECK(probe->probe.connections_per_host == 4);
  CHECK(probe->probe.ca_file == "/etc/ca.pem");
  CHECK(probe->probe.max_bytes_per_run == 1048576);
}

TEST_CASE("config errors name file:line:column and the key", "[config]")
{
  CHECK(error_of("mirror:\n  name: m\n  root: /srv/m\n  nmae: x\n") ==
        "agent.yaml:4:3: unknown key 'mirror.nmae' (known here: base_url, name, root, "
        "timestamp_file)");
  CHECK(error_of("mirror: {name: m, root: /srv/m}\njobz: 4\n") ==
        "agent.yaml:2:1: unknown key 'jobz' (known here: hooks, metrics_file, mirror, probe, "
        "report, run, state_dir, symlinks_dir, torrent_max_size, torrents, verify)");
  CHECK(error_of("mirror: {name: m, root: /srv/m}\ntorrents: 5\n") ==
        "agent.yaml:2:11: 'torrents' must be a list of paths (one '- /path' per line)");
  CHECK(error_of("mirror: {name: m, root: /srv/m}\ntorrents:\n  - relative/dir\n") ==
        "agent.yaml:3:5: 'torrents[]' must be an absolute path, not 'relative/dir'");
  CHECK(error_of("mirror:\n  name: m\n") == "agent.yaml:2:3: missing required key 'mirror.root'");
  CHECK(error_of("mirror:\n  name: m\n  root: srv\n") ==
        "agent.yaml:3:9: 'mirror.root' must be an absolute path, not 'srv'");
  CHECK(error_of("mirror:\n  name: m\n  root: /srv\n  base_url: ftp://x/\n") ==
        "agent.yaml:4:13: 'mirror.base_url' must start with http:// or https://");
  CHECK(error_of("mirror:\n  name: [a, b]\n  root: /srv\n") ==
        "agent.yaml:2:9: 'mirror.name' must be a string, not a list");
  CHECK(error_of("mirror:\n  name: m\n  root:\n") == "agent.yaml:3:3: 'mirror.root' has no value");
  CHECK(error_of("mirror: {name: m, root: /srv}\nsymlinks_dir: ../x\n") ==
        "agent.yaml:2:15: 'symlinks_dir' must stay inside the mirror root (no '..'), not '../x'");
  CHECK(error_of("mirror: {name: m, root: /srv}\nmirror: {name: n, root: /srv}\n") ==
        "agent.yaml:2:1: duplicate key 'mirror'");
  CHECK(error_of("mirror: {name: m, root: /srv}\ntorrent_max_size: 10MB\n") ==
        "agent.yaml:2:19: 'torrent_max_size' must be a positive whole number, not '10MB'");
  CHECK(error_of("mirror: {name: m, root: /srv}\nverify:\n  rescan_after: 7 days\n") ==
        "agent.yaml:3:17: 'verify.rescan_after' must be a positive duration like 3600, 90s, "
        "30m, 12h or 7d, not '7 days'");
  CHECK(error_of("mirror: {name: m, root: /srv}\nverify:\n  rescan: 1d\n") ==
        "agent.yaml:3:3: unknown key 'verify.rescan' (known here: io_class, jobs, nice, "
        "rescan_after)");
  CHECK(error_of("mirror: {name: m, root: /srv}\nprobe: {sample: -1}\n") ==
        "agent.yaml:2:17: 'probe.sample' must be a whole number from 0 to 1000000, not '-1'");
  CHECK(error_of("mirror: {name: m, root: /srv}\nprobe: {ca_file: ca.pem}\n") ==
        "agent.yaml:2:18: 'probe.ca_file' must be an absolute path, not 'ca.pem'");
  CHECK(error_of("mirror: {name: m, root: /srv}\nprobe: {timeout: soon}\n")
            .find("'probe.timeout' must be a positive duration") != std::string::npos);
  CHECK(error_of("mirror: {name: m, root: /srv}\nprobe: {samples: 3}\n")
            .starts_with("agent.yaml:2:9: unknown key 'probe.samples' (known here: ca_file, "
                         "connections_per_host,"));
  CHECK(error_of("mirror: {name: m, root: /srv}\nverify: {nice: 20}\n") ==
        "agent.yaml:2:16: 'verify.nice' must be a whole number from 0 to 19, not '20'");
  CHECK(error_of("mirror: {name: m, root: /srv}\nverify: {io_class: realtime}\n") ==
        "agent.yaml:2:20: 'verify.io_class' must be idle, best-effort or unchanged, not "
        "'realtime'");
  CHECK(error_of("- a\n- b\n") ==
        "agent.yaml:1:1: the top level must be a mapping of keys to values");
  CHECK(error_of("") == "agent.yaml:1:1: missing required key 'mirror'");
}

TEST_CASE("YAML syntax errors carry the position", "[config]")
{
  const std::string e = error_of("mirror:\n  name: [unclosed\n");
  CHECK(e.starts_with("agent.yaml:"));
  CHECK(e.find("end of sequence") != std::string::npos);
}

TEST_CASE("load_config_file names the file on I/O errors and refuses non-regular files", "[config]")
{
  agent::testing::TempTree t;
  auto missing = agent::load_config_file(t / "none.yaml");
  REQUIRE_FALSE(missing);
  CHECK(missing.error() == t / "none.yaml" + ": No such file or directory");
  t.fifo("fifo.yaml");
  auto fifo = agent::load_config_file(t / "fifo.yaml");
  REQUIRE_FALSE(fifo);
  CHECK(fifo.error() == t / "fifo.yaml" + ": not a regular file");
  t.file("ok.yaml", "mirror: {name: m, root: /srv}\n");
  CHECK(agent::load_config_file(t / "ok.yaml"));
}

TEST_CASE("check_symlinks_dir accepts only paths inside the root", "[config]")
{
  CHECK(agent::check_symlinks_dir("experimental/torrent-symlinks"));
  CHECK(agent::check_symlinks_dir("a/..b/c"));
  CHECK_FALSE(agent::check_symlinks_dir(""));
  CHECK_FALSE(agent::check_symlinks_dir("/abs"));
  CHECK_FALSE(agent::check_symlinks_dir("a/../../b"));
  CHECK_FALSE(agent::check_symlinks_dir(".."));
}

TEST_CASE("report, hooks, run and metrics keys", "[config]")
{
  auto c = agent::parse_config(R"(mirror:
  name: m
  root: /srv/m
  base_url: https://m.example.org/
  timestamp_file: timestamp.mirmon
run:
  timeout: 90m
report:
  endpoint: https://central.example.org/api/v1/reports
  token_file: /etc/webseed-agent/token
  ca_file: /etc/ssl/ca.pem
  client_cert: /etc/webseed-agent/client.pem
  client_key: /etc/webseed-agent/client.key
  timeout: 45s
  spool_dir: /var/spool/webseed-agent
  spool_max: 7
hooks:
  on_ready: [/usr/bin/true]
  on_problem: [/usr/local/bin/page, --team, mirrors]
  timeout: 2m
metrics_file: /var/lib/prometheus/node-exporter/webseed_agent.prom
)",
                               "agent.yaml");
  REQUIRE(c);
  CHECK(c->mirror.timestamp_file == "timestamp.mirmon");
  CHECK(c->run_timeout_s == 5400);
  CHECK(c->report.endpoint == "https://central.example.org/api/v1/reports");
  CHECK(c->report.token_file == "/etc/webseed-agent/token");
  CHECK(c->report.timeout_s == 45);
  CHECK(c->report.spool_max == 7);
  CHECK(c->report.client_key == "/etc/webseed-agent/client.key");
  CHECK(c->hooks.on_problem ==
        std::vector<std::string>{"/usr/local/bin/page", "--team", "mirrors"});
  CHECK(c->hooks.timeout_s == 120);
  CHECK(c->metrics_file == "/var/lib/prometheus/node-exporter/webseed_agent.prom");

  auto d = agent::parse_config("mirror: {name: m, root: /srv/m}\n", "agent.yaml");
  REQUIRE(d);
  CHECK(d->report.endpoint.empty());
  CHECK(d->report.timeout_s == 30);
  CHECK(d->run_timeout_s == 7200);
}

TEST_CASE("report keys are checked", "[config]")
{
  const std::string m = "mirror: {name: m, root: /srv/m, base_url: 'https://m/'}\n";
  CHECK(error_of(m + "report:\n  endpoint: http://c/api\n  token_file: /t\n") ==
        "agent.yaml:2:1: 'report.endpoint' must be an https:// URL (plain http:// only with "
        "'report.allow_insecure_http: true', for local testing)");
  CHECK(agent::parse_config(m + "report:\n  endpoint: http://c/api\n  token_file: /t\n"
                                "  allow_insecure_http: true\n",
                            "agent.yaml"));
  CHECK(error_of(m + "report:\n  endpoint: https://c/api\n") ==
        "agent.yaml:2:1: 'report.endpoint' needs 'report.token_file'");
  CHECK(error_of("mirror: {name: m, root: /srv/m}\nreport:\n  endpoint: https://c/\n"
                 "  token_file: /t\n") ==
        "agent.yaml:2:1: 'report.endpoint' needs 'mirror.base_url' (the URL reported)");
  CHECK(error_of(m + "report:\n  endpoint: ftp://c/\n") ==
        "agent.yaml:3:13: 'report.endpoint' must be an https:// URL, not 'ftp://c/'");
  CHECK(error_of(m + "report:\n  client_cert: /c.pem\n") ==
        "agent.yaml:2:1: 'report.client_cert' and 'report.client_key' go together");
  CHECK(error_of(m + "report:\n  allow_insecure_http: maybe\n") ==
        "agent.yaml:3:24: 'report.allow_insecure_http' must be true or false, not 'maybe'");
  CHECK(error_of(m + "hooks:\n  on_ready: notify-send hi\n") ==
        "agent.yaml:3:13: 'hooks.on_ready' must be a command as a list: [/path/to/program, arg, "
        "...]");
  CHECK(error_of(m + "hooks:\n  on_ready: [mail, root]\n") ==
        "agent.yaml:3:13: 'hooks.on_ready' must start with an absolute program path, not 'mail'");
  CHECK(error_of(m + "run:\n  timeout: soon\n") ==
        "agent.yaml:3:12: 'run.timeout' must be a positive duration like 3600, 90s, 30m, 12h or "
        "7d, not 'soon'");
  CHECK(error_of("mirror: {name: m, root: /srv/m, timestamp_file: ../t}\n") ==
        "agent.yaml:1:49: 'mirror.timestamp_file' must stay inside the mirror root (no '..'), "
        "not '../t'");
}
