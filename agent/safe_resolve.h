// safe_resolve.h: resolution of paths inside the mirror root, safe against a hostile tree.
//
// The mirror tree comes from upstream rsync and is untrusted. The Resolver walks a path one
// component at a time from directory descriptors it holds (openat with O_PATH|O_NOFOLLOW),
// expands every symbolic link itself (readlinkat), and keeps its own chain of ancestors, so
// ".." is answered from that chain and never by the kernel. Consequences:
//  - nothing outside the root is ever looked at: a ".." above the root, or an absolute link
//    target, stops the resolution before any lookup;
//  - no file is opened during resolution, so a FIFO or device is never opened;
//  - at most k_max_links links are followed per resolution (the kernel's limit too).
// realpath(3) is never used on untrusted names. Names are bytes.
#pragma once

#include "util/fd.h"

#include <sys/stat.h>

#include <expected>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace agent {

// A real directory inside the root, held open with O_PATH. `rel` is its canonical path
// relative to the root (no symlink in it); "" is the root itself.
struct Dir {
  util::Fd fd;
  std::string rel;
};
using DirRef = std::shared_ptr<const Dir>;

// A directory with its ancestry, root first: what ".." walks back along.
using DirChain = std::vector<DirRef>;

enum class ResolveError {
  absolute_target,  // a link on the way has an absolute target
  escapes_root,     // ".." above the root
  dangling,         // a component does not exist, or a non-directory is used as one
  symlink_loop,     // more than k_max_links links
  not_regular_file, // the end is a directory, FIFO, socket or device (or, for dirs, not a dir)
  unreadable,       // a lookup failed with another errno (EACCES, EIO, ...)
};

// What a resolution went through: the first link it followed (for a link given by name,
// that link itself) and the last one (the one whose target led to the failure, if any).
struct ResolveTrace {
  std::string first_link; // canonical path of the first link followed, "" if none
  std::string first_target;
  std::string last_link; // canonical path of the last link followed, "" if none
  std::string last_target;
  int links_followed = 0;
};

struct ResolveFailure {
  ResolveError error;
  std::string where;    // canonical path (relative to the root) of the component that failed
  int err = 0;          // errno, for dangling and unreadable
  mode_t file_type = 0; // S_IFMT bits of the end, for not_regular_file
  ResolveTrace trace;

  // One line saying what went wrong, naming raw (unescaped) paths: callers that print it
  // escape it first. The link named `subject` (the one the caller asked about, shown
  // elsewhere with its target) is not repeated in the text.
  std::string describe(std::string_view subject = {}) const;
};

struct ResolvedFile {
  DirRef dir;        // the real directory holding the file
  std::string name;  // the file's name in `dir`
  std::string rel;   // canonical path of the file relative to the root
  struct stat st {}; // fstatat(AT_SYMLINK_NOFOLLOW) of the file: S_ISREG
  ResolveTrace trace;
};

class Resolver {
public:
  static constexpr int k_max_links = 40;

  // Opens `root`, a path the admin gave (followed normally). Error: "ROOT: <strerror>".
  static std::expected<Resolver, std::string> open(const std::string& root);

  // The chain holding only the root.
  DirChain root_chain() const { return {m_root}; }

  // Drops every directory handle and link target remembered so far (the root's stays), so
  // that later resolutions look at the tree as it is now: a directory moved out of the root
  // (a staged swap) is not reached through a handle kept from before. Chains and files the
  // caller still holds keep their handles.
  void forget();

  // Resolves `path` (relative, bytes) from start.back(), following every symlink
  // including the last component, and requires a regular file the process can read.
  std::expected<ResolvedFile, ResolveFailure> resolve_file(const DirChain& start,
                                                           std::string_view path);

  // Resolves `path` like resolve_file but requires a directory; returns its chain.
  std::expected<DirChain, ResolveFailure> resolve_dir(const DirChain& start, std::string_view path);

  // Opens `name` in `parent` as a real subdirectory (a symlink is not followed: ENOTDIR).
  // Returns the errno on failure.
  std::expected<DirRef, int> open_subdir(const DirRef& parent, std::string_view name);

  // Opens a resolved file for reading (O_RDONLY|O_NOFOLLOW|O_NONBLOCK|O_NOCTTY) and checks it
  // is still the same regular file. Error: "<rel>: <why>".
  std::expected<util::Fd, std::string> open_file(const ResolvedFile& file) const;

private:
  enum class Want { file, dir };
  struct Node {
    DirRef dir;                             // set for a real directory
    std::optional<std::string> link_target; // set for a symlink
  };
  struct Walk {
    DirChain chain;
    std::optional<ResolvedFile> file;
  };

  explicit Resolver(DirRef root) : m_root(std::move(root)) {}
  std::expected<Walk, ResolveFailure> walk(const DirChain& start, std::string_view path, Want want);
  void remember(const std::string& rel, Node node);

  DirRef m_root;
  // Canonical path -> what it was when first looked up. Bounded; cleared when full.
  std::unordered_map<std::string, Node> m_cache;
  std::size_t m_cached_dirs = 0;
};

// Joins canonical paths: join("", "a") == "a", join("a", "b") == "a/b".
std::string join_rel(std::string_view parent, std::string_view name);

} // namespace agent
