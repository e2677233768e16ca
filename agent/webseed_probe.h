// webseed_probe.h: does the mirror's own web server serve a torrent the way web-seed clients
// fetch it? (BEP 19: BASE/SYMLINKS_DIR/name[/path...], Range requests.)
//
// probe_items() fetches a plan (probe_plan.h) through http_fetch.h and turns the judgement of
// each answer (probe_judge.h) into findings: one finding per code and file, with the URL and
// range that showed it, and the evidence of every request. Like clients, it backs off when the
// server throttles (503/429): it waits (Retry-After honoured up to a bound, else 1, 2, 4 s),
// retries the refused requests over one connection, and reports http-throttled when they were
// served in the end (http-status when never). When the base URL's host name resolves to both
// IPv4 and IPv6 addresses, each family is probed on its own (a failure on one family is a
// finding whose message names the family and the address).
#pragma once

#include "findings.h"
#include "http_fetch.h"
#include "probe_plan.h"
#include "torrent.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace agent {

// Evidence of one request, for the JSON output and the reports.
struct ProbeRequest {
  std::string url;
  std::uint64_t first = 0; // inclusive byte range asked for
  std::uint64_t last = 0;
  std::string purpose;
  long status = 0; // 0 when no HTTP answer
  std::uint64_t bytes = 0;
  bool ok = false;
  std::optional<Code> code;  // what was wrong, when not ok
  std::string effective_url; // set when redirected
  double seconds = 0;
  AddressFamily family = AddressFamily::any; // the family probed (any: not split)
  std::string address;                       // the server address it went to, when known
  unsigned retries = 0;                      // rounds it was retried after 503/429
};

struct ProbeResult {
  std::vector<ProbeRequest> requests;
  std::vector<Finding> findings;
  std::vector<std::uint64_t> pieces_verified; // v1 piece indices (v2: within-file) that matched
  std::uint64_t bytes = 0;                    // body bytes received
};

// The local file's bytes [offset, offset + length) of torrent file `file`, or nullopt.
using LocalBytes = std::function<std::optional<std::string>(std::size_t file, std::uint64_t offset,
                                                            std::uint64_t length)>;

struct ProbeSettings {
  std::string base_url;
  std::string symlinks_dir;
  std::uint64_t max_bytes = 4u << 20; // per torrent
  FetchLimits fetch;
  // The address families to probe one after the other (probe_families()); empty = whatever
  // libcurl picks (one pass).
  std::vector<AddressFamily> families;
  // With two or more families: the connections kept alive for each pass, by position in
  // `families` (fetch.share is not used then: a shared connection could be of the other
  // family); missing or nullptr: that pass's own connections.
  std::vector<std::shared_ptr<ConnectionShare>> family_shares;
  // The longest Retry-After honoured; a longer one is not waited for (the answer stands).
  std::chrono::seconds max_retry_after{30};
  unsigned throttle_rounds = 3; // retry rounds after 503/429 answers (waits 1, 2, 4 s)
};

// The families to probe for `base_url`: {ipv4, ipv6} when its host name resolves to both,
// the one family it resolves to, or {} (let libcurl decide) for an IP literal, a host that
// does not resolve (the probe then reports http-unreachable) or an unparsable URL.
std::vector<AddressFamily> probe_families(const std::string& base_url);

ProbeResult probe_torrent(const Torrent& torrent, const LocalBytes& local,
                          const ProbeSettings& settings);

// Fetches and judges `items` (from plan_probe or plan_pieces).
ProbeResult probe_items(const Torrent& torrent, const std::vector<ProbeItem>& items,
                        const LocalBytes& local, const ProbeSettings& settings);

} // namespace agent
