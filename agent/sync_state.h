// sync_state.h: is the mirror tree in a state worth judging? `run` does not judge a
// half-synced tree: a sync that failed (per --rsync-exit) or one still in progress (an
// ftpsync-style Archive-Update-in-Progress-* file at the mirror root).
//
// rsync exit policy (docs/report.md): 0 (success), 23 (partial transfer: some files could not
// be transferred, e.g. permissions upstream) and 24 (source files vanished during the transfer)
// leave a usable tree; the files they concern are judged like any other. Every other code is
// a failed sync.
//
// ftpsync runs its hooks while its own marker (holding its PID) is still in place: a marker
// naming an ancestor of this process is the finished sync that started us, and is ignored.
#pragma once

#include "safe_resolve.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace agent {

struct SyncInfo {
  enum class State {
    complete, // --rsync-exit said success (0, 23, 24)
    unknown,  // no --rsync-exit: judged as it is
    syncing,  // an Archive-Update-in-Progress-* marker: not judged
    failed,   // --rsync-exit said the sync failed: not judged
  };
  State state = State::unknown;
  std::optional<int> rsync_exit;
  std::string marker;                         // the in-progress marker's name, if any
  std::optional<std::int64_t> tree_timestamp; // Unix time from mirror.timestamp_file
  std::string timestamp_error;                // why the timestamp file could not be used

  bool judged() const { return state == State::complete || state == State::unknown; }
};

std::string_view state_name(SyncInfo::State state);

// True for the rsync exit codes that leave a tree worth judging: 0, 23, 24.
bool rsync_exit_usable(int code);

// Looks at the mirror root (markers) and the timestamp file (relative to the root, resolved
// inside it; its leading Unix time if it starts with one, else its mtime). Never throws.
// `resolver` may be null when the mirror root cannot be opened (a first sync that failed).
SyncInfo read_sync_state(Resolver* resolver, const std::string& timestamp_file,
                         std::optional<int> rsync_exit);

} // namespace agent
