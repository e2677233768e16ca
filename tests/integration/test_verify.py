"""`webseed-agent verify TORRENT [--content PATH] [--jobs N] [--json]` on real torrents.

Torrents come from mktorrent (v1), transmission-create 3.00 (v1) and python3-libtorrent 2.0
(v1 with and without BEP 47 pad files, v2-only, hybrid) over the deterministic payloads of
tests/fixtures/torrents.py plus MANY (many small files, so a piece spans several files; two
files of equal size; zero-length files). Piece sizes go from 16 KiB to 256 KiB, some larger
than the whole payload.

For each torrent: the clean payload is ready (exit 0, no finding, every byte hashed); then
copies damaged one way each -- one byte flipped at the first byte of a piece, at the last byte
of a piece, inside a file that shares a piece with its neighbours; a truncated file; a file
one byte longer; two files of equal size swapped; a missing file; a file changed in place with
its mtime put back -- give exactly the expected findings: codes, paths, the failed pieces
(computed here from the offsets: v1 global piece indices for v1 and hybrid torrents, piece
indices within the file for v2-only ones) and the byte ranges they cover in each file.

Oracle: libtorrent's own full check of the same bytes (a session with no network, the torrent
added in upload mode, stop when ready) must agree on the verdict and on the set of bad pieces:
every piece the agent names is one libtorrent lacks, and every piece libtorrent lacks is one
the agent names or one that touches a file the agent reports missing or of the wrong size
(those files are not read, so the pieces that touch them are not judged). Known, documented
difference: a file with extra bytes at its end passes libtorrent's check (it never reads past
the torrent's length) and is a size-mismatch for the agent.

Also: --jobs 1 and --jobs 2 agree; the human output names the files and codes; a FIFO where a
file belongs is never opened (not-regular-file, no hang); a symlink leaving the content
directory is escapes-root and is never read.
"""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import shutil
import threading
import time
import unittest
from pathlib import Path
from typing import Any, Optional

import harness
from fixtures import torrents as T

LIBTORRENT = T.have_libtorrent()
NO_LIBTORRENT = ("python3-libtorrent is not installed (import libtorrent failed; "
                 "use /usr/bin/python3)")

LT_CHECK_TIMEOUT = 30.0   # seconds for libtorrent to check one payload (KBs: milliseconds)
VERIFY_TIMEOUT = 20.0     # seconds for one agent run (ASan builds are slower)

# Many small files: a 16/32 KiB piece spans several of them, a 256 KiB piece all of them.
# docs/a.txt and docs/b.txt have the same size (the swap case); two zero-length files.
MANY = T.payload(
    "many small files",
    ("docs/a.txt", 5000, 201), ("docs/b.txt", 5000, 202), ("docs/readme", 1200, 203),
    ("small/01", 700, 204), ("small/02", 3000, 205), ("small/03", 301, 206),
    ("small/04", 1999, 207), ("small/05", 2500, 208), ("small/06", 17, 209),
    ("small/07", 4096, 210), ("small/08", 900, 211), ("small/zero", 0, 212),
    ("empty", 0, 213), ("data.bin", 50000, 214), ("tail.bin", 20001, 215),
)


# ---------------------------------------------------------------------------------------------
# the torrent as this test reads it (independently of the agent)


@dataclasses.dataclass(frozen=True)
class LFile:
    path: str     # as the agent's findings name it: below the name, or the name (single-file)
    length: int
    offset: int   # v1/hybrid: in the concatenated payload, pads included; v2-only: unused
    pad: bool


