"""The central team's side of the loop (issue 16), end to end with real parts only: a bare
release tree (generated: ISOs, stage tarballs with .DIGESTS/.asc/.CONTENTS.gz/.sha256, an
image without companions), `webseed-collector make-torrents` and `make-tree`, `rsync -a` to
mirrors served by nginx, the real agent's `links` and `check`, its reports to the collector,
the collector's spot checks, then the live torrents and magnets: the live torrent downloaded
by libtorrent, aria2c and Transmission from the listed mirrors (the corrupt one is not in
its url-list).

Cases: the whole loop (v1, the default); idempotence of both commands (nothing rewritten,
rsync -a then transfers nothing); hybrid torrents with BEP 47 pad files served from the
shared pad files (libtorrent and aria2c; Transmission 3.00 cannot open hybrids and the
command says so); what make-torrents never reads (a link out of the tree, a FIFO, the
symlinks tree itself). Contracts: contrib/collector/make_torrents.h, make_tree.h,
live_torrents.h, url_policy.h."""

import json
import os
import shutil
import subprocess
import time
import unittest
import urllib.parse
from pathlib import Path

import harness
from fixtures import clients, webservers
from fixtures import fake_reports as R
from fixtures import torrents as T
from fixtures.collector import Collector, collector_path

SYMLINKS = "experimental/torrent-symlinks"
COLLECTOR_TIMEOUT = 60
DOWNLOAD_TIMEOUT = 60


def release_tree(root: Path) -> None:
    """A bare release tree as a distribution's build hosts leave it."""
    def put(rel, data):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    iso = "releases/amd64/autobuilds/20261201T000000Z/install-amd64-minimal-20261201T000000Z.iso"
    put(iso, T.content(1, 700_001))
    put(iso + ".DIGESTS", b"# SHA512 HASH\nabc  install-amd64-minimal.iso\n")
    put(iso + ".asc", b"-----BEGIN PGP SIGNATURE-----\nxyz\n-----END PGP SIGNATURE-----\n")
    put(iso + ".CONTENTS.gz", T.content(2, 3_333))
    stage = "releases/arm64/autobuilds/20261201T000000Z/stage3-arm64-openrc-20261201T000000Z.tar.xz"
    put(stage, T.content(3, 450_000))
    put(stage + ".DIGESTS", b"# BLAKE2B HASH\n")
    put(stage + ".asc", b"sig\n")
    put(stage + ".CONTENTS.gz", T.content(4, 1_000))
    put(stage + ".sha256", b"0123  stage3\n")
    put("experimental/riscv/rootfs-20261201.img.xz", T.content(5, 123_457))
    put("releases/README.txt", b"not an artefact\n")


