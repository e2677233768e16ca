#include "make_cli.h"

#include "catalog.h"
#include "collector_config.h"
#include "make_torrents.h"
#include "make_tree.h"
#include "version.h"

#include <charconv>
#include <ctime>
#include <iostream>

namespace collector {

struct MakeCommands {
  CLI::App* torrents = nullptr;
  CLI::App* tree = nullptr;
  std::string root;
  std::string out;
  std::string torrents_dir;
  std::string format = "v1";
  std::vector<std::string> web_seeds;
  std::vector<std::string> trackers;
  std::vector<std::string> patterns;
  std::vector<std::string> companions;
  std::vector<std::string> dirs;
  std::string symlinks_dir = "experimental/torrent-symlinks";
  std::string pad_dir;
  unsigned jobs = 0;
  std::uint64_t piece_length = 0;
  bool rehash = false;
  bool prune = false;
};

namespace {

std::string url_check(const std::string& v)
{
  return v.starts_with("http://") || v.starts_with("https://")
             ? std::string()
             : std::string("must start with http:// or https://");
}

void print_problems(const std::vector<std::string>& problems)
{
  for (const std::string& p : problems) {
    std::cerr << "webseed-collector: " << p << '\n';
  }
}

} // namespace

std::shared_ptr<MakeCommands> add_make_commands(CLI::App& app)
{
  auto c = std::make_shared<MakeCommands>();
  CLI::App* t = app.add_subcommand(
      "make-torrents", "Make one torrent per release artefact and its companions (checksums, "
                       "signatures, contents lists); unchanged ones are kept byte for byte.");
  c->torrents = t;
  t->add_option("--root", c->root, "the release tree (the mirror root)")->required();
  t->add_option("--out", c->out, "where the .torrent files go (created)")->required();
  t->add_option("--format", c->format,
                "v1 (default; every client), hybrid or v2 (Transmission 3.00 cannot open them)")
      ->check(CLI::IsMember({"v1", "v2", "hybrid"}));
  t->add_option("--web-seed", c->web_seeds, "url-list entry (BEP 19), repeatable, in order")
      ->check(url_check);
  t->add_option("--tracker", c->trackers, "tracker announce URL, repeatable");
  t->add_option("--pattern", c->patterns,
                "artefact file name glob, repeatable (default *.iso *.tar.bz2 *.tar.xz *.img*)");
  t->add_option("--companion", c->companions,
                "glob of what follows 'ARTEFACT.' in a companion's name, repeatable (default "
                "DIGESTS* asc sig CONTENTS* sha256 sha512 minisig)");
  t->add_option("--dir", c->dirs,
                "directory below ROOT to search, repeatable (default releases experimental)");
  t->add_option("--symlinks-dir", c->symlinks_dir,
                "the torrent-symlinks tree below ROOT, never searched (default "
                "experimental/torrent-symlinks)");
  t->add_option("--jobs", c->jobs, "hashing threads (default: one per core)");
  t->add_option("--piece-length", c->piece_length,
                "bytes per piece, a power of two >= 16384 (default: by payload size, about "
                "2048 pieces, 16 KiB to 4 MiB)")
      ->check([](const std::string& v) {
        std::uint64_t n = 0;
        const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
        return ec == std::errc() && end == v.data() + v.size() && n >= 16384 && n <= (1u << 30) &&
                       (n & (n - 1)) == 0
                   ? std::string()
                   : std::string("must be a power of two from 16384 to 1073741824");
      });
  t->add_flag("--rehash", c->rehash,
              "hash the payload of existing torrents again even when no file changed since");
  t->add_flag("--prune", c->prune,
              "remove OUT's torrents (made by webseed-collector) of groups that no longer exist");

  CLI::App* m = app.add_subcommand(
      "make-tree", "Make the torrent-symlinks tree (relative links, pad files) from the "
                   "torrents; swapped in atomically.");
  c->tree = m;
  m->add_option("--root", c->root, "the release tree (the mirror root)")->required();
  m->add_option("--torrents", c->torrents_dir, "directory of .torrent files")->required();
  m->add_option("--symlinks-dir", c->symlinks_dir,
                "below ROOT (default experimental/torrent-symlinks)");
  m->add_option("--pad-dir", c->pad_dir,
                "below ROOT: the shared zero-filled pad files (default SYMLINKS_DIR-pad)");
  m->add_option("--dir", c->dirs,
                "directory below ROOT where the files are, repeatable (default releases "
                "experimental)");
  return c;
}

std::optional<int> run_make_commands(const MakeCommands& c, const std::string& config_path)
{
  ScanRule scan;
  if (!c.dirs.empty()) {
    scan.dirs = c.dirs;
  }
  scan.skip = tree_skips(c.symlinks_dir, c.pad_dir);
  if (c.torrents->parsed()) {
    ArtefactRule rule;
    rule.scan = scan;
    if (!c.patterns.empty()) {
      rule.patterns = c.patterns;
    }
    if (!c.companions.empty()) {
      rule.companions = c.companions;
    }
    MakeOptions o;
    o.format = c.format == "v2"       ? TorrentFormat::v2
               : c.format == "hybrid" ? TorrentFormat::hybrid
                                      : TorrentFormat::v1;
    if (o.format != TorrentFormat::v1) {
      std::cerr << "webseed-collector: warning: " << c.format
                << " torrents cannot be opened at all by Transmission 3.00 (Debian 12's); "
                   "use --format v1 for every client\n";
    }
    o.web_seeds = c.web_seeds;
    if (o.web_seeds.empty() && !config_path.empty()) { // the configured initial list
      auto config = load_collector_config(config_path);
      if (!config) {
        throw std::runtime_error(config.error());
      }
      o.web_seeds = config->publish.fallback_webseeds;
    }
    o.trackers = c.trackers;
    o.created_by = std::string("webseed-collector ") + agent::k_version;
    o.creation_date = static_cast<std::int64_t>(std::time(nullptr));
    o.jobs = c.jobs;
    o.piece_length = c.piece_length;
    o.rehash = c.rehash;
    o.prune = c.prune;
    const MakeOutcome out = make_torrents(c.root, c.out, rule, o);
    for (const std::string& w : out.written) {
      std::cout << "wrote " << w << '\n';
    }
    for (const std::string& r : out.removed) {
      std::cout << "removed " << r << '\n';
    }
    print_problems(out.problems);
    std::cout << out.written.size() << " torrents written, " << out.unchanged.size()
              << " unchanged, " << out.problems.size() << " problems";
    if (c.prune) {
      std::cout << ", " << out.removed.size() << " removed";
    }
    std::cout << " (" << c.out << ")\n";
    return out.problems.empty() ? 0 : 1;
  }
  if (c.tree->parsed()) {
    std::vector<std::string> problems;
    auto catalog = Catalog::load(c.torrents_dir, problems);
    if (!catalog) {
      throw std::runtime_error("torrents " + catalog.error());
    }
    std::vector<std::shared_ptr<const agent::Torrent>> torrents;
    for (const CatalogEntry& e : catalog->entries()) {
      torrents.push_back(e.torrent);
    }
    TreeOptions o;
    o.symlinks_dir = c.symlinks_dir;
    o.pad_dir = c.pad_dir;
    o.scan = scan;
    const TreeOutcome out = make_tree(c.root, torrents, o);
    problems.insert(problems.end(), out.problems.begin(), out.problems.end());
    print_problems(problems);
    std::cout << c.symlinks_dir << ": " << out.entries << " entries, " << out.links << " links, "
              << out.pad_sizes << " pad sizes" << (out.changed ? " (replaced)" : " (unchanged)")
              << ", " << problems.size() << " problems\n";
    return problems.empty() ? 0 : 1;
  }
  return std::nullopt;
}

} // namespace collector
