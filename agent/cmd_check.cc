#include "cmd_check.h"

#include "client_families.h"
#include "error.h"
#include "links_output.h"
#include "nagios_output.h"
#include "util/format.h"
#include "util/text.h"

#include <algorithm>
#include <iostream>

namespace agent {

namespace {

void print_human(std::ostream& out, const std::string& root, const std::string& base_url,
                 const std::vector<TorrentResult>& results, double seconds)
{
  out << "mirror root:  " << util::escape_for_terminal(root) << '\n';
  out << "web seed:     "
      << (base_url.empty() ? "not probed (no mirror.base_url or --base-url)"
                           : util::escape_for_terminal(base_url))
      << '\n';
  std::size_t ready = 0;
  std::uint64_t bytes = 0;
  // Torrents that are not ready first, then those with warnings; ready ones in one line each.
  for (int pass = 0; pass < 2; ++pass) {
    for (const TorrentResult& r : results) {
      if (r.report.ready() != (pass == 1)) {
        continue;
      }
      const std::string name =
          r.torrent ? util::escape_for_terminal(r.torrent->name) : "(invalid torrent)";
      out << '\n'
          << (r.report.ready() ? "READY      " : "NOT READY  ") << name << "  ("
          << util::escape_for_terminal(r.path) << ")"
          << (r.report.cached ? "  unchanged since its last full verification" : "");
      if (!r.report.cached && r.report.files_cached > 0) {
        out << "  (" << r.report.files_cached << " unchanged files not re-read)";
      }
      out << '\n';
      for (const Finding& f : r.report.findings) {
        print_finding_human(out, f, 2);
      }
      ClientSet cannot;
      for (const auto& [family, usable] : client_usability(r.report.findings)) {
        cannot = usable ? cannot : cannot | ClientSet{family};
      }
      if (!cannot.empty()) {
        out << "  clients: " << clients_text(cannot)
            << (r.report.ready() ? " cannot fetch this torrent (a limit of the torrent, not of "
                                   "this mirror)\n"
                                 : " cannot fetch this torrent from this mirror\n");
      }
      if (r.probe && r.probe->probed) {
        const ProbeResult& p = r.probe->result;
        const auto ok = std::count_if(p.requests.begin(), p.requests.end(),
                                      [](const ProbeRequest& q) { return q.ok; });
        out << "  web seed: " << ok << " of " << p.requests.size() << " requests answered right ("
            << util::human_size(p.bytes) << ", " << p.pieces_verified.size()
            << (p.pieces_verified.size() == 1 ? " piece" : " pieces")
            << " checked against the torrent's hashes)\n";
      }
    }
  }
  for (const TorrentResult& r : results) {
    ready += r.report.ready() ? 1 : 0;
    bytes += r.report.bytes_verified;
  }
  out << '\n'
      << (ready == results.size() ? "READY: " : "NOT READY: ") << ready << " of " << results.size()
      << (results.size() == 1 ? " torrent" : " torrents") << " ready; " << util::human_size(bytes)
      << " verified in " << static_cast<long long>(seconds * 1000) << " ms\n";
}

} // namespace

ExitCode run_check(const Settings& settings, const CheckOptions& options, std::ostream& out)
{
  if (options.nagios) {
    // The monitoring-plugins convention has its own exit codes (0..3, nagios_output.h).
    try {
      const CheckRun run = perform_check(settings, options);
      const int code = print_nagios(out, run);
      out.flush();
      return static_cast<ExitCode>(code);
    } catch (const std::exception& e) {
      const int code = print_nagios_unknown(out, e.what());
      out.flush();
      return static_cast<ExitCode>(code);
    }
  }
  const CheckRun run = perform_check(settings, options);
  for (const std::string& w : run.warnings) {
    std::cerr << "webseed-agent: warning: " << w << '\n';
  }
  if (options.json) {
    out << check_json(run).dump(2) << '\n';
  } else {
    print_human(out, run.root, run.base_url, run.torrents, run.seconds);
  }
  out.flush();
  return run.all_ready() ? ExitCode::ok : ExitCode::findings;
}

} // namespace agent
