"""The web-seed probe (`check --base-url`, `probe`; docs/check.md) against real web servers on
127.0.0.1 that the tests start and stop: nginx and apache2 configured right and wrong,
`python3 -m http.server` (no Range), and tests/fixtures/bad_http_server.py for the faults no
real server is configured to have (gzip regardless, stalls, redirects, soft 404s).

The oracle: for each server, python3-libtorrent and aria2c download the 48 MB multi-file v1
torrent with that server as their only web seed (url-list); they must complete exactly when the
agent says that torrent is ready. (Small payloads complete even without Range support, so the
oracle torrent is large; the agent is stricter on the small ones, by design.)"""

import json
import os
import threading
import time
import unittest

import jsonschema  # Debian python3-jsonschema

import harness
from fixtures import clients, mirror, tls, webservers
from fixtures import torrents as T

SYMLINKS = mirror.SYMLINKS_DIR
SCHEMA = jsonschema.Draft202012Validator(
    json.loads((harness.REPO / "docs" / "check.schema.json").read_text()))
STAGE3 = "releases/x86/2007.0/stages/stage3-x86-2007.0.tar.bz2"
BIG = 48_000_123          # tens of MB: clients fail without Range (measured)
ORACLE = "stage3-x86-2007.0"
CLIENT_TIMEOUT = 90
IDLE_TIMEOUT = 5
MODULE_TIMEOUT = 600  # tests/run_integration.py: the clients take their time


