// cli.h: the command line: `webseed-agent [--config FILE] COMMAND [options]`.
// Options are declared once here (CLI11); each command's work lives in its cmd_*.cc.
// Subcommands, options and exit codes are a public interface (docs/cli.md).
#pragma once

namespace agent {

// Parses the command line, runs the command, returns the process exit code. Usage errors
// return 2 after printing "webseed-agent: error: ..."; other failures propagate as Fatal.
int run_cli(int argc, char** argv);

} // namespace agent
