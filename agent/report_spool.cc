#include "report_spool.h"

#include "report_build.h"
#include "util/atomic_file.h"
#include "util/dir_list.h"
#include "util/fd.h"
#include "util/private_dir.h"
#include "util/read_file.h"

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace agent {

namespace {

constexpr std::string_view k_suffix = ".json";
constexpr std::string_view k_rejected = ".json.rejected";
constexpr std::size_t k_max_report = 64u << 20;

util::Fd open_dir(const std::string& dir)
{
  return util::Fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
}

// A spool entry the agent may trust: a regular file (not a link) owned by this user.
// Otherwise what it is, for the message.
std::string distrust(int dirfd, const std::string& name)
{
  struct stat st {};
  if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return std::strerror(errno);
  }
  if (S_ISLNK(st.st_mode)) {
    return "a symbolic link";
  }
  if (!S_ISREG(st.st_mode)) {
    return "not a regular file";
  }
  if (st.st_uid != ::geteuid()) {
    return "owned by uid " + std::to_string(st.st_uid) + ", not this user";
  }
  return {};
}

// "<20 digits>-<uuid>.json" -> the uuid, or "" when the name has another shape.
std::string id_of(std::string_view name)
{
  if (!name.ends_with(k_suffix) || name.size() != 20 + 1 + 36 + k_suffix.size() ||
      name[20] != '-') {
    return {};
  }
  const std::string_view id = name.substr(21, 36);
  return is_report_id(id) ? std::string(id) : std::string();
}

} // namespace

std::expected<ReportSpool, std::string> ReportSpool::open(const std::string& dir, std::uint64_t max)
{
  if (auto made = util::make_dirs(dir, 0700); !made) {
    return std::unexpected(made.error());
  }
  if (auto shared = util::refuse_shared_dir(dir); !shared) {
    return std::unexpected(shared.error());
  }
  ReportSpool spool(dir, max);
  util::Fd fd = open_dir(dir);
  if (!fd) {
    return std::unexpected(dir + ": cannot open: " + std::strerror(errno));
  }
  if (auto names = util::list_dir(fd.get()); names) {
    for (const util::DirEntryName& e : *names) {
      if (e.name.find(".tmp.") != std::string::npos) {
        ::unlinkat(fd.get(), e.name.c_str(), 0); // a writer killed before its rename
      }
    }
  } else {
    return std::unexpected(dir + ": cannot list: " + std::strerror(names.error()));
  }
  return spool;
}

std::vector<std::string> ReportSpool::names_with_suffix(std::string_view suffix,
                                                        std::vector<std::string>* skipped) const
{
  std::vector<std::string> out;
  util::Fd fd = open_dir(m_dir);
  if (!fd) {
    return out;
  }
  if (auto names = util::list_dir(fd.get()); names) {
    for (const util::DirEntryName& e : *names) {
      const std::string_view n = e.name;
      if (!n.ends_with(suffix) || n.find(".tmp.") != std::string_view::npos) {
        continue;
      }
      if (const std::string why = distrust(fd.get(), e.name); !why.empty()) {
        if (skipped) {
          skipped->push_back("spool entry " + m_dir + "/" + e.name + " skipped: " + why +
                             ", not a report this agent wrote; left in place: remove it");
        }
        continue;
      }
      out.push_back(e.name);
    }
  }
  return out; // list_dir sorts by name: oldest first
}

std::vector<std::string> ReportSpool::untrusted() const
{
  std::vector<std::string> skipped;
  names_with_suffix(k_suffix, &skipped);
  return skipped;
}

