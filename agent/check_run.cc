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
#include <filesystem>

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

// `path` relative to `root`, lexically ("" or starting with ".." when it is not inside).
std::filesystem::path relative_to(const std::string& path, const std::string& root)
{
  const auto normal = [](const std::string& p) {
    std::filesystem::path n = std::filesystem::path(p).lexically_normal();
    return n.has_filename() || n == n.root_path() ? n : n.parent_path(); // no trailing "/"
  };
  return normal(path).lexically_relative(normal(root));
}

bool inside_root(const std::string& path, const std::string& root)
{
  const std::filesystem::path rel = relative_to(path, root);
  return !rel.empty() && *rel.begin() != "..";
}

// The .torrent files of `paths`, sorted, without duplicates. With tree_findings a path
// inside the root that cannot be read, or a directory there without any .torrent, is a
// torrents-missing finding on the run.
std::vector<std::string> discover(const std::vector<std::string>& paths, const Settings& settings,
                                  const CheckOptions& options, CheckRun& run)
{
  std::vector<std::string> out;
  const std::string hint = "is it excluded from the sync (rsync --exclude, --delete-excluded)? "
                           "else fix 'torrents' in the config file";
  for (const std::string& path : paths) {
    const bool finding = options.tree_findings && inside_root(path, settings.root);
    auto found = find_torrents({path});
    if (!found) {
      if (!finding) {
        throw Fatal(ExitCode::usage, "torrents " + found.error());
      }
      run.findings.emplace_back(Code::torrents_missing, relative_to(path, settings.root).string(),
                                std::nullopt, "cannot read the torrents: " + found.error(), hint);
      continue;
    }
    if (found->empty() && finding) {
      run.findings.emplace_back(Code::torrents_missing, relative_to(path, settings.root).string(),
                                std::nullopt, "no .torrent file in " + path, hint);
    }
    out.insert(out.end(), found->begin(), found->end());
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// The symlinks dir as a finding on the run when it is not a directory inside the root.
void require_symlinks_dir(Resolver& resolver, const Settings& settings, CheckRun& run)
{
  const std::string& dir = settings.config.symlinks_dir;
  if (auto chain = resolver.resolve_dir(resolver.root_chain(), dir); !chain) {
    run.findings.emplace_back(
        Code::missing_tree, dir, std::nullopt,
        "the symlinks dir is not usable: " + chain.error().describe(),
        "is it excluded from the sync (rsync --exclude, --delete-excluded)? else fix "
        "symlinks_dir in the config file");
  }
}

// True when every file hashed for `report` still has, at its path in the tree as it is now,
// the identity it was hashed with.
bool hashed_files_still_there(Resolver& resolver, const Settings& settings, const Torrent& t,
                              const PayloadReport& report)
{
  if (report.verified.empty()) {
    return true;
  }
  resolver.forget();
  MirrorEntry entry(resolver, settings.root, settings.config.symlinks_dir, t);
  for (const auto& [index, identity] : report.verified) {
    const LocatedFile now = entry.locate(t.files[index]);
    if (!now.file || !(FileIdentity::of(now.file->st) == identity)) {
      return false;
    }
  }
  return true;
}

} // namespace

bool CheckRun::all_ready() const
{
  return !has_error(findings) &&
         std::all_of(torrents.begin(), torrents.end(),
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
  j["findings"] = util::Json::array();
  for (const Finding& f : run.findings) {
    j["findings"].push_back(finding_json(f));
  }
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
  const std::vector<std::string> files = discover(paths, settings, options, run);
  auto resolver = Resolver::open(settings.root);
  if (!resolver) {
    throw Fatal(ExitCode::usage, "mirror root " + resolver.error());
  }
  if (options.tree_findings) {
    require_symlinks_dir(*resolver, settings, run);
  }

  std::uint64_t total = 0;
  for (const std::string& path : files) {
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

  const std::string state_dir = effective_state_dir(settings, options.state_dir);
  StateCache cache = StateCache::open(state_dir, run.warnings);
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
    verify.progress = [&](std::uint64_t done) { progress.update(done_before + done); };
    const std::string key = t.info_hash_v2 ? hex(*t.info_hash_v2) : hex(*t.info_hash_v1);
    const FreshCheck fresh = [&](const Identities& ids) {
      return options.full
                 ? std::vector<bool>()
                 : cache.fresh_files(key, ids, t.files.size(), now, settings.config.rescan_after_s);
    };
    // Handles do not outlive the torrent: each judgement (and the re-check of a tree that
    // changed under it) resolves the tree as it is then.
    bool unchanged = false;
    std::optional<MirrorEntry> entry;
    for (int attempt = 0; attempt < 2 && !unchanged; ++attempt) {
      resolver->forget();
      entry.emplace(*resolver, settings.root, settings.config.symlinks_dir, t);
      const bool may_hash =
          !options.hash_deadline || std::chrono::steady_clock::now() < *options.hash_deadline;
      r.report = check_payload(
          *resolver, t, [&](const TorrentFile& f) { return entry->locate(f); },
          [&](const TorrentFile& f) { return entry->display(f); }, verify, fresh, may_hash);
      unchanged = hashed_files_still_there(*resolver, settings, t, r.report);
    }
    if (!unchanged) {
      r.report.findings.emplace_back(
          Code::verify_skipped, settings.config.symlinks_dir + "/" + t.name, std::nullopt,
          "not verified: its files changed while they were being checked (the tree was "
          "replaced or moved during the check)",
          "the next run checks it again; run the check after the tree is in place");
    } else if (r.report.skipped && !has_error(r.report.findings)) {
      r.report.findings.emplace_back(
          Code::verify_skipped, settings.config.symlinks_dir + "/" + t.name, std::nullopt,
          "not verified: the run's time (run.timeout) ran out before this torrent's turn",
          "the next run goes on from here (verified files are remembered); or raise run.timeout");
    } else if (!r.report.cached && !r.report.skipped) {
      cache.update(key, r.report.verified, r.report.fresh, now);
    }
    for (Finding& f : entry->unexpected_files()) {
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
  if (const std::string problem = cache.write_problem(); !problem.empty()) {
    run.warnings.push_back(state_dir +
                           "/state.sqlite: cannot record what was verified: " + problem +
                           "; it is hashed again next time: free space or fix the "
                           "permissions of " +
                           state_dir);
  }

  if (!run.base_url.empty()) {
    resolver->forget();
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
