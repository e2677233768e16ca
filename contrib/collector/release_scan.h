// release_scan.h: the regular files of a release tree (make-torrents, make-tree), found and
// opened without ever following a symbolic link: a link, FIFO, device or socket is skipped
// and never opened, so nothing outside ROOT is read and nothing blocks.
#pragma once

#include "util/fd.h"

#include <cstdint>
#include <expected>
#include <string>
#include <vector>

namespace collector {

struct ReleaseFile {
  std::string rel;  // path below ROOT, components joined with '/'
  std::string dir;  // its directory below ROOT ("" for ROOT itself)
  std::string name; // its last component
  std::uint64_t size = 0;
};

struct ScanRule {
  std::vector<std::string> dirs = {"releases", "experimental"}; // walked, below ROOT
  // Paths below ROOT never entered; an entry ending in '*' is a prefix (e.g. the symlinks
  // tree "experimental/torrent-symlinks" and its temporary siblings).
  std::vector<std::string> skip;
  unsigned max_depth = 32; // directories nested deeper are not walked (a problem)
};

// Every regular file under ROOT/DIR for each DIR of the rule, sorted by `rel`. A missing DIR
// is skipped; one that is a symlink is a problem ("DIR: a symbolic link (not followed)").
// Problems (unreadable directories, too deep) are appended to `problems`, one line each.
// Error: "ROOT: why" when ROOT cannot be opened.
std::expected<std::vector<ReleaseFile>, std::string>
scan_release_files(const std::string& root, const ScanRule& rule,
                   std::vector<std::string>& problems);

// Opens ROOT/rel (`root_fd` is ROOT opened O_DIRECTORY) for reading: every directory
// component O_NOFOLLOW, the file O_NOFOLLOW|O_NONBLOCK, then checked to be a regular file of
// `size` bytes. Error: "REL: why" (why: "a symbolic link (not followed)", "changed size
// (N bytes, expected M)", the errno text...).
std::expected<util::Fd, std::string> open_release_file(int root_fd, const std::string& rel,
                                                       std::uint64_t size);

// Opens the directory ROOT/rel the same way (O_DIRECTORY|O_NOFOLLOW for each component).
std::expected<util::Fd, std::string> open_release_dir(int root_fd, const std::string& rel);

} // namespace collector
