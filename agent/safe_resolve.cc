#include "safe_resolve.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace agent {

namespace {

constexpr std::size_t k_max_cached_dirs = 256;
constexpr std::size_t k_max_cache_entries = 65536;
constexpr std::size_t k_max_link_size = 65536;

std::string errno_text(int err)
{
  return std::strerror(err);
}

std::string_view type_name(mode_t type)
{
  switch (type & S_IFMT) {
  case S_IFDIR: return "a directory";
  case S_IFIFO: return "a FIFO";
  case S_IFSOCK: return "a socket";
  case S_IFCHR: return "a character device";
  case S_IFBLK: return "a block device";
  case S_IFLNK: return "a symbolic link";
  case S_IFREG: return "a regular file";
  default: return "not a regular file";
  }
}

// Pushes the components of `path` onto `pending` so that the first component is popped
// first. A trailing slash leaves a "." so that the last named component must be a directory.
void push_components(std::vector<std::string>& pending, std::string_view path)
{
  std::vector<std::string_view> parts;
  std::size_t pos = 0;
  while (pos <= path.size()) {
    const std::size_t slash = path.find('/', pos);
    const std::size_t end = slash == std::string_view::npos ? path.size() : slash;
    const std::string_view part = path.substr(pos, end - pos);
    if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    if (slash == std::string_view::npos) {
      break;
    }
    pos = slash + 1;
  }
  if (!path.empty() && (path.back() == '/' || path.ends_with("/."))) {
    parts.push_back(".");
  }
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
    pending.emplace_back(*it);
  }
}

std::expected<std::string, int> read_link(int dirfd, const std::string& name)
{
  std::string buf(256, '\0');
  while (true) {
    const ssize_t n = ::readlinkat(dirfd, name.c_str(), buf.data(), buf.size());
    if (n < 0) {
      return std::unexpected(errno);
    }
    if (static_cast<std::size_t>(n) < buf.size()) {
      buf.resize(static_cast<std::size_t>(n));
      return buf;
    }
    if (buf.size() >= k_max_link_size) {
      return std::unexpected(ENAMETOOLONG);
    }
    buf.resize(buf.size() * 4);
  }
}

} // namespace

std::string join_rel(std::string_view parent, std::string_view name)
{
  if (parent.empty()) {
    return std::string(name);
  }
  std::string out;
  out.reserve(parent.size() + 1 + name.size());
  out.append(parent).append("/").append(name);
  return out;
}

std::string ResolveFailure::describe(std::string_view subject) const
{
  const bool own = trace.last_link.empty() || trace.last_link == subject;
  const std::string via =
      own ? std::string() : " (via " + trace.last_link + " -> " + trace.last_target + ")";
  const std::string at = where.empty() ? std::string("the mirror root") : where;
  switch (error) {
  case ResolveError::absolute_target:
    return (own ? std::string("the link has") : "link " + trace.last_link + " has") +
           " an absolute target '" + trace.last_target +
           "': it resolves against this machine's /, not the mirror";
  case ResolveError::escapes_root: return "target climbs above the mirror root" + via;
  case ResolveError::dangling: return "target does not exist: " + at + ": " + errno_text(err) + via;
  case ResolveError::symlink_loop:
    return "more than " + std::to_string(Resolver::k_max_links) +
           " symbolic links followed (a loop?) at " + at + via;
  case ResolveError::not_regular_file:
    if (trace.links_followed == 0) {
      return "not a link but " + std::string(type_name(file_type)) +
             ": web seeds serve regular files";
    }
    return "target " + at + " is " + std::string(type_name(file_type)) + via;
  case ResolveError::unreadable: return "cannot read " + at + ": " + errno_text(err) + via;
  }
  return "cannot resolve " + at;
}

std::expected<Resolver, std::string> Resolver::open(const std::string& root)
{
  const int fd = ::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    return std::unexpected(root + ": " + errno_text(errno));
  }
  return Resolver(std::make_shared<const Dir>(Dir{util::Fd(fd), ""}));
}

std::expected<DirRef, int> Resolver::open_subdir(const DirRef& parent, std::string_view name)
{
  const std::string name_z(name);
  const int fd =
      ::openat(parent->fd.get(), name_z.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    return std::unexpected(errno);
  }
  return std::make_shared<const Dir>(Dir{util::Fd(fd), join_rel(parent->rel, name)});
}

void Resolver::forget()
{
  m_cache.clear();
  m_cached_dirs = 0;
}

void Resolver::remember(const std::string& rel, Node node)
{
  if (m_cache.size() >= k_max_cache_entries || (node.dir && m_cached_dirs >= k_max_cached_dirs)) {
    m_cache.clear();
    m_cached_dirs = 0;
  }
  if (node.dir) {
    ++m_cached_dirs;
  }
  m_cache.emplace(rel, std::move(node));
}

