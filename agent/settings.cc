#include "settings.h"

#include "error.h"

#include <sys/stat.h>

#include <filesystem>

namespace agent {

namespace {

std::string absolute_root(const std::string& root)
{
  std::string out = std::filesystem::absolute(root).lexically_normal().string();
  while (out.size() > 1 && out.back() == '/') {
    out.pop_back();
  }
  return out;
}

} // namespace

Config load_config(const Overrides& overrides)
{
  std::string path;
  if (overrides.config_path) {
    path = *overrides.config_path;
  } else {
    struct stat st {};
    if (::stat(std::string(k_default_config_path).c_str(), &st) != 0) {
      return Config{};
    }
    path = std::string(k_default_config_path);
  }
  auto config = load_config_file(path);
  if (!config) {
    throw Fatal(ExitCode::usage, config.error());
  }
  return std::move(*config);
}

Settings load_settings(const Overrides& overrides)
{
  Settings settings;
  settings.config = load_config(overrides);
  Config& config = settings.config;
  if (overrides.root) {
    if (overrides.root->empty()) {
      throw Fatal(ExitCode::usage, "--root: must not be empty");
    }
    config.mirror.root = *overrides.root;
  }
  if (overrides.symlinks_dir) {
    if (auto ok = check_symlinks_dir(*overrides.symlinks_dir); !ok) {
      throw Fatal(ExitCode::usage, "--symlinks-dir: " + ok.error());
    }
    config.symlinks_dir = *overrides.symlinks_dir;
  }
  if (config.mirror.root.empty()) {
    throw Fatal(ExitCode::usage, "no mirror root: pass --root DIR or set mirror.root in the "
                                 "config file (default " +
                                     std::string(k_default_config_path) + ")");
  }
  settings.root = absolute_root(config.mirror.root);
  return settings;
}

} // namespace agent
