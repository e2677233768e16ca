#include "sync_state.h"

#include "util/dir_list.h"
#include "util/read_file.h"

#include <charconv>

namespace agent {

namespace {

constexpr std::string_view k_marker_prefix = "Archive-Update-in-Progress-";

// A mirmon-style timestamp file starts with a Unix time; anything else: its mtime.
std::optional<std::int64_t> leading_unix_time(std::string_view text)
{
  std::int64_t t = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), t);
  const bool ends_token = end == text.data() + text.size() || *end == ' ' || *end == '\n' ||
                          *end == '\t' || *end == '\r';
  // 2001-09-09 .. 2286: ten digits, not a date like 20261126.
  if (ec != std::errc() || !ends_token || t < 1'000'000'000 || t > 9'999'999'999) {
    return std::nullopt;
  }
  return t;
}

} // namespace

std::string_view state_name(SyncInfo::State state)
{
  switch (state) {
  case SyncInfo::State::complete: return "complete";
  case SyncInfo::State::unknown: return "unknown";
  case SyncInfo::State::syncing: return "syncing";
  case SyncInfo::State::failed: return "failed";
  }
  return "unknown";
}

bool rsync_exit_usable(int code)
{
  return code == 0 || code == 23 || code == 24;
}

SyncInfo read_sync_state(Resolver& resolver, const std::string& timestamp_file,
                         std::optional<int> rsync_exit)
{
  SyncInfo info;
  info.rsync_exit = rsync_exit;
  if (auto names = util::list_dir(resolver.root_chain().back()->fd.get()); names) {
    for (const util::DirEntryName& e : *names) {
      if (std::string_view(e.name).starts_with(k_marker_prefix)) {
        info.marker = e.name;
        break;
      }
    }
  }
  if (rsync_exit && !rsync_exit_usable(*rsync_exit)) {
    info.state = SyncInfo::State::failed;
  } else if (!info.marker.empty()) {
    info.state = SyncInfo::State::syncing;
  } else if (rsync_exit) {
    info.state = SyncInfo::State::complete;
  }

  if (!timestamp_file.empty()) {
    auto file = resolver.resolve_file(resolver.root_chain(), timestamp_file);
    if (!file) {
      info.timestamp_error = timestamp_file + ": " + file.error().describe();
      return info;
    }
    info.tree_timestamp = static_cast<std::int64_t>(file->st.st_mtime);
    if (auto fd = resolver.open_file(*file); fd) {
      char buf[64];
      const std::size_t n = util::read_at(fd->get(), buf, sizeof buf, 0);
      if (auto t = leading_unix_time(std::string_view(buf, n))) {
        info.tree_timestamp = *t;
      }
    }
  }
  return info;
}

} // namespace agent
