#include "seed_torrents.h"

#include "bencode.h"
#include "bencode_write.h"
#include "util/atomic_file.h"
#include "util/dir_list.h"
#include "util/fd.h"
#include "util/read_file.h"
#include "util/text.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <utility>

namespace collector {

namespace {

constexpr std::string_view k_url_list = "url-list";
constexpr std::string_view k_suffix = ".torrent";

std::string_view type_name(bencode::Type type)
{
  switch (type) {
  case bencode::Type::integer: return "an integer";
  case bencode::Type::string: return "a string";
  case bencode::Type::list: return "a list";
  case bencode::Type::dict: return "a dictionary";
  }
  return "a value";
}

// Reads the regular file `name` of `dirfd` (at most `max_size` bytes) without following a
// symbolic link and without blocking on a FIFO or device. Error: the reason, without a path.
std::expected<std::string, std::string> read_entry(int dirfd, const std::string& name,
                                                   std::uint64_t max_size)
{
  const auto fail = [](const std::string& why) { return std::unexpected(why); };
  util::Fd fd(
      ::openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (!fd) {
    if (errno == ELOOP) {
      return fail("a symbolic link (not followed; copy the .torrent file itself)");
    }
    return fail(std::strerror(errno));
  }
  return util::read_small_fd(fd.get(), static_cast<std::size_t>(max_size));
}

bool is_torrent_name(const std::string& name)
{
  return name.size() > k_suffix.size() && name.ends_with(k_suffix);
}

} // namespace

std::expected<std::string, std::string> with_url_list(std::string_view bytes,
                                                      const std::vector<std::string>& urls,
                                                      const std::string& source)
{
  const auto fail = [&](const std::string& why) { return std::unexpected(source + ": " + why); };
  bencode::Limits limits;
  limits.max_size = std::numeric_limits<std::size_t>::max(); // the decoder still caps at 4 GiB
  // Quirks clients accept (torrent-noncanonical) are kept as they are: the pairs are copied
  // verbatim (every url-list pair replaced by ours) and bytes after the root are dropped.
  const auto doc = bencode::decode(bytes, limits, bencode::Quirks::record);
  if (!doc) {
    return fail(doc.error().message());
  }
  const bencode::Node root = doc->root();
  if (!root.is_dict()) {
    return fail("byte 0: top level is " + std::string(type_name(root.type())) +
                ", not a dictionary");
  }
  const auto info = root.find("info");
  if (!info) {
    return fail("no 'info' dictionary");
  }
  if (!info->is_dict()) {
    return fail("byte " + std::to_string(info->offset()) + ": 'info' is " +
                std::string(type_name(info->type())) + ", not a dictionary");
  }

  std::string list;
  if (!urls.empty()) {
    list = benc::str(k_url_list) + "l";
    for (const auto& url : urls) {
      list += benc::str(url);
    }
    list += "e";
  }

  // Copy the dictionary pair by pair: each pair is the bytes from the end of the previous
  // value (or the 'd') to the end of its own value, i.e. the key's and the value's raw bytes.
  std::string out;
  out.reserve(bytes.size() + list.size());
  out += 'd';
  std::size_t pos = root.offset() + 1;
  bool inserted = list.empty();
  root.for_each_pair([&](std::string_view key, const bencode::Node& value) {
    const std::size_t end = value.offset() + value.raw().size();
    if (!inserted && key > k_url_list) {
      out += list;
      inserted = true;
    }
    if (key != k_url_list) {
      out.append(bytes.substr(pos, end - pos));
    }
    pos = end;
  });
  if (!inserted) {
    out += list;
  }
  out += 'e';
  return out;
}

SeedOutcome seed_torrents(const std::string& in_dir, const std::string& out_dir,
                          const UrlsFor& urls_for, std::uint64_t max_size)
{
  const util::Fd dirfd(::open(in_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dirfd) {
    throw std::runtime_error(util::escape_in_message(in_dir) + ": " + std::strerror(errno));
  }
  auto entries = util::list_dir(dirfd.get());
  if (!entries) {
    throw std::runtime_error(util::escape_in_message(in_dir) + ": " +
                             std::strerror(entries.error()));
  }
  if (auto made = util::make_dirs(out_dir); !made) {
    throw std::runtime_error(made.error());
  }

  agent::TorrentLimits limits;
  limits.max_size = max_size;
  SeedOutcome outcome;
  for (const auto& entry : *entries) {
    if (!is_torrent_name(entry.name)) {
      continue;
    }
    const std::string path = in_dir + "/" + entry.name;
    const std::string shown = util::escape_in_message(path);
    auto bytes = read_entry(dirfd.get(), entry.name, max_size);
    if (!bytes) {
      outcome.problems.push_back(shown + ": " + bytes.error());
      continue;
    }
    auto torrent = agent::parse_torrent(std::move(*bytes), shown, limits);
    if (!torrent) {
      outcome.problems.push_back(torrent.error().message);
      continue;
    }
    auto seeded = with_url_list(*torrent->bytes, urls_for(*torrent), shown);
    if (!seeded) {
      outcome.problems.push_back(seeded.error());
      continue;
    }
    const std::string target = out_dir + "/" + entry.name;
    if (auto written = util::write_file_atomic(target, *seeded, 0644); !written) {
      outcome.problems.push_back(util::escape_in_message(written.error()));
      continue;
    }
    outcome.written.push_back(target);
  }
  return outcome;
}

} // namespace collector
