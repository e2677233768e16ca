#include "util/read_file.h"

#include "util/fd.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace util {

std::expected<std::string, std::string> read_small_fd(int fd, std::size_t max_size)
{
  const auto fail = [](const std::string& why) { return std::unexpected(why); };
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    return fail(std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) {
    return fail("not a regular file");
  }
  const std::string too_large = "larger than " + std::to_string(max_size) + " bytes";
  if (static_cast<std::size_t>(st.st_size) > max_size) {
    return fail(too_large);
  }
  std::string data;
  char buf[65536];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
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
      return fail(too_large); // grew while being read
    }
    data.append(buf, static_cast<std::size_t>(n));
  }
  return data;
}

std::expected<std::string, std::string> read_small_file(const std::string& path,
                                                        std::size_t max_size)
{
  Fd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  auto data =
      fd ? read_small_fd(fd.get(), max_size) : std::unexpected(std::string(std::strerror(errno)));
  if (!data) {
    return std::unexpected(path + ": " + data.error());
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
