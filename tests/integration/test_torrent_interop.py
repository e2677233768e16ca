"""`torrent show` on torrents made by real tools, checked against two independent readers.

Torrents come from mktorrent (v1), transmission-create 3.00 (v1) and python3-libtorrent 2.0
(v1 with and without BEP 47 pad files, v2-only, hybrid) over the deterministic payloads of
tests/fixtures/torrents.py (pieces spanning file boundaries, zero-length files, names with
spaces and non-ASCII UTF-8, an executable file), with piece sizes from 16 KiB to 16 MiB.

`torrent show --json FILE` must agree with
- libtorrent's torrent_info: name, v1/v2 info-hashes, meta version, piece length and count,
  every file (path, length, offset, pad flag, executable attribute, pieces root), total size,
  trackers, web seeds (url-list) and HTTP seeds, private, comment, creator, creation date;
- transmission-show (v1 only; 3.00 rejects v2 and hybrid torrents): name, hash, piece count
  and size, total size, file list with sizes, trackers, web seeds, privacy, comment, creator;
- the payload itself (file paths and sizes) and the raw bencoded fields of the file.
The human output (no --json) must name the torrent, both hashes and every file.
"""

from __future__ import annotations

import unittest
from pathlib import Path
from typing import Any, Optional

import harness
from fixtures import torrents as T

LIBTORRENT = T.have_libtorrent()
NO_LIBTORRENT = ("python3-libtorrent is not installed (import libtorrent failed; "
                 "use /usr/bin/python3)")

TIERS = [["http://t1.example/announce"],
         ["udp://t2.example:6969/announce", "http://t2b.example/announce"]]
# URLs that libtorrent keeps as they are (it appends '/' to multi-file web seeds that lack one
# and escapes spaces) and transmission considers valid.
MULTI_SEEDS = ["http://ws1.example/pub/", "https://ws2.example/mirror/"]
SINGLE_SEEDS = ["https://ws.example/files/single.iso"]


