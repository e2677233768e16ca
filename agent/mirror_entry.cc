#include "mirror_entry.h"

#include "link_audit.h"
#include "mirror_layout.h"
#include "util/dir_list.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <set>

namespace agent {

namespace {

constexpr int k_max_dirs = 65536; // directories walked in one entry, at most

std::string joined(const std::vector<std::string>& parts, std::size_t count)
{
  std::string out;
  for (std::size_t i = 0; i < count; ++i) {
    out += (i == 0 ? "" : "/") + parts[i];
  }
  return out;
}

} // namespace

MirrorEntry::MirrorEntry(Resolver& resolver, const std::string& root,
                         const std::string& symlinks_dir, const Torrent& torrent)
    : m_resolver(resolver), m_root(root), m_symlinks_dir(symlinks_dir), m_torrent(torrent)
{
}

std::string MirrorEntry::display(const TorrentFile& file) const
{
  return mirror_path(m_symlinks_dir, m_torrent, file);
}

std::optional<DirChain> MirrorEntry::dir_of(const TorrentFile& file, std::string& why)
{
  if (!m_entry_tried) {
    m_entry_tried = true;
    const std::string entry =
        m_torrent.multi_file ? m_symlinks_dir + "/" + m_torrent.name : m_symlinks_dir;
    auto chain = m_resolver.resolve_dir(m_resolver.root_chain(), entry);
    if (chain) {
      m_entry = std::move(*chain);
    } else {
      m_entry_error = entry + ": " + chain.error().describe();
    }
  }
  if (!m_entry) {
    why = m_entry_error;
    return std::nullopt;
  }
  if (!m_torrent.multi_file || file.path.size() <= 1) {
    return m_entry;
  }
  const std::string dir = joined(file.path, file.path.size() - 1);
  auto chain = m_resolver.resolve_dir(*m_entry, dir);
  if (!chain) {
    why = chain.error().describe();
    return std::nullopt;
  }
  return std::move(*chain);
}

LocatedFile MirrorEntry::locate(const TorrentFile& file)
{
  LocatedFile out;
  const std::string shown = display(file);
  std::string why;
  const auto dir = dir_of(file, why);
  // Nothing at all is there for this file: in an entry holding nothing, the entry's cause.
  auto missing = [&](std::string message, std::string hint) {
    if (m_entry && m_torrent.multi_file && entry_holds_nothing()) {
      if (!m_empty_reported) {
        m_empty_reported = true;
        out.findings.push_back(empty_entry_finding(m_symlinks_dir + "/" + m_torrent.name));
      }
      return;
    }
    out.findings.emplace_back(Code::missing_file, shown, std::nullopt, std::move(message),
                              std::move(hint));
  };
  if (!dir) {
    missing("the torrent lists this file; it is not on the mirror (" + why + ")",
            "is " + m_symlinks_dir + " mirrored in full, and is the sync complete?");
    return out;
  }
  const std::string& leaf = m_torrent.multi_file ? file.path.back() : m_torrent.name;
  LeafCheck check = check_leaf(m_resolver, *dir, leaf, shown, m_root);
  for (Finding& f : check.findings) {
    if (f.code == Code::dangling && !f.target) {
      missing("the torrent lists this file; it is not on the mirror",
              "is " + m_symlinks_dir + " mirrored in full (rsync --links), and is the sync "
              "complete?");
    } else {
      out.findings.push_back(std::move(f));
    }
  }
  out.file = std::move(check.file);
  return out;
}

void MirrorEntry::walk_leaves(const std::function<bool(const std::string&)>& visit)
{
  std::vector<std::pair<DirRef, std::string>> todo{{m_entry->back(), ""}};
  int walked = 0;
  while (!todo.empty() && walked++ < k_max_dirs) {
    auto [dir, rel] = todo.back();
    todo.pop_back();
    auto names = util::list_dir(dir->fd.get());
    if (!names) {
      continue;
    }
    for (const util::DirEntryName& e : *names) {
      const std::string child = rel.empty() ? e.name : rel + "/" + e.name;
      bool is_dir = e.type == DT_DIR;
      if (e.type == DT_UNKNOWN) {
        struct stat st {};
        is_dir = ::fstatat(dir->fd.get(), e.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                 S_ISDIR(st.st_mode);
      }
      if (is_dir) {
        if (auto sub = m_resolver.open_subdir(dir, e.name)) {
          todo.emplace_back(std::move(*sub), child);
        }
      } else if (!visit(child)) {
        return;
      }
    }
  }
}

bool MirrorEntry::entry_holds_nothing()
{
  if (!m_empty) {
    bool empty = true;
    walk_leaves([&](const std::string&) { return empty = false; });
    m_empty = empty;
  }
  return *m_empty;
}

std::vector<Finding> MirrorEntry::unexpected_files()
{
  std::vector<Finding> out;
  std::string why;
  if (!m_torrent.multi_file || m_torrent.files.empty() || !dir_of(m_torrent.files.front(), why)) {
    return out;
  }
  std::set<std::string> listed;
  for (const TorrentFile& f : m_torrent.files) {
    listed.insert(f.joined_path());
  }
  const std::string entry_path = m_symlinks_dir + "/" + m_torrent.name;
  walk_leaves([&](const std::string& child) {
    if (!listed.contains(child)) {
      out.emplace_back(Code::unexpected_file, entry_path + "/" + child, std::nullopt,
                       "not listed in the torrent " + m_torrent.name,
                       "a leftover from an older release? harmless for clients; "
                       "rsync --delete removes it if upstream did");
    }
    return true;
  });
  return out;
}

} // namespace agent
