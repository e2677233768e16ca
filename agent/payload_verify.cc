#include "payload_verify.h"

#include "merkle.h"
#include "util/read_file.h"
#include "util/sha.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <string_view>
#include <thread>

namespace agent {

namespace {

constexpr std::size_t k_chunk = 1 << 20; // bytes per pread; a multiple of the 16 KiB block
constexpr std::uint64_t k_batch_bytes = 16u << 20; // pieces a worker takes at once

using Segment = PieceRun; // part of a file, or zeros (a pad file)

// What one unit of work hashes: a v1 piece (all its segments), or one v2 piece of a file.
struct Unit {
  std::uint64_t v1_piece; // v1 piece index, or UINT64_MAX for a v2-only unit
  std::vector<Segment> segments;
};

class Engine {
public:
  Engine(const Torrent& t, const std::vector<int>& fds, const VerifyOptions& options,
         const std::vector<bool>& known_good)
      : m_t(t), m_fds(fds), m_options(options), m_known_good(known_good), m_pl(t.piece_length)
  {
    m_outcome.files.resize(t.files.size());
    m_v2_roots.resize(t.files.size());
    if (options.keep_hashes) {
      m_outcome.computed.v1_pieces.assign(t.has_v1 ? 20 * t.piece_count : 0, '\0');
      m_outcome.computed.v2_layer.resize(t.files.size());
      m_outcome.computed.v2_root.resize(t.files.size());
    }
    for (std::size_t i = 0; i < t.files.size(); ++i) {
      const TorrentFile& f = t.files[i];
      FileVerdict& v = m_outcome.files[i];
      v.state = (f.pad || f.length == 0 || fd_of(i) >= 0) ? FileVerdict::State::ok
                                                          : FileVerdict::State::unverified;
      if (t.has_v2 && f.pieces_root && fd_of(i) >= 0 && !good(i)) {
        m_v2_roots[i].resize(pieces_of(f.length));
      }
      if (fd_of(i) >= 0 && !good(i)) {
        ::posix_fadvise(fd_of(i), 0, 0, POSIX_FADV_SEQUENTIAL);
      }
    }
    plan();
  }

  VerifyOutcome run()
  {
    const unsigned jobs =
        m_options.jobs > 0 ? m_options.jobs : std::max(1u, std::thread::hardware_concurrency());
    std::vector<std::thread> workers;
    unsigned running = jobs;
    std::condition_variable done;
    for (unsigned j = 0; j < jobs; ++j) {
      workers.emplace_back([this, &running, &done] {
        work();
        const std::lock_guard lock(m_mutex);
        --running;
        done.notify_all();
      });
    }
    {
      std::unique_lock lock(m_mutex);
      while (!done.wait_for(lock, std::chrono::milliseconds(100), [&] { return running == 0; })) {
        if (m_options.progress) {
          lock.unlock();
          m_options.progress(m_bytes.load());
          lock.lock();
        }
      }
    }
    for (std::thread& w : workers) {
      w.join();
    }
    finish_drop();
    if (m_error) {
      std::rethrow_exception(m_error);
    }
    finish();
    m_outcome.bytes_hashed = m_bytes.load();
    return std::move(m_outcome);
  }

private:
  int fd_of(std::size_t i) const { return i < m_fds.size() ? m_fds[i] : -1; }
  bool good(std::size_t i) const
  {
    return i < m_known_good.size() && m_known_good[i] && fd_of(i) >= 0;
  }

  std::uint64_t pieces_of(std::uint64_t length) const
  {
    return length / m_pl + (length % m_pl != 0 ? 1 : 0);
  }