@unittest.skipUnless(LIBTORRENT, NO_LIBTORRENT)
class InteropCase(unittest.TestCase):
    """Each test makes torrents in `self.tmp` (the agent runs there, with relative names)."""

    def setUp(self) -> None:
        super().setUp()
        self.tmp = harness.make_tmpdir("webseed-torrent-")
        self.addCleanup(harness.remove_tree, self.tmp)

    def src(self, p: T.Payload) -> Path:
        top = self.tmp / "payload"
        top.mkdir(exist_ok=True)
        path = Path(top, p.name if isinstance(p.name, str) else p.name.decode())
        return path if path.exists() else p.write(top)

    def show(self, name: str, *args: str) -> dict[str, Any]:
        """`torrent show --json NAME ARGS` in self.tmp: the one torrent, which must be ok."""
        result, doc = harness.torrent_json(name, *args, cwd=self.tmp)
        self.assertEqual(result.returncode, 0, result)
        self.assertEqual(len(doc["torrents"]), 1, result)
        t = doc["torrents"][0]
        self.assertEqual(t["torrent"], name)
        self.assertTrue(t["ok"], result)
        self.assertEqual(t["findings"], [])
        return t

    # --- the oracles --------------------------------------------------------------------

    def check(self, name: str, payload: T.Payload, meta: str, *, transmission: bool,
              skip_empty: bool = False) -> dict[str, Any]:
        """All comparisons for torrent self.tmp/NAME made from `payload`; returns the agent's
        torrent object."""
        t = self.show(name)
        data = (self.tmp / name).read_bytes()
        self.assertEqual(t["meta_version"], meta)
        self.assertEqual(t["multi_file"], not payload.single)
        self.check_payload(t, payload, skip_empty)
        self.check_raw(t, data)
        self.check_libtorrent(t, data)
        if transmission:
            self.check_transmission(t, self.tmp / name)
        return t

    def check_payload(self, t: dict[str, Any], payload: T.Payload, skip_empty: bool) -> None:
        want = sorted((path, f.size) for path, f in zip(payload.joined_paths(), payload.files)
                      if f.size or not skip_empty)
        got = sorted((f["path"], f["length"]) for f in t["files"] if not f["pad"])
        self.assertEqual(got, want, "non-pad files vs the payload")
        self.assertEqual(t["name"], payload.name)
        self.assertEqual(t["total_size"], payload.total_size)

    def check_raw(self, t: dict[str, Any], data: bytes) -> None:
        """Against the file's own bencoded values (no client normalizes anything here)."""
        top = T.bdecode(data)
        info = top[b"info"]
        v1, v2 = T.info_hashes(data)
        self.assertEqual(t["info_hash_v1"], v1 if b"pieces" in info else None)
        self.assertEqual(t["info_hash_v2"], v2 if b"file tree" in info else None)
        self.assertEqual(t["piece_length"], info[b"piece length"])
        self.assertEqual(t["private"], info.get(b"private", 0) == 1)

        def text(key: bytes) -> Optional[str]:
            return top[key].decode() if key in top else None

        self.assertEqual(t["comment"], text(b"comment"))
        self.assertEqual(t["created_by"], text(b"created by"))
        self.assertEqual(t["creation_date"], top.get(b"creation date"))
        urls = top.get(b"url-list", [])
        urls = [urls] if isinstance(urls, bytes) else urls
        self.assertEqual(t["url_list"], [u.decode() for u in urls])
        seeds = top.get(b"httpseeds", [])
        seeds = [seeds] if isinstance(seeds, bytes) else seeds   # libtorrent writes a string
        self.assertEqual(t["httpseeds"], [u.decode() for u in seeds])
        if b"announce-list" in top:
            tiers = [[u.decode() for u in tier] for tier in top[b"announce-list"]]
        else:
            tiers = [[top[b"announce"].decode()]] if b"announce" in top else []
        self.assertEqual(t["trackers"], tiers)

    def check_libtorrent(self, t: dict[str, Any], data: bytes) -> None:
        lt = T.libtorrent_view(data)
        for key in ("name", "info_hash_v1", "info_hash_v2", "meta_version", "piece_length",
                    "piece_count", "total_size", "private"):
            self.assertEqual(t[key], lt[key], f"{key}: agent vs libtorrent")
        # libtorrent shuffles the trackers of a tier (check_raw pins the file's order)
        self.assertEqual([sorted(tier) for tier in t["trackers"]],
                         [sorted(tier) for tier in lt["trackers"]])
        self.assertEqual(t["comment"] or "", lt["comment"])
        self.assertEqual(t["created_by"] or "", lt["created_by"])
        self.assertEqual(t["creation_date"] or 0, lt["creation_date"])
        # libtorrent appends '/' to the web seeds of multi-file (and v2-only) torrents
        self.assertEqual(len(t["url_list"]), len(lt["url_seeds"]), lt["url_seeds"])
        for ours, theirs in zip(t["url_list"], lt["url_seeds"]):
            self.assertIn(theirs, (ours, ours + "/"), "url-list vs libtorrent web seeds")
        self.assertEqual(t["httpseeds"], lt["http_seeds"])

        def row(f: dict[str, Any], executable: bool) -> tuple:
            return (f["path"], f["length"], f["offset"], f["pad"], executable, f["pieces_root"])

        mine = [row(f, "x" in f["attr"]) for f in t["files"]]
        theirs = [row(f, f["executable"]) for f in lt["files"]]
        if t["meta_version"] == "v2":
            # A v2-only torrent has no pad files; libtorrent synthesizes them to align each
            # file on a piece boundary, where the agent's offsets put the files too.
            theirs = [r for r in theirs if not r[3]]
        if t["meta_version"] == "hybrid":
            # libtorrent lists a hybrid's files from the v2 tree: a zero-length file may sit
            # before a pad file in the v1 list (the agent's order) and after it in libtorrent's.
            self.assertEqual([r for r in mine if r[1]], [r for r in theirs if r[1]],
                             "non-empty files and pads (path, length, offset, pad, x, root)")
            self.assertEqual([r[0] for r in mine if not r[3]], [r[0] for r in theirs if not r[3]],
                             "order of the non-pad files")
            return
        self.assertEqual(mine, theirs, "files (path, length, offset, pad, x, pieces root)")

    def check_transmission(self, t: dict[str, Any], path: Path) -> None:
        tr = T.transmission_show(path)
        self.assertEqual(tr["name"], t["name"])
        self.assertEqual(tr["hash"], t["info_hash_v1"])
        self.assertEqual(tr["piece_count"], t["piece_count"])
        self.assertEqual(tr["piece_size"], T.tr_mem(t["piece_length"]))
        # transmission counts pad files as ordinary files
        self.assertEqual(tr["total_size"], T.tr_size(sum(f["length"] for f in t["files"])))
        self.assertEqual(tr["private"], t["private"])
        self.assertEqual(tr["trackers"], t["trackers"])
        self.assertEqual(tr["webseeds"], t["url_list"])
        self.assertEqual(tr["comment"], t["comment"])
        if t["created_by"] is not None:
            self.assertEqual(tr["created_by"], t["created_by"])
        prefix = t["name"] + "/" if t["multi_file"] else ""
        want = [(prefix + f["path"] if t["multi_file"] else t["name"], T.tr_size(f["length"]))
                for f in t["files"]]
        self.assertEqual(tr["files"], want, "files vs transmission-show -u")


