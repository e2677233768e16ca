// util/fd.h: owning file descriptor (RAII). Knows nothing of the agent.
#pragma once

#include <unistd.h>

#include <utility>

namespace util {

// Owns one file descriptor; closes it on destruction. Move-only.
// A default-constructed or moved-from Fd holds -1 and closes nothing.
class Fd {
public:
  Fd() = default;
  explicit Fd(int fd) noexcept : m_fd(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd(Fd&& other) noexcept : m_fd(std::exchange(other.m_fd, -1)) {}
  Fd& operator=(Fd&& other) noexcept
  {
    if (this != &other) {
      reset(std::exchange(other.m_fd, -1));
    }
    return *this;
  }
  ~Fd() { reset(); }

  int get() const noexcept { return m_fd; }
  explicit operator bool() const noexcept { return m_fd >= 0; }

  // Gives up ownership: the caller closes the returned descriptor.
  int release() noexcept { return std::exchange(m_fd, -1); }

  // Closes the held descriptor (if any) and takes ownership of `fd`.
  void reset(int fd = -1) noexcept
  {
    if (m_fd >= 0) {
      ::close(m_fd);
    }
    m_fd = fd;
  }

private:
  int m_fd = -1;
};

} // namespace util
