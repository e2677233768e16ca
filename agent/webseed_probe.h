// webseed_probe.h: does the mirror's own web server serve a torrent the way web-seed clients
// fetch it? (BEP 19: BASE/SYMLINKS_DIR/name[/path...], Range requests.)
//
// plan_probe() picks what to fetch, like real clients and within a byte budget: whole pieces
// (libtorrent asks for whole pieces, up to 16 MiB) checked against the torrent's own hashes
// (v1 SHA-1, or the v2 piece layer / pieces root), a 1 MiB request (Transmission) and a 32 KiB
// one (older clients) inside the largest file, the end of each file (a range ending exactly
// at EOF, whole small files such as DIGESTS), and ranges straddling 2 GiB and 4 GiB in files
// that large. Every answer not checked against a piece hash is compared with the bytes of
// the local file, which `check` has verified.
//
// probe_torrent() fetches the plan (http_fetch.h) and judges every answer: transport errors
// (http-unreachable), timeouts (http-timeout), redirects (http-redirect: a warning, an error
// when it leads to another file), statuses (http-status), compression (http-content-encoding),
// a missing or different range (http-range-ignored) and wrong bytes (http-content-mismatch).
// One finding per code and file, with the URL and range that showed it.
#pragma once

#include "findings.h"
#include "http_fetch.h"
#include "torrent.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace agent {

// A byte run of one torrent file (one request).
using ProbeSegment = PieceRun;

struct ProbeItem {
  enum class Check { v1_piece, v2_piece, local };
  Check check = Check::local;
  std::uint64_t piece = 0;            // v1: global piece index; v2: index within the file
  std::vector<ProbeSegment> segments; // one request each (a v1 piece may span files)
  std::string purpose;                // "piece 0 (SHA-1)", "1 MiB request", "end of file"...
};

// What to fetch for `torrent`, at most `max_bytes` in all (at least one request when the
// torrent has a non-empty file).
std::vector<ProbeItem> plan_probe(const Torrent& torrent, std::uint64_t max_bytes);

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
};

ProbeResult probe_torrent(const Torrent& torrent, const LocalBytes& local,
                          const ProbeSettings& settings);

// Whole pieces only, checked against the torrent's hashes (no local bytes needed): v1 piece
// indices, or for a v2-only torrent piece indices within its largest file. Indices out of
// range are left out. The collector's spot checks.
std::vector<ProbeItem> plan_pieces(const Torrent& torrent,
                                   const std::vector<std::uint64_t>& pieces);

// Fetches and judges `items` (from plan_probe or plan_pieces).
ProbeResult probe_items(const Torrent& torrent, const std::vector<ProbeItem>& items,
                        const LocalBytes& local, const ProbeSettings& settings);

} // namespace agent
