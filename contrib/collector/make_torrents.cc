#include "make_torrents.h"

#include "bencode.h"
#include "bencode_write.h"
#include "payload_verify.h"
#include "torrent.h"
#include "util/atomic_file.h"
#include "util/text.h"

#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>

namespace collector {

namespace {

bool matches_any(const std::vector<std::string>& globs, const std::string& name)
{
  return std::any_of(globs.begin(), globs.end(), [&](const std::string& g) {
    return ::fnmatch(g.c_str(), name.c_str(), 0) == 0;
  });
}

// "stage3-amd64-20240101.tar.xz" -> "stage3-amd64-20240101"; "x.img.gz" -> "x"; "x.iso" ->
// "x"; a name without a release extension (or only one) stays as it is.
std::string release_base(const std::string& name)
{
  std::size_t best = std::string::npos;
  for (const std::string_view ext : {".iso", ".img", ".tar"}) {
    for (std::size_t at = name.find(ext); at != std::string::npos; at = name.find(ext, at + 1)) {
      const std::size_t end = at + ext.size();
      if (at > 0 && (end == name.size() || name[end] == '.')) {
        best = best == std::string::npos ? at : std::max(best, at);
      }
    }
  }
  return best == std::string::npos ? name : name.substr(0, best);
}

std::string u64(std::uint64_t v)
{
  return benc::integer(static_cast<std::int64_t>(v));
}

std::string raw_hash(const util::Sha256& h)
{
  return std::string(reinterpret_cast<const char*>(h.data()), h.size());
}

// The top-level dictionary around an encoded `info` (and `piece layers`, when any).
std::string outer(const std::string& info, const std::string& piece_layers,
                  std::optional<std::int64_t> creation_date, const MakeOptions& o)
{
  std::vector<std::pair<std::string, std::string>> top;
  if (!o.trackers.empty()) {
    top.emplace_back("announce", benc::str(o.trackers.front()));
    if (o.trackers.size() > 1) {
      std::vector<std::string> tiers;
      for (const std::string& t : o.trackers) {
        tiers.push_back(benc::list({benc::str(t)}));
      }
      top.emplace_back("announce-list", benc::list(tiers));
    }
  }
  if (!o.created_by.empty()) {
    top.emplace_back("created by", benc::str(o.created_by));
  }
  if (creation_date) {
    top.emplace_back("creation date", benc::integer(*creation_date));
  }
  top.emplace_back("info", info);
  if (!piece_layers.empty()) {
    top.emplace_back("piece layers", piece_layers);
  }
  if (!o.web_seeds.empty()) {
    std::vector<std::string> urls;
    for (const std::string& u : o.web_seeds) {
      urls.push_back(benc::str(u));
    }
    top.emplace_back("url-list", benc::list(urls));
  }
  return benc::dict(std::move(top));
}

// The skeleton the engine hashes: files (pad files between them for hybrids), offsets, piece
// length, placeholder hashes. `index[i]` is group file i's index in it.
agent::Torrent skeleton(const ReleaseGroup& g, TorrentFormat format, std::uint64_t pl,
                        std::vector<std::size_t>& index)
{
  agent::Torrent t;
  t.name = g.name;
  t.multi_file = g.files.size() > 1;
  t.has_v1 = format != TorrentFormat::v2;
  t.has_v2 = format != TorrentFormat::v1;
  t.piece_length = pl;
  std::uint64_t offset = 0;
  for (std::size_t i = 0; i < g.files.size(); ++i) {
    const ReleaseFile& f = g.files[i];
    agent::TorrentFile tf;
    tf.path = {t.multi_file ? f.name : g.name};
    tf.length = f.size;
    tf.offset = offset;
    if (t.has_v2 && f.size > 0) {
      tf.pieces_root = std::array<std::uint8_t, 32>{1};
    }
    offset += f.size;
    t.total_size += f.size;
    index.push_back(t.files.size());
    t.files.push_back(std::move(tf));
    if (format == TorrentFormat::hybrid && i + 1 < g.files.size() && offset % pl != 0) {
      agent::TorrentFile pad;
      pad.length = pl - offset % pl;
      pad.path = {".pad", std::to_string(pad.length)};
      pad.pad = true;
      pad.attr = "p";
      pad.offset = offset;
      offset += pad.length;
      t.files.push_back(std::move(pad));
    }
  }
  if (t.has_v1) {
    t.piece_count = (offset + pl - 1) / pl;
  } else {
    for (const agent::TorrentFile& f : t.files) {
      t.piece_count += (f.length + pl - 1) / pl;
    }
  }
  auto bytes = std::make_shared<std::string>(t.has_v1 ? 20 * t.piece_count : 0, '\0');
  t.pieces_v1 = *bytes;
  t.bytes = std::move(bytes);
  return t;
}

// Whether `t` (an existing torrent) describes `g`'s files in `format`.
bool describes(const agent::Torrent& t, const ReleaseGroup& g, TorrentFormat format)
{
  if (t.name != g.name || t.has_v1 != (format != TorrentFormat::v2) ||
      t.has_v2 != (format != TorrentFormat::v1) || t.multi_file != (g.files.size() > 1)) {
    return false;
  }
  std::size_t i = 0;
  for (const agent::TorrentFile& f : t.files) {
    if (f.pad) {
      continue;
    }
    if (i >= g.files.size() || f.symlink || f.length != g.files[i].size ||
        f.joined_path() != (t.multi_file ? g.files[i].name : g.name)) {
      return false;
    }
    ++i;
  }
  return i == g.files.size();
}

// The kept bytes of an existing torrent when it still describes the group and its payload
// still matches; nullopt otherwise.
std::optional<std::string> reuse(const std::string& path, const ReleaseGroup& g,
                                 const std::vector<int>& fds, const MakeOptions& o)
{
  auto t = agent::load_torrent(path);
  if (!t || !describes(*t, g, o.format)) {
    return std::nullopt;
  }
  std::vector<int> all(t->files.size(), -1);
  std::size_t i = 0;
  for (std::size_t k = 0; k < t->files.size(); ++k) {
    if (!t->files[k].pad) {
      all[k] = fds[i++];
    }
  }
  // No file changed since the torrent was written (every ctime older than its mtime: a
  // write, rename or chmod sets ctime, and nobody can set it back): no need to hash again.
  struct stat torrent_st {};
  const auto before = [](const timespec& a, const timespec& b) {
    return a.tv_sec < b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec < b.tv_nsec);
  };
  const bool untouched = !o.rehash && ::stat(path.c_str(), &torrent_st) == 0 &&
                         std::all_of(fds.begin(), fds.end(), [&](int fd) {
                           struct stat st {};
                           return ::fstat(fd, &st) == 0 && before(st.st_ctim, torrent_st.st_mtim);
                         });
  agent::VerifyOptions vo;
  vo.jobs = o.jobs;
  if (!untouched && !agent::verify_payload(*t, all, vo).all_ok()) {
    return std::nullopt;
  }
  const auto doc = bencode::decode(*t->bytes, {}, bencode::Quirks::record);
  if (!doc) {
    return std::nullopt;
  }
  const auto info = doc->root().find("info");
  const auto layers = doc->root().find("piece layers");
  if (!info) {
    return std::nullopt;
  }
  return outer(std::string(info->raw()), layers ? std::string(layers->raw()) : std::string(),
               t->creation_date, o);
}

} // namespace

