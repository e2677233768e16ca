"""`make demo` from a clone where other users cannot enter (issue 17): the demo's own server
setup (contrib/demo/run-demo, _Servers.nginx) serving a tree inside a 0700 directory and
inside a path with a space answers a Range request with 206, and the demo leaves the
directories' permissions as they were."""

SANITIZER_PASS = False  # the demo's web-server setup, not the project's binaries

import http.client
import importlib.machinery
import importlib.util
import os
import stat
import unittest
import urllib.parse
from pathlib import Path

import harness
from fixtures import webservers as W

TOP = Path(__file__).resolve().parents[2]
PAYLOAD = bytes(range(256)) * 1024          # 256 KiB
RELEASE = "releases/x86/2007.0/installcd/install-x86-minimal-2007.0.iso"
LINK = "experimental/torrent-symlinks/install-x86-minimal-2007.0.iso"


def load_demo():
    """contrib/demo/run-demo as a module (it has no .py suffix)."""
    path = str(TOP / "contrib" / "demo" / "run-demo")
    loader = importlib.machinery.SourceFileLoader("run_demo", path)
    spec = importlib.util.spec_from_loader("run_demo", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def range_request(base_url, path):
    parts = urllib.parse.urlsplit(base_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request("GET", "/" + urllib.parse.quote(path), headers={"Range": "bytes=100-199"})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


class DemoServersInPrivateDirectory(harness.TreeTestCase):

    def serve_from(self, clone):
        """A mirror tree at CLONE/build/demo/mirror-ok with a relative link, as the demo lays it
        out; the demo's nginx serves it; returns (status, body) of a Range request."""
        demo_dir = clone / "build" / "demo"
        root = demo_dir / "mirror-ok"
        (root / RELEASE).parent.mkdir(parents=True)
        (root / RELEASE).write_bytes(PAYLOAD)
        (root / LINK).parent.mkdir(parents=True)
        os.symlink(os.path.relpath(root / RELEASE, (root / LINK).parent), root / LINK)
        for p in [demo_dir, *demo_dir.rglob("*")]:
            if p.is_dir() and not p.is_symlink():
                os.chmod(p, 0o755)
        demo = load_demo()
        with demo._Servers() as servers:
            web = servers.nginx("mirror-ok", root, False)
            answer = range_request(web.base_url, LINK)
            note = getattr(demo, "_worker_note", lambda _: "")(demo_dir)
        return answer, note, web.log_text()

    def private_dir(self):
        private = self.tmp / "home"
        private.mkdir()
        os.chmod(private, 0o700)                 # like /root, a Debian 12 home, mktemp -d
        return private

    def check_served(self, clone, private):
        (status, body), note, log = self.serve_from(clone)
        self.assertEqual(status, 206, f"the demo's nginx refused the tree:\n{log}")
        self.assertEqual(body, PAYLOAD[100:200])
        self.assertEqual(stat.S_IMODE(os.stat(private).st_mode), 0o700,
                         "the demo changed the permissions of the user's directory")
        if os.geteuid() == 0:
            self.assertIn("nginx workers run as root", note)

    def test_clone_in_0700_directory(self):
        private = self.private_dir()
        clone = private / "p"
        clone.mkdir()
        self.check_served(clone, private)

    def test_clone_in_path_with_a_space(self):
        private = self.private_dir()
        clone = private / "p q"
        clone.mkdir()
        self.check_served(clone, private)

    def test_world_readable_path_keeps_nobody(self):
        # A clone that nobody can reach keeps the packaged default: workers as nobody.
        if os.geteuid() != 0:
            self.skipTest("workers run as the invoking user when not root")
        clone = self.tmp / "open clone"
        clone.mkdir()
        os.chmod(clone, 0o755)
        self.assertTrue(W.nobody_can_read(clone))
        self.assertEqual(W.worker_user(clone), ("nobody", "nogroup"))
        (status, _), note, log = self.serve_from(clone)
        self.assertEqual(status, 206, log)
        self.assertEqual(note, "")


if __name__ == "__main__":
    unittest.main()
