"""`webseed-agent check` on mirrors made with real rsync from a generated upstream, judged
against torrents made by real tools (mktorrent v1, python3-libtorrent hybrid) of the upstream's
entries. Asserts exact codes per torrent and per path (docs/check.md)."""

import json
import os
import unittest

import jsonschema  # Debian python3-jsonschema

import harness
from fixtures import mirror
from fixtures import torrents as T

SYMLINKS = mirror.SYMLINKS_DIR
SCHEMA = jsonschema.Draft202012Validator(
    json.loads((harness.REPO / "docs" / "check.schema.json").read_text()))


class MirrorWithTorrents(harness.TreeTestCase):
    """An upstream, torrents of its entries, and helpers to mirror it and run check."""

    def setUp(self):
        super().setUp()
        self.upstream = self.tmp / "upstream"
        self.layout = mirror.build(self.upstream, mirror.default_layout(payload_size={
            "releases/x86/2007.0/stages/stage3-x86-2007.0.tar.bz2": 70_001}))
        self.tdir = self.tmp / "torrents"
        self.tdir.mkdir()
        entries = self.upstream / SYMLINKS
        self.names = sorted(os.listdir(entries))
        for name in self.names:
            if name.startswith("livecd"):
                T.lt_create(entries / name, self.tdir / f"{name}.torrent", piece_size=16 * 1024,
                            meta="hybrid")
            else:
                T.mktorrent(entries / name, self.tdir / f"{name}.torrent", piece_log2=15)

    def mirror(self, *opts):
        dest = self.tmp / "mirror"
        harness.run_rsync(harness.contents(self.upstream), dest, *opts)
        return dest

    def check(self, root, *extra):
        result = harness.run_agent("check", "--root", root, "--torrents", self.tdir, "--json",
                                   "--state-dir", self.tmp / "state", *extra)
        self.assertIn(result.returncode, (0, 1), str(result))
        doc = result.json()
        problems = [f"{list(e.absolute_path)}: {e.message}" for e in SCHEMA.iter_errors(doc)]
        self.assertEqual(problems, [], "docs/check.schema.json")
        self.assertEqual(doc["version"], 1)
        self.assertEqual(doc["ready"], result.returncode == 0, str(result))
        self.assertEqual(doc["ready"], all(t["ready"] for t in doc["torrents"]))
        for t in doc["torrents"]:
            self.assertEqual(t["ready"],
                             not any(f["severity"] == "error" for f in t["findings"]), t)
        return result, doc

    # The hybrid torrent is not for Transmission 3: a warning about the torrent, on every mirror.
    TORRENT_LEVEL = {"torrent-format-unsupported"}

    def codes(self, doc):
        """{torrent name: {path relative to the symlinks dir: [codes]}}, torrent-level
        warnings left out"""
        out = {}
        for t in doc["torrents"]:
            per = out.setdefault(t["name"], {})
            for f in t["findings"]:
                if f["code"] in self.TORRENT_LEVEL:
                    continue
                per.setdefault(f["path"].removeprefix(SYMLINKS + "/"), []).append(f["code"])
        return out


