// dashboard.h: GET / — one HTML page (no script, no external resource) for the central team:
// a mirrors x torrents matrix, each cell listed / pending / spot-failed / not-ready / unknown /
// stale / off, with the reason on hover (title) and on click (details), and each mirror's last
// report age. Every string shown comes from mirrors or torrents and is HTML-escaped.
#pragma once

#include "catalog.h"
#include "listing.h"

#include <cstdint>
#include <string>

namespace collector {

std::string render_dashboard(const Catalog& catalog, const Listing& listing, std::int64_t now,
                             std::int64_t stale_after_s);

// &, <, >, " and ' as entities; bidi controls, zero-width and other invisible or control
// characters shown as "[U+202E]" (never obeyed); bytes that are not UTF-8 as U+FFFD.
std::string html_escape(std::string_view text);

} // namespace collector
