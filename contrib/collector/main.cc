// main.cc: webseed-collector's command line (contrib/collector/README.md). Exit codes: 0 ok,
// 1 something to look at (seed-torrents problems, failed spot checks), 2 usage or
// configuration, 3 internal error.
#include <utility> // before Asio (http_server.h users): Boost 1.74 needs it

#include "api.h"
#include "catalog.h"
#include "collector_config.h"
#include "events.h"
#include "http_server.h"
#include "listing.h"
#include "make_cli.h"
#include "seed_torrents.h"
#include "spot_check.h"
#include "store.h"
#include "tokens.h"
#include "url_policy.h"
#include "util/atomic_file.h"
#include "util/install_paths.h"
#include "version.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <grp.h>
#include <iostream>
#include <malloc.h>
#include <mutex>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace {

using namespace collector;

constexpr const char* k_default_config = "/etc/webseed-collector/collector.yaml";

struct Fatal {
  int code;
  std::string message;
};

std::int64_t now()
{
  return static_cast<std::int64_t>(std::time(nullptr));
}

CollectorConfig config_from(const std::string& path)
{
  auto c = load_collector_config(path.empty() ? k_default_config : path);
  if (!c) {
    throw Fatal{2, c.error()};
  }
  return *c;
}

// The database and its -wal/-shm files: 0600, or 0640 with group `database_group` (existing
// files are tightened; SQLite gives new -wal/-shm files the database's mode and owner).
void secure_database(const CollectorConfig& c)
{
  gid_t gid = static_cast<gid_t>(-1);
  if (!c.database_group.empty()) {
    const group* g = ::getgrnam(c.database_group.c_str());
    if (g == nullptr) {
      throw Fatal{2, c.source + ": database_group '" + c.database_group +
                         "' is not a group on this system; create it or leave the key out"};
    }
    gid = g->gr_gid;
  }
  const mode_t mode = c.database_group.empty() ? 0600 : 0640;
  const int fd = ::open(c.database.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0) {
    throw Fatal{2, "database " + c.database + ": cannot open: " + std::strerror(errno)};
  }
  ::close(fd);
  for (const std::string& path : {c.database, c.database + "-wal", c.database + "-shm"}) {
    if (gid != static_cast<gid_t>(-1) && ::chown(path.c_str(), static_cast<uid_t>(-1), gid) != 0 &&
        errno != ENOENT) {
      throw Fatal{2, "database " + path + ": cannot give it group " + c.database_group + ": " +
                         std::strerror(errno)};
    }
    if (::chmod(path.c_str(), mode) != 0 && errno != ENOENT) {
      throw Fatal{2, "database " + path + ": cannot set its mode: " + std::strerror(errno)};
    }
  }
}

std::unique_ptr<Store> open_store(const CollectorConfig& c)
{
  const std::size_t slash = c.database.rfind('/');
  if (slash != std::string::npos && slash > 0) {
    if (auto made = util::make_dirs(c.database.substr(0, slash), 0750); !made) {
      throw Fatal{2, "database " + made.error()};
    }
  }
  secure_database(c);
  auto s = Store::open(c.database);
  if (!s) {
    throw Fatal{2, "database " + s.error()};
  }
  (*s)->set_report_retention(c.retention_reports_s);
  return std::move(*s);
}

Catalog load_catalog(const std::string& dir)
{
  std::vector<std::string> problems;
  auto c = Catalog::load(dir, problems);
  if (!c) {
    throw Fatal{2, "torrents " + c.error()};
  }
  for (const std::string& p : problems) {
    std::cerr << "webseed-collector: warning: skipped " << p << '\n';
  }
  return std::move(*c);
}

// SIGTERM and SIGINT stop serve; SIGHUP reloads the catalog.
sigset_t serve_signals()
{
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  return set;
}

