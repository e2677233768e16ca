#include "dashboard.h"

#include <cstdint>
#include <cstdio>
#include <utility>

namespace collector {

namespace {

std::string age(std::optional<std::int64_t> at, std::int64_t now)
{
  if (!at) {
    return "never";
  }
  const std::int64_t s = std::max<std::int64_t>(0, now - *at);
  if (s < 120) {
    return std::to_string(s) + " s ago";
  }
  if (s < 7200) {
    return std::to_string(s / 60) + " min ago";
  }
  if (s < 172800) {
    return std::to_string(s / 3600) + " h ago";
  }
  return std::to_string(s / 86400) + " days ago";
}

constexpr const char* k_style = R"CSS(
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.3em}
table{border-collapse:collapse}
th,td{border:1px solid #ccc;padding:.35em .6em;text-align:left;vertical-align:top}
th.t{writing-mode:vertical-rl;transform:rotate(180deg);white-space:nowrap;font-weight:600}
td.c{text-align:center;min-width:6.5em}
details summary{cursor:pointer;list-style:none}
details p{margin:.3em 0 0;max-width:22em;font-size:.85em;text-align:left;white-space:normal}
.listed{background:#c8f0c8}.pending{background:#fff3bf}.spot-failed{background:#ffc9a8}
.not-ready{background:#ffb3b3}.unknown{background:#eee}.stale{background:#d8d8e8}
.off{background:#bbb;color:#444}
.legend span{display:inline-block;padding:.1em .5em;margin-right:.4em;border:1px solid #ccc}
)CSS";

} // namespace

namespace {

// Invisible or direction-changing code points a mirror could use to disguise its text
// (Trojan Source): bidi embeddings, overrides, isolates and marks, zero-width characters,
// C0/C1 controls other than tab and newline.
bool is_invisible_control(std::uint32_t cp)
{
  return (cp < 0x20 && cp != '\t' && cp != '\n') || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F) ||
         cp == 0xAD || cp == 0x061C || cp == 0x180E || (cp >= 0x200B && cp <= 0x200F) ||
         (cp >= 0x2028 && cp <= 0x202E) || (cp >= 0x2060 && cp <= 0x206F) || cp == 0xFEFF ||
         (cp >= 0xFFF9 && cp <= 0xFFFB);
}

// The code point of the valid UTF-8 sequence at text[i] and its length; length 0 when the
// bytes there are not valid UTF-8 (overlong, surrogate, truncated, out of range).
std::pair<std::uint32_t, std::size_t> decode_utf8(std::string_view text, std::size_t i)
{
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(text[i + k]); };
  const unsigned char c = b(0);
  std::size_t n = c < 0x80           ? 1
                  : (c >> 5) == 0x6  ? 2
                  : (c >> 4) == 0xE  ? 3
                  : (c >> 3) == 0x1E ? 4
                                     : 0;
  if (n == 0 || i + n > text.size()) {
    return {0, 0};
  }
  std::uint32_t cp = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
  for (std::size_t k = 1; k < n; ++k) {
    if ((b(k) & 0xC0) != 0x80) {
      return {0, 0};
    }
    cp = (cp << 6) | (b(k) & 0x3F);
  }
  static constexpr std::uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < min[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    return {0, 0};
  }
  return {cp, n};
}

} // namespace

std::string html_escape(std::string_view text)
{
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const auto [cp, n] = decode_utf8(text, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD"; // U+FFFD for a byte that is not UTF-8
      ++i;
      continue;
    }
    if (is_invisible_control(cp)) {
      char hex[16];
      std::snprintf(hex, sizeof hex, "[U+%04X]", static_cast<unsigned>(cp));
      out += hex; // shown, never obeyed
      i += n;
      continue;
    }
    if (n > 1) {
      out.append(text.substr(i, n));
      i += n;
      continue;
    }
    const char c = text[i];
    ++i;
    switch (c) {
    case '&': out += "&amp;"; break;
    case '<': out += "&lt;"; break;
    case '>': out += "&gt;"; break;
    case '"': out += "&quot;"; break;
    case '\'': out += "&#39;"; break;
    default: out += c;
    }
  }
  return out;
}

std::string render_dashboard(const Catalog& catalog, const Listing& listing, std::int64_t now,
                             std::int64_t stale_after_s)
{
  std::string h = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                  "<title>webseed-collector</title><style>";
  h += k_style;
  h += "</style></head><body>\n<h1>Web-seed mirrors</h1>\n<p>" +
       std::to_string(listing.mirrors.size()) + " mirrors, " +
       std::to_string(catalog.entries().size()) +
       " torrents. A mirror is listed for a torrent when its last judged report (younger than " +
       (stale_after_s % 3600 == 0 ? std::to_string(stale_after_s / 3600) + " h"
                                  : std::to_string(stale_after_s) + " s") +
       ") says ready and the collector's own spot check of random pieces passed.</p>\n"
       "<p class=\"legend\">";
  for (const CellState s :
       {CellState::listed, CellState::pending, CellState::spot_failed, CellState::not_ready,
        CellState::unknown, CellState::stale, CellState::off}) {
    h += "<span class=\"" + std::string(state_name(s)) + "\">" + std::string(state_name(s)) +
         "</span>";
  }
  h += "</p>\n<table id=\"matrix\">\n<tr><th>mirror</th><th>last report</th>";
  for (const CatalogEntry& e : catalog.entries()) {
    std::string title = e.key;
    const auto notes = listing.notes.find(e.key);
    if (notes != listing.notes.end()) {
      for (const TorrentNote& n : notes->second) {
        title += "\n" + n.code + ": " + n.message;
      }
    }
    h += "<th class=\"t\" title=\"" + html_escape(title) + "\">" + html_escape(e.torrent->name) +
         (notes != listing.notes.end() ? " *" : "") + "</th>";
  }
  h += "</tr>\n";
  for (const MirrorRow& m : listing.mirrors) {
    h += "<tr data-mirror=\"" + html_escape(m.name) + "\"><th><a href=\"" +
         html_escape(m.base_url) + "\">" + html_escape(m.name) + "</a></th><td>" +
         html_escape(age(m.last_report_at, now)) + "</td>";
    for (const CatalogEntry& e : catalog.entries()) {
      const Cell& c = listing.cell(m.name, e.key);
      const std::string state(state_name(c.state));
      const std::string clients = clients_line(c.clients);
      const std::string title = c.reason + (clients.empty() ? "" : "\nclients: " + clients);
      h += "<td class=\"c " + state + "\" title=\"" + html_escape(title) + "\"><details><summary>" +
           state + "</summary><p>" + html_escape(c.reason) +
           (clients.empty() ? "" : "<br>clients: " + html_escape(clients)) + "</p></details></td>";
    }
    h += "</tr>\n";
  }
  h += "</table>\n";
  if (!listing.notes.empty()) {
    h += "<h2>Torrent notes</h2>\n<p>About the torrents themselves, on every mirror (no mirror "
         "can fix them; the mirrors stay listed):</p>\n<ul id=\"notes\">\n";
    for (const CatalogEntry& e : catalog.entries()) {
      const auto notes = listing.notes.find(e.key);
      if (notes == listing.notes.end()) {
        continue;
      }
      for (const TorrentNote& n : notes->second) {
        h += "<li><b>" + html_escape(e.torrent->name) + "</b>: " + html_escape(n.code) + ": " +
             html_escape(n.message) + "</li>\n";
      }
    }
    h += "</ul>\n";
  }
  h += "<p>JSON: <a href=\"/api/v1/mirrors\">/api/v1/mirrors</a> · metrics: "
       "<a href=\"/metrics\">/metrics</a></p>\n</body></html>\n";
  return h;
}

} // namespace collector