  // Splits the work into units, in payload order.
  void plan()
  {
    if (m_t.has_v1) {
      for (std::uint64_t p = 0; p < m_t.piece_count; ++p) {
        Unit u{p, m_t.v1_piece_runs(p)};
        const bool readable =
            std::all_of(u.segments.begin(), u.segments.end(), [&](const Segment& s) {
              return m_t.files[s.file].pad || fd_of(s.file) >= 0;
            });
        const bool all_good =
            std::any_of(u.segments.begin(), u.segments.end(),
                        [&](const Segment& s) { return !m_t.files[s.file].pad; }) &&
            std::all_of(u.segments.begin(), u.segments.end(),
                        [&](const Segment& s) { return m_t.files[s.file].pad || good(s.file); });
        if (all_good) {
          continue;
        }
        if (readable) {
          m_units.push_back(std::move(u));
        } else {
          m_skipped_v1.push_back(p);
        }
      }
      return;
    }
    for (std::size_t i = 0; i < m_t.files.size(); ++i) {
      const TorrentFile& f = m_t.files[i];
      if (f.length == 0 || fd_of(i) < 0 || good(i)) {
        continue;
      }
      for (std::uint64_t j = 0; j < pieces_of(f.length); ++j) {
        const std::uint64_t at = j * m_pl;
        m_units.push_back(Unit{UINT64_MAX, {Segment{i, at, std::min(m_pl, f.length - at)}}});
      }
    }
  }

  void work()
  {
    try {
      std::vector<char> buffer(k_chunk);
      util::Hasher sha1(util::Hasher::Algorithm::sha1);
      util::Hasher sha256(util::Hasher::Algorithm::sha256);
      const std::size_t batch =
          static_cast<std::size_t>(std::max<std::uint64_t>(1, k_batch_bytes / m_pl));
      while (true) {
        const std::size_t first = m_next.fetch_add(batch);
        if (first >= m_units.size()) {
          return;
        }
        const std::size_t last = std::min(m_units.size(), first + batch);
        for (std::size_t u = first; u < last; ++u) {
          hash_unit(m_units[u], buffer, sha1, sha256);
        }
      }
    } catch (...) {
      const std::lock_guard lock(m_mutex);
      if (!m_error) {
        m_error = std::current_exception();
      }
      m_next.store(m_units.size());
    }
  }

  // Whether `s` is a whole v2 piece of its file (so its blocks can be hashed for v2 as read).
  bool is_v2_piece(const Segment& s) const
  {
    const TorrentFile& f = m_t.files[s.file];
    return m_t.has_v2 && f.pieces_root && !f.pad && s.offset % m_pl == 0 &&
           s.length == std::min(m_pl, f.length - s.offset);
  }

  void hash_unit(const Unit& unit, std::vector<char>& buffer, util::Hasher& sha1,
                 util::Hasher& sha256)
  {
    bool read_ok = true;
    for (const Segment& s : unit.segments) {
      const TorrentFile& f = m_t.files[s.file];
      const bool v2 = is_v2_piece(s);
      std::vector<util::Sha256> leaves;
      std::uint64_t done = 0;
      while (done < s.length) {
        const std::size_t want =
            static_cast<std::size_t>(std::min<std::uint64_t>(k_chunk, s.length - done));
        std::string_view data;
        if (f.pad) {
          std::fill_n(buffer.begin(), want, '\0');
          data = std::string_view(buffer.data(), want);
        } else {
          const std::size_t got =
              util::read_at(fd_of(s.file), buffer.data(), want, s.offset + done);
          if (got != want) {
            read_ok = false;
            break;
          }
          data = std::string_view(buffer.data(), want);
          m_bytes.fetch_add(want);
        }
        if (unit.v1_piece != UINT64_MAX) {
          sha1.update(data);
        }
        if (v2) {
          for (std::size_t at = 0; at < data.size(); at += k_v2_block_size) {
            util::Sha256 leaf{};
            sha256.update(data.substr(at, k_v2_block_size));
            sha256.finish(leaf.data());
            leaves.push_back(leaf);
          }
        }
        done += want;
      }
      if (v2 && read_ok && !m_v2_roots[s.file].empty()) {
        record_v2_piece(s, leaves);
      }
      if (!f.pad) {
        drop_behind(s);
      }
      if (!read_ok) {
        break;
      }
    }
    if (unit.v1_piece == UINT64_MAX) {
      if (!read_ok) {
        mark_v2_unreadable(unit.segments.front());
      }
      return;
    }
    std::array<std::uint8_t, 20> digest{};
    sha1.finish(digest.data());
    if (m_options.keep_hashes && read_ok) { // each piece written by one worker only
      std::memcpy(m_outcome.computed.v1_pieces.data() + 20 * unit.v1_piece, digest.data(), 20);
    }
    const std::string_view expected = m_t.piece_hash_v1(unit.v1_piece);
    if (!read_ok || std::memcmp(digest.data(), expected.data(), 20) != 0) {
      const std::lock_guard lock(m_mutex);
      m_outcome.bad_v1_pieces.push_back(unit.v1_piece);
    }
  }

