#include "atomic_file.h"

#include "fd.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <random>
#include <sys/stat.h>
#include <unistd.h>

namespace util {

namespace {

std::string error_text(const std::string& path, const char* what)
{
  return path + ": " + what + ": " + std::strerror(errno);
}

std::string parent_of(const std::string& path)
{
  const std::size_t slash = path.rfind('/');
  if (slash == std::string::npos) {
    return ".";
  }
  return slash == 0 ? "/" : path.substr(0, slash);
}

} // namespace

std::expected<void, std::string> write_file_atomic(const std::string& path, std::string_view data,
                                                   mode_t mode)
{
  std::random_device random;
  std::string temp;
  Fd fd;
  for (int attempt = 0; attempt < 16 && !fd; ++attempt) {
    temp = path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(random() % 1000000);
    fd.reset(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode));
    if (!fd && errno != EEXIST) {
      return std::unexpected(error_text(temp, "cannot create"));
    }
  }
  if (!fd) {
    return std::unexpected(path + ": cannot create a temporary file beside it");
  }
  auto fail = [&](const char* what) {
    std::string text = error_text(temp, what);
    ::unlink(temp.c_str());
    return std::unexpected(std::move(text));
  };
  ::fchmod(fd.get(), mode); // the umask narrowed the mode given to open()
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd.get(), data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return fail("cannot write");
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd.get()) != 0) {
    return fail("cannot fsync");
  }
  if (::close(fd.release()) != 0) {
    return fail("cannot close");
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    std::string text = error_text(path, "cannot replace");
    ::unlink(temp.c_str());
    return std::unexpected(std::move(text));
  }
  const std::string dir = parent_of(path);
  Fd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dfd) {
    ::fsync(dfd.get()); // best effort: some file systems refuse fsync on directories
  }
  return {};
}

std::expected<void, std::string> make_dirs(const std::string& path, mode_t mode)
{
  if (path.empty()) {
    return std::unexpected(std::string("(empty path): not a directory"));
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) {
      return {};
    }
    return std::unexpected(path + ": not a directory");
  }
  const std::string parent = parent_of(path);
  if (parent != path) {
    if (auto ok = make_dirs(parent, mode); !ok) {
      return ok;
    }
  }
  if (::mkdir(path.c_str(), mode) != 0 && errno != EEXIST) {
    return std::unexpected(error_text(path, "cannot create directory"));
  }
  return {};
}

} // namespace util
