"""The collector's magnet (GET /api/v1/torrents/<btih>/magnet) downloaded by real clients, all
on loopback (issue 16: "live torrents and magnets downloaded by libtorrent, aria2c and
Transmission from the listed mirrors only").

Setup (once for the module): a release tree with one stage3 group (a multi-file torrent),
`webseed-collector make-torrents` and `make-tree`, two mirrors copied by rsync and served by
nginx, both reported ready by the real agent (`run --dry-run`); the second is then corrupted
and fails the collector's spot check, so the torrent's listing has the first mirror only.
publish.trackers is a real HTTP tracker (fixtures/tracker.py), so the magnet carries it as
tr=; a metadata-only peer (fixtures/clients.py MetadataPeer: a libtorrent session with the
info dictionary only, no payload, no web seeds, in upload mode with every file priority 0)
announces there. A magnet's metadata (BEP 9) must come from a peer; every payload byte can
only come from the magnet's ws=: the peer has no piece to give (each test asserts it sent 0
payload bytes and still has 0 pieces). The servers, the tracker, the collector and the peer
are stopped by the class cleanups.

Proven, per client (each bounded; the payload checked piece by piece against the torrent):
- the magnet is xt=urn:btih:V1, dn=, tr=<the test tracker>, ws=<the listed mirror> only;
- libtorrent 2.0.8 finds the peer through the tracker, gets the metadata, downloads the
  whole payload from the listed mirror (its nginx log has the Range requests) and nothing
  from the corrupt one;
- Transmission 3.00 (transmission-cli MAGNET) keeps the ws= (libtransmission/magnet.c), gets
  the metadata and downloads from the listed mirror only. It drops 127.0.0.0/8 peers a
  tracker lists (net.c isMartianAddr), so here the peer dials in when Transmission announces
  (the tracker's on_announce), as a seed's next announce would on a real network (without
  that, measured: Transmission announces, is given the peer and never gets the metadata);
- aria2c 1.36 finds the peer and gets the metadata, but ignores ws= (src/bittorrent_helper.cc
  parseMagnet reads xt, dn and tr; UTMetadataPostDownloadHandler starts the download with no
  URI): it sends no request to any mirror and gives up at --bt-stop-timeout. A finding for
  the docs: aria2 downloads a magnet from peers only; give it the live torrent instead;
- the control: the same magnet without its ws= gets the metadata (libtorrent) but not one
  payload byte within the bound, so the payload above came from the web seeds.
"""

import subprocess
import unittest
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import harness
from fixtures import clients, webservers
from fixtures import fake_reports as R
from fixtures import torrents as T
from fixtures.collector import Collector, collector_path
from fixtures.tracker import Tracker

MODULE_TIMEOUT = 180  # tests/run_integration.py: real clients (the module takes ~45 s, also under ASan)
SANITIZER_PASS = False  # ~40 s of real clients; the collector's magnet endpoint runs under ASan in test_central_loop

SYMLINKS = "experimental/torrent-symlinks"
STAGE = "releases/arm64/autobuilds/20261201T000000Z/stage3-arm64-openrc-20261201T000000Z.tar.xz"
TNAME = "stage3-arm64-openrc-20261201T000000Z.torrent"
DOWNLOAD_TIMEOUT = 60     # seconds per download (each takes a few)
GIVE_UP = 8               # seconds without a payload byte before a client that cannot is stopped
CLI_TIMEOUT = 60


