#include "api.h"

#include "dashboard.h"
#include "listing.h"
#include "report_check.h"
#include "tokens.h"

#include <nlohmann/json.hpp>

#include <cctype>
#include <expected>
#include <map>
#include <optional>

namespace collector {

namespace {

using Json = nlohmann::ordered_json;

HttpResponse json_response(int status, const Json& body)
{
  // Reasons may quote untrusted bytes: invalid UTF-8 is replaced, never a throw.
  return HttpResponse{status,
                      "application/json",
                      body.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n",
                      {},
                      {}};
}

HttpResponse error(int status, const std::string& message)
{
  return json_response(status, Json{{"error", message}});
}

bool is_hex(std::string_view s)
{
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// The enabled mirror the request's bearer token belongs to, or the 401 answer.
std::expected<MirrorRow, HttpResponse> authenticate(ApiContext& ctx, const HttpRequest& req)
{
  const std::string auth = req.header("authorization");
  constexpr std::string_view bearer = "Bearer ";
  if (!auth.starts_with(bearer) || auth.size() == bearer.size()) {
    ++ctx.reports_refused;
    return std::unexpected(error(401, "missing bearer token"));
  }
  auto mirror = ctx.store.mirror_by_token(token_hash(auth.substr(bearer.size())));
  if (!mirror || mirror->disabled) {
    ++ctx.reports_refused;
    return std::unexpected(error(401, "unknown or disabled token"));
  }
  return std::move(*mirror);
}

HttpResponse post_report(ApiContext& ctx, const HttpRequest& req)
{
  auto mirror = authenticate(ctx, req);
  if (!mirror) {
    return mirror.error();
  }
  const std::string type = req.header("content-type");
  if (type != "application/json" && !type.starts_with("application/json;")) {
    ++ctx.reports_refused;
    return error(415, "Content-Type must be application/json");
  }
  auto report = check_report(req.body, *mirror, req.header("idempotency-key"));
  if (!report) {
    ++ctx.reports_refused;
    return error(400, report.error());
  }
  // The mirror's bucket: refilled by time; at least one token needed to store a report.
  const std::int64_t now = ctx.now();
  const double per_s = static_cast<double>(ctx.config.report_per_hour) / 3600.0;
  const double burst = static_cast<double>(ctx.config.report_burst);
  {
    std::lock_guard lock(ctx.rate_mutex);
    ApiContext::Bucket& b = ctx.rate[mirror->name];
    if (!b.started) {
      b = {burst, now, true};
    }
    b.tokens = std::min(
        burst, b.tokens + per_s * static_cast<double>(std::max<std::int64_t>(0, now - b.at)));
    b.at = now;
    if (b.tokens < 1.0 && !ctx.store.has_report(report->report_id)) {
      ++ctx.reports_refused;
      const auto wait = static_cast<std::int64_t>((1.0 - b.tokens) / per_s) + 1;
      HttpResponse busy = error(429, "mirror " + mirror->name + " sent more than " +
                                         std::to_string(ctx.config.report_per_hour) +
                                         " reports an hour (report_rate); send it again later");
      busy.headers.emplace_back("Retry-After", std::to_string(wait));
      return busy;
    }
  }
  const auto stored = ctx.store.ingest(mirror->name, *report, now);
  if (!stored) {
    return error(503, "cannot store the report now; send it again later");
  }
  if (*stored == Store::Ingest::duplicate) {
    ++ctx.reports_duplicate;
    return json_response(200, Json{{"status", "duplicate"}, {"report_id", report->report_id}});
  }
  ++ctx.reports_stored;
  {
    std::lock_guard lock(ctx.rate_mutex);
    ctx.rate[mirror->name].tokens -= 1.0;
  }
  return json_response(202, Json{{"status", "accepted"}, {"report_id", report->report_id}});
}

std::optional<std::string> query_value(const std::string& target, std::string_view key);

// The catalog entry for an info-hash as asked (either case), or the 400/404 answer.
std::expected<const CatalogEntry*, HttpResponse> entry_for(const Catalog& catalog,
                                                           const std::string& asked)
{
  // Upper-case hex is the same info-hash (clients and trackers print either case).
  std::string info_hash = asked;
  std::transform(info_hash.begin(), info_hash.end(), info_hash.begin(), [](char c) {
    return c >= 'A' && c <= 'F' ? static_cast<char>(c - 'A' + 'a') : c;
  });
  if (!((info_hash.size() == 40 || info_hash.size() == 64) && is_hex(info_hash))) {
    return std::unexpected(error(400, "an info-hash is 40 (v1) or 64 (v2) hex digits"));
  }
  const CatalogEntry* e = catalog.find(info_hash);
  if (!e) {
    return std::unexpected(error(404, "no such torrent in the collector's catalog"));
  }
  return e;
}

std::vector<std::string> published_webseeds(ApiContext& ctx, CatalogView& v, const std::string& key);

HttpResponse get_magnet(ApiContext& ctx, CatalogView& v, const std::string& asked,
                        const std::string& target)
{
  const auto e = entry_for(*v.catalog, asked);
  if (!e) {
    return e.error();
  }
  std::vector<std::string> trackers;
  for (const auto& tier : (*e)->torrent->trackers) {
    trackers.insert(trackers.end(), tier.begin(), tier.end());
  }
  for (const std::string& t : ctx.config.publish.trackers) {
    if (std::find(trackers.begin(), trackers.end(), t) == trackers.end()) {
      trackers.push_back(t);
    }
  }
  return magnet_response(**e, published_webseeds(ctx, v, (*e)->key), trackers,
                         query_value(target, "redirect").value_or("false") == "true");
}

HttpResponse get_webseeds(ApiContext& ctx, CatalogView& v, const std::string& asked)
{
  const auto found = entry_for(*v.catalog, asked);
  if (!found) {
    return found.error();
  }
  const CatalogEntry* e = *found;
  const auto entry = static_cast<std::size_t>(e - v.catalog->entries().data());
  const auto body = v.index.listed_rendered(
      entry, ctx.now(), [&](const std::vector<ListingIndex::Listed>& listed) {
        Json urls = Json::array();
        Json mirrors = Json::array();
        for (const ListingIndex::Listed& m : listed) {
          urls.push_back(webseed_base(m.base_url, ctx.config.symlinks_dir));
          mirrors.push_back(m.mirror);
        }
        return json_response(200, Json{{"info_hash", e->key},
                                       {"name", e->torrent->name},
                                       {"webseeds", urls},
                                       {"mirrors", mirrors}})
            .body;
      });
  return HttpResponse{200, "application/json", *body, {}, {}};
}

// One mirror's entry of /api/v1/mirrors; without `torrents` when with_torrents is false.
Json mirror_json(ApiContext& ctx, const Catalog& catalog, const MirrorStatus& st, std::int64_t now,
                 bool with_torrents)
{
  const MirrorRow& m = st.row;
  std::map<std::string, std::uint32_t> counts;
  for (std::size_t s = 0; s < k_cell_states; ++s) {
    if (st.counts[s] > 0) {
      counts[std::string(state_name(static_cast<CellState>(s)))] = st.counts[s];
    }
  }
  const bool stale = !m.judged_at || now - *m.judged_at > ctx.config.stale_after_s;
  Json out = {{"name", m.name},
              {"base_url", m.base_url},
              {"disabled", m.disabled},
              {"opted_in", m.opted_in},
              {"stale", stale},
              {"last_report_at", m.last_report_at ? Json(*m.last_report_at) : Json(nullptr)},
              {"judged_at", m.judged_at ? Json(*m.judged_at) : Json(nullptr)},
              {"last_report_id", m.last_report_id},
              {"sync_state", m.sync_state},
              {"counts", counts}};
  if (with_torrents) {
    Json torrents = Json::object();
    const std::vector<CatalogEntry>& entries = catalog.entries();
    for (std::size_t i = 0; i < entries.size() && i < st.cells.size(); ++i) {
      const IndexCell& c = st.cells[i];
      Json cell = {
          {"name", entries[i].torrent->name}, {"state", state_name(c.state)}, {"reason", c.reason}};
      if (c.clients) {
        cell["clients"] = *c.clients;
      }
      torrents[entries[i].key] = std::move(cell);
    }
    out["torrents"] = std::move(torrents);
  }
  return out;
}

std::string dump(const Json& j)
{
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// The value of `key` in a query string ("a=1&b=2"), percent-decoding not needed (numbers and
// words only); nullopt when absent.
std::optional<std::string> query_value(const std::string& target, std::string_view key)
{
  const std::size_t q = target.find('?');
  if (q == std::string::npos) {
    return std::nullopt;
  }
  std::string_view rest = std::string_view(target).substr(q + 1);
  while (!rest.empty()) {
    const std::size_t amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    const std::size_t eq = pair.find('=');
    if (pair.substr(0, eq) == key) {
      return std::string(eq == std::string_view::npos ? "" : pair.substr(eq + 1));
    }
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
  }
  return std::nullopt;
}

std::optional<std::size_t> query_number(const std::string& target, std::string_view key)
{
  const auto v = query_value(target, key);
  if (!v || v->empty() || v->size() > 9 ||
      !std::all_of(v->begin(), v->end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  return static_cast<std::size_t>(std::stoul(*v));
}

std::string percent_decode(std::string_view s)
{
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

HttpResponse get_one_mirror(ApiContext& ctx, CatalogView& v, const std::string& name)
{
  const std::int64_t now = ctx.now();
  if (const auto st = v.index.mirror(name, now)) {
    return json_response(200, mirror_json(ctx, *v.catalog, *st, now, true));
  }
  return error(404, "no mirror of that name");
}

HttpResponse get_events(ApiContext& ctx, CatalogView& v, const std::string& name,
                        const std::string& target)
{
  if (!v.index.mirror(name, ctx.now()) || ctx.events == nullptr) {
    return error(404, "no mirror of that name");
  }
  const std::size_t limit =
      std::min<std::size_t>(query_number(target, "limit").value_or(200), 1000);
  Json list = Json::array();
  for (const Event& e : ctx.events->for_mirror(name, limit)) {
    const CatalogEntry* t = e.info_hash.empty() ? nullptr : v.catalog->find(e.info_hash);
    list.push_back({{"at", e.at},
                    {"info_hash", e.info_hash.empty() ? Json(nullptr) : Json(e.info_hash)},
                    {"torrent", t ? Json(t->torrent->name) : Json(nullptr)},
                    {"from", e.from.empty() ? Json(nullptr) : Json(e.from)},
                    {"to", e.to},
                    {"reason", e.reason}});
  }
  return json_response(200, Json{{"mirror", name}, {"events", list}});
}

// The whole document, or a page of it, streamed a few mirrors at a time (the bytes of one
// nlohmann dump of the same document): memory per request is one piece, not the document
// (issue 14: 13 MB and ~150 MB of memory per request at 500 x 200).
HttpResponse get_mirrors(ApiContext& ctx, const std::shared_ptr<CatalogView>& view,
                         const std::string& target)
{
  const std::int64_t now = ctx.now();
  auto snapshot = std::make_shared<ListingIndex::Snapshot>(view->index.mirrors(now));
  const std::size_t offset = query_number(target, "offset").value_or(0);
  const std::size_t limit = query_number(target, "limit").value_or(snapshot->size());
  const bool with_torrents = query_value(target, "torrents").value_or("true") != "false";
  Json notes = Json::object(); // warnings about the torrents themselves, once per torrent
  for (const auto& [key, list] : view->index.notes(now)) {
    Json items = Json::array();
    for (const TorrentNote& n : list) {
      items.push_back({{"code", n.code}, {"message", n.message}, {"clients", n.clients}});
    }
    notes[key] = std::move(items);
  }
  std::string tail = "],\"torrent_notes\":" + dump(notes) +
                     ",\"total\":" + std::to_string(snapshot->size()) +
                     ",\"offset\":" + std::to_string(offset) + "}\n";
  const std::size_t end =
      offset + std::min(limit, snapshot->size() - std::min(offset, snapshot->size()));
  HttpResponse out{200, "application/json", {}, {}, {}};
  out.stream = [&ctx, view, snapshot, now, with_torrents, offset, next = offset, end,
                tail = std::move(tail), started = false](std::string& piece) mutable {
    constexpr std::size_t k_piece = 64 * 1024;
    if (!started) {
      piece = "{\"version\":1,\"mirrors\":[";
      started = true;
    }
    while (next < end && piece.size() < k_piece) {
      if (next > offset) {
        piece += ',';
      }
      piece += dump(mirror_json(ctx, *view->catalog, *(*snapshot)[next], now, with_torrents));
      ++next;
    }
    if (next < end) {
      return true;
    }
    piece += tail;
    return false;
  };
  return out;
}

HttpResponse get_metrics(ApiContext& ctx, CatalogView& v)
{
  const ListingIndex::Totals totals = v.index.totals(ctx.now());
  std::string m;
  m += "# HELP webseed_collector_mirrors Registered mirrors.\n# TYPE webseed_collector_mirrors "
       "gauge\nwebseed_collector_mirrors " +
       std::to_string(totals.mirrors) + "\n";
  m += "# HELP webseed_collector_torrents Torrents in the catalog.\n# TYPE "
       "webseed_collector_torrents gauge\nwebseed_collector_torrents " +
       std::to_string(v.catalog->entries().size()) + "\n";
  m += "# HELP webseed_collector_cells (mirror, torrent) pairs by listing state.\n# TYPE "
       "webseed_collector_cells gauge\n";
  for (const CellState s :
       {CellState::listed, CellState::pending, CellState::spot_failed, CellState::not_ready,
        CellState::unknown, CellState::stale, CellState::off}) {
    m += "webseed_collector_cells{state=\"" + std::string(state_name(s)) + "\"} " +
         std::to_string(totals.cells[static_cast<std::size_t>(s)]) + "\n";
  }
  m += "# HELP webseed_collector_listed_mirrors Mirrors listed per torrent.\n# TYPE "
       "webseed_collector_listed_mirrors gauge\n";
  const std::vector<CatalogEntry>& entries = v.catalog->entries();
  for (std::size_t i = 0; i < entries.size(); ++i) {
    std::string name = entries[i].torrent->name;
    for (char& c : name) {
      if (c == '"' || c == '\\' || c == '\n') {
        c = '_';
      }
    }
    m += "webseed_collector_listed_mirrors{info_hash=\"" + entries[i].key + "\",name=\"" + name +
         "\"} " +
         std::to_string(totals.per_torrent[i][static_cast<std::size_t>(CellState::listed)]) + "\n";
  }
  m += "# HELP webseed_collector_reports_total Reports received since start, by outcome.\n# TYPE "
       "webseed_collector_reports_total counter\n";
  m += "webseed_collector_reports_total{outcome=\"stored\"} " +
       std::to_string(ctx.reports_stored.load()) + "\n";
  m += "webseed_collector_reports_total{outcome=\"duplicate\"} " +
       std::to_string(ctx.reports_duplicate.load()) + "\n";
  m += "webseed_collector_reports_total{outcome=\"refused\"} " +
       std::to_string(ctx.reports_refused.load()) + "\n";
  m += "# HELP webseed_collector_reports_stored Reports in the database.\n# TYPE "
       "webseed_collector_reports_stored gauge\nwebseed_collector_reports_stored " +
       std::to_string(ctx.store.report_count()) + "\n";
  return HttpResponse{200, "text/plain; version=0.0.4", m, {}, {}};
}

// GET / (the overview) and GET /?mirror=NAME (one mirror's cells).
std::string dashboard_page(ApiContext& ctx, CatalogView& v, const std::string& target)
{
  const std::int64_t now = ctx.now();
  const auto notes = v.index.notes(now);
  if (const auto name = query_value(target, "mirror")) {
    const auto one = v.index.mirror(percent_decode(*name), now);
    const ListingIndex::Snapshot none;
    const DashboardView view{*v.catalog, none, notes, now, ctx.config.stale_after_s};
    if (!one) {
      return render_not_found("no mirror of that name");
    }
    const std::vector<Event> events =
        ctx.events != nullptr ? ctx.events->for_mirror(one->row.name, 20) : std::vector<Event>();
    return render_mirror_page(view, *one, events);
  }
  const ListingIndex::Snapshot mirrors = v.index.mirrors(now);
  return render_overview(DashboardView{*v.catalog, mirrors, notes, now, ctx.config.stale_after_s});
}

std::vector<std::string> published_webseeds(ApiContext& ctx, CatalogView& v, const std::string& key)
{
  std::vector<ListedMirror> listed;
  if (const CatalogEntry* e = v.catalog->find(key)) {
    const auto entry = static_cast<std::size_t>(e - v.catalog->entries().data());
    for (ListingIndex::Listed& m : v.index.listed(entry, ctx.now())) {
      listed.push_back({std::move(m.mirror), std::move(m.base_url)});
    }
  }
  return published_webseeds(std::move(listed), *ctx.ranks.get(ctx.store), ctx.config.symlinks_dir,
                            ctx.config.publish.max_webseeds, ctx.config.publish.fallback_webseeds);
}

} // namespace

CatalogView::CatalogView(Store& store, std::shared_ptr<const Catalog> loaded,
                         const CollectorConfig& config, std::string fingerprint_)
    : catalog(std::move(loaded)), fingerprint(std::move(fingerprint_)),
      index(store, *catalog, config.stale_after_s, config.spot.enabled)
{
}

ApiContext::ApiContext(Store& store_, const CollectorConfig& config_,
                       std::function<std::int64_t()> now_, std::shared_ptr<const Catalog> catalog,
                       std::string fingerprint)
    : store(store_), config(config_), now(std::move(now_)),
      m_view(std::make_shared<CatalogView>(store_, std::move(catalog), config_,
                                           std::move(fingerprint)))
{
}

std::shared_ptr<CatalogView> ApiContext::view() const
{
  std::lock_guard lock(m_view_mutex);
  return m_view;
}

void ApiContext::replace_catalog(std::shared_ptr<const Catalog> catalog, std::string fingerprint)
{
  auto next = std::make_shared<CatalogView>(store, std::move(catalog), config, std::move(fingerprint));
  std::lock_guard lock(m_view_mutex);
  // The old index is retired first: every change it did not take stays in the Store for the
  // new one, whose first refresh reads every mirror anyway (a request on the old view
  // meanwhile answers from what the old index had).
  m_view->index.retire();
  m_view = std::move(next);
}

std::vector<std::string> published_webseeds(ApiContext& ctx, const std::string& key)
{
  return published_webseeds(ctx, *ctx.view(), key);
}

std::optional<HttpResponse> check_request_head(ApiContext& ctx, const HttpRequest& head)
{
  if (head.method != "POST" || head.target.substr(0, head.target.find('?')) != "/api/v1/reports") {
    return std::nullopt;
  }
  if (auto mirror = authenticate(ctx, head); !mirror) {
    return mirror.error();
  }
  return std::nullopt;
}

HttpResponse handle_request(ApiContext& ctx, const HttpRequest& req)
{
  std::string path = req.target.substr(0, req.target.find('?'));
  if (path == "/api/v1/reports") {
    return req.method == "POST" ? post_report(ctx, req)
                                : HttpResponse{405,
                                               "application/json",
                                               R"({"error":"use POST"})"
                                               "\n",
                                               {{"Allow", "POST"}},
                                               {}};
  }
  if (req.method != "GET" && req.method != "HEAD") {
    return HttpResponse{405,
                        "application/json",
                        R"({"error":"use GET"})"
                        "\n",
                        {{"Allow", "GET, HEAD"}},
                        {}};
  }
  const std::shared_ptr<CatalogView> view = ctx.view(); // this request's catalog
  CatalogView& v = *view;
  constexpr std::string_view torrents = "/api/v1/torrents/";
  constexpr std::string_view webseeds = "/webseeds";
  if (path.starts_with(torrents) && path.ends_with(webseeds) &&
      path.size() > torrents.size() + webseeds.size()) {
    return get_webseeds(
        ctx, v, path.substr(torrents.size(), path.size() - torrents.size() - webseeds.size()));
  }
  constexpr std::string_view magnet = "/magnet";
  if (path.starts_with(torrents) && path.ends_with(magnet) &&
      path.size() > torrents.size() + magnet.size()) {
    return get_magnet(ctx, v,
                      path.substr(torrents.size(), path.size() - torrents.size() - magnet.size()),
                      req.target);
  }
  constexpr std::string_view live = "/torrents/";
  if (path.starts_with(live) && path.size() > live.size()) {
    return v.live.get(
        *v.catalog, percent_decode(std::string_view(path).substr(live.size())),
        [&ctx, &v](const std::string& key) { return published_webseeds(ctx, v, key); }, req,
        ctx.now());
  }
  if (path == "/api/v1/mirrors") {
    return get_mirrors(ctx, view, req.target);
  }
  constexpr std::string_view mirrors_prefix = "/api/v1/mirrors/";
  constexpr std::string_view events_suffix = "/events";
  if (path.starts_with(mirrors_prefix) && path.ends_with(events_suffix) &&
      path.size() > mirrors_prefix.size() + events_suffix.size()) {
    return get_events(
        ctx, v,
        percent_decode(std::string_view(path).substr(
            mirrors_prefix.size(), path.size() - mirrors_prefix.size() - events_suffix.size())),
        req.target);
  }
  if (path.starts_with(mirrors_prefix) && path.size() > mirrors_prefix.size()) {
    return get_one_mirror(ctx, v,
                          percent_decode(std::string_view(path).substr(mirrors_prefix.size())));
  }
  if (path == "/metrics") {
    return get_metrics(ctx, v);
  }
  if (path == "/" || path == "/index.html") {
    return HttpResponse{200, "text/html; charset=utf-8", dashboard_page(ctx, v, req.target), {}, {}};
  }
  return error(404, "no such resource");
}

} // namespace collector
