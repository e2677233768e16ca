#include "probe_run.h"

#include "mirror_entry.h"
#include "mirror_layout.h"
#include "util/fd.h"
#include "util/read_file.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <numeric>
#include <random>

namespace agent {

namespace {

constexpr std::uint64_t k_min_torrent_budget = 64 * 1024;

// Reads verified local bytes for the probe's comparisons, one descriptor per file.
class LocalReader {
public:
  LocalReader(Resolver& resolver, MirrorEntry& entry, const Torrent& torrent)
      : m_resolver(resolver), m_entry(entry), m_torrent(torrent)
  {
  }

  std::optional<std::string> read(std::size_t file, std::uint64_t offset, std::uint64_t length)
  {
    auto it = m_fds.find(file);
    if (it == m_fds.end()) {
      util::Fd fd;
      LocatedFile located = m_entry.locate(m_torrent.files[file]);
      if (located.file) {
        if (auto opened = m_resolver.open_file(*located.file)) {
          fd = std::move(*opened);
        }
      }
      it = m_fds.emplace(file, std::move(fd)).first;
    }
    if (it->second.get() < 0) {
      return std::nullopt;
    }
    std::string out(static_cast<std::size_t>(length), '\0');
    if (util::read_at(it->second.get(), out.data(), out.size(), offset) != out.size()) {
      return std::nullopt;
    }
    return out;
  }

private:
  Resolver& m_resolver;
  MirrorEntry& m_entry;
  const Torrent& m_torrent;
  std::map<std::size_t, util::Fd> m_fds;
};

Finding skipped(const Torrent& t, const std::string& symlinks_dir, const std::string& why)
{
  const std::string path = symlinks_dir + "/" + t.name;
  return Finding(Code::probe_skipped, path, std::nullopt, "not probed: " + why,
                 "raise probe.max_bytes_per_run or probe.timeout, or set probe.sample to probe "
                 "a rotating sample");
}

} // namespace

std::vector<ProbeOutcome> run_probes(Resolver& resolver, const std::string& root,
                                     const std::string& base_url, const Config& config,
                                     const std::vector<ProbeRunInput>& inputs)
{
  const ProbeConfig& pc = config.probe;
  std::vector<ProbeOutcome> out(inputs.size());
  std::vector<std::size_t> candidates;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].torrent) {
      out[i].reason = "invalid torrent";
    } else if (!inputs[i].ready_on_disk) {
      out[i].reason = "not ready on disk";
    } else {
      candidates.push_back(i);
    }
  }
  if (pc.sample > 0 && candidates.size() > pc.sample) {
    std::mt19937_64 rng{std::random_device{}()};
    std::shuffle(candidates.begin(), candidates.end(), rng);
    for (std::size_t k = pc.sample; k < candidates.size(); ++k) {
      out[candidates[k]].reason = "not in this run's sample (probe.sample)";
    }
    candidates.resize(pc.sample);
    std::sort(candidates.begin(), candidates.end());
  }

  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::seconds(pc.timeout_s);
  std::uint64_t run_budget = pc.max_bytes_per_run;
  // Each address family of the base URL's host is probed on its own (resolved once a run).
  const std::vector<AddressFamily> families =
      candidates.empty() ? std::vector<AddressFamily>{} : probe_families(base_url);
  for (const std::size_t i : candidates) {
    const Torrent& t = *inputs[i].torrent;
    ProbeOutcome& o = out[i];
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    const std::uint64_t budget = std::min(pc.max_bytes_per_torrent, run_budget);
    if (left.count() <= 0 || budget < k_min_torrent_budget) {
      o.reason = left.count() <= 0 ? "the probe's time limit (probe.timeout) ran out"
                                   : "the probe's byte budget (probe.max_bytes_per_run) ran out";
      o.result.findings.push_back(skipped(t, config.symlinks_dir, o.reason));
      continue;
    }
    ProbeSettings ps;
    ps.base_url = base_url;
    ps.symlinks_dir = config.symlinks_dir;
    ps.max_bytes = budget;
    ps.fetch.request_timeout = std::chrono::seconds(pc.request_timeout_s);
    ps.fetch.batch_timeout = left;
    ps.fetch.connections_per_host = static_cast<long>(pc.connections_per_host);
    ps.fetch.ca_file = pc.ca_file;
    ps.families = families;
    MirrorEntry entry(resolver, root, config.symlinks_dir, t);
    LocalReader reader(resolver, entry, t);
    const LocalBytes local = [&](std::size_t file, std::uint64_t offset, std::uint64_t length) {
      return reader.read(file, offset, length);
    };
    o.probed = true;
    o.result = probe_torrent(t, local, ps);
    run_budget -= std::min(run_budget, o.result.bytes);
  }
  return out;
}

} // namespace agent
