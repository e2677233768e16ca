#include "nagios_output.h"

#include "util/text.h"

#include <cstdio>

namespace agent {

namespace {

// The plugin line must stay one line, and '|' separates the perfdata.
std::string plain(const std::string& text)
{
  std::string out = util::to_utf8_lossy(text);
  for (char& c : out) {
    if (c == '|') {
      c = '/';
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      c = ' ';
    }
  }
  return out;
}

} // namespace

int print_nagios(std::ostream& out, const CheckRun& run)
{
  const std::size_t total = run.torrents.size();
  std::size_t ready = 0;
  std::size_t errors = 0;
  std::size_t warnings = 0;
  std::uint64_t bytes = 0;
  std::string not_ready;
  std::size_t listed = 0;
  for (const TorrentResult& r : run.torrents) {
    bytes += r.report.bytes_verified;
    for (const Finding& f : r.report.findings) {
      (f.severity() == Severity::error ? errors : warnings) += 1;
    }
    if (r.report.ready()) {
      ++ready;
      continue;
    }
    if (listed++ < 3) {
      std::string first_code;
      for (const Finding& f : r.report.findings) {
        if (f.severity() == Severity::error) {
          first_code = std::string(code_name(f.code));
          break;
        }
      }
      not_ready += (not_ready.empty() ? "" : ", ") + plain(r.torrent ? r.torrent->name : r.path) +
                   " (" + first_code + ")";
    }
  }
  if (listed > 3) {
    not_ready += ", ...";
  }
  int code = 0;
  std::string summary;
  if (ready < total) {
    code = 2;
    summary = "CRITICAL - " + std::to_string(total - ready) + " of " + std::to_string(total) +
              " torrents not ready: " + not_ready;
  } else if (warnings > 0) {
    code = 1;
    summary = "WARNING - " + std::to_string(ready) + " of " + std::to_string(total) +
              " torrents ready, " + std::to_string(warnings) +
              (warnings == 1 ? " warning" : " warnings");
  } else {
    summary = "OK - " + std::to_string(ready) + " of " + std::to_string(total) + " torrents ready";
  }
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%.3fs", run.seconds);
  const std::string n = std::to_string(total);
  out << "WEBSEED " << summary << " | ready=" << ready << ";;;0;" << n
      << " not_ready=" << (total - ready) << ";;;0;" << n << " errors=" << errors
      << " warnings=" << warnings << " bytes_verified=" << bytes << "B time=" << seconds << '\n';
  return code;
}

int print_nagios_unknown(std::ostream& out, const std::string& message)
{
  out << "WEBSEED UNKNOWN - " << plain(message) << '\n';
  return 3;
}

} // namespace agent
