// link_audit.h: the audit of the torrent-symlinks tree (`webseed-agent links`).
//
// Each entry directly under ROOT/SYMLINKS_DIR is a torrent entry: a directory of links for a
// multi-file torrent (real subdirectories allowed), or a single link for a single-file
// torrent. Every leaf (anything that is not a real directory) must be a relative symlink
// that resolves, inside ROOT, to a regular file. All lookups go through the Resolver.
#pragma once

#include "findings.h"
#include "safe_resolve.h"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace agent {

inline constexpr std::string_view k_default_symlinks_dir = "experimental/torrent-symlinks";

struct EntryAudit {
  std::string name;              // raw bytes
  std::size_t links = 0;         // leaves checked
  std::vector<Finding> findings; // sorted by sort_findings
  bool ok() const { return !has_error(findings); }
};

struct LinkAudit {
  std::string root;                   // absolute path of the mirror root, for display
  std::string symlinks_dir;           // relative to root
  std::vector<Finding> tree_findings; // missing-tree, empty-tree
  std::vector<EntryAudit> entries;    // sorted bytewise by name
  std::size_t links = 0;

  bool ok() const;
  std::size_t entries_ok() const;
  std::size_t count(Severity severity) const;
};

// The outcome of checking one leaf (a path that should be a link to a regular file).
struct LeafCheck {
  std::optional<ResolvedFile> file; // set when the leaf resolves to a readable regular file
  std::vector<Finding> findings;    // errors when `file` is unset; maybe a not-symlink warning
};

// Checks the leaf `name` inside directory `dir` (a canonical chain). `display_path` is the
// path reported in findings (relative to root, as the user sees it). `root` is the root's
// absolute path, used to suggest a relative target for absolute links.
LeafCheck check_leaf(Resolver& resolver, const DirChain& dir, std::string_view name,
                     const std::string& display_path, std::string_view root);

// The finding for a failed resolution of `display_path` (a link whose own target is
// `own_target`, if it is a link) in directory `link_dir` (canonical, relative to root).
Finding resolve_failure_finding(const ResolveFailure& failure, const std::string& display_path,
                                std::optional<std::string> own_target, std::string_view root,
                                std::string_view link_dir, std::string_view subject_link);

// Audits ROOT/SYMLINKS_DIR. `root` is the absolute root path (for display and hints).
// Never throws for anything found in the tree: problems become findings.
// The empty-entry error for the entry directory shown as `display` (a multi-file torrent's
// directory holding no link: rsync ran without --links). `check` gives the same one.
Finding empty_entry_finding(const std::string& display);

LinkAudit audit_links(Resolver& resolver, std::string_view root, std::string_view symlinks_dir);

} // namespace agent
