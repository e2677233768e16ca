#include "util/dir_list.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

namespace util {

std::expected<std::vector<DirEntryName>, int> list_dir(int dirfd)
{
  const int fd = ::openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    return std::unexpected(errno);
  }
  DIR* dir = ::fdopendir(fd);
  if (dir == nullptr) {
    const int err = errno;
    ::close(fd);
    return std::unexpected(err);
  }
  const std::unique_ptr<DIR, int (*)(DIR*)> owner(dir, ::closedir);
  std::vector<DirEntryName> entries;
  while (true) {
    errno = 0;
    const dirent* ent = ::readdir(dir);
    if (ent == nullptr) {
      if (errno != 0) {
        return std::unexpected(errno);
      }
      break;
    }
    if (std::strcmp(ent->d_name, ".") == 0 || std::strcmp(ent->d_name, "..") == 0) {
      continue;
    }
    entries.push_back({ent->d_name, ent->d_type});
  }
  std::sort(entries.begin(), entries.end(),
            [](const DirEntryName& a, const DirEntryName& b) { return a.name < b.name; });
  return entries;
}

} // namespace util
