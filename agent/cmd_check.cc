#include "cmd_check.h"

#include "error.h"
#include "links_output.h"
#include "mirror_entry.h"
#include "payload_check.h"
#include "priority.h"
#include "probe_run.h"
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
  std::optional<ProbeOutcome> probe; // set when a base URL is known
};

util::Json probe_json(const ProbeOutcome& p)
{
  util::Json j = util::Json::object();
  j["probed"] = p.probed;
  j["reason"] = p.reason.empty() ? util::Json(nullptr) : util::Json(p.reason);
  j["bytes"] = p.result.bytes;
  j["pieces_verified"] = p.result.pieces_verified;
  j["requests"] = util::Json::array();
  for (const ProbeRequest& r : p.result.requests) {
    util::Json q = util::Json::object();
    q["url"] = util::to_utf8_lossy(r.url);
    q["range"] = {r.first, r.last};
    q["purpose"] = r.purpose;
    q["status"] = r.status > 0 ? util::Json(r.status) : util::Json(nullptr);
    q["bytes"] = r.bytes;
    q["ok"] = r.ok;
    q["code"] = r.code ? util::Json(std::string(code_name(*r.code))) : util::Json(nullptr);
    if (!r.effective_url.empty()) {
      q["effective_url"] = util::to_utf8_lossy(r.effective_url);
    }
    q["seconds"] = static_cast<double>(static_cast<long long>(r.seconds * 1000)) / 1000;
    j["requests"].push_back(std::move(q));
  }
  return j;
}

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
  if (r.probe) {
    j["probe"] = probe_json(*r.probe);
  }
  j["findings"] = util::Json::array();
  for (const Finding& f : r.report.findings) {
    j["findings"].push_back(finding_json(f));
  }
  return j;
}

void print_human(std::ostream& out, const std::string& root, const std::string& base_url,
                 const std::vector<TorrentResult>& results, double seconds)
{
  out << "mirror root:  " << util::escape_for_terminal(root) << '\n';
  out << "web seed:     "
      << (base_url.empty() ? "not probed (no mirror.base_url or --base-url)"
                           : util::escape_for_terminal(base_url))
      << '\n';
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
      if (r.probe && r.probe->probed) {
        const ProbeResult& p = r.probe->result;
        const auto ok = std::count_if(p.requests.begin(), p.requests.end(),
                                      [](const ProbeRequest& q) { return q.ok; });
        out << "  web seed: " << ok << " of " << p.requests.size() << " requests answered right ("
            << util::human_size(p.bytes) << ", " << p.pieces_verified.size()
            << (p.pieces_verified.size() == 1 ? " piece" : " pieces")
            << " checked against the torrent's hashes)\n";
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
  const std::string probe_base = options.no_probe            ? std::string()
                                 : !options.base_url.empty() ? options.base_url
                                                             : settings.config.mirror.base_url;
  if (options.require_probe && probe_base.empty()) {
    throw Fatal(ExitCode::usage, "no base URL to probe: set mirror.base_url in the config file or "
                                 "pass --base-url URL");
  }
  if (!probe_base.empty() && !probe_base.starts_with("http://") &&
      !probe_base.starts_with("https://")) {
    throw Fatal(ExitCode::usage,
                "--base-url must be an http:// or https:// URL, not '" + probe_base + "'");
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

  const std::string& base_url = probe_base;
  if (!base_url.empty()) {
    std::vector<ProbeRunInput> inputs;
    for (const TorrentResult& r : results) {
      inputs.push_back({r.torrent ? &*r.torrent : nullptr, r.report.ready()});
    }
    std::vector<ProbeOutcome> probes =
        run_probes(*resolver, settings.root, base_url, settings.config, inputs);
    for (std::size_t i = 0; i < results.size(); ++i) {
      for (Finding& f : probes[i].result.findings) {
        results[i].report.findings.push_back(std::move(f));
      }
      probes[i].result.findings.clear();
      sort_findings(results[i].report.findings);
      results[i].probe = std::move(probes[i]);
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  const bool all_ready = std::all_of(results.begin(), results.end(),
                                     [](const TorrentResult& r) { return r.report.ready(); });
  if (options.json) {
    util::Json j = util::Json::object();
    j["version"] = 1;
    util::put_bytes(j, "root", settings.root);
    j["base_url"] = base_url.empty() ? util::Json(nullptr) : util::Json(base_url);
    j["ready"] = all_ready;
    j["torrents"] = util::Json::array();
    for (const TorrentResult& r : results) {
      j["torrents"].push_back(result_json(r));
    }
    out << j.dump(2) << '\n';
  } else {
    print_human(out, settings.root, base_url, results, seconds);
  }
  out.flush();
  return all_ready ? ExitCode::ok : ExitCode::findings;
}

} // namespace agent
