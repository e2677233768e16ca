// findings.h: the finding codes, a public interface. The JSON output, the reports and the
// central team depend on the code strings; add codes, never rename or remove one.
// Documented in docs/findings.md.
#pragma once

#include "client_set.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
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
  missing_file,     // error: a file the torrent lists is not there
  unexpected_file,  // warning: a file there that the torrent does not list
  size_mismatch,    // error: the file's size differs from the torrent's
  hash_mismatch,    // error: the bytes do not match the torrent's hashes
  // The web-seed probe (webseed_probe.h): what the mirror's web server answers.
  http_unreachable,      // error: DNS, connect or TLS failure
  http_status,           // error: an HTTP status other than 206/200
  http_range_ignored,    // error: 200 with the whole file, or another range than asked
  http_content_encoding, // error: a Content-Encoding other than identity
  http_content_mismatch, // error: bytes differ from the verified file or the piece hash
  http_redirect,         // warning (error when it leads to another file name)
  http_timeout,          // error: no complete answer within the time limit
  probe_skipped,         // warning: not probed (local errors, sampling or the run's budget)
  verify_skipped,        // error: not verified: `run`'s time (run.timeout) ran out first
  // What real clients make of a torrent and a mirror (client_families.h, issue 12).
  torrent_noncanonical,       // warning: bencoding quirks that clients accept (byte offset)
  torrent_format_unsupported, // warning: a client family cannot open this torrent's format
  http_throttled,             // warning: 503/429 answered, served after backing off
  pad_files_not_served,       // warning: NAME/.pad/N not served (aria2 requests them)
  // The run itself (issue 13).
  torrents_missing, // error: the torrents directory named by the config cannot be read
  // The base URL itself (noticed in issue 12's interop matrix).
  webseed_url_ipv6_literal, // error: the base URL's host is an IPv6 literal: libtorrent fails it
};

// The stable string of `code`, e.g. "escapes-root".
std::string_view code_name(Code code);

// The severity a code always has.
Severity severity_of(Code code);

std::string_view severity_name(Severity severity);

// One problem found, about one path. `path` and `target` are raw bytes (file names are
// bytes); renderers escape them.
struct Finding {
  // `target_` by reference: GCC 12 warns falsely (maybe-uninitialized) when a
  // std::optional<std::string> made from nullopt is moved.
  Finding(Code code_, std::string path_, const std::optional<std::string>& target_,
          std::string message_, std::string hint_)
      : code(code_), path(std::move(path_)), target(target_), message(std::move(message_)),
        hint(std::move(hint_))
  {
  }

  Code code;
  std::string path;                  // relative to the mirror root
  std::optional<std::string> target; // the link's own target, when the path is a link
  std::string message;               // what is wrong (may quote names, unescaped bytes)
  std::string hint;                  // how to fix it, one line; may be empty
  // hash-mismatch evidence: the pieces that failed and the byte ranges of this file they
  // cover ([begin, end) offsets in the file).
  std::vector<std::uint64_t> pieces;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> byte_ranges;
  std::string url; // http-* findings: the URL that showed the problem
  // Most codes have one severity; http-redirect is an error when it leads to another file.
  std::optional<Severity> severity_override;
  // The client families this finding concerns, when not the code's own row in
  // client_families.h (e.g. a redirect only libtorrent cannot follow). See affected_clients().
  std::optional<ClientSet> clients_override;

  Severity severity() const { return severity_override.value_or(severity_of(code)); }
};

// Orders findings for display: errors first, then by path, then by code.
void sort_findings(std::vector<Finding>& findings);

bool has_error(const std::vector<Finding>& findings);

} // namespace agent
