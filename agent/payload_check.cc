#include "payload_check.h"

#include "util/format.h"

#include <algorithm>

namespace agent {

namespace {

constexpr std::size_t k_max_pieces_in_message = 20;

// [begin, end) of `file` covered by piece `p` (v1: global index; v2-only: index in the file).
std::pair<std::uint64_t, std::uint64_t> piece_range(const Torrent& t, const TorrentFile& file,
                                                    std::uint64_t p)
{
  const std::uint64_t pl = t.piece_length;
  const std::uint64_t file_begin = t.has_v1 ? file.offset : 0;
  const std::uint64_t begin = std::max(p * pl, file_begin);
  const std::uint64_t end = std::min((p + 1) * pl, file_begin + file.length);
  return {begin - file_begin, end - file_begin};
}

} // namespace

std::string piece_list(const std::vector<std::uint64_t>& pieces)
{
  std::string out;
  std::size_t shown = 0;
  for (std::size_t i = 0; i < pieces.size() && shown < k_max_pieces_in_message; ++shown) {
    std::size_t j = i;
    while (j + 1 < pieces.size() && pieces[j + 1] == pieces[j] + 1) {
      ++j;
    }
    out += (out.empty() ? "" : ", ") + std::to_string(pieces[i]);
    if (j > i) {
      out += "-" + std::to_string(pieces[j]);
    }
    i = j + 1;
    if (shown + 1 == k_max_pieces_in_message && i < pieces.size()) {
      out += ", ...";
    }
  }
  return out;
}

PayloadReport check_payload(const Resolver& resolver, const Torrent& torrent, const Locator& locate,
                            const DisplayPath& display, const VerifyOptions& options,
                            const FreshCheck& fresh, bool may_hash)
{
  PayloadReport report;
  Identities opened;
  std::vector<util::Fd> owned(torrent.files.size());
  std::vector<int> fds(torrent.files.size(), -1);
  for (std::size_t i = 0; i < torrent.files.size(); ++i) {
    const TorrentFile& f = torrent.files[i];
    if (f.pad || f.symlink || f.length == 0) {
      continue;
    }
    LocatedFile located = locate(f);
    for (Finding& finding : located.findings) {
      report.findings.push_back(std::move(finding));
    }
    if (!located.file) {
      continue;
    }
    const auto size = static_cast<std::uint64_t>(located.file->st.st_size);
    if (size != f.length) {
      report.findings.emplace_back(
          Code::size_mismatch, display(f), std::nullopt,
          "the file is " + std::to_string(size) + " bytes, the torrent says " +
              std::to_string(f.length),
          size < f.length ? "a partial file: is the sync complete? (rsync --partial-dir or a "
                            "sync still running)"
                          : "the file differs from the one the torrent was made from: is the "
                            "torrent current?");
      continue;
    }
    auto fd = resolver.open_file(*located.file);
    if (!fd) {
      report.findings.emplace_back(Code::unreadable, display(f), std::nullopt, fd.error(),
                                   "check permissions: the agent and the web server must be "
                                   "able to read it");
      continue;
    }
    fds[i] = fd->get();
    owned[i] = std::move(*fd);
    opened.emplace_back(i, FileIdentity::of(located.file->st));
  }
  report.fresh = fresh ? fresh(opened) : std::vector<bool>();
  report.fresh.resize(torrent.files.size(), false);
  report.files_cached =
      static_cast<std::size_t>(std::count(report.fresh.begin(), report.fresh.end(), true));
  if (!opened.empty() && report.files_cached == opened.size() && !has_error(report.findings)) {
    report.cached = true;
    sort_findings(report.findings);
    return report;
  }
  if (!may_hash) {
    report.skipped = true;
    sort_findings(report.findings);
    return report;
  }

  const VerifyOutcome outcome = verify_payload(torrent, fds, options, report.fresh);
  report.bytes_verified = outcome.bytes_hashed;
  for (const auto& [i, identity] : opened) {
    if (!report.fresh[i] && outcome.files[i].state == FileVerdict::State::ok) {
      report.verified.emplace_back(i, identity);
    }
  }
  for (std::size_t i = 0; i < torrent.files.size(); ++i) {
    const TorrentFile& f = torrent.files[i];
    const FileVerdict& v = outcome.files[i];
    if (v.state != FileVerdict::State::mismatch || f.pad) {
      continue;
    }
    std::string message;
    if (!v.bad_pieces.empty()) {
      const bool one = v.bad_pieces.size() == 1;
      message = (one ? "piece " : "pieces ") + piece_list(v.bad_pieces) + " (of " +
                std::to_string(torrent.piece_count) + (one ? ") does" : ") do") +
                " not match the torrent";
    }
    if (v.root_mismatch) {
      message += std::string(message.empty() ? "" : "; ") +
                 "the file's SHA-256 merkle root does not match its pieces root";
    }
    Finding finding(Code::hash_mismatch, display(f), std::nullopt, message,
                    "the file is corrupt or from another release: re-sync it (rsync -c "
                    "checksums whole files)");
    finding.pieces = v.bad_pieces;
    for (const std::uint64_t p : v.bad_pieces) {
      const auto range = piece_range(torrent, f, p);
      if (!finding.byte_ranges.empty() && finding.byte_ranges.back().second == range.first) {
        finding.byte_ranges.back().second = range.second;
      } else {
        finding.byte_ranges.push_back(range);
      }
    }
    if (v.bad_pieces.empty()) {
      finding.byte_ranges.push_back({0, f.length});
    }
    std::string ranges;
    for (std::size_t r = 0; r < std::min<std::size_t>(finding.byte_ranges.size(), 5); ++r) {
      ranges += (r == 0 ? "" : ", ") + std::to_string(finding.byte_ranges[r].first) + "-" +
                std::to_string(finding.byte_ranges[r].second - 1); // inclusive for people
    }
    finding.message += " (bytes " + ranges + (finding.byte_ranges.size() > 5 ? ", ...)" : ")");
    report.findings.push_back(std::move(finding));
  }
  sort_findings(report.findings);
  return report;
}

} // namespace agent
