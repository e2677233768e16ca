#include "spot_check.h"

#include "address_policy.h"
#include "listing.h"
#include "webseed_probe.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <thread>

namespace collector {

namespace {

bool is_transport(agent::Code code)
{
  return code == agent::Code::http_unreachable || code == agent::Code::http_timeout;
}

// Does the operator's canary URL load now? (Not subject to the address policy: the operator
// chose it.)
bool canary_loads(const CollectorConfig& config, const std::atomic<bool>* cancel)
{
  agent::FetchLimits limits;
  limits.request_timeout = std::chrono::seconds(config.spot.request_timeout_s);
  limits.batch_timeout = limits.request_timeout;
  limits.ca_file = config.spot.ca_file;
  limits.user_agent = "webseed-collector canary";
  limits.cancel = cancel;
  agent::HttpRequest request;
  request.url = config.spot.canary_url;
  request.max_body = 1u << 20;
  const auto answers = agent::fetch_all({request}, limits);
  const agent::HttpResponse& a = answers.front();
  return !a.transport_error && !a.timed_out && a.status >= 200 && a.status < 400;
}

} // namespace

SpotOutcome spot_check_one(const CatalogEntry& entry, const MirrorRow& mirror,
                           const CollectorConfig& config, std::mt19937_64& random, std::int64_t now,
                           const std::atomic<bool>* cancel, std::uint64_t wanted,
                           const MirrorConnections* connections)
{
  const agent::Torrent& t = *entry.torrent;
  SpotOutcome outcome;
  SpotCheck& result = outcome.check;
  result.mirror = mirror.name;
  result.info_hash = entry.key;
  result.checked_at = now;
  if (t.piece_length > config.spot.max_piece_bytes) {
    result.reason = "pieces larger than spot_check.max_piece_bytes: not checked";
    result.ok = true;
    return outcome;
  }
  std::uint64_t count = t.piece_count;
  if (!t.has_v1) {
    std::uint64_t largest = 0;
    for (const agent::TorrentFile& f : t.files) {
      largest = std::max(largest, f.pad ? 0 : f.length);
    }
    count = (largest + t.piece_length - 1) / t.piece_length;
  }
  std::vector<std::uint64_t> pieces;
  std::uniform_int_distribution<std::uint64_t> pick(0, count == 0 ? 0 : count - 1);
  const std::uint64_t asked = wanted == 0 ? config.spot.pieces : wanted;
  for (std::uint64_t i = 0; i < std::min<std::uint64_t>(asked, count); ++i) {
    std::uint64_t p = pick(random);
    while (std::find(pieces.begin(), pieces.end(), p) != pieces.end()) {
      p = (p + 1) % count;
    }
    pieces.push_back(p);
  }
  std::sort(pieces.begin(), pieces.end());
  agent::ProbeSettings settings;
  settings.base_url = mirror.base_url;
  settings.symlinks_dir = config.symlinks_dir;
  settings.fetch.request_timeout = std::chrono::seconds(config.spot.request_timeout_s);
  settings.fetch.batch_timeout = std::chrono::seconds(config.spot.request_timeout_s * 2);
  settings.fetch.ca_file = config.spot.ca_file;
  settings.fetch.user_agent = "webseed-collector spot check";
  settings.families = agent::probe_families(mirror.base_url);
  settings.fetch.cancel = cancel;
  if (connections != nullptr) {
    settings.fetch.share = connections->any;
    for (const agent::AddressFamily f : settings.families) {
      settings.family_shares.push_back(f == agent::AddressFamily::ipv6 ? connections->ipv6
                                                                         : connections->ipv4);
    }
  }
  const auto policy =
      std::make_shared<const AddressPolicy>(mirror.base_url, config.spot.allow_private);
  settings.fetch.allow_connect = [policy](const sockaddr& a) { return policy->allows(a); };
  const auto items = agent::plan_pieces(t, pieces);
  const agent::ProbeResult probe = agent::probe_items(
      t, items, [](std::size_t, std::uint64_t, std::uint64_t) { return std::nullopt; }, settings);
  std::string list;
  for (const std::uint64_t p : probe.pieces_verified) {
    list += (list.empty() ? "" : ", ") + std::to_string(p);
  }
  const bool all = probe.pieces_verified.size() == items.size() && !items.empty();
  if (all && !agent::has_error(probe.findings)) {
    double seconds = 0;
    for (const agent::ProbeRequest& r : probe.requests) {
      seconds += r.seconds;
    }
    result.bytes_per_second =
        static_cast<std::int64_t>(static_cast<double>(probe.bytes) / std::max(seconds, 0.001));
    result.ok = true;
    result.reason = "piece" + std::string(items.size() == 1 ? " " : "s ") + list + " verified";
    return outcome;
  }
  for (const agent::Finding& f : probe.findings) {
    if (f.severity() == agent::Severity::error) {
      // Published to unauthenticated readers: the code and the mirror's own URL only (the
      // message may quote libcurl's text or where a redirect pointed: a port-scan oracle).
      result.reason =
          std::string(agent::code_name(f.code)) + (f.url.empty() ? "" : " (" + f.url + ")");
      outcome.detail = f.message;
      outcome.transport = is_transport(f.code);
      return outcome;
    }
  }
  result.reason = "no piece could be verified";
  outcome.transport = true;
  return outcome;
}

SpotRound spot_check_round(Store& store, const Catalog& catalog, const CollectorConfig& config,
                           std::int64_t now, const std::atomic<bool>* cancel, InFlight* in_flight)
{
  SpotRound round;
  const std::vector<MirrorRow> mirrors = store.mirrors();
  const std::vector<CatalogEntry>& entries = catalog.entries();
  struct Due {
    std::int64_t last;
    const MirrorRow* mirror;
    const CatalogEntry* entry;
    std::uint64_t pieces; // 0: spot_check.pieces
    std::uint64_t turn;   // never-checked pairs: the mirror's 1st, 2nd, ... (mirrors take turns)
  };
  std::vector<Due> due;
  std::mt19937_64 pick{std::random_device{}()};
  for (const MirrorRow& m : mirrors) { // one mirror's rows at a time: memory bounded
    if (m.disabled || !m.opted_in || !m.judged_at || now - *m.judged_at > config.stale_after_s) {
      continue;
    }
    const std::vector<Claim> claims = store.claims_of(m.name);
    const std::vector<SpotCheck> spots = store.spot_checks_of(m.name);
    std::vector<const Claim*> claim_of(entries.size(), nullptr);
    for (const Claim& c : claims) {
      if (const CatalogEntry* e = claimed_entry(catalog, c)) {
        claim_of[static_cast<std::size_t>(e - entries.data())] = &c;
      }
    }
    std::vector<const SpotCheck*> last(entries.size(), nullptr);
    for (const SpotCheck& c : spots) {
      if (const CatalogEntry* e = catalog.find(c.info_hash); e && e->key == c.info_hash) {
        last[static_cast<std::size_t>(e - entries.data())] = &c;
      }
    }
    std::vector<const CatalogEntry*> passed; // this mirror's claimed pairs that passed
    std::int64_t newest = 0;
    // Turns: a mirror with k pairs checked already offers its next never-checked pair as turn
    // k, so every mirror's first check comes before any mirror's second, and so on.
    std::uint64_t fresh = static_cast<std::uint64_t>(
        std::count_if(last.begin(), last.end(), [](const SpotCheck* c) { return c != nullptr; }));
    for (std::size_t i = 0; i < entries.size(); ++i) {
      const CatalogEntry& e = entries[i];
      if (claim_of[i] == nullptr || !claim_of[i]->ready) {
        continue; // claimed ready (the mirror: enabled, opted in, fresh; see above)
      }
      if (last[i] == nullptr) {
        due.push_back({0, &m, &e, 0, fresh++}); // never checked: first, mirrors taking turns
        continue;
      }
      const SpotCheck& p = *last[i];
      if (p.ok) {
        passed.push_back(&e);
        newest = std::max(newest, p.checked_at);
      } else if (now - p.checked_at >=
                 std::min(config.spot.interval_s, config.spot.retry_failed_after_s)) {
        due.push_back({p.checked_at, &m, &e, 0, 0});
      }
    }
    if (!passed.empty() && now - newest >= config.spot.interval_s) { // one sampled pair
      std::uniform_int_distribution<std::size_t> one(0, passed.size() - 1);
      due.push_back({newest, &m, passed[one(pick)], 1, 0});
    }
  }
  std::size_t slots = std::max<std::uint64_t>(1, config.spot.max_concurrent_mirrors);
  if (in_flight != nullptr) { // mirrors another round is checking are left to it
    std::lock_guard lock(in_flight->mutex);
    std::erase_if(due, [&](const Due& d) { return in_flight->mirrors.contains(d.mirror->name); });
    slots = in_flight->mirrors.size() >= slots ? 0 : slots - in_flight->mirrors.size();
    if (slots == 0) {
      due.clear();
    }
  }
  std::stable_sort(due.begin(), due.end(), [](const Due& a, const Due& b) {
    return std::pair(a.last, a.turn) < std::pair(b.last, b.turn);
  });
  if (due.size() > config.spot.max_checks_per_round) {
    due.resize(config.spot.max_checks_per_round);
  }
  if (config.spot.bytes_per_hour > 0) { // this round's share of the hour's piece bytes
    const std::uint64_t budget =
        config.spot.bytes_per_hour * static_cast<std::uint64_t>(config.spot.round_every_s) / 3600;
    std::uint64_t spent = 0;
    std::size_t keep = 0;
    for (; keep < due.size(); ++keep) {
      const agent::Torrent& t = *due[keep].entry->torrent;
      const std::uint64_t cost =
          (due[keep].pieces == 0 ? config.spot.pieces : due[keep].pieces) *
          (t.piece_length > config.spot.max_piece_bytes ? 0 : t.piece_length);
      if (keep > 0 && spent + cost > budget) {
        break;
      }
      spent += cost;
    }
    due.resize(keep);
  }
  // The due pairs of each mirror, in priority order; mirrors checked concurrently (at most
  // max_concurrent_mirrors at once), each mirror's pairs one after the other until its
  // deadline: a stalled mirror delays only itself.
  std::vector<std::vector<std::size_t>> groups;
  {
    std::map<std::string, std::size_t> group_of;
    for (std::size_t i = 0; i < due.size(); ++i) {
      const auto [it, added] = group_of.try_emplace(due[i].mirror->name, groups.size());
      if (added) {
        groups.emplace_back();
      }
      groups[it->second].push_back(i);
    }
  }
  if (in_flight != nullptr) { // ours until each mirror's group is done
    std::lock_guard lock(in_flight->mutex);
    for (const auto& g : groups) {
      in_flight->mirrors.insert(due[g.front()].mirror->name);
    }
  }
  const auto release = [&](std::size_t g) {
    if (in_flight != nullptr) {
      std::lock_guard lock(in_flight->mutex);
      in_flight->mirrors.erase(due[groups[g].front()].mirror->name);
    }
  };
  std::vector<std::optional<SpotOutcome>> outcomes(due.size());
  std::atomic<std::size_t> next_group{0};
  std::random_device seed;
  const auto work = [&](std::uint64_t worker_seed) {
    std::mt19937_64 random(worker_seed);
    for (std::size_t g = next_group++; g < groups.size(); g = next_group++) {
      const auto deadline =
          std::chrono::steady_clock::now() + std::chrono::seconds(config.spot.mirror_deadline_s);
      // One mirror's checks one after the other over kept-alive connections.
      const MirrorConnections connections;
      for (const std::size_t i : groups[g]) {
        if ((cancel != nullptr && cancel->load()) || std::chrono::steady_clock::now() >= deadline) {
          break; // the rest of this mirror waits for the next round
        }
        SpotOutcome r = spot_check_one(*due[i].entry, *due[i].mirror, config, random, now, cancel,
                                       due[i].pieces, &connections);
        if (cancel != nullptr && cancel->load()) {
          break; // cut short: not a verdict
        }
        if (r.check.ok || !r.transport) {
          store.record_spot_check(r.check); // at once: never the guard's business
        }
        outcomes[i] = std::move(r);
      }
      release(g);
    }
  };
  {
    const std::size_t n = std::min<std::size_t>(groups.size(), slots);
    std::vector<std::thread> workers;
    for (std::size_t w = 1; w < n; ++w) {
      workers.emplace_back(work, seed());
    }
    work(seed());
    for (std::thread& t : workers) {
      t.join();
    }
  }
  std::vector<SpotOutcome> results;
  std::map<std::string, std::pair<std::size_t, std::size_t>> per_mirror; // transport, total
  for (std::optional<SpotOutcome>& o : outcomes) {
    if (!o) {
      continue;
    }
    auto& [transport, total] = per_mirror[o->check.mirror];
    ++total;
    transport += !o->check.ok && o->transport ? 1 : 0;
    results.push_back(std::move(*o));
  }
  round.checked = results.size();
  for (const SpotOutcome& r : results) {
    round.failed += r.check.ok ? 0 : 1;
  }
  // Every mirror failing most of its checks in transport at once: suspect our own network,
  // if the canary agrees (or, without one, if enough distinct mirrors say so).
  const bool everyone_unreachable =
      !per_mirror.empty() && std::all_of(per_mirror.begin(), per_mirror.end(), [](const auto& m) {
        return m.second.first * 2 > m.second.second;
      });
  bool ours = false;
  if (everyone_unreachable) {
    if (!config.spot.canary_url.empty()) {
      ours = !canary_loads(config, cancel);
    } else {
      ours = per_mirror.size() >= config.spot.network_quorum;
    }
  }
  if (ours) {
    round.discarded = true;
    round.messages.push_back(
        "spot checks: most checks failed in transport for all " +
        std::to_string(per_mirror.size()) + " mirrors at once" +
        (config.spot.canary_url.empty()
             ? std::string()
             : " and the canary " + config.spot.canary_url + " does not load") +
        "; suspecting the collector's own network, transport failures not recorded this round");
  }
  for (const SpotOutcome& o : results) {
    const SpotCheck& r = o.check;
    if (!r.ok && o.transport) {
      if (ours) {
        continue;
      }
      store.record_spot_check(r);
    }
    if (!r.ok) {
      round.messages.push_back("spot check failed: mirror " + r.mirror + ", torrent " +
                               r.info_hash + ": " + r.reason +
                               (o.detail.empty() ? "" : ": " + o.detail));
    }
  }
  return round;
}

} // namespace collector
