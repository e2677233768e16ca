"""The web-seed fixtures themselves (tests/fixtures/webservers.py, bad_http_server.py,
clients.py): real nginx, Apache and Python servers on 127.0.0.1 serving a generated mirror,
the bad server's modes, and the BitTorrent oracles (python3-libtorrent, aria2c) downloading
through the torrent-symlinks tree with the url-list as the only source."""

SANITIZER_PASS = False  # tests the web-server fixtures, not the project's binaries

import gzip
import http.client
import os
import socket
import time
import unittest
import urllib.parse

import harness
from fixtures import clients as C
from fixtures import mirror
from fixtures import torrents as T
from fixtures import webservers as W

SYMLINKS = mirror.SYMLINKS_DIR
ISO = "releases/amd64/2007.0/livecd/livecd-amd64-installer-2007.0.iso"
SINGLE = "releases/x86/2007.0/installcd/install-x86-minimal-2007.0.iso"
SIZES = {ISO: 2_000_000 + 123, SINGLE: 1_000_000 + 7}
MULTI_ENTRY = "livecd-amd64-2007.0"            # with "docs/release notes.txt" (a space)
SINGLE_ENTRY = "install-x86-minimal-2007.0.iso"
ISO_LINK = f"{SYMLINKS}/{MULTI_ENTRY}/livecd-amd64-installer-2007.0.iso"
NOTES_LINK = f"{SYMLINKS}/{MULTI_ENTRY}/docs/release notes.txt"
HTTP_TIMEOUT = 5.0
FAIL_TIMEOUT = 15       # oracle runs that must fail
FAIL_IDLE = 4


def fetch(url, headers=None, method="GET", timeout=HTTP_TIMEOUT):
    """One request, no redirect following, no decoding: (status, {lower-case header: value},
    body)."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        conn.request(method, target, headers=headers or {})
        resp = conn.getresponse()
        body = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body
    finally:
        conn.close()


def quote(path):
    return urllib.parse.quote(path)


class Mirror(harness.TreeTestCase):
    """One generated mirror per class (payloads of 1-2 MB), shared by its tests."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.top = harness.make_tmpdir()
        cls.addClassCleanup(harness.remove_tree, cls.top)
        cls.root = cls.top / "mirror"
        cls.layout = mirror.build(cls.root, mirror.default_layout(payload_size=SIZES))
        cls.data = {p.path: (cls.root / p.path).read_bytes() for p in cls.layout.payloads}

    def assertNothingLeft(self, pids):
        alive = [pid for pid in pids if W.alive(pid)]
        self.assertEqual(alive, [], "server processes left behind")


