#include "catalog.h"

#include "torrent_discovery.h"

#include <algorithm>
#include <sys/stat.h>

namespace collector {

std::expected<Catalog, std::string> Catalog::load(const std::string& dir,
                                                  std::vector<std::string>& problems)
{
  auto files = agent::find_torrents({dir});
  if (!files) {
    return std::unexpected(files.error());
  }
  Catalog c;
  for (const std::string& path : *files) {
    auto t = agent::load_torrent(path);
    if (!t) {
      problems.push_back(t.error().message);
      continue;
    }
    CatalogEntry e;
    e.v1 = t->info_hash_v1 ? agent::hex(*t->info_hash_v1) : std::string();
    e.v2 = t->info_hash_v2 ? agent::hex(*t->info_hash_v2) : std::string();
    e.key = e.v1.empty() ? e.v2 : e.v1;
    e.file = path;
    e.torrent = std::make_shared<const agent::Torrent>(std::move(*t));
    c.m_entries.push_back(std::move(e));
  }
  std::sort(c.m_entries.begin(), c.m_entries.end(),
            [](const CatalogEntry& a, const CatalogEntry& b) {
              return a.torrent->name < b.torrent->name;
            });
  for (std::size_t i = 0; i < c.m_entries.size(); ++i) {
    for (const std::string* hash : {&c.m_entries[i].v1, &c.m_entries[i].v2}) {
      if (!hash->empty()) {
        c.m_index.emplace(*hash, i);
      }
    }
  }
  return c;
}

std::expected<std::string, std::string> Catalog::fingerprint(const std::string& dir)
{
  auto files = agent::find_torrents({dir});
  if (!files) {
    return std::unexpected(files.error());
  }
  std::string out;
  for (const std::string& path : *files) {
    struct stat st {};
    out += path;
    out += '\0';
    if (::lstat(path.c_str(), &st) == 0) {
      out += std::to_string(st.st_size) + ' ' + std::to_string(st.st_mtim.tv_sec) + '.' +
             std::to_string(st.st_mtim.tv_nsec) + ' ' + std::to_string(st.st_ino);
    }
    out += '\n';
  }
  return out;
}

const CatalogEntry* Catalog::find(const std::string& info_hash) const
{
  const auto it = m_index.find(info_hash);
  return it == m_index.end() ? nullptr : &m_entries[it->second];
}

} // namespace collector
