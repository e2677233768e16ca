#include "private_dir.h"

#include <sys/stat.h>

#include <cstdio>

namespace util {

std::expected<void, std::string> refuse_shared_dir(const std::string& dir)
{
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || (st.st_mode & 022) == 0) {
    return {};
  }
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
  return std::unexpected(dir + ": writable by group or others (mode " + mode +
                         "); refusing to use it: chmod go-w " + dir);
}

} // namespace util
