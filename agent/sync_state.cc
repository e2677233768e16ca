#include "sync_state.h"

#include "util/dir_list.h"
#include "util/read_file.h"

#include <algorithm>
#include <charconv>
#include <unistd.h>
#include <vector>

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

// The parent chain of this process, from /proc (at most 64 levels).
std::vector<long> ancestors()
{
  std::vector<long> out;
  long pid = static_cast<long>(::getppid());
  for (int depth = 0; depth < 64 && pid > 1; ++depth) {
    out.push_back(pid);
    auto stat = util::read_small_file("/proc/" + std::to_string(pid) + "/stat", 4096);
    if (!stat) {
      break;
    }
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses; ppid follows the last ')'.
    const std::size_t close = stat->rfind(')');
    if (close == std::string::npos || close + 4 > stat->size()) {
      break;
    }
    const char* p = stat->data() + close + 4; // ") S "
    long ppid = 0;
    const auto [end, ec] = std::from_chars(p, stat->data() + stat->size(), ppid);
    if (ec != std::errc() || ppid == pid) {
      break;
    }
    pid = ppid;
  }
  return out;
}

// ftpsync keeps its marker (holding its PID) while it runs its hooks: a marker that names one
// of our ancestors is the lock of the finished sync that started us, not a sync in progress.
bool marker_is_our_caller(Resolver& resolver, const std::string& marker)
{
  auto file = resolver.resolve_file(resolver.root_chain(), marker);
  if (!file) {
    return false;
  }
  auto fd = resolver.open_file(*file);
  if (!fd) {
    return false;
  }
  char buf[32];
  const std::size_t n = util::read_at(fd->get(), buf, sizeof buf, 0);
  std::string_view text(buf, n);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ' || text.back() == '\r')) {
    text.remove_suffix(1);
  }
  long pid = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), pid);
  if (ec != std::errc() || end != text.data() + text.size() || pid <= 1) {
    return false;
  }
  const std::vector<long> chain = ancestors();
  return std::find(chain.begin(), chain.end(), pid) != chain.end();
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

SyncInfo read_sync_state(Resolver* resolver, const std::string& timestamp_file,
                         std::optional<int> rsync_exit)
{
  SyncInfo info;
  info.rsync_exit = rsync_exit;
  if (resolver) {
    if (auto names = util::list_dir(resolver->root_chain().back()->fd.get()); names) {
      for (const util::DirEntryName& e : *names) {
        if (std::string_view(e.name).starts_with(k_marker_prefix) &&
            !marker_is_our_caller(*resolver, e.name)) {
          info.marker = e.name;
          break;
        }
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

  if (resolver && !timestamp_file.empty()) {
    auto file = resolver->resolve_file(resolver->root_chain(), timestamp_file);
    if (!file) {
      info.timestamp_error = timestamp_file + ": " + file.error().describe();
      return info;
    }
    info.tree_timestamp = static_cast<std::int64_t>(file->st.st_mtime);
    if (auto fd = resolver->open_file(*file); fd) {
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
