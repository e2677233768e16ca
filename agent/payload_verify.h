// payload_verify.h: checks payload bytes against a torrent's hashes: v1 piece SHA-1 over the
// concatenated files (pieces span file boundaries; BEP 47 pad files are zeros, not on disk)
// and, for v2 and hybrid torrents, each file's SHA-256 merkle tree over 16 KiB blocks
// (piece layers when the torrent has them, and the file's `pieces root`).
//
// Fast and gentle: pieces are hashed on `jobs` threads, each reading large sequential runs
// with pread() into its own buffer (memory: jobs x 1 MiB, whatever the payload size); a hybrid
// torrent's bytes are read once for both hashes; every range read can be dropped from the page
// cache afterwards (POSIX_FADV_DONTNEED) so a busy mirror's hot files stay cached.
//
// The engine never opens anything: the caller passes descriptors it opened safely (see
// Resolver::open_file). A file without a descriptor (missing, wrong size, unreadable) is not
// read; the pieces that touch it are reported as unverified, not as mismatches.
//
// Incremental: files the caller already knows to be good (verified before, unchanged since)
// are not hashed; only the v1 pieces touching another file are, reading the known-good
// file's share of a piece that spans the boundary, and a mismatch in such a piece is blamed
// on the files not known to be good.
#pragma once

#include "torrent.h"
#include "util/sha.h"

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace agent {

struct VerifyOptions {
  unsigned jobs = 0;           // hashing threads; 0 = one per core
  bool drop_page_cache = true; // POSIX_FADV_DONTNEED after each range is hashed
  // Called from the calling thread about every 100 ms with the bytes hashed so far.
  std::function<void(std::uint64_t bytes_done)> progress;
  // Keep what was computed (VerifyOutcome::computed): for making a torrent, the caller passes
  // a skeleton Torrent (files, offsets, piece length, placeholder hashes; v2 files with any
  // `pieces_root`) and reads the hashes back. The verdicts are then meaningless.
  bool keep_hashes = false;
};

// The hashes computed (VerifyOptions::keep_hashes), for the pieces and files that were hashed.
struct ComputedHashes {
  std::string v1_pieces;                           // 20 bytes per v1 piece, in piece order
  std::vector<std::vector<util::Sha256>> v2_layer; // per file: its v2 piece roots (the layer)
  std::vector<util::Sha256> v2_root;               // per file: its merkle root (`pieces root`)
};

struct FileVerdict {
  // ok: every piece touching it was hashed and matched (or it was known good); unverified:
  // not hashed, or a piece touching it could not be hashed (a neighbour is missing).
  enum class State { ok, mismatch, unverified };
  State state = State::unverified;
  // Pieces that failed: v1 piece indices (global) for v1 and hybrid torrents, else the v2
  // piece indices within this file. Sorted.
  std::vector<std::uint64_t> bad_pieces;
  bool root_mismatch = false; // v2: the file's merkle root differs from its `pieces root`
};

struct VerifyOutcome {
  std::vector<FileVerdict> files;           // one per Torrent::files entry (pad files: ok)
  std::vector<std::uint64_t> bad_v1_pieces; // sorted
  std::uint64_t bytes_hashed = 0;           // payload bytes read
  ComputedHashes computed;                  // filled only with VerifyOptions::keep_hashes
  bool all_ok() const;
};

// `fds[i]` is an open descriptor for torrent.files[i] whose size is files[i].length, or -1.
// Pad files and empty files need none. `known_good[i]` (when given, one per file) marks a
// file with a descriptor that needs no hashing. Throws std::runtime_error only on internal
// failure (e.g. OpenSSL); I/O errors make the affected pieces mismatches.
VerifyOutcome verify_payload(const Torrent& torrent, const std::vector<int>& fds,
                             const VerifyOptions& options,
                             const std::vector<bool>& known_good = {});

} // namespace agent
