#include "cmd_check.h"

#include "error.h"
#include "links_output.h"
#include "mirror_entry.h"
#include "payload_check.h"
#include "priority.h"
#include "progress.h"
#include "state_cache.h"
#include "torrent_discovery.h"
#include "torrent_output.h"
#include "util/format.h"
#include "util/json_text.h"
#include "util/text.h"

#include <chrono>
#include <ctime>
#include <iostream>

namespace agent {

namespace {

struct TorrentResult {
  std::string path;
  std::optional<Torrent> torrent; // unset when the .torrent is invalid
  PayloadReport report;
};

util::Json result_json(const TorrentResult& r)
{
  util::Json j = util::Json::object();
  util::put_bytes(j, "torrent", r.path);
  if (r.torrent) {
    util::put_bytes(j, "name", r.torrent->name);
  } else {
    j["name"] = nullptr;
  }
  put_info_hashes(j, r.torrent ? &*r.torrent : nullptr);
  j["ready"] = r.report.ready();
  j["bytes"] = r.report.bytes_verified;
  j["cached"] = r.report.cached;
  j["files_cached"] = r.report.files_cached;
  j["findings"] = util::Json::array();
  for (const Finding& f : r.report.findings) {
    j["findings"].push_back(finding_json(f));
  }
  return j;
}

void print_human(std::ostream& out, const std::string& root,
                 const std::vector<TorrentResult>& results, double seconds)
{
  out << "mirror root:  " << util::escape_for_terminal(root) << '\n';
  std::size_t ready = 0;
  std::uint64_t bytes = 0;
  // Torrents that are not ready first, then those with warnings; ready ones in one line each.
  for (int pass = 0; pass < 2; ++pass) {
    for (const TorrentResult& r : results) {
      if (r.report.ready() != (pass == 1)) {
        continue;
      }
      const std::string name =
          r.torrent ? util::escape_for_terminal(r.torrent->name) : "(invalid torrent)";
      out << '\n'
          << (r.report.ready() ? "READY      " : "NOT READY  ") << name << "  ("
          << util::escape_for_terminal(r.path) << ")"
          << (r.report.cached ? "  unchanged since its last full verification" : "");
      if (!r.report.cached && r.report.files_cached > 0) {
        out << "  (" << r.report.files_cached << " unchanged files not re-read)";
      }
      out << '\n';
      for (const Finding& f : r.report.findings) {
        print_finding_human(out, f, 2);
      }
    }
  }
  for (const TorrentResult& r : results) {
    ready += r.report.ready() ? 1 : 0;
    bytes += r.report.bytes_verified;
  }
  out << '\n'
      << (ready == results.size() ? "READY: " : "NOT READY: ") << ready << " of " << results.size()
      << (results.size() == 1 ? " torrent" : " torrents") << " ready; " << util::human_size(bytes)
      << " verified in " << static_cast<long long>(seconds * 1000) << " ms\n";
}

} // namespace

ExitCode run_check(const Settings& settings, const CheckOptions& options, std::ostream& out)
{
  const std::vector<std::string>& paths =
      options.torrents.empty() ? settings.config.torrents : options.torrents;
  if (paths.empty()) {
    throw Fatal(ExitCode::usage, "no torrents to check: set 'torrents' in the config file or "
                                 "pass --torrents PATH");
  }
  auto files = find_torrents(paths);
  if (!files) {
    throw Fatal(ExitCode::usage, "torrents " + files.error());
  }
  auto resolver = Resolver::open(settings.root);
  if (!resolver) {
    throw Fatal(ExitCode::usage, "mirror root " + resolver.error());
  }

  std::vector<TorrentResult> results;
  std::uint64_t total = 0;
  for (const std::string& path : *files) {
    TorrentResult r;
    r.path = path;
    auto t = load_torrent(path, TorrentLimits{settings.config.torrent_max_size});
    if (t) {
      total += t->total_size;
      r.torrent = std::move(*t);
    } else {
      r.report.findings.push_back(torrent_finding(path, t.error()));
    }
    results.push_back(std::move(r));
  }

  const std::string state_dir = !options.state_dir.empty()           ? options.state_dir
                                : !settings.config.state_dir.empty() ? settings.config.state_dir
                                                                     : default_state_dir();
  std::vector<std::string> warnings;
  StateCache cache = StateCache::open(state_dir, warnings);
  for (const std::string& w : warnings) {
    std::cerr << "webseed-agent: warning: " << w << '\n';
  }
  const std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));

  Progress progress("checking", total);
  std::uint64_t done_before = 0;
  if (options.low_priority) {
    if (auto lowered = lower_priority(settings.config.priority); !lowered) {
      std::cerr << "webseed-agent: warning: " << lowered.error() << '\n';
    }
  }
  VerifyOptions verify;
  verify.jobs = options.jobs > 0 ? options.jobs : settings.config.jobs;
  const auto start = std::chrono::steady_clock::now();
  for (TorrentResult& r : results) {
    if (!r.torrent) {
      continue;
    }
    const Torrent& t = *r.torrent;
    MirrorEntry entry(*resolver, settings.root, settings.config.symlinks_dir, t);
    verify.progress = [&](std::uint64_t done) { progress.update(done_before + done); };
    const std::string key = t.info_hash_v2 ? hex(*t.info_hash_v2) : hex(*t.info_hash_v1);
    const FreshCheck fresh = [&](const Identities& ids) {
      return options.full
                 ? std::vector<bool>()
                 : cache.fresh_files(key, ids, t.files.size(), now, settings.config.rescan_after_s);
    };
    r.report = check_payload(
        *resolver, t, [&](const TorrentFile& f) { return entry.locate(f); },
        [&](const TorrentFile& f) { return entry.display(f); }, verify, fresh);
    if (!r.report.cached) {
      cache.update(key, r.report.verified, r.report.fresh, now);
    }
    for (Finding& f : entry.unexpected_files()) {
      r.report.findings.push_back(std::move(f));
    }
    sort_findings(r.report.findings);
    done_before += t.total_size;
  }
  progress.finish();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  const bool all_ready = std::all_of(results.begin(), results.end(),
                                     [](const TorrentResult& r) { return r.report.ready(); });
  if (options.json) {
    util::Json j = util::Json::object();
    j["version"] = 1;
    util::put_bytes(j, "root", settings.root);
    j["ready"] = all_ready;
    j["torrents"] = util::Json::array();
    for (const TorrentResult& r : results) {
      j["torrents"].push_back(result_json(r));
    }
    out << j.dump(2) << '\n';
  } else {
    print_human(out, settings.root, results, seconds);
  }
  out.flush();
  return all_ready ? ExitCode::ok : ExitCode::findings;
}

} // namespace agent
