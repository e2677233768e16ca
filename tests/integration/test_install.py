"""`make install` honours PREFIX and DESTDIR and installs the binary, the man page, the docs
and the sample config (keeping an existing config)."""

SANITIZER_PASS = False  # make install copies the normal build

import json
import os
import subprocess
import unittest

import harness
from fixtures import mirror
from fixtures import torrents as T


class MakeInstall(unittest.TestCase):
    def setUp(self):
        self.dest = harness.make_tmpdir("webseed-install-")
        self.addCleanup(harness.remove_tree, self.dest)

    def install(self):
        env = dict(os.environ, MAKEFLAGS="")
        proc = subprocess.run(
            ["make", "-s", "-C", str(harness.REPO), "install", f"DESTDIR={self.dest}",
             "PREFIX=/opt/wsa", "SYSCONFDIR=/etc"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300, env=env)
        self.assertEqual(proc.returncode, 0, proc.stdout.decode(errors="replace"))
        return proc.stdout.decode(errors="replace")

    def test_installs_everything_under_destdir_and_prefix(self):
        self.install()
        d = self.dest
        binary = d / "opt/wsa/bin/webseed-agent"
        self.assertTrue(os.access(binary, os.X_OK))
        self.assertTrue((d / "opt/wsa/share/man/man1/webseed-agent.1").is_file())
        for doc in ("README.md", "ARCHITECTURE.md", "links.md", "links.schema.json",
                    "findings.md", "config.md", "cli.md", "agent.yaml.sample"):
            self.assertTrue((d / "opt/wsa/share/doc/webseed-agent" / doc).is_file(), doc)
        for doc in ("run.md", "report.md", "report.schema.json", "metrics.md", "hooks.md",
                    "systemd.md"):
            self.assertTrue((d / "opt/wsa/share/doc/webseed-agent" / doc).is_file(), doc)
        self.assertTrue(os.access(d / "opt/wsa/bin/webseed-collector", os.X_OK))
        for doc in ("collector.md", "collector.yaml.sample"):
            self.assertTrue((d / "opt/wsa/share/doc/webseed-collector" / doc).is_file(), doc)
        share = d / "opt/wsa/share/webseed-agent"
        for hook in ("webseed-rsync", "ftpsync-hook"):
            self.assertTrue(os.access(share / "hooks" / hook, os.X_OK), hook)
        for hook in ("webseed-rsync", "ftpsync-hook"):
            self.assertIn("\ndefault_agent=/opt/wsa/bin/webseed-agent\n",
                          (share / "hooks" / hook).read_text(), hook)
        unit = (share / "systemd/webseed-agent.service").read_text()
        self.assertIn("ExecStart=/opt/wsa/bin/webseed-agent run", unit)
        self.assertTrue((share / "systemd/webseed-agent.timer").is_file())
        # The collector installed like the agent (issue 15): man page, unit, config in /etc.
        unit = (share / "systemd/webseed-collector.service").read_text()
        self.assertIn("ExecStart=/opt/wsa/bin/webseed-collector ", unit)
        self.assertEqual((d / "etc/webseed-collector/collector.yaml").read_text(),
                         (harness.REPO / "contrib/collector/collector.yaml").read_text())
        for name in ("webseed-agent", "webseed-collector"):
            text = (d / "opt/wsa/share/man/man1" / f"{name}.1").read_text()
            self.assertNotIn("/usr/share/doc", text, name)
            self.assertIn(f"/opt/wsa/share/doc/{name}/", text, name)
            docdir = f"{d}/opt/wsa/share/doc/{name}/"
            out = subprocess.run([str(d / "opt/wsa/bin" / name), "--help"], stdout=subprocess.PIPE,
                                 text=True, timeout=10).stdout
            self.assertIn(f"Documentation: man {name}, {docdir}", out)
        config = d / "etc/webseed-agent/agent.yaml"
        self.assertEqual(config.read_text(), (harness.REPO / "conf/agent.yaml").read_text())
        result = subprocess.run([str(binary), "--version"], stdout=subprocess.PIPE,
                                timeout=10)
        self.assertEqual(result.returncode, 0)

    def test_keeps_an_existing_config(self):
        config = self.dest / "etc/webseed-agent/agent.yaml"
        config.parent.mkdir(parents=True)
        config.write_text("mirror: {name: mine, root: /srv}\n")
        collector = self.dest / "etc/webseed-collector/collector.yaml"
        collector.parent.mkdir(parents=True)
        collector.write_text("listen: 127.0.0.1:1\n")
        out = self.install()
        self.assertEqual(config.read_text(), "mirror: {name: mine, root: /srv}\n")
        self.assertEqual(collector.read_text(), "listen: 127.0.0.1:1\n")
        self.assertIn("keeping existing", out)
        self.assertIn(f"keeping existing {collector}", out)


class InstalledHooksUnderCron(harness.TreeTestCase):
    """The installed hooks find the installed agent with cron's environment
    (`env -i PATH=/usr/bin:/bin`): installed for real under PREFIX=TMP/prefix."""

    def test_webseed_rsync_from_cron_runs_the_installed_agent(self):
        prefix = self.tmp / "prefix"
        env = dict(os.environ, MAKEFLAGS="")
        proc = subprocess.run(
            ["make", "-s", "-C", str(harness.REPO), "install", f"PREFIX={prefix}",
             f"SYSCONFDIR={self.tmp / 'etc'}"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300, env=env)
        self.assertEqual(proc.returncode, 0, proc.stdout.decode(errors="replace"))
        upstream, root, state = self.tmp / "upstream", self.tmp / "mirror", self.tmp / "state"
        mirror.build(upstream)
        state.mkdir()
        torrents = self.tmp / "torrents"
        torrents.mkdir()
        for name in sorted(os.listdir(upstream / mirror.SYMLINKS_DIR)):
            T.mktorrent(upstream / mirror.SYMLINKS_DIR / name, torrents / f"{name}.torrent",
                        piece_log2=15)
        config = self.tmp / "agent.yaml"
        config.write_text(f"mirror:\n  name: mirror.test\n  root: {json.dumps(str(root))}\n"
                          f"torrents:\n  - {json.dumps(str(torrents))}\n"
                          f"state_dir: {json.dumps(str(state))}\n")
        hook = prefix / "share/webseed-agent/hooks/webseed-rsync"
        proc = subprocess.run(
            ["env", "-i", "PATH=/usr/bin:/bin", f"HOME={self.tmp}", str(hook), "-c", str(config),
             "--", "-a", harness.contents(upstream), str(root)],
            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
        self.assertEqual((proc.returncode, proc.stderr), (0, ""), proc)
        self.assertTrue((state / "status.json").is_file(), proc)
        self.assertEqual(json.loads((state / "status.json").read_text())["sync"]["rsync_exit"], 0)


if __name__ == "__main__":
    unittest.main()
