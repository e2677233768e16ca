// util/read_file.h: reading a whole small file safely. Knows nothing of the agent.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <string>

namespace util {

// Reads the regular file at `path` (symlinks followed: the caller trusts the path) if it is
// at most `max_size` bytes. Never blocks on a FIFO or device (O_NONBLOCK, then S_ISREG).
// Error: "PATH: <why>".
std::expected<std::string, std::string> read_small_file(const std::string& path,
                                                        std::size_t max_size);

// The same for a descriptor the caller opened (e.g. with openat and O_NOFOLLOW): a regular
// file of at most `max_size` bytes, read from where it stands. Error: the reason, no path.
std::expected<std::string, std::string> read_small_fd(int fd, std::size_t max_size);

// pread() until `want` bytes are in `buf` (retrying EINTR and short reads) or the file ends
// or fails; returns the bytes read.
std::size_t read_at(int fd, char* buf, std::size_t want, std::uint64_t offset);

} // namespace util