  // Drops a hashed segment from the page cache. The kernel only drops folios lying wholly
  // inside the range, and ext4 caches files in large folios, so the range is widened back to
  // the 2 MiB boundary before it (bytes already hashed) and cut at the one before its end
  // (read-ahead beyond it stays for the next piece); a file's end goes with its last
  // segment, and every file once more as a whole after the run (finish_drop).
  void drop_behind(const Segment& s) const
  {
    constexpr std::uint64_t k_align = 2u << 20;
    if (!m_options.drop_page_cache) {
      return;
    }
    const std::uint64_t begin = s.offset / k_align * k_align;
    const std::uint64_t end_of_file = m_t.files[s.file].length;
    const std::uint64_t seg_end = s.offset + s.length;
    const std::uint64_t end = seg_end >= end_of_file ? end_of_file : seg_end / k_align * k_align;
    if (end > begin) {
      ::posix_fadvise(fd_of(s.file), static_cast<off_t>(begin), static_cast<off_t>(end - begin),
                      POSIX_FADV_DONTNEED);
    }
  }

  void finish_drop() const
  {
    if (!m_options.drop_page_cache) {
      return;
    }
    for (std::size_t i = 0; i < m_t.files.size(); ++i) {
      if (fd_of(i) >= 0) {
        ::posix_fadvise(fd_of(i), 0, 0, POSIX_FADV_DONTNEED);
      }
    }
  }

  // The root of one v2 piece from its block hashes: a single-piece file's tree has as many
  // leaves as the next power of two of its blocks; a piece of a larger file has a full
  // piece's worth of leaves (zeros past the end of the file).
  void record_v2_piece(const Segment& s, std::vector<util::Sha256>& leaves)
  {
    const TorrentFile& f = m_t.files[s.file];
    const std::uint64_t blocks_per_piece = m_pl / k_v2_block_size;
    const std::size_t width =
        f.length <= m_pl ? next_pow2(leaves.size()) : static_cast<std::size_t>(blocks_per_piece);
    m_v2_roots[s.file][s.offset / m_pl] = merkle_root(leaves, width, util::Sha256{});
  }

  void mark_v2_unreadable(const Segment& s)
  {
    const std::lock_guard lock(m_mutex);
    m_unreadable_v2.emplace_back(s.file, s.offset / m_pl);
  }

