// catalog.h: the collector's own copy of the distribution's torrents (config `torrents`), the
// reference the mirrors' claims are matched against and spot-checked with. A torrent is keyed
// by its v1 info-hash (hex) when it has one, else its v2 info-hash; both are looked up.
#pragma once

#include "torrent.h"

#include <expected>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace collector {

struct CatalogEntry {
  std::string key; // v1 hex, else v2 hex
  std::string v1;  // "" when none
  std::string v2;  // "" when none
  std::string file;
  std::shared_ptr<const agent::Torrent> torrent;
};

class Catalog {
public:
  // Loads every .torrent under `dir` (agent/torrent_discovery.h). Invalid files are skipped
  // and described in `problems`. Error: "DIR: why" when the directory cannot be read.
  static std::expected<Catalog, std::string> load(const std::string& dir,
                                                  std::vector<std::string>& problems);

  // What a reload compares to know whether `dir` changed: each .torrent file's path, size,
  // mtime (ns) and inode, in order (no file is read; linear in the files). A file rewritten by
  // make-torrents (temp + rename) has a new inode. Error as load's.
  static std::expected<std::string, std::string> fingerprint(const std::string& dir);

  const std::vector<CatalogEntry>& entries() const { return m_entries; }
  // By v1 or v2 info-hash (lower-case hex); nullptr when unknown.
  const CatalogEntry* find(const std::string& info_hash) const;

private:
  std::vector<CatalogEntry> m_entries;
  std::unordered_map<std::string, std::size_t> m_index; // v1 and v2 hex -> entry
};

} // namespace collector
