#include "release_scan.h"

#include "util/dir_list.h"
#include "util/text.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace collector {

namespace {

std::string join(const std::string& dir, const std::string& name)
{
  return dir.empty() ? name : dir + "/" + name;
}

bool skipped(const ScanRule& rule, const std::string& rel)
{
  return std::any_of(rule.skip.begin(), rule.skip.end(), [&](const std::string& s) {
    return s.ends_with('*') ? rel.starts_with(std::string_view(s).substr(0, s.size() - 1))
                            : rel == s;
  });
}

std::string errno_text(int e)
{
  return e == ELOOP || e == ENOTDIR ? "a symbolic link (not followed)" : std::strerror(e);
}

class Walker {
public:
  Walker(const ScanRule& rule, std::vector<ReleaseFile>& out, std::vector<std::string>& problems)
      : m_rule(rule), m_out(out), m_problems(problems)
  {
  }

  void walk(int dirfd, const std::string& rel, unsigned depth)
  {
    if (depth > m_rule.max_depth) {
      m_problems.push_back(util::escape_in_message(rel) + ": nested deeper than " +
                           std::to_string(m_rule.max_depth) + " directories; not walked");
      return;
    }
    auto names = util::list_dir(dirfd);
    if (!names) {
      m_problems.push_back(util::escape_in_message(rel) + ": " + std::strerror(names.error()));
      return;
    }
    for (const util::DirEntryName& e : *names) {
      const std::string child = join(rel, e.name);
      struct stat st {};
      if (::fstatat(dirfd, e.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
        continue; // gone meanwhile
      }
      if (S_ISREG(st.st_mode)) {
        m_out.push_back(ReleaseFile{child, rel, e.name, static_cast<std::uint64_t>(st.st_size)});
      } else if (S_ISDIR(st.st_mode) && !skipped(m_rule, child)) {
        const util::Fd sub(
            ::openat(dirfd, e.name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!sub) {
          m_problems.push_back(util::escape_in_message(child) + ": " + errno_text(errno));
          continue;
        }
        walk(sub.get(), child, depth + 1);
      }
      // symbolic links, FIFOs, devices, sockets: never followed, never opened
    }
  }

private:
  const ScanRule& m_rule;
  std::vector<ReleaseFile>& m_out;
  std::vector<std::string>& m_problems;
};

// Splits "a/b/c" into its components; empty components (a leading or doubled '/') are kept
// so the caller refuses them.
std::vector<std::string> components(const std::string& rel)
{
  std::vector<std::string> out;
  std::size_t at = 0;
  while (true) {
    const std::size_t slash = rel.find('/', at);
    out.push_back(rel.substr(at, slash - at));
    if (slash == std::string::npos) {
      return out;
    }
    at = slash + 1;
  }
}

} // namespace

std::expected<std::vector<ReleaseFile>, std::string>
scan_release_files(const std::string& root, const ScanRule& rule,
                   std::vector<std::string>& problems)
{
  const util::Fd root_fd(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root_fd) {
    return std::unexpected(util::escape_in_message(root) + ": " + std::strerror(errno));
  }
  std::vector<ReleaseFile> out;
  Walker walker(rule, out, problems);
  for (const std::string& dir : rule.dirs) {
    auto fd = open_release_dir(root_fd.get(), dir);
    if (!fd) {
      if (errno != ENOENT) {
        problems.push_back(fd.error());
      }
      continue;
    }
    walker.walk(fd->get(), dir, 0);
  }
  std::sort(out.begin(), out.end(),
            [](const ReleaseFile& a, const ReleaseFile& b) { return a.rel < b.rel; });
  out.erase(std::unique(out.begin(), out.end(),
                        [](const ReleaseFile& a, const ReleaseFile& b) { return a.rel == b.rel; }),
            out.end());
  return out;
}

std::expected<util::Fd, std::string> open_release_dir(int root_fd, const std::string& rel)
{
  util::Fd dir(::fcntl(root_fd, F_DUPFD_CLOEXEC, 0));
  if (rel.empty()) {
    return dir;
  }
  for (const std::string& c : components(rel)) {
    if (c.empty() || c == "." || c == "..") {
      errno = EINVAL;
      return std::unexpected(util::escape_in_message(rel) + ": not a plain relative path");
    }
    util::Fd next(::openat(dir.get(), c.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!next) {
      const int e = errno;
      std::string why = util::escape_in_message(rel) + ": " + errno_text(e);
      errno = e;
      return std::unexpected(std::move(why));
    }
    dir = std::move(next);
  }
  return dir;
}

std::expected<util::Fd, std::string> open_release_file(int root_fd, const std::string& rel,
                                                       std::uint64_t size)
{
  const std::size_t slash = rel.rfind('/');
  const std::string dir_rel = slash == std::string::npos ? "" : rel.substr(0, slash);
  const std::string name = slash == std::string::npos ? rel : rel.substr(slash + 1);
  auto dir = open_release_dir(root_fd, dir_rel);
  if (!dir) {
    return std::unexpected(dir.error());
  }
  const auto fail = [&](const std::string& why) {
    return std::unexpected(util::escape_in_message(rel) + ": " + why);
  };
  if (name.empty() || name == "." || name == "..") {
    return fail("not a file name");
  }
  util::Fd fd(::openat(dir->get(), name.c_str(),
                       O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (!fd) {
    return fail(errno == ELOOP ? "a symbolic link (not followed)" : std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    return fail(std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) {
    return fail("not a regular file");
  }
  if (static_cast<std::uint64_t>(st.st_size) != size) {
    return fail("changed size (" + std::to_string(st.st_size) + " bytes, expected " +
                std::to_string(size) + ")");
  }
  return fd;
}

} // namespace collector
