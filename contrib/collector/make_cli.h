// make_cli.h: the command lines of `make-torrents` and `make-tree` (contrib/collector/
// README.md). Both work on a release tree and need no configuration file.
#pragma once

#include <CLI/CLI.hpp>

#include <memory>
#include <optional>
#include <string>

namespace collector {

struct MakeCommands;

// Declares the two subcommands on `app`; the returned state holds their options.
std::shared_ptr<MakeCommands> add_make_commands(CLI::App& app);

// Runs the one that was parsed: its exit code (0 ok, 1 problems to look at, 2 usage);
// nullopt when neither was. `config_path` (--config, "" when not given): make-torrents
// without --web-seed takes its url-list from that file's publish.fallback_webseeds. Throws
// std::runtime_error for failures of the whole command (a bad config file included).
std::optional<int> run_make_commands(const MakeCommands& commands, const std::string& config_path);

} // namespace collector
