// probe_judge.h: the web-seed probe's judgement of one answer: pure functions from what was
// asked (an Expectation) and what the server answered (an HttpResponse) to the problem it
// shows, or none. No I/O, no state: unit-tested per finding code with canned answers
// (probe_judge_test.cc). Planning is probe_plan.h; fetching and assembling findings is
// webseed_probe.h. What each problem means to which client family: client_families.h.
#pragma once

#include "client_set.h"
#include "findings.h"
#include "http_fetch.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace agent {

// What one request asked for.
struct Expectation {
  std::string url;         // as requested
  std::uint64_t first = 0; // inclusive byte range asked for
  std::uint64_t last = 0;
  std::uint64_t file_length = 0; // the torrent's length of the file
  // A multi-file v1 torrent whose pieces hold bytes of two files: libtorrent 2.0.8 cannot
  // fetch such pieces through a redirect (measured), so any redirect is an error.
  bool pieces_span_files = false;
};

// One problem an answer shows.
struct Problem {
  Code code;
  Severity severity;
  std::string message;              // names the URL and range
  std::string hint;                 // how to fix it
  std::optional<ClientSet> clients; // when not the code's row in client_families.h
};

// The judgement of one answer: at most one error (the answer is then unusable) and any
// warnings that came before it (a redirect that clients follow).
struct AnswerVerdict {
  std::optional<Problem> error;
  std::optional<Problem> warning;
  bool usable() const { return !error; }
};

// The answer to a Range request for a file of the torrent: transport errors (http-unreachable),
// timeouts (http-timeout), redirects (http-redirect: a warning; an error when it leads to
// another file, or when pieces span files), statuses other than 206/200 (http-status),
// Content-Encoding (http-content-encoding), 200 for a partial range or a 206 for another range
// (http-range-ignored), a body of another length (http-content-mismatch).
AnswerVerdict judge_answer(const Expectation& asked, const HttpResponse& answer);

// The body of a usable answer against the verified local bytes: http-content-mismatch naming
// the first differing byte (offset in the file), or nullopt when equal.
std::optional<Problem> judge_local_bytes(const Expectation& asked, std::string_view body,
                                         std::string_view local);

// The bytes served for a whole piece do not match the torrent's hash (http-content-mismatch).
Problem piece_mismatch(std::string_view what, std::string_view url, bool more_files);

// The answer for a BEP 47 pad file (NAME/.pad/N, which aria2 requests): pad-files-not-served
// when it is not served as zeros of the right length; nullopt when it is.
// The base URL itself: webseed-url-ipv6-literal when its host is an IPv6 literal
// ("http://[2001:db8::1]/..."), which libtorrent cannot use as a web seed. Pure.
std::optional<Problem> judge_base_url(std::string_view base_url);

std::optional<Problem> judge_pad_answer(const Expectation& asked, const HttpResponse& answer);

// A 503 or 429: the server asks the client to come back later (rate limits, connection
// limits such as nginx limit_conn).
bool is_throttled(const HttpResponse& answer);

// What the probe saw while backing off from throttling answers.
struct ThrottleFacts {
  std::string url;            // one request that was throttled
  long status = 0;            // its first answer (503 or 429)
  std::string retry_after;    // that answer's Retry-After, "" when none
  std::size_t throttled = 0;  // requests throttled at first
  std::size_t requests = 0;   // requests in all
  std::size_t rounds = 0;     // rounds of retries it took
  long final_connections = 1; // connections per host in the round that got through
};

// http-throttled (a warning): throttled at first, served in the end.
Problem throttled_problem(const ThrottleFacts& facts);

// http-status (an error for libtorrent only): a request alone on its one connection was
// refused with 503/429 (served later). libtorrent 2.0.8 never asks a web seed again after one
// such answer (measured); Transmission and aria2 retry.
Problem single_connection_refused(const ThrottleFacts& facts);

} // namespace agent
