#include "cmd_verify.h"

#include "error.h"
#include "link_audit.h"
#include "links_output.h"
#include "payload_check.h"
#include "progress.h"
#include "torrent_output.h"
#include "util/format.h"
#include "util/json_text.h"
#include "util/text.h"

#include <sys/stat.h>

#include <chrono>
#include <filesystem>

namespace agent {

namespace {

std::string default_content(const std::string& torrent_path, const Torrent& t)
{
  const std::filesystem::path dir = std::filesystem::path(torrent_path).parent_path();
  return (dir.empty() ? std::filesystem::path(t.name) : dir / t.name).string();
}

void print_human(std::ostream& out, const std::string& torrent_path, const std::string& content,
                 const Torrent& t, const PayloadReport& report, double seconds)
{
  out << "torrent:  " << util::escape_for_terminal(torrent_path) << "  ("
      << util::escape_for_terminal(t.name) << ", "
      << (t.info_hash_v1 ? "v1 " + hex(*t.info_hash_v1) : "v2 " + hex(*t.info_hash_v2)) << ")\n"
      << "content:  " << util::escape_for_terminal(content) << '\n';
  for (const Finding& f : report.findings) {
    out << '\n';
    print_finding_human(out, f, 2);
  }
  const double rate = seconds > 0 ? static_cast<double>(report.bytes_verified) / seconds : 0;
  out << '\n'
      << (report.ready() ? "OK: " : "NOT OK: ") << util::human_size(report.bytes_verified)
      << " verified in " << static_cast<long long>(seconds * 1000) << " ms ("
      << util::human_size(static_cast<std::uint64_t>(rate)) << "/s)";
  if (!report.findings.empty()) {
    out << ", " << report.findings.size()
        << (report.findings.size() == 1 ? " finding" : " findings");
  }
  out << '\n';
}

} // namespace

ExitCode run_verify(const VerifyCommandOptions& options, std::ostream& out)
{
  const auto torrent = load_torrent(options.torrent);
  if (!torrent) {
    if (options.json) {
      util::Json j = util::Json::object();
      j["version"] = 1;
      util::put_bytes(j, "torrent", options.torrent);
      j["ready"] = false;
      j["findings"] =
          util::Json::array({finding_json(torrent_finding(options.torrent, torrent.error()))});
      out << j.dump(2) << '\n';
    } else {
      print_finding_human(out, torrent_finding(options.torrent, torrent.error()), 0);
    }
    return ExitCode::findings;
  }
  const Torrent& t = *torrent;
  const std::string content =
      options.content.empty() ? default_content(options.torrent, t) : options.content;
  // Multi-file: the content is the torrent's directory. Single-file: the content is the
  // file; its directory is the root the resolver stays inside.
  std::string root = content;
  std::string single_name;
  if (!t.multi_file) {
    const std::filesystem::path p(content);
    root = p.has_parent_path() ? p.parent_path().string() : ".";
    single_name = p.filename().string();
  }
  auto resolver = Resolver::open(root);
  if (!resolver) {
    throw Fatal(ExitCode::usage, "content " + resolver.error());
  }
  const DirChain base = resolver->root_chain();
  const auto rel = [&](const TorrentFile& f) {
    return t.multi_file ? f.joined_path() : single_name;
  };
  const Locator locate = [&](const TorrentFile& f) {
    LocatedFile located;
    auto file = resolver->resolve_file(base, rel(f));
    if (file) {
      located.file = std::move(*file);
    } else if (file.error().error == ResolveError::dangling &&
               file.error().trace.links_followed == 0) {
      located.findings.emplace_back(Code::missing_file, rel(f), std::nullopt,
                                    "the torrent lists this file; it is not in " + content,
                                    "download or sync the whole torrent");
    } else {
      const ResolveTrace& trace = file.error().trace;
      const bool own = trace.links_followed > 0 && trace.first_link == rel(f);
      located.findings.push_back(resolve_failure_finding(
          file.error(), rel(f), own ? std::optional<std::string>(trace.first_target) : std::nullopt,
          "", "", rel(f)));
    }
    return located;
  };
  Progress progress("verifying " + t.name, t.total_size);
  VerifyOptions verify_options;
  verify_options.jobs = options.jobs;
  verify_options.progress = [&](std::uint64_t done) { progress.update(done); };
  const auto start = std::chrono::steady_clock::now();
  PayloadReport report = check_payload(*resolver, t, locate, rel, verify_options);
  if (auto quirks = quirk_finding(options.torrent, t)) {
    report.findings.push_back(std::move(*quirks));
    sort_findings(report.findings);
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  progress.finish();

  if (options.json) {
    util::Json j = util::Json::object();
    j["version"] = 1;
    util::put_bytes(j, "torrent", options.torrent);
    util::put_bytes(j, "content", content);
    util::put_bytes(j, "name", t.name);
    put_info_hashes(j, &t);
    j["ready"] = report.ready();
    j["bytes"] = report.bytes_verified;
    j["findings"] = util::Json::array();
    for (const Finding& f : report.findings) {
      j["findings"].push_back(finding_json(f));
    }
    out << j.dump(2) << '\n';
  } else {
    print_human(out, options.torrent, content, t, report, seconds);
  }
  out.flush();
  return report.ready() ? ExitCode::ok : ExitCode::findings;
}

} // namespace agent
