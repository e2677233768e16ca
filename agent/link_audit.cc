#include "link_audit.h"

#include "util/dir_list.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace agent {

namespace {

// Real subdirectories nested deeper than this inside one entry are not walked.
constexpr int k_max_entry_depth = 64;

const std::string k_hint_links =
    "rsync skipped the symlinks: add --links (or -a) to the rsync options";

std::string first_component(std::string_view rel)
{
  return std::string(rel.substr(0, rel.find('/')));
}

// "../../../releases/x" for a link in `link_dir` (canonical, relative to root) that should
// point at `target_rel` (relative to root).
std::string relative_target(std::string_view link_dir, std::string_view target_rel)
{
  std::string out;
  if (!link_dir.empty()) {
    out += "../";
    for (const char c : link_dir) {
      if (c == '/') {
        out += "../";
      }
    }
  }
  out.append(target_rel);
  return out;
}

std::string hint_for(const ResolveFailure& failure, std::string_view root,
                     std::string_view link_dir)
{
  switch (failure.error) {
  case ResolveError::absolute_target: {
    const std::string& target = failure.trace.last_target;
    if (!root.empty() && target.size() > root.size() + 1 && target.starts_with(root) &&
        target[root.size()] == '/' && failure.trace.last_link == failure.trace.first_link) {
      return "make the link relative: " + relative_target(link_dir, target.substr(root.size() + 1));
    }
    return "links must be relative and stay inside the mirror; fix the link upstream";
  }
  case ResolveError::escapes_root:
    return "links must stay inside the mirror: is the mirror root the top of the distribution "
           "tree? otherwise fix the link upstream";
  case ResolveError::dangling: {
    const std::string top = first_component(failure.where);
    if (top == failure.where) {
      return "target missing: is " + top + "/ mirrored? (check the rsync --exclude rules)";
    }
    return "target missing: is the sync complete, and is " + top +
           "/ mirrored in full? (check the rsync --exclude rules)";
  }
  case ResolveError::symlink_loop:
    return "the link chain loops or is too long; fix the links upstream";
  case ResolveError::not_regular_file:
    return "web seeds serve regular files only; the link must point at the payload file";
  case ResolveError::unreadable:
    return "check permissions: the agent and the web server must be able to read it";
  }
  return {};
}

Code code_for(ResolveError error)
{
  switch (error) {
  case ResolveError::absolute_target: return Code::absolute_target;
  case ResolveError::escapes_root: return Code::escapes_root;
  case ResolveError::dangling: return Code::dangling;
  case ResolveError::symlink_loop: return Code::symlink_loop;
  case ResolveError::not_regular_file: return Code::not_regular_file;
  case ResolveError::unreadable: return Code::unreadable;
  }
  return Code::unreadable;
}

class Walker {
public:
  Walker(Resolver& resolver, std::string_view root, LinkAudit& audit)
      : m_resolver(resolver), m_root(root), m_audit(audit)
  {
  }