// The catalog as loaded now with its fingerprint (taken first: a change during the load is
// seen by the next comparison); nullopt, with a warning, when the directory cannot be read
// (the catalog in use is kept).
std::optional<std::pair<std::shared_ptr<const Catalog>, std::string>>
reload_catalog(const std::string& dir)
{
  auto fingerprint = Catalog::fingerprint(dir);
  std::vector<std::string> problems;
  std::expected<Catalog, std::string> loaded = std::unexpected(std::string());
  if (fingerprint) {
    loaded = Catalog::load(dir, problems);
  }
  if (!fingerprint || !loaded) {
    std::cerr << "webseed-collector: warning: torrents "
              << (fingerprint ? loaded.error() : fingerprint.error())
              << "; the catalog in use is kept" << std::endl;
    return std::nullopt;
  }
  for (const std::string& p : problems) {
    std::cerr << "webseed-collector: warning: skipped " << p << '\n';
  }
  return std::make_pair(std::make_shared<const Catalog>(std::move(*loaded)),
                        std::move(*fingerprint));
}

int serve(const CollectorConfig& config)
{
  // Two malloc arenas, not glibc's 8 per core: the server's threads then share freed memory
  // instead of each keeping its own (peak RSS at 500 x 200 under ingest: 117 -> 93 MiB; the
  // work is SQLite- and network-bound, so the arenas' contention costs nothing measurable).
  ::mallopt(M_ARENA_MAX, 2);
  // Block the signals in every thread; one thread waits for them.
  const sigset_t signals = serve_signals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  const auto store = open_store(config);
  std::string first_fingerprint = Catalog::fingerprint(config.torrents).value_or("");
  ApiContext ctx(*store, config, now, std::make_shared<const Catalog>(load_catalog(config.torrents)),
                 std::move(first_fingerprint));
  auto events = EventLog::open(config.database); // history (events.h)
  if (!events) {
    throw Fatal{2, "database " + events.error()};
  }
  ctx.events = events->get();
  ServerOptions options;
  const std::size_t colon = config.listen.rfind(':');
  options.address = config.listen.substr(0, colon);
  if (options.address.size() > 2 && options.address.front() == '[') {
    options.address = options.address.substr(1, options.address.size() - 2);
  }
  try {
    options.port = static_cast<std::uint16_t>(std::stoul(config.listen.substr(colon + 1)));
  } catch (const std::exception&) {
    throw Fatal{2, config.source + ": 'listen' has no valid port: '" + config.listen + "'"};
  }
  options.tls_cert = config.tls_cert;
  options.tls_key = config.tls_key;
  options.max_body = config.max_body;
  options.threads = config.threads;
  options.max_connections = config.max_connections;
  options.max_connections_per_address = config.max_connections_per_address;
  options.first_byte_timeout = std::chrono::seconds(config.first_byte_timeout_s);
  options.max_buffered_bytes = config.max_buffered_bytes;
  std::unique_ptr<HttpServer> server;
  try {
    server = std::make_unique<HttpServer>(
        options, [&ctx](const HttpRequest& r) { return handle_request(ctx, r); },
        [&ctx](const HttpRequest& head) { return check_request_head(ctx, head); });
  } catch (const std::runtime_error& e) {
    throw Fatal{2, e.what()};
  }
  std::cout << "webseed-collector: listening on " << (config.tls_cert.empty() ? "http" : "https")
            << "://" << options.address << ":" << server->port() << "/ ("
            << ctx.view()->catalog->entries().size() << " torrents)" << std::endl;

  std::mutex mutex;
  std::condition_variable stopping;
  bool stop = false;
  bool reload = false; // SIGHUP: reload the catalog now
  std::atomic<bool> cancel{false}; // in-flight spot checks end at once on SIGTERM
  // A round every round_every; rounds overlap when one waits for a slow mirror (they share
  // `in_flight`, so each mirror is in one round at a time): a mirror that reports meanwhile is
  // checked by the next round (spot_check.h).
  std::thread checker([&] {
    if (!config.spot.enabled) {
      return;
    }
    InFlight in_flight;
    std::mutex log_mutex;
    struct Running {
      std::thread thread;
      std::shared_ptr<std::atomic<bool>> done;
    };
    std::vector<Running> rounds;
    const auto reap = [&](bool all) {
      std::erase_if(rounds, [&](Running& r) {
        if (!all && !r.done->load()) {
          return false;
        }
        r.thread.join();
        return true;
      });
    };
    std::unique_lock lock(mutex);
    while (!stop) {
      lock.unlock();
      reap(false);
      auto done = std::make_shared<std::atomic<bool>>(false);
      rounds.push_back({std::thread([&, done, catalog = ctx.view()->catalog] {
                          std::vector<std::string> messages;
                          try {
                            messages = spot_check_round(*store, *catalog, config, now(), &cancel,
                                                        &in_flight)
                                           .messages;
                          } catch (const std::exception& e) { // the database, out of files...
                            messages = {std::string("warning: spot-check round failed: ") +
                                        e.what() + "; the next round tries again"};
                          }
                          {
                            std::lock_guard logging(log_mutex);
                            for (const std::string& m : messages) {
                              std::cerr << "webseed-collector: " << m << '\n';
                            }
                          }
                          *done = true;
                        }),
                        done});
      lock.lock();
      stopping.wait_for(lock, std::chrono::seconds(config.spot.round_every_s),
                        [&] { return stop; });
    }
    lock.unlock();
    reap(true);
  });
  std::thread watcher([&] { // events: each changed mirror status compared every few seconds
    KnownStates known = (*events)->last_states();
    std::map<std::string, std::shared_ptr<const MirrorStatus>> seen; // immutable, replaced
    const std::string dir = config.database.substr(0, config.database.rfind('/') + 1);
    const EventHook hook{config.events.on_mirror_change,
                         std::chrono::seconds(config.events.hook_timeout_s),
                         dir + "on_mirror_change.log"};
    std::vector<CellView> cells;
    std::unique_lock lock(mutex);
    while (!stop) {
      lock.unlock();
      const std::int64_t at = now();
      // One mirror at a time (its events in one transaction): memory bounded by one
      // mirror's cells, also on the first pass over a whole network (100,000 new cells).
      std::vector<Event> found;
      const std::shared_ptr<CatalogView> view = ctx.view();
      const std::vector<CatalogEntry>& entries = view->catalog->entries();
      ListingIndex::Snapshot mirrors;
      try {
        mirrors = view->index.mirrors(at);
      } catch (const std::exception& e) { // the database, out of files...: the next pass
        std::cerr << "webseed-collector: warning: events: " << e.what() << std::endl;
      }
      for (const auto& status : mirrors) {
        if (stop) {
          break;
        }
        if (seen[status->row.name] == status) {
          continue; // the same status object: nothing changed
        }
        cells.clear();
        for (std::size_t i = 0; i < std::min(status->cells.size(), entries.size()); ++i) {
          cells.push_back(CellView{entries[i].key, status->cells[i].state, status->cells[i].reason});
        }
        found.clear();
        diff_mirror(known, status->row, cells, at, found);
        const EventsOutcome out =
            record_events(**events, known, found, at, config.events.retention_s, hook);
        for (const std::string& line : out.lines) {
          std::cerr << "webseed-collector: " << line << '\n';
        }
        if (out.recorded) {
          seen[status->row.name] = status;
        }
      }
      lock.lock();
      stopping.wait_for(lock, std::chrono::seconds(2), [&] { return stop; });
    }
  });
  // The catalog: reloaded on SIGHUP, and when the torrents directory's fingerprint changed
  // (checked every torrents_rescan_every; make-torrents adds and rewrites files there).
  std::thread reloader([&] {
    std::unique_lock lock(mutex);
    while (!stop) {
      stopping.wait_for(lock, std::chrono::seconds(config.torrents_rescan_every_s),
                        [&] { return stop || reload; });
      if (stop) {
        break;
      }
      const bool asked = std::exchange(reload, false);
      lock.unlock();
      const std::shared_ptr<CatalogView> current = ctx.view();
      const auto fingerprint = Catalog::fingerprint(config.torrents);
      if (asked || !fingerprint || *fingerprint != current->fingerprint) {
        if (auto loaded = reload_catalog(config.torrents)) {
          const std::size_t before = current->catalog->entries().size();
          const std::size_t after = loaded->first->entries().size();
          ctx.replace_catalog(std::move(loaded->first), std::move(loaded->second));
          std::cerr << "webseed-collector: catalog reloaded" << (asked ? " (SIGHUP)" : "")
                    << ": " << after << " torrents (was " << before << ")" << std::endl;
        }
      }
      lock.lock();
    }
  });
  std::thread waiter([&] {
    for (;;) {
      int sig = 0;
      sigwait(&signals, &sig);
      std::lock_guard lock(mutex);
      if (sig == SIGHUP) {
        reload = true;
        stopping.notify_all();
        continue;
      }
      stop = true;
      break;
    }
    cancel = true;
    stopping.notify_all();
    server->stop();
  });
  server->run();
  waiter.join();
  checker.join();
  watcher.join();
  reloader.join();
  std::cout << "webseed-collector: stopped" << std::endl;
  return 0;
}

