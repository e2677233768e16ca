// settings.h: the effective settings of one run: the config file (if any) with the
// command-line options laid over it. Command-line options always win.
#pragma once

#include "config.h"

#include <optional>
#include <string>

namespace agent {

// What the command line says about settings; unset means "not given".
struct Overrides {
  std::optional<std::string> config_path;  // --config
  std::optional<std::string> root;         // --root
  std::optional<std::string> symlinks_dir; // --symlinks-dir
};

struct Settings {
  Config config;    // config file values, overridden by the command line
  std::string root; // absolute mirror root, without trailing slash
};

// Loads the config file (--config, else the default path if it exists, else none; then the
// built-in defaults). Throws Fatal(ExitCode::usage) when a file is given but bad.
Config load_config(const Overrides& overrides);

// Loads the config file (--config, else the default path if it exists, else none) and
// applies the overrides. Throws Fatal(ExitCode::usage) with a one-line message on a bad or
// missing config file, a bad option value, or no mirror root at all.
Settings load_settings(const Overrides& overrides);

} // namespace agent
