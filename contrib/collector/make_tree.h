// make_tree.h: `webseed-collector make-tree`: the torrent-symlinks tree of a release tree,
// made from the torrents (the layout webseed-agent `links` and `check` expect).
//
// For each torrent: NAME (single-file) or NAME/PATH... (multi-file) as one relative symbolic
// link per file into the release tree; BEP 47 pad files (aria2 and Transmission request
// NAME/.pad/N from web seeds) as relative links to shared zero-filled files PAD_DIR/N, one per
// distinct size (PAD_DIR is beside the tree, so the agent sees only links in it). A torrent's
// files are found by name and size under the scanned directories (release_scan.h: no link
// followed): the first directory (by path) holding all of them.
//
// The new tree is built in a temporary sibling directory, audited with the agent's own
// `links` audit (any error or warning: nothing is swapped), then exchanged with the old tree
// in one renameat2(RENAME_EXCHANGE) (a web server or a mirror's rsync sees the old tree or the
// new one, never half of one), and the old tree removed. A tree already as it should be is
// left untouched (no rewrite: rsync -a then transfers nothing). Links and directories are
// plain (no versioned directory, no link to the tree), so `rsync -a` copies it as it is.
#pragma once

#include "release_scan.h"
#include "torrent.h"

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace collector {

struct TreeOptions {
  std::string symlinks_dir = "experimental/torrent-symlinks"; // below ROOT
  std::string pad_dir;                                        // "": SYMLINKS_DIR + "-pad"
  ScanRule scan; // where the files are looked for (the tree, its siblings and PAD_DIR skipped)
};

struct TreeOutcome {
  bool changed = false; // the tree was replaced (false: it was already right)
  std::size_t entries = 0;
  std::size_t links = 0;
  std::size_t pad_sizes = 0;
  std::vector<std::string> problems; // torrents left out of the tree, one line each
};

// What a walk of the release tree must not enter: the tree itself, its temporary siblings
// (".BASE.*") and the pad directory (scan rules of make-torrents and make-tree).
std::vector<std::string> tree_skips(const std::string& symlinks_dir, const std::string& pad_dir);

// Makes ROOT/SYMLINKS_DIR for `torrents`. Throws std::runtime_error (one line) when the tree
// cannot be built or swapped, another make-tree holds the lock, the tree would be empty (no
// torrent, or no torrent's files found), or the audit of the new tree finds an error or a
// warning (the old tree then stays).
TreeOutcome make_tree(const std::string& root,
                      const std::vector<std::shared_ptr<const agent::Torrent>>& torrents,
                      const TreeOptions& options);

} // namespace collector