def collector_cli(*args):
    proc = subprocess.run([str(collector_path()), *map(str, args)], capture_output=True,
                          text=True, stdin=subprocess.DEVNULL, timeout=CLI_TIMEOUT)
    if proc.returncode != 0:
        raise AssertionError(f"webseed-collector {' '.join(map(str, args))}: exit "
                             f"{proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


def release_tree(root: Path) -> None:
    """One stage3 group: the tarball and four companions (a multi-file torrent)."""
    for rel, data in ((STAGE, T.content(3, 450_000)), (STAGE + ".DIGESTS", b"# BLAKE2B HASH\n"),
                      (STAGE + ".asc", b"sig\n"), (STAGE + ".CONTENTS.gz", T.content(4, 1_000)),
                      (STAGE + ".sha256", b"0123  stage3\n")):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


class MagnetDownloadTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = harness.make_tmpdir()
        cls.addClassCleanup(harness.remove_tree, cls.tmp)
        up = cls.tmp / "upstream"
        release_tree(up)
        cls.tdir = cls.tmp / "torrents"
        collector_cli("make-torrents", "--root", up, "--out", cls.tdir)
        collector_cli("make-tree", "--root", up, "--torrents", cls.tdir)
        cls.torrent = cls.tdir / TNAME
        cls.v1 = T.info_hashes(cls.torrent.read_bytes())[0]
        good, bad = cls.tmp / "good", cls.tmp / "bad"
        for m in (good, bad):
            harness.run_rsync(harness.contents(up), m, "-a")

        def enter(context):
            value = context.__enter__()
            cls.addClassCleanup(context.__exit__, None, None, None)
            return value

        cls.web_good = enter(webservers.Nginx(good))
        cls.web_bad = enter(webservers.Nginx(bad))
        cls.tracker = enter(Tracker(interval=2))
        col = Collector(cls.tmp, cls.tdir, spot_check=True,
                        extra_config="  round_every: 1h\n  pieces: 64\n"
                                     f"publish:\n  trackers: [{cls.tracker.announce_url}]\n")
        enter(col)
        for name, root, web in (("good", good, cls.web_good), ("bad", bad, cls.web_bad)):
            token = col.add_mirror(name, web.base_url)
            report = R.dry_run_report(cls.tmp, root, cls.tdir, web.base_url, name=name)
            assert report["ready"], name
            status, answer = col.post_report(report, token)
            assert status == 202, answer
        target = bad / STAGE
        data = bytearray(target.read_bytes())
        for i in range(0, len(data), 4096):
            data[i] ^= 0xFF
        target.write_bytes(bytes(data))
        spot = col.cli("spot-check")      # exit 1: a check failed (the corrupt mirror's)
        assert spot.returncode == 1 and "1 failed" in spot.stdout, spot.stdout + spot.stderr
        cls.good_ws = cls.web_good.base_url + SYMLINKS + "/"
        cls.magnet = col.json(f"/api/v1/torrents/{cls.v1}/magnet")["magnet"]
        cls.peer = enter(clients.MetadataPeer(cls.torrent, cls.tmp / "peer",
                                              cls.tracker.announce_url))

    def setUp(self):
        self.before = (len(self.web_good.requests()), len(self.web_bad.requests()))
        self.dest = self.tmp / f"dl-{self._testMethodName}"

    def mirror_requests(self):
        """(listed mirror's, corrupt mirror's) requests since the test began."""
        return (self.web_good.requests()[self.before[0]:],
                self.web_bad.requests()[self.before[1]:])

    def assert_peer_gave_no_payload(self):
        status = self.peer.status()
        self.assertEqual((status["upload"], status["download"], status["pieces"]), (0, 0, 0),
                         f"the metadata-only peer: {status}")

    def assert_from_listed_mirror_only(self, result):
        self.assertTrue(result.ok, str(result))
        self.assertEqual(clients.check_payload(self.torrent, self.dest), [])
        good, bad = self.mirror_requests()
        self.assertTrue(good and all(r.method == "GET" and r.range for r in good), good)
        self.assertTrue(all(r.path.startswith("/" + SYMLINKS + "/stage3-arm64-openrc-")
                            for r in good), good)
        self.assertEqual(bad, [], "nothing from the mirror the listing left out")
        self.assert_peer_gave_no_payload()

    def test_magnet_carries_the_tracker_and_the_listed_mirror_only(self):
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(self.magnet).query)
        self.assertEqual(q["xt"], [f"urn:btih:{self.v1}"])
        self.assertEqual(q["dn"], ["stage3-arm64-openrc-20261201T000000Z"])
        self.assertEqual(q["tr"], [self.tracker.announce_url])
        self.assertEqual(q["ws"], [self.good_ws])

    def test_libtorrent_downloads_the_magnet_from_the_listed_mirror(self):
        result = clients.libtorrent_download_magnet(self.magnet, self.torrent, self.dest,
                                                    timeout=DOWNLOAD_TIMEOUT)
        self.assertIn("metadata after", result.detail)
        self.assert_from_listed_mirror_only(result)
        self.assertTrue([a for a in self.tracker.announces() if a.port != self.peer.port
                         and a.user_agent.startswith("libtorrent/")],
                        "it announced: the tracker gave it the peer")

    def test_transmission_downloads_the_magnet_from_the_listed_mirror(self):
        def dial_in(announce):
            if announce.port != self.peer.port and announce.user_agent.startswith("Transmission"):
                self.peer.connect(announce.ip, announce.port)

        self.tracker.on_announce = dial_in
        self.addCleanup(setattr, self.tracker, "on_announce", None)
        result = clients.transmission_download_magnet(self.magnet, self.torrent, self.dest,
                                                      timeout=DOWNLOAD_TIMEOUT)
        self.assertIn("(metadata: yes)", result.detail)
        self.assert_from_listed_mirror_only(result)

    def test_transmission_takes_no_loopback_peer_from_the_tracker(self):
        """Why the peer dials in above: without it Transmission 3.00 announces, is given the
        peer (127.0.0.1) and drops it, so it never gets the metadata (a loopback artefact:
        a seed on a real network is an ordinary address)."""
        result = clients.transmission_download_magnet(self.magnet, self.torrent, self.dest,
                                                      timeout=DOWNLOAD_TIMEOUT,
                                                      idle_timeout=GIVE_UP)
        self.assertFalse(result.ok, str(result))
        self.assertIn("(metadata: no)", result.detail)
        self.assertTrue([a for a in self.tracker.announces()
                         if a.user_agent.startswith("Transmission/")
                         and a.event != "stopped"], "it announced")
        self.assertIn(("127.0.0.1", self.peer.port), self.tracker.peers(self.v1),
                      "the tracker lists the peer")
        self.assertEqual(self.mirror_requests(), ([], []))

    def test_aria2c_gets_the_metadata_but_ignores_ws(self):
        result = clients.aria2c_download_magnet(self.magnet, self.torrent, self.dest,
                                                timeout=DOWNLOAD_TIMEOUT, idle_timeout=GIVE_UP)
        self.assertFalse(result.ok, str(result))
        self.assertIn("(metadata: yes)", result.detail, "it found the peer and the metadata")
        self.assertIn("--bt-stop-timeout", result.detail)
        self.assertEqual(self.mirror_requests(), ([], []), "aria2 1.36 never uses ws=")
        self.assert_peer_gave_no_payload()

    def test_without_ws_the_metadata_comes_but_no_payload(self):
        parts = urllib.parse.urlsplit(self.magnet).query.split("&")
        bare = "magnet:?" + "&".join(p for p in parts if not p.startswith("ws="))
        self.assertNotIn("ws=", bare)
        result = clients.libtorrent_download_magnet(bare, self.torrent, self.dest,
                                                    timeout=DOWNLOAD_TIMEOUT,
                                                    idle_timeout=GIVE_UP)
        self.assertFalse(result.ok, str(result))
        self.assertIn("metadata after", result.detail)
        self.assertIn(f"no payload byte for {GIVE_UP}s", result.detail)
        self.assertIn("downloaded 0 bytes", result.detail)
        self.assertEqual(self.mirror_requests(), ([], []))
        self.assert_peer_gave_no_payload()


