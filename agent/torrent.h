// torrent.h: the torrent model (BEP 3 v1, BEP 47 file attributes, BEP 52 v2 and hybrid,
// BEP 19/17 web seeds) parsed from untrusted .torrent bytes.
//
// A Torrent owns its bytes (shared, immutable); the piece hashes it exposes are views into
// them, valid as long as any copy of the Torrent lives.
//
// Validation (anything wrong -> TorrentError, never a crash or a partial model):
//  - the bencode of the whole file is strict (bencode.h), except for what clients accept
//    (libtorrent 2.0, aria2, Transmission), which is kept in Torrent::quirks instead and shown
//    as a `torrent-noncanonical` warning: dictionary keys out of order or repeated (the first
//    of repeated keys counts, as in libtorrent) and bytes after the top-level dictionary. In the
//    info dictionary of a torrent with a `meta version` (v2, hybrid) they stay errors, as in
//    libtorrent. Info-hashes are over the info dictionary's exact bytes either way;
//  - every path component of `name`, v1 `path` lists and the v2 `file tree` is checked:
//    "", ".", "..", '/' or NUL inside, is `unsafe-path`;
//  - v1: piece length 1 B .. 1 GiB, `pieces` a multiple of 20 with exactly one hash per
//    piece, lengths >= 0, total size > 0 (a torrent of empty files only is refused);
//  - BEP 47: symlink ('l') files carry no data: their length is 0 whatever they claim;
//  - v2: `meta version` 2, piece length a power of two >= 16 KiB, every non-empty file has a
//    32-byte `pieces root` (not all zeros); every `piece layers` entry is keyed by 32 bytes and
//    holds 32-byte hashes; a file's layer, when present, has one hash per piece and its merkle
//    root is the file's root (a missing layer is allowed: clients fetch layers from peers);
//  - hybrid: the v1 file list (pad files aside) and the v2 file tree list the same files with
//    the same sizes in the same order;
//  - v2: the paths of all files, as the model holds them (each component counts its length
//    plus 32 bytes), add up to at most max(1 MiB, 8 x the torrent's size), counted before any
//    is built: a v2 tree names a directory once for all the files below it, so a deep tree of
//    long names would otherwise make the model and every consumer of full paths (torrent
//    show, check's findings) super-linear in the torrent's size.
// Cost: time and memory linear in the torrent's size for every shape (piece layers hashed once
// per distinct layer, web-seed and tracker duplicates removed through a hash set).
#pragma once

#include <array>
#include <cstdint>
#include <expected>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace agent {

struct TorrentFile {
  std::vector<std::string> path; // components below the torrent's name; single-file: {name}
  std::uint64_t length = 0;
  std::uint64_t offset = 0;              // in the v1 concatenation of all files, pad files included
  bool pad = false;                      // BEP 47 'p': not on disk, all zeros
  bool symlink = false;                  // BEP 47 'l'
  bool executable = false;               // BEP 47 'x'
  bool hidden = false;                   // BEP 47 'h'
  std::string attr;                      // the raw attr string, passed through
  std::vector<std::string> symlink_path; // BEP 47 'symlink path' for 'l' files
  std::optional<std::array<std::uint8_t, 32>> pieces_root; // v2, for non-empty files

  // Components joined with '/'.
  std::string joined_path() const;
};

// A run of bytes of one v1 piece inside one file (pad files included: they are zeros).
struct PieceRun {
  std::size_t file;     // index in Torrent::files
  std::uint64_t offset; // where the run starts in that file
  std::uint64_t length;
};

// A bencoding quirk that clients accept: where it is and what it is, e.g. offset 17,
// "dictionary keys not sorted ('length' after 'name')".
struct TorrentQuirk {
  std::size_t offset;
  std::string what;
};

struct Torrent {
  std::string source;      // the file it was read from (for messages)
  std::string name;        // the info dict's name: the entry under the symlinks dir
  bool multi_file = false; // v1 'files' list, or a v2 tree that is not a single file named `name`
  bool has_v1 = false;
  bool has_v2 = false; // hybrid: both
  std::uint64_t piece_length = 0;
  std::uint64_t piece_count = 0; // v1 pieces if v1, else derived from the v2 files
  std::uint64_t total_size = 0;  // sum of the non-pad file lengths
  std::optional<std::array<std::uint8_t, 20>> info_hash_v1; // SHA-1 of the info dict's bytes
  std::optional<std::array<std::uint8_t, 32>> info_hash_v2; // SHA-256 of the same bytes
  std::vector<TorrentFile> files; // v1 order (pad files included) or v2 tree order
  bool is_private = false;

  std::vector<std::string> url_list;              // BEP 19 web seeds
  std::vector<std::string> httpseeds;             // BEP 17
  std::vector<std::vector<std::string>> trackers; // announce-list tiers, else {{announce}}
  std::string comment;
  std::string created_by;
  std::optional<std::int64_t> creation_date; // seconds since the epoch

  // Non-fatal bencoding quirks in byte order: the first k_max_kept_quirks of quirk_count.
  static constexpr std::size_t k_max_kept_quirks = 5;
  std::vector<TorrentQuirk> quirks;
  std::size_t quirk_count = 0;

  // The v1 SHA-1 of piece `i` (20 bytes). Precondition: has_v1, i < piece_count.
  std::string_view piece_hash_v1(std::uint64_t i) const;
  // Where v1 piece `i` lies: its runs in file order, empty files left out, pad files kept.
  std::vector<PieceRun> v1_piece_runs(std::uint64_t i) const;
  // The end of the v1 concatenation (pad files included; total_size counts real files only).
  std::uint64_t v1_end() const
  {
    return files.empty() ? 0 : files.back().offset + files.back().length;
  }
  // The v2 piece layer of a file (32 bytes per piece); empty when the file fits in one piece
  // or the torrent carries no layer for it.
  std::string_view piece_layer(const TorrentFile& file) const;

  std::shared_ptr<const std::string> bytes; // the whole .torrent file
  std::string_view pieces_v1;               // view into *bytes
  std::vector<std::string_view> layers;     // per file (same index), views into *bytes
};

enum class TorrentErrc { invalid, unsafe_path };

struct TorrentError {
  TorrentErrc code;
  std::string message; // "FILE: byte N: what" or "FILE: what", one line
};

struct TorrentLimits {
  std::uint64_t max_size = 256u << 20; // bytes of a .torrent file (config: torrent_max_size)
};

// Parses .torrent bytes; `source` names them in messages.
std::expected<Torrent, TorrentError> parse_torrent(std::string bytes, const std::string& source,
                                                   const TorrentLimits& limits = {});

// Reads (at most limits.max_size, regular files only, never blocking) and parses a file.
std::expected<Torrent, TorrentError> load_torrent(const std::string& path,
                                                  const TorrentLimits& limits = {});

// Lowercase hex of a hash.
template <std::size_t N> std::string hex(const std::array<std::uint8_t, N>& bytes);

} // namespace agent