class CheckTest(MirrorWithTorrents):
    def test_clean_mirror_is_ready(self):
        result, doc = self.check(self.mirror("-a"))
        self.assertEqual(result.returncode, 0, str(result))
        self.assertEqual(sorted(t["name"] for t in doc["torrents"]), self.names)
        payload = sum(p.size for p in self.layout.payloads)
        self.assertEqual(sum(t["bytes"] for t in doc["torrents"]), payload)
        for t in doc["torrents"]:
            self.assertEqual([f for f in t["findings"] if f["code"] not in self.TORRENT_LEVEL],
                             [])
            self.assertRegex(t["info_hash_v1"], "^[0-9a-f]{40}$")

    def test_rsync_without_links(self):
        """rsync without --links leaves the entry directories empty: check names the cause
        the links audit names (empty-entry, once per entry, with the --links hint), not a
        missing-file per file (issue 15)."""
        root = self.mirror("-rt")
        _, doc = self.check(root)
        links = harness.run_agent("links", "--root", root, "--json")
        by_links = {e["name"]: [f["code"] for f in e["findings"]]
                    for e in links.json()["entries"]}
        for t in doc["torrents"]:
            per = self.codes(doc)[t["name"]]
            with self.subTest(torrent=t["name"]):
                if (self.upstream / SYMLINKS / t["name"]).is_dir():   # multi-file
                    self.assertEqual(per, {t["name"]: ["empty-entry"]})
                    self.assertEqual(by_links[t["name"]], ["empty-entry"])
                    hint = [f["hint"] for f in t["findings"] if f["code"] == "empty-entry"]
                    self.assertIn("--links", hint[0])
                else:
                    self.assertTrue(per)
                    self.assertTrue(all(c == ["missing-file"] for c in per.values()), per)

    def test_releases_not_mirrored(self):
        _, doc = self.check(self.mirror("-a", "--exclude", "releases/"))
        for per in self.codes(doc).values():
            self.assertTrue(all(c == ["dangling"] for c in per.values()), per)

    def test_copies_are_warnings_and_still_ready(self):
        result, doc = self.check(self.mirror("-rtL"))
        self.assertEqual(result.returncode, 0, str(result))
        for per in self.codes(doc).values():
            self.assertTrue(all(c == ["not-symlink"] for c in per.values()), per)

    def test_half_synced_and_corrupt_files(self):
        root = self.mirror("-a")
        stage3 = root / "releases/x86/2007.0/stages/stage3-x86-2007.0.tar.bz2"
        data = bytearray(stage3.read_bytes())
        data[40_000] ^= 0xFF  # piece 1 of 32 KiB pieces
        stage3.write_bytes(bytes(data))
        iso = root / "releases/x86/2007.0/installcd/install-x86-minimal-2007.0.iso"
        os.truncate(iso, 100)
        (root / SYMLINKS / "stage3-x86-2007.0" / "old.asc").write_text("x")
        _, doc = self.check(root)
        codes = self.codes(doc)
        self.assertEqual(codes["stage3-x86-2007.0"], {
            "stage3-x86-2007.0/stage3-x86-2007.0.tar.bz2": ["hash-mismatch"],
            "stage3-x86-2007.0/old.asc": ["unexpected-file"]})
        self.assertEqual(codes["install-x86-minimal-2007.0.iso"],
                         {"install-x86-minimal-2007.0.iso": ["size-mismatch"]})
        bad = [f for t in doc["torrents"] for f in t["findings"] if f["code"] == "hash-mismatch"]
        self.assertEqual(bad[0]["pieces"], [1])
        self.assertEqual(bad[0]["byte_ranges"], [[32768, 65536]])
        ready = {t["name"]: t["ready"] for t in doc["torrents"]}
        self.assertFalse(ready["stage3-x86-2007.0"])
        self.assertTrue(ready["portage-2007.0.tar.bz2"])

    def test_hostile_links_are_not_followed(self):
        root = self.mirror("-a")
        link = root / SYMLINKS / "portage-2007.0.tar.bz2"
        link.unlink()
        os.symlink("../../../../../../../dev/zero", link)
        result, doc = self.check(root)
        self.assertEqual(self.codes(doc)["portage-2007.0.tar.bz2"],
                         {"portage-2007.0.tar.bz2": ["escapes-root"]})

    def test_invalid_torrent_never_stops_the_others(self):
        (self.tdir / "broken.torrent").write_bytes(b"d4:infod")
        _, doc = self.check(self.mirror("-a"))
        broken = [t for t in doc["torrents"] if t["torrent"].endswith("broken.torrent")]
        self.assertEqual([f["code"] for f in broken[0]["findings"]], ["torrent-invalid"])
        self.assertEqual(sum(t["ready"] for t in doc["torrents"]), len(self.names))

    def test_quirks_clients_accept_are_warnings_and_still_ready(self):
        """Issue 12: a newline after the top-level dictionary (Android-x86 8.1 r6, BitComet
        torrents) and file dictionaries with unsorted keys (older tools): libtorrent, aria2 and
        Transmission read them; check says ready with one torrent-noncanonical warning that
        names the byte offset."""
        v1_multi = [n for n in self.names if b"5:filesl" in (self.tdir / f"{n}.torrent")
                    .read_bytes() and not n.startswith("livecd")]  # livecd*: hybrid (setUp)
        multi = v1_multi[0]
        single = next(n for n in self.names if n != multi)
        # the single-file torrent with a newline after its top-level dictionary
        path = self.tdir / f"{single}.torrent"
        newline_at = len(path.read_bytes())
        path.write_bytes(path.read_bytes() + b"\n")
        # the multi-file torrent re-encoded with 'path' before 'length' in every file dict
        path = self.tdir / f"{multi}.torrent"
        torrent = T.bdecode(path.read_bytes())
        info = torrent[b"info"]
        info[b"files"] = [T.Pairs(sorted(f.items(), reverse=True)) for f in info[b"files"]]
        data = T.bencode(T.Pairs(torrent.items()))
        path.write_bytes(data)
        first_length = data.index(b"6:length", data.index(b"5:filesl"))

        result, doc = self.check(self.mirror("-a"))
        self.assertEqual(result.returncode, 0, str(result))
        self.assertTrue(doc["ready"])
        by_name = {t["name"]: t for t in doc["torrents"]}
        self.assertEqual(sorted(by_name), self.names)
        for name, t in by_name.items():
            self.assertTrue(t["ready"], t)
            quirks = [f for f in t["findings"] if f["code"] == "torrent-noncanonical"]
            if name not in (single, multi):
                self.assertEqual(quirks, [], name)
                continue
            self.assertEqual(len(quirks), len(t["findings"]), t["findings"])
            (finding,) = quirks
            self.assertEqual((finding["code"], finding["severity"]),
                             ("torrent-noncanonical", "warning"))
            self.assertEqual(finding["path"], t["torrent"])
            if name == single:
                self.assertEqual(finding["message"],
                                 f"{t['torrent']}: byte {newline_at}: trailing data after the "
                                 "top-level value (1 byte after the end)")
            else:
                self.assertTrue(finding["message"].startswith(
                    f"{t['torrent']}: byte {first_length}: dictionary keys not sorted "
                    "('length' after 'path')"), finding["message"])
        self.assertEqual(sum(t["bytes"] for t in doc["torrents"]),
                         sum(p.size for p in self.layout.payloads))
        human = harness.run_agent("check", "--root", self.tmp / "mirror", "--torrents",
                                  self.tdir, "--state-dir", self.tmp / "state")
        self.assertEqual(human.returncode, 0, str(human))
        self.assertIn("torrent-noncanonical", human.out)

    def test_human_output_and_usage_errors(self):
        root = self.mirror("-a", "--exclude", "releases/amd64/")
        result = harness.run_agent("check", "--root", root, "--torrents", self.tdir,
                                   "--state-dir", self.tmp / "state")
        self.assertEqual(result.returncode, 1)
        self.assertIn("NOT READY  livecd-amd64-2007.0", result.out)
        self.assertIn("dangling", result.out)
        self.assertIn(f"of {len(self.names)} torrents ready", result.out)
        none = harness.run_agent("check", "--root", root, "--state-dir", self.tmp / "state")
        self.assertEqual(none.returncode, 2)
        self.assertIn("no torrents to check", none.err)
        missing = harness.run_agent("check", "--root", root, "--torrents", self.tmp / "nope",
                                    "--state-dir", self.tmp / "state")
        self.assertEqual(missing.returncode, 2)

    def test_config_supplies_root_and_torrents(self):
        root = self.mirror("-a")
        config = self.tmp / "agent.yaml"
        config.write_text(f"mirror: {{name: m, root: {root}}}\ntorrents:\n  - {self.tdir}\n"
                          f"state_dir: {self.tmp / 'state'}\n")
        result = harness.run_agent("--config", config, "check", "--json", "--jobs", "1")
        self.assertEqual(result.returncode, 0, str(result))
        self.assertTrue(result.json()["ready"])


