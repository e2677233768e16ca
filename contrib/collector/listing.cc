#include "listing.h"

#include "client_families.h"
#include "torrent_output.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <ctime>
#include <limits>

namespace collector {

namespace {

std::string duration_text(std::int64_t s)
{
  return s < 120    ? std::to_string(s) + " s"
         : s < 7200 ? std::to_string(s / 60) + " min"
                    : std::to_string(s / 3600) + " h";
}

} // namespace

std::string_view state_name(CellState state)
{
  switch (state) {
  case CellState::listed: return "listed";
  case CellState::pending: return "pending";
  case CellState::spot_failed: return "spot-failed";
  case CellState::not_ready: return "not-ready";
  case CellState::unknown: return "unknown";
  case CellState::stale: return "stale";
  case CellState::off: return "off";
  }
  return "unknown";
}

const Cell& Listing::cell(const std::string& mirror, const std::string& key) const
{
  static const Cell none{CellState::unknown, "no report mentions this torrent"};
  const auto it = cells.find({mirror, key});
  return it == cells.end() ? none : it->second;
}

std::vector<std::string> Listing::base_urls(const std::string& key) const
{
  std::vector<std::string> out;
  for (const MirrorRow& m : mirrors) {
    if (cell(m.name, key).state == CellState::listed) {
      out.push_back(m.base_url);
    }
  }
  return out;
}

// {"libtorrent": true, ...} as stored from a report; malformed or non-boolean entries are
// left out (a report passed the schema, but the database is not trusted with our output).
std::map<std::string, bool> parse_clients(const std::string& text)
{
  std::map<std::string, bool> out;
  const auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) {
    return out;
  }
  for (const auto& [family, usable] : j.items()) {
    if (usable.is_boolean() && out.size() < 8 && family.size() < 32) {
      out[family] = usable.get<bool>();
    }
  }
  return out;
}

const CatalogEntry* claimed_entry(const Catalog& catalog, const Claim& c)
{
  const CatalogEntry* e = catalog.find(!c.info_hash_v1.empty() ? c.info_hash_v1 : c.info_hash_v2);
  if (!e && !c.info_hash_v2.empty()) {
    e = catalog.find(c.info_hash_v2);
  }
  return e;
}

Cell cell_for(const MirrorRow& m, const Claim* claim, const SpotCheck* spot,
              const ListingPolicy& policy, bool with_clients)
{
  Cell c;
  if (m.disabled) {
    c = {CellState::off, "disabled by the central team"};
  } else if (!m.opted_in) {
    c = {CellState::off, "withdrawn by the mirror (not opted in)"};
  } else if (!m.judged_at || policy.now - *m.judged_at > policy.stale_after_s) {
    c = {CellState::stale, m.judged_at
                               ? "no judged report for " + duration_text(policy.now - *m.judged_at)
                               : "never reported a judged tree"};
  } else if (claim == nullptr) {
    c = {CellState::unknown, "the last report does not mention this torrent"};
  } else if (!claim->ready) {
    c = {CellState::not_ready, claim->reason.empty() ? "not ready" : claim->reason};
  } else if (!policy.spot_checks) {
    c = {CellState::listed, "ready (spot checks off)"};
  } else if (spot == nullptr) {
    c = {CellState::pending, "ready by its report; awaiting the collector's spot check"};
  } else if (!spot->ok) {
    c = {CellState::spot_failed, "spot check failed: " + spot->reason};
  } else {
    c = {CellState::listed, "ready; spot check passed: " + spot->reason};
  }
  if (with_clients && claim != nullptr && !claim->clients_json.empty()) {
    c.clients = parse_clients(claim->clients_json);
  }
  return c;
}

std::int64_t cells_change_at(const MirrorRow& m, const ListingPolicy& policy)
{
  if (m.disabled || !m.opted_in || !m.judged_at) {
    return std::numeric_limits<std::int64_t>::max();
  }
  const std::int64_t stale_from = *m.judged_at + policy.stale_after_s + 1;
  return stale_from > policy.now ? stale_from : policy.now + 60;
}