class ProbeTest(unittest.TestCase):
    """One upstream, a mirror of it (rsync -a), a stale copy and torrents, for every test."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = harness.make_tmpdir()
        upstream = cls.tmp / "upstream"
        mirror.build(upstream, mirror.default_layout(payload_size={STAGE3: BIG}))
        cls.root = cls.tmp / "mirror"
        harness.run_rsync(harness.contents(upstream), cls.root, "-a")
        # A stale docroot: the same tree, same sizes, other bytes.
        cls.stale = cls.tmp / "stale"
        harness.run_rsync(harness.contents(cls.root), cls.stale, "-a")
        for dirpath, _, files in os.walk(cls.stale / "releases"):
            for name in files:
                path = os.path.join(dirpath, name)
                with open(path, "r+b") as f:
                    data = f.read(4096)
                    f.seek(0)
                    f.write(bytes(b ^ 0x5A for b in data))
        cls.tdir = cls.tmp / "torrents"
        cls.tdir.mkdir()
        entries = upstream / SYMLINKS
        T.mktorrent(entries / ORACLE, cls.tdir / f"{ORACLE}.torrent", piece_log2=20)
        T.mktorrent(entries / "install-x86-minimal-2007.0.iso",
                    cls.tdir / "install-x86-minimal-2007.0.iso.torrent", piece_log2=15)
        T.lt_create(entries / "livecd-amd64-2007.0", cls.tdir / "livecd-amd64-2007.0.torrent",
                    piece_size=16 * 1024, meta="hybrid")
        T.lt_create(entries / "portage-2007.0.tar.bz2", cls.tdir / "portage-2007.0.tar.bz2.torrent",
                    piece_size=16 * 1024, meta="v2")
        cls.names = sorted(os.listdir(entries))
        os.chmod(cls.tmp, 0o755)

    @classmethod
    def tearDownClass(cls):
        harness.remove_tree(cls.tmp)

    # --- helpers

    def check(self, base_url, *extra, root=None, probe=None):
        """`check --json` with the probe at base_url; returns (result, document)."""
        state = harness.make_tmpdir()
        self.addCleanup(harness.remove_tree, state)
        config = state / "agent.yaml"
        probe_yaml = "".join(f"  {k}: {v}\n" for k, v in (probe or {}).items())
        config.write_text(f"mirror: {{name: test, root: {root or self.root}, base_url: '{base_url}'}}\n"
                          f"torrents: [{self.tdir}]\nstate_dir: {state}\n"
                          + (f"probe:\n{probe_yaml}" if probe_yaml else ""))
        result = harness.run_agent("--config", config, "check", "--json", *extra, timeout=120)
        self.assertIn(result.returncode, (0, 1), str(result))
        doc = result.json()
        problems = [f"{list(e.absolute_path)}: {e.message}" for e in SCHEMA.iter_errors(doc)]
        self.assertEqual(problems, [], "docs/check.schema.json")
        self.assertEqual(doc["base_url"], base_url)
        self.assertEqual(doc["ready"], result.returncode == 0)
        return result, doc

    # Warnings about the torrents themselves, the same on every server: the hybrid and the v2
    # torrent are not for Transmission 3; the hybrid's BEP 47 pad files are not in this tree
    # (test_pad_files_served_or_not checks both).
    TORRENT_LEVEL = {"torrent-format-unsupported", "pad-files-not-served"}

    @classmethod
    def codes(cls, doc):
        """{torrent name: sorted codes of its findings}, torrent-level warnings left out"""
        return {t["name"]: sorted({f["code"] for f in t["findings"]} - cls.TORRENT_LEVEL)
                for t in doc["torrents"]}

    @staticmethod
    def torrent(doc, name):
        return next(t for t in doc["torrents"] if t["name"] == name)

    def clients_agree(self, doc, base_url, strict=True):
        """Both clients download the oracle torrent from base_url only; they must complete
        exactly when the agent says it is ready. strict=False: the clients disagree with each
        other (measured), and the agent says ready only when both complete."""
        ready = self.torrent(doc, ORACLE)["ready"]
        if "ASAN_OPTIONS" in os.environ:  # the sanitizer pass checks the agent, not the server
            return {"libtorrent": clients.DownloadResult(ready, "skipped under ASan"),
                    "aria2c": clients.DownloadResult(ready, "skipped under ASan")}
        work = harness.make_tmpdir()
        self.addCleanup(harness.remove_tree, work)
        torrent = clients.with_url_list(self.tdir / f"{ORACLE}.torrent",
                                        [base_url + SYMLINKS + "/"], work / "seeded.torrent")
        results = {}

        def run(name, fn):
            results[name] = fn(torrent, work / name, timeout=CLIENT_TIMEOUT,
                               idle_timeout=IDLE_TIMEOUT)

        threads = [threading.Thread(target=run, args=("libtorrent", clients.libtorrent_download)),
                   threading.Thread(target=run, args=("aria2c", clients.aria2c_download))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(CLIENT_TIMEOUT + 30)
        for name in ("libtorrent", "aria2c"):
            self.assertIn(name, results, f"{name} did not return")
            if strict:
                self.assertEqual(results[name].ok, ready,
                                 f"agent says ready={ready}, {name}: {results[name]}")
        self.assertEqual(ready, all(r.ok for r in results.values()), str(results))
        return results

    # --- real servers configured right and wrong

    def test_nginx_serving_the_mirror_is_ready(self):
        with webservers.Nginx(self.root) as nginx:
            _, doc = self.check(nginx.base_url)
            self.assertEqual(self.codes(doc), {n: [] for n in self.names}, nginx.log_text())
            for t in doc["torrents"]:
                probe = t["probe"]
                self.assertTrue(probe["probed"], t["name"])
                self.assertGreater(len(probe["requests"]), 0)
                self.assertTrue(all(r["ok"] and r["status"] in (200, 206)
                                    for r in probe["requests"]
                                    if "pad file" not in r["purpose"]), probe)
                self.assertLessEqual(probe["bytes"], 4 << 20)
            oracle = self.torrent(doc, ORACLE)["probe"]
            self.assertEqual(oracle["pieces_verified"], [0, BIG // (1 << 20)])
            purposes = " ".join(r["purpose"] for r in oracle["requests"])
            for wanted in ("SHA-1", "1 MiB request", "32 KiB request"):
                self.assertIn(wanted, purposes)
            self.assertTrue(self.torrent(doc, "portage-2007.0.tar.bz2")["probe"]["pieces_verified"])
            # What the server saw: Range requests, no Accept-Encoding, nothing outside the tree.
            seen = nginx.access_log()
            self.assertTrue(seen)
            for r in seen:
                self.assertTrue(r["path"].startswith("/" + SYMLINKS + "/"), r)
                self.assertIsNotNone(r["range"], r)
                self.assertIsNone(r["accept_encoding"], r)
            self.clients_agree(doc, nginx.base_url)

    def test_nginx_refusing_symlinks(self):
        with webservers.Nginx(self.root, disable_symlinks=True) as nginx:
            result, doc = self.check(nginx.base_url)
            self.assertEqual(result.returncode, 1)
            self.assertEqual(self.codes(doc), {n: ["http-status"] for n in self.names})
            finding = self.torrent(doc, ORACLE)["findings"][0]
            self.assertIn("403", finding["message"])
            self.assertIn("FollowSymLinks", finding["hint"])
            self.assertIn("disable_symlinks", finding["hint"])
            self.assertTrue(finding["url"].startswith(nginx.base_url + SYMLINKS + "/"))
            self.clients_agree(doc, nginx.base_url)

    def test_apache_with_and_without_followsymlinks(self):
        with webservers.Apache(self.root, follow_symlinks=True) as apache:
            _, doc = self.check(apache.base_url)
            self.assertEqual(self.codes(doc), {n: [] for n in self.names}, apache.log_text())
            self.clients_agree(doc, apache.base_url)
        with webservers.Apache(self.root, follow_symlinks=False) as apache:
            _, doc = self.check(apache.base_url)
            self.assertEqual(self.codes(doc), {n: ["http-status"] for n in self.names})
            self.clients_agree(doc, apache.base_url)

    def test_python_http_server_ignores_range(self):
        with webservers.PythonHttpServer(self.root) as server:
            _, doc = self.check(server.base_url)
            # A range that is the whole file may be answered with 200 (clients accept it too):
            # the small single-file torrents pass; those with partial ranges do not.
            self.assertIn("http-range-ignored", self.codes(doc)[ORACLE])
            # Each request was cut at its range's length: never the whole 48 MB.
            self.assertLess(self.torrent(doc, ORACLE)["probe"]["bytes"], 8 << 20)
            # Measured: libtorrent fails; aria2c sometimes completes anyway (it re-requests
            # from piece boundaries to EOF and keeps what a 200 brought), so not strict.
            self.clients_agree(doc, server.base_url, strict=False)

    def test_stale_docroot(self):
        with webservers.Nginx(self.stale) as nginx:
            _, doc = self.check(nginx.base_url)
            self.assertEqual(self.codes(doc),
                             {n: ["http-content-mismatch"] for n in self.names})
            self.clients_agree(doc, nginx.base_url)

    def test_wrong_base_url(self):
        with webservers.Nginx(self.root) as nginx:
            wrong = nginx.base_url + "not-the-mirror/"
            _, doc = self.check(wrong)
            self.assertEqual(self.codes(doc), {n: ["http-status"] for n in self.names})
            self.assertIn("404", self.torrent(doc, ORACLE)["findings"][0]["message"])
            self.clients_agree(doc, wrong)

    def test_nothing_listening(self):
        port = webservers.free_port()
        _, doc = self.check(f"http://127.0.0.1:{port}/")
        self.assertEqual(self.codes(doc), {n: ["http-unreachable"] for n in self.names})

    def test_https_verified_against_the_ca(self):
        certs = harness.make_tmpdir()
        self.addCleanup(harness.remove_tree, certs)
        ca = tls.TestCA(certs / "ca")
        cert, key = ca.issue("mirror", ["127.0.0.1"])
        with webservers.Nginx(self.root, tls=(cert, key)) as nginx:
            self.assertTrue(nginx.base_url.startswith("https://127.0.0.1:"))
            _, doc = self.check(nginx.base_url, probe={"ca_file": ca.cert})
            self.assertEqual(self.codes(doc), {n: [] for n in self.names}, nginx.log_text())
            # Without the test CA (the system store does not know it): refused, never ignored.
            _, doc = self.check(nginx.base_url)
            self.assertEqual(self.codes(doc), {n: ["http-unreachable"] for n in self.names})
            self.assertIn("certificate", self.torrent(doc, ORACLE)["findings"][0]["message"])
            # A ca_file that does not exist: the same, with libcurl's reason.
            _, doc = self.check(nginx.base_url, probe={"ca_file": certs / "no-such-ca.pem"})
            self.assertEqual(self.codes(doc), {n: ["http-unreachable"] for n in self.names})
        # A certificate for another name: refused as well.
        other, other_key = ca.issue("other", ["mirror.example.org"])
        with webservers.Nginx(self.root, tls=(other, other_key)) as nginx:
            _, doc = self.check(nginx.base_url, probe={"ca_file": ca.cert})
            self.assertEqual(self.codes(doc), {n: ["http-unreachable"] for n in self.names})

    # --- faults from the bad server

    def test_gzip_regardless_of_request(self):
        with webservers.BadServer(self.root, "gzip") as server:
            _, doc = self.check(server.base_url)
            self.assertEqual(self.codes(doc), {n: ["http-content-encoding"] for n in self.names})
            self.clients_agree(doc, server.base_url)

    def test_redirect_to_the_same_file_elsewhere_is_a_warning(self):
        with webservers.Nginx(self.root) as nginx, \
                webservers.BadServer(self.root, "redirect", target=nginx.base_url) as server:
            result, doc = self.check(server.base_url)
            self.assertEqual(self.codes(doc), {n: ["http-redirect"] for n in self.names})
            for t in doc["torrents"]:
                for f in t["findings"]:
                    if f["code"] in self.TORRENT_LEVEL:
                        continue
                    self.assertIn(nginx.base_url, f["message"])
                    # Pieces spanning files (the mktorrent multi-file torrent): libtorrent 2.0
                    # cannot fetch them through redirects, so that one is an error.
                    want = "error" if t["name"] == ORACLE else "warning"
                    self.assertEqual(f["severity"], want, f)
            self.assertEqual([t["name"] for t in doc["torrents"] if not t["ready"]], [ORACLE])
            results = self.clients_agree(doc, server.base_url, strict=False)
            if "ASAN_OPTIONS" not in os.environ:
                self.assertFalse(results["libtorrent"].ok, "measured: libtorrent 2.0.8 stalls")
                self.assertTrue(results["aria2c"].ok, "measured: aria2c completes")

    def test_redirect_to_another_file_is_an_error(self):
        with webservers.Nginx(self.root) as nginx:
            other = nginx.url(SYMLINKS + "/install-x86-minimal-2007.0.iso")
            with webservers.BadServer(self.root, "redirect-wrong", target=other) as server:
                _, doc = self.check(server.base_url)
                oracle = self.torrent(doc, ORACLE)
                self.assertFalse(oracle["ready"])
                errors = [f for f in oracle["findings"] if f["severity"] == "error"]
                self.assertTrue(errors)
                self.assertTrue(all(f["code"] == "http-redirect" for f in errors), errors)
                self.assertIn("another file", errors[0]["message"])
                self.clients_agree(doc, server.base_url)

    def test_soft_404(self):
        with webservers.BadServer(self.root, "soft404") as server:
            _, doc = self.check(server.base_url)
            for name, codes in self.codes(doc).items():  # whole-file ranges: wrong length
                self.assertIn(codes, (["http-range-ignored"], ["http-content-mismatch"],
                                      ["http-content-mismatch", "http-range-ignored"]), name)
            self.assertIn("soft 404", self.torrent(doc, ORACLE)["findings"][0]["message"])
            for t in doc["torrents"]:
                for f in t["findings"]:
                    if f["code"] == "http-content-mismatch":
                        self.assertIn("HTML page", f["hint"])
            self.clients_agree(doc, server.base_url)

    def test_server_stalling_mid_body_times_out_within_the_budget(self):
        with webservers.BadServer(self.root, "stall") as server:
            start = time.monotonic()
            _, doc = self.check(server.base_url, probe={"request_timeout": "2s", "timeout": "20s"})
            elapsed = time.monotonic() - start
            for name, codes in self.codes(doc).items():
                self.assertIn(codes, (["http-timeout"], ["http-timeout", "probe-skipped"],
                                      ["probe-skipped"]), name)
            self.assertIn("http-timeout", self.codes(doc)[ORACLE] + sum(self.codes(doc).values(), []))
            self.assertLess(elapsed, 40, "the probe's time limit")
            self.clients_agree(doc, server.base_url)

    # --- bounds and options

    def test_sample_and_budget(self):
        with webservers.Nginx(self.root) as nginx:
            _, doc = self.check(nginx.base_url, probe={"sample": 1})
            probed = [t for t in doc["torrents"] if t["probe"]["probed"]]
            self.assertEqual(len(probed), 1)
            for t in doc["torrents"]:
                if not t["probe"]["probed"]:
                    self.assertIn("sample", t["probe"]["reason"])
                    self.assertTrue(t["ready"])
            _, doc = self.check(nginx.base_url, probe={"max_bytes_per_run": 70000})
            codes = self.codes(doc)
            self.assertIn("probe-skipped", sum(codes.values(), []))
            self.assertTrue(doc["ready"], "probe-skipped is a warning")

    def test_not_ready_on_disk_is_not_probed_and_no_probe_skips_it(self):
        with webservers.Nginx(self.root) as nginx:
            broken = harness.make_tmpdir()
            self.addCleanup(harness.remove_tree, broken)
            harness.run_rsync(harness.contents(self.root), broken / "m", "-a",
                              "--exclude", "releases/snapshots/")
            _, doc = self.check(nginx.base_url, root=broken / "m")
            portage = self.torrent(doc, "portage-2007.0.tar.bz2")
            self.assertFalse(portage["probe"]["probed"])
            self.assertEqual(portage["probe"]["reason"], "not ready on disk")
            result = harness.run_agent("check", "--json", "--no-probe", "--root", self.root,
                                       "--torrents", self.tdir, "--base-url", nginx.base_url,
                                       "--state-dir", broken / "state")
            self.assertEqual(result.returncode, 0, str(result))
            self.assertIsNone(result.json()["base_url"])
            self.assertTrue(all("probe" not in t for t in result.json()["torrents"]))
            self.assertEqual(nginx.requests(), [r for r in nginx.requests()])

    def test_probe_command_requires_a_base_url(self):
        result = harness.run_agent("probe", "--root", self.root, "--torrents", self.tdir,
                                   "--state-dir", self.tmp / "state-probe")
        self.assertEqual(result.returncode, 2, str(result))
        self.assertIn("no base URL", result.err)
        result = harness.run_agent("probe", "--root", self.root, "--torrents", self.tdir,
                                   "--state-dir", self.tmp / "state-probe", "--base-url",
                                   "ftp://example.org/")
        self.assertEqual(result.returncode, 2, str(result))
        self.assertIn("http:// or https://", result.err)


if __name__ == "__main__":
    unittest.main()