std::vector<ReleaseGroup> group_release_files(const std::vector<ReleaseFile>& files,
                                              const ArtefactRule& rule,
                                              std::vector<std::string>& problems)
{
  std::map<std::string, std::vector<const ReleaseFile*>> by_dir; // each sorted by name
  for (const ReleaseFile& f : files) {
    by_dir[f.dir].push_back(&f);
  }
  std::vector<ReleaseGroup> groups;
  for (auto& [dir, list] : by_dir) {
    std::sort(list.begin(), list.end(),
              [](const ReleaseFile* a, const ReleaseFile* b) { return a->name < b->name; });
    // The companions of artefact A sort in [A + ".", A + "/"): one range per candidate.
    const auto companions_of = [&](const std::string& a) {
      std::vector<const ReleaseFile*> out;
      const auto from = std::lower_bound(
          list.begin(), list.end(), a + ".",
          [](const ReleaseFile* f, const std::string& key) { return f->name < key; });
      for (auto it = from; it != list.end() && (*it)->name.starts_with(a + "."); ++it) {
        if (matches_any(rule.companions, (*it)->name.substr(a.size() + 1))) {
          out.push_back(*it);
        }
      }
      return out;
    };
    std::vector<bool> is_companion(list.size(), false);
    std::vector<std::size_t> candidates;
    for (std::size_t i = 0; i < list.size(); ++i) {
      if (!matches_any(rule.patterns, list[i]->name)) {
        continue;
      }
      candidates.push_back(i);
      for (const ReleaseFile* c : companions_of(list[i]->name)) {
        is_companion[static_cast<std::size_t>(std::find(list.begin(), list.end(), c) -
                                              list.begin())] = true;
      }
    }
    for (const std::size_t i : candidates) {
      if (is_companion[i]) {
        continue;
      }
      ReleaseGroup g;
      g.dir = dir;
      g.artefact = list[i]->name;
      g.files.push_back(*list[i]);
      for (const ReleaseFile* c : companions_of(list[i]->name)) {
        g.files.push_back(*c);
      }
      std::sort(g.files.begin(), g.files.end(),
                [](const ReleaseFile& a, const ReleaseFile& b) { return a.name < b.name; });
      g.name = g.files.size() > 1 ? release_base(g.artefact) : g.artefact;
      groups.push_back(std::move(g));
    }
  }
  // Names must be unique: they are the torrents' files and the symlinks tree's entries.
  const auto counts = [&] {
    std::map<std::string, std::size_t> n;
    for (const ReleaseGroup& g : groups) {
      ++n[g.name];
    }
    return n;
  };
  auto n = counts();
  for (ReleaseGroup& g : groups) {
    if (n[g.name] > 1) {
      g.name = g.artefact;
    }
  }
  n = counts();
  std::vector<ReleaseGroup> out;
  for (ReleaseGroup& g : groups) {
    if (n[g.name] > 1) {
      problems.push_back(util::escape_in_message(g.dir + "/" + g.artefact) +
                         ": another artefact '" + util::escape_in_message(g.name) +
                         "' elsewhere in the tree; torrent names must be unique (rename one)");
      continue;
    }
    out.push_back(std::move(g));
  }
  std::sort(out.begin(), out.end(),
            [](const ReleaseGroup& a, const ReleaseGroup& b) { return a.name < b.name; });
  return out;
}

