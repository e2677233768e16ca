"""The probe's verdict follows what real clients do (issue 12; the whole matrix with the clients
themselves is `make interop`, tests/interop/): throttling answered like clients (back off,
Retry-After, fewer connections), BEP 47 pad files that aria2 requests, torrent formats that
Transmission 3 cannot open, each address family of a dual-stack host name probed on its own,
and the `clients` fields of `check --json`.

Host names are pinned to loopback addresses in a private mount namespace
(tests/fixtures/names.py): the agent runs with its own /etc/hosts."""

import json
import os
import unittest

import jsonschema  # Debian python3-jsonschema

import harness
from fixtures import mirror, names, webservers
from fixtures import torrents as T

SYMLINKS = mirror.SYMLINKS_DIR
SCHEMA = jsonschema.Draft202012Validator(
    json.loads((harness.REPO / "docs" / "check.schema.json").read_text()))
STAGE3 = "releases/x86/2007.0/stages/stage3-x86-2007.0.tar.bz2"
V1 = "stage3-x86-2007.0"            # multi-file v1 (mktorrent), 1 MiB pieces
HYBRID = "livecd-amd64-2007.0"      # multi-file hybrid with BEP 47 pad files (libtorrent)
MODULE_TIMEOUT = 300  # tests/run_integration.py


class DualStackNginx(webservers.Nginx):
    """nginx serving `docroot` on 127.0.0.1:PORT and `v6root` on [::1]:PORT (the same port):
    a host whose IPv6 server has another tree (or none)."""

    def __init__(self, docroot, v6root):
        super().__init__(docroot)
        self.v6root = v6root

    def config(self, port):
        text = super().config(port)
        extra = (f"    server {{\n        listen [::1]:{port};\n"
                 f"        root {webservers._quote(self.v6root)};\n    }}\n}}\n")
        return text[:text.rstrip().rfind("}")] + extra


class ProbeClientsTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = harness.make_tmpdir()
        upstream = cls.tmp / "upstream"
        mirror.build(upstream, mirror.default_layout(payload_size={STAGE3: 6_000_123}))
        cls.root = cls.tmp / "mirror"
        harness.run_rsync(harness.contents(upstream), cls.root, "-a")
        cls.tdir = cls.tmp / "torrents"
        cls.tdir.mkdir()
        entries = upstream / SYMLINKS
        T.mktorrent(entries / V1, cls.tdir / f"{V1}.torrent", piece_log2=20)
        T.lt_create(entries / HYBRID, cls.tdir / f"{HYBRID}.torrent", piece_size=16 * 1024,
                    meta="hybrid")
        # The same tree plus the pad files aria2 asks for, as zero-filled files.
        cls.padded = cls.tmp / "padded"
        harness.run_rsync(harness.contents(cls.root), cls.padded, "-a")
        cls.pads = pad_files(cls.tdir / f"{HYBRID}.torrent")
        for path, size in cls.pads.items():
            full = cls.padded / SYMLINKS / HYBRID / path
            full.parent.mkdir(parents=True, exist_ok=True)
            with open(full, "wb") as f:
                f.truncate(size)
        mirror.make_world_readable(cls.padded)
        cls.empty = cls.tmp / "empty"
        cls.empty.mkdir()
        os.chmod(cls.tmp, 0o755)

    @classmethod
    def tearDownClass(cls):
        harness.remove_tree(cls.tmp)

    def check(self, base_url, root=None, torrents=None, wrap=None, probe=None):
        state = harness.make_tmpdir()
        self.addCleanup(harness.remove_tree, state)
        config = state / "agent.yaml"
        probe_yaml = "".join(f"  {k}: {v}\n" for k, v in (probe or {}).items())
        listed = ", ".join(str(self.tdir / f"{n}.torrent") for n in (torrents or [V1, HYBRID]))
        config.write_text(
            f"mirror: {{name: test, root: {root or self.root}, base_url: '{base_url}'}}\n"
            f"torrents: [{listed}]\nstate_dir: {state}\n"
            + (f"probe:\n{probe_yaml}" if probe_yaml else ""))
        result = harness.run_agent("--config", config, "check", "--json", timeout=180,
                                   wrap=wrap)
        self.assertIn(result.returncode, (0, 1), str(result))
        doc = result.json()
        problems = [f"{list(e.absolute_path)}: {e.message}" for e in SCHEMA.iter_errors(doc)]
        self.assertEqual(problems, [], "docs/check.schema.json")
        return doc

    @staticmethod
    def torrent(doc, name):
        return next(t for t in doc["torrents"] if t["name"] == name)

    def codes(self, doc, name):
        return sorted({f["code"] for f in self.torrent(doc, name)["findings"]})

    def finding(self, doc, name, code):
        return next(f for f in self.torrent(doc, name)["findings"] if f["code"] == code)

    # --- throttling

    def test_nginx_limit_conn_one_per_ip_is_ready_with_a_warning(self):
        # On main: not ready, http-status 503 (the probe's second connection was refused).
        # limit_rate makes a 1 MiB answer last ~2 s, so that requests overlap (loopback's
        # socket buffers would otherwise take each answer at once).
        with webservers.Nginx(
                self.root,
                extra_http="    limit_conn_zone $binary_remote_addr zone=perip:1m;\n"
                           "    limit_conn_status 503;\n",
                extra_server="        limit_conn perip 1;\n        limit_rate 512k;\n") as nginx:
            doc = self.check(nginx.base_url, torrents=[V1], probe={"connections_per_host": 4})
            statuses = [r["status"] for r in nginx.access_log()]
        t = self.torrent(doc, V1)
        self.assertIn(503, statuses, "nginx never refused a connection: the test shows nothing")
        self.assertTrue(t["ready"], t["findings"])
        self.assertEqual(self.codes(doc, V1), ["http-throttled"])
        warning = self.finding(doc, V1, "http-throttled")
        self.assertEqual(warning["severity"], "warning")
        self.assertIn("HTTP 503", warning["message"])
        self.assertIn("4 connections", warning["hint"])
        self.assertEqual(warning["clients"], ["transmission"])
        self.assertTrue(all(t["clients"].values()), t["clients"])
        self.assertTrue(any(r.get("retries") for r in t["probe"]["requests"]))

    def test_503_with_retry_after_on_the_first_request_only(self):
        with webservers.BadServer(self.root, "retry-after-once") as server:
            doc = self.check(server.base_url, torrents=[V1])
            log = server.access_log()
        self.assertEqual(log[0]["status"], 503)
        self.assertTrue(self.torrent(doc, V1)["ready"], self.torrent(doc, V1)["findings"])
        self.assertEqual(self.codes(doc, V1), ["http-throttled"])
        self.assertIn("Retry-After: 1", self.finding(doc, V1, "http-throttled")["message"])

    def test_503_to_everything_is_not_ready(self):
        with webservers.BadServer(self.root, "busy") as server:
            doc = self.check(server.base_url, torrents=[V1])
            tries = len(server.access_log())
        t = self.torrent(doc, V1)
        self.assertFalse(t["ready"])
        self.assertEqual(self.codes(doc, V1), ["http-status"])
        self.assertIn("503", self.finding(doc, V1, "http-status")["message"])
        self.assertFalse(any(t["clients"].values()), t["clients"])
        # backed off and retried, a bounded number of times
        self.assertGreater(tries, len(t["probe"]["requests"]) // 2)
        self.assertLessEqual(tries, 4 * len(t["probe"]["requests"]))

    # --- pad files and torrent formats

    def test_pad_files_not_served_is_a_warning_for_aria2(self):
        self.assertTrue(self.pads, "the hybrid torrent has no pad files: the test shows nothing")
        with webservers.Nginx(self.root) as nginx:
            doc = self.check(nginx.base_url, torrents=[HYBRID])
            asked = [r["path"] for r in nginx.access_log()]
        t = self.torrent(doc, HYBRID)
        self.assertTrue(t["ready"], t["findings"])
        self.assertEqual(self.codes(doc, HYBRID),
                         ["pad-files-not-served", "torrent-format-unsupported"])
        pad = self.finding(doc, HYBRID, "pad-files-not-served")
        self.assertEqual(pad["clients"], ["aria2"])
        self.assertIn("/.pad/", pad["message"])
        self.assertIn("404", pad["message"])
        self.assertIn(".pad/N", pad["hint"])
        self.assertTrue(any("/.pad/" in p for p in asked), asked)
        fmt = self.finding(doc, HYBRID, "torrent-format-unsupported")
        self.assertEqual(fmt["clients"], ["transmission"])
        self.assertIn("hybrid", fmt["message"])
        self.assertEqual(t["clients"], {"libtorrent": True, "transmission": False,
                                        "aria2": False})

    def test_pad_files_served_as_zeros(self):
        with webservers.Nginx(self.padded) as nginx:
            doc = self.check(nginx.base_url, root=self.padded, torrents=[HYBRID])
        t = self.torrent(doc, HYBRID)
        self.assertTrue(t["ready"], t["findings"])
        self.assertNotIn("pad-files-not-served", self.codes(doc, HYBRID))
        self.assertEqual(t["clients"], {"libtorrent": True, "transmission": False,
                                        "aria2": True})

    def test_v1_torrent_usable_by_every_client(self):
        with webservers.Nginx(self.root) as nginx:
            doc = self.check(nginx.base_url, torrents=[V1])
        t = self.torrent(doc, V1)
        self.assertEqual(t["findings"], [])
        self.assertEqual(t["clients"], {"libtorrent": True, "transmission": True, "aria2": True})

    # --- address families

    def dual_stack(self, v4root, v6root):
        if not names.available():
            self.skipTest("needs root and util-linux unshare (private mount namespace)")
        hosts = names.HostsFile(harness.make_tmpdir(), {"dual.test": ["127.0.0.1", "::1"]})
        self.addCleanup(harness.remove_tree, hosts.path.parent)
        with DualStackNginx(v4root, v6root) as nginx:
            base = f"http://dual.test:{nginx.port}/"
            return self.check(base, torrents=[V1], wrap=hosts.wrap)

    def test_dual_stack_ipv6_lacks_the_tree(self):
        # On main: ready (libcurl tried one family, the one with the tree).
        doc = self.dual_stack(self.root, self.empty)
        t = self.torrent(doc, V1)
        self.assertFalse(t["ready"])
        self.assertEqual(self.codes(doc, V1), ["http-status"])
        message = self.finding(doc, V1, "http-status")["message"]
        self.assertTrue(message.startswith("ipv6 (::1): "), message)
        self.assertIn("404", message)
        families = {r.get("family") for r in t["probe"]["requests"]}
        self.assertEqual(families, {"ipv4", "ipv6"})

    def test_dual_stack_ipv4_lacks_the_tree(self):
        doc = self.dual_stack(self.empty, self.root)
        self.assertFalse(self.torrent(doc, V1)["ready"])
        message = self.finding(doc, V1, "http-status")["message"]
        self.assertTrue(message.startswith("ipv4 (127.0.0.1): "), message)

    def test_dual_stack_both_serve_it(self):
        doc = self.dual_stack(self.root, self.root)
        t = self.torrent(doc, V1)
        self.assertTrue(t["ready"], t["findings"])
        self.assertEqual(t["findings"], [])
        self.assertEqual({r.get("family") for r in t["probe"]["requests"]}, {"ipv4", "ipv6"})

    def test_ipv6_only_host_name_is_probed_on_ipv6(self):
        if not names.available():
            self.skipTest("needs root and util-linux unshare (private mount namespace)")
        hosts = names.HostsFile(harness.make_tmpdir(), {"six.test": ["::1"]})
        self.addCleanup(harness.remove_tree, hosts.path.parent)
        with DualStackNginx(self.empty, self.root) as nginx:
            doc = self.check(f"http://six.test:{nginx.port}/", torrents=[V1], wrap=hosts.wrap)
        t = self.torrent(doc, V1)
        self.assertTrue(t["ready"], t["findings"])
        self.assertEqual({r.get("family") for r in t["probe"]["requests"]}, {"ipv6"})
        self.assertEqual({r.get("address") for r in t["probe"]["requests"]}, {"::1"})


def pad_files(torrent):
    """{path inside the torrent's directory: size} of its BEP 47 pad files (libtorrent)."""
    import libtorrent as lt
    info = lt.torrent_info(str(torrent))
    files = info.files()
    pads = {}
    for i in range(files.num_files()):
        if files.file_flags(i) & lt.file_storage.flag_pad_file:
            path = files.file_path(i)
            inner = path.split(os.sep, 1)[1] if os.sep in path else path
            pads[inner] = files.file_size(i)
    return pads


if __name__ == "__main__":
    unittest.main()
