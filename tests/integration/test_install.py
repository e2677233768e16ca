"""`make install` honours PREFIX and DESTDIR and installs the binary, the man page, the docs
and the sample config (keeping an existing config)."""

import os
import subprocess
import unittest

import harness


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
            self.assertTrue((d / "opt/wsa/share/doc/webseed-agent" / doc).is_file(), doc)
        share = d / "opt/wsa/share/webseed-agent"
        for hook in ("webseed-rsync", "ftpsync-hook"):
            self.assertTrue(os.access(share / "hooks" / hook, os.X_OK), hook)
        unit = (share / "systemd/webseed-agent.service").read_text()
        self.assertIn("ExecStart=/opt/wsa/bin/webseed-agent run", unit)
        self.assertTrue((share / "systemd/webseed-agent.timer").is_file())
        config = d / "etc/webseed-agent/agent.yaml"
        self.assertEqual(config.read_text(), (harness.REPO / "conf/agent.yaml").read_text())
        result = subprocess.run([str(binary), "--version"], stdout=subprocess.PIPE,
                                timeout=10)
        self.assertEqual(result.returncode, 0)

    def test_keeps_an_existing_config(self):
        config = self.dest / "etc/webseed-agent/agent.yaml"
        config.parent.mkdir(parents=True)
        config.write_text("mirror: {name: mine, root: /srv}\n")
        out = self.install()
        self.assertEqual(config.read_text(), "mirror: {name: mine, root: /srv}\n")
        self.assertIn("keeping existing", out)


if __name__ == "__main__":
    unittest.main()
