#!/usr/bin/python3
"""Benchmark for `webseed-agent torrent show` against python3-libtorrent's torrent_info.

Generates (once) a large real-shaped hybrid (v1 + v2) torrent without a payload: a
--size byte payload (default 4 GiB) in --piece-length pieces (default 16 KiB), three files
(one > 2 GiB at the default size) with BEP 47 pad files in the v1 list, random v1 piece
hashes, random v2 piece layers and pieces roots that are their merkle roots (BEP 52). Then
times, interleaved and best-of/median over --runs rounds:

  agent          webseed-agent torrent show --json FILE           (stdout -> /dev/null)
  lt process     python3 -c 'import libtorrent as lt; lt.torrent_info(FILE, LIMITS)'
  lt import      python3 -c 'import libtorrent'                  (the process floor)
  lt in-process  lt.torrent_info(FILE, LIMITS) inside this process (no process start-up)

LIMITS raises libtorrent's default load limits (10 MB file, 2^21 pieces), which the
default torrent exceeds.

Then, with --timer (build/torrent-parse-timer, `make bench` builds it), the hostile shapes of
issue 13 (tests/fixtures/hostile_torrents.py: 2,000 and 20,000 v2 files sharing one 2 MiB
piece layer, a v2 tree 90 directories deep with 4 KiB names and 3,000 files, 160,000 url-list
entries, 100,000 v1 files) next to the plain hybrid above: agent::parse_torrent timed
in-process (best of --runs), its time per MiB and the ratio to the plain hybrid's, and one
`torrent show --json` run. The torrent model must stay linear: a ratio above RATIO_LIMIT (3)
fails the benchmark (exit 1).

Python 3 standard library plus python3-libtorrent (Debian; /usr/bin/python3). A benchmark,
not a test: exits 0 after printing the table; exits 1 only when a sanity check fails
(libtorrent rejects the torrent or sees other files, pieces or roots; the agent fails, or its
info_hash_v1 / info_hash_v2 differ from libtorrent's), 2 on usage errors.
"""

import argparse
import hashlib
import json
import os
import random
import re
import statistics
import sys
import tempfile
import time

SYSTEM_PYTHON = "/usr/bin/python3"

try:
    import libtorrent as lt
except ImportError:
    # python3-libtorrent is a Debian package: only the system interpreter has it.
    if os.path.realpath(sys.executable) != os.path.realpath(SYSTEM_PYTHON) and \
            os.path.exists(SYSTEM_PYTHON) and not os.environ.get("TORRENT_BENCH_REEXEC"):
        os.environ["TORRENT_BENCH_REEXEC"] = "1"
        os.execv(SYSTEM_PYTHON, [SYSTEM_PYTHON] + sys.argv)
    print("torrent_parse_bench: error: python3-libtorrent is not installed "
          "(apt-get install python3-libtorrent)", file=sys.stderr)
    sys.exit(2)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from links_bench import (describe_failure, machine_info, rss_launcher,  # noqa: E402
                         run_rss, run_timed)

GENERATOR_VERSION = 1
SEED = 20240521
BLOCK = 16 * 1024
LT_LIMITS = {"max_buffer_size": 1 << 30, "max_pieces": 1 << 26,
             "max_decode_tokens": 1 << 24, "max_decode_depth": 100}
LT_PROCESS = ("import sys, libtorrent as lt; "
              f"lt.torrent_info(sys.argv[1], {LT_LIMITS!r})")


RATIO_LIMIT = 3.0


def die(msg, code=1):
    print(f"torrent_parse_bench: error: {msg}", file=sys.stderr)
    sys.exit(code)


def parse_size(text):
    m = re.fullmatch(r"\s*(\d+)\s*([KMGT]?)(i?B)?\s*", text, re.I)
    if not m:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 4GiB, 512M, 1000000)")
    return int(m.group(1)) * 1024 ** " KMGT".index((m.group(2) or " ").upper())


# --------------------------------------------------------------------------
# Torrent generation
# --------------------------------------------------------------------------

def bencode(v, out):
    if isinstance(v, int):
        out += b"i%de" % v
    elif isinstance(v, (bytes, str)):
        b = v.encode() if isinstance(v, str) else v
        out += b"%d:" % len(b)
        out += b
    elif isinstance(v, list):
        out += b"l"
        for x in v:
            bencode(x, out)
        out += b"e"
    elif isinstance(v, dict):
        out += b"d"
        for k, x in sorted((k.encode() if isinstance(k, str) else k, x) for k, x in v.items()):
            bencode(k, out)
            bencode(x, out)
        out += b"e"
    else:
        raise TypeError(type(v))
    return out


