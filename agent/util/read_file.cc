#include "util/read_file.h"

#include "util/fd.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace util {

std::expected<std::string, std::string> read_small_file(const std::string& path,
                                                        std::size_t max_size)
{
  const auto fail = [&](const std::string& why) { return std::unexpected(path + ": " + why); };
  Fd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (!fd) {
    return fail(std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    return fail(std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) {
    return fail("not a regular file");
  }
  if (static_cast<std::size_t>(st.st_size) > max_size) {
    return fail("larger than " + std::to_string(max_size) + " bytes");
  }
  std::string data;
  char buf[65536];
  while (true) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return fail(std::strerror(errno));
    }
    if (n == 0) {
      break;
    }
    if (data.size() + static_cast<std::size_t>(n) > max_size) {
      return fail("larger than " + std::to_string(max_size) + " bytes");
    }
    data.append(buf, static_cast<std::size_t>(n));
  }
  return data;
}

std::size_t read_at(int fd, char* buf, std::size_t want, std::uint64_t offset)
{
  std::size_t got = 0;
  while (got < want) {
    const ssize_t n = ::pread(fd, buf + got, want - got, static_cast<off_t>(offset + got));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      break;
    }
    got += static_cast<std::size_t>(n);
  }
  return got;
}

} // namespace util
