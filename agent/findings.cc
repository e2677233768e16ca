#include "findings.h"

#include <algorithm>
#include <tuple>

namespace agent {

std::string_view code_name(Code code)
{
  switch (code) {
  case Code::missing_tree: return "missing-tree";
  case Code::empty_tree: return "empty-tree";
  case Code::empty_entry: return "empty-entry";
  case Code::not_symlink: return "not-symlink";
  case Code::absolute_target: return "absolute-target";
  case Code::escapes_root: return "escapes-root";
  case Code::dangling: return "dangling";
  case Code::symlink_loop: return "symlink-loop";
  case Code::not_regular_file: return "not-regular-file";
  case Code::unreadable: return "unreadable";
  case Code::torrent_invalid: return "torrent-invalid";
  case Code::unsafe_path: return "unsafe-path";
  case Code::missing_file: return "missing-file";
  case Code::unexpected_file: return "unexpected-file";
  case Code::size_mismatch: return "size-mismatch";
  case Code::hash_mismatch: return "hash-mismatch";
  case Code::http_unreachable: return "http-unreachable";
  case Code::http_status: return "http-status";
  case Code::http_range_ignored: return "http-range-ignored";
  case Code::http_content_encoding: return "http-content-encoding";
  case Code::http_content_mismatch: return "http-content-mismatch";
  case Code::http_redirect: return "http-redirect";
  case Code::http_timeout: return "http-timeout";
  case Code::probe_skipped: return "probe-skipped";
  case Code::verify_skipped: return "verify-skipped";
  case Code::torrent_noncanonical: return "torrent-noncanonical";
  case Code::torrent_format_unsupported: return "torrent-format-unsupported";
  case Code::http_throttled: return "http-throttled";
  case Code::pad_files_not_served: return "pad-files-not-served";
  case Code::torrents_missing: return "torrents-missing";
  case Code::webseed_url_ipv6_literal: return "webseed-url-ipv6-literal";
  }
  return "unknown";
}

Severity severity_of(Code code)
{
  switch (code) {
  case Code::not_symlink:
  case Code::unexpected_file:
  case Code::http_redirect: // an error when it leads to another file (Finding::severity_override)
  case Code::probe_skipped:
  case Code::torrent_noncanonical:
  case Code::torrent_format_unsupported:
  case Code::http_throttled:
  case Code::pad_files_not_served: return Severity::warning;
  default: return Severity::error;
  }
}

std::string_view severity_name(Severity severity)
{
  return severity == Severity::error ? "error" : "warning";
}

void sort_findings(std::vector<Finding>& findings)
{
  std::stable_sort(findings.begin(), findings.end(), [](const Finding& a, const Finding& b) {
    return std::tuple(a.severity(), std::string_view(a.path), a.code) <
           std::tuple(b.severity(), std::string_view(b.path), b.code);
  });
}

bool has_error(const std::vector<Finding>& findings)
{
  return std::any_of(findings.begin(), findings.end(),
                     [](const Finding& f) { return f.severity() == Severity::error; });
}

} // namespace agent
