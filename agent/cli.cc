#include "cli.h"

#include "cmd_check.h"
#include "cmd_links.h"
#include "cmd_report.h"
#include "cmd_run.h"
#include "cmd_torrent.h"
#include "cmd_verify.h"
#include "error.h"
#include "nagios_output.h"
#include "run_log.h"
#include "settings.h"
#include "util/install_paths.h"
#include "version.h"

#include <CLI/CLI.hpp>

#include <iostream>

namespace agent {

namespace {

constexpr const char* k_exit_codes = R"(Exit codes:
  0  everything ready / no error finding (warnings allowed)
  1  findings: something is not ready (see the output)
  2  usage or configuration error
  3  internal or unexpected error
  4  run, report --flush, withdraw: another run holds the state lock
`run` exits 0 when torrents are not ready (unless --strict), so it never breaks a sync;
`check --format nagios` uses the plugin codes (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN).

Configuration: --config FILE, else /etc/webseed-agent/agent.yaml if it exists, else none
(then --root is required). Command-line options override the file.)";

// The help footer: exit codes, configuration, and where the installed docs are.
const std::string& help_footer()
{
  static const std::string text = std::string(k_exit_codes) +
                                  "\nDocumentation: man webseed-agent, " +
                                  util::installed_doc_dir();
  return text;
}

void add_root_options(CLI::App& cmd, Overrides& overrides, std::string& root,
                      std::string& symlinks_dir)
{
  cmd.add_option("--root", root, "mirror root directory (overrides mirror.root)")
      ->type_name("DIR")
      ->each([&](const std::string& v) { overrides.root = v; });
  cmd.add_option("--symlinks-dir", symlinks_dir,
                 "torrent-symlinks tree, relative to the root (default "
                 "experimental/torrent-symlinks; overrides symlinks_dir)")
      ->type_name("REL")
      ->each([&](const std::string& v) { overrides.symlinks_dir = v; });
}

// --jobs N for the commands that hash.
void add_jobs_option(CLI::App& cmd, unsigned& jobs)
{
  cmd.add_option("--jobs", jobs, "hashing threads (default: one per core)")
      ->type_name("N")
      ->check(CLI::Range(1u, 256u));
}

} // namespace

