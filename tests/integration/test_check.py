"""`webseed-agent check` on mirrors made with real rsync from a generated upstream, judged
against torrents made by real tools (mktorrent v1, python3-libtorrent hybrid) of the upstream's
entries. Asserts exact codes per torrent and per path (docs/check.md)."""

import json
import os
import unittest

import harness
from fixtures import mirror
from fixtures import torrents as T

SYMLINKS = mirror.SYMLINKS_DIR


class CheckTest(harness.TreeTestCase):
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
                                   *extra)
        self.assertIn(result.returncode, (0, 1), str(result))
        doc = result.json()
        self.assertEqual(doc["version"], 1)
        self.assertEqual(doc["ready"], result.returncode == 0, str(result))
        self.assertEqual(doc["ready"], all(t["ready"] for t in doc["torrents"]))
        for t in doc["torrents"]:
            self.assertEqual(t["ready"],
                             not any(f["severity"] == "error" for f in t["findings"]), t)
        return result, doc

    def codes(self, doc):
        """{torrent name: {path relative to the symlinks dir: [codes]}}"""
        out = {}
        for t in doc["torrents"]:
            per = out.setdefault(t["name"], {})
            for f in t["findings"]:
                per.setdefault(f["path"].removeprefix(SYMLINKS + "/"), []).append(f["code"])
        return out

    def test_clean_mirror_is_ready(self):
        result, doc = self.check(self.mirror("-a"))
        self.assertEqual(result.returncode, 0, str(result))
        self.assertEqual(sorted(t["name"] for t in doc["torrents"]), self.names)
        payload = sum(p.size for p in self.layout.payloads)
        self.assertEqual(sum(t["bytes"] for t in doc["torrents"]), payload)
        for t in doc["torrents"]:
            self.assertEqual(t["findings"], [])
            self.assertRegex(t["info_hash_v1"], "^[0-9a-f]{40}$")

    def test_rsync_without_links(self):
        _, doc = self.check(self.mirror("-rt"))
        for name, per in self.codes(doc).items():
            self.assertTrue(per, name)
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

    def test_human_output_and_usage_errors(self):
        root = self.mirror("-a", "--exclude", "releases/amd64/")
        result = harness.run_agent("check", "--root", root, "--torrents", self.tdir)
        self.assertEqual(result.returncode, 1)
        self.assertIn("NOT READY  livecd-amd64-2007.0", result.out)
        self.assertIn("dangling", result.out)
        self.assertIn(f"of {len(self.names)} torrents ready", result.out)
        none = harness.run_agent("check", "--root", root)
        self.assertEqual(none.returncode, 2)
        self.assertIn("no torrents to check", none.err)
        missing = harness.run_agent("check", "--root", root, "--torrents", self.tmp / "nope")
        self.assertEqual(missing.returncode, 2)

    def test_config_supplies_root_and_torrents(self):
        root = self.mirror("-a")
        config = self.tmp / "agent.yaml"
        config.write_text(f"mirror: {{name: m, root: {root}}}\ntorrents:\n  - {self.tdir}\n")
        result = harness.run_agent("--config", config, "check", "--json", "--jobs", "1")
        self.assertEqual(result.returncode, 0, str(result))
        self.assertTrue(result.json()["ready"])


if __name__ == "__main__":
    unittest.main()
