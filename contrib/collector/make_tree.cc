#include "make_tree.h"

#include "findings.h"
#include "link_audit.h"
#include "safe_resolve.h"
#include "util/dir_list.h"
#include "util/text.h"

#include <fcntl.h>
#include <stdio.h> // renameat2
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <map>
#include <set>
#include <stdexcept>
#include <unordered_map>

namespace collector {

namespace {

struct Desired {
  std::set<std::string> dirs;               // below the tree
  std::map<std::string, std::string> links; // below the tree -> target
  std::set<std::uint64_t> pads;             // sizes
};

[[noreturn]] void fail(const std::string& what)
{
  throw std::runtime_error(what);
}

std::string parent_of(const std::string& rel)
{
  const std::size_t slash = rel.rfind('/');
  return slash == std::string::npos ? "" : rel.substr(0, slash);
}

std::string base_of(const std::string& rel)
{
  const std::size_t slash = rel.rfind('/');
  return slash == std::string::npos ? rel : rel.substr(slash + 1);
}

std::size_t depth_of(const std::string& rel) // components of a directory path below ROOT
{
  return rel.empty() ? 0 : static_cast<std::size_t>(std::count(rel.begin(), rel.end(), '/')) + 1;
}

// The target of a link at ROOT/LINK_REL pointing at ROOT/TARGET_REL, relative.
std::string relative_target(const std::string& link_rel, const std::string& target_rel)
{
  std::string up;
  for (std::size_t i = depth_of(parent_of(link_rel)); i > 0; --i) {
    up += "../";
  }
  return up + target_rel;
}

// What is at ROOT/TREE now (nothing followed); `other` when something is not a link or a dir.
struct Existing {
  std::set<std::string> dirs;
  std::map<std::string, std::string> links;
  bool other = false;
};

void read_existing(int dirfd, const std::string& rel, Existing& out, unsigned depth)
{
  auto names = util::list_dir(dirfd);
  if (!names || depth > 32) {
    out.other = true;
    return;
  }
  for (const util::DirEntryName& e : *names) {
    const std::string child = rel.empty() ? e.name : rel + "/" + e.name;
    struct stat st {};
    if (::fstatat(dirfd, e.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      out.other = true;
    } else if (S_ISLNK(st.st_mode)) {
      std::string target(PATH_MAX, '\0');
      const ssize_t n = ::readlinkat(dirfd, e.name.c_str(), target.data(), target.size());
      if (n < 0) {
        out.other = true;
        continue;
      }
      target.resize(static_cast<std::size_t>(n));
      out.links[child] = target;
    } else if (S_ISDIR(st.st_mode)) {
      out.dirs.insert(child);
      const util::Fd sub(
          ::openat(dirfd, e.name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!sub) {
        out.other = true;
        continue;
      }
      read_existing(sub.get(), child, out, depth + 1);
    } else {
      out.other = true;
    }
  }
}

// Removes `name` in `dirfd` and, when it is a directory, everything below it (nothing
// followed). Errors are ignored: what remains is reported by the caller's next run.
void remove_tree(int dirfd, const std::string& name, unsigned depth = 0)
{
  if (::unlinkat(dirfd, name.c_str(), 0) == 0 || depth > 64) {
    return;
  }
  const util::Fd sub(
      ::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (sub) {
    if (auto names = util::list_dir(sub.get())) {
      for (const util::DirEntryName& e : *names) {
        remove_tree(sub.get(), e.name, depth + 1);
      }
    }
  }
  ::unlinkat(dirfd, name.c_str(), AT_REMOVEDIR);
}

// ROOT/PAD_DIR/N of N zero bytes (sparse), made atomically when missing or wrong.
void ensure_pad(int pad_fd, const std::string& pad_dir, std::uint64_t size)
{
  const std::string name = std::to_string(size);
  struct stat st {};
  if (::fstatat(pad_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
      static_cast<std::uint64_t>(st.st_size) == size && st.st_blocks == 0) {
    return; // sparse: nothing but zeros
  }
  const std::string tmp = "." + name + ".tmp-" + std::to_string(::getpid());
  const util::Fd fd(
      ::openat(pad_fd, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
  if (!fd || ::ftruncate(fd.get(), static_cast<off_t>(size)) != 0 || ::fsync(fd.get()) != 0 ||
      ::renameat(pad_fd, tmp.c_str(), pad_fd, name.c_str()) != 0) {
    const int e = errno;
    ::unlinkat(pad_fd, tmp.c_str(), 0);
    fail(pad_dir + "/" + name + ": cannot write the pad file: " + std::strerror(e));
  }
}

class Planner {
public:
  Planner(const std::vector<ReleaseFile>& files, const TreeOptions& o, const std::string& pad_dir)
      : m_options(o), m_pad_dir(pad_dir)
  {
    for (const ReleaseFile& f : files) {
      m_by_name[f.name].push_back(&f);
      m_by_rel.emplace(f.rel, f.size);
    }
  }

  // Adds `t`'s entry; false with `why` when its files are not found.
  bool add(const agent::Torrent& t, Desired& d, std::string& why)
  {
    if (m_names.contains(t.name)) {
      why = "another torrent has the same name; only the first is in the tree";
      return false;
    }
    const auto real = [](const agent::TorrentFile& f) {
      return !f.pad && !f.symlink && f.length > 0;
    };
    const auto first = std::find_if(t.files.begin(), t.files.end(), real);
    if (first == t.files.end()) {
      why = "no file with content";
      return false;
    }
    const auto path_of = [&](const agent::TorrentFile& f) {
      return t.multi_file ? f.joined_path() : t.name;
    };
    const std::string first_path = path_of(*first);
    std::optional<std::string> found;
    for (const ReleaseFile* c : m_by_name[base_of(first_path)]) {
      if (c->size != first->length ||
          !(c->rel == first_path || c->rel.ends_with("/" + first_path))) {
        continue;
      }
      const std::string dir = c->rel.substr(0, c->rel.size() - first_path.size());
      const bool all =
          std::all_of(t.files.begin(), t.files.end(), [&](const agent::TorrentFile& f) {
            if (!real(f)) {
              return true;
            }
            const auto it = m_by_rel.find(dir + path_of(f));
            return it != m_by_rel.end() && it->second == f.length;
          });
      if (all) {
        found = dir; // "" or "DIR/"
        break;
      }
    }
    if (!found) {
      why = "its files (" + util::escape_in_message(first_path) + ", " +
            std::to_string(first->length) +
            " bytes, and the others) are not in one directory "
            "under " +
            join_dirs();
      return false;
    }
    m_names.insert(t.name);
    const std::string tree = m_options.symlinks_dir;
    if (!t.multi_file) {
      d.links[t.name] = relative_target(tree + "/" + t.name, *found + t.name);
      return true;
    }
    d.dirs.insert(t.name);
    for (const agent::TorrentFile& f : t.files) {
      if (!real(f) && !(f.pad && f.length > 0)) {
        continue;
      }
      const std::string below = t.name + "/" + f.joined_path();
      for (std::string p = parent_of(below); p != t.name && !p.empty(); p = parent_of(p)) {
        d.dirs.insert(p);
      }
      const std::string target =
          f.pad ? m_pad_dir + "/" + std::to_string(f.length) : *found + f.joined_path();
      if (f.pad) {
        d.pads.insert(f.length);
      }
      d.links[below] = relative_target(tree + "/" + below, target);
    }
    return true;
  }

private:
  std::string join_dirs() const
  {
    std::string out;
    for (const std::string& d : m_options.scan.dirs) {
      out += (out.empty() ? "" : ", ") + d + "/";
    }
    return out;
  }

  const TreeOptions& m_options;
  const std::string& m_pad_dir;
  std::unordered_map<std::string, std::vector<const ReleaseFile*>> m_by_name;
  std::unordered_map<std::string, std::uint64_t> m_by_rel;
  std::set<std::string> m_names;
};

void fsync_dir(int dirfd, const std::string& rel)
{
  const util::Fd fd(
      rel.empty() ? ::fcntl(dirfd, F_DUPFD_CLOEXEC, 0)
                  : ::openat(dirfd, rel.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (fd) {
    ::fsync(fd.get());
  }
}

} // namespace

std::vector<std::string> tree_skips(const std::string& symlinks_dir, const std::string& pad_dir)
{
  const std::string parent = parent_of(symlinks_dir);
  return {symlinks_dir, (parent.empty() ? "" : parent + "/") + "." + base_of(symlinks_dir) + ".*",
          pad_dir.empty() ? symlinks_dir + "-pad" : pad_dir};
}

TreeOutcome make_tree(const std::string& root,
                      const std::vector<std::shared_ptr<const agent::Torrent>>& torrents,
                      const TreeOptions& options)
{
  const std::string& tree = options.symlinks_dir;
  const std::string pad_dir = options.pad_dir.empty() ? tree + "-pad" : options.pad_dir;
  const std::string parent = parent_of(tree);
  const std::string base = base_of(tree);
  const std::string temp_prefix = "." + base + ".";
  const auto plain = [](const std::string& rel) { // a/b/c: no "", ".", ".." component
    if (rel.empty() || rel.front() == '/' || rel.back() == '/' ||
        rel.find("//") != std::string::npos) {
      return false;
    }
    for (std::size_t at = 0; at != std::string::npos;) {
      const std::size_t slash = rel.find('/', at);
      const std::string c = rel.substr(at, slash == std::string::npos ? slash : slash - at);
      if (c == "." || c == "..") {
        return false;
      }
      at = slash == std::string::npos ? slash : slash + 1;
    }
    return true;
  };
  if (!plain(tree) || !plain(pad_dir)) {
    fail("the symlinks and pad directories must be plain relative paths below ROOT (no '.', "
         "'..' or empty component), not '" +
         tree + "' and '" + pad_dir + "'");
  }
  ScanRule scan = options.scan;
  for (std::string& s : tree_skips(tree, pad_dir)) {
    scan.skip.push_back(std::move(s));
  }
  TreeOutcome outcome;
  auto files = scan_release_files(root, scan, outcome.problems);
  if (!files) {
    fail(files.error());
  }

  Desired want;
  Planner planner(*files, options, pad_dir);
  for (const auto& t : torrents) {
    std::string why;
    if (planner.add(*t, want, why)) {
      ++outcome.entries;
    } else {
      outcome.problems.push_back(util::escape_in_message(t->source) + ": " + why);
    }
  }
  if (outcome.entries == 0) { // an empty tree is never what a release wants
    fail(torrents.empty() ? "no torrent to make the tree of; the old tree stays"
                          : "the files of no torrent were found (" + outcome.problems.front() +
                                "); the old tree stays");
  }
  outcome.links = want.links.size();
  outcome.pad_sizes = want.pads.size();

  const util::Fd root_fd(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root_fd) {
    fail(util::escape_in_message(root) + ": " + std::strerror(errno));
  }
  // The pad directory only when a torrent has pad files (or it exists already).
  const std::vector<std::string> needed = want.pads.empty()
                                              ? std::vector<std::string>{parent}
                                              : std::vector<std::string>{parent, pad_dir};
  for (const std::string& dir : needed) {
    std::string made;
    for (std::size_t at = 0; at != std::string::npos && !dir.empty();) {
      const std::size_t slash = dir.find('/', at);
      made = dir.substr(0, slash);
      ::mkdirat(root_fd.get(), made.c_str(), 0755); // EEXIST fine; checked below
      at = slash == std::string::npos ? slash : slash + 1;
    }
  }
  auto parent_fd = open_release_dir(root_fd.get(), parent);
  if (!parent_fd) {
    fail(parent_fd.error() + " (the symlinks tree's parent must be a real directory)");
  }
  auto pad_fd = open_release_dir(root_fd.get(), pad_dir);
  if (!pad_fd && (errno != ENOENT || !want.pads.empty())) {
    fail(pad_fd.error() + " (the pad directory must be a real directory)");
  }
  if (::flock(parent_fd->get(), LOCK_EX | LOCK_NB) != 0) {
    fail(util::escape_in_message(parent) + ": another make-tree is running (flock); try again");
  }
  for (const std::uint64_t size : want.pads) {
    ensure_pad(pad_fd->get(), pad_dir, size);
  }

  Existing have;
  if (auto old = open_release_dir(parent_fd->get(), base); old) {
    read_existing(old->get(), "", have, 0);
  } else {
    have.other = errno != ENOENT;
  }
  if (!have.other && have.dirs == want.dirs && have.links == want.links) {
    return outcome;
  }

  // Leftovers of an interrupted run, then the new tree beside the old one.
  if (auto names = util::list_dir(parent_fd->get())) {
    for (const util::DirEntryName& e : *names) {
      if (e.name.starts_with(temp_prefix)) {
        remove_tree(parent_fd->get(), e.name);
      }
    }
  }
  const std::string temp = temp_prefix + "new-" + std::to_string(::getpid());
  if (::mkdirat(parent_fd->get(), temp.c_str(), 0755) != 0) {
    fail(parent + "/" + temp + ": " + std::strerror(errno));
  }
  auto temp_fd = open_release_dir(parent_fd->get(), temp);
  if (!temp_fd) {
    fail(temp_fd.error());
  }
  const auto abandon = [&](const std::string& why) {
    remove_tree(parent_fd->get(), temp);
    fail(why);
  };
  for (const std::string& d : want.dirs) { // parents sort before their children
    if (::mkdirat(temp_fd->get(), d.c_str(), 0755) != 0) {
      abandon(tree + "/" + util::escape_in_message(d) + ": " + std::strerror(errno));
    }
  }
  for (const auto& [path, target] : want.links) {
    if (::symlinkat(target.c_str(), temp_fd->get(), path.c_str()) != 0) {
      abandon(tree + "/" + util::escape_in_message(path) + ": " + std::strerror(errno));
    }
  }
  for (auto it = want.dirs.rbegin(); it != want.dirs.rend(); ++it) {
    fsync_dir(temp_fd->get(), *it);
  }
  fsync_dir(temp_fd->get(), "");

  // The agent's own audit of the new tree, before anyone sees it.
  if (!want.links.empty()) {
    auto resolver = agent::Resolver::open(root);
    if (!resolver) {
      abandon(resolver.error());
    }
    const std::string temp_rel = (parent.empty() ? "" : parent + "/") + temp;
    const agent::LinkAudit audit = agent::audit_links(*resolver, root, temp_rel);
    std::vector<agent::Finding> findings = audit.tree_findings;
    for (const agent::EntryAudit& e : audit.entries) {
      findings.insert(findings.end(), e.findings.begin(), e.findings.end());
    }
    if (!findings.empty()) {
      const agent::Finding& f = findings.front();
      abandon("the new tree fails the agent's links audit (" + std::to_string(findings.size()) +
              " findings; the old tree stays): " + std::string(agent::code_name(f.code)) + " " +
              util::escape_in_message(f.path) + ": " + util::escape_in_message(f.message));
    }
  }

  const bool exists = ::faccessat(parent_fd->get(), base.c_str(), F_OK, AT_SYMLINK_NOFOLLOW) == 0;
  if (exists) {
    if (::renameat2(parent_fd->get(), temp.c_str(), parent_fd->get(), base.c_str(),
                    RENAME_EXCHANGE) != 0) {
      abandon(tree + ": cannot swap in the new tree (renameat2 RENAME_EXCHANGE: " +
              std::strerror(errno) + "); the filesystem must support it (ext4, xfs, btrfs, tmpfs)");
    }
  } else if (::renameat(parent_fd->get(), temp.c_str(), parent_fd->get(), base.c_str()) != 0) {
    abandon(tree + ": " + std::strerror(errno));
  }
  fsync_dir(parent_fd->get(), "");
  if (exists) {
    remove_tree(parent_fd->get(), temp); // the old tree
  }
  // Pad files no torrent uses any more (after the swap: the old tree no longer links them).
  if (auto names = pad_fd ? util::list_dir(pad_fd->get()) : std::unexpected(ENOENT)) {
    for (const util::DirEntryName& e : *names) {
      const bool number = !e.name.empty() && e.name.size() < 20 &&
                          std::all_of(e.name.begin(), e.name.end(), ::isdigit);
      if (number && !want.pads.contains(std::stoull(e.name))) {
        ::unlinkat(pad_fd->get(), e.name.c_str(), 0);
      }
    }
  }
  outcome.changed = true;
  return outcome;
}

} // namespace collector
