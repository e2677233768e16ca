// probe_run.h: the web-seed probe over a run's torrents, within the run's bounds (config
// probe.*): which torrents are probed (those ready on disk; a random sample of them when
// probe.sample is set), the bytes per torrent and per run, and the run's total time. Local
// bytes for comparison are read through the same safe resolver as everything else.
#pragma once

#include "config.h"
#include "safe_resolve.h"
#include "torrent.h"
#include "webseed_probe.h"

#include <optional>
#include <string>
#include <vector>

namespace agent {

struct ProbeOutcome {
  bool probed = false;
  std::string reason; // why not probed ("" when probed)
  ProbeResult result; // requests and findings when probed; a probe-skipped warning when the
                      // run's byte or time budget ran out
};

struct ProbeRunInput {
  const Torrent* torrent = nullptr; // nullptr: an invalid torrent (never probed)
  bool ready_on_disk = false;
};

// One outcome per input, in order.
std::vector<ProbeOutcome> run_probes(Resolver& resolver, const std::string& root,
                                     const std::string& base_url, const Config& config,
                                     const std::vector<ProbeRunInput>& inputs);

} // namespace agent