class CacheTest(MirrorWithTorrents):
    """The verification cache: unchanged payloads are not re-read; any change is noticed."""

    def bytes_and_cached(self, doc):
        return sum(t["bytes"] for t in doc["torrents"]), [t["cached"] for t in doc["torrents"]]

    def test_unchanged_mirror_is_not_reread(self):
        root = self.mirror("-a")
        _, first = self.check(root)
        self.assertGreater(self.bytes_and_cached(first)[0], 0)
        _, second = self.check(root)
        self.assertEqual(self.bytes_and_cached(second), (0, [True] * len(self.names)))
        self.assertTrue(second["ready"])
        _, full = self.check(root, "--full")
        self.assertEqual(self.bytes_and_cached(full)[0], self.bytes_and_cached(first)[0])

    def test_change_in_place_with_mtime_put_back_is_reverified(self):
        root = self.mirror("-a")
        self.check(root)
        stage3 = root / "releases/x86/2007.0/stages/stage3-x86-2007.0.tar.bz2"
        before = os.stat(stage3)
        with open(stage3, "r+b") as f:
            f.seek(100)
            byte = f.read(1)
            f.seek(100)
            f.write(bytes([byte[0] ^ 1]))
        os.utime(stage3, ns=(before.st_atime_ns, before.st_mtime_ns))
        self.assertEqual(os.stat(stage3).st_mtime_ns, before.st_mtime_ns)
        _, doc = self.check(root)
        self.assertEqual(self.codes(doc)["stage3-x86-2007.0"],
                         {"stage3-x86-2007.0/stage3-x86-2007.0.tar.bz2": ["hash-mismatch"]})
        # A failure is never cached: the next run says the same.
        _, again = self.check(root)
        self.assertEqual(self.codes(again), self.codes(doc))

    def test_only_changed_files_are_reread(self):
        root = self.mirror("-a")
        self.check(root)
        iso = root / "releases/amd64/2007.0/livecd/livecd-amd64-installer-2007.0.iso"
        digests = root / "releases/x86/2007.0/stages/stage3-x86-2007.0.tar.bz2.DIGESTS"
        for path in (iso, digests):
            os.utime(path, ns=(0, os.stat(path).st_mtime_ns + 1_000_000_000))
        _, doc = self.check(root)
        self.assertTrue(doc["ready"])
        by_name = {t["name"]: t for t in doc["torrents"]}
        livecd, stage3 = by_name["livecd-amd64-2007.0"], by_name["stage3-x86-2007.0"]
        # Hybrid: pieces are file-aligned, so exactly the touched file is read.
        self.assertEqual((livecd["bytes"], livecd["files_cached"], livecd["cached"]),
                         (iso.stat().st_size, 2, False))
        # v1, 32 KiB pieces: DIGESTS (4113 bytes) follows the 70001-byte tarball, so its one
        # piece also holds the tarball's last 4465 bytes; the rest of the tarball is not read.
        self.assertEqual((stage3["bytes"], stage3["files_cached"], stage3["cached"]),
                         (70001 - 65536 + digests.stat().st_size, 1, False))
        for name, t in by_name.items():
            if name not in ("livecd-amd64-2007.0", "stage3-x86-2007.0"):
                self.assertEqual((t["bytes"], t["cached"]), (0, True), name)
        _, again = self.check(root)
        self.assertEqual(self.bytes_and_cached(again), (0, [True] * len(self.names)))

    def test_shared_piece_mismatch_is_blamed_on_the_changed_file(self):
        root = self.mirror("-a")
        self.check(root)
        tarball = root / "releases/x86/2007.0/stages/stage3-x86-2007.0.tar.bz2"
        with open(tarball, "r+b") as f:  # the last piece, which DIGESTS shares
            f.seek(70000)
            byte = f.read(1)
            f.seek(70000)
            f.write(bytes([byte[0] ^ 1]))
        entry = "stage3-x86-2007.0/"
        _, doc = self.check(root)
        self.assertEqual(self.codes(doc)["stage3-x86-2007.0"],
                         {entry + "stage3-x86-2007.0.tar.bz2": ["hash-mismatch"]})
        # Without the cache nothing says which of the two changed: both are named.
        _, full = self.check(root, "--full")
        self.assertEqual(self.codes(full)["stage3-x86-2007.0"],
                         {entry + "stage3-x86-2007.0.tar.bz2": ["hash-mismatch"],
                          entry + "stage3-x86-2007.0.tar.bz2.DIGESTS": ["hash-mismatch"]})

    def test_low_priority_and_jobs_from_the_config(self):
        root = self.mirror("-a")
        config = self.tmp / "agent.yaml"
        config.write_text(f"mirror: {{name: m, root: {root}}}\ntorrents:\n  - {self.tdir}\n"
                          f"state_dir: {self.tmp / 'state'}\n"
                          "verify: {jobs: 1, nice: 19, io_class: idle}\n")
        result = harness.run_agent("--config", config, "check", "--low-priority", "--full")
        self.assertEqual(result.returncode, 0, str(result))
        self.assertNotIn("warning", result.err)
        self.assertIn("READY: 4 of 4 torrents ready", result.out)

    def test_corrupt_database_is_rebuilt_with_a_warning(self):
        root = self.mirror("-a")
        self.check(root)
        (self.tmp / "state" / "state.sqlite").write_bytes(b"not a database at all" * 100)
        for name in ("state.sqlite-wal", "state.sqlite-shm"):
            (self.tmp / "state" / name).unlink(missing_ok=True)
        result, doc = self.check(root)
        self.assertIn("rebuilt", result.err)
        self.assertTrue(doc["ready"])
        self.assertGreater(self.bytes_and_cached(doc)[0], 0)
        _, cached = self.check(root)
        self.assertEqual(self.bytes_and_cached(cached)[0], 0)

    def test_rescan_after_rehashes_anyway(self):
        import time
        root = self.mirror("-a")
        config = self.tmp / "agent.yaml"
        config.write_text(f"mirror: {{name: m, root: {root}}}\ntorrents:\n  - {self.tdir}\n"
                          f"state_dir: {self.tmp / 'state'}\nverify:\n  rescan_after: 1s\n")
        run = lambda: harness.run_agent("--config", config, "check", "--json").json()
        self.assertGreater(self.bytes_and_cached(run())[0], 0)
        time.sleep(1.1)
        self.assertGreater(self.bytes_and_cached(run())[0], 0)


class CheckErrorPaths(MirrorWithTorrents):
    """What a user hits when the set-up is wrong: never a wrong verdict, a clear message."""

    def test_missing_mirror_root_is_a_usage_error(self):
        result = harness.run_agent("check", "--root", self.tmp / "no-such-mirror", "--torrents",
                                   self.tdir, "--state-dir", self.tmp / "state")
        self.assertEqual(result.returncode, 2, str(result))
        self.assertIn("mirror root", result.err)
        self.assertIn("No such file or directory", result.err)

    def test_unusable_state_dir_warns_and_hashes_everything(self):
        root = self.mirror("-a")
        blocker = self.tmp / "state-is-a-file"
        blocker.write_text("not a directory")
        for _ in range(2):
            result = harness.run_agent("check", "--root", root, "--torrents", self.tdir,
                                       "--json", "--state-dir", blocker)
            self.assertEqual(result.returncode, 0, str(result))
            self.assertIn("running without the cache", result.err)
            doc = result.json()
            self.assertTrue(doc["ready"])
            self.assertFalse(any(t["cached"] for t in doc["torrents"]))
            self.assertGreater(sum(t["bytes"] for t in doc["torrents"]), 0)


if __name__ == "__main__":
    unittest.main()
