#include "mirror_layout.h"

namespace agent {

std::vector<std::string> mirror_components(std::string_view symlinks_dir, const Torrent& torrent,
                                           const TorrentFile& file)
{
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < symlinks_dir.size()) {
    std::size_t slash = symlinks_dir.find('/', pos);
    if (slash == std::string_view::npos) {
      slash = symlinks_dir.size();
    }
    const std::string_view c = symlinks_dir.substr(pos, slash - pos);
    if (!c.empty() && c != ".") {
      out.emplace_back(c);
    }
    pos = slash + 1;
  }
  out.push_back(torrent.name);
  if (torrent.multi_file) {
    out.insert(out.end(), file.path.begin(), file.path.end());
  }
  return out;
}

std::string mirror_path(std::string_view symlinks_dir, const Torrent& torrent,
                        const TorrentFile& file)
{
  std::string out;
  for (const std::string& c : mirror_components(symlinks_dir, torrent, file)) {
    if (!out.empty()) {
      out += '/';
    }
    out += c;
  }
  return out;
}

std::string percent_encode(std::string_view component)
{
  static constexpr char k_hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(component.size());
  for (const char ch : component) {
    const auto c = static_cast<unsigned char>(ch);
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out += ch;
    } else {
      out += '%';
      out += k_hex[c >> 4];
      out += k_hex[c & 0xf];
    }
  }
  return out;
}

std::string webseed_url(std::string_view base_url, std::string_view symlinks_dir,
                        const Torrent& torrent, const TorrentFile& file)
{
  std::string out(base_url);
  if (out.empty() || out.back() != '/') {
    out += '/';
  }
  bool first = true;
  for (const std::string& c : mirror_components(symlinks_dir, torrent, file)) {
    if (!first) {
      out += '/';
    }
    out += percent_encode(c);
    first = false;
  }
  return out;
}

} // namespace agent