Listing compute_listing(const Catalog& catalog, const std::vector<MirrorRow>& mirrors,
                        const std::vector<Claim>& claims, const std::vector<SpotCheck>& spots,
                        const ListingPolicy& policy)
{
  Listing l;
  l.mirrors = mirrors;
  std::map<std::pair<std::string, std::string>, const Claim*> claim_of;
  for (const Claim& c : claims) {
    if (const CatalogEntry* e = claimed_entry(catalog, c)) {
      claim_of[{c.mirror, e->key}] = &c;
    }
  }
  std::map<std::pair<std::string, std::string>, const SpotCheck*> spot_of;
  for (const SpotCheck& s : spots) {
    spot_of[{s.mirror, s.info_hash}] = &s;
  }
  for (const MirrorRow& m : mirrors) {
    for (const CatalogEntry& e : catalog.entries()) {
      const auto claim = claim_of.find({m.name, e.key});
      const auto spot = spot_of.find({m.name, e.key});
      l.cells[{m.name, e.key}] = cell_for(m, claim == claim_of.end() ? nullptr : claim->second,
                                          spot == spot_of.end() ? nullptr : spot->second, policy);
    }
  }
  std::map<std::string, std::vector<const Claim*>> claims_of;
  for (const MirrorRow& m : mirrors) {
    if (m.disabled || !m.opted_in) {
      continue;
    }
    for (const CatalogEntry& e : catalog.entries()) {
      if (const auto claim = claim_of.find({m.name, e.key}); claim != claim_of.end()) {
        claims_of[e.key].push_back(claim->second);
      }
    }
  }
  for (const CatalogEntry& e : catalog.entries()) {
    std::vector<TorrentNote> notes = torrent_notes(e, claims_of[e.key]);
    if (!notes.empty()) {
      l.notes[e.key] = std::move(notes);
    }
  }
  return l;
}

std::vector<TorrentNote> torrent_own_notes(const CatalogEntry& entry)
{
  std::vector<TorrentNote> notes;
  const agent::Torrent& t = *entry.torrent;
  for (auto f : {agent::format_finding(t, t.name), agent::quirk_finding(entry.file, t)}) {
    if (f) {
      notes.push_back({std::string(agent::code_name(f->code)), f->message,
                       agent::client_names(agent::affected_clients(*f))});
    }
  }
  return notes;
}

bool says_pad_files_not_served(const Claim& c)
{
  if (c.codes_json.find("pad-files-not-served") == std::string::npos) {
    return false; // no parse for the common case
  }
  const auto codes = nlohmann::json::parse(c.codes_json, nullptr, false);
  return codes.is_array() &&
         std::find(codes.begin(), codes.end(), "pad-files-not-served") != codes.end();
}

TorrentNote pad_files_note()
{
  return {"pad-files-not-served",
          "no mirror serves this torrent's BEP 47 pad files (NAME/.pad/N): aria2 and "
          "Transmission 3 fail on it everywhere; ship zero-filled .pad/N files in the "
          "torrent-symlinks tree, or make the torrent without pad files",
          agent::client_names(agent::client_row(agent::Code::pad_files_not_served).clients)};
}

std::vector<TorrentNote> torrent_notes(const CatalogEntry& entry,
                                       const std::vector<const Claim*>& claims)
{
  std::vector<TorrentNote> notes = torrent_own_notes(entry);
  if (!claims.empty() && std::all_of(claims.begin(), claims.end(), [](const Claim* c) {
        return says_pad_files_not_served(*c);
      })) {
    notes.push_back(pad_files_note());
  }
  return notes;
}

std::string clients_line(const std::map<std::string, bool>& clients)
{
  std::string out;
  for (const auto& [family, usable] : clients) {
    out += (out.empty() ? "" : ", ") + family + (usable ? " yes" : " no");
  }
  return out;
}

std::string webseed_base(const std::string& base_url, const std::string& symlinks_dir)
{
  std::string out = base_url;
  if (out.empty() || out.back() != '/') {
    out += '/';
  }
  return out + symlinks_dir + "/";
}

} // namespace collector