class NginxTest(Mirror):
    def test_range_through_symlink(self):
        iso = self.data[ISO]
        with W.Nginx(self.root) as web:
            self.assertRegex(web.base_url, r"^http://127\.0\.0\.1:\d+/$")
            url = web.url(quote(ISO_LINK))
            status, headers, body = fetch(url, {"Range": "bytes=1000-1999"})
            self.assertEqual(status, 206, web.log_text())
            self.assertEqual(headers["content-range"], f"bytes 1000-1999/{len(iso)}")
            self.assertEqual(headers["content-type"], "application/octet-stream")
            self.assertNotIn("content-encoding", headers)
            self.assertEqual(body, iso[1000:2000])
            status, _, body = fetch(web.url(quote(NOTES_LINK)))
            self.assertEqual(status, 200)
            self.assertEqual(body, self.data["releases/amd64/2007.0/livecd/release notes.txt"])
            status, _, _ = fetch(web.url(f"{SYMLINKS}/no-such-entry/x"))
            self.assertEqual(status, 404)
            self.assertEqual(web.requests(), [
                ("GET", "/" + quote(ISO_LINK), "bytes=1000-1999"),
                ("GET", "/" + quote(NOTES_LINK), None),
                ("GET", f"/{SYMLINKS}/no-such-entry/x", None)])
            self.assertEqual([r["status"] for r in web.access_log()], [206, 200, 404])

    def test_disable_symlinks(self):
        with W.Nginx(self.root, disable_symlinks=True) as web:
            status, _, _ = fetch(web.url(quote(ISO_LINK)), {"Range": "bytes=0-99"})
            self.assertEqual(status, 403, web.log_text())
            status, _, body = fetch(web.url(ISO), {"Range": "bytes=0-99"})   # no link on the way
            self.assertEqual((status, body), (206, self.data[ISO][:100]))
            self.assertIn("Too many levels of symbolic links", web.log_text())

    def test_workers_are_unprivileged(self):
        private = harness.make_tmpdir()
        self.addCleanup(harness.remove_tree, private)
        mirror.add_file(private, "releases/file", b"x" * 100)
        os.chmod(private, 0o700)               # like a plain `mktemp -d`
        with W.Nginx(private) as web:
            status, _, _ = fetch(web.url("releases/file"))
            self.assertEqual(status, 403, web.log_text())
            self.assertIn("Permission denied", web.log_text())

    def test_extra_config_and_stop(self):
        with W.Nginx(self.root, extra_http="gzip on; gzip_types text/plain;\n"
                     "gzip_min_length 1;") as web:
            status, headers, body = fetch(web.url(quote(NOTES_LINK)),
                                          {"Accept-Encoding": "gzip"})
            self.assertEqual(status, 200, web.log_text())
            self.assertEqual(headers.get("content-encoding"), "gzip")
            self.assertEqual(gzip.decompress(body),
                             self.data["releases/amd64/2007.0/livecd/release notes.txt"])
            port = web.port
            pids = web.pids()
            self.assertEqual(len(pids), 3, "the watchdog, nginx master and one worker")
            self.assertEqual(sorted(pids), sorted([web.proc.pid] + W.descendants(web.proc.pid)))
        self.assertNothingLeft(pids)
        self.assertFalse(W.port_open(port))
        self.assertIn("exit", web.log_text())              # logs outlive the server
        self.assertEqual(len(web.requests()), 1)

    def test_bad_config_raises_with_log(self):
        with self.assertRaises(W.ServerError) as caught:
            with W.Nginx(self.root, extra_server="no_such_directive on;"):
                pass
        self.assertIn('unknown directive "no_such_directive"', str(caught.exception))


class ApacheTest(Mirror):
    def test_follow_symlinks(self):
        iso = self.data[ISO]
        with W.Apache(self.root) as web:
            status, headers, body = fetch(web.url(quote(ISO_LINK)),
                                          {"Range": "bytes=5-1004"})
            self.assertEqual(status, 206, web.log_text())
            self.assertEqual(headers["content-range"], f"bytes 5-1004/{len(iso)}")
            self.assertEqual(body, iso[5:1005])
            self.assertEqual(web.requests(), [("GET", "/" + quote(ISO_LINK), "bytes=5-1004")])
            pids = web.pids()
            self.assertGreaterEqual(len(pids), 3, "the watchdog, apache2 and a child")
        self.assertNothingLeft(pids)

    def test_no_follow_symlinks(self):
        with W.Apache(self.root, follow_symlinks=False) as web:
            status, _, _ = fetch(web.url(quote(ISO_LINK)), {"Range": "bytes=0-99"})
            self.assertEqual(status, 403, web.log_text())
            status, _, body = fetch(web.url(ISO), {"Range": "bytes=0-99"})
            self.assertEqual((status, body), (206, self.data[ISO][:100]))
            self.assertIn("Symbolic link not allowed", web.log_text())


class PythonHttpServerTest(Mirror):
    def test_ignores_range(self):
        with W.PythonHttpServer(self.root) as web:
            status, headers, body = fetch(web.url(quote(ISO_LINK)), {"Range": "bytes=0-99"})
            self.assertEqual(status, 200, web.log_text())
            self.assertNotIn("content-range", headers)
            self.assertEqual(body, self.data[ISO])
            self.assertEqual([(r.method, r.path) for r in web.requests()],
                             [("GET", "/" + quote(ISO_LINK))])