std::vector<std::string> ReportSpool::trim(std::string_view suffix) const
{
  std::vector<std::string> dropped;
  std::vector<std::string> names;
  for (std::string& name : names_with_suffix(suffix)) {
    const std::string_view base = std::string_view(name).substr(0, name.size() - suffix.size());
    if (!id_of(std::string(base) + std::string(k_suffix)).empty()) {
      names.push_back(std::move(name)); // ours; foreign files are never dropped
    }
  }
  for (std::size_t i = 0; i + m_max < names.size(); ++i) {
    const std::string path = m_dir + "/" + names[i];
    if (::unlink(path.c_str()) == 0) {
      dropped.push_back("report spool full (report.spool_max " + std::to_string(m_max) +
                        "): dropped the oldest report, " + names[i]);
    }
  }
  return dropped;
}

std::expected<std::vector<std::string>, std::string> ReportSpool::add(const std::string& report_id,
                                                                      const std::string& body)
{
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  char stamp[32];
  std::snprintf(stamp, sizeof stamp, "%020lld", static_cast<long long>(ns));
  const std::string path = m_dir + "/" + stamp + "-" + report_id + std::string(k_suffix);
  if (auto written = util::write_file_atomic(path, body, 0600); !written) {
    return std::unexpected(written.error());
  }
  return trim(k_suffix);
}

std::vector<SpooledReport> ReportSpool::list() const
{
  std::vector<SpooledReport> out;
  for (std::string& name : names_with_suffix(k_suffix)) {
    std::string id = id_of(name);
    if (id.empty()) {
      continue; // not ours: left alone
    }
    out.push_back({std::move(name), std::move(id)});
  }
  return out;
}

std::expected<std::string, std::string> ReportSpool::read(const SpooledReport& report) const
{
  const std::string path = m_dir + "/" + report.name;
  util::Fd dir = open_dir(m_dir);
  if (!dir) {
    return std::unexpected(m_dir + ": cannot open: " + std::strerror(errno));
  }
  util::Fd fd(::openat(dir.get(), report.name.c_str(),
                       O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (!fd) {
    return std::unexpected(path + ": " + std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != ::geteuid()) {
    return std::unexpected(path + ": not a regular file owned by this user");
  }
  auto body = util::read_small_fd(fd.get(), k_max_report);
  if (!body) {
    return std::unexpected(path + ": " + body.error());
  }
  return body;
}

void ReportSpool::remove(const SpooledReport& report) const
{
  const std::string path = m_dir + "/" + report.name;
  ::unlink(path.c_str());
}

void ReportSpool::reject(const SpooledReport& report) const
{
  const std::string path = m_dir + "/" + report.name;
  const std::string aside = path + ".rejected";
  if (::rename(path.c_str(), aside.c_str()) != 0) {
    ::unlink(path.c_str());
  }
  trim(k_rejected);
}

FlushResult flush_spool(const ReportSpool& spool, const Endpoint& endpoint,
                        std::chrono::steady_clock::time_point deadline)
{
  FlushResult result;
  result.messages = spool.untrusted();
  const std::vector<SpooledReport> queue = spool.list();
  std::size_t i = 0;
  for (; i < queue.size(); ++i) {
    const SpooledReport& report = queue[i];
    auto body = spool.read(report);
    if (!body) {
      // Replaced since it was listed (a link put in its place?): left alone, never sent.
      result.messages.push_back("spooled report " + report.name +
                                " skipped, left in place: " + body.error());
      continue;
    }
    const Delivery d = deliver_report(endpoint, *body, report.report_id, deadline);
    if (d.outcome == Delivery::Outcome::delivered) {
      spool.remove(report);
      ++result.delivered;
      result.delivered_ids.push_back(report.report_id);
      continue;
    }
    ++result.failures;
    if (d.outcome == Delivery::Outcome::rejected) {
      result.messages.push_back("report " + report.report_id + " rejected, kept as " + report.name +
                                ".rejected: " + d.message);
      spool.reject(report);
      ++result.rejected;
      continue;
    }
    result.messages.push_back("report " + report.report_id + " not delivered: " + d.message);
    break; // the endpoint cannot take reports now: the rest wait, in order
  }
  result.remaining = spool.list().size();
  return result;
}

} // namespace agent