  void finish()
  {
    std::sort(m_outcome.bad_v1_pieces.begin(), m_outcome.bad_v1_pieces.end());
    // v1: a bad piece condemns every file it touches that was not known to be good (a
    // piece is only hashed when at least one of its files was not).
    for (const std::uint64_t p : m_outcome.bad_v1_pieces) {
      for (const Segment& s : m_t.v1_piece_runs(p)) {
        if (!m_t.files[s.file].pad && !good(s.file)) {
          m_outcome.files[s.file].bad_pieces.push_back(p);
        }
      }
    }
    // A piece that could not be hashed (a neighbour is missing) leaves its files unverified.
    for (const std::uint64_t p : m_skipped_v1) {
      for (const Segment& s : m_t.v1_piece_runs(p)) {
        if (!m_t.files[s.file].pad && !good(s.file)) {
          m_outcome.files[s.file].state = FileVerdict::State::unverified;
        }
      }
    }
    // v2: compare each file's piece roots with its layer and its root.
    for (std::size_t i = 0; i < m_t.files.size(); ++i) {
      std::vector<util::Sha256>& roots = m_v2_roots[i];
      const TorrentFile& f = m_t.files[i];
      if (roots.empty() || !f.pieces_root) {
        continue;
      }
      const bool v1_skipped =
          m_t.has_v1 && std::any_of(m_skipped_v1.begin(), m_skipped_v1.end(), [&](std::uint64_t p) {
            return p >= f.offset / m_pl && p < f.offset / m_pl + roots.size();
          });
      const bool unreadable = std::any_of(m_unreadable_v2.begin(), m_unreadable_v2.end(),
                                          [&](const auto& fp) { return fp.first == i; });
      if (v1_skipped || unreadable) {
        continue;
      }
      const std::uint64_t base = m_t.has_v1 ? f.offset / m_pl : 0;
      const std::string_view layer = m_t.piece_layer(f);
      FileVerdict& v = m_outcome.files[i];
      if (!layer.empty()) {
        for (std::size_t j = 0; j < roots.size(); ++j) {
          if (std::memcmp(roots[j].data(), layer.data() + 32 * j, 32) != 0) {
            v.bad_pieces.push_back(base + j);
          }
        }
      }
      if (m_options.keep_hashes) {
        m_outcome.computed.v2_layer[i] = roots;
      }
      const bool one_piece = roots.size() == 1;
      const util::Sha256 root =
          one_piece ? roots[0]
                    : merkle_root(roots, next_pow2(roots.size()), zero_subtree(piece_height(m_pl)));
      v.root_mismatch = root != *f.pieces_root;
      if (m_options.keep_hashes) {
        m_outcome.computed.v2_root[i] = root;
      }
      if (v.root_mismatch && one_piece) { // (merkle_root used `roots` as scratch space)
        v.bad_pieces.push_back(base);     // a one-piece file: that piece is the one that failed
      }
    }
    for (std::size_t i = 0; i < m_t.files.size(); ++i) {
      FileVerdict& v = m_outcome.files[i];
      std::sort(v.bad_pieces.begin(), v.bad_pieces.end());
      v.bad_pieces.erase(std::unique(v.bad_pieces.begin(), v.bad_pieces.end()), v.bad_pieces.end());
      for (const auto& [file, piece] : m_unreadable_v2) {
        if (file == i) {
          v.bad_pieces.push_back(piece);
        }
      }
      if (!v.bad_pieces.empty() || v.root_mismatch) {
        v.state = FileVerdict::State::mismatch;
      }
    }
  }

  const Torrent& m_t;
  const std::vector<int>& m_fds;
  const VerifyOptions& m_options;
  const std::vector<bool>& m_known_good;
  const std::uint64_t m_pl;
  std::vector<Unit> m_units;
  std::vector<std::uint64_t> m_skipped_v1;           // v1 pieces not hashed: a file is missing
  std::vector<std::vector<util::Sha256>> m_v2_roots; // per file: v2 piece roots
  std::vector<std::pair<std::size_t, std::uint64_t>> m_unreadable_v2;
  std::atomic<std::size_t> m_next{0};
  std::atomic<std::uint64_t> m_bytes{0};
  std::mutex m_mutex;
  std::exception_ptr m_error;
  VerifyOutcome m_outcome;
};

} // namespace

bool VerifyOutcome::all_ok() const
{
  return bad_v1_pieces.empty() && std::all_of(files.begin(), files.end(), [](const FileVerdict& f) {
           return f.state == FileVerdict::State::ok;
         });
}

VerifyOutcome verify_payload(const Torrent& torrent, const std::vector<int>& fds,
                             const VerifyOptions& options, const std::vector<bool>& known_good)
{
  return Engine(torrent, fds, options, known_good).run();
}

} // namespace agent