class BadServerTest(Mirror):
    def test_ok(self):
        iso = self.data[ISO]
        with W.BadServer(self.root, "ok") as web:
            url = web.url(quote(ISO_LINK))
            status, headers, body = fetch(url, {"Range": "bytes=10-19"})
            self.assertEqual((status, headers["content-range"], body),
                             (206, f"bytes 10-19/{len(iso)}", iso[10:20]))
            status, headers, body = fetch(url, {"Range": f"bytes={len(iso) - 5}-"})
            self.assertEqual((status, body), (206, iso[-5:]))
            status, headers, body = fetch(url, {"Range": "bytes=-3"})
            self.assertEqual((status, body), (206, iso[-3:]))
            status, headers, body = fetch(url)
            self.assertEqual((status, len(body)), (200, len(iso)))
            self.assertEqual(body, iso)
            status, headers, _ = fetch(url, {"Range": f"bytes={len(iso)}-"})
            self.assertEqual((status, headers["content-range"]), (416, f"bytes */{len(iso)}"))
            self.assertEqual(fetch(web.url(f"{SYMLINKS}/missing"))[0], 404)
            self.assertEqual(fetch(web.url(f"{SYMLINKS}/../{SYMLINKS}"))[0], 404)
            status, headers, body = fetch(url, method="HEAD")
            self.assertEqual((status, headers["content-length"], body), (200, str(len(iso)), b""))
            self.assertEqual(web.requests()[0], ("GET", "/" + quote(ISO_LINK), "bytes=10-19"))
            self.assertEqual(len(web.requests()), 8)

    def test_keep_alive(self):
        with W.BadServer(self.root, "ok") as web:
            conn = http.client.HTTPConnection("127.0.0.1", web.port, timeout=HTTP_TIMEOUT)
            try:
                for first in (0, 100, 200):
                    conn.request("GET", "/" + quote(ISO_LINK),
                                 headers={"Range": f"bytes={first}-{first + 9}"})
                    resp = conn.getresponse()
                    self.assertEqual((resp.status, resp.read()),
                                     (206, self.data[ISO][first:first + 10]))
                    self.assertEqual(resp.version, 11)
            finally:
                conn.close()

    def test_gzip(self):
        iso = self.data[ISO]
        with W.BadServer(self.root, "gzip") as web:
            status, headers, body = fetch(web.url(quote(ISO_LINK)),
                                          {"Range": "bytes=100-4195",
                                           "Accept-Encoding": "identity"})
            self.assertEqual(status, 206)
            self.assertEqual(headers["content-encoding"], "gzip")
            self.assertEqual(headers["content-range"], f"bytes 100-4195/{len(iso)}")
            self.assertEqual(int(headers["content-length"]), len(body))
            self.assertEqual(gzip.decompress(body), iso[100:4196])

    def test_stall(self):
        iso = self.data[ISO]
        with W.BadServer(self.root, "stall") as web:
            conn = http.client.HTTPConnection("127.0.0.1", web.port, timeout=2)
            try:
                conn.request("GET", "/" + quote(ISO_LINK), headers={"Range": "bytes=0-3999"})
                resp = conn.getresponse()
                self.assertEqual((resp.status, resp.getheader("Content-Length")), (206, "4000"))
                self.assertEqual(resp.read(1000), iso[:1000])     # the first quarter comes
                started = time.monotonic()
                with self.assertRaises((socket.timeout, TimeoutError)):
                    resp.read(1)
                self.assertLess(time.monotonic() - started, 4)
            finally:
                conn.close()
            pids = web.pids()
            started = time.monotonic()
        self.assertLess(time.monotonic() - started, 3, "a stalled response held up the stop")
        self.assertNothingLeft(pids)

    def test_redirect(self):
        iso = self.data[ISO]
        with W.Nginx(self.root) as good, \
                W.BadServer(self.root, "redirect", good.base_url) as web:
            status, headers, _ = fetch(web.url(quote(ISO_LINK)), {"Range": "bytes=0-9"})
            self.assertEqual(status, 302)
            self.assertEqual(headers["location"], good.url(quote(ISO_LINK)))
            status, _, body = fetch(headers["location"], {"Range": "bytes=0-9"})
            self.assertEqual((status, body), (206, iso[:10]))

    def test_redirect_wrong(self):
        target_url = None
        with W.Nginx(self.root) as good:
            target_url = good.url(quote(f"{SYMLINKS}/{SINGLE_ENTRY}"))
            with W.BadServer(self.root, "redirect-wrong", target_url) as web:
                for path in (ISO_LINK, NOTES_LINK):
                    status, headers, _ = fetch(web.url(quote(path)))
                    self.assertEqual((status, headers["location"]), (302, target_url))

    def test_soft404(self):
        with W.BadServer(self.root, "soft404") as web:
            for path in (ISO_LINK, f"{SYMLINKS}/missing"):
                status, headers, body = fetch(web.url(quote(path)), {"Range": "bytes=0-9"})
                self.assertEqual(status, 200)
                self.assertTrue(headers["content-type"].startswith("text/html"))
                self.assertIn(b"Not Found", body)

    def test_stale(self):
        iso = self.data[ISO]
        with W.BadServer(self.root, "stale") as web:
            status, headers, body = fetch(web.url(quote(ISO_LINK)), {"Range": "bytes=50-149"})
            self.assertEqual((status, headers["content-range"]),
                             (206, f"bytes 50-149/{len(iso)}"))
            self.assertEqual(body, bytes(b ^ 0xFF for b in iso[50:150]))

    def test_wrong_range(self):
        iso = self.data[ISO]
        n = len(iso)
        with W.BadServer(self.root, "wrong-range") as web:
            url = web.url(quote(ISO_LINK))
            status, headers, body = fetch(url, {"Range": "bytes=100-199"})
            self.assertEqual((status, headers["content-range"], body),
                             (206, f"bytes 101-200/{n}", iso[101:201]))
            status, headers, body = fetch(url, {"Range": f"bytes={n - 1}-{n - 1}"})
            self.assertEqual((status, headers["content-range"], body),
                             (206, f"bytes {n - 2}-{n - 2}/{n}", iso[n - 2:n - 1]))

    def test_retry_after_once(self):
        iso = self.data[ISO]
        with W.BadServer(self.root, "retry-after-once") as web:
            url = web.url(quote(ISO_LINK))
            status, headers, _ = fetch(url, {"Range": "bytes=0-9"})
            self.assertEqual((status, headers["retry-after"]), (503, "1"))
            for _ in range(2):
                status, _, body = fetch(url, {"Range": "bytes=0-9"})
                self.assertEqual((status, body), (206, iso[:10]))
            self.assertEqual([r["status"] for r in web.access_log()], [503, 206, 206])

    def test_unknown_mode(self):
        with self.assertRaises(ValueError):
            W.BadServer(self.root, "nonsense")
        with self.assertRaises(ValueError):
            W.BadServer(self.root, "redirect")