std::uint64_t piece_length_for(std::uint64_t total_size)
{
  std::uint64_t pl = 16 * 1024;
  while (pl < (4u << 20) && pl < total_size / 2048) {
    pl *= 2;
  }
  return pl;
}

std::expected<std::string, std::string>
make_torrent(const ReleaseGroup& g, const std::vector<int>& fds, const MakeOptions& o)
{
  std::uint64_t total = 0;
  for (const ReleaseFile& f : g.files) {
    total += f.size;
  }
  const std::string shown = util::escape_in_message(g.dir + "/" + g.artefact);
  if (total == 0) {
    return std::unexpected(shown + ": the artefact and its companions are all empty");
  }
  const std::uint64_t pl = o.piece_length != 0 ? o.piece_length : piece_length_for(total);
  std::vector<std::size_t> index;
  const agent::Torrent t = skeleton(g, o.format, pl, index);
  std::vector<int> all(t.files.size(), -1);
  for (std::size_t i = 0; i < index.size(); ++i) {
    all[index[i]] = fds[i];
  }
  agent::VerifyOptions vo;
  vo.jobs = o.jobs;
  vo.keep_hashes = true;
  const agent::VerifyOutcome hashed = agent::verify_payload(t, all, vo);
  if (hashed.bytes_hashed != total) {
    return std::unexpected(shown + ": read " + std::to_string(hashed.bytes_hashed) + " of " +
                           std::to_string(total) +
                           " bytes (a file shrank or failed while being hashed); run again");
  }
  const agent::ComputedHashes& h = hashed.computed;

  std::vector<std::pair<std::string, std::string>> info;
  info.emplace_back("name", benc::str(g.name));
  info.emplace_back("piece length", u64(pl));
  if (t.has_v1) {
    info.emplace_back("pieces", benc::str(h.v1_pieces));
    if (t.multi_file) {
      std::vector<std::string> list;
      for (const agent::TorrentFile& f : t.files) {
        std::vector<std::string> path;
        for (const std::string& c : f.path) {
          path.push_back(benc::str(c));
        }
        std::vector<std::pair<std::string, std::string>> entry = {{"length", u64(f.length)},
                                                                  {"path", benc::list(path)}};
        if (f.pad) {
          entry.emplace_back("attr", benc::str("p"));
        }
        list.push_back(benc::dict(std::move(entry)));
      }
      info.emplace_back("files", benc::list(list));
    } else {
      info.emplace_back("length", u64(total));
    }
  }
  std::vector<std::pair<std::string, std::string>> layers;
  if (t.has_v2) {
    info.emplace_back("meta version", benc::integer(2));
    std::vector<std::pair<std::string, std::string>> tree;
    for (std::size_t i = 0; i < index.size(); ++i) {
      const agent::TorrentFile& f = t.files[index[i]];
      std::vector<std::pair<std::string, std::string>> leaf = {{"length", u64(f.length)}};
      if (f.length > 0) {
        leaf.emplace_back("pieces root", benc::str(raw_hash(h.v2_root[index[i]])));
      }
      if (f.length > pl) {
        std::string layer;
        for (const util::Sha256& r : h.v2_layer[index[i]]) {
          layer += raw_hash(r);
        }
        layers.emplace_back(raw_hash(h.v2_root[index[i]]), benc::str(layer));
      }
      tree.emplace_back(f.path.front(), benc::dict({{"", benc::dict(std::move(leaf))}}));
    }
    info.emplace_back("file tree", benc::dict(std::move(tree)));
  }
  // Two files with the same content share one root: one layer entry.
  std::sort(layers.begin(), layers.end());
  layers.erase(std::unique(layers.begin(), layers.end()), layers.end());
  return outer(benc::dict(std::move(info)), layers.empty() ? "" : benc::dict(std::move(layers)),
               o.creation_date, o);
}

