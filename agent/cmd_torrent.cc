#include "cmd_torrent.h"

#include "torrent.h"
#include "torrent_output.h"

namespace agent {

ExitCode run_torrent_show(const TorrentShowOptions& options, std::ostream& out)
{
  const UrlContext urls{options.base_url, options.symlinks_dir};
  bool all_ok = true;
  util::Json doc = util::Json::object();
  doc["version"] = 1;
  doc["torrents"] = util::Json::array();
  bool first = true;
  for (const std::string& path : options.files) {
    const auto torrent = load_torrent(path, TorrentLimits{options.max_size});
    all_ok = all_ok && torrent.has_value();
    if (options.json) {
      doc["torrents"].push_back(torrent_json(path, torrent, urls));
    } else {
      if (!first) {
        out << '\n';
      }
      print_torrent_human(out, path, torrent, urls);
    }
    first = false;
  }
  if (options.json) {
    out << doc.dump(2) << '\n';
  }
  out.flush();
  return all_ok ? ExitCode::ok : ExitCode::findings;
}

} // namespace agent
