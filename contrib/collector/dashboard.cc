#include "dashboard.h"

#include <algorithm>
#include <array>
#include <cctype>
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
h1{font-size:1.3em}h2{font-size:1.1em;margin-top:1.5em}
table{border-collapse:collapse}
th,td{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}
td.n{text-align:right;font-variant-numeric:tabular-nums}
td.n.z{color:#bbb}
td.r{max-width:40em;font-size:.9em}
.listed{background:#c8f0c8}.pending{background:#fff3bf}.spot-failed{background:#ffc9a8}
.not-ready{background:#ffb3b3}.unknown{background:#eee}.stale{background:#d8d8e8}
.never{background:#e8d8e8}.off{background:#bbb;color:#444}.fresh{background:#c8f0c8}
.legend span{display:inline-block;padding:.1em .5em;margin-right:.4em;border:1px solid #ccc}
)CSS";

constexpr CellState k_states[] = {CellState::listed,    CellState::pending, CellState::spot_failed,
                                  CellState::not_ready, CellState::unknown, CellState::stale,
                                  CellState::off};

std::string head(const std::string& title)
{
  return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" +
         html_escape(title) + "</title><style>" + k_style + "</style></head><body>\n";
}

std::string number_cell(std::uint64_t n, const std::string& state)
{
  return "<td class=\"n " + (n == 0 ? std::string("z") : state) + "\">" + std::to_string(n) +
         "</td>";
}

// Percent-encodes everything but unreserved characters (a query value).
std::string query_escape(std::string_view s)
{
  std::string out;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += ch;
    } else {
      char hex[4];
      std::snprintf(hex, sizeof hex, "%%%02X", c);
      out += hex;
    }
  }
  return out;
}

std::string stale_after_text(std::int64_t s)
{
  return s % 3600 == 0 ? std::to_string(s / 3600) + " h" : std::to_string(s) + " s";
}

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

std::string mirror_status(const MirrorRow& m, std::int64_t now, std::int64_t stale_after_s)
{
  if (m.disabled) {
    return "disabled";
  }
  if (!m.opted_in) {
    return "withdrawn";
  }
  if (!m.last_report_at) {
    return "never reported";
  }
  if (!m.judged_at || now - *m.judged_at > stale_after_s) {
    return "stale";
  }
  return "fresh";
}

std::string render_overview(const DashboardView& v)
{
  std::string h = head("webseed-collector");
  std::array<std::uint64_t, k_cell_states> cells{};
  std::map<std::string, std::size_t> statuses;
  std::size_t never = 0; // enabled mirrors that never reported: every cell of theirs is "stale"
  for (const auto& m : v.mirrors) {
    for (std::size_t s = 0; s < k_cell_states; ++s) {
      cells[s] += m->counts[s];
    }
    const std::string status = mirror_status(m->row, v.now, v.stale_after_s);
    ++statuses[status];
    never += status == "never reported" ? 1 : 0;
  }
  h += "<h1>Web-seed mirrors</h1>\n<p id=\"summary\">" + std::to_string(v.mirrors.size()) +
       " mirrors, " + std::to_string(v.catalog.entries().size()) + " torrents; " +
       std::to_string(cells[static_cast<std::size_t>(CellState::listed)]) +
       " (mirror, torrent) pairs listed. Mirrors:";
  for (const auto& [status, n] : statuses) {
    h += " " + std::to_string(n) + " " + status + ";";
  }
  h += "</p>\n<p>A mirror is listed for a torrent when its last judged report (younger than " +
       stale_after_text(v.stale_after_s) +
       ") says ready and the collector's own spot check of random pieces passed. Each mirror's "
       "name leads to its cells.</p>\n<p class=\"legend\">";
  for (const CellState s : k_states) {
    h += "<span class=\"" + std::string(state_name(s)) + "\">" + std::string(state_name(s)) +
         "</span>";
  }
  h += "<span class=\"never\">never reported</span></p>\n";

  h += "<h2>Mirrors</h2>\n<p>Those needing attention first (a cell not listed, or not "
       "fresh).</p>\n<table id=\"mirrors\">\n<tr><th>mirror</th><th>status</th><th>last "
       "report</th>";
  for (const CellState s : k_states) {
    h += "<th>" + std::string(state_name(s)) + "</th>";
  }
  h += "<th>never reported</th><th>main reason (cells not listed)</th></tr>\n";
  // Mirrors needing attention first (any cell not listed, or not fresh), each part by name.
  std::vector<const MirrorStatus*> order;
  for (const auto& m : v.mirrors) {
    order.push_back(m.get());
  }
  std::stable_partition(order.begin(), order.end(), [&](const MirrorStatus* m) {
    return !m->main_reason.empty() || mirror_status(m->row, v.now, v.stale_after_s) != "fresh";
  });
  for (const MirrorStatus* mp : order) {
    const MirrorStatus& m = *mp;
    const std::string status = mirror_status(m.row, v.now, v.stale_after_s);
    const bool is_never = status == "never reported";
    const std::string status_class = is_never                ? "never"
                                     : status == "disabled"  ? "off"
                                     : status == "withdrawn" ? "off"
                                                             : status;
    h += "<tr data-mirror=\"" + html_escape(m.row.name) + "\" data-status=\"" + status +
         "\"><th><a href=\"/?mirror=" + query_escape(m.row.name) + "\">" + html_escape(m.row.name) +
         "</a></th><td class=\"" + status_class + "\">" + status + "</td><td>" +
         html_escape(age(m.row.last_report_at, v.now)) + "</td>";
    for (const CellState s : k_states) {
      const std::uint64_t n = s == CellState::stale && is_never ? 0 : m.count(s);
      h += number_cell(n, std::string(state_name(s)));
    }
    h += number_cell(is_never ? m.count(CellState::stale) : 0, "never");
    h += "<td class=\"r\">" +
         (m.main_reason.empty()
              ? std::string()
              : html_escape(m.main_reason) + " (" + std::to_string(m.main_reason_cells) + ")") +
         "</td></tr>\n";
  }
  h += "</table>\n";

  h += "<h2>Torrents</h2>\n<table id=\"torrents\">\n<tr><th>torrent</th><th>info-hash</th>";
  for (const CellState s : k_states) {
    h += "<th>" + std::string(state_name(s)) + "</th>";
  }
  h += "<th>never reported</th></tr>\n";
  const std::vector<CatalogEntry>& entries = v.catalog.entries();
  std::vector<std::array<std::uint32_t, k_cell_states>> per(entries.size());
  for (const auto& m : v.mirrors) {
    for (std::size_t i = 0; i < m->cells.size() && i < per.size(); ++i) {
      ++per[i][static_cast<std::size_t>(m->cells[i].state)];
    }
  }
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const CatalogEntry& e = entries[i];
    const auto notes = v.notes.find(e.key);
    std::string title;
    if (notes != v.notes.end()) {
      for (const TorrentNote& n : notes->second) {
        title += (title.empty() ? "" : "\n") + n.code + ": " + n.message;
      }
    }
    h += "<tr data-torrent=\"" + e.key + "\"><th title=\"" + html_escape(title) + "\">" +
         html_escape(e.torrent->name) + (notes != v.notes.end() ? " *" : "") + "</th><td>" +
         e.key.substr(0, 12) + "</td>";
    for (const CellState s : k_states) {
      const std::uint64_t n = s == CellState::stale ? per[i][static_cast<std::size_t>(s)] - never
                                                    : per[i][static_cast<std::size_t>(s)];
      h += number_cell(n, std::string(state_name(s)));
    }
    h += number_cell(never, "never") + "</tr>\n";
  }
  h += "</table>\n";
  if (!v.notes.empty()) {
    h += "<h2>Torrent notes</h2>\n<p>About the torrents themselves, on every mirror (no mirror "
         "can fix them; the mirrors stay listed):</p>\n<ul id=\"notes\">\n";
    for (const CatalogEntry& e : entries) {
      const auto notes = v.notes.find(e.key);
      if (notes == v.notes.end()) {
        continue;
      }
      for (const TorrentNote& n : notes->second) {
        h += "<li><b>" + html_escape(e.torrent->name) + "</b>: " + html_escape(n.code) + ": " +
             html_escape(n.message) + "</li>\n";
      }
    }
    h += "</ul>\n";
  }
  h += "<p>JSON: <a href=\"/api/v1/mirrors?torrents=false\">/api/v1/mirrors?torrents=false</a> "
       "(summaries), <a href=\"/api/v1/mirrors\">/api/v1/mirrors</a> (every cell) · metrics: "
       "<a href=\"/metrics\">/metrics</a></p>\n</body></html>\n";
  return h;
}

std::string render_mirror_page(const DashboardView& v, const MirrorStatus& m,
                               const std::vector<Event>& events)
{
  const std::string status = mirror_status(m.row, v.now, v.stale_after_s);
  std::string h = head(m.row.name + " - webseed-collector");
  h += "<p><a href=\"/\">all mirrors</a></p>\n<h1>" + html_escape(m.row.name) +
       "</h1>\n<p id=\"mirror\">base URL <a href=\"" + html_escape(m.row.base_url) + "\">" +
       html_escape(m.row.base_url) + "</a>; status <span data-status=\"" + status + "\">" + status +
       "</span>; last report " + html_escape(age(m.row.last_report_at, v.now)) +
       "; last judged report " + html_escape(age(m.row.judged_at, v.now)) + "</p>\n";
  h += "<table id=\"cells\">\n<tr><th>torrent</th><th>state</th><th>reason</th><th>clients "
       "(from the report)</th></tr>\n";
  const std::vector<CatalogEntry>& entries = v.catalog.entries();
  for (std::size_t i = 0; i < entries.size() && i < m.cells.size(); ++i) {
    const IndexCell& c = m.cells[i];
    const std::string state(state_name(c.state));
    const auto notes = v.notes.find(entries[i].key);
    h += "<tr data-torrent=\"" + entries[i].key + "\"><th>" +
         html_escape(entries[i].torrent->name) + (notes != v.notes.end() ? " *" : "") +
         "</th><td class=\"c " + state + "\">" + state + "</td><td class=\"r\">" +
         html_escape(c.reason) + "</td><td>" +
         (c.clients ? html_escape(clients_line(*c.clients)) : std::string()) + "</td></tr>\n";
  }
  h += "</table>\n";
  if (!events.empty()) {
    h += "<h2>Recent events</h2>\n<table id=\"events\">\n<tr><th>when</th><th>what</th>"
         "<th>from</th><th>to</th><th>reason</th></tr>\n";
    for (const Event& e : events) {
      const CatalogEntry* entry = e.info_hash.empty() ? nullptr : v.catalog.find(e.info_hash);
      const std::string what = e.info_hash.empty() ? "(the mirror)"
                               : entry != nullptr  ? entry->torrent->name
                                                   : e.info_hash;
      h += "<tr><td>" + html_escape(age(e.at, v.now)) + "</td><td>" + html_escape(what) +
           "</td><td>" + html_escape(e.from.empty() ? "(new)" : e.from) + "</td><td>" +
           html_escape(e.to) + "</td><td class=\"r\">" + html_escape(e.reason) + "</td></tr>\n";
    }
    h += "</table>\n";
  }
  h += "<p>JSON: <a href=\"/api/v1/mirrors/" + query_escape(m.row.name) + "\">/api/v1/mirrors/" +
       html_escape(m.row.name) + "</a>, <a href=\"/api/v1/mirrors/" + query_escape(m.row.name) +
       "/events\">events</a></p>\n</body></html>\n";
  return h;
}

std::string render_not_found(std::string_view what)
{
  return head("webseed-collector") + "<p><a href=\"/\">all mirrors</a></p>\n<p>" +
         html_escape(what) + "</p>\n</body></html>\n";
}

} // namespace collector
