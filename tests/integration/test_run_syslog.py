"""What `webseed-agent run` sends to syslog, read from a /dev/log the test creates (issue 15,
point 6): each line is the message itself (`warning: the sync failed ...`), not a quoted
string, tagged webseed-agent[PID], with the priority of its level.

The agent runs in a private mount namespace whose /dev is a tmpfs holding the usual device
nodes (bind mounts of the real ones) and `log`, a bind mount of the test's datagram socket:
the machine's own syslog (if any) never sees these lines. Skips without root or unshare."""

import os
import re
import shutil
import socket
import subprocess
import unittest

import harness

RUN_TIMEOUT = 60.0


class RunSyslogTest(harness.TreeTestCase):
    def setUp(self):
        super().setUp()
        if os.geteuid() != 0 or shutil.which("unshare") is None:
            self.skipTest("needs root and unshare (a private /dev/log)")
        self.sock_path = self.tmp / "log"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(self.sock_path))
        self.sock.settimeout(0.2)
        self.addCleanup(self.sock.close)
        root, torrents, state = self.tmp / "mirror", self.tmp / "torrents", self.tmp / "state"
        for d in (root, torrents, state):
            d.mkdir()
        self.config = self.tmp / "agent.yaml"
        self.config.write_text(f"mirror:\n  name: m.test\n  root: {root}\n"
                               f"torrents:\n  - {torrents}\nstate_dir: {state}\n")

    def run_agent_logged(self, *args: str) -> list[str]:
        """Runs the agent (stderr not a terminal: syslog only) and returns the syslog
        datagrams it sent."""
        olddev = self.tmp / "olddev"
        olddev.mkdir()
        argv = " ".join(f"'{a}'" for a in (harness.agent_path(), "--config", self.config, *args))
        script = f"""set -eu
mount --bind /dev {olddev}
mount -t tmpfs -o mode=755 tmpfs /dev
for n in null zero full random urandom tty; do
    touch /dev/$n
    mount --bind {olddev}/$n /dev/$n
done
touch /dev/log
mount --bind {self.sock_path} /dev/log
exec {argv}
"""
        proc = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script],
                              env=harness.sanitizer_env(dict(os.environ)),
                              stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=RUN_TIMEOUT)
        self.assertEqual(proc.returncode, 0, f"{proc.stdout}\n{proc.stderr}")
        self.assertEqual(proc.stderr, "", "stderr is no terminal: syslog only")
        lines = []
        while True:
            try:
                lines.append(self.sock.recv(65536).decode())
            except socket.timeout:
                return lines

    def test_a_failed_sync_is_one_unquoted_warning(self):
        lines = self.run_agent_logged("run", "--rsync-exit", "10")
        self.assertTrue(lines, "nothing reached /dev/log")
        warnings = []
        for line in lines:
            m = re.match(r"<(\d+)>\w{3} [ \d]\d \d\d:\d\d:\d\d webseed-agent\[(\d+)\]: (.*)$",
                         line, re.S)
            self.assertIsNotNone(m, line)
            priority, message = int(m.group(1)), m.group(3)
            self.assertFalse(message.startswith(('"', "'")), line)
            self.assertNotIn('\\"', message, line)
            if priority % 8 == 4:          # LOG_WARNING (facility daemon: 3 * 8 + 4)
                warnings.append(message)
                self.assertEqual(priority, 3 * 8 + 4, line)
        self.assertEqual(len(warnings), 1, lines)
        self.assertRegex(warnings[0], r"^warning: the sync failed")
        self.assertIn("10", warnings[0])


if __name__ == "__main__":
    unittest.main()
