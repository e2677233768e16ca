#include "torrent_output.h"

#include "links_output.h"
#include "mirror_layout.h"
#include "util/format.h"
#include "util/text.h"

namespace agent {

namespace {

std::string meta_version(const Torrent& t)
{
  if (t.has_v1 && t.has_v2) {
    return "hybrid";
  }
  return t.has_v2 ? "v2" : "v1";
}

std::string size_text(std::uint64_t bytes)
{
  return util::human_size(bytes) + " (" + std::to_string(bytes) + " bytes)";
}

void put_optional_text(util::Json& j, const std::string& key, const std::string& value)
{
  if (value.empty()) {
    j[key] = nullptr;
  } else {
    util::put_bytes(j, key, value);
  }
}

} // namespace

void put_info_hashes(util::Json& j, const Torrent* t)
{
  j["info_hash_v1"] =
      t && t->info_hash_v1 ? util::Json(hex(*t->info_hash_v1)) : util::Json(nullptr);
  j["info_hash_v2"] =
      t && t->info_hash_v2 ? util::Json(hex(*t->info_hash_v2)) : util::Json(nullptr);
}

Finding torrent_finding(const std::string& path, const TorrentError& error)
{
  if (error.code == TorrentErrc::unsafe_path) {
    return {Code::unsafe_path, path, std::nullopt, error.message,
            "the torrent names a path that could leave its directory; do not seed it, report it "
            "to whoever published it"};
  }
  return {Code::torrent_invalid, path, std::nullopt, error.message,
          "the .torrent file is damaged, not a torrent, or larger than torrent_max_size; fetch "
          "it again"};
}

std::optional<Finding> quirk_finding(const std::string& path, const Torrent& torrent)
{
  if (torrent.quirk_count == 0) {
    return std::nullopt;
  }
  std::string message = path;
  for (std::size_t i = 0; i < torrent.quirks.size(); ++i) {
    message += (i == 0 ? ": byte " : "; byte ") + std::to_string(torrent.quirks[i].offset) + ": " +
               torrent.quirks[i].what;
  }
  if (torrent.quirk_count > torrent.quirks.size()) {
    message += "; " + std::to_string(torrent.quirk_count - torrent.quirks.size()) + " more";
  }
  return Finding(Code::torrent_noncanonical, path, std::nullopt, message,
                 "not canonical bencoding, but libtorrent, aria2 and Transmission read it (the "
                 "first of repeated keys counts, the info-hash is over the info bytes as they "
                 "are); nothing to fix on the mirror, tell whoever made the torrent");
}

void print_torrent_human(std::ostream& out, const std::string& path,
                         const std::expected<Torrent, TorrentError>& torrent,
                         const UrlContext& urls)
{
  const auto line = [&](std::string_view label, const std::string& value) {
    out << "  " << label << std::string(14 - label.size(), ' ') << value << '\n';
  };
  out << util::escape_for_terminal(path) << '\n';
  if (!torrent) {
    print_finding_human(out, torrent_finding(path, torrent.error()), 2);
    return;
  }
  const Torrent& t = *torrent;
  if (auto quirks = quirk_finding(path, t)) {
    print_finding_human(out, *quirks, 2);
  }
  line("name:", util::escape_for_terminal(t.name));
  line("info hash v1:", t.info_hash_v1 ? hex(*t.info_hash_v1) : "-");
  line("info hash v2:", t.info_hash_v2 ? hex(*t.info_hash_v2) : "-");
  line("meta version:", meta_version(t) + (t.multi_file ? ", multi-file" : ", single-file"));
  line("piece size:", size_text(t.piece_length) + ", " + std::to_string(t.piece_count) + " pieces");
  std::size_t real_files = 0;
  for (const TorrentFile& f : t.files) {
    real_files += f.pad ? 0 : 1;
  }
  line("total size:", size_text(t.total_size) + " in " + std::to_string(real_files) +
                          (real_files == 1 ? " file" : " files"));
  line("private:", t.is_private ? "yes" : "no");
  line("created by:", t.created_by.empty() ? "-" : util::escape_in_message(t.created_by));
  line("created on:", t.creation_date ? util::utc_time(*t.creation_date) : "-");
  line("comment:", t.comment.empty() ? "-" : util::escape_in_message(t.comment));
  const auto list = [&](std::string_view label, const std::vector<std::string>& items,
                        const std::string& prefix) {
    if (items.empty()) {
      line(label, "-");
    }
    for (std::size_t i = 0; i < items.size(); ++i) {
      line(i == 0 ? label : "", prefix + util::escape_in_message(items[i]));
    }
  };
  std::vector<std::string> trackers;
  for (std::size_t i = 0; i < t.trackers.size(); ++i) {
    for (const std::string& u : t.trackers[i]) {
      trackers.push_back("tier " + std::to_string(i + 1) + ": " + u);
    }
  }
  list("trackers:", trackers, "");
  list("web seeds:", t.url_list, "");
  list("http seeds:", t.httpseeds, "");
  out << "  files:\n";
  for (const TorrentFile& f : t.files) {
    const std::string size = f.pad ? "(pad)" : std::to_string(f.length);
    out << "    " << std::string(size.size() < 14 ? 14 - size.size() : 0, ' ') << size << "  "
        << util::escape_for_terminal(f.pad ? f.joined_path() : mirror_path("", t, f))
        << (f.symlink ? "  (symlink)" : "") << '\n';
    if (!urls.base_url.empty() && !f.pad) {
      out << "    " << std::string(14, ' ') << "  -> "
          << webseed_url(urls.base_url, urls.symlinks_dir, t, f) << '\n';
    }
  }
}

util::Json torrent_json(const std::string& path,
                        const std::expected<Torrent, TorrentError>& torrent, const UrlContext& urls)
{
  util::Json j = util::Json::object();
  util::put_bytes(j, "torrent", path);
  j["ok"] = torrent.has_value();
  if (!torrent) {
    j["name"] = nullptr;
    put_info_hashes(j, nullptr);
    j["findings"] = util::Json::array({finding_json(torrent_finding(path, torrent.error()))});
    return j;
  }
  const Torrent& t = *torrent;
  util::put_bytes(j, "name", t.name);
  put_info_hashes(j, &t);
  j["meta_version"] = meta_version(t);
  j["multi_file"] = t.multi_file;
  j["piece_length"] = t.piece_length;
  j["piece_count"] = t.piece_count;
  j["total_size"] = t.total_size;
  j["private"] = t.is_private;
  put_optional_text(j, "created_by", t.created_by);
  j["creation_date"] = t.creation_date ? util::Json(*t.creation_date) : util::Json(nullptr);
  put_optional_text(j, "comment", t.comment);
  const auto url_array = [](const std::vector<std::string>& urls_in) {
    util::Json a = util::Json::array();
    for (const std::string& u : urls_in) {
      a.push_back(util::to_utf8_lossy(u));
    }
    return a;
  };
  j["trackers"] = util::Json::array();
  for (const auto& tier : t.trackers) {
    j["trackers"].push_back(url_array(tier));
  }
  j["url_list"] = url_array(t.url_list);
  j["httpseeds"] = url_array(t.httpseeds);
  j["files"] = util::Json::array();
  for (const TorrentFile& f : t.files) {
    util::Json file = util::Json::object();
    util::put_bytes(file, "path", f.joined_path());
    file["length"] = f.length;
    file["offset"] = f.offset;
    file["pad"] = f.pad;
    file["attr"] = util::to_utf8_lossy(f.attr);
    file["pieces_root"] = f.pieces_root ? util::Json(hex(*f.pieces_root)) : util::Json(nullptr);
    if (!urls.base_url.empty() && !f.pad) {
      file["url"] = webseed_url(urls.base_url, urls.symlinks_dir, t, f);
    }
    j["files"].push_back(std::move(file));
  }
  j["findings"] = util::Json::array();
  if (auto quirks = quirk_finding(path, t)) {
    j["findings"].push_back(finding_json(*quirks));
  }
  return j;
}

} // namespace agent
