"""The sync hooks (hooks/) and the systemd units (contrib/systemd/).

- every script in hooks/ passes shellcheck;
- hooks/webseed-rsync around the real rsync, and hooks/ftpsync-hook alone and under a fake
  ftpsync, each with a stub agent (tests/fixtures/hookstub.py) that records its argv;
- end to end with the real agent's `run` and status.json (skipped until `run` is built);
- `systemd-analyze verify` and the offline exposure score of the units.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import unittest
from pathlib import Path
from typing import Optional

import harness
from fixtures import hookstub, mirror, rsyncd
from fixtures import torrents as T

HOOKS = harness.REPO / "hooks"
WEBSEED_RSYNC = HOOKS / "webseed-rsync"
FTPSYNC_HOOK = HOOKS / "ftpsync-hook"
UNITS = harness.REPO / "contrib" / "systemd"
HOOK_TIMEOUT = 60.0   # seconds for one hook run (rsync of a small tree plus the agent)
TOOL_TIMEOUT = 60.0   # shellcheck, systemd-analyze


def hook_scripts() -> list[Path]:
    """The executables in hooks/: every file there that starts with '#!'."""
    return sorted(p for p in HOOKS.iterdir() if p.is_file() and p.read_bytes()[:2] == b"#!")


def run(argv: list, env: Optional[dict] = None, timeout: float = HOOK_TIMEOUT,
        **kwargs) -> subprocess.CompletedProcess:
    """Runs argv (text output captured); fails the test when it outlives `timeout`."""
    argv = [os.fspath(a) for a in argv]
    try:
        return subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=timeout, **kwargs)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"did not finish within {timeout}s: {argv}") from None


def show(proc: subprocess.CompletedProcess) -> str:
    return f"$ {' '.join(proc.args)}\nexit {proc.returncode}\n--- stdout\n{proc.stdout}" \
           f"--- stderr\n{proc.stderr}---"


def agent_has_run() -> bool:
    """Whether the agent under test has the `run` subcommand (its --help names --rsync-exit;
    an unknown subcommand's --help prints the top-level help and exits 0)."""
    try:
        proc = run([harness.agent_path(), "run", "--help"], timeout=harness.AGENT_TIMEOUT)
    except (AssertionError, OSError):
        return False
    return proc.returncode == 0 and "--rsync-exit" in proc.stdout


class ShellcheckTest(unittest.TestCase):
    def test_every_hook_script_passes_shellcheck(self):
        scripts = hook_scripts()
        self.assertIn(WEBSEED_RSYNC, scripts)
        self.assertIn(FTPSYNC_HOOK, scripts)
        shellcheck = shutil.which("shellcheck")
        if shellcheck is None:
            self.skipTest("shellcheck not installed (apt-get install shellcheck)")
        for script in scripts:
            with self.subTest(script=script.name):
                proc = run([shellcheck, script], timeout=TOOL_TIMEOUT)
                self.assertEqual(proc.returncode, 0, show(proc))

    def test_scripts_are_executable_posix_sh_with_set_eu_and_no_eval(self):
        for script in hook_scripts():
            with self.subTest(script=script.name):
                lines = script.read_text().splitlines()
                self.assertEqual(lines[0], "#!/bin/sh")
                self.assertIn("set -eu", lines)
                self.assertFalse([line for line in lines if "eval" in line.split()])
                self.assertTrue(os.access(script, os.X_OK), "mode 0755")


class HookTestCase(harness.TreeTestCase):
    """self.bin: a directory first in PATH, with a stub `logger` (nothing reaches syslog)."""

    def setUp(self):
        super().setUp()
        self.bin = self.tmp / "bin"
        self.bin.mkdir()
        self.logger = hookstub.write_stub(self.bin, "logger")

    def env(self, agent, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k != "WEBSEED_AGENT_CONFIG"}
        env.update(PATH=f"{self.bin}:/usr/bin:/bin", WEBSEED_AGENT=os.fspath(agent), **extra)
        return env

    def installed_hook(self, name: str) -> Path:
        """hooks/NAME copied under self.tmp, as `make install` puts it: ftpsync splits HOOKn at
        spaces, so the hook it runs must not live under a clone path that holds one."""
        target = self.tmp / "share" / "hooks" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(HOOKS / name, target)
        return target

    def agent_stub(self, exit_code: int = 0) -> hookstub.Stub:
        return hookstub.write_stub(self.bin, "stub-agent", exit_code)

    def assertLogged(self, stderr: str, text: str):
        """`text` is on stderr and was sent to syslog as tag webseed-agent."""
        self.assertIn(text, stderr)
        calls = self.logger.calls()
        self.assertEqual(len(calls), 1, calls)
        self.assertEqual(calls[0][:3], ["-t", "webseed-agent", "--"])
        self.assertIn(text, calls[0][3])


class WebseedRsyncTest(HookTestCase):
    def setUp(self):
        super().setUp()
        self.upstream = self.tmp / "upstream"
        self.layout = mirror.build(self.upstream)
        self.root = self.tmp / "mirror"

    def wrapper(self, *args, agent_exit: int = 0, **env: str):
        stub = self.agent_stub(agent_exit)
        proc = run([WEBSEED_RSYNC, *args], env=self.env(stub.path, **env))
        return proc, stub

    def test_syncs_then_runs_the_agent_with_rsyncs_exit_code(self):
        proc, stub = self.wrapper("-c", "/etc/wsa.yaml", "--", "-a",
                                  harness.contents(self.upstream), self.root)
        self.assertEqual(proc.returncode, 0, show(proc))
        self.assertEqual(stub.calls(), [["--config", "/etc/wsa.yaml", "run", "--rsync-exit", "0"]])
        for path, target in self.layout.expected_links().items():
            self.assertEqual(os.readlink(self.root / path), target)
        self.assertEqual((proc.stderr, self.logger.calls()), ("", []))

    def test_config_defaults_to_the_agents_then_to_the_environment(self):
        src = harness.contents(self.upstream)
        _, stub = self.wrapper("--", "-a", src, self.root)
        self.assertEqual(stub.calls(), [["run", "--rsync-exit", "0"]])
        stub.log.unlink()
        _, stub = self.wrapper("--", "-a", src, self.root, WEBSEED_AGENT_CONFIG="/e.yaml")
        self.assertEqual(stub.calls(), [["--config", "/e.yaml", "run", "--rsync-exit", "0"]])
        stub.log.unlink()
        _, stub = self.wrapper("--config", "/c.yaml", "--", "-a", src, self.root,
                               WEBSEED_AGENT_CONFIG="/e.yaml")
        self.assertEqual(stub.calls(), [["--config", "/c.yaml", "run", "--rsync-exit", "0"]])

    def test_failed_rsync_code_goes_to_the_agent_and_is_the_exit_code(self):
        cases = {23: ["-a", harness.contents(self.tmp / "no-such-dir"), self.root],
                 1: ["--no-such-option", harness.contents(self.upstream), self.root]}
        for code, rsync_args in cases.items():
            with self.subTest(rsync_exit=code):
                proc, stub = self.wrapper("--", *rsync_args)
                self.assertEqual(proc.returncode, code, show(proc))
                self.assertEqual(stub.calls(), [["run", "--rsync-exit", str(code)]])
                stub.log.unlink()

    def test_the_agents_exit_code_never_becomes_the_wrappers(self):
        for code in (1, 2, 3, 4):
            with self.subTest(agent_exit=code):
                self.logger.log.unlink(missing_ok=True)
                proc, _ = self.wrapper("--", "-a", harness.contents(self.upstream), self.root,
                                       agent_exit=code)
                self.assertEqual(proc.returncode, 0, show(proc))
                self.assertLogged(proc.stderr, f"webseed-agent run exited {code}: ")
        self.logger.log.unlink()
        proc, _ = self.wrapper("--", "-a", harness.contents(self.tmp / "gone"), self.root,
                               agent_exit=3)
        self.assertEqual(proc.returncode, 23, show(proc))
        self.assertLogged(proc.stderr, "webseed-agent run exited 3: internal error")

    def test_missing_agent_is_reported_and_the_exit_code_stays_rsyncs(self):
        proc = run([WEBSEED_RSYNC, "--", "-a", harness.contents(self.upstream), self.root],
                   env=self.env(self.tmp / "no-agent"))
        self.assertEqual(proc.returncode, 0, show(proc))
        self.assertLogged(proc.stderr, "exited 127: cannot run")

    def test_rsync_arguments_are_passed_verbatim(self):
        rsync = hookstub.write_stub(self.bin, "rsync")
        args = ["-a", "--exclude", "*.iso", "--filter=- /a b/", "src dir/", "$HOME", ""]
        proc, _ = self.wrapper("--", *args)
        self.assertEqual(proc.returncode, 0, show(proc))
        self.assertEqual(rsync.calls(), [args])

    def test_usage_errors_exit_2_and_run_nothing(self):
        rsync = hookstub.write_stub(self.bin, "rsync")
        for args in ([], ["--"], ["-c"], ["-c", "x.yaml"], ["-c", "x.yaml", "--"],
                     ["-a", "src/", "dst/"], ["src/", "dst/"]):
            with self.subTest(args=args):
                proc, stub = self.wrapper(*args)
                self.assertEqual(proc.returncode, 2, show(proc))
                self.assertIn("usage: webseed-rsync [-c CONFIG] -- RSYNC_ARGS...", proc.stderr)
                self.assertEqual((rsync.calls(), stub.calls()), ([], []))


class FtpsyncHookTest(HookTestCase):
    def hook(self, *args, agent_exit: int = 0, **env: str):
        stub = self.agent_stub(agent_exit)
        return run([FTPSYNC_HOOK, *args], env=self.env(stub.path, **env)), stub

    def test_runs_the_agent_without_rsync_exit(self):
        proc, stub = self.hook()
        self.assertEqual(proc.returncode, 0, show(proc))
        self.assertEqual(stub.calls(), [["run"]])
        self.assertEqual((proc.stderr, self.logger.calls()), ("", []))

    def test_config_from_option_or_environment(self):
        _, stub = self.hook("-c", "/c.yaml", WEBSEED_AGENT_CONFIG="/e.yaml")
        self.assertEqual(stub.calls(), [["--config", "/c.yaml", "run"]])
        stub.log.unlink()
        _, stub = self.hook(WEBSEED_AGENT_CONFIG="/e.yaml")
        self.assertEqual(stub.calls(), [["--config", "/e.yaml", "run"]])

    def test_always_exits_0_and_reports_a_failing_agent(self):
        for code in (1, 2, 3, 4, 9):
            with self.subTest(agent_exit=code):
                self.logger.log.unlink(missing_ok=True)
                proc, _ = self.hook(agent_exit=code)
                self.assertEqual(proc.returncode, 0, show(proc))
                self.assertLogged(proc.stderr, f"webseed-agent run exited {code}: ")
        self.logger.log.unlink()
        proc = run([FTPSYNC_HOOK], env=self.env(self.tmp / "no-agent"))
        self.assertEqual(proc.returncode, 0, show(proc))
        self.assertLogged(proc.stderr, "exited 127: cannot run")

    def test_bad_arguments_exit_0_without_running_the_agent(self):
        for args in (["-x"], ["-c"], ["-c", "a", "b"], ["sync:all"]):
            with self.subTest(args=args):
                self.logger.log.unlink(missing_ok=True)
                proc, stub = self.hook(*args)
                self.assertEqual(proc.returncode, 0, show(proc))
                self.assertLogged(proc.stderr, "usage: ftpsync-hook [-c CONFIG]")
                self.assertEqual(stub.calls(), [])

    def test_a_failing_agent_never_aborts_ftpsync(self):
        ftpsync = hookstub.write_fake_ftpsync(self.bin)
        root = self.tmp / "mirror"
        root.mkdir()
        stub = self.agent_stub(3)
        env = self.env(stub.path, TO=str(root), MIRRORNAME="mirror.test",
                       HOOK4=str(self.installed_hook("ftpsync-hook")),
                       WEBSEED_AGENT_CONFIG="/etc/wsa.yaml")
        proc = run([ftpsync], env=env)
        self.assertEqual((proc.returncode, proc.stdout), (0, "after HOOK4\n"), show(proc))
        self.assertEqual(stub.calls(), [["--config", "/etc/wsa.yaml", "run"]])
        self.assertEqual(os.listdir(root), [], "ftpsync removed its lock")
        # The fake is faithful where it matters: a failing HOOK4 aborts it.
        proc = run([ftpsync], env=dict(env, HOOK4=f"{stub.path} x"))
        self.assertEqual((proc.returncode, proc.stdout), (3, ""), show(proc))


class RealAgentCase(HookTestCase):
    """The real agent's `run` behind the hooks, judged through state_dir/status.json."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if not agent_has_run():
            raise unittest.SkipTest("webseed-agent run not built yet")
        for tool in (harness.RSYNC, T.MKTORRENT):
            if not os.access(tool, os.X_OK):
                raise unittest.SkipTest(f"{tool} missing (contrib/install-deps test)")

    def setUp(self):
        super().setUp()
        self.upstream = self.tmp / "upstream"
        mirror.build(self.upstream)
        torrents = self.tmp / "torrents"
        torrents.mkdir()
        for name in sorted(os.listdir(self.upstream / mirror.SYMLINKS_DIR)):
            T.mktorrent(self.upstream / mirror.SYMLINKS_DIR / name,
                        torrents / f"{name}.torrent", piece_log2=15)
        self.root = self.tmp / "mirror"
        self.state = self.tmp / "state"
        self.state.mkdir()
        self.config = self.tmp / "agent.yaml"
        # JSON strings are YAML scalars: no quoting surprises in temp paths.
        self.config.write_text(
            f"mirror:\n  name: mirror.test\n  root: {json.dumps(str(self.root))}\n"
            f"torrents:\n  - {json.dumps(str(torrents))}\n"
            f"state_dir: {json.dumps(str(self.state))}\n")

    def hook_env(self, **extra: str) -> dict[str, str]:
        return harness.sanitizer_env(self.env(harness.agent_path(), **extra))

    def sync(self, *rsync_args) -> subprocess.CompletedProcess:
        """webseed-rsync -c CONFIG -- RSYNC_ARGS, with the real rsync and the real agent."""
        proc = run([WEBSEED_RSYNC, "-c", self.config, "--", *rsync_args], env=self.hook_env())
        self.assertNoSanitizerReport(proc)
        return proc

    def assertNoSanitizerReport(self, proc):
        signs = [s.decode() for s in harness.SANITIZER_SIGNS]
        self.assertFalse([s for s in signs if s in proc.stderr], show(proc))
        self.assertNotIn(f"exited {harness.SANITIZER_EXIT}", proc.stderr, show(proc))

    def status(self, proc, outcome: str, rsync_exit: Optional[int]) -> dict:
        """status.json after the hook run `proc`, checked against the `run` contract; its
        outcome must be `outcome`."""
        path = self.state / "status.json"
        self.assertTrue(path.is_file(), f"no {path}\n{show(proc)}")
        doc = json.loads(path.read_text())
        self.assertEqual(doc["version"], 1)
        self.assertEqual(doc["outcome"], outcome, f"{json.dumps(doc, indent=1)}\n{show(proc)}")
        self.assertEqual(doc["sync"]["rsync_exit"], rsync_exit)
        self.assertIn(doc["sync"]["state"], ("complete", "syncing", "failed", "unknown"))
        self.assertIsInstance(doc["started_at"], str)
        self.assertIsInstance(doc["finished_at"], str)
        self.assertIn("report", doc)
        judged = outcome in ("ready", "not-ready")
        self.assertEqual(isinstance(doc["check"], dict), judged, "check iff judged")
        if not judged:
            self.assertIsNone(doc["check"])
        return doc



class EndToEndTest(RealAgentCase):
    def test_rsync_with_links_is_ready(self):
        proc = self.sync("-rt", "--links", harness.contents(self.upstream), self.root)
        self.assertEqual((proc.returncode, proc.stderr), (0, ""), show(proc))
        doc = self.status(proc, "ready", 0)
        self.assertEqual(doc["sync"]["state"], "complete")
        self.assertTrue(doc["check"]["ready"])

    def test_rsync_without_links_is_not_ready_and_still_exits_0(self):
        proc = self.sync("-rt", harness.contents(self.upstream), self.root)
        self.assertEqual(proc.returncode, 0, show(proc))
        self.assertFalse(self.status(proc, "not-ready", 0)["check"]["ready"])

    def test_partial_transfer_23_is_judged(self):
        """A re-sync that fails part-way (23) leaves the previous copy, which is judged."""
        harness.run_rsync(harness.contents(self.upstream), self.root, "-a")
        proc = self.sync("-a", harness.contents(self.tmp / "no-such-dir"), self.root)
        self.assertEqual(proc.returncode, 23, show(proc))
        self.status(proc, "ready", 23)

    def test_failed_sync_is_not_judged(self):
        """A re-sync that fails (here "connection refused": nothing listens on port 1 of the
        loopback, rsync exit 10) is reported as such; the previous copy is not judged."""
        harness.run_rsync(harness.contents(self.upstream), self.root, "-a")
        proc = self.sync("-a", "rsync://127.0.0.1:1/gentoo/", self.root)
        self.assertNotIn(proc.returncode, (0, 23, 24), show(proc))
        doc = self.status(proc, "sync-failed", proc.returncode)
        self.assertEqual(doc["sync"]["state"], "failed")

    def test_upstream_update_in_progress_is_syncing(self):
        (self.upstream / "Archive-Update-in-Progress-upstream.example").write_text("4242\n")
        proc = self.sync("-a", harness.contents(self.upstream), self.root)
        self.assertEqual(proc.returncode, 0, show(proc))
        self.assertEqual(self.status(proc, "syncing", 0)["sync"]["state"], "syncing")

    def test_ftpsync_hook4_judges_the_finished_sync(self):
        """During HOOK4 ftpsync's own lock ROOT/Archive-Update-in-Progress-MIRRORNAME still
        exists and holds ftpsync's PID (an ancestor of the agent): that marker is the finished
        sync's, not an update in progress, so the tree is judged."""
        harness.run_rsync(harness.contents(self.upstream), self.root, "-a")
        ftpsync = hookstub.write_fake_ftpsync(self.bin)
        proc = run([ftpsync], env=self.hook_env(TO=str(self.root), MIRRORNAME="mirror.test",
                                                HOOK4=str(self.installed_hook("ftpsync-hook")),
                                                WEBSEED_AGENT_CONFIG=str(self.config)))
        self.assertNoSanitizerReport(proc)
        self.assertEqual((proc.returncode, proc.stdout), (0, "after HOOK4\n"), show(proc))
        self.status(proc, "ready", None)


FTPSYNC = Path("/usr/bin/ftpsync")   # Debian's package `ftpsync` (archvsync)
INSTALLED_FTPSYNC_HOOK = "/usr/local/share/webseed-agent/hooks/ftpsync-hook"
DOC_CONFIG = "/etc/webseed-agent/debian.yaml"   # the config path the ftpsync docs show


def documented_ftpsync_settings() -> list[str]:
    """Every ftpsync.conf line the docs offer for the hook (HOOK4=... and the export of the
    agent's config): from hooks/README.md and from the header of hooks/ftpsync-hook."""
    lines = (HOOKS / "README.md").read_text().splitlines()
    lines += [line.lstrip("#") for line in FTPSYNC_HOOK.read_text().splitlines()
              if line.startswith("#")]
    return sorted({line.strip() for line in lines
                   if line.strip().startswith(("HOOK4=", "export WEBSEED_AGENT"))})


class RealFtpsyncTest(RealAgentCase):
    """Debian's real ftpsync (apt-get install ftpsync) syncs from a real rsync daemon on
    127.0.0.1 (RSYNC_HOST::RSYNC_PATH, as a mirror's ftpsync.conf says) and runs HOOK4 exactly
    as ftpsync.conf sets it, as the docs say."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if not os.access(FTPSYNC, os.X_OK):
            raise unittest.SkipTest("Debian's ftpsync missing (apt-get install ftpsync)")

    def setUp(self):
        super().setUp()
        self.rsyncd = rsyncd.RsyncDaemon(self.tmp / "rsyncd", {"gentoo": self.upstream})
        self.rsyncd.start()
        self.addCleanup(self.rsyncd.stop)

    def ftpsync(self, conf_lines: list[str], hook: Optional[Path] = None,
                **env: str) -> subprocess.CompletedProcess:
        """Runs the real ftpsync with HOME=tmp/home and ~/.config/ftpsync/ftpsync.conf made of
        the sync settings plus `conf_lines` (the installed hook path and the docs' config
        path replaced by the ones under test)."""
        hook = hook or self.installed_hook("ftpsync-hook")
        home = self.tmp / "home"
        confdir = home / ".config/ftpsync"
        confdir.mkdir(parents=True, exist_ok=True)
        settings = [f"MIRRORNAME=mirror.test", f"TO={self.root}/",
                    "RSYNC_HOST=127.0.0.1", "RSYNC_PATH=gentoo",
                    f"RSYNC_EXTRA=--port={self.rsyncd.port}",
                    "MAILTO=nobody", "HUB=false", "LOGROTATE=1"]
        for line in conf_lines:
            settings.append(line.replace(INSTALLED_FTPSYNC_HOOK, os.fspath(hook))
                            .replace(DOC_CONFIG, os.fspath(self.config)))
        (confdir / "ftpsync.conf").write_text("\n".join(settings) + "\n")
        base = self.hook_env(**env)
        base.pop("WEBSEED_AGENT_CONFIG", None)
        base.update(HOME=os.fspath(home), LOGNAME="nobody")
        proc = run([FTPSYNC, "sync:all"], env=base)
        log = home / ".local/log/ftpsync/ftpsync.log.0"   # rotated when ftpsync ends
        self.ftpsync_log = log.read_text() if log.exists() else "(no ftpsync.log)"
        return proc

    def assertSyncedAndJudged(self, proc):
        self.assertEqual(proc.returncode, 0, f"{show(proc)}\n{self.ftpsync_log}")
        self.assertIn("Back from hook 4, got returncode 0", self.ftpsync_log)
        self.assertNotIn("ERROR", self.ftpsync_log)
        self.assertIn("gentoo", self.rsyncd.log.read_text(), "synced from the daemon")
        self.assertFalse([p for p in os.listdir(self.root) if p.startswith("Archive-Update")],
                         "ftpsync removed its lock")
        doc = self.status(proc, "ready", None)
        self.assertTrue(doc["check"]["ready"], json.dumps(doc, indent=1))

    def test_every_documented_hook4_setting_works(self):
        settings = documented_ftpsync_settings()
        hook4 = [s for s in settings if s.startswith("HOOK4=")]
        self.assertTrue(hook4, "the docs show HOOK4")
        for line in hook4:
            with self.subTest(setting=line):
                (self.state / "status.json").unlink(missing_ok=True)
                others = [s for s in settings if not s.startswith("HOOK4=")]
                proc = self.ftpsync([line, *others])
                self.assertSyncedAndJudged(proc)

    def test_config_from_the_exported_environment(self):
        proc = self.ftpsync([f"HOOK4={INSTALLED_FTPSYNC_HOOK}",
                             f"export WEBSEED_AGENT_CONFIG={DOC_CONFIG}"])
        self.assertSyncedAndJudged(proc)

    def test_a_failing_agent_never_fails_ftpsync(self):
        proc = self.ftpsync([f"HOOK4={INSTALLED_FTPSYNC_HOOK}",
                             f"export WEBSEED_AGENT_CONFIG={self.tmp / 'missing.yaml'}"])
        self.assertEqual(proc.returncode, 0, f"{show(proc)}\n{self.ftpsync_log}")
        self.assertIn("webseed-agent run exited 2", self.ftpsync_log)
        self.assertIn("Back from hook 4, got returncode 0", self.ftpsync_log)


class SystemdUnitsTest(harness.TreeTestCase):
    """The units as systemd reads them. ExecStart= points at the agent under test, since
    `verify` wants the binary to exist (installed, it is /usr/local/bin/webseed-agent)."""

    UNIT_NAMES = ("webseed-agent.service", "webseed-agent.timer", "webseed-collector.service")

    def setUp(self):
        super().setUp()
        self.analyze = shutil.which("systemd-analyze")
        if self.analyze is None:
            self.skipTest("systemd-analyze not installed")
        # Links to the programs under test in a path without spaces (the clone's may hold one;
        # installed, ExecStart= names /usr/local/bin/...).
        bindir = self.tmp / "bin"
        bindir.mkdir()
        for prog in ("webseed-agent", "webseed-collector"):
            (bindir / prog).symlink_to(harness.agent_path().parent.resolve() / prog)
        for name in self.UNIT_NAMES:
            text = (UNITS / name).read_text()
            (self.tmp / name).write_text(text.replace("/usr/local/bin/", f"{bindir}/"))
        (self.tmp / "control.service").write_text("[Service]\nType=oneshot\nExecStart=/bin/true\n")
        control = self.verify("control.service")
        if control.returncode != 0:
            self.skipTest(f"systemd-analyze verify cannot run here: {control.stderr.strip()}")

    def verify(self, *names: str) -> subprocess.CompletedProcess:
        # --man=no: Documentation=man:webseed-agent(1) is there only once installed.
        return run([self.analyze, "verify", "--man=no", *names], cwd=self.tmp,
                   timeout=TOOL_TIMEOUT)

    def test_units_verify_cleanly(self):
        proc = self.verify(*self.UNIT_NAMES)
        self.assertEqual((proc.returncode, proc.stderr), (0, ""), show(proc))

    def test_service_exposure_is_at_most_2_0(self):
        for unit in ("webseed-agent.service", "webseed-collector.service"):
            with self.subTest(unit=unit):
                proc = run([self.analyze, "security", "--offline=yes", "--threshold=20", unit],
                           cwd=self.tmp, timeout=TOOL_TIMEOUT)
                if "--offline" in proc.stderr:
                    self.skipTest(f"systemd-analyze security --offline unsupported: {proc.stderr}")
                self.assertEqual(proc.returncode, 0, show(proc))


if __name__ == "__main__":
    unittest.main()