def collector_cli(*args, check=True):
    proc = subprocess.run([str(collector_path()), *map(str, args)], capture_output=True,
                          text=True, stdin=subprocess.DEVNULL, timeout=COLLECTOR_TIMEOUT)
    if check and proc.returncode != 0:
        raise AssertionError(f"webseed-collector {' '.join(map(str, args))}: exit "
                             f"{proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


def findings_of(doc):
    """Every finding anywhere in an agent JSON document."""
    out = []
    if isinstance(doc, dict):
        for k, v in doc.items():
            if k == "findings" and isinstance(v, list):
                out += v
            else:
                out += findings_of(v)
    elif isinstance(doc, list):
        for v in doc:
            out += findings_of(v)
    return out


class CentralLoopTest(harness.TreeTestCase):
    def make(self, fmt="v1", *extra):
        self.up = self.tmp / "upstream"
        if not self.up.exists():
            release_tree(self.up)
        self.tdir = self.tmp / "torrents"
        made = collector_cli("make-torrents", "--root", self.up, "--out", self.tdir,
                             "--format", fmt, *extra)
        tree = collector_cli("make-tree", "--root", self.up, "--torrents", self.tdir)
        return made, tree

    def assert_clean(self, root, tdir):
        links = harness.run_agent("links", "--root", root)
        self.assertExit(links, 0)
        self.assertIn("0 errors, 0 warnings", links.out, str(links))
        check = harness.run_agent("check", "--root", root, "--torrents", tdir, "--no-probe",
                                  "--state-dir", self.tmp / f"state-{root.name}", "--json")
        self.assertExit(check, 0)
        return findings_of(check.json())

    def test_release_tree_to_live_torrents_downloaded_by_three_clients(self):
        made, tree = self.make()
        self.assertIn("3 torrents written, 0 unchanged, 0 problems", made.stdout, made.stdout)
        self.assertIn("3 entries", tree.stdout)
        names = sorted(p.name for p in self.tdir.iterdir())
        self.assertEqual(names, ["install-amd64-minimal-20261201T000000Z.torrent",
                                 "rootfs-20261201.img.xz.torrent",
                                 "stage3-arm64-openrc-20261201T000000Z.torrent"])
        iso = T.bdecode((self.tdir / names[0]).read_bytes())
        self.assertEqual([f[b"path"][-1] for f in iso[b"info"][b"files"]],
                         [b"install-amd64-minimal-20261201T000000Z.iso",
                          b"install-amd64-minimal-20261201T000000Z.iso.CONTENTS.gz",
                          b"install-amd64-minimal-20261201T000000Z.iso.DIGESTS",
                          b"install-amd64-minimal-20261201T000000Z.iso.asc"])
        self.assertTrue(iso[b"created by"].startswith(b"webseed-collector "))
        self.assertEqual(self.assert_clean(self.up, self.tdir), [], "v1: no finding at all")

        # Two mirrors by rsync -a; the second is corrupted behind its report's back.
        good, bad = self.tmp / "good", self.tmp / "bad"
        for m in (good, bad):
            harness.run_rsync(harness.contents(self.up), m, "-a")
            again = harness.run_rsync(harness.contents(self.up), m, "-ai")
            self.assertEqual(again.stdout.strip(), "", "rsync -a: the tree arrived unchanged")
            self.assertEqual(self.assert_clean(m, self.tdir), [])

        with webservers.Nginx(good) as web_good, webservers.Nginx(bad) as web_bad:
            col = Collector(self.tmp, self.tdir, spot_check=True,
                            extra_config="  round_every: 1h\n  pieces: 64\n"
                                         "publish:\n  trackers: [udp://tracker.example:6969]\n"
                                         "  fallback_webseeds: [http://origin.invalid/pub/]\n")
            col.start()
            self.addCleanup(col.stop)
            for name, root, web in (("good", good, web_good), ("bad", bad, web_bad)):
                token = col.add_mirror(name, web.base_url)
                report = R.dry_run_report(self.tmp, root, self.tdir, web.base_url, name=name)
                self.assertTrue(report["ready"], name)
                status, answer = col.post_report(report, token)
                self.assertEqual(status, 202, answer)
            target = bad / "releases/arm64/autobuilds/20261201T000000Z/" \
                           "stage3-arm64-openrc-20261201T000000Z.tar.xz"
            data = bytearray(target.read_bytes())
            for i in range(0, len(data), 4096):
                data[i] ^= 0xFF
            target.write_bytes(bytes(data))
            col.cli("spot-check")

            good_ws = web_good.base_url + SYMLINKS + "/"
            bad_ws = web_bad.base_url + SYMLINKS + "/"
            origin = "http://origin.invalid/pub/"
            for tname in names:
                status, headers, body = col.get(f"/torrents/{urllib.parse.quote(tname)}")
                self.assertEqual(status, 200, body[:200])
                self.assertEqual(headers.get("content-type"), "application/x-bittorrent")
                made_bytes = (self.tdir / tname).read_bytes()
                self.assertEqual(T.info_hashes(body), T.info_hashes(made_bytes),
                                 "info dictionary byte-identical")
                live = T.bdecode(body)
                # The corrupt mirror is out of the stage3 torrent's list only; where both are
                # listed, the one whose spot checks all passed comes first; the fallback last.
                expected = [good_ws, origin] if "stage3" in tname else [good_ws, bad_ws, origin]
                self.assertEqual([u.decode() for u in live[b"url-list"]], expected, tname)
                etag = headers.get("etag")
                self.assertTrue(etag and headers.get("last-modified"), headers)
                status, headers2, body2 = col.get(f"/torrents/{urllib.parse.quote(tname)}",
                                                  headers={"If-None-Match": etag})
                self.assertEqual((status, body2), (304, b""))

                v1 = T.info_hashes(made_bytes)[0]
                magnet = col.json(f"/api/v1/torrents/{v1}/magnet")["magnet"]
                q = urllib.parse.parse_qs(urllib.parse.urlsplit(magnet).query)
                self.assertEqual(q["xt"], [f"urn:btih:{v1}"])
                self.assertEqual(q["ws"], expected)
                self.assertEqual(q["tr"], ["udp://tracker.example:6969"])
                self.assertEqual(q["dn"], [live[b"info"][b"name"].decode()])
                # libtorrent reads it: the same torrent, the ws= as its web seeds. (The
                # metadata comes from peers: test_magnet_download downloads magnets.)
                import libtorrent  # python3-libtorrent (/usr/bin/python3), as clients.py does
                params = libtorrent.parse_magnet_uri(magnet)
                self.assertEqual(str(params.info_hashes.v1), v1)
                self.assertEqual(list(params.url_seeds), expected)

            # The live stage3 torrent lists the good mirror (and the fallback, which nothing
            # serves here): the clients download from the listed mirror only.
            stage_live = self.tmp / "live-stage3.torrent"
            status, _, body = col.get(f"/torrents/{urllib.parse.quote(names[2])}")
            stage_live.write_bytes(body)
            for client in (clients.libtorrent_download, clients.aria2c_download,
                           clients.transmission_download):
                dest = self.tmp / f"dl-{client.__name__}"
                dest.mkdir()
                result = client(stage_live, dest, timeout=DOWNLOAD_TIMEOUT)
                self.assertTrue(result.ok, f"{client.__name__}: {result}")

    def test_both_commands_are_idempotent(self):
        self.make()
        before = {p.name: (p.read_bytes(), p.stat().st_ino) for p in self.tdir.iterdir()}
        entry = self.up / SYMLINKS / "install-amd64-minimal-20261201T000000Z"
        inode = entry.stat().st_ino
        mirror_root = self.tmp / "m"
        harness.run_rsync(harness.contents(self.up), mirror_root, "-a")
        made, tree = self.make()
        self.assertIn("0 torrents written, 3 unchanged", made.stdout)
        self.assertIn("(unchanged)", tree.stdout)
        after = {p.name: (p.read_bytes(), p.stat().st_ino) for p in self.tdir.iterdir()}
        self.assertEqual(before, after, "byte for byte, not even rewritten")
        self.assertEqual(entry.stat().st_ino, inode)
        again = harness.run_rsync(harness.contents(self.up), mirror_root, "-ai")
        self.assertEqual(again.stdout.strip(), "", "rsync -a has nothing to transfer")

        # A release removed upstream: make-torrents --prune removes its torrent (and only
        # torrents it made: a hand-made one stays), then its entry leaves the tree.
        for p in (self.up / "experimental/riscv").iterdir():
            p.unlink()
        foreign = self.tdir / "hand-made.torrent"
        T.mktorrent(self.up / "releases/README.txt", foreign, piece_log2=15)
        made = collector_cli("make-torrents", "--root", self.up, "--out", self.tdir)
        self.assertIn("0 problems (", made.stdout, "without --prune nothing is removed")
        self.assertTrue((self.tdir / "rootfs-20261201.img.xz.torrent").exists())
        # A release tree with a problem (two groups would share a name: both left out):
        # --prune removes nothing (a group it could not make may be one whose torrent exists).
        for arch in ("x", "y"):
            (self.up / f"releases/{arch}").mkdir()
            (self.up / f"releases/{arch}/dup.iso").write_bytes(b"iso")
            (self.up / f"releases/{arch}/dup.iso.DIGESTS").write_bytes(b"sums")
        made = collector_cli("make-torrents", "--root", self.up, "--out", self.tdir, "--prune",
                             check=False)
        self.assertEqual(made.returncode, 1, made.stdout + made.stderr)
        self.assertIn("--prune removed nothing", made.stderr)
        self.assertIn(", 0 removed (", made.stdout)
        self.assertTrue((self.tdir / "rootfs-20261201.img.xz.torrent").exists())
        for arch in ("x", "y"):
            shutil.rmtree(self.up / f"releases/{arch}")
        made = collector_cli("make-torrents", "--root", self.up, "--out", self.tdir, "--prune")
        self.assertIn(f"removed {self.tdir / 'rootfs-20261201.img.xz.torrent'}", made.stdout)
        self.assertIn("0 torrents written, 2 unchanged, 0 problems, 1 removed (", made.stdout)
        self.assertEqual(sorted(p.name for p in self.tdir.iterdir()),
                         ["hand-made.torrent", "install-amd64-minimal-20261201T000000Z.torrent",
                          "stage3-arm64-openrc-20261201T000000Z.torrent"])
        foreign.unlink()
        _, tree = self.make()
        self.assertIn("2 entries", tree.stdout)
        self.assertFalse(os.path.lexists(self.up / SYMLINKS / "rootfs-20261201.img.xz"))
        self.assertEqual(self.assert_clean(self.up, self.tdir), [])

    def test_hybrid_pad_files_are_served_and_clients_download(self):
        made, tree = self.make("hybrid", "--piece-length", "65536")
        self.assertIn("Transmission 3.00", made.stderr, "the hybrid warning")
        pads = sorted(os.listdir(self.up / (SYMLINKS + "-pad")))
        self.assertTrue(pads, tree.stdout)
        codes = {f["code"] for f in self.assert_clean(self.up, self.tdir)}
        self.assertEqual(codes, {"torrent-format-unsupported"}, "only the format's own warning")
        mirror_root = self.tmp / "m"
        harness.run_rsync(harness.contents(self.up), mirror_root, "-a")
        tname = "stage3-arm64-openrc-20261201T000000Z.torrent"
        with webservers.Nginx(mirror_root) as web:
            seeded = clients.with_url_list(self.tdir / tname, [web.base_url + SYMLINKS + "/"],
                                           self.tmp / "seeded.torrent")
            probe = harness.run_agent("check", "--root", mirror_root, "--torrents",
                                      self.tdir / tname, "--base-url", web.base_url,
                                      "--state-dir", self.tmp / "st", "--json")
            self.assertNotIn("pad-files-not-served",
                             {f["code"] for f in findings_of(probe.json())}, str(probe))
            for client in (clients.libtorrent_download, clients.aria2c_download):
                dest = self.tmp / f"dl-{client.__name__}"
                dest.mkdir()
                result = client(seeded, dest, timeout=DOWNLOAD_TIMEOUT)
                self.assertTrue(result.ok, f"{client.__name__}: {result}")

    def test_events_history_and_hook(self):
        """A mirror reported ready becomes listed, then is disabled: both mirror changes (and
        the pairs' changes) are events at /api/v1/mirrors/NAME/events, and the hook gets each
        mirror change as arguments."""
        self.make()
        root = self.tmp / "m"
        harness.run_rsync(harness.contents(self.up), root, "-a")
        calls = self.tmp / "calls"
        hook = self.tmp / "hook.sh"
        hook.write_text(f"#!/bin/sh\nprintf '%s|' \"$@\" >> {calls}\necho >> {calls}\n")
        hook.chmod(0o755)
        with webservers.Nginx(root) as web:
            col = Collector(self.tmp, self.tdir, spot_check=False,
                            extra_config=f"events:\n  on_mirror_change: [{hook}]\n"
                                         "  hook_timeout: 10s\n")
            col.start()
            self.addCleanup(col.stop)
            token = col.add_mirror("m1", web.base_url)
            report = R.dry_run_report(self.tmp, root, self.tdir, web.base_url, name="m1")
            self.assertEqual(col.post_report(report, token)[0], 202)

            def wait_for(state):
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline:
                    doc = col.json("/api/v1/mirrors/m1/events")
                    mine = [e for e in doc["events"] if e["info_hash"] is None]
                    if mine and mine[0]["to"] == state:
                        return doc["events"]
                    time.sleep(0.2)
                self.fail(f"no event to {state}: {col.json('/api/v1/mirrors/m1/events')}")

            events = wait_for("listed")
            pairs = [e for e in events if e["info_hash"]]
            self.assertEqual(len([e for e in pairs if e["to"] == "listed"]), 3, events)
            self.assertTrue(all(e["torrent"] for e in pairs))
            col.cli("mirror", "disable", "m1", check=True)
            events = wait_for("off")
            self.assertEqual(events[0]["from"], "listed")
            self.assertEqual(events[0]["reason"], "disabled by the central team")
            self.assertEqual(col.get("/api/v1/mirrors/nope/events")[0], 404)
            status, _, page = col.get("/?mirror=m1")     # the dashboard shows them too
            self.assertEqual(status, 200)
            page = page.decode()
            self.assertIn('<table id="events">', page)
            self.assertRegex(page, r"<td>\(the mirror\)</td><td>listed</td><td>off</td>"
                                   r"<td class=\"r\">disabled by the central team</td>")
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and calls.exists() \
                    and "off" not in calls.read_text():
                time.sleep(0.2)
            lines = calls.read_text().splitlines()
            self.assertIn("m1|listed|off|disabled by the central team|", lines, lines)
            self.assertTrue(any(line.startswith("m1||") or line.startswith("m1|not-listed|listed")
                                for line in lines), lines)

    def test_initial_url_list_from_the_config(self):
        up = self.tmp / "upstream"
        release_tree(up)
        config = self.tmp / "c.yaml"
        config.write_text("torrents: /nonexistent\npublish:\n"
                          "  fallback_webseeds: [https://origin.example/pub/experimental/"
                          "torrent-symlinks/]\n")
        collector_cli("--config", config, "make-torrents", "--root", up, "--out", self.tmp / "t")
        doc = T.bdecode((self.tmp / "t" / "rootfs-20261201.img.xz.torrent").read_bytes())
        self.assertEqual(doc[b"url-list"],
                         [b"https://origin.example/pub/experimental/torrent-symlinks/"])
        collector_cli("--config", config, "make-torrents", "--root", up, "--out", self.tmp / "u",
                      "--web-seed", "http://given/")
        doc = T.bdecode((self.tmp / "u" / "rootfs-20261201.img.xz.torrent").read_bytes())
        self.assertEqual(doc[b"url-list"], [b"http://given/"])
        bad = collector_cli("--config", self.tmp / "missing.yaml", "make-torrents", "--root", up,
                            "--out", self.tmp / "v", check=False)
        self.assertEqual(bad.returncode, 2, bad.stderr)
        self.assertIn("missing.yaml", bad.stderr)

    def test_never_reads_outside_the_tree_or_blocks(self):
        up = self.tmp / "upstream"
        release_tree(up)
        (up / "releases/evil.iso").symlink_to("/etc/passwd")
        os.mkfifo(up / "releases/fifo.iso")
        (up / "releases/outside").symlink_to("/usr/share")   # a directory link: not entered
        (up / SYMLINKS).mkdir(parents=True)
        (up / SYMLINKS / "copy.iso").write_bytes(b"never an artefact")
        made = collector_cli("make-torrents", "--root", up, "--out", self.tmp / "t")
        self.assertIn("3 torrents written", made.stdout, made.stdout + made.stderr)
        self.assertEqual(sorted(p.name for p in (self.tmp / "t").iterdir()),
                         ["install-amd64-minimal-20261201T000000Z.torrent",
                          "rootfs-20261201.img.xz.torrent",
                          "stage3-arm64-openrc-20261201T000000Z.torrent"])


if __name__ == "__main__":
    unittest.main()
