// mirror_entry.h: a torrent's entry under the mirror's symlinks dir, file by file. Finds
// each torrent file where mirror_layout.h says it is, through the links audit's check_leaf
// (so every link finding applies), and lists what is there but not in the torrent.
#pragma once

#include "payload_check.h"
#include "safe_resolve.h"
#include "torrent.h"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace agent {

class MirrorEntry {
public:
  // `root` is the mirror root's absolute path (for hints); all references must outlive this.
  MirrorEntry(Resolver& resolver, const std::string& root, const std::string& symlinks_dir,
              const Torrent& torrent);

  // The file, or missing-file / link findings. Usable as a payload_check Locator. When a
  // multi-file entry directory holds nothing but directories (rsync without --links), the
  // first file looked up gets the links audit's empty-entry error for the entry and the
  // others no finding: one cause, said once.
  LocatedFile locate(const TorrentFile& file);

  // The path shown for a torrent file: relative to the mirror root.
  std::string display(const TorrentFile& file) const;

  // unexpected-file warnings: leaves of a multi-file entry that the torrent does not list.
  std::vector<Finding> unexpected_files();

private:
  std::optional<DirChain> dir_of(const TorrentFile& file, std::string& why);
  // Visits every non-directory leaf under the (resolved) entry directory, real directories
  // only, at most k_max_dirs of them; `visit(relative path)` returns false to stop.
  void walk_leaves(const std::function<bool(const std::string&)>& visit);
  bool entry_holds_nothing();

  Resolver& m_resolver;
  const std::string& m_root;
  const std::string& m_symlinks_dir;
  const Torrent& m_torrent;
  std::optional<DirChain> m_entry; // multi-file: the entry directory; single: the symlinks dir
  std::string m_entry_error;       // why it could not be resolved
  bool m_entry_tried = false;
  std::optional<bool> m_empty;     // entry_holds_nothing(), once computed
  bool m_empty_reported = false;
};

} // namespace agent
