// dashboard.h: GET / — HTML pages (no script, no external resource) for the central team,
// sized for a real mirror network (500 mirrors x 200 torrents: a page of a few hundred KB):
//   - the overview: one summary row per mirror, those needing attention first (its status:
//     fresh, stale, never reported,
//     disabled, withdrawn; cells per state; last report age; the main reason of its cells
//     not listed), one row per torrent (mirrors per state), and the torrents' notes;
//   - one mirror's page (GET /?mirror=NAME, linked from its row): its cells, each with the
//     state, the reason and the per-client word of its report.
// Every string shown comes from mirrors or torrents and is HTML-escaped.
#pragma once

#include "catalog.h"
#include "events.h"
#include "listing.h"
#include "listing_index.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace collector {

struct DashboardView {
  const Catalog& catalog;
  const ListingIndex::Snapshot& mirrors;
  const std::map<std::string, std::vector<TorrentNote>>& notes; // by catalog key
  std::int64_t now = 0;
  std::int64_t stale_after_s = 0;
};

std::string render_overview(const DashboardView& view);
// One mirror's page: its cells, then its recent `events` (newest first; events.h).
std::string render_mirror_page(const DashboardView& view, const MirrorStatus& mirror,
                               const std::vector<Event>& events = {});
std::string render_not_found(std::string_view what);

// "never reported", "stale", "fresh", "disabled", "withdrawn": the mirror's status line.
std::string mirror_status(const MirrorRow& m, std::int64_t now, std::int64_t stale_after_s);

// &, <, >, " and ' as entities; bidi controls, zero-width and other invisible or control
// characters shown as "[U+202E]" (never obeyed); bytes that are not UTF-8 as U+FFFD.
std::string html_escape(std::string_view text);

} // namespace collector
