#include "check_run.h"

#include "client_families.h"
#include "error.h"
#include "links_output.h"
#include "mirror_entry.h"
#include "priority.h"
#include "progress.h"
#include "state_cache.h"
#include "torrent_discovery.h"
#include "torrent_output.h"
#include "util/text.h"

#include <algorithm>
#include <ctime>

namespace agent {

namespace {

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
    if (r.family != AddressFamily::any) {
      q["family"] = std::string(family_text(r.family));
    }
    if (!r.address.empty()) {
      q["address"] = r.address;
    }
    if (r.retries > 0) {
      q["retries"] = r.retries;
    }
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
  j["clients"] = client_usability_names(r.report.findings);
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

} // namespace

bool CheckRun::all_ready() const
{
  return std::all_of(torrents.begin(), torrents.end(),
                     [](const TorrentResult& r) { return r.report.ready(); });
}

std::string effective_state_dir(const Settings& settings, const std::string& option)
{
  return !option.empty()                      ? option
         : !settings.config.state_dir.empty() ? settings.config.state_dir
                                              : default_state_dir();
}

util::Json check_json(const CheckRun& run)
{
  util::Json j = util::Json::object();
  j["version"] = 1;
  util::put_bytes(j, "root", run.root);
  j["base_url"] = run.base_url.empty() ? util::Json(nullptr) : util::Json(run.base_url);
  j["ready"] = run.all_ready();
  j["torrents"] = util::Json::array();
  for (const TorrentResult& r : run.torrents) {
    j["torrents"].push_back(result_json(r));
  }
  return j;
}

CheckRun perform_check(const Settings& settings, const CheckOptions& options)
{
  const std::vector<std::string>& paths =
      options.torrents.empty() ? settings.config.torrents : options.torrents;
  if (paths.empty()) {
    throw Fatal(ExitCode::usage, "no torrents to check: set 'torrents' in the config file or "
                                 "pass --torrents PATH");
  }
  CheckRun run;
  run.root = settings.root;
  run.base_url = options.no_probe            ? std::string()
                 : !options.base_url.empty() ? options.base_url
                                             : settings.config.mirror.base_url;
  if (options.require_probe && run.base_url.empty()) {
    throw Fatal(ExitCode::usage, "no base URL to probe: set mirror.base_url in the config file or "
                                 "pass --base-url URL");
  }
  if (!run.base_url.empty() && !run.base_url.starts_with("http://") &&
      !run.base_url.starts_with("https://")) {
    throw Fatal(ExitCode::usage,
                "--base-url must be an http:// or https:// URL, not '" + run.base_url + "'");
  }
  auto files = find_torrents(paths);
  if (!files) {
    throw Fatal(ExitCode::usage, "torrents " + files.error());
  }
  auto resolver = Resolver::open(settings.root);
  if (!resolver) {
    throw Fatal(ExitCode::usage, "mirror root " + resolver.error());
  }

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
    run.torrents.push_back(std::move(r));
  }

  StateCache cache =
      StateCache::open(effective_state_dir(settings, options.state_dir), run.warnings);
  const std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));

  Progress progress("checking", total);
  std::uint64_t done_before = 0;
  if (options.low_priority) {
    if (auto lowered = lower_priority(settings.config.priority); !lowered) {
      run.warnings.push_back(lowered.error());
    }
  }
  VerifyOptions verify;
  verify.jobs = options.jobs > 0 ? options.jobs : settings.config.jobs;
  const auto start = std::chrono::steady_clock::now();
  for (TorrentResult& r : run.torrents) {
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
    const bool may_hash =
        !options.hash_deadline || std::chrono::steady_clock::now() < *options.hash_deadline;
    r.report = check_payload(
        *resolver, t, [&](const TorrentFile& f) { return entry.locate(f); },
        [&](const TorrentFile& f) { return entry.display(f); }, verify, fresh, may_hash);
    if (r.report.skipped && !has_error(r.report.findings)) {
      r.report.findings.emplace_back(
          Code::verify_skipped, settings.config.symlinks_dir + "/" + t.name, std::nullopt,
          "not verified: the run's time (run.timeout) ran out before this torrent's turn",
          "the next run goes on from here (verified files are remembered); or raise run.timeout");
    } else if (!r.report.cached && !r.report.skipped) {
      cache.update(key, r.report.verified, r.report.fresh, now);
    }
    for (Finding& f : entry.unexpected_files()) {
      r.report.findings.push_back(std::move(f));
    }
    if (auto quirks = quirk_finding(r.path, t)) {
      r.report.findings.push_back(std::move(*quirks));
    }
    if (auto format = format_finding(t, settings.config.symlinks_dir + "/" + t.name)) {
      r.report.findings.push_back(std::move(*format));
    }
    sort_findings(r.report.findings);
    done_before += t.total_size;
  }
  progress.finish();

  if (!run.base_url.empty()) {
    std::vector<ProbeRunInput> inputs;
    for (const TorrentResult& r : run.torrents) {
      inputs.push_back({r.torrent ? &*r.torrent : nullptr, r.report.ready()});
    }
    Config probe_config = settings.config;
    if (options.probe_deadline) {
      const auto left = std::chrono::duration_cast<std::chrono::seconds>(
                            *options.probe_deadline - std::chrono::steady_clock::now())
                            .count();
      probe_config.probe.timeout_s =
          std::clamp<std::int64_t>(left, 1, probe_config.probe.timeout_s);
    }
    std::vector<ProbeOutcome> probes =
        run_probes(*resolver, settings.root, run.base_url, probe_config, inputs);
    for (std::size_t i = 0; i < run.torrents.size(); ++i) {
      TorrentResult& r = run.torrents[i];
      for (Finding& f : probes[i].result.findings) {
        r.report.findings.push_back(std::move(f));
      }
      probes[i].result.findings.clear();
      sort_findings(r.report.findings);
      r.probe = std::move(probes[i]);
    }
  }
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return run;
}

} // namespace agent
