"""Differential tests of `torrent show`: the agent's verdict on hostile and odd .torrent bytes
next to libtorrent's (python3-libtorrent 2.0.8, `lt.torrent_info(bytes)`).

(a) A table of hand-made inputs (tests/fixtures/torrents.py: canonical bencode, `Raw` bytes and
    `Pairs` for malformed ones). Every case states the agent's expected verdict (ok,
    torrent-invalid or unsafe-path), whether it warns `torrent-noncanonical` (quirks that
    clients accept: trailing bytes, unsorted or duplicate keys outside a v2 info dictionary),
    and libtorrent's verdict (accept/reject); where they differ the case says why: `stricter=`
    (the agent rejects on purpose: docs/torrent-show.md, the decoder strictness list of the
    contract) or `lenient=` (the agent accepts what libtorrent rejects, as its contract says).
    Decoder errors and quirks must name the byte offset: offsets computed by hand.
(b) The real corpus in ../shared/corpus/{libtorrent,transmission}: where both accept, the
    hashes, meta version, pieces and files agree; every disagreement is in ALLOW with its reason
    and the agent's exact finding. Every torrent libtorrent accepts that is neither unsafe nor
    inconsistent is accepted; those with quirks (NONCANONICAL) carry the warning.

libtorrent notes (2.0.8): `lt.bdecode` raises RuntimeError on malformed input (it does not
return None) and decodes to Python objects, losing the key order and the exact bytes, so cases
are given to `lt.torrent_info(bytes)`, which parses the buffer itself; it only enforces
canonical (sorted, unique) keys for v2 torrents, and its nesting limit rejects 100 levels.
"""

from __future__ import annotations

import csv
import dataclasses
import os
import re
import unittest
from pathlib import Path
from typing import Any, Optional

import harness
from fixtures import torrents as T

LIBTORRENT = T.have_libtorrent()
NO_LIBTORRENT = ("python3-libtorrent is not installed (import libtorrent failed; "
                 "use /usr/bin/python3)")
CORPUS = harness.REPO.parent / "shared" / "corpus"

OK, INVALID, UNSAFE = "ok", "torrent-invalid", "unsafe-path"
NONCANONICAL = "torrent-noncanonical"

# Reasons, shared by the table and the corpus allow-list.
NONCANONICAL_INT = ("leading zeros and -0 are not canonical bencoding (BEP 3); libtorrent "
                    "reads them")
OVERFLOW = "integers must fit in 64 bits wherever they are; libtorrent never reads unknown keys"
UNSAFE_PATH = ("a path component that is empty, '.', '..', or holds '/' or NUL can escape or "
               "alias the torrent's directory; libtorrent sanitizes it and accepts the torrent, "
               "a mirror must not serve it")
LAYER_ROOT = ("a piece layer that does not hash to the file's pieces root can never verify the "
              "payload (torrent.h); libtorrent does not check it when loading")


@dataclasses.dataclass
class Case:
    name: str
    data: bytes
    agent: str                  # OK, INVALID or UNSAFE
    libtorrent: bool            # libtorrent 2.0.8 accepts it
    stricter: Optional[str] = None   # why the agent rejects what libtorrent accepts
    lenient: Optional[str] = None    # why the agent accepts what libtorrent rejects
    warn: bool = False          # OK with a torrent-noncanonical warning


def _single() -> dict:
    return T.make_v1(T.single("x.bin", 20000, 3))


def _multi() -> dict:
    return T.make_v1(T.payload("m", ("a", 100), ("d/b", 30000), ("d/c", 0)))


def _with(torrent: dict, **top: Any) -> bytes:
    """The torrent with top-level keys replaced (spaces in keys written as '_')."""
    return T.bencode({**torrent, **{k.replace("_", " "): v for k, v in top.items()}})


def _info(torrent: dict, **info: Any) -> bytes:
    """The torrent with info keys replaced or (value None) removed."""
    new = {**torrent["info"], **{k.replace("_", " "): v for k, v in info.items()}}
    return T.bencode({**torrent, "info": {k: v for k, v in new.items() if v is not None}})


def _path(component_lists: list[list[Any]]) -> bytes:
    """_multi() with its files' path lists replaced."""
    torrent = _multi()
    files = [dict(f, path=p) for f, p in zip(torrent["info"]["files"], component_lists)]
    return _info(torrent, files=files)


def _nest(depth: int) -> bytes:
    """_single() plus key 'x-nest': lists nested so the deepest is at `depth` counting the
    top-level dictionary as 1."""
    return _with(_single(), **{"x-nest": T.Raw(b"l" * (depth - 1) + b"e" * (depth - 1))})


def _symlinked(link: dict) -> bytes:
    """A multi-file torrent: file a (16 KiB), then `link`, then b (100 bytes). Pieces are
    those of a+b: a symlink takes no room in the piece space (BEP 47)."""
    a, b = T.content(1, 16384), T.content(2, 100)
    info = {"name": "s", "piece length": 16384, "pieces": T.v1_pieces(a + b, 16384),
            "files": [{"length": len(a), "path": ["a"]}, link,
                      {"length": len(b), "path": ["b"]}]}
    return T.bencode({"info": info})