class TrackerFixtureTest(unittest.TestCase):
    """fixtures/tracker.py answers like a tracker: compact peers without the requester,
    registered peers, event=stopped, failure reasons, 404 elsewhere."""

    def announce(self, tracker, info_hash, port, event=""):
        query = urllib.parse.urlencode({"info_hash": bytes.fromhex(info_hash), "port": port,
                                        "peer_id": b"-XX0000-" + bytes(12), "compact": 1,
                                        "left": 5, "event": event})
        with urllib.request.urlopen(f"{tracker.announce_url}?{query}", timeout=10) as res:
            return T.bdecode(res.read())

    def test_peers(self):
        ih = "ab" * 20
        with Tracker(interval=7) as tracker:
            tracker.register(ih, "127.0.0.2", 6881)
            doc = self.announce(tracker, ih, 1000, "started")
            self.assertEqual(doc[b"interval"], 7)
            self.assertEqual(doc[b"peers"], bytes([127, 0, 0, 2, 0x1A, 0xE1]))
            doc = self.announce(tracker, ih, 2000)
            self.assertEqual(sorted(doc[b"peers"][i:i + 6] for i in range(0, 12, 6)),
                             [bytes([127, 0, 0, 1, 0x03, 0xE8]), bytes([127, 0, 0, 2, 0x1A, 0xE1])])
            self.announce(tracker, ih, 1000, "stopped")
            self.assertEqual(tracker.peers(ih), [("127.0.0.1", 2000), ("127.0.0.2", 6881)])
            self.assertEqual([(a.port, a.event, a.left) for a in tracker.announces()],
                             [(1000, "started", 5), (2000, "", 5), (1000, "stopped", 5)])
            with urllib.request.urlopen(tracker.announce_url + "?port=1", timeout=10) as res:
                self.assertIn(b"failure reason", T.bdecode(res.read()))
            with self.assertRaises(urllib.error.HTTPError) as e:
                urllib.request.urlopen(f"http://127.0.0.1:{tracker.port}/scrape", timeout=10)
            self.assertEqual(e.exception.code, 404)
            port = tracker.port
        with self.assertRaises(OSError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/announce", timeout=2)


if __name__ == "__main__":
    unittest.main()