int run(int argc, char** argv)
{
  CLI::App app{"webseed-collector: collects the mirrors' web-seed readiness reports, checks "
               "their claims and publishes the web-seed lists.",
               "webseed-collector"};
  app.set_version_flag("--version", std::string("webseed-collector ") + agent::k_version);
  app.require_subcommand(1);
  app.fallthrough();
  std::string config_path;
  app.add_option("-c,--config", config_path,
                 std::string("configuration file (default ") + k_default_config + ")")
      ->type_name("FILE");
  app.footer("Exit codes: 0 ok, 1 something to look at, 2 usage or configuration, 3 internal "
             "error.\nDocumentation: man webseed-collector, " +
             util::installed_doc_dir("webseed-collector") + "collector.md");

  CLI::App* serve_cmd = app.add_subcommand("serve", "Serve the API and the dashboard.");

  CLI::App* mirror = app.add_subcommand("mirror", "Manage the mirrors allowed to report.");
  mirror->require_subcommand(1);
  std::string name;
  std::string base_url;
  CLI::App* add = mirror->add_subcommand(
      "add", "Register a mirror; prints its new token once (only a hash is stored).");
  add->add_option("NAME", name, "the mirror's name (mirror.name in its agent.yaml)")->required();
  add->add_option("--base-url", base_url, "its mirror.base_url (http:// or https://)")
      ->required()
      ->check([](const std::string& v) {
        return v.starts_with("http://") || v.starts_with("https://")
                   ? std::string()
                   : std::string("must start with http:// or https://");
      });
  bool list_json = false;
  CLI::App* list = mirror->add_subcommand("list", "List the mirrors and their state.");
  list->add_flag("--json", list_json, "print JSON");
  CLI::App* disable = mirror->add_subcommand("disable", "Stop listing a mirror and refuse its "
                                                        "reports.");
  disable->add_option("NAME", name, "the mirror")->required();
  CLI::App* enable = mirror->add_subcommand("enable", "Undo disable.");
  enable->add_option("NAME", name, "the mirror")->required();
  CLI::App* rotate = mirror->add_subcommand(
      "rotate-token", "Give a mirror a new token (printed once); the old one stops working.");
  rotate->add_option("NAME", name, "the mirror")->required();

  std::string in_dir;
  std::string out_dir;
  CLI::App* seed = app.add_subcommand(
      "seed-torrents", "Write each torrent with url-list set to the mirrors listed for it "
                       "(the info dictionary untouched).");
  seed->add_option("--in", in_dir, "directory of .torrent files")->required();
  seed->add_option("--out", out_dir, "where to write them (created)")->required();

  CLI::App* spot = app.add_subcommand("spot-check", "Run one round of spot checks now.");
  const auto make_commands = add_make_commands(app); // make-torrents, make-tree (no config)

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  try {
    if (const auto code = run_make_commands(*make_commands, config_path)) {
      return *code;
    }
  } catch (const std::runtime_error& e) {
    throw Fatal{2, e.what()};
  }
  const CollectorConfig config = config_from(config_path);
  if (serve_cmd->parsed()) {
    return serve(config);
  }
  if (seed->parsed()) {
    const auto store = open_store(config);
    const Catalog catalog = load_catalog(in_dir);
    const Listing listing =
        compute_listing(catalog, store->mirrors(), store->claims(), store->spot_checks(),
                        ListingPolicy{now(), config.stale_after_s, config.spot.enabled});
    const MirrorRanks ranks = rank_mirrors(store->spot_checks()); // url_policy.h
    SeedOutcome outcome;
    try {
      outcome = seed_torrents(in_dir, out_dir, [&](const agent::Torrent& t) {
        const std::string key =
            t.info_hash_v1 ? agent::hex(*t.info_hash_v1) : agent::hex(*t.info_hash_v2);
        return published_webseeds(listed_mirrors(listing, key), ranks, config.symlinks_dir,
                                  config.publish.max_webseeds, config.publish.fallback_webseeds);
      });
    } catch (const std::runtime_error& e) {
      throw Fatal{2, e.what()};
    }
    for (const std::string& p : outcome.problems) {
      std::cerr << "webseed-collector: " << p << '\n';
    }
    std::cout << outcome.written.size() << " torrents written to " << out_dir << '\n';
    return outcome.problems.empty() ? 0 : 1;
  }
  if (spot->parsed()) {
    const auto store = open_store(config);
    const Catalog catalog = load_catalog(config.torrents);
    const SpotRound round = spot_check_round(*store, catalog, config, now());
    for (const std::string& m : round.messages) {
      std::cout << m << '\n';
    }
    std::cout << round.checked << " checked, " << round.failed << " failed"
              << (round.discarded ? " (round discarded: suspecting the local network)" : "")
              << '\n';
    return round.failed == 0 ? 0 : 1;
  }
  const auto store = open_store(config);
  if (add->parsed()) {
    const std::string token = new_token();
    if (auto ok = store->add_mirror(name, base_url, token_hash(token), now()); !ok) {
      throw Fatal{2, ok.error()};
    }
    std::cout << token << '\n';
    std::cerr << "webseed-collector: mirror " << name
              << " added; give it the token above (report.token_file, mode 0600). It is shown "
                 "only now.\n";
    return 0;
  }
  if (rotate->parsed()) {
    const std::string token = new_token();
    if (!store->set_token(name, token_hash(token))) {
      throw Fatal{2, "no mirror named " + name};
    }
    std::cout << token << '\n';
    return 0;
  }
  if (disable->parsed() || enable->parsed()) {
    if (!store->set_disabled(name, disable->parsed())) {
      throw Fatal{2, "no mirror named " + name};
    }
    return 0;
  }
  if (list->parsed()) {
    const auto mirrors = store->mirrors();
    if (list_json) {
      nlohmann::ordered_json j = nlohmann::ordered_json::array();
      for (const MirrorRow& m : mirrors) {
        j.push_back({{"name", m.name},
                     {"base_url", m.base_url},
                     {"disabled", m.disabled},
                     {"opted_in", m.opted_in},
                     {"last_report_at", m.last_report_at ? nlohmann::ordered_json(*m.last_report_at)
                                                         : nlohmann::ordered_json(nullptr)}});
      }
      std::cout << j.dump(2) << '\n';
    } else {
      for (const MirrorRow& m : mirrors) {
        std::cout << m.name << "  " << m.base_url << (m.disabled ? "  disabled" : "")
                  << (m.opted_in ? "" : "  withdrawn") << "  last report: "
                  << (m.last_report_at ? std::to_string(now() - *m.last_report_at) + " s ago"
                                       : std::string("never"))
                  << '\n';
      }
    }
    return 0;
  }
  return 3;
}

} // namespace

int main(int argc, char** argv)
{
  std::signal(SIGPIPE, SIG_IGN);
  try {
    return run(argc, argv);
  } catch (const Fatal& e) {
    std::cerr << "webseed-collector: error: " << e.message << '\n';
    return e.code;
  } catch (const std::exception& e) {
    std::cerr << "webseed-collector: internal error: " << e.what() << '\n';
    return 3;
  }
}