  void audit_tree(std::string_view symlinks_dir)
  {
    const std::string tree_path(symlinks_dir);
    auto tree = m_resolver.resolve_dir(m_resolver.root_chain(), symlinks_dir);
    if (!tree) {
      const ResolveFailure& f = tree.error();
      std::string message = f.error == ResolveError::dangling
                                ? "the symlinks dir " + tree_path + " does not exist"
                                : "the symlinks dir " + tree_path + " is unusable: " + f.describe();
      m_audit.tree_findings.push_back({Code::missing_tree, tree_path, std::nullopt,
                                       std::move(message),
                                       "mirror the whole tree including " + tree_path +
                                           " (check rsync --exclude rules), or set symlinks_dir"});
      return;
    }
    const DirChain& chain = *tree;
    auto names = util::list_dir(chain.back()->fd.get());
    if (!names) {
      m_audit.tree_findings.push_back(
          {Code::unreadable, tree_path, std::nullopt,
           "cannot list " + tree_path + ": " + std::strerror(names.error()),
           "check permissions of the symlinks dir"});
      return;
    }
    if (names->empty()) {
      m_audit.tree_findings.push_back({Code::empty_tree, tree_path, std::nullopt,
                                       "the symlinks dir " + tree_path + " holds no entry",
                                       k_hint_links});
      return;
    }
    for (const util::DirEntryName& ent : *names) {
      EntryAudit entry;
      entry.name = ent.name;
      const std::string display = join_rel(tree_path, ent.name);
      if (is_real_dir(chain.back(), ent)) {
        walk_entry_dir(entry, chain, ent.name, display, 0);
        if (entry.links == 0 && entry.findings.empty()) {
          entry.findings.push_back(empty_entry_finding(display));
        }
      } else {
        check(entry, chain, ent.name, display);
      }
      sort_findings(entry.findings);
      m_audit.links += entry.links;
      m_audit.entries.push_back(std::move(entry));
    }
  }

private:
  static bool is_real_dir(const DirRef& parent, const util::DirEntryName& ent)
  {
    if (ent.type != DT_UNKNOWN) {
      return ent.type == DT_DIR;
    }
    struct stat st {};
    return ::fstatat(parent->fd.get(), ent.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
           S_ISDIR(st.st_mode);
  }

  void walk_entry_dir(EntryAudit& entry, const DirChain& parent, const std::string& name,
                      const std::string& display, int depth)
  {
    const auto unreadable = [&](const std::string& why, const std::string& hint) {
      entry.findings.push_back(
          {Code::unreadable, display, std::nullopt, "cannot read directory: " + why, hint});
    };
    const std::string permissions_hint =
        "check permissions: the agent and the web server must be able to read it";
    if (depth >= k_max_entry_depth) {
      unreadable("directories nested deeper than " + std::to_string(k_max_entry_depth) +
                     " levels are not walked",
                 "a torrent entry is a flat or shallow directory of links; fix the tree upstream");
      return;
    }
    auto dir = m_resolver.open_subdir(parent.back(), name);
    if (!dir) {
      unreadable(std::strerror(dir.error()), permissions_hint);
      return;
    }
    auto names = util::list_dir((*dir)->fd.get());
    if (!names) {
      unreadable(std::strerror(names.error()), permissions_hint);
      return;
    }
    DirChain chain = parent;
    chain.push_back(std::move(*dir));
    for (const util::DirEntryName& ent : *names) {
      const std::string child_display = join_rel(display, ent.name);
      if (is_real_dir(chain.back(), ent)) {
        walk_entry_dir(entry, chain, ent.name, child_display, depth + 1);
      } else {
        check(entry, chain, ent.name, child_display);
      }
    }
  }

  void check(EntryAudit& entry, const DirChain& dir, const std::string& name,
             const std::string& display)
  {
    ++entry.links;
    LeafCheck leaf = check_leaf(m_resolver, dir, name, display, m_root);
    for (Finding& f : leaf.findings) {
      entry.findings.push_back(std::move(f));
    }
  }

  Resolver& m_resolver;
  std::string_view m_root;
  LinkAudit& m_audit;
};

} // namespace

bool LinkAudit::ok() const
{
  return !has_error(tree_findings) &&
         std::all_of(entries.begin(), entries.end(), [](const EntryAudit& e) { return e.ok(); });
}

std::size_t LinkAudit::entries_ok() const
{
  return static_cast<std::size_t>(
      std::count_if(entries.begin(), entries.end(), [](const EntryAudit& e) { return e.ok(); }));
}

std::size_t LinkAudit::count(Severity severity) const
{
  const auto in = [severity](const std::vector<Finding>& findings) {
    return static_cast<std::size_t>(
        std::count_if(findings.begin(), findings.end(),
                      [severity](const Finding& f) { return f.severity() == severity; }));
  };
  std::size_t n = in(tree_findings);
  for (const EntryAudit& e : entries) {
    n += in(e.findings);
  }
  return n;
}

LeafCheck check_leaf(Resolver& resolver, const DirChain& dir, std::string_view name,
                     const std::string& display_path, std::string_view root)
{
  LeafCheck out;
  const std::string leaf_rel = join_rel(dir.back()->rel, name);
  auto resolved = resolver.resolve_file(dir, name);
  const ResolveTrace& trace = resolved ? resolved->trace : resolved.error().trace;
  std::optional<std::string> own_target;
  if (trace.links_followed > 0 && trace.first_link == leaf_rel) {
    own_target = trace.first_target;
  }
  if (!resolved) {
    out.findings.push_back(resolve_failure_finding(resolved.error(), display_path, own_target, root,
                                                   dir.back()->rel, leaf_rel));
    return out;
  }
  if (!own_target) {
    out.findings.push_back(
        {Code::not_symlink, display_path, std::nullopt,
         "a regular file where a symlink belongs (it serves, but doubles the disk use)",
         "rsync copied the link targets (-L/--copy-links): use --links (or -a) instead"});
  }
  out.file = std::move(*resolved);
  return out;
}

Finding resolve_failure_finding(const ResolveFailure& failure, const std::string& display_path,
                                std::optional<std::string> own_target, std::string_view root,
                                std::string_view link_dir, std::string_view subject_link)
{
  return Finding(code_for(failure.error), display_path, std::move(own_target),
                 failure.describe(subject_link), hint_for(failure, root, link_dir));
}

Finding empty_entry_finding(const std::string& display)
{
  return Finding(Code::empty_entry, display, std::nullopt, "entry directory holds no link",
                 k_hint_links);
}

LinkAudit audit_links(Resolver& resolver, std::string_view root, std::string_view symlinks_dir)
{
  LinkAudit audit;
  audit.root = std::string(root);
  audit.symlinks_dir = std::string(symlinks_dir);
  Walker(resolver, root, audit).audit_tree(symlinks_dir);
  return audit;
}

} // namespace agent