def merkle_root(leaves, pad):
    """BEP 52: the root of a binary SHA-256 tree over `leaves`, padded to a power of two."""
    n = 1
    while n < len(leaves):
        n *= 2
    layer = list(leaves) + [pad] * (n - len(leaves))
    sha256 = hashlib.sha256
    while len(layer) > 1:
        layer = [sha256(layer[i] + layer[i + 1]).digest() for i in range(0, len(layer), 2)]
    return layer[0]


def piece_pad_hash(piece_length):
    """The piece-layer padding hash: the root of piece_length / 16 KiB zero block hashes
    (a block past the end of the file hashes to 32 zero bytes)."""
    return merkle_root([bytes(32)] * (piece_length // BLOCK), None)


def plan_files(size):
    """(v1/v2 path, length) of the three files: 5/8 (> 2 GiB at 4 GiB), 1/4 and the rest,
    none a multiple of the piece length, in the file tree's (sorted) order."""
    big = size * 5 // 8 + 12345
    medium = size // 4 + 777
    return [(["images", "install-amd64.img"], big),
            (["images", "live-amd64.iso"], medium),
            (["sources", "source.tar.xz"], size - big - medium)]


def make_torrent(size, piece_length):
    """The .torrent bytes and what the sanity checks compare against."""
    rng = random.Random(SEED)
    pad_hash = piece_pad_hash(piece_length)
    files = plan_files(size)
    tree, v1_files, layers, roots, v1_total = {}, [], {}, [], 0
    for i, (path, length) in enumerate(files):
        pieces = -(-length // piece_length)
        if pieces > 1:
            layer = rng.randbytes(32 * pieces)
            root = merkle_root([layer[j:j + 32] for j in range(0, len(layer), 32)], pad_hash)
            layers[root] = layer
        else:  # one piece: no layer; the root covers that piece's blocks
            blocks = -(-length // BLOCK)
            root = merkle_root([rng.randbytes(32) for _ in range(blocks)], bytes(32))
        roots.append(root)
        node = tree
        for c in path[:-1]:
            node = node.setdefault(c, {})
        node[path[-1]] = {"": {"length": length, "pieces root": root}}
        v1_files.append({"length": length, "path": path})
        v1_total += length
        pad = -length % piece_length
        if pad and i + 1 < len(files):  # BEP 47: align the next file to a piece (hybrid)
            v1_files.append({"attr": "p", "length": pad, "path": [".pad", str(pad)]})
            v1_total += pad
    num_pieces = -(-v1_total // piece_length)
    name = f"bench-hybrid-{size}"
    info = {"name": name, "piece length": piece_length, "meta version": 2,
            "file tree": tree, "files": v1_files, "pieces": rng.randbytes(20 * num_pieces)}
    torrent = {
        "announce": "https://tracker.example.org/announce",
        "announce-list": [["https://tracker.example.org/announce"],
                          ["udp://tracker.example.net:6969/announce"]],
        "comment": "torrent_parse_bench: synthetic hybrid torrent, no payload",
        "created by": "torrent_parse_bench.py",
        "creation date": 1700000000,
        "url-list": ["https://mirror.example.org/pub/experimental/torrent-symlinks/"],
        "info": info,
        "piece layers": layers,
    }
    info_bytes = bytes(bencode(info, bytearray()))
    expect = {"name": name, "num_pieces": num_pieces, "num_files_with_pads": len(v1_files),
              "total_size": size, "roots": [r.hex() for r in roots],
              "info_hash_v1": hashlib.sha1(info_bytes).hexdigest(),
              "info_hash_v2": hashlib.sha256(info_bytes).hexdigest()}
    return bytes(bencode(torrent, bytearray())), expect


def ensure_torrent(workdir, size, piece_length):
    """Creates workdir/hybrid-SIZE-PL.torrent unless a matching one is there.
    Returns (path, expectations, seconds spent generating or 0)."""
    os.makedirs(workdir, exist_ok=True)
    path = os.path.join(workdir, f"hybrid-{size}-{piece_length}.torrent")
    manifest_path = path + ".json"
    params = {"generator": GENERATOR_VERSION, "seed": SEED, "size": size,
              "piece_length": piece_length}
    try:
        with open(manifest_path) as f:
            manifest = json.load(f)
        with open(path, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        if manifest.get("params") == params and manifest.get("sha256") == digest:
            return path, manifest["expect"], 0.0
    except (OSError, ValueError):
        pass
    t0 = time.perf_counter()
    data, expect = make_torrent(size, piece_length)
    for target, content in ((path, data),
                            (manifest_path, (json.dumps({"params": params, "expect": expect,
                                                         "sha256": hashlib.sha256(data).hexdigest()},
                                                        indent=1) + "\n").encode())):
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=workdir)
        with os.fdopen(fd, "wb") as f:
            f.write(content)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    return path, expect, time.perf_counter() - t0


# --------------------------------------------------------------------------
# Sanity checks
# --------------------------------------------------------------------------

def check_libtorrent(path, expect):
    """Problems libtorrent reports with the torrent (empty: it agrees with the generator)."""
    try:
        ti = lt.torrent_info(path, LT_LIMITS)
    except RuntimeError as e:
        return [f"libtorrent rejects {path}: {e}"], None
    problems = []
    ih = ti.info_hashes()
    got = {"info_hash_v1": str(ih.v1) if ih.has_v1() else None,
           "info_hash_v2": ih.v2.to_bytes().hex() if ih.has_v2() else None}
    for key, val in got.items():
        if val != expect[key]:
            problems.append(f"libtorrent {key} {val} != {expect[key]} (computed here)")
    fs = ti.files()
    if ti.num_pieces() != expect["num_pieces"]:
        problems.append(f"libtorrent: {ti.num_pieces()} pieces, expected {expect['num_pieces']}")
    if fs.num_files() != expect["num_files_with_pads"]:
        problems.append(f"libtorrent: {fs.num_files()} files, expected "
                        f"{expect['num_files_with_pads']} (with pad files)")
    roots = [fs.root(i).to_bytes().hex() for i in range(fs.num_files())
             if not fs.file_flags(i) & lt.file_storage.flag_pad_file]
    if roots != expect["roots"]:
        problems.append(f"libtorrent: pieces roots {roots} != {expect['roots']}")
    if ti.total_size() < expect["total_size"]:
        problems.append(f"libtorrent: total size {ti.total_size()} < {expect['total_size']}")
    return problems, got


def check_agent(r, expect, lt_hashes, name):
    if r.timed_out or r.status != 0:
        return [describe_failure(name, r, 0)]
    try:
        t = json.loads(r.stdout)["torrents"][0]
    except (ValueError, KeyError, IndexError, TypeError) as e:
        return [f"{name}: output is not the torrent show document ({e}); "
                f"first bytes {r.stdout[:200]!r}"]
    problems = []
    if t.get("ok") is not True:
        problems.append(f"{name}: ok={t.get('ok')!r}, findings {t.get('findings')!r}")
    for key in ("info_hash_v1", "info_hash_v2"):
        if t.get(key) != lt_hashes[key]:
            problems.append(f"{name}: {key} {t.get(key)} != libtorrent's {lt_hashes[key]}")
    for key, want in (("meta_version", "hybrid"), ("piece_count", expect["num_pieces"]),
                      ("total_size", expect["total_size"])):
        if t.get(key) != want:
            problems.append(f"{name}: {key} {t.get(key)!r}, expected {want!r}")
    roots = [f.get("pieces_root") for f in t.get("files", []) if not f.get("pad")]
    if roots != expect["roots"]:
        problems.append(f"{name}: pieces roots {roots} != {expect['roots']}")
    return problems


# --------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--agent", default="build/webseed-agent", help="path to webseed-agent")
    ap.add_argument("--size", type=parse_size, default=4 << 30,
                    help="payload size the torrent describes (default 4GiB)")
    ap.add_argument("--piece-length", type=parse_size, default=BLOCK,
                    help="piece length, a power of two >= 16KiB (default 16KiB)")
    ap.add_argument("--workdir", default="build/bench/torrent-parse",
                    help="where the torrent is generated/reused (default build/bench/torrent-parse)")
    ap.add_argument("--runs", type=int, default=10, help="timed rounds (default 10)")
    ap.add_argument("--timeout", type=float, default=120.0,
                    help="per-subprocess timeout in seconds (default 120)")
    ap.add_argument("--generate-only", action="store_true", help="only generate the torrent")
    ap.add_argument("--timer", default="",
                    help="build/torrent-parse-timer: adds the hostile-shapes table")
    args = ap.parse_args()

    pl = args.piece_length
    if pl < BLOCK or pl & (pl - 1):
        die("--piece-length must be a power of two >= 16KiB", 2)
    if args.size < (1 << 20):
        die("--size must be at least 1MiB", 2)
    if args.runs < 1 or args.timeout <= 0:
        die("--runs and --timeout must be positive", 2)
    agent = os.path.abspath(args.agent)
    if not args.generate_only and not (os.path.isfile(agent) and os.access(agent, os.X_OK)):
        die(f"agent binary not found or not executable: {agent} (run `make` first)", 2)

    path, expect, gen_s = ensure_torrent(os.path.abspath(args.workdir), args.size, pl)
    file_size = os.path.getsize(path)
    verb = f"generated in {gen_s:.1f} s" if gen_s else "reusing"
    print(f"{verb}: {path} ({file_size / 2**20:.1f} MiB: {expect['num_pieces']} pieces of "
          f"{pl} bytes, {args.size} byte payload, hybrid)")

    # Sanity checks, before any timing: libtorrent and the agent both accept the torrent and
    # agree on the info-hashes (the agent also checks that each piece layer hashes to its
    # pieces root, which libtorrent 2.0.8 leaves for later).
    problems, lt_hashes = check_libtorrent(path, expect)
    if problems:
        for p in problems:
            print(f"torrent_parse_bench: sanity check failed: {p}", file=sys.stderr)
        return 1
    if args.generate_only:
        return 0

    tools = [("agent torrent show --json", [agent, "torrent", "show", "--json", path]),
             ("python3 lt.torrent_info", [SYSTEM_PYTHON, "-c", LT_PROCESS, path]),
             ("python3 import libtorrent", [SYSTEM_PYTHON, "-c", "import libtorrent"])]
    in_process = "lt.torrent_info in-process"

    rss_how, launcher = rss_launcher()
    floor = run_rss(launcher, ["true"], args.timeout).maxrss_kib
    rss = {}
    for name, argv in tools:  # warm-up through the RSS launcher; the agent's output is checked
        r = run_rss(launcher, argv, args.timeout, capture_stdout=name.startswith("agent"))
        rss[name] = r.maxrss_kib
        if name.startswith("agent"):
            problems = check_agent(r, expect, lt_hashes, name)
        elif r.timed_out or r.status != 0:
            problems = [describe_failure(name, r, args.timeout)]
        if problems:
            for p in problems:
                print(f"torrent_parse_bench: sanity check failed: {p}", file=sys.stderr)
            return 1
    lt.torrent_info(path, LT_LIMITS)

    walls = {name: [] for name, _ in tools}
    walls[in_process] = []
    for rnd in range(args.runs):
        k = rnd % len(tools)
        for name, argv in tools[k:] + tools[:k]:
            r = run_timed(argv, args.timeout)
            if r.timed_out or r.status != 0:
                print(f"torrent_parse_bench: sanity check failed: "
                      f"{describe_failure(name, r, args.timeout)}", file=sys.stderr)
                return 1
            walls[name].append(r.wall)
        t0 = time.perf_counter()
        lt.torrent_info(path, LT_LIMITS)
        walls[in_process].append(time.perf_counter() - t0)

    print()
    for key, val in machine_info(os.path.dirname(path)):
        print(f"{key + ':':<12}{val}")
    print(f"{'libtorrent:':<12}{lt.__version__}")
    print(f"{'torrent:':<12}{file_size} bytes, {expect['num_pieces']} pieces, "
          f"{expect['num_files_with_pads']} files with pads; info_hash_v1 "
          f"{lt_hashes['info_hash_v1']}")
    print(f"{'runs:':<12}{args.runs} timed rounds (interleaved, order rotated) "
          f"after 1 untimed warm-up each; timeout {args.timeout:g} s")
    floor_s = f"{floor / 1024:.1f} MiB" if floor is not None else "unknown"
    print(f"{'rss:':<12}measured in the warm-up run via {rss_how} (floor: `true` = {floor_s})")
    print()
    hdr = (f"| {'tool':<28} | {'median s':>9} | {'best s':>9} | {'MB/s':>8} "
           f"| {'peak RSS MiB':>12} | {'RSS / file size':>15} |")
    print(hdr)
    print("|" + "|".join("-" * len(c) for c in hdr.split("|")[1:-1]) + "|")
    for name in [n for n, _ in tools] + [in_process]:
        med = statistics.median(walls[name])
        best = min(walls[name])
        parses = name != "python3 import libtorrent"
        mbps = f"{file_size / med / 1e6:8.1f}" if parses and med > 0 else f"{'-':>8}"
        kib = rss.get(name)
        rss_s = f"{kib / 1024:12.1f}" if kib is not None else f"{'n/a':>12}"
        ratio = f"{kib * 1024 / file_size:14.2f}x" if kib is not None and parses \
            else f"{'-':>15}"
        print(f"| {name:<28} | {med:>9.4f} | {best:>9.4f} | {mbps} | {rss_s} | {ratio} |")
    print()
    print("MB/s = torrent file bytes / median wall time (10^6 bytes); process rows include "
          "process start-up, `python3 import libtorrent` is that floor for the lt process row")
    print("the in-process row runs in this benchmark's process: no start-up, no separate RSS")
    if args.timer:
        return hostile_table(os.path.abspath(args.timer), agent, path, args)
    return 0


def hostile_table(timer, agent, plain, args):
    """The issue 13 shapes next to the plain hybrid: parse time per MiB and its ratio."""
    if not (os.path.isfile(timer) and os.access(timer, os.X_OK)):
        die(f"--timer: not found or not executable: {timer} (make build/torrent-parse-timer)", 2)
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    from fixtures import hostile_torrents  # noqa: E402  (tests/ on sys.path)
    workdir = os.path.join(os.path.dirname(plain), "hostile")
    os.makedirs(workdir, exist_ok=True)
    files = [("plain hybrid (above)", plain)]
    for name, make in hostile_torrents.ISSUE_SHAPES.items():
        target = os.path.join(workdir, f"{name}.torrent")
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=workdir)
        with os.fdopen(fd, "wb") as f:
            f.write(make())
        os.replace(tmp, target)
        files.append((name, target))
    rows = []
    for name, target in files:
        r = run_timed([timer, str(args.runs), target], args.timeout, capture_stdout=True)
        if r.timed_out or r.status != 0:
            print(f"torrent_parse_bench: sanity check failed: "
                  f"{describe_failure('torrent-parse-timer', r, args.timeout)}", file=sys.stderr)
            return 1
        size, best, _median, verdict = r.stdout.split(maxsplit=4)[:4]
        show = run_timed([agent, "torrent", "show", "--json", target], args.timeout)
        rows.append((name, int(size), float(best), verdict.decode(), show.wall,
                     show.timed_out))
    base = rows[0][2] / (rows[0][1] / 2**20)
    print()
    print(f"hostile shapes (issue 13): agent::parse_torrent in-process, best of {args.runs}; "
          f"the torrent model must stay within {RATIO_LIMIT:g}x the plain hybrid's time per MiB")
    print()
    hdr = (f"| {'torrent':<22} | {'MiB':>6} | {'verdict':<8} | {'parse ms':>9} "
           f"| {'ms / MiB':>8} | {'x plain':>7} | {'show --json s':>13} |")
    print(hdr)
    print("|" + "|".join("-" * len(c) for c in hdr.split("|")[1:-1]) + "|")
    failed = []
    for name, size, best, verdict, show_s, show_to in rows:
        per = best * 1000 / (size / 2**20)
        ratio = per / (base * 1000)
        show = "timeout" if show_to else f"{show_s:.3f}"
        print(f"| {name:<22} | {size / 2**20:>6.2f} | {verdict:<8} | {best * 1000:>9.2f} "
              f"| {per:>8.2f} | {ratio:>6.2f}x | {show:>13} |")
        if ratio > RATIO_LIMIT:
            failed.append(f"{name}: {ratio:.1f}x the plain hybrid's parse time per MiB")
    print()
    print("verdict: the deep tree is refused (torrent-invalid: its paths would add up to 1.1 GB; "
          "docs/torrent-show.md); show --json includes process start-up and the JSON output")
    for f in failed:
        print(f"torrent_parse_bench: sanity check failed: {f}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
