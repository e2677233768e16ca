#include "probe_judge.h"

#include "http_headers.h"

#include <algorithm>

namespace agent {

namespace {

std::string last_component(std::string_view url)
{
  if (const auto q = url.find_first_of("?#"); q != std::string_view::npos) {
    url = url.substr(0, q);
  }
  const auto slash = url.rfind('/');
  return std::string(slash == std::string_view::npos ? url : url.substr(slash + 1));
}

std::string hint_for_status(long status)
{
  if (status == 403) {
    return "the web server refuses the file: it probably does not follow the symlinks. "
           "Apache: 'Options +FollowSymLinks' for the mirror's directory; nginx: "
           "'disable_symlinks off;' (the default). The files must also be world-readable";
  }
  if (status == 404 || status == 410) {
    return "is mirror.base_url the URL of the mirror root, and is the torrent-symlinks tree "
           "published by the web server (same docroot as mirror.root)?";
  }
  if (status == 503 || status == 429) {
    return "the server kept refusing after the probe backed off to one connection and "
           "honoured Retry-After: clients get the same; raise the limit (nginx limit_conn / "
           "limit_req) for the torrent-symlinks tree";
  }
  if (status >= 500) {
    return "the web server failed to serve the file: see its error log";
  }
  if (status == 416) {
    return "the server says the range is not satisfiable: is its copy of the file shorter "
           "(stale docroot or a sync in progress)?";
  }
  return "web-seed clients expect 206 Partial Content for a Range request";
}

bool looks_like_html(std::string_view body)
{
  const std::string_view head = body.substr(0, std::min<std::size_t>(body.size(), 512));
  return head.find("<html") != std::string_view::npos ||
         head.find("<HTML") != std::string_view::npos ||
         head.find("<!DOCTYPE") != std::string_view::npos ||
         head.find("<!doctype") != std::string_view::npos;
}

std::string mismatch_hint(std::string_view body)
{
  if (looks_like_html(body)) {
    return "the answer is an HTML page (a soft 404?): is mirror.base_url right?";
  }
  return "the web server serves other bytes than the verified files: is its docroot this "
         "tree (mirror.root), or a stale copy?";
}

std::string where(const Expectation& a)
{
  return a.url + " (bytes " + std::to_string(a.first) + "-" + std::to_string(a.last) + ")";
}

Problem error(Code code, std::string message, std::string hint)
{
  return Problem{code, Severity::error, std::move(message), std::move(hint), std::nullopt};
}

} // namespace

AnswerVerdict judge_answer(const Expectation& a, const HttpResponse& r)
{
  AnswerVerdict v;
  const std::string at = where(a);
  if (r.timed_out) {
    v.error = error(Code::http_timeout, "no complete answer in time for " + at + ": " + r.error,
                    "the server stalls or is overloaded; the probe waits probe.request_timeout "
                    "per request");
    return v;
  }
  if (r.transport_error) {
    v.error = error(Code::http_unreachable, at + ": " + r.error,
                    "is mirror.base_url right, and is the web server running and reachable "
                    "(DNS, port, firewall, TLS certificate)?");
    return v;
  }
  if (r.redirects > 0) {
    if (last_component(r.effective_url) != last_component(a.url)) {
      v.error = error(Code::http_redirect, at + " redirects to another file: " + r.effective_url,
                      "clients would fetch the wrong file: fix the redirect rules for the "
                      "torrent-symlinks tree");
      v.error->clients = ClientSet::all();
      return v;
    }
    if (a.pieces_span_files) {
      v.error = error(Code::http_redirect,
                      at + " redirects to " + r.effective_url +
                          "; this torrent has pieces that span files, which libtorrent 2.0 "
                          "cannot fetch through redirects",
                      "make mirror.base_url the URL that serves the files, without redirects");
      v.error->clients = ClientSet{ClientFamily::libtorrent};
      return v;
    }
    v.warning =
        Problem{Code::http_redirect, Severity::warning, at + " redirects to " + r.effective_url,
                "clients follow it, at the cost of a round trip per request: make "
                "mirror.base_url the URL that serves the files",
                std::nullopt};
  }
  if (r.status != 206 && r.status != 200) {
    v.error = error(Code::http_status, at + " answered HTTP " + std::to_string(r.status),
                    hint_for_status(r.status));
    return v;
  }
  if (!r.content_encoding.empty() && r.content_encoding != "identity") {
    v.error = error(Code::http_content_encoding,
                    at + " came with Content-Encoding: " + r.content_encoding +
                        " (no Accept-Encoding was sent)",
                    "turn compression off for these files (nginx: gzip off or gzip_types; "
                    "Apache: mod_deflate / SetEnv no-gzip): clients hash the raw bytes");
    return v;
  }
  const bool whole_file = a.first == 0 && a.last + 1 == a.file_length;
  if (r.status == 200 && !whole_file) {
    v.error =
        error(Code::http_range_ignored,
              at + " answered 200 with the whole file instead of 206 with the range" +
                  (r.content_type.starts_with("text/html") ? " (an HTML page: a soft 404?)" : ""),
              "the server (or a proxy or CDN in front of it) must honour Range requests: "
              "clients fetch pieces, and large files fail without it");
    return v;
  }
  if (r.status == 206) {
    const auto got = parse_content_range(r.content_range);
    if (!got || got->first != a.first || got->second != a.last) {
      v.error = error(Code::http_range_ignored,
                      at + " answered 206 with Content-Range '" + r.content_range + "'",
                      "the server must return exactly the range asked for");
      return v;
    }
  }
  const std::uint64_t length = a.last - a.first + 1;
  if (r.body_cut || r.body.size() != length) {
    v.error = error(
        Code::http_content_mismatch,
        at + " returned " +
            (r.body_cut ? "more than " + std::to_string(length) : std::to_string(r.body.size())) +
            " bytes instead of " + std::to_string(length),
        looks_like_html(r.body) ? mismatch_hint(r.body)
                                : "a truncated answer: is the server's copy of the "
                                  "file complete?");
  }
  return v;
}

std::optional<Problem> judge_local_bytes(const Expectation& a, std::string_view body,
                                         std::string_view local)
{
  if (body == local) {
    return std::nullopt;
  }
  std::uint64_t at = 0;
  while (at < body.size() && at < local.size() && body[at] == local[at]) {
    ++at;
  }
  return error(Code::http_content_mismatch,
               where(a) + " differs from the verified local file from byte " +
                   std::to_string(a.first + at),
               mismatch_hint(body));
}

Problem piece_mismatch(std::string_view what, std::string_view url, bool more_files)
{
  return error(Code::http_content_mismatch,
               "the bytes served for " + std::string(what) + " (" + std::string(url) +
                   (more_files ? " and the next files" : "") +
                   ") do not match the torrent's piece hash",
               "the web server serves other bytes than the verified files: is its docroot this "
               "tree (mirror.root), or a stale copy?");
}

std::optional<Problem> judge_base_url(std::string_view base_url)
{
  const std::size_t scheme = base_url.find("://");
  if (scheme == std::string_view::npos) {
    return std::nullopt;
  }
  const std::string_view authority = base_url.substr(scheme + 3);
  const std::size_t at = authority.find('@');
  const std::size_t end = authority.find_first_of("/?#");
  const std::size_t host = at != std::string_view::npos && at < end ? at + 1 : 0;
  if (host >= authority.size() || authority[host] != '[') {
    return std::nullopt;
  }
  return Problem{Code::webseed_url_ipv6_literal, Severity::error,
                 "the base URL " + std::string(base_url) +
                     " names its host as an IPv6 literal: libtorrent (qBittorrent, Deluge) "
                     "cannot use such a web seed",
                 "give the mirror a host name with this AAAA record (and use it in "
                 "mirror.base_url and in the url-list): every client reaches it by name",
                 std::nullopt};
}

std::optional<Problem> judge_pad_answer(const Expectation& a, const HttpResponse& r)
{
  const std::string fix =
      "ship the pad files as zero-filled files NAME/.pad/N in the torrent-symlinks tree "
      "(upstream's tree; `truncate -s N .pad/N`), or make torrents without BEP 47 pad files";
  auto problem = [&](std::string why) {
    return Problem{Code::pad_files_not_served, Severity::warning,
                   "aria2 and Transmission 3 request BEP 47 pad files from the web seed: " +
                       where(a) + " " + std::move(why),
                   fix, std::nullopt};
  };
  const AnswerVerdict v = judge_answer(a, r);
  if (v.error) {
    if (r.status > 0) {
      return problem("answered HTTP " + std::to_string(r.status) +
                     (v.error->code == Code::http_status ? "" : " (" + v.error->message + ")"));
    }
    return problem("failed: " + v.error->message);
  }
  if (r.body.find_first_not_of('\0') != std::string::npos) {
    return problem("is served, but not as zeros");
  }
  return std::nullopt;
}

bool is_throttled(const HttpResponse& r)
{
  return !r.transport_error && !r.timed_out && (r.status == 503 || r.status == 429);
}

Problem throttled_problem(const ThrottleFacts& f)
{
  std::string message = std::to_string(f.throttled) + " of " + std::to_string(f.requests) +
                        " requests were answered HTTP " + std::to_string(f.status) +
                        (f.retry_after.empty() ? "" : " (Retry-After: " + f.retry_after + ")") +
                        " at first, e.g. " + f.url + "; served after backing off (" +
                        std::to_string(f.rounds) +
                        (f.rounds == 1 ? " retry round" : " retry rounds") + ", " +
                        std::to_string(f.final_connections) +
                        (f.final_connections == 1 ? " connection" : " connections") + ")";
  return Problem{Code::http_throttled, Severity::warning, std::move(message),
                 "clients open up to 4 connections per web seed (Transmission), and Transmission "
                 "ignores Retry-After and pauses 120 s after 4 failures: allow at least 4 "
                 "connections per address for the torrent-symlinks tree (nginx limit_conn, "
                 "limit_req)",
                 std::nullopt};
}

Problem single_connection_refused(const ThrottleFacts& f)
{
  Problem p = error(Code::http_status,
                    f.url + " answered HTTP " + std::to_string(f.status) +
                        (f.retry_after.empty() ? "" : " (Retry-After: " + f.retry_after + ")") +
                        " to a request alone on one connection, as libtorrent sends it; "
                        "libtorrent 2.0 never asks a web seed again after that answer",
                    "the server refuses even a single connection at times: raise its limits "
                    "(nginx limit_req burst, limit_conn, worker_connections) for the "
                    "torrent-symlinks tree");
  p.clients = ClientSet{ClientFamily::libtorrent};
  return p;
}

} // namespace agent