@dataclasses.dataclass(frozen=True)
class Layout:
    meta: str           # v1, v2, hybrid
    name: str
    multi: bool
    piece_length: int
    piece_count: int
    files: tuple[LFile, ...]

    @property
    def v1(self) -> bool:
        return self.meta != "v2"

    def real(self) -> list[LFile]:
        """The files the agent reads: not pads, not empty."""
        return [f for f in self.files if not f.pad and f.length]

    def file(self, path: str) -> LFile:
        found = [f for f in self.files if f.path == path and not f.pad]
        assert len(found) == 1, (path, found)
        return found[0]

    @property
    def total(self) -> int:
        return sum(f.length for f in self.files if not f.pad)

    def pieces_of(self, f: LFile, begin: int = 0, end: Optional[int] = None) -> range:
        """The pieces covering bytes [begin, end) of `f` (default: all of it): global v1
        indices for v1/hybrid, indices within the file for v2-only."""
        end = f.length if end is None else end
        base = f.offset if self.v1 else 0
        pl = self.piece_length
        return range((base + begin) // pl, (base + end - 1) // pl + 1)

    def files_in_piece(self, p: int) -> list[LFile]:
        """v1: the real files a piece touches, in payload order."""
        pl = self.piece_length
        return [f for f in self.real() if f.offset < (p + 1) * pl and f.offset + f.length > p * pl]

    def piece_span(self, f: LFile, p: int) -> tuple[int, int]:
        """[begin, end) of `f` that piece `p` covers."""
        pl = self.piece_length
        base = f.offset if self.v1 else 0
        return max(p * pl, base) - base, min((p + 1) * pl, base + f.length) - base


def read_layout(torrent: Path) -> Layout:
    top = T.bdecode(torrent.read_bytes())
    info = top[b"info"]
    name = info[b"name"].decode()
    pl = info[b"piece length"]
    files: list[LFile] = []
    if b"pieces" in info:
        meta = "hybrid" if b"file tree" in info else "v1"
        if b"files" in info:
            offset = 0
            for entry in info[b"files"]:
                files.append(LFile("/".join(c.decode() for c in entry[b"path"]), entry[b"length"],
                                   offset, b"p" in entry.get(b"attr", b"")))
                offset += entry[b"length"]
            multi = True
        else:
            files.append(LFile(name, info[b"length"], 0, False))
            multi = False
        count = len(info[b"pieces"]) // 20
    else:
        meta = "v2"
        tree = info[b"file tree"]
        multi = not (len(tree) == 1 and b"" in next(iter(tree.values())))

        def walk(node: dict, parts: list[str]) -> None:
            for key in sorted(node):
                if key == b"":
                    files.append(LFile("/".join(parts) if multi else name, node[b""][b"length"],
                                       0, False))
                else:
                    walk(node[key], parts + [key.decode()])

        walk(tree[name.encode()] if not multi else tree, [])
        count = sum(-(-f.length // pl) for f in files)
    return Layout(meta, name, multi, pl, count, tuple(files))


# ---------------------------------------------------------------------------------------------
# what the agent should say


def expected(layout: Layout, dirty: dict[str, list[tuple[int, int]]],
             errors: dict[str, str]) -> tuple[dict[tuple[str, str], dict[str, Any]], int]:
    """The findings the agent must give, {(code, path): {"pieces", "byte_ranges"}}, and the
    bytes it must hash, when files have their bytes changed in `dirty` ({path: [(begin, end)
    within the file]}) and `errors` ({path: code}) are not read at all (missing, wrong size,
    not a regular file, escaping links)."""
    out: dict[tuple[str, str], dict[str, Any]] = {(code, path): {} for path, code in errors.items()}
    bad: dict[str, set[int]] = {}
    if layout.v1:
        unreadable = [layout.file(p) for p in errors]
        skipped = {p for f in unreadable for p in layout.pieces_of(f)}
        bad_v1 = {p for path, ranges in dirty.items() for b, e in ranges
                  for p in layout.pieces_of(layout.file(path), b, e)} - skipped
        for p in bad_v1:
            for f in layout.files_in_piece(p):     # a bad piece condemns every file it touches
                bad.setdefault(f.path, set()).add(p)
        hashed = sum(e - b for p in range(layout.piece_count) if p not in skipped
                     for f in layout.files_in_piece(p) for b, e in [layout.piece_span(f, p)])
    else:
        for path, ranges in dirty.items():
            if path not in errors:
                f = layout.file(path)
                bad[path] = {p for b, e in ranges for p in layout.pieces_of(f, b, e)}
        hashed = sum(f.length for f in layout.real() if f.path not in errors)
    for path, pieces in bad.items():
        f = layout.file(path)
        ranges: list[list[int]] = []
        for p in sorted(pieces):
            b, e = layout.piece_span(f, p)
            if ranges and ranges[-1][1] == b:
                ranges[-1][1] = e
            else:
                ranges.append([b, e])
        out[("hash-mismatch", path)] = {"pieces": sorted(pieces), "byte_ranges": ranges}
    return out, hashed


def verify(*args: Any, **kwargs: Any) -> harness.Result:
    kwargs.setdefault("timeout", VERIFY_TIMEOUT)
    return harness.run_agent("verify", *args, **kwargs)


def verify_json(torrent: Path, *args: Any, **kwargs: Any) -> tuple[harness.Result, dict[str, Any]]:
    """`verify --json TORRENT ARGS`: the Result and the document, its shape checked."""
    result = verify("--json", torrent, *args, **kwargs)
    doc = result.json()

    def need(cond: bool, what: str) -> None:
        if not cond:
            raise AssertionError(f"verify --json: {what}\n{json.dumps(doc, indent=1)}\n{result}")

    need(doc.get("version") == 1, "version 1")
    need(set(doc) >= {"torrent", "content", "name", "info_hash_v1", "info_hash_v2", "ready",
                      "bytes", "findings"}, f"keys {sorted(doc)}")
    need(doc["torrent"] == str(torrent), "torrent as given")
    need(isinstance(doc["ready"], bool) and isinstance(doc["bytes"], int), "ready, bytes")
    data = (Path(kwargs.get("cwd") or ".") / torrent).read_bytes()
    v1, v2 = T.info_hashes(data)
    info = T.bdecode(data)[b"info"]
    need(doc["info_hash_v1"] == (v1 if b"pieces" in info else None), "info_hash_v1")
    need(doc["info_hash_v2"] == (v2 if b"file tree" in info else None), "info_hash_v2")
    for f in doc["findings"]:
        need(set(f) >= {"code", "severity", "path", "target", "message", "hint"},
             f"finding keys {sorted(f)}")
        need(f["severity"] == "error", f"severity of {f['code']}")
        need(isinstance(f["message"], str) and f["message"] and "\n" not in f["message"],
             "message: one non-empty line")
        need(isinstance(f["hint"], str), "hint")
        if f["code"] == "hash-mismatch":
            # `pieces` is checked by the tests (exact values), not here
            need(f.get("byte_ranges"), "hash-mismatch has byte_ranges")
        else:
            need(not f.get("pieces") and not f.get("byte_ranges"), "pieces only in hash-mismatch")
    need(doc["ready"] == (not doc["findings"]), "ready iff no (error) finding")
    need(result.returncode == (0 if doc["ready"] else 1), "exit 0 iff ready, else 1")
    return result, doc


# ---------------------------------------------------------------------------------------------
# the oracle: libtorrent's full check


def libtorrent_missing(torrent: Path, save_path: Path) -> tuple[set[int], Any]:
    """The pieces libtorrent's own check of save_path finds bad or absent, and its
    torrent_info. A fresh session with no network; the torrent never downloads (upload mode)
    and stops once checked."""
    import libtorrent as lt

    session = lt.session({
        "listen_interfaces": "127.0.0.1:0", "enable_dht": False, "enable_lsd": False,
        "enable_upnp": False, "enable_natpmp": False, "alert_mask": 0,
    })
    try:
        ti = lt.torrent_info(str(torrent))
        atp = lt.add_torrent_params()
        atp.ti = ti
        atp.save_path = str(save_path)
        atp.flags = (lt.torrent_flags.upload_mode | lt.torrent_flags.stop_when_ready
                     | lt.torrent_flags.disable_dht | lt.torrent_flags.disable_lsd
                     | lt.torrent_flags.disable_pex)
        handle = session.add_torrent(atp)
        checking = (lt.torrent_status.checking_files, lt.torrent_status.checking_resume_data)
        done = (lt.torrent_status.downloading, lt.torrent_status.finished,
                lt.torrent_status.seeding)
        deadline = time.monotonic() + LT_CHECK_TIMEOUT
        while True:
            status = handle.status()
            if status.errc.value():
                raise AssertionError(f"libtorrent error on {torrent}: {status.errc.message()}")
            if status.state in done and status.state not in checking:
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"libtorrent did not finish checking {torrent} within "
                                     f"{LT_CHECK_TIMEOUT}s (state {status.state})")
            time.sleep(0.005)
        pieces = list(status.pieces)
        if len(pieces) != ti.num_pieces():
            raise AssertionError(f"libtorrent bitfield of {len(pieces)} for {ti.num_pieces()}")
        session.remove_torrent(handle)     # never with delete_files
        return {i for i, have in enumerate(pieces) if not have}, ti
    finally:
        del session


def to_libtorrent(layout: Layout, ti: Any, path: str, pieces: Any) -> set[int]:
    """Pieces of file `path` in the agent's numbering as libtorrent's piece indices: the same
    for v1 and hybrid; for v2-only, libtorrent aligns every file on a piece boundary with
    synthesized pad files, so a file's piece j is file_offset // piece_length + j."""
    if layout.v1:
        return set(pieces)
    fs = ti.files()
    prefix = layout.name + "/" if layout.multi else ""
    for i in range(fs.num_files()):
        if fs.file_flags(i) & T.LT_PAD:
            continue
        if fs.file_path(i) == prefix + path:
            first = fs.file_offset(i) // layout.piece_length
            return {first + j for j in pieces}
    raise AssertionError(f"libtorrent does not list {path!r}")


# ---------------------------------------------------------------------------------------------
# damage


def flip(path: Path, at: int) -> None:
    with open(path, "r+b") as f:
        f.seek(at)
        byte = f.read(1)
        f.seek(at)
        f.write(bytes([byte[0] ^ 0x5A]))


@dataclasses.dataclass
class Case:
    label: str
    dirty: dict[str, list[tuple[int, int]]]
    errors: dict[str, str]
    damage: Any            # callable(content_dir_or_file: Path) -> None
    extended: bool = False  # libtorrent does not read past the torrent's length


def cases(layout: Layout) -> list[Case]:
    """The damaged copies for one torrent, chosen from its layout."""
    pl = layout.piece_length
    out: list[Case] = [Case("clean", {}, {}, lambda c: None)]

    def at(path: str):
        return lambda content: content if not layout.multi else content / path

    def flip_case(label: str, f: LFile, x: int) -> Case:
        return Case(label, {f.path: [(x, x + 1)]}, {}, lambda c: flip(at(f.path)(c), x))

    real = layout.real()
    if layout.v1:
        k = min(1, layout.piece_count - 1)
        # first byte of piece k, and the last real byte of piece k (not a pad's)
        first = layout.files_in_piece(k)[0]
        out.append(flip_case(f"first byte of piece {k}", first, k * pl - first.offset))
        last = layout.files_in_piece(k)[-1]
        out.append(flip_case(f"last byte of piece {k}", last,
                             min((k + 1) * pl, last.offset + last.length) - 1 - last.offset))
        # a byte in a file that shares its piece with others (unpadded v1 only)
        shared = [(p, layout.files_in_piece(p)) for p in range(layout.piece_count)
                  if len(layout.files_in_piece(p)) >= 2]
        if shared:
            p, fs = max(shared, key=lambda s: len(s[1]))
            f = fs[len(fs) // 2] if len(fs) > 2 else fs[1]
            b, e = layout.piece_span(f, p)
            out.append(flip_case(f"byte in {f.path}, one of {len(fs)} files of piece {p}",
                                 f, (b + e) // 2))
    else:
        big = max(real, key=lambda f: f.length)
        j = min(1, len(layout.pieces_of(big)) - 1)
        out.append(flip_case(f"first byte of piece {j} of {big.path}", big, j * pl))
        out.append(flip_case(f"last byte of piece {j} of {big.path}", big,
                             min((j + 1) * pl, big.length) - 1))
        small = min(real, key=lambda f: f.length)
        out.append(flip_case(f"middle byte of {small.path}", small, small.length // 2))

    if layout.v1 and not any(len(layout.files_in_piece(p)) >= 2
                             for p in range(layout.piece_count)):
        # padded: the smallest file shares its piece with a pad file only
        small = min(real, key=lambda f: f.length)
        out.append(flip_case(f"middle byte of {small.path} (then a pad)", small,
                             small.length // 2))

    big = max(real, key=lambda f: f.length)
    if len(layout.pieces_of(big)) >= 2:
        # the bytes either side of the file's first piece boundary: two pieces, one range
        base = big.offset if layout.v1 else 0
        edge = (base // pl + 1) * pl - base
        out.append(Case(f"{big.path}: bytes {edge - 1} and {edge} (a piece boundary)",
                        {big.path: [(edge - 1, edge + 1)]}, {},
                        lambda c: (flip(at(big.path)(c), edge - 1), flip(at(big.path)(c), edge))))
        # its first and last bytes: two ranges
        out.append(Case(f"{big.path}: first and last bytes",
                        {big.path: [(0, 1), (big.length - 1, big.length)]}, {},
                        lambda c: (flip(at(big.path)(c), 0),
                                   flip(at(big.path)(c), big.length - 1))))
    out.append(Case(f"{big.path} truncated", {}, {big.path: "size-mismatch"},
                    lambda c: os.truncate(at(big.path)(c), big.length // 2)))
    small = min(real, key=lambda f: f.length)

    def extend(c: Path) -> None:
        with open(at(small.path)(c), "ab") as f:
            f.write(b"\0")

    out.append(Case(f"{small.path} one byte longer", {}, {small.path: "size-mismatch"}, extend,
                    extended=True))
    sizes: dict[int, list[LFile]] = {}
    for f in real:
        sizes.setdefault(f.length, []).append(f)
    pair = next((fs[:2] for fs in sizes.values() if len(fs) >= 2), None)
    if pair:
        a, b = pair

        def swap(c: Path) -> None:
            tmp = at(a.path)(c).with_name(".swap")
            os.rename(at(a.path)(c), tmp)
            os.rename(at(b.path)(c), at(a.path)(c))
            os.rename(tmp, at(b.path)(c))

        out.append(Case(f"{a.path} and {b.path} swapped",
                        {a.path: [(0, a.length)], b.path: [(0, b.length)]}, {}, swap))
    victim = real[len(real) // 2]
    out.append(Case(f"{victim.path} missing", {}, {victim.path: "missing-file"},
                    lambda c: os.unlink(at(victim.path)(c))))

    def in_place(c: Path) -> None:
        target = at(big.path)(c)
        before = os.stat(target)
        with open(target, "r+b") as f:
            f.seek(big.length // 3)
            f.write(b"changed in place")
        os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))
        after = os.stat(target)
        assert (after.st_mtime_ns, after.st_size) == (before.st_mtime_ns, before.st_size)

    out.append(Case(f"{big.path} changed in place, mtime kept",
                    {big.path: [(big.length // 3, big.length // 3 + 16)]}, {}, in_place))
    return out


# ---------------------------------------------------------------------------------------------


@unittest.skipUnless(LIBTORRENT, NO_LIBTORRENT)
class VerifyCase(unittest.TestCase):
    def setUp(self) -> None:
        super().setUp()
        self.tmp = harness.make_tmpdir("webseed-verify-")
        self.addCleanup(harness.remove_tree, self.tmp)

    def source(self, p: T.Payload) -> Path:
        """The clean payload, written once per test: tmp/src/<name>."""
        top = self.tmp / "src"
        top.mkdir(exist_ok=True)
        path = top / p.name
        return path if path.exists() else p.write(top)

    def copy(self, src: Path, label: str) -> Path:
        """A copy of the payload `src` as tmp/<label>/<name>; returns it."""
        parent = self.tmp / label
        parent.mkdir()
        dest = parent / src.name
        if src.is_dir():
            shutil.copytree(src, dest, symlinks=True)
        else:
            shutil.copy2(src, dest)
        return dest

    def check_findings(self, doc: dict[str, Any], want: dict[tuple[str, str], dict[str, Any]],
                       hashed: int, what: str) -> None:
        dump = f"{what}\n{json.dumps(doc, indent=1)}"
        got = {(f["code"], f["path"]): f for f in doc["findings"]}
        self.assertEqual(len(got), len(doc["findings"]), "one finding per (code, path)\n" + dump)
        self.assertEqual(sorted(got), sorted(want), "findings (code, path)\n" + dump)
        for key, w in want.items():
            if key[0] == "hash-mismatch":
                self.assertEqual(got[key].get("pieces"), w["pieces"], f"pieces of {key}\n{dump}")
                self.assertEqual(got[key]["byte_ranges"], w["byte_ranges"],
                                 f"byte_ranges of {key}\n{dump}")
            self.assertIsNone(got[key]["target"], f"target of {key}\n{dump}")
        self.assertEqual(doc["bytes"], hashed, "bytes hashed\n" + dump)
        self.assertEqual(doc["ready"], not want, dump)

    def check_oracle(self, layout: Layout, torrent: Path, content: Path, doc: dict[str, Any],
                     case: Case) -> None:
        lacking, ti = libtorrent_missing(torrent, content.parent)
        self.assertEqual(ti.num_pieces(), layout.piece_count if layout.v1 else ti.num_pieces())
        named: set[int] = set()
        for f in doc["findings"]:
            if f["code"] == "hash-mismatch":
                pieces = f.get("pieces")
                if not pieces:
                    # no piece list (check_findings fails on that): the pieces its byte
                    # ranges cover, so that the verdicts can still be compared
                    lf = layout.file(f["path"])
                    pieces = {p for b, e in f["byte_ranges"] for p in layout.pieces_of(lf, b, e)}
                named |= to_libtorrent(layout, ti, f["path"], pieces)
        not_read: set[int] = set()
        for f in doc["findings"]:
            if f["code"] != "hash-mismatch":
                lf = layout.file(f["path"])
                not_read |= to_libtorrent(layout, ti, f["path"], layout.pieces_of(lf))
        what = (f"{case.label}: agent names pieces {sorted(named)} (and does not read "
                f"{sorted(not_read)}), libtorrent lacks {sorted(lacking)}\n"
                f"{json.dumps(doc, indent=1)}")
        self.assertLessEqual(named, lacking, "a piece the agent names is good for libtorrent: "
                             + what)
        self.assertLessEqual(lacking, named | not_read, "libtorrent lacks a piece the agent "
                             "does not name: " + what)
        if not case.errors:
            self.assertEqual(named, lacking, what)
        if case.extended:
            self.assertEqual(lacking, set(), "libtorrent never reads past the torrent's length")
            self.assertFalse(doc["ready"])
        else:
            self.assertEqual(doc["ready"], not lacking, "verdict: agent vs libtorrent: " + what)

    def run_all(self, torrent: Path, src: Path, *, meta: str,
                expect_files: Optional[int] = None) -> Layout:
        """The clean payload and every damaged copy, each checked exactly and against
        libtorrent."""
        layout = read_layout(torrent)
        self.assertEqual(layout.meta, meta)
        if expect_files is not None:
            self.assertEqual(len([f for f in layout.files if not f.pad]), expect_files)
        for n, case in enumerate(cases(layout)):
            with self.subTest(case=case.label):
                content = self.copy(src, f"case-{n}")
                case.damage(content)
                result, doc = verify_json(torrent, "--content", content)
                self.assertEqual(doc["content"], str(content))
                self.assertEqual(doc["name"], layout.name)
                # libtorrent first: the verdicts compared even when the details below fail
                self.check_oracle(layout, torrent, content, doc, case)
                want, hashed = expected(layout, case.dirty, case.errors)
                if case.label == "clean":
                    self.assertEqual(hashed, layout.total)
                    self.assertEqual(result.returncode, 0, result)
                self.check_findings(doc, want, hashed, f"{torrent.name}: {case.label}")
        return layout


class RealToolsTest(VerifyCase):
    """Every tool, meta version and shape, clean and damaged."""

    def test_mktorrent_v1_many_small_files_32k(self):
        src = self.source(MANY)
        t = T.mktorrent(src, self.tmp / "m.torrent", piece_log2=15)
        layout = self.run_all(t, src, meta="v1", expect_files=len(MANY.files))
        self.assertTrue(any(len(layout.files_in_piece(p)) >= 5
                            for p in range(layout.piece_count)), "a piece spans many files")

    def test_mktorrent_v1_single_piece_larger_than_file(self):
        src = self.source(T.SINGLE)
        t = T.mktorrent(src, self.tmp / "s.torrent", piece_log2=18)
        layout = self.run_all(t, src, meta="v1")
        self.assertEqual(layout.piece_count, 1)
        self.assertFalse(layout.multi)

    def test_transmission_v1_multi_16k(self):
        src = self.source(T.MULTI)
        t = T.transmission_create(src, self.tmp / "t.torrent", piece_kib=16)
        # transmission-create leaves zero-length files out
        self.run_all(t, src, meta="v1",
                     expect_files=len([f for f in T.MULTI.files if f.size]))

    def test_transmission_v1_one_piece_for_all_files(self):
        src = self.source(MANY)
        t = T.transmission_create(src, self.tmp / "t.torrent", piece_kib=256)
        layout = self.run_all(t, src, meta="v1")
        self.assertEqual(layout.piece_count, 1)     # 256 KiB > the whole payload

    def test_libtorrent_v1_16k(self):
        src = self.source(MANY)
        t = T.lt_create(src, self.tmp / "l.torrent", piece_size=16 * T.KiB, meta="v1")
        self.run_all(t, src, meta="v1")

    def test_libtorrent_v1_pad_files_16k(self):
        src = self.source(T.MULTI)
        t = T.lt_create(src, self.tmp / "p.torrent", piece_size=16 * T.KiB, meta="v1",
                        pad_v1=True)
        layout = self.run_all(t, src, meta="v1")
        self.assertTrue(any(f.pad for f in layout.files))

    def test_libtorrent_v2_many_small_files_16k(self):
        src = self.source(MANY)
        t = T.lt_create(src, self.tmp / "v2.torrent", piece_size=16 * T.KiB, meta="v2")
        self.run_all(t, src, meta="v2", expect_files=len(MANY.files))

    def test_libtorrent_v2_single_with_piece_layers(self):
        src = self.source(T.BIG)
        t = T.lt_create(src, self.tmp / "b.torrent", piece_size=16 * T.KiB, meta="v2")
        layout = self.run_all(t, src, meta="v2")
        self.assertFalse(layout.multi)
        self.assertEqual(layout.piece_count, 6)

    def test_libtorrent_v2_piece_larger_than_payload(self):
        src = self.source(T.MULTI)
        t = T.lt_create(src, self.tmp / "v2.torrent", piece_size=256 * T.KiB, meta="v2")
        layout = self.run_all(t, src, meta="v2")
        self.assertGreater(layout.piece_length, layout.total)

    def test_libtorrent_hybrid_32k(self):
        src = self.source(MANY)
        t = T.lt_create(src, self.tmp / "h.torrent", piece_size=32 * T.KiB, meta="hybrid")
        layout = self.run_all(t, src, meta="hybrid")
        self.assertTrue(any(f.pad for f in layout.files))

    def test_libtorrent_hybrid_multi_16k_no_tail_pad(self):
        src = self.source(T.MULTI)
        t = T.lt_create(src, self.tmp / "h.torrent", piece_size=16 * T.KiB, meta="hybrid",
                        tail_pad=False)
        self.run_all(t, src, meta="hybrid")

    def test_libtorrent_hybrid_single_16k(self):
        src = self.source(T.BIG)
        t = T.lt_create(src, self.tmp / "h.torrent", piece_size=16 * T.KiB, meta="hybrid")
        self.run_all(t, src, meta="hybrid")


class OptionsAndOutputTest(VerifyCase):
    def damaged_hybrid(self) -> tuple[Path, Path]:
        """A hybrid torrent of MANY and a copy with a flipped byte, a missing file and a
        truncated one."""
        src = self.source(MANY)
        t = T.lt_create(src, self.tmp / "h.torrent", piece_size=16 * T.KiB, meta="hybrid")
        content = self.copy(src, "damaged")
        flip(content / "data.bin", 40000)
        os.unlink(content / "small" / "02")
        os.truncate(content / "tail.bin", 100)
        return t, content

    def test_jobs_1_and_2_agree(self):
        for meta in ("v1", "v2", "hybrid"):
            with self.subTest(meta=meta):
                src = self.source(MANY)
                t = T.lt_create(src, self.tmp / f"{meta}.torrent", piece_size=16 * T.KiB,
                                meta=meta)
                content = self.copy(src, f"damaged-{meta}")
                flip(content / "data.bin", 0)
                flip(content / "docs" / "readme", 600)
                flip(content / "tail.bin", 20000)
                os.unlink(content / "small" / "05")
                docs = []
                for jobs in ("1", "2", "7"):
                    result, doc = verify_json(t, "--content", content, "--jobs", jobs)
                    self.assertEqual(result.returncode, 1, result)
                    docs.append(doc)
                _, default = verify_json(t, "--content", content)
                self.assertEqual(docs[0], docs[1])
                self.assertEqual(docs[0], docs[2])
                self.assertEqual(docs[0], default)
                layout = read_layout(t)
                want, hashed = expected(
                    layout, {"data.bin": [(0, 1)], "docs/readme": [(600, 601)],
                             "tail.bin": [(20000, 20001)]}, {"small/05": "missing-file"})
                self.check_findings(docs[0], want, hashed, f"{meta}, damaged")

    def test_default_content_is_the_name_next_to_the_torrent(self):
        src = self.source(MANY)
        t = T.lt_create(src, src.parent / "h.torrent", piece_size=32 * T.KiB, meta="hybrid")
        result, doc = verify_json(t)
        self.assertEqual(result.returncode, 0, result)
        self.assertEqual(doc["content"], str(src))
        self.assertEqual(doc["bytes"], MANY.total_size)
        # relative, from the torrent's directory
        result, doc = verify_json(Path("h.torrent"), cwd=src.parent)
        self.assertEqual(result.returncode, 0, result)
        self.assertEqual(doc["content"], MANY.name)
        # single-file: the file next to the torrent
        single = self.source(T.SINGLE)
        t = T.mktorrent(single, single.parent / "s.torrent", piece_log2=15)
        result, doc = verify_json(t)
        self.assertEqual(result.returncode, 0, result)
        self.assertEqual(doc["bytes"], T.SINGLE.total_size)
        os.truncate(single, 10)
        result, doc = verify_json(t)
        self.assertEqual([(f["code"], f["path"]) for f in doc["findings"]],
                         [("size-mismatch", T.SINGLE.name)], result)

    def test_human_output(self):
        t, content = self.damaged_hybrid()
        result = verify(t, "--content", content)
        self.assertEqual(result.returncode, 1, result)
        out = result.out
        for text in ("hash-mismatch", "data.bin", "missing-file", "small/02", "size-mismatch",
                     "tail.bin", "NOT OK", str(content), MANY.name):
            self.assertIn(text, out, result)
        self.assertNotIn("docs/a.txt", out, result)
        # the piece (global: hybrid) and the byte range of data.bin in the message
        layout = read_layout(t)
        data = layout.file("data.bin")
        piece = (data.offset + 40000) // layout.piece_length
        self.assertRegex(out, rf"piece {piece} \(of {layout.piece_count}\) does not match", result)
        clean = verify(t, "--content", self.source(MANY))
        self.assertEqual(clean.returncode, 0, clean)
        self.assertIn("OK: ", clean.out)
        self.assertNotIn("NOT OK", clean.out)
        self.assertNotIn("mismatch", clean.out)

    def test_missing_content(self):
        src = self.source(MANY)
        t = T.mktorrent(src, self.tmp / "m.torrent", piece_log2=15)
        result = verify("--json", t, "--content", self.tmp / "nowhere")
        self.assertIn(result.returncode, (1, 2), result)
        self.assertNotEqual(result.returncode, 0, result)


class NeverOpenedProbe:
    """Watches a FIFO while the agent runs: opening it for writing without blocking succeeds
    only while some process has it open for reading (else ENXIO). Bounded by `stop()`."""

    def __init__(self, fifo: Path) -> None:
        self.fifo = fifo
        self.opened = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "NeverOpenedProbe":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                fd = os.open(self.fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError as e:
                if e.errno != errno.ENXIO:
                    raise
            else:
                self.opened += 1
                os.close(fd)
            time.sleep(0.0005)


class SpecialFilesTest(VerifyCase):
    def test_fifo_where_a_file_belongs(self):
        src = self.source(MANY)
        t = T.mktorrent(src, self.tmp / "m.torrent", piece_log2=15)
        layout = read_layout(t)
        content = self.copy(src, "fifo")
        fifo = content / "data.bin"
        os.unlink(fifo)
        os.mkfifo(fifo)
        with NeverOpenedProbe(fifo) as probe:
            started = time.monotonic()
            result, doc = verify_json(t, "--content", content, timeout=10)
            elapsed = time.monotonic() - started
        self.assertEqual(probe.opened, 0, "the agent opened the FIFO for reading")
        self.assertLess(elapsed, 10)
        want, hashed = expected(layout, {}, {"data.bin": "not-regular-file"})
        self.check_findings(doc, want, hashed, "FIFO")

    def test_fifo_as_single_file_content(self):
        src = self.source(T.SINGLE)
        t = T.mktorrent(src, self.tmp / "s.torrent", piece_log2=15)
        fifo = self.tmp / "fifo" / T.SINGLE.name
        fifo.parent.mkdir()
        os.mkfifo(fifo)
        with NeverOpenedProbe(fifo) as probe:
            result, doc = verify_json(t, "--content", fifo, timeout=10)
        self.assertEqual(probe.opened, 0, "the agent opened the FIFO for reading")
        self.assertEqual([(f["code"], f["path"]) for f in doc["findings"]],
                         [("not-regular-file", T.SINGLE.name)], result)
        self.assertEqual(doc["bytes"], 0)

    def escaping(self, meta: str, target_is_fifo: bool) -> None:
        src = self.source(MANY)
        t = T.lt_create(src, self.tmp / f"{meta}.torrent", piece_size=16 * T.KiB, meta=meta)
        layout = read_layout(t)
        content = self.copy(src, f"escape-{meta}-{int(target_is_fifo)}")
        outside = self.tmp / f"outside-{meta}-{int(target_is_fifo)}"
        outside.mkdir()
        victim = content / "docs" / "readme"
        if target_is_fifo:
            os.mkfifo(outside / "readme")
        else:
            shutil.copy2(victim, outside / "readme")    # the right bytes, but outside
        os.unlink(victim)
        link = os.path.relpath(outside / "readme", victim.parent)
        os.symlink(link, victim)
        if target_is_fifo:
            with NeverOpenedProbe(outside / "readme") as probe:
                result, doc = verify_json(t, "--content", content, timeout=10)
            self.assertEqual(probe.opened, 0, "the agent opened the link's FIFO target")
        else:
            result, doc = verify_json(t, "--content", content)
        found = [f for f in doc["findings"] if f["path"] == "docs/readme"]
        self.assertEqual([f["code"] for f in doc["findings"]], ["escapes-root"], result)
        self.assertEqual(len(found), 1, result)
        # never read: the pieces touching it are not hashed
        _, hashed = expected(layout, {}, {"docs/readme": "escapes-root"})
        self.assertEqual(doc["bytes"], hashed, result)
        # docs/findings.md: `target` is the link's own target
        self.assertEqual(found[0]["target"], link, "target of the escaping link\n" + str(result))

    def test_symlink_escaping_content_dir(self):
        for meta in ("v1", "v2", "hybrid"):
            for fifo in (False, True):
                with self.subTest(meta=meta, fifo_target=fifo):
                    self.escaping(meta, fifo)


if __name__ == "__main__":
    unittest.main()
