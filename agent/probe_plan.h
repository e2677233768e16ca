// probe_plan.h: what the web-seed probe fetches for a torrent, like real clients and within a
// byte budget (BEP 19: BASE/SYMLINKS_DIR/name[/path...], Range requests). Planning only: the
// answers are judged by probe_judge.h, fetched by webseed_probe.h.
//
// plan_probe() picks whole pieces (libtorrent asks for whole pieces, up to 16 MiB) checked
// against the torrent's own hashes (v1 SHA-1, or the v2 piece layer / pieces root), the BEP 47
// pad files that aria2 requests as NAME/.pad/N (expected: zeros), a 1 MiB request
// (Transmission) and a 32 KiB one (older clients) inside the largest file, the end of each file
// (a range ending exactly at EOF, whole small files such as DIGESTS), and ranges straddling
// 2 GiB and 4 GiB in files that large. Every answer not checked against a piece hash is
// compared with the bytes of the local file, which `check` has verified.
#pragma once

#include "torrent.h"

#include <cstdint>
#include <string>
#include <vector>

namespace agent {

// A byte run of one torrent file (one request).
using ProbeSegment = PieceRun;

struct ProbeItem {
  enum class Check {
    v1_piece, // the bytes of a whole v1 piece against its SHA-1 (pad runs are zeros, not asked)
    v2_piece, // a whole v2 piece against the piece layer or pieces root
    local,    // against the verified local file
    pad,      // a BEP 47 pad file as aria2 requests it: zeros expected
  };
  Check check = Check::local;
  std::uint64_t piece = 0;            // v1: global piece index; v2: index within the file
  std::vector<ProbeSegment> segments; // one request each (a v1 piece may span files)
  std::string purpose;                // "piece 0 (SHA-1)", "1 MiB request", "end of file"...
};

// What to fetch for `torrent`, at most `max_bytes` in all (at least one request when the
// torrent has a non-empty file).
std::vector<ProbeItem> plan_probe(const Torrent& torrent, std::uint64_t max_bytes);

// Whole pieces only, checked against the torrent's hashes (no local bytes needed): v1 piece
// indices, or for a v2-only torrent piece indices within its largest file. Indices out of
// range are left out. The collector's spot checks.
std::vector<ProbeItem> plan_pieces(const Torrent& torrent,
                                   const std::vector<std::uint64_t>& pieces);

// True when a v1 piece holds bytes of two real files (no BEP 47 alignment). Measured:
// python3-libtorrent 2.0.8 never completes such a piece when the web seed redirects (it
// follows redirects per file), while aria2c does; such a redirect is an error.
bool pieces_span_files(const Torrent& torrent);

} // namespace agent
