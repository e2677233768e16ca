#include "torrent_discovery.h"

#include "util/dir_list.h"
#include "util/fd.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace agent {

namespace {

constexpr int k_max_depth = 32;

std::expected<void, std::string> walk(int dirfd, const std::string& path, int depth,
                                      std::vector<std::string>& out)
{
  if (depth > k_max_depth) {
    return {};
  }
  auto names = util::list_dir(dirfd);
  if (!names) {
    return std::unexpected(path + ": " + std::strerror(names.error()));
  }
  for (const util::DirEntryName& e : *names) {
    const std::string child = path + "/" + e.name;
    unsigned char type = e.type;
    if (type == DT_UNKNOWN) {
      struct stat st {};
      if (::fstatat(dirfd, e.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
        continue;
      }
      type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : DT_UNKNOWN;
    }
    if (type == DT_DIR) {
      util::Fd sub(
          ::openat(dirfd, e.name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!sub) {
        return std::unexpected(child + ": " + std::strerror(errno));
      }
      if (auto ok = walk(sub.get(), child, depth + 1, out); !ok) {
        return ok;
      }
    } else if (type == DT_REG && e.name.size() > 8 && e.name.ends_with(".torrent")) {
      out.push_back(child);
    }
  }
  return {};
}

} // namespace

std::expected<std::vector<std::string>, std::string>
find_torrents(const std::vector<std::string>& paths)
{
  std::vector<std::string> out;
  for (const std::string& path : paths) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
      return std::unexpected(path + ": " + std::strerror(errno));
    }
    if (!S_ISDIR(st.st_mode)) {
      out.push_back(path);
      continue;
    }
    util::Fd dir(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir) {
      return std::unexpected(path + ": " + std::strerror(errno));
    }
    std::string base = path;
    while (base.size() > 1 && base.back() == '/') {
      base.pop_back();
    }
    if (auto ok = walk(dir.get(), base, 0, out); !ok) {
      return std::unexpected(ok.error());
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

} // namespace agent