def _v2(**changes: Any) -> dict:
    torrent = T.make_v2(T.BIG)
    torrent.update(changes)
    return torrent


def cases() -> list[Case]:
    single, multi = _single(), _multi()
    good = T.bencode(single)
    info = single["info"]
    v2 = T.make_v2(T.BIG)
    root = next(iter(v2["piece layers"]))
    layer = v2["piece layers"][root]
    hybrid = T.make_hybrid(T.MULTI, 16 * T.KiB)
    return [
        # --- well-formed --------------------------------------------------------------------
        Case("v1 single file", good, OK, True),
        Case("v1 multi-file with a zero-length file", T.bencode(multi), OK, True),
        Case("v1 with BEP 47 pad files", T.bencode(T.make_v1(T.MULTI, pad=True)), OK, True),
        Case("v2 only", T.bencode(v2), OK, True),
        Case("hybrid", T.bencode(hybrid), OK, True),
        Case("int64 max and min in unknown keys",
             _with(single, **{"x-max": 2**63 - 1, "x-min": -2**63}), OK, True),
        Case("backslash inside a path component", _path([["a\\b"], ["d", "b"], ["d", "c"]]),
             OK, True),
        Case("nesting depth 99", _nest(99), OK, True),
        Case("nesting depth 100", _nest(100), OK, False,
             lenient="the contract rejects depth > 100; libtorrent's limit already rejects 100"),
        Case("piece length 1 GiB", _info(single, piece_length=1 << 30,
                                         pieces=info["pieces"][:20]), OK, False,
             lenient="docs/torrent-show.md allows piece lengths up to 1 GiB; libtorrent's "
                     "limit is one byte less (INT_MAX / 2)"),
        # Nothing to seed: libtorrent refuses it too (torrent.h: total size > 0).
        Case("only zero-length files",
             T.bencode(T.make_v1(T.payload("z", ("a", 0), ("b", 0)))), INVALID, False),
        Case("v2 without piece layers", T.bencode(_v2(**{"piece layers": {}})), OK, True),
        Case("v2 piece layer for no file of the torrent",
             T.bencode(_v2(**{"piece layers": {**T.make_v2(T.BIG)["piece layers"],
                                               bytes(range(32)): bytes(64)}})), OK, True),
        Case("symlink (BEP 47) with length 0",
             _symlinked({"attr": "l", "length": 0, "path": ["lnk"], "symlink path": ["a"]}),
             OK, True),
        # BEP 47: "clients ... should not require their presence [length] on symlink files"
        Case("symlink (BEP 47) without length",
             _symlinked({"attr": "l", "path": ["lnk"], "symlink path": ["a"]}), OK, True),
        # BEP 47: "The length of a symlink is always zero": it takes no piece space
        Case("symlink (BEP 47) with a non-zero length",
             _symlinked({"attr": "l", "length": 16384, "path": ["lnk"],
                         "symlink path": ["a"]}), OK, True),

        # --- decoder: quirks that clients accept, with a warning -----------------------------
        Case("unsorted top-level keys",
             T.bencode(T.Pairs([("info", info), ("comment", "c")])), OK, True, warn=True),
        Case("unsorted keys in the info dict",
             T.bencode({"info": T.Pairs(sorted(info.items(), reverse=True))}), OK, True,
             warn=True),
        Case("unsorted keys in v1 file dictionaries",
             _info(multi, files=[T.Pairs(sorted(f.items(), reverse=True))
                                 for f in multi["info"]["files"]]), OK, True, warn=True),
        Case("duplicate top-level key",
             T.bencode(T.Pairs([("comment", "a"), ("comment", "b"), ("info", info)])),
             OK, True, warn=True),
        Case("duplicate key in the info dict",
             T.bencode({"info": T.Pairs([("length", 20000), ("name", "x.bin"),
                                         ("name", "y.bin"), ("piece length", 16384),
                                         ("pieces", info["pieces"])])}),
             OK, True, warn=True),
        Case("trailing newline", good + b"\n", OK, True, warn=True),
        Case("trailing garbage", good + b"garbage", OK, True, warn=True),
        Case("second top-level value", good + good, OK, True, warn=True),
        Case("v2 with a trailing newline", T.bencode(v2) + b"\n", OK, True, warn=True),
        Case("hybrid with unsorted top-level keys",
             T.bencode(T.Pairs([("piece layers", hybrid["piece layers"]),
                                ("info", hybrid["info"])])), OK, True, warn=True),
        Case("v2 with a repeated piece layer (the first counts)",
             T.bencode(T.Pairs([("info", v2["info"]), ("piece layers", T.Pairs(
                 [(root, layer), (root, bytes(len(layer)))]))])), OK, True, warn=True),

        # --- decoder: deliberately stricter -------------------------------------------------
        Case("leading zero in an integer", _info(single, piece_length=T.Raw(b"i016384e")),
             INVALID, True, stricter=NONCANONICAL_INT),
        Case("leading zero in a string length", _info(single, name=T.Raw(b"05:x.bin")),
             INVALID, True, stricter=NONCANONICAL_INT),
        Case("negative zero", _with(single, creation_date=T.Raw(b"i-0e")), INVALID, True,
             stricter=NONCANONICAL_INT),
        Case("integer beyond 64 bits in an unknown key",
             _with(single, **{"x-big": T.Raw(b"i9223372036854775808e")}), INVALID, True,
             stricter=OVERFLOW),

        # --- decoder: both reject -----------------------------------------------------------
        Case("empty file", b"", INVALID, False),
        Case("top level is a list", b"l" + good + b"e", INVALID, False),
        Case("top level is an integer", b"i42e", INVALID, False),
        Case("truncated in the middle", good[:len(good) // 2], INVALID, False),
        Case("final 'e' missing", good[:-1], INVALID, False),
        Case("string length past the end", _info(single, name=T.Raw(b"1000:x.bin")),
             INVALID, False),
        Case("string length beyond 64 bits",
             _info(single, name=T.Raw(b"99999999999999999999999:x")), INVALID, False),
        Case("negative string length", _info(single, name=T.Raw(b"-5:x.bin")), INVALID, False),
        Case("empty integer", _with(single, **{"x-e": T.Raw(b"ie")}), INVALID, False),
        Case("non-digit in an integer", _info(single, length=T.Raw(b"i20a00e")), INVALID,
             False),
        Case("dictionary key that is not a string",
             b"di1ei2ee", INVALID, False),
        Case("nesting depth 101", _nest(101), INVALID, False),
        Case("nesting depth 5000", _nest(5000), INVALID, False),
        # libtorrent and the agent: a v2 or hybrid info dictionary must be canonical.
        Case("v2 with unsorted file tree keys",
             T.bencode({**v2, "info": {**v2["info"], "file tree": T.Pairs(
                 [("z", {"": {"length": 5}}), ("a", {"": {"length": 0}})])}}),
             INVALID, False),
        Case("v2 with unsorted info keys",
             T.bencode({**v2, "info": T.Pairs(sorted(v2["info"].items(), reverse=True))}),
             INVALID, False),
        Case("hybrid with a duplicate info key",
             T.bencode({**hybrid, "info": T.Pairs(
                 [(k, v) for k, v in sorted(hybrid["info"].items()) for _ in
                  range(2 if k == "name" else 1)])}), INVALID, False),

        # --- torrent model: both reject -----------------------------------------------------
        Case("no info", _with({"comment": "c"}), INVALID, False),
        Case("info is a list", _with(single, info=[1, 2]), INVALID, False),
        Case("no name", _info(single, name=None), INVALID, False),
        Case("name is an integer", _info(single, name=5), INVALID, False),
        Case("no piece length", _info(single, piece_length=None), INVALID, False),
        Case("piece length 0", _info(single, piece_length=0), INVALID, False),
        Case("negative piece length", _info(single, piece_length=-16384), INVALID, False),
        Case("piece length above 1 GiB", _info(single, piece_length=(1 << 30) + 1,
                                               pieces=info["pieces"][:20]), INVALID, False),
        Case("no pieces", _info(single, pieces=None), INVALID, False),
        Case("pieces not a multiple of 20", _info(single, pieces=info["pieces"] + b"x"),
             INVALID, False),
        Case("one piece hash too many", _info(single, pieces=info["pieces"] + bytes(20)),
             INVALID, False),
        Case("one piece hash too few", _info(single, pieces=info["pieces"][:20]), INVALID,
             False),
        Case("negative length", _info(single, length=-1), INVALID, False),
        Case("neither length nor files", _info(single, length=None), INVALID, False),
        Case("empty files list", _info(multi, files=[], pieces=b""), INVALID, False),
        Case("single zero-length file", T.bencode(T.make_v1(T.single("z", 0))), INVALID,
             False),
        Case("v2 piece length not a power of two",
             T.bencode({**v2, "info": {**v2["info"], "piece length": 3 * 16384}}),
             INVALID, False),
        Case("v2 piece length 8 KiB",
             T.bencode({**v2, "info": {**v2["info"], "piece length": 8192}}), INVALID, False),
        Case("v2 meta version 3", T.bencode({**v2, "info": {**v2["info"], "meta version": 3}}),
             INVALID, False),
        Case("v2 file without pieces root",
             T.bencode({**v2, "info": {**v2["info"], "file tree": {
                 b"big.img": {b"": {b"length": T.BIG.total_size}}}}}), INVALID, False),
        Case("v2 piece layer of the wrong size",
             T.bencode({**v2, "piece layers": {root: layer + bytes(32)}}), INVALID, False),
        # BEP 52: piece layers are keyed by 32-byte pieces roots
        Case("v2 piece layer keyed by 33 bytes",
             T.bencode({**v2, "piece layers": {root + b"\0": layer}}), INVALID, False),
        Case("hybrid whose v1 and v2 file sizes differ",
             _hybrid_size_mismatch(hybrid), INVALID, False),
        Case("hybrid without pad files", _hybrid_without_pads(hybrid), INVALID, False),

        # --- torrent model: deliberately stricter --------------------------------------------
        Case("v2 piece layer not hashing to its root",
             T.bencode({**v2, "piece layers": {root: bytes(len(layer))}}), INVALID, True,
             stricter=LAYER_ROOT),

        # --- unsafe paths ------------------------------------------------------------------------
        Case("name '..' (single file)", _info(single, name=".."), UNSAFE, False),
        Case("name '..' (multi-file)", _info(multi, name=".."), UNSAFE, True,
             stricter=UNSAFE_PATH),
        Case("name '.'", _info(single, name="."), UNSAFE, False),
        Case("empty name", _info(single, name=""), UNSAFE, False),
        Case("name with '/'", _info(single, name="a/b"), UNSAFE, True, stricter=UNSAFE_PATH),
        Case("absolute name", _info(single, name="/etc/passwd"), UNSAFE, True,
             stricter=UNSAFE_PATH),
        Case("path component '..'", _path([["..", "..", "etc"], ["d", "b"], ["d", "c"]]),
             UNSAFE, True, stricter=UNSAFE_PATH),
        Case("path component '.'", _path([[".", "a"], ["d", "b"], ["d", "c"]]), UNSAFE, True,
             stricter=UNSAFE_PATH),
        Case("empty path component", _path([["", "a"], ["d", "b"], ["d", "c"]]), UNSAFE, True,
             stricter=UNSAFE_PATH),
        Case("path component with '/'", _path([["a/../../b"], ["d", "b"], ["d", "c"]]),
             UNSAFE, True, stricter=UNSAFE_PATH),
        Case("absolute path component", _path([["/etc/passwd"], ["d", "b"], ["d", "c"]]),
             UNSAFE, True, stricter=UNSAFE_PATH),
        Case("path component with NUL", _path([["a\0b"], ["d", "b"], ["d", "c"]]), UNSAFE,
             True, stricter=UNSAFE_PATH),
        Case("empty path list", _path([[], ["d", "b"], ["d", "c"]]), UNSAFE, False),
        Case("symlink path with '..'",
             _symlinked({"attr": "l", "length": 0, "path": ["lnk"],
                         "symlink path": ["..", "..", "etc", "passwd"]}), UNSAFE, True,
             stricter=UNSAFE_PATH + " (BEP 47: a symlink path must not contain '..')"),
        Case("v2 file tree component '..'",
             T.bencode({**v2, "info": {**v2["info"], "file tree": {
                 b"..": v2["info"]["file tree"][b"big.img"]}}}), UNSAFE, False),
    ]


def _hybrid_size_mismatch(hybrid: dict) -> bytes:
    """The first v1 file one byte shorter, its pad file one byte longer: the v1 piece space
    is unchanged, the v1 and v2 sizes of that file differ."""
    info = dict(hybrid["info"])
    files = [dict(f) for f in info["files"]]
    i = next(i for i, f in enumerate(files[:-1]) if files[i + 1].get("attr") == "p")
    files[i]["length"] -= 1
    files[i + 1]["length"] += 1
    info["files"] = files
    return T.bencode({**hybrid, "info": info})


def _hybrid_without_pads(hybrid: dict) -> bytes:
    info = dict(hybrid["info"])
    info["files"] = [f for f in info["files"] if f.get("attr") != "p"]
    return T.bencode({**hybrid, "info": info})


def libtorrent_accepts(data: bytes) -> bool:
    import libtorrent as lt
    try:
        lt.torrent_info(data)
    except RuntimeError:
        return False
    return True


class TableTest(harness.TreeTestCase):
    """Each case alone: exit 0/1, the finding code, and libtorrent's verdict as documented."""

    def test_cases(self):
        seen = set()
        for case in cases():
            with self.subTest(case.name):
                self.assertNotIn(case.name, seen)
                seen.add(case.name)
                differs = (case.agent == OK) != case.libtorrent
                self.assertEqual(bool(case.stricter or case.lenient), differs,
                                 "a disagreement with libtorrent needs a reason, and only then")
                if case.stricter:
                    self.assertNotEqual(case.agent, OK)
                if case.lenient:
                    self.assertEqual(case.agent, OK)
                if LIBTORRENT:
                    self.assertEqual(libtorrent_accepts(case.data), case.libtorrent,
                                     "libtorrent's verdict changed (not 2.0.8?)")
                name = re.sub(r"[^A-Za-z0-9]+", "-", case.name).strip("-") + ".torrent"
                (self.tmp / name).write_bytes(case.data)
                result, doc = harness.torrent_json(name, cwd=self.tmp)
                t = doc["torrents"][0]
                codes = [f["code"] for f in t["findings"]]
                self.assertEqual(codes or [OK], [NONCANONICAL if case.warn else case.agent],
                                 result)
                self.assertEqual(t["ok"], case.agent == OK)
                if case.warn:
                    self.assertEqual(case.agent, OK)
                    self.assertEqual(t["findings"][0]["severity"], "warning")
                    self.assertRegex(t["findings"][0]["message"], rf"^{re.escape(name)}: byte \d+: ")
                self.assertExit(result, 0 if case.agent == OK else 1)

    def test_human_output_of_a_bad_file(self):
        (self.tmp / "evil.torrent").write_bytes(_path([["..", "x"], ["d", "b"], ["d", "c"]]))
        result = harness.torrent_show("evil.torrent", cwd=self.tmp)
        self.assertExit(result, 1)
        self.assertIn("evil.torrent: byte ", result.out + result.err)


class VariantsTest(harness.TreeTestCase):
    """The fixtures' malformed and unsafe variants, all in one run each: every file reported,
    in order, with the right code."""

    def check(self, variants: dict[str, bytes], code: str, ok: bool = False) -> None:
        names = []
        for label, data in variants.items():
            names.append(f"{label}.torrent")
            (self.tmp / names[-1]).write_bytes(data)
        good = "good.torrent"
        (self.tmp / good).write_bytes(T.bencode(T.make_v1(T.MULTI)))
        result, doc = harness.torrent_json(*names, good, cwd=self.tmp)
        self.assertExit(result, 0 if ok else 1)
        self.assertEqual([t["torrent"] for t in doc["torrents"]], names + [good])
        for t in doc["torrents"][:-1]:
            self.assertEqual([f["code"] for f in t["findings"]], [code], t["torrent"])
            self.assertRegex(t["findings"][0]["message"],
                             rf"^{re.escape(t['torrent'])}: byte \d+: ")
        self.assertTrue(doc["torrents"][-1]["ok"])

    def test_malformed(self):
        self.check(T.malformed_variants(T.make_v1(T.SINGLE)), INVALID)

    def test_noncanonical(self):
        self.check(T.noncanonical_variants(T.make_v1(T.SINGLE)), NONCANONICAL, ok=True)

    def test_unsafe(self):
        self.check(T.unsafe_variants(T.make_v1(T.MULTI)), UNSAFE)


# A hand-made torrent with every offset known: "MINI" below, 83 bytes.
#   0 d   1 4:info   7 d   8 6:length  16 i5e  19 4:name  25 1:x  28 12:piece length
#  43 i16384e  50 6:pieces  58 20:<20 bytes>  81 e (info)  82 e (top)
HASH20 = bytes(range(20))
MINI = (b"d4:infod6:lengthi5e4:name1:x12:piece lengthi16384e6:pieces20:" + HASH20 + b"ee")
# The same as a multi-file torrent with path ["a", ".."]:
#   0 d  1 4:info  7 d  8 5:files  15 l  16 d  17 6:length  25 i1e  28 4:path  34 l  35 1:a
#  38 2:..  42 e  43 e  44 e  45 4:name ...
EVIL = (b"d4:infod5:filesld6:lengthi1e4:pathl1:a2:..eee4:name1:m12:piece lengthi16384e"
        b"6:pieces20:" + HASH20 + b"ee")


class OffsetTest(harness.TreeTestCase):
    """`FILE: byte N: ...` with N computed by hand."""

    def message(self, data: bytes, code: str = INVALID) -> str:
        (self.tmp / "t.torrent").write_bytes(data)
        result, doc = harness.torrent_json("t.torrent", cwd=self.tmp)
        self.assertExit(result, 1)
        (finding,) = doc["torrents"][0]["findings"]
        self.assertEqual(finding["code"], code, result)
        return finding["message"]

    def test_fixtures_are_what_the_comments_say(self):
        self.assertEqual(len(MINI), 83)
        self.assertEqual(MINI[43:50], b"i16384e")
        self.assertEqual(MINI[81:], b"ee")
        self.assertEqual(EVIL[38:42], b"2:..")
        (self.tmp / "mini.torrent").write_bytes(MINI)
        result, _ = harness.torrent_json("mini.torrent", cwd=self.tmp)
        self.assertExit(result, 0)

    def warning(self, data: bytes) -> str:
        """The torrent-noncanonical message of an accepted torrent."""
        (self.tmp / "t.torrent").write_bytes(data)
        result, doc = harness.torrent_json("t.torrent", cwd=self.tmp)
        self.assertExit(result, 0)
        t = doc["torrents"][0]
        self.assertTrue(t["ok"])
        (finding,) = t["findings"]
        self.assertEqual((finding["code"], finding["severity"]), (NONCANONICAL, "warning"))
        return finding["message"]

    def test_trailing_data(self):
        self.assertEqual(self.warning(MINI + b"\n"), "t.torrent: byte 83: trailing data after "
                         "the top-level value (1 byte after the end)")

    def test_unexpected_end(self):
        self.assertRegex(self.message(MINI[:-1]), r"^t\.torrent: byte 82: .*end")

    def test_unsorted_keys(self):
        data = MINI.replace(b"6:lengthi5e4:name1:x", b"4:name1:x6:lengthi5e")
        self.assertEqual(self.warning(data),
                         "t.torrent: byte 17: dictionary keys not sorted ('length' after 'name')")

    def test_duplicate_key(self):
        data = MINI.replace(b"4:name1:x", b"4:name1:x4:name1:y")
        self.assertEqual(self.warning(data),
                         "t.torrent: byte 28: duplicate dictionary key ('name')")
        _, doc = harness.torrent_json("t.torrent", cwd=self.tmp)
        self.assertEqual(doc["torrents"][0]["name"], "x", "the first of repeated keys counts")

    def test_several_quirks(self):
        data = MINI.replace(b"4:name1:x", b"4:name1:x4:name1:y") + b"\n"
        self.assertEqual(self.warning(data),
                         "t.torrent: byte 28: duplicate dictionary key ('name'); byte 92: "
                         "trailing data after the top-level value (1 byte after the end)")

    def test_v2_info_quirk_is_an_error(self):
        v2 = T.make_v2(T.BIG)
        data = T.bencode({**v2, "info": T.Pairs(sorted(v2["info"].items(), reverse=True))})
        info_at = data.index(b"4:info") + 6
        # the info dictionary's keys reversed: the second key is the first out of order
        second_key = info_at + 1 + len(T.bencode("piece length")) + len(
            T.bencode(v2["info"]["piece length"]))
        self.assertRegex(self.message(data),
                         rf"^t\.torrent: byte {second_key}: dictionary keys not sorted "
                         r"\('name' after 'piece length'\) \(the info dictionary of a v2 or "
                         r"hybrid torrent must be canonical")

    def test_expected_value(self):
        self.assertRegex(self.message(MINI.replace(b"i5e", b"x5e")), r"^t\.torrent: byte 16: ")

    def test_leading_zero_integer(self):
        # "i05e" at 16: the offending '0' is at 17
        self.assertRegex(self.message(MINI.replace(b"i5e", b"i05e")),
                         r"^t\.torrent: byte 17: leading zero")

    def test_negative_zero(self):
        self.assertRegex(self.message(MINI.replace(b"i5e", b"i-0e")),
                         r"^t\.torrent: byte 16: negative zero")

    def test_leading_zero_string_length(self):
        self.assertRegex(self.message(MINI.replace(b"4:name1:x", b"4:name01:x")),
                         r"^t\.torrent: byte 25: leading zero")

    def test_string_past_the_end(self):
        # "9999:x..." at 25 (the name's value) runs past the end of the buffer
        self.assertRegex(self.message(MINI.replace(b"1:x", b"9999:x")), r"^t\.torrent: byte 25: ")

    def test_depth(self):
        # MINI without its last 'e' (82 bytes), key "1:x" at 82..84, then lists from 85: the
        # k-th 'l' is at 84 + k and is the (k+1)-th level. Level 101 is the 100th 'l', at 184.
        data = MINI[:-1] + b"1:x" + b"l" * 100 + b"e" * 100 + b"e"
        self.assertRegex(self.message(data), r"^t\.torrent: byte 184: nesting")
        ok = MINI[:-1] + b"1:x" + b"l" * 99 + b"e" * 99 + b"e"
        (self.tmp / "ok.torrent").write_bytes(ok)
        self.assertExit(harness.torrent_json("ok.torrent", cwd=self.tmp)[0], 0)

    def test_unsafe_path_component(self):
        self.assertEqual(self.message(EVIL, UNSAFE),
                         "t.torrent: byte 38: info.files[0].path[1]: path component '..' is "
                         "not allowed")


# --- (b) the corpus ---------------------------------------------------------------------------

# Every file where the agent and libtorrent 2.0.8 disagree: (agent's code, a fragment of its
# message, why). Agent bugs never go here.
ALLOW: dict[str, tuple[str, str, str]] = {
    # unsafe paths that libtorrent sanitizes
    "libtorrent/absolute_filename.torrent": (UNSAFE, "'/foobar'", UNSAFE_PATH),
    "libtorrent/empty_path.torrent": (UNSAFE, "empty path component", UNSAFE_PATH),
    "libtorrent/empty_path_multi.torrent": (UNSAFE, "empty path component", UNSAFE_PATH),
    "libtorrent/hidden_parent_path.torrent": (UNSAFE, "'foo/../../../bar'", UNSAFE_PATH),
    "libtorrent/invalid_directory_name.torrent": (UNSAFE, "'/'", UNSAFE_PATH),
    "libtorrent/invalid_filename.torrent": (UNSAFE, "'.'", UNSAFE_PATH),
    "libtorrent/invalid_filename2.torrent": (UNSAFE, "'.'", UNSAFE_PATH),
    "libtorrent/invalid_name2.torrent": (UNSAFE, "info.name: path component '..'", UNSAFE_PATH),
    "libtorrent/parent_path.torrent": (UNSAFE, "'..'", UNSAFE_PATH),
    "libtorrent/slash_path.torrent": (UNSAFE, "'/'", UNSAFE_PATH),
    "libtorrent/slash_path2.torrent": (UNSAFE, "'abc/../../def'", UNSAFE_PATH),
    "libtorrent/slash_path3.torrent": (UNSAFE, "info.name: path component 'temp/../../abc'",
                                       UNSAFE_PATH),
    "libtorrent/symlink_filtered_path.torrent": (UNSAFE, "'/'", UNSAFE_PATH),
    "libtorrent/v2_invalid_filename.torrent": (UNSAFE, "info.name", UNSAFE_PATH),
    "libtorrent/v2_invalid_filename2.torrent": (UNSAFE, "'//'", UNSAFE_PATH),
    # v2 piece layers are verified against their pieces root
    "libtorrent/v2_invalid_root_hash.torrent": (INVALID, "do not hash to the file's pieces root",
                                                LAYER_ROOT),
    "libtorrent/v2_invalid_piece_layer_root.torrent": (INVALID, "do not hash", LAYER_ROOT),
}

# Both accept, but read the files differently: compared on hashes and pieces only.
MODEL_DIFFERS: dict[str, str] = {
    "libtorrent/pad_file.torrent": (
        "a BitComet-style pad file (path '_____padding_file_', no BEP 47 'p' attribute): "
        "libtorrent makes it a pad file by its name; the agent reads the torrent as written, a "
        "file the mirror must serve (known difference, not fixed here)"),
}

# Corpus files with quirks that clients accept: accepted with one torrent-noncanonical warning
# whose message holds this fragment (and a byte offset). No other corpus file warns.
TRAILING_NEWLINE = "trailing data after the top-level value (1 byte after the end)"
NONCANONICAL_FILES: dict[str, str] = {
    # these files end with "\n" after the top-level dictionary
    "libtorrent/duplicate_files2.torrent": TRAILING_NEWLINE,
    "libtorrent/large_piece_size.torrent": TRAILING_NEWLINE,
    "libtorrent/v2_invalid_filename2.torrent": TRAILING_NEWLINE,
    "libtorrent/v2_invalid_piece_layer_root.torrent": TRAILING_NEWLINE,
    "libtorrent/v2_unknown_piece_layer_entry.torrent": TRAILING_NEWLINE,
    "transmission/Android-x86 8.1 r6 iso.torrent": TRAILING_NEWLINE,
    "transmission/bitcomet.utf-8.special.torrent": TRAILING_NEWLINE,
    "transmission/webseed-getright-string.torrent": TRAILING_NEWLINE,
    # unsorted or duplicate keys in v1 torrents
    "libtorrent/pad_file.torrent": "keys not sorted",
    "libtorrent/pad_file_no_path.torrent": "keys not sorted",
    "libtorrent/unordered.torrent": "keys not sorted",
    "transmission/unordered-info-dict.torrent": "keys not sorted",
    "transmission/dup-pieces-key.torrent": "duplicate dictionary key ('pieces')",
}


def corpus_files() -> list[str]:
    """'libtorrent/x.torrent' names of every corpus torrent, sorted."""
    found = []
    for sub in ("libtorrent", "transmission"):
        folder = CORPUS / sub
        if folder.is_dir():
            found += [f"{sub}/{name}" for name in sorted(os.listdir(folder))
                      if name.endswith(".torrent")]
    return found


def expected_tsv() -> dict[str, dict[str, str]]:
    """What */EXPECTED.tsv records of libtorrent 2.0.8."""
    rows = {}
    for sub in ("libtorrent", "transmission"):
        path = CORPUS / sub / "EXPECTED.tsv"
        if not path.is_file():
            continue
        with open(path, newline="", encoding="utf-8") as f:
            for row in csv.reader(f, delimiter="\t"):
                if row and not row[0].startswith("#"):
                    rows[f"{sub}/{row[0]}"] = {"verdict": row[1], "kind": row[2],
                                               "v1": row[3], "num_files": row[4]}
    return rows


@unittest.skipUnless((CORPUS / "libtorrent").is_dir() and (CORPUS / "transmission").is_dir(),
                     f"the torrent corpus is not there: {CORPUS}/{{libtorrent,transmission}}")
@unittest.skipUnless(LIBTORRENT, NO_LIBTORRENT)
class CorpusTest(harness.TreeTestCase):
    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.files = corpus_files()
        cls.agent: dict[str, dict[str, Any]] = {}
        for sub in ("libtorrent", "transmission"):
            names = [f.split("/", 1)[1] for f in cls.files if f.startswith(sub + "/")]
            result, doc = harness.torrent_json(*names, cwd=CORPUS / sub, timeout=60)
            for name, t in zip(names, doc["torrents"]):
                cls.agent[f"{sub}/{name}"] = t

    def compare(self, t: dict[str, Any], lt: dict[str, Any], files: bool = True) -> None:
        """Both accepted: the agent and libtorrent describe the same torrent."""
        for key in ("info_hash_v1", "info_hash_v2", "meta_version", "piece_length",
                    "piece_count") + (("total_size",) if files else ()):
            self.assertEqual(t[key], lt[key], key)
        if not files:
            return
        # libtorrent synthesizes pad files for v2 (and missing tail pads of hybrids): compare
        # every file for v1, the non-pad files otherwise.
        if t["meta_version"] == "v1":
            self.assertEqual(len(t["files"]), len(lt["files"]), "files incl. pad files")
        self.assertEqual([f["length"] for f in t["files"] if not f["pad"]],
                         [f["length"] for f in lt["files"] if not f["pad"]],
                         "non-pad file lengths")

    def test_libtorrent_is_the_one_expected_tsv_describes(self):
        tsv = expected_tsv()
        for name in self.files:
            with self.subTest(name):
                data = (CORPUS / name).read_bytes()
                row = tsv.get(name)
                self.assertIsNotNone(row, "not in EXPECTED.tsv")
                try:
                    lt = T.libtorrent_view(data)
                except RuntimeError as e:
                    self.assertEqual(row["verdict"], "reject")
                    self.assertEqual(row["kind"], str(e))
                    continue
                self.assertEqual(row["verdict"], "accept")
                self.assertEqual(row["kind"], lt["meta_version"])
                self.assertEqual(row["v1"], lt["info_hash_v1"] or "-")
                self.assertEqual(int(row["num_files"]), len(lt["files"]))

    def test_agent_agrees_with_libtorrent_or_is_allowed(self):
        self.assertTrue(self.files)
        for name in self.files:
            with self.subTest(name):
                self.check(name, (CORPUS / name).read_bytes(), self.agent[name], ALLOW)
        self.assertEqual(sorted(set(ALLOW) - set(self.files)), [], "allow-list: unknown files")
        # Issue 12: what libtorrent accepts is refused only when unsafe or inconsistent.
        self.assertEqual({why for _, _, why in ALLOW.values()}, {UNSAFE_PATH, LAYER_ROOT})

    def test_v1_torrents_agree_with_transmission_show(self):
        """A third reader for the v1 torrents the agent accepts (transmission-show 3.00 reads
        no v2; files it cannot parse are skipped)."""
        compared = 0
        for name in self.files:
            t = self.agent[name]
            if not t["ok"] or t["meta_version"] != "v1":
                continue
            if any("l" in f["attr"] for f in t["files"]):
                continue  # Transmission 3.00 knows no BEP 47 symlinks: it counts their length
            if name in NONCANONICAL_FILES and NONCANONICAL_FILES[name] != TRAILING_NEWLINE:
                # Transmission 3.00 hashes its own re-encoding of the info dictionary (keys
                # sorted, the last of repeated keys): another info-hash than libtorrent's and
                # the agent's, which hash the bytes as they are.
                continue
            with self.subTest(name):
                try:
                    tr = T.transmission_show(CORPUS / name)
                except AssertionError:
                    continue
                compared += 1
                self.assertEqual(tr["hash"], t["info_hash_v1"])
                self.assertEqual(tr["piece_count"], t["piece_count"])
                self.assertEqual(tr["piece_size"], T.tr_mem(t["piece_length"]))
                self.assertEqual(len(tr["files"]), len(t["files"]))
                self.assertEqual([size for _, size in tr["files"]],
                                 [T.tr_size(f["length"]) for f in t["files"]])
        self.assertGreater(compared, 20)

    def test_quirks_are_warnings_with_their_offsets(self):
        for name in self.files:
            with self.subTest(name):
                t = self.agent[name]
                warnings = [f for f in t["findings"] if f["code"] == NONCANONICAL]
                if name not in NONCANONICAL_FILES or not t["ok"]:
                    # a refused torrent carries its error only (ALLOW says which)
                    self.assertEqual(warnings, [])
                    continue
                (w,) = warnings
                self.assertEqual(w["severity"], "warning")
                self.assertIn(NONCANONICAL_FILES[name], w["message"])
                offset = int(re.match(rf"^{re.escape(Path(name).name)}: byte (\d+): ",
                                      w["message"]).group(1))
                data = (CORPUS / name).read_bytes()
                if NONCANONICAL_FILES[name] == TRAILING_NEWLINE:
                    self.assertEqual(offset, len(data) - 1)
                    self.assertEqual(data[-1:], b"\n")
                else:
                    self.assertRegex(data[offset:offset + 40], rb"^\d+:")  # a key starts there
        self.assertEqual(sorted(set(NONCANONICAL_FILES) - set(self.files)), [], "unknown files")

    def test_trailing_newline_removed(self):
        """Without the newline: the same verdict and hashes, and no warning."""
        for name, fragment in sorted(NONCANONICAL_FILES.items()):
            if fragment != TRAILING_NEWLINE:
                continue
            with self.subTest(name):
                data = (CORPUS / name).read_bytes()
                stripped = self.tmp / Path(name).name
                stripped.write_bytes(data[:-1])
                _, doc = harness.torrent_json(stripped.name, cwd=self.tmp)
                t, before = doc["torrents"][0], self.agent[name]
                self.check(name, data[:-1], t, ALLOW)
                self.assertEqual(t["ok"], before["ok"])
                for key in ("info_hash_v1", "info_hash_v2"):
                    self.assertEqual(t[key], before[key], key)
                self.assertNotIn(NONCANONICAL, [f["code"] for f in t["findings"]])

    def check(self, name: str, data: bytes, t: dict[str, Any],
              allow: dict[str, tuple[str, str, str]]) -> None:
        try:
            lt: Optional[dict[str, Any]] = T.libtorrent_view(data)
        except RuntimeError:
            lt = None
        if (lt is not None) == t["ok"]:
            self.assertNotIn(name, allow, "agrees with libtorrent: remove it from the allow-list")
            if lt is not None:
                self.compare(t, lt, files=name not in MODEL_DIFFERS)
            return
        self.assertTrue(name in allow, f"agent {'accepts' if t['ok'] else 'rejects'} what "
                        f"libtorrent {'rejects' if t['ok'] else 'accepts'}, not in the "
                        f"allow-list: {t['findings']}")
        code, fragment, _ = allow[name]
        self.assertFalse(t["ok"], "the allow-list is for deliberate strictness only")
        self.assertNotEqual(code, INVALID if fragment in ("trailing data", "keys not sorted")
                            else None, "quirks clients accept are warnings, not errors")
        self.assertEqual([f["code"] for f in t["findings"] if f["severity"] == "error"],
                         [code], t["findings"])
        self.assertIn(fragment, [f for f in t["findings"] if f["severity"] == "error"][0]
                      ["message"])


if __name__ == "__main__":
    unittest.main()