int run_cli(int argc, char** argv)
{
  CLI::App app{"webseed-agent: checks that this mirror can serve the distribution's torrents as "
               "an HTTP web seed (BEP 19/17).",
               "webseed-agent"};
  app.footer(help_footer());
  app.set_version_flag("--version", std::string("webseed-agent ") + k_version);
  app.require_subcommand(1);
  app.fallthrough(); // global options (--config) may follow the subcommand too

  Overrides overrides;
  std::string config_path;
  app.add_option("-c,--config", config_path,
                 "configuration file (default /etc/webseed-agent/agent.yaml if it exists)")
      ->type_name("FILE")
      ->each([&](const std::string& v) { overrides.config_path = v; });

  std::string root;
  std::string symlinks_dir;

  LinksOptions links_options;
  bool links_verbose = false;
  CLI::App* links = app.add_subcommand(
      "links", "Audit the torrent-symlinks tree: every link must be relative and resolve to a "
               "regular file inside the mirror root.");
  add_root_options(*links, overrides, root, symlinks_dir);
  links->add_flag("--json", links_options.json, "print one JSON document (docs/links.md)");
  links->add_flag("-v,--verbose", links_verbose, "also list the entries that are fine");
  links->footer(help_footer());

  TorrentShowOptions show_options;
  std::string show_symlinks_dir;
  CLI::App* torrent = app.add_subcommand("torrent", "Read .torrent files (see 'torrent show').");
  torrent->require_subcommand(1);
  CLI::App* show = torrent->add_subcommand(
      "show", "Print what .torrent files say: name, info-hashes, pieces, files, trackers, web "
              "seeds, and with --base-url the URL each file is fetched from.");
  show->add_option("FILE", show_options.files, ".torrent files")->required()->type_name("FILE");
  show->add_flag("--json", show_options.json, "print one JSON document (docs/torrent-show.md)");
  show->add_option("--base-url", show_options.base_url,
                   "the mirror's public URL (default mirror.base_url): print each file's web-seed "
                   "URL (BEP 19)")
      ->type_name("URL")
      ->check([](const std::string& v) {
        return v.starts_with("http://") || v.starts_with("https://")
                   ? std::string()
                   : std::string("must start with http:// or https://");
      });
  show->add_option("--symlinks-dir", show_symlinks_dir,
                   "torrent-symlinks tree under the base URL (default "
                   "experimental/torrent-symlinks; overrides symlinks_dir)")
      ->type_name("REL");
  std::uint64_t show_max_size = 0;
  show->add_option("--max-size", show_max_size,
                   "refuse .torrent files larger than this many bytes (default 268435456; "
                   "overrides torrent_max_size)")
      ->type_name("BYTES")
      ->check(CLI::PositiveNumber);
  show->footer(help_footer());

  CheckOptions check_options;
  std::string check_format = "human";
  CLI::App* check = app.add_subcommand(
      "check", "For every torrent: are its files on this mirror, behind valid links, with the "
               "right sizes and bytes, and (with a base URL) does the web server serve them to "
               "web-seed clients? A torrent is ready when it has no error finding.");
  CLI::App* probe = app.add_subcommand(
      "probe", "The same as check, with the web-seed probe required: a base URL "
               "(mirror.base_url or --base-url) must be known. Run it after changing the web "
               "server's configuration.");
  for (CLI::App* cmd : {check, probe}) {
    add_root_options(*cmd, overrides, root, symlinks_dir);
    cmd->add_option("--torrents", check_options.torrents,
                    ".torrent file or directory scanned for *.torrent (repeatable; overrides "
                    "the config's torrents)")
        ->type_name("PATH");
    cmd->add_option("--base-url", check_options.base_url,
                    "the mirror root's public URL for the web-seed probe (overrides "
                    "mirror.base_url)")
        ->type_name("URL");
    add_jobs_option(*cmd, check_options.jobs);
    cmd->add_flag("--json", check_options.json, "print one JSON document (docs/check.md)");
    cmd->add_option("--format", check_format,
                    "human (default), json (the same as --json) or nagios (one status line with "
                    "perfdata; exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN)")
        ->type_name("FORMAT")
        ->check(CLI::IsMember({"human", "json", "nagios"}));
    cmd->add_option("--state-dir", check_options.state_dir,
                    "where the verification cache lives (overrides state_dir; default "
                    "/var/lib/webseed-agent, or $XDG_STATE_HOME/webseed-agent when not root)")
        ->type_name("DIR");
    cmd->add_flag("--full", check_options.full,
                  "hash everything, ignoring the verification cache (results are still recorded)");
    cmd->add_flag("--low-priority", check_options.low_priority,
                  "run at the low CPU and I/O priority of the hook (verify.nice, default 10; "
                  "verify.io_class, default idle)");
    cmd->footer(help_footer());
  }
  check->add_flag("--no-probe", check_options.no_probe,
                  "skip the web-seed probe even when mirror.base_url is set");

  VerifyCommandOptions verify_options;
  CLI::App* verify = app.add_subcommand(
      "verify", "Verify one torrent's payload in a download directory (or file), without the "
                "mirror layout: every file there, with the right size and bytes.");
  verify->add_option("TORRENT", verify_options.torrent, ".torrent file")->required();
  verify
      ->add_option("--content", verify_options.content,
                   "the torrent's directory (multi-file) or file (single-file); default: the "
                   "torrent's name next to the .torrent file")
      ->type_name("PATH");
  add_jobs_option(*verify, verify_options.jobs);
  verify->add_flag("--json", verify_options.json, "print one JSON document (docs/verify.md)");
  verify->footer(help_footer());

  RunOptions run_options;
  int rsync_exit = -1;
  CLI::App* run = app.add_subcommand(
      "run", "The post-sync hook: under a lock, check everything (links, hashes, web-seed "
             "probe) at low priority, write STATE_DIR/status.json, and send the readiness "
             "report when report.endpoint is set. Silent on success; problems go to syslog. "
             "Exits 0 even when torrents are not ready, unless --strict.");
  run->add_option("--rsync-exit", rsync_exit,
                  "the exit code of the sync that just ran: 0, 23 and 24 judge the tree, any "
                  "other code reports the sync as failed without judging it")
      ->type_name("N")
      ->check(CLI::Range(0, 255));
  run->add_flag("--strict", run_options.strict,
                "exit 1 when not every torrent is ready (or the tree was not judged)");
  run->add_flag("--dry-run", run_options.dry_run,
                "print the report instead of sending it; write no status, spool or metrics");
  run->add_option("--write-report", run_options.write_report,
                  "also write the report to FILE (atomically)")
      ->type_name("FILE");
  run->footer(help_footer());

  bool flush = false;
  CLI::App* report = app.add_subcommand(
      "report", "Readiness reports: --flush sends the reports spooled by earlier runs now.");
  report->add_flag("--flush", flush, "send the spooled reports now, oldest first")->required();
  report->footer(help_footer());

  bool cancel = false;
  CLI::App* withdraw = app.add_subcommand(
      "withdraw", "Tell the central team to stop listing this mirror as a web seed (for a mirror "
                  "that stops carrying the tree); later runs report opted_in: false.");
  withdraw->add_flag("--cancel", cancel, "opt in again: later runs report opted_in: true");
  withdraw->footer(help_footer());

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    if (argc <= 1) {
      std::cout << app.help();
    }
    // The help of the (sub)command given: `report` alone points to `report --help`.
    std::string command = "webseed-agent";
    for (const CLI::App* sub = &app; !sub->get_subcommands().empty();) {
      sub = sub->get_subcommands().front();
      command += " " + sub->get_name();
    }
    std::cerr << "webseed-agent: error: " << e.what() << "\nRun '" << command
              << " --help' for usage.\n";
    return to_int(ExitCode::usage);
  }

  if (links->parsed()) {
    links_options.verbose = links_verbose ? Verbose::yes : Verbose::no;
    const Settings settings = load_settings(overrides);
    return to_int(run_links(settings, links_options, std::cout));
  }
  if (check->parsed() || probe->parsed()) {
    check_options.require_probe = probe->parsed();
    check_options.json = check_options.json || check_format == "json";
    check_options.nagios = check_format == "nagios";
    if (check_options.nagios) {
      // A configuration that cannot load is UNKNOWN too (run_check handles the rest).
      Settings settings;
      try {
        settings = load_settings(overrides);
      } catch (const std::exception& e) {
        return print_nagios_unknown(std::cout, e.what());
      }
      return to_int(run_check(settings, check_options, std::cout));
    }
    const Settings settings = load_settings(overrides);
    return to_int(run_check(settings, check_options, std::cout));
  }
  if (run->parsed()) {
    if (rsync_exit >= 0) {
      run_options.rsync_exit = rsync_exit;
    }
    // The hook's fatal errors go to syslog too (main prints them on stderr).
    try {
      return to_int(run_run(overrides, run_options, std::cout));
    } catch (const Fatal& e) {
      syslog_only(e.code() == ExitCode::busy ? LogLevel::notice : LogLevel::error,
                  std::string("run: ") + e.what());
      throw;
    } catch (const std::exception& e) {
      syslog_only(LogLevel::error, std::string("run: internal error: ") + e.what());
      throw;
    }
  }
  if (report->parsed()) {
    return to_int(run_report_flush(overrides, std::cout));
  }
  if (withdraw->parsed()) {
    return to_int(run_withdraw(overrides, cancel, std::cout));
  }
  if (verify->parsed()) {
    return to_int(run_verify(verify_options, std::cout));
  }
  if (show->parsed()) {
    const Config config = load_config(overrides);
    if (show_options.base_url.empty()) {
      show_options.base_url = config.mirror.base_url;
    }
    if (show_symlinks_dir.empty()) {
      show_symlinks_dir = config.symlinks_dir;
    } else if (auto ok = check_symlinks_dir(show_symlinks_dir); !ok) {
      throw Fatal(ExitCode::usage, "--symlinks-dir: " + ok.error());
    }
    show_options.symlinks_dir = show_symlinks_dir;
    show_options.max_size = show_max_size > 0 ? show_max_size : config.torrent_max_size;
    return to_int(run_torrent_show(show_options, std::cout));
  }
  throw Fatal(ExitCode::internal, "no command ran");
}

} // namespace agent
