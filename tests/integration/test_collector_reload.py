"""`webseed-collector serve` reloads its catalog (config `torrents`) while it runs: on SIGHUP,
and when the directory's fingerprint (each .torrent file's path, size, mtime, inode) changed,
checked every `torrents_rescan_every`. Before this, a torrent made by `make-torrents` after
serve started was unknown until a restart: its live torrent and magnet were 404 and the
mirrors' claims for it were never listed.

Real parts: a mirror tree served by nginx, torrents made with mktorrent, the real agent's
report (`run --dry-run`) claiming every torrent, posted to the collector; spot checks off so
that a claim is listed on the report alone. Cases: SIGHUP adds a torrent (its webseeds, live
torrent and magnet appear, the claim reported before the reload is listed, /metrics counts
it) and removes one; the periodic rescan picks up a new file without a signal; an invalid
file is skipped with a warning and the rest served; a directory that cannot be read keeps the
catalog in use. Contracts: contrib/collector/api.h (CatalogView), catalog.h (fingerprint)."""

import json
import shutil
import signal
import time
import unittest
import harness
from fixtures import fake_reports as R
from fixtures import mirror, webservers
from fixtures import torrents as T
from fixtures.collector import Collector

MODULE_TIMEOUT = 90
MIRROR = "mirror.example.org"
WAIT = 15.0  # seconds a reload may take to show


class ReloadTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = harness.make_tmpdir()
        upstream = cls.dir / "upstream"
        mirror.build(upstream, mirror.default_layout())
        cls.tdir = cls.dir / "torrents"  # every torrent: what the agent claims
        cls.names = R.make_torrents(upstream, cls.tdir)
        cls.hashes = {n: T.info_hashes((cls.tdir / f"{n}.torrent").read_bytes())[0]
                      for n in cls.names}
        cls.root = cls.dir / "mirror"
        harness.run_rsync(harness.contents(upstream), cls.root, "-a")
        cls.nginx = webservers.Nginx(cls.root)
        cls.nginx.start()
        cls.report = R.dry_run_report(cls.dir, cls.root, cls.tdir, cls.nginx.base_url, name=MIRROR)

    @classmethod
    def tearDownClass(cls):
        cls.nginx.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def setUp(self):
        self.tmp = harness.make_tmpdir()
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.cdir = self.tmp / "catalog"  # the collector's catalog: starts with the first one
        self.cdir.mkdir()
        self.add(self.names[0])

    def add(self, name):
        # As make-torrents writes: a temporary file renamed into place.
        tmp = self.cdir / f".{name}.torrent.tmp"
        tmp.write_bytes((self.tdir / f"{name}.torrent").read_bytes())
        tmp.rename(self.cdir / f"{name}.torrent")

    def start(self, rescan="1h"):
        col = Collector(self.tmp, self.cdir, spot_check=False,
                        extra_config=f"torrents_rescan_every: {rescan}\n")
        col.start()
        self.addCleanup(col.stop)
        token = col.add_mirror(MIRROR, self.nginx.base_url)
        status, answer = col.post_report(R.clone(self.report, MIRROR, self.nginx.base_url), token)
        self.assertEqual(status, 202, answer)
        return col

    def state(self, col, name):
        """(webseeds mirrors or None when 404, live torrent status, magnet status)."""
        h = self.hashes[name]
        status, _, body = col.get(f"/api/v1/torrents/{h}/webseeds")
        listed = None
        if status == 200:
            listed = json.loads(body)["mirrors"]
        live = col.get(f"/torrents/{name}.torrent")[0]
        magnet = col.get(f"/api/v1/torrents/{h}/magnet")[0]
        return listed, live, magnet

    def wait_for(self, col, name, want):
        deadline = time.monotonic() + WAIT
        got = None
        while time.monotonic() < deadline:
            got = self.state(col, name)
            if got == want:
                return
            time.sleep(0.1)
        self.fail(f"{name}: {got} after {WAIT}s, want {want}\n{col.log_text()}")

    def torrents_metric(self, col):
        text = col.get("/metrics")[2].decode()
        for line in text.splitlines():
            if line.startswith("webseed_collector_torrents "):
                return int(line.split()[1])
        self.fail(f"no webseed_collector_torrents in /metrics:\n{text}")

    def test_sighup_adds_and_removes_torrents(self):
        first, second = self.names[0], self.names[1]
        col = self.start()
        self.assertEqual(self.state(col, first), ([MIRROR], 200, 200))
        self.assertEqual(self.state(col, second), (None, 404, 404), "not in the catalog yet")

        self.add(second)
        time.sleep(1.0)
        self.assertEqual(self.state(col, second), (None, 404, 404),
                         "rescan every 1h: nothing reloads without the signal")
        col.proc.send_signal(signal.SIGHUP)
        # The claim reported before the torrent was known is listed once it is.
        self.wait_for(col, second, ([MIRROR], 200, 200))
        self.assertEqual(self.state(col, first), ([MIRROR], 200, 200))
        self.assertEqual(self.torrents_metric(col), 2)
        live = T.bdecode(col.get(f"/torrents/{second}.torrent")[2])
        self.assertEqual([u.decode() for u in live[b"url-list"]],
                         [self.nginx.base_url.rstrip("/") + "/" + mirror.SYMLINKS_DIR + "/"])
        self.assertIn("catalog reloaded (SIGHUP): 2 torrents (was 1)", col.log_text())

        (self.cdir / f"{first}.torrent").unlink()
        col.proc.send_signal(signal.SIGHUP)
        self.wait_for(col, first, (None, 404, 404))
        self.assertEqual(self.state(col, second), ([MIRROR], 200, 200))
        self.assertEqual(col.json(f"/api/v1/mirrors/{MIRROR}")["counts"], {"listed": 1})
        self.assertIsNotNone(col.proc, "SIGHUP does not stop serve")
        self.assertIsNone(col.proc.poll(), col.log_text())

    def test_rescan_picks_up_a_changed_directory(self):
        second = self.names[1]
        col = self.start(rescan="1s")
        self.add(second)
        (self.cdir / "broken.torrent").write_bytes(b"d4:infod4:name")  # truncated
        self.wait_for(col, second, ([MIRROR], 200, 200))
        self.assertEqual(self.torrents_metric(col), 2)
        log = col.log_text()
        self.assertIn("catalog reloaded: 2 torrents (was 1)", log)
        self.assertIn("skipped", log)
        self.assertIn("broken.torrent", log)

        # A catalog directory that cannot be read: the catalog in use is kept.
        hidden = self.tmp / "catalog.away"
        self.cdir.rename(hidden)
        self.addCleanup(lambda: hidden.exists() and hidden.rename(self.cdir))
        deadline = time.monotonic() + WAIT
        while "the catalog in use is kept" not in col.log_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertIn("the catalog in use is kept", col.log_text())
        self.assertEqual(self.state(col, second), ([MIRROR], 200, 200))
        self.assertEqual(self.torrents_metric(col), 2)


if __name__ == "__main__":
    unittest.main()