class OracleTest(Mirror):
    """libtorrent and aria2c download through the torrent-symlinks tree; the url-list is
    their only source."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tdir = cls.top / "torrents"
        cls.tdir.mkdir()
        entries = cls.root / SYMLINKS
        cls.multi = T.mktorrent(entries / MULTI_ENTRY, cls.tdir / "multi.torrent", piece_log2=16,
                                announce=[["http://tracker.invalid/announce"]],
                                web_seeds=["http://elsewhere.invalid/"])
        cls.single = T.mktorrent(entries / SINGLE_ENTRY, cls.tdir / "single.torrent",
                                 piece_log2=17)

    def seeded(self, torrent, server):
        return C.with_url_list(torrent, [server.base_url + SYMLINKS + "/"],
                               self.tmp / f"seeded-{torrent.name}")

    def assertServed(self, server, agent):
        """Every request came from `agent` (libtorrent names itself on a connection's first
        request only) into the torrent-symlinks tree."""
        log = server.access_log()
        self.assertTrue(log, "no request reached the server")
        self.assertIn(agent, {r["user_agent"].split("/")[0] for r in log if r["user_agent"]})
        for r in log:
            self.assertTrue(r["path"].startswith(f"/{SYMLINKS}/"), r)

    def test_with_url_list(self):
        out = C.with_url_list(self.multi, ["http://a.example/x/", "http://b.example/"],
                              self.tmp / "w.torrent")
        before, after = self.multi.read_bytes(), out.read_bytes()
        self.assertEqual(T.info_hashes(after), T.info_hashes(before))
        start, end = T.top_level_spans(before)[b"info"]
        self.assertIn(before[start:end], after)
        doc = T.bdecode(after)
        self.assertEqual(doc[b"url-list"], [b"http://a.example/x/", b"http://b.example/"])
        self.assertEqual(set(doc) & {b"announce", b"announce-list", b"httpseeds"}, set())
        self.assertEqual(list(doc), sorted(doc))

    def test_nginx_libtorrent(self):
        with W.Nginx(self.root) as web:
            for torrent in (self.multi, self.single):
                result = C.libtorrent_download(self.seeded(torrent, web),
                                               self.tmp / f"lt-{torrent.stem}", timeout=30)
                self.assertTrue(result.ok, f"{torrent.name}: {result}\n{web.log_text()}")
                self.assertEqual(C.check_payload(torrent, self.tmp / f"lt-{torrent.stem}"), [])
            self.assertServed(web, "libtorrent")

    def test_nginx_aria2c(self):
        with W.Nginx(self.root) as web:
            result = C.aria2c_download(self.seeded(self.multi, web), self.tmp / "aria2c",
                                       timeout=30)
            self.assertTrue(result.ok, f"{result}\n{web.log_text()}")
            self.assertServed(web, "aria2")
        dest = self.tmp / "aria2c" / MULTI_ENTRY
        self.assertEqual((dest / "docs" / "release notes.txt").read_bytes(),
                         self.data["releases/amd64/2007.0/livecd/release notes.txt"])

    def test_nginx_disable_symlinks_fails_both(self):
        with W.Nginx(self.root, disable_symlinks=True) as web:
            torrent = self.seeded(self.multi, web)
            lt = C.libtorrent_download(torrent, self.tmp / "lt", timeout=FAIL_TIMEOUT,
                                       idle_timeout=FAIL_IDLE)
            self.assertFalse(lt.ok, str(lt))
            self.assertIn("403", lt.detail)
            aria = C.aria2c_download(torrent, self.tmp / "aria2c", timeout=FAIL_TIMEOUT,
                                     idle_timeout=FAIL_IDLE)
            self.assertFalse(aria.ok, str(aria))
            self.assertIn("status=403", aria.detail)
            self.assertEqual({r["status"] for r in web.access_log()}, {403})

    def test_python_http_server_small_payload(self):
        # 200 with the whole file to every Range request: both clients cope with 1-2 MB.
        with W.PythonHttpServer(self.root) as web:
            torrent = self.seeded(self.single, web)
            lt = C.libtorrent_download(torrent, self.tmp / "lt", timeout=30)
            self.assertTrue(lt.ok, str(lt))
            aria = C.aria2c_download(torrent, self.tmp / "aria2c", timeout=30)
            self.assertTrue(aria.ok, str(aria))

    def test_stale_copy_fails_libtorrent(self):
        with W.BadServer(self.root, "stale") as web:
            lt = C.libtorrent_download(self.seeded(self.multi, web), self.tmp / "lt",
                                       timeout=FAIL_TIMEOUT, idle_timeout=FAIL_IDLE)
            self.assertFalse(lt.ok, str(lt))
            self.assertIn("hash for piece", lt.detail)


if __name__ == "__main__":
    unittest.main()