class MktorrentTest(InteropCase):
    def test_multi_32k_trackers_web_seeds_private_comment(self):
        T.mktorrent(self.src(T.MULTI), self.tmp / "m.torrent", piece_log2=15, announce=TIERS,
                    web_seeds=MULTI_SEEDS, comment="made by mktorrent ☃", private=True)
        t = self.check("m.torrent", T.MULTI, "v1", transmission=True)
        self.assertEqual(t["trackers"], TIERS)
        self.assertEqual(t["url_list"], MULTI_SEEDS)
        self.assertTrue(t["private"])
        self.assertEqual(t["comment"], "made by mktorrent ☃")
        self.assertEqual(t["piece_count"], -(-T.MULTI.total_size // 32768))

    def test_single_256k(self):
        T.mktorrent(self.src(T.SINGLE), self.tmp / "s.torrent", piece_log2=18,
                    web_seeds=SINGLE_SEEDS)
        t = self.check("s.torrent", T.SINGLE, "v1", transmission=True)
        self.assertEqual([f["path"] for f in t["files"]], [T.SINGLE.name])
        self.assertEqual(t["piece_count"], 1)   # a piece bigger than the payload

    def test_unicode_names_4m(self):
        T.mktorrent(self.src(T.UNICODE), self.tmp / "u.torrent", piece_log2=22)
        self.check("u.torrent", T.UNICODE, "v1", transmission=True)

    def test_single_16m(self):
        T.mktorrent(self.src(T.BIG), self.tmp / "b.torrent", piece_log2=24)
        t = self.check("b.torrent", T.BIG, "v1", transmission=True)
        self.assertEqual(t["piece_length"], 16 * T.MiB)

    def test_url_list_entries_are_kept_verbatim(self):
        # libtorrent would escape the space and transmission drops the URL as invalid: the
        # agent reports the url-list exactly as the file has it.
        seeds = ["http://ws.example/with space/", "http://ws.example/plain"]
        T.mktorrent(self.src(T.MULTI), self.tmp / "w.torrent", piece_log2=16, web_seeds=seeds)
        t = self.show("w.torrent")
        self.assertEqual(t["url_list"], seeds)


class TransmissionCreateTest(InteropCase):
    # transmission-create 3.00 leaves zero-length files out (skip_empty=True).

    def test_multi_16k_trackers(self):
        T.transmission_create(self.src(T.MULTI), self.tmp / "t.torrent", piece_kib=16,
                              trackers=["http://t1.example/announce", "http://t3.example/a"],
                              comment="transmission ☃")
        t = self.check("t.torrent", T.MULTI, "v1", transmission=True, skip_empty=True)
        self.assertEqual(t["trackers"], [["http://t1.example/announce"],
                                         ["http://t3.example/a"]])
        self.assertEqual(t["piece_length"], 16384)

    def test_single_256k_private(self):
        T.transmission_create(self.src(T.SINGLE), self.tmp / "s.torrent", piece_kib=256,
                              private=True, trackers=["http://t1.example/announce"])
        t = self.check("s.torrent", T.SINGLE, "v1", transmission=True)
        self.assertTrue(t["private"])

    def test_unicode_names_4m(self):
        T.transmission_create(self.src(T.UNICODE), self.tmp / "u.torrent", piece_kib=4096)
        self.check("u.torrent", T.UNICODE, "v1", transmission=True)

    def test_multi_16m(self):
        T.transmission_create(self.src(T.MULTI), self.tmp / "m.torrent", piece_kib=16384)
        t = self.check("m.torrent", T.MULTI, "v1", transmission=True, skip_empty=True)
        self.assertEqual(t["piece_count"], 1)


class LibtorrentTest(InteropCase):
    def make(self, name: str, p: T.Payload, **kwargs: Any) -> str:
        T.lt_create(self.src(p), self.tmp / name, **kwargs)
        return name

    def test_v1_multi_16k_seeds(self):
        name = self.make("v1.torrent", T.MULTI, piece_size=16 * T.KiB, meta="v1",
                         url_seeds=MULTI_SEEDS, http_seeds=["http://hs.example/seed.php"],
                         trackers=TIERS, comment="libtorrent v1", creator="creator ☃")
        t = self.check(name, T.MULTI, "v1", transmission=True)
        self.assertEqual(t["httpseeds"], ["http://hs.example/seed.php"])
        self.assertEqual(t["created_by"], "creator ☃")
        self.assertFalse(any(f["pad"] for f in t["files"]))
        self.assertEqual([f["attr"] for f in t["files"] if f["path"] == "run me.sh"], ["x"])

    def test_v1_single_256k(self):
        name = self.make("s.torrent", T.SINGLE, piece_size=256 * T.KiB, meta="v1",
                         url_seeds=SINGLE_SEEDS, private=True)
        self.check(name, T.SINGLE, "v1", transmission=True)

    def test_v1_with_pad_files(self):
        name = self.make("pad.torrent", T.MULTI, piece_size=16 * T.KiB, meta="v1",
                         pad_v1=True)
        t = self.check(name, T.MULTI, "v1", transmission=True)
        pads = [f for f in t["files"] if f["pad"]]
        self.assertTrue(pads, "libtorrent made no pad file")
        for f in pads:
            self.assertEqual(f["attr"], "p")
            self.assertEqual(f["path"], f".pad/{f['length']}")

    def test_v1_with_pad_files_no_tail_pad_32k(self):
        name = self.make("pad.torrent", T.UNICODE, piece_size=32 * T.KiB, meta="v1",
                         pad_v1=True, tail_pad=False)
        t = self.check(name, T.UNICODE, "v1", transmission=True)
        self.assertFalse(t["files"][-1]["pad"])

    def test_v2_multi_16k_piece_layers(self):
        name = self.make("v2.torrent", T.MULTI, piece_size=16 * T.KiB, meta="v2",
                         url_seeds=MULTI_SEEDS)
        t = self.check(name, T.MULTI, "v2", transmission=False)
        self.assertFalse(any(f["pad"] for f in t["files"]))
        for f in t["files"]:
            self.assertEqual(f["pieces_root"] is None, f["length"] == 0, f)
            self.assertEqual(f["offset"] % (16 * T.KiB), 0, f"v2 files start on pieces: {f}")

    def test_v2_single_16k(self):
        name = self.make("v2s.torrent", T.BIG, piece_size=16 * T.KiB, meta="v2",
                         url_seeds=SINGLE_SEEDS)
        t = self.check(name, T.BIG, "v2", transmission=False)
        self.assertEqual(t["piece_count"], 6)

    def test_v2_unicode_16m(self):
        name = self.make("v2u.torrent", T.UNICODE, piece_size=16 * T.MiB, meta="v2")
        self.check(name, T.UNICODE, "v2", transmission=False)

    def test_hybrid_multi_16k_pad_files(self):
        name = self.make("h.torrent", T.MULTI, piece_size=16 * T.KiB, meta="hybrid",
                         url_seeds=MULTI_SEEDS, http_seeds=["http://hs.example/s"],
                         trackers=TIERS, comment="hybrid", private=True)
        t = self.check(name, T.MULTI, "hybrid", transmission=False)
        # libtorrent pads after the last file with data (empty files may follow the pad).
        with_data = [f for f in t["files"] if f["length"] > 0]
        self.assertTrue(with_data[-1]["pad"], "libtorrent ends a hybrid with a tail pad")
        for f in t["files"]:
            if not f["pad"] and f["length"]:
                self.assertEqual(f["offset"] % (16 * T.KiB), 0, f)

    def test_hybrid_multi_256k_no_tail_pad(self):
        name = self.make("h.torrent", T.MULTI, piece_size=256 * T.KiB, meta="hybrid",
                         tail_pad=False)
        t = self.check(name, T.MULTI, "hybrid", transmission=False)
        self.assertFalse(t["files"][-1]["pad"])
        self.assertTrue(any(f["pad"] for f in t["files"]))

    def test_hybrid_single_4m(self):
        name = self.make("hs.torrent", T.SINGLE, piece_size=4 * T.MiB, meta="hybrid",
                         url_seeds=SINGLE_SEEDS)
        self.check(name, T.SINGLE, "hybrid", transmission=False)

    def test_hybrid_unicode_16m(self):
        name = self.make("hu.torrent", T.UNICODE, piece_size=16 * T.MiB, meta="hybrid")
        self.check(name, T.UNICODE, "hybrid", transmission=False)


class HandMadeTest(InteropCase):
    """The fixtures' own v1/v2/hybrid builder (hashes, merkle roots and piece layers computed
    in Python): a third implementation besides libtorrent and the agent."""

    def write(self, name: str, torrent: dict) -> str:
        (self.tmp / name).write_bytes(T.bencode(torrent))
        return name

    def test_v1_pad_files_like_bep47(self):
        name = self.write("v1.torrent", T.make_v1(T.MULTI, 16 * T.KiB, pad=True,
                                                  tail_pad=True, url_list=MULTI_SEEDS))
        t = self.check(name, T.MULTI, "v1", transmission=True)
        for f in t["files"]:
            if not f["pad"]:
                self.assertEqual(f["offset"] % (16 * T.KiB), 0, f)
        self.assertEqual(sum(f["pad"] for f in t["files"]), 5)

    def test_v2_piece_layers(self):
        for piece in (16 * T.KiB, 32 * T.KiB, 64 * T.KiB):
            with self.subTest(piece=piece):
                name = self.write(f"v2-{piece}.torrent", T.make_v2(T.BIG, piece))
                t = self.check(name, T.BIG, "v2", transmission=False)
                root, _ = T.merkle(T.BIG.files[0].data(), piece)
                self.assertEqual(t["files"][0]["pieces_root"], root.hex())

    def test_web_seeds_as_single_strings(self):
        # BEP 19 allows url-list to be one string; libtorrent 2.0 writes httpseeds as one
        # string when there is one HTTP seed (see test_v1_multi_16k_seeds) and reads both.
        torrent = T.make_v1(T.SINGLE)
        torrent["url-list"] = "https://ws.example/files/single.iso"
        torrent["httpseeds"] = "http://hs.example/seed.php"
        name = self.write("s.torrent", torrent)
        t = self.check(name, T.SINGLE, "v1", transmission=True)
        self.assertEqual(t["url_list"], ["https://ws.example/files/single.iso"])
        self.assertEqual(t["httpseeds"], ["http://hs.example/seed.php"])

    def test_hybrid(self):
        name = self.write("h.torrent", T.make_hybrid(T.MULTI, 32 * T.KiB,
                                                     announce=TIERS, url_list=MULTI_SEEDS))
        t = self.check(name, T.MULTI, "hybrid", transmission=False)
        self.assertEqual(len(t["files"]), 12)   # 7 files, 5 pad files (empty files need none)


class HumanOutputTest(InteropCase):
    def human(self, name: str, *args: str) -> str:
        result = harness.torrent_show(name, *args, cwd=self.tmp)
        self.assertEqual(result.returncode, 0, result)
        return result.out

    def assert_names_everything(self, name: str, payload: T.Payload) -> None:
        out = self.human(name)
        t = self.show(name)
        self.assertIn(name, out)
        self.assertIn(t["name"], out)
        for key in ("info_hash_v1", "info_hash_v2"):
            if t[key] is not None:
                self.assertIn(t[key], out)
        for f in t["files"]:
            self.assertIn(f["path"], out)
        for path in payload.joined_paths():
            self.assertIn(path, out)

    def test_v1_mktorrent(self):
        T.mktorrent(self.src(T.MULTI), self.tmp / "m.torrent", piece_log2=15)
        self.assert_names_everything("m.torrent", T.MULTI)

    def test_hybrid_libtorrent(self):
        T.lt_create(self.src(T.MULTI), self.tmp / "h.torrent", piece_size=16 * T.KiB)
        self.assert_names_everything("h.torrent", T.MULTI)

    def test_v2_unicode(self):
        T.lt_create(self.src(T.UNICODE), self.tmp / "u.torrent", piece_size=16 * T.KiB,
                    meta="v2")
        self.assert_names_everything("u.torrent", T.UNICODE)

    def test_single(self):
        T.lt_create(self.src(T.SINGLE), self.tmp / "s.torrent", piece_size=16 * T.KiB,
                    meta="v1")
        self.assert_names_everything("s.torrent", T.SINGLE)


class CommandLineTest(InteropCase):
    def test_several_files_one_bad(self):
        T.mktorrent(self.src(T.SINGLE), self.tmp / "a.torrent", piece_log2=16)
        (self.tmp / "bad.torrent").write_bytes(b"d4:infoi1ee")
        T.lt_create(self.src(T.MULTI), self.tmp / "b.torrent", piece_size=16 * T.KiB)
        result, doc = harness.torrent_json("a.torrent", "bad.torrent", "b.torrent",
                                           cwd=self.tmp)
        self.assertEqual(result.returncode, 1, result)
        self.assertEqual([t["torrent"] for t in doc["torrents"]],
                         ["a.torrent", "bad.torrent", "b.torrent"])
        self.assertEqual([t["ok"] for t in doc["torrents"]], [True, False, True])
        self.assertEqual(doc["torrents"][1]["findings"][0]["code"], "torrent-invalid")
        human = harness.torrent_show("a.torrent", "bad.torrent", "b.torrent", cwd=self.tmp)
        self.assertEqual(human.returncode, 1, human)
        self.assertIn("bad.torrent", human.out + human.err)
        self.assertIn(T.MULTI.name, human.out)

    def test_no_file_is_a_usage_error(self):
        result = harness.torrent_show(cwd=self.tmp)
        self.assertEqual(result.returncode, 2, result)


if __name__ == "__main__":
    unittest.main()