std::expected<Resolver::Walk, ResolveFailure> Resolver::walk(const DirChain& start,
                                                             std::string_view path, Want want)
{
  DirChain chain = start;
  ResolveTrace trace;
  std::vector<std::string> pending;
  push_components(pending, path);

  const auto fail = [&](ResolveError error, std::string where, int err = 0, mode_t type = 0) {
    return std::unexpected(ResolveFailure{error, std::move(where), err, type, trace});
  };
  // The walk ends on a directory (the chain's last element).
  const auto end_on_dir = [&]() -> std::expected<Walk, ResolveFailure> {
    if (want == Want::file) {
      return fail(ResolveError::not_regular_file, chain.back()->rel, 0, S_IFDIR);
    }
    return Walk{std::move(chain), std::nullopt};
  };

  if (pending.empty()) {
    return end_on_dir();
  }
  while (!pending.empty()) {
    const std::string comp = std::move(pending.back());
    pending.pop_back();
    const bool last = pending.empty();
    if (comp == ".") {
      if (last) {
        return end_on_dir();
      }
      continue;
    }
    if (comp == "..") {
      if (chain.size() <= 1) {
        return fail(ResolveError::escapes_root, chain.back()->rel);
      }
      chain.pop_back();
      if (last) {
        return end_on_dir();
      }
      continue;
    }

    const DirRef& parent = chain.back();
    const std::string rel = join_rel(parent->rel, comp);
    const Node* node = nullptr;
    if (const auto it = m_cache.find(rel); it != m_cache.end()) {
      node = &it->second;
    }

    struct stat st {};
    if (node == nullptr) {
      if (::fstatat(parent->fd.get(), comp.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
        const int err = errno;
        if (err == ENOENT || err == ENOTDIR) {
          return fail(ResolveError::dangling, rel, err);
        }
        return fail(ResolveError::unreadable, rel, err);
      }
      if (S_ISLNK(st.st_mode)) {
        auto target = read_link(parent->fd.get(), comp);
        if (!target) {
          return fail(ResolveError::unreadable, rel, target.error());
        }
        remember(rel, Node{nullptr, std::move(*target)});
      } else if (S_ISDIR(st.st_mode)) {
        auto dir = open_subdir(parent, comp);
        if (!dir) {
          const int err = dir.error();
          return fail(err == ENOENT ? ResolveError::dangling : ResolveError::unreadable, rel, err);
        }
        remember(rel, Node{std::move(*dir), std::nullopt});
      } else {
        // A regular file or a special file: not cached (its stat is the answer).
        if (!last) {
          return fail(ResolveError::dangling, rel, ENOTDIR);
        }
        if (want == Want::dir) {
          return fail(ResolveError::not_regular_file, rel, ENOTDIR, st.st_mode & S_IFMT);
        }
        if (!S_ISREG(st.st_mode)) {
          return fail(ResolveError::not_regular_file, rel, 0, st.st_mode & S_IFMT);
        }
        if (::faccessat(parent->fd.get(), comp.c_str(), R_OK, AT_EACCESS | AT_SYMLINK_NOFOLLOW) !=
                0 &&
            errno != ENOSYS && errno != EINVAL) {
          return fail(ResolveError::unreadable, rel, errno);
        }
        Walk done{std::move(chain), ResolvedFile{}};
        done.file->dir = done.chain.back();
        done.file->name = comp;
        done.file->rel = rel;
        done.file->st = st;
        done.file->trace = std::move(trace);
        return done;
      }
      node = &m_cache.find(rel)->second;
    }

    if (node->dir) {
      chain.push_back(node->dir);
      if (last) {
        return end_on_dir();
      }
      continue;
    }

    // A symbolic link: expand it in place.
    const std::string& target = *node->link_target;
    if (trace.links_followed == 0) {
      trace.first_link = rel;
      trace.first_target = target;
    }
    trace.last_link = rel;
    trace.last_target = target;
    if (++trace.links_followed > k_max_links) {
      return fail(ResolveError::symlink_loop, rel, ELOOP);
    }
    if (target.empty()) {
      return fail(ResolveError::dangling, rel, ENOENT);
    }
    if (target.front() == '/') {
      return fail(ResolveError::absolute_target, rel);
    }
    push_components(pending, target);
    if (pending.empty()) {
      // A target made only of "." components: the link's own directory.
      return end_on_dir();
    }
  }
  return end_on_dir();
}

std::expected<ResolvedFile, ResolveFailure> Resolver::resolve_file(const DirChain& start,
                                                                   std::string_view path)
{
  auto walked = walk(start, path, Want::file);
  if (!walked) {
    return std::unexpected(std::move(walked.error()));
  }
  return std::move(*walked->file);
}

std::expected<DirChain, ResolveFailure> Resolver::resolve_dir(const DirChain& start,
                                                              std::string_view path)
{
  auto walked = walk(start, path, Want::dir);
  if (!walked) {
    return std::unexpected(std::move(walked.error()));
  }
  return std::move(walked->chain);
}

std::expected<util::Fd, std::string> Resolver::open_file(const ResolvedFile& file) const
{
  util::Fd fd(::openat(file.dir->fd.get(), file.name.c_str(),
                       O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (!fd) {
    return std::unexpected(file.rel + ": " + errno_text(errno));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    return std::unexpected(file.rel + ": " + errno_text(errno));
  }
  if (!S_ISREG(st.st_mode) || st.st_dev != file.st.st_dev || st.st_ino != file.st.st_ino) {
    return std::unexpected(file.rel + ": changed while being checked");
  }
  return fd;
}

} // namespace agent
