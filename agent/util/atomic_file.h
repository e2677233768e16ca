// util/atomic_file.h: replacing a file so that a reader (or a crash, or kill -9) only ever
// sees the old content or the new one, never a mix or a truncated file. Knows nothing of the
// agent.
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <sys/types.h>

namespace util {

// Writes `data` to a temporary file beside `path` (same directory, O_EXCL, `mode`), fsyncs
// it, renames it over `path` and fsyncs the directory. On failure the temporary file is
// removed and `path` is unchanged. Error: "PATH: <why>".
std::expected<void, std::string> write_file_atomic(const std::string& path, std::string_view data,
                                                   mode_t mode = 0644);

// Creates `path` (and missing parents) as directories with `mode`; fine if it exists as a
// directory. Error: "PATH: <why>".
std::expected<void, std::string> make_dirs(const std::string& path, mode_t mode = 0755);

} // namespace util
