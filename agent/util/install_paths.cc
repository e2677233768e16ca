// util/install_paths.cc: see install_paths.h.
#include "util/install_paths.h"

#include <filesystem>
#include <system_error>

namespace util {

std::string doc_dir_for_exe(const std::string& exe, const std::string& package)
{
  const std::filesystem::path path(exe);
  const std::filesystem::path bin = path.parent_path();
  if (!path.is_absolute() || bin.filename() != "bin")
    return "";
  std::string prefix = bin.parent_path().string();
  if (prefix == "/")
    prefix.clear();
  return prefix + "/share/doc/" + package + "/";
}

std::string installed_doc_dir(const std::string& package)
{
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const std::string dir = doc_dir_for_exe(exe.string(), package);
    if (!dir.empty() && std::filesystem::is_directory(dir, ec))
      return dir;
  }
  return "/usr/share/doc/" + package + "/";
}

} // namespace util