namespace {

// OUT's torrents made by webseed-collector whose name is no group's (MakeOptions::prune).
void prune_torrents(const std::string& out_dir, const std::vector<ReleaseGroup>& groups,
                    MakeOutcome& outcome)
{
  std::set<std::string> keep;
  for (const ReleaseGroup& g : groups) {
    keep.insert(g.name + ".torrent");
  }
  std::vector<std::string> names;
  if (DIR* d = ::opendir(out_dir.c_str())) {
    while (const dirent* e = ::readdir(d)) {
      const std::string name = e->d_name;
      if (name.size() > 8 && name.ends_with(".torrent") && name.front() != '.' &&
          !keep.contains(name)) {
        names.push_back(name);
      }
    }
    ::closedir(d);
  }
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    const std::string path = out_dir + "/" + name;
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
      continue; // links, FIFOs, directories: never ours
    }
    const auto t = agent::load_torrent(path);
    if (!t || !t->created_by.starts_with("webseed-collector")) {
      continue; // not made by make-torrents: left alone
    }
    if (::unlink(path.c_str()) != 0) {
      outcome.problems.push_back(util::escape_in_message(path) + ": cannot remove: " +
                                 std::strerror(errno));
      continue;
    }
    outcome.removed.push_back(path);
  }
}

} // namespace

MakeOutcome make_torrents(const std::string& root, const std::string& out_dir,
                          const ArtefactRule& rule, const MakeOptions& options)
{
  MakeOutcome outcome;
  auto files = scan_release_files(root, rule.scan, outcome.problems);
  if (!files) {
    throw std::runtime_error(files.error());
  }
  if (auto made = util::make_dirs(out_dir); !made) {
    throw std::runtime_error(made.error());
  }
  const util::Fd root_fd(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root_fd) {
    throw std::runtime_error(util::escape_in_message(root) + ": " + std::strerror(errno));
  }
  const std::vector<ReleaseGroup> groups = group_release_files(*files, rule, outcome.problems);
  const bool scan_clean = outcome.problems.empty();
  for (const ReleaseGroup& g : groups) {
    std::vector<util::Fd> held;
    std::vector<int> fds;
    std::string failed;
    for (const ReleaseFile& f : g.files) {
      auto fd = open_release_file(root_fd.get(), f.rel, f.size);
      if (!fd) {
        failed = fd.error();
        break;
      }
      fds.push_back(fd->get());
      held.push_back(std::move(*fd));
    }
    if (!failed.empty()) {
      outcome.problems.push_back(failed);
      continue;
    }
    const std::string target = out_dir + "/" + g.name + ".torrent";
    std::optional<std::string> bytes = reuse(target, g, fds, options);
    if (bytes) {
      std::string existing;
      if (auto t = agent::load_torrent(target); t && *t->bytes == *bytes) {
        outcome.unchanged.push_back(target);
        continue;
      }
    } else {
      auto made = make_torrent(g, fds, options);
      if (!made) {
        outcome.problems.push_back(made.error());
        continue;
      }
      bytes = std::move(*made);
    }
    if (auto written = util::write_file_atomic(target, *bytes, 0644); !written) {
      outcome.problems.push_back(util::escape_in_message(written.error()));
      continue;
    }
    outcome.written.push_back(target);
  }
  if (options.prune) {
    if (scan_clean) {
      prune_torrents(out_dir, groups, outcome);
    } else {
      outcome.problems.push_back(util::escape_in_message(out_dir) +
                                 ": --prune removed nothing: the release tree had problems (above)");
    }
  }
  return outcome;
}

} // namespace collector
