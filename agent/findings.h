// findings.h: the finding codes, a public interface. The JSON output, the reports and the
// central team depend on the code strings; add codes, never rename or remove one.
// Documented in docs/findings.md.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace agent {

enum class Severity { error, warning };

enum class Code {
  missing_tree,     // error: the symlinks dir is absent
  empty_tree,       // error: the symlinks dir holds no entry
  empty_entry,      // error: an entry directory holds no link
  not_symlink,      // warning: a regular file where a link belongs
  absolute_target,  // error: a link on the resolution chain has an absolute target
  escapes_root,     // error: resolution leaves the mirror root
  dangling,         // error: the target does not exist
  symlink_loop,     // error: more than 40 links followed
  not_regular_file, // error: the target is a directory, FIFO, socket or device
  unreadable,       // error: permission or I/O error
  torrent_invalid,  // error: a .torrent file that is not valid metainfo
  unsafe_path,      // error: a .torrent naming a path that could leave its directory
};

// The stable string of `code`, e.g. "escapes-root".
std::string_view code_name(Code code);

// The severity a code always has.
Severity severity_of(Code code);

std::string_view severity_name(Severity severity);

// One problem found, about one path. `path` and `target` are raw bytes (file names are
// bytes); renderers escape them.
struct Finding {
  Code code;
  std::string path;                  // relative to the mirror root
  std::optional<std::string> target; // the link's own target, when the path is a link
  std::string message;               // what is wrong (may quote names, unescaped bytes)
  std::string hint;                  // how to fix it, one line; may be empty

  Severity severity() const { return severity_of(code); }
};

// Orders findings for display: errors first, then by path, then by code.
void sort_findings(std::vector<Finding>& findings);

bool has_error(const std::vector<Finding>& findings);

} // namespace agent
