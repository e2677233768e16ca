// torrent_parse_timer.cc: times agent::parse_torrent in-process, for `make bench`
// (tests/bench/torrent_parse_bench.py). Not part of the agent.
//
// usage: torrent-parse-timer RUNS FILE...
// For each FILE: reads it once, parses it RUNS times (a fresh copy of the bytes each time, as
// load_torrent hands them over) and prints one line:
//   <bytes> <best seconds> <median seconds> <ok|invalid|unsafe-path> <FILE>
// Exit status: 0, or 2 on usage or read errors.
#include "torrent.h"
#include "util/read_file.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <string>
#include <vector>

int main(int argc, char** argv)
{
  if (argc < 3 || std::atoi(argv[1]) < 1) {
    std::fprintf(stderr, "usage: torrent-parse-timer RUNS FILE...\n");
    return 2;
  }
  const int runs = std::atoi(argv[1]);
  for (int i = 2; i < argc; ++i) {
    auto bytes = util::read_small_file(argv[i], std::size_t{1} << 30);
    if (!bytes) {
      std::fprintf(stderr, "torrent-parse-timer: %s\n", bytes.error().c_str());
      return 2;
    }
    std::vector<double> seconds;
    std::string verdict;
    for (int r = 0; r < runs; ++r) {
      std::string copy = *bytes;
      const auto start = std::chrono::steady_clock::now();
      const auto t = agent::parse_torrent(std::move(copy), argv[i]);
      seconds.push_back(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      verdict = t ? "ok"
                  : (t.error().code == agent::TorrentErrc::unsafe_path ? "unsafe-path" : "invalid");
    }
    std::sort(seconds.begin(), seconds.end());
    std::printf("%zu %.6f %.6f %s %s\n", bytes->size(), seconds.front(),
                seconds[seconds.size() / 2], verdict.c_str(), argv[i]);
  }
  return 0;
}
