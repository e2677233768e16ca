#!/usr/bin/env python3
"""Benchmark for `webseed-agent check`: hashing speed against the SHA-1 limit, aria2c and libtorrent.

Generates (once) a mirror tree of --size-gib GiB of payload (12 files under releases/, one over
2 GiB when the size is at least 3 GiB), relative links under experimental/torrent-symlinks/ and
9 v1 torrents made by mktorrent (1-4 MiB pieces) over the entries. Then measures:

  (a) the hashing limit: `openssl speed -evp sha1 -bytes 1048576` single-core MB/s x nproc;
  (b) `check --full` on a warm page cache (re-warmed before every run: check drops the pages
      it hashed): MB/s as a share of (a);
  (c) the same payload verified by aria2c (--hash-check-only, a ~512 MiB subset: aria2c is slow)
      and by python3-libtorrent's force_recheck (all torrents): rates compared;
  (d) `check --full` after evicting the payload from the page cache vs `cat FILES > /dev/null`
      after the same eviction;
  (e) a cached re-run (no --full) after a --full run recorded the cache;
  (f) peak RSS of `check --full` at the full size and on a ~1 GiB subset of the torrents;
  (g) the payload's page-cache footprint (fincore) after `check --full` on warm files.

Python 3 standard library; python3-libtorrent runs under /usr/bin/python3 in a child process.
Tools: mktorrent, aria2c, openssl, fincore (util-linux), GNU /usr/bin/time. A benchmark, not a
test: exits 0 after printing the table, even when a target is missed; exits 1 when a sanity
check fails (the agent says not ready, hashes the wrong byte count or does not use its cache; a
peer fails to verify; a timeout), 2 on usage errors.
"""

import argparse
import json
import os
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))  # tests/: the fixtures package
from links_bench import (describe_failure, machine_info, rss_launcher,  # noqa: E402
                         run_rss, run_timed)
from fixtures import mirror  # noqa: E402

SYSTEM_PYTHON = "/usr/bin/python3"
GENERATOR_VERSION = 1
MANIFEST = ".check-bench-manifest.json"
SYMLINKS_DIR = mirror.SYMLINKS_DIR
GiB = 1 << 30
MiB = 1 << 20
WRITE_BLOCK = 16 * MiB
ANNOUNCE = "https://tracker.example.org/announce"

TARGET_LIMIT_SHARE = 0.85   # (b) check --full warm >= 85% of openssl sha1 x nproc
TARGET_PEER_RATIO = 1.8     # (c) agent MB/s >= 1.8x aria2c's and libtorrent's
TARGET_COLD_SHARE = 0.90    # (d) cold check --full >= 90% of cold cat's rate
TARGET_CACHED_S = 1.0       # (e) cached re-run under 1 s
TARGET_RSS_GROWTH = 1.10    # (f) full-size peak RSS <= 1.10 x the 1 GiB one (+ 2 MiB slack)
RSS_SLACK_KIB = 2048
TARGET_FOOTPRINT = 0.01     # (g) at most 1% of the payload left in the page cache

# Torrent entries: (entry name, single-file?, piece length exponent, [(payload path under
# releases/, path inside the entry, share)]). The share is "big" (the > 2 GiB file), a float (a
# share of what the big file leaves) or an int (a fixed byte count).
A = "releases/amd64/autobuilds/20240101"
R = "releases/arm64/autobuilds/20240101"
ENTRIES = [
    ("install-amd64-minimal-20240101.img", True, 22,
     [(f"{A}/install-amd64-minimal-20240101.img", None, "big")]),
    ("livegui-amd64-20240101.iso", True, 22,
     [(f"{A}/livegui-amd64-20240101.iso", None, 0.17)]),
    ("stage3-amd64-openrc-20240101", False, 21,
     [(f"{A}/stage3-amd64-openrc-20240101.tar.xz", "stage3-amd64-openrc-20240101.tar.xz", 0.14),
      (f"{A}/stage3-amd64-openrc-20240101.tar.xz.DIGESTS",
       "stage3-amd64-openrc-20240101.tar.xz.DIGESTS", 1234)]),
    ("install-arm64-minimal-20240101.iso", True, 20,
     [(f"{R}/install-arm64-minimal-20240101.iso", None, 0.12)]),
    ("stage3-arm64-20240101", False, 21,
     [(f"{R}/stage3-arm64-20240101.tar.xz", "stage3-arm64-20240101.tar.xz", 0.11),
      (f"{R}/stage3-arm64-20240101.tar.xz.CONTENTS.gz", "stage3-arm64-20240101.tar.xz.CONTENTS.gz",
       0.02)]),
    ("netboot-amd64-20240101", False, 20,
     [(f"{A}/netboot/kernel-amd64", "boot/kernel-amd64", 0.03),
      (f"{A}/netboot/initramfs-amd64.igz", "boot/grub/initramfs-amd64.igz", 0.08)]),
    ("portage-20240101.tar.xz", True, 21,
     [("releases/snapshots/portage-20240101.tar.xz", None, 0.10)]),
    ("install-riscv64-20240101.img", True, 22,
     [("releases/riscv/autobuilds/20240101/install-riscv64-20240101.img", None, 0.13)]),
    ("distfiles-20240101", False, 20,
     [("releases/distfiles/distfiles-bundle-20240101.tar", "distfiles-bundle-20240101.tar", 0.10)]),
]

# python3-libtorrent's recheck, run by /usr/bin/python3 in a child process. Torrents are added
# paused with stop_when_ready (so none announces or connects when it is done), then
# force_recheck + resume: a paused torrent does not check. The wait is bounded. Prints JSON.
LT_SCRIPT = r"""
import json, sys, time
import libtorrent as lt
save_path, limit, threads = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
tis = [lt.torrent_info(t) for t in sys.argv[4:]]
s = lt.session({"listen_interfaces": "127.0.0.1:0", "enable_dht": False, "enable_lsd": False,
                "enable_upnp": False, "enable_natpmp": False, "hashing_threads": threads,
                "alert_mask": lt.alert_category.status | lt.alert_category.error})
t0 = time.perf_counter()
hs = []
for ti in tis:
    p = lt.add_torrent_params()
    p.ti = ti
    p.save_path = save_path
    p.flags = lt.torrent_flags.paused | lt.torrent_flags.stop_when_ready
    hs.append(s.add_torrent(p))
for h in hs:
    h.force_recheck()
    h.resume()
deadline = t0 + limit
done = False
while True:
    sts = [h.status() for h in hs]
    done = all(not str(st.state).startswith("checking") and
               (st.paused or str(st.state) in ("seeding", "finished")) for st in sts)
    if done or time.perf_counter() > deadline:
        break
    s.wait_for_alert(20)
    s.pop_alerts()
t1 = time.perf_counter()
out = {"seconds": t1 - t0, "done": done, "version": lt.__version__, "torrents": [
    {"name": ti.name(), "state": str(st.state), "have": st.num_pieces, "pieces": ti.num_pieces(),
     "error": st.errc.message() if st.errc.value() else ""} for ti, st in zip(tis, sts)]}
print(json.dumps(out))
"""


class SanityError(Exception):
    pass


def die(msg, code=1):
    print(f"check_bench: error: {msg}", file=sys.stderr)
    sys.exit(code)


# --------------------------------------------------------------------------
# Tree generation
# --------------------------------------------------------------------------

def plan_sizes(total):
    """Payload path -> size: the shares of ENTRIES scaled so that the sizes add up to `total`."""
    items = [(p, share) for _, _, _, files in ENTRIES for p, _, share in files]
    if total >= 3 * GiB:
        big = max(total * 9 // 16, 2 * GiB + 4321)
    else:
        big = total * 9 // 16 + 4321
    rest = total - big - sum(s for _, s in items if isinstance(s, int) and not isinstance(s, bool))
    sizes = {}
    floats = [(p, s) for p, s in items if isinstance(s, float)]
    for i, (p, s) in enumerate(floats):
        sizes[p] = int(rest * s) + 1000 * i + 17  # not a multiple of any piece length
    sizes[floats[-1][0]] += rest - sum(sizes[p] for p, _ in floats)
    for p, s in items:
        if s == "big":
            sizes[p] = big
        elif isinstance(s, int):
            sizes[p] = s
    assert sum(sizes.values()) == total and min(sizes.values()) > 0, sizes
    return sizes


def write_payload(path, size, file_no, base):
    """`size` bytes: the random 16 MiB `base` with a (file, block, offset) stamp every 64 KiB,
    so that no two pieces are equal. Synced, so that a later eviction can drop every page."""
    buf = bytearray(base)
    block = 0
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        left = size
        view = memoryview(buf)
        while left > 0:
            for off in range(0, WRITE_BLOCK, 64 * 1024):
                struct.pack_into("<QQQ", buf, off, file_no, block, off)
            n = min(left, WRITE_BLOCK)
            done = 0
            while done < n:
                done += os.write(fd, view[done:n])
            left -= n
            block += 1
        os.fsync(fd)
    finally:
        os.close(fd)


def link_path(entry, single, inner):
    return f"{SYMLINKS_DIR}/{entry}" if single else f"{SYMLINKS_DIR}/{entry}/{inner}"


def build_tree(workdir, total, timeout):
    """Writes workdir/root (payloads and links) and workdir/torrents; returns the manifest."""
    root = os.path.join(workdir, "root")
    tdir = os.path.join(workdir, "torrents")
    sizes = plan_sizes(total)
    base = os.urandom(WRITE_BLOCK)
    old_umask = os.umask(0o022)
    try:
        for i, (path, size) in enumerate(sorted(sizes.items())):
            full = os.path.join(root, path)
            os.makedirs(os.path.dirname(full), mode=0o755, exist_ok=True)
            write_payload(full, size, i, base)
        for entry, single, _, files in ENTRIES:
            for payload, inner, _ in files:
                lp = link_path(entry, single, inner)
                mirror.add_link(root, lp, os.path.relpath(payload, os.path.dirname(lp)))
        os.makedirs(tdir, mode=0o755, exist_ok=True)
        torrents = []
        for entry, single, pexp, files in ENTRIES:
            out = os.path.join(tdir, entry + ".torrent")
            r = run_timed(["mktorrent", "-l", str(pexp), "-t", "2", "-a", ANNOUNCE,
                           "-c", "check_bench.py", "-o", out,
                           os.path.join(root, SYMLINKS_DIR, entry)], timeout)
            if r.timed_out or r.status != 0:
                raise SanityError(describe_failure(f"mktorrent {entry}", r, timeout))
            torrents.append({"file": os.path.basename(out), "entry": entry,
                             "bytes": sum(sizes[p] for p, _, _ in files),
                             "payloads": [p for p, _, _ in files]})
        mirror.make_world_readable(root)
        mirror.make_world_readable(tdir)
    finally:
        os.umask(old_umask)
    return {"params": manifest_params(total),
            "payloads": {p: {"size": s, "mtime_ns": os.stat(os.path.join(root, p)).st_mtime_ns}
                         for p, s in sizes.items()},
            "torrents": torrents}


def manifest_params(total):
    return {"generator": GENERATOR_VERSION, "bytes": total, "symlinks_dir": SYMLINKS_DIR,
            "entries": [e[0] for e in ENTRIES]}


def tree_ok(workdir, total):
    """The manifest if the tree at `workdir` has the right shape, else None."""
    try:
        with open(os.path.join(workdir, MANIFEST)) as f:
            m = json.load(f)
        if m.get("params") != manifest_params(total):
            return None
        root = os.path.join(workdir, "root")
        for p, want in m["payloads"].items():
            st = os.stat(os.path.join(root, p))
            if st.st_size != want["size"] or st.st_mtime_ns != want["mtime_ns"]:
                return None
        for entry, single, _, files in ENTRIES:
            for payload, inner, _ in files:
                lp = os.path.join(root, link_path(entry, single, inner))
                if not os.path.islink(lp) or \
                        os.path.realpath(lp) != os.path.realpath(os.path.join(root, payload)):
                    return None
        for t in m["torrents"]:
            if not os.path.isfile(os.path.join(workdir, "torrents", t["file"])):
                return None
        return m
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


OURS = {MANIFEST, "root", "torrents", "state"}


def ensure_tree(workdir, total, timeout):
    """(manifest, seconds spent generating or 0)."""
    m = tree_ok(workdir, total)
    if m:
        return m, 0.0
    if os.path.lexists(workdir):
        if not os.path.isdir(workdir) or os.path.islink(workdir):
            die(f"{workdir} exists and is not a directory", 2)
        strangers = [n for n in os.listdir(workdir) if n not in OURS and not n.startswith(".gen-")]
        if strangers:
            die(f"{workdir} holds files this benchmark did not make ({strangers[:3]}); "
                f"refusing to delete them (pick another --workdir)", 2)
        for n in os.listdir(workdir):
            p = os.path.join(workdir, n)
            if os.path.isdir(p) and not os.path.islink(p):
                shutil.rmtree(p)
            else:
                os.unlink(p)
    os.makedirs(workdir, mode=0o755, exist_ok=True)
    t0 = time.perf_counter()
    m = build_tree(workdir, total, timeout)
    fd, tmp = tempfile.mkstemp(prefix=".gen-", dir=workdir)
    with os.fdopen(fd, "w") as f:
        json.dump(m, f, indent=1)
        f.write("\n")
    os.chmod(tmp, 0o644)
    os.replace(tmp, os.path.join(workdir, MANIFEST))
    return m, time.perf_counter() - t0


# --------------------------------------------------------------------------
# Page cache
# --------------------------------------------------------------------------

def evict(files):
    """Drops the files' pages from the page cache (they are clean: written and synced)."""
    for p in files:
        fd = os.open(p, os.O_RDONLY)
        try:
            os.fdatasync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def resident_bytes(files, timeout):
    """Bytes of `files` in the page cache, per fincore (None if fincore fails)."""
    try:
        r = subprocess.run(["fincore", "--bytes", "--noheadings", "--raw", "--output", "RES"]
                           + files, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=timeout)
        if r.returncode != 0:
            return None
        return sum(int(x) for x in r.stdout.split())
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return None


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------

def subset(torrents, target):
    """Torrents (largest first) whose payloads add up to about `target` bytes (at least one)."""
    picked, total = [], 0
    for t in sorted(torrents, key=lambda t: -t["bytes"]):
        if total + t["bytes"] <= target * 1.05:
            picked.append(t)
            total += t["bytes"]
    if not picked:
        picked = [min(torrents, key=lambda t: t["bytes"])]
    return picked


def openssl_sha1(timeout):
    """Single-core SHA-1 bytes/s over 1 MiB buffers, from `openssl speed` (3 s)."""
    r = run_timed(["openssl", "speed", "-evp", "sha1", "-bytes", "1048576", "-seconds", "3"],
                  timeout, capture_stdout=True)
    if r.timed_out or r.status != 0:
        raise SanityError(describe_failure("openssl speed", r, timeout))
    for line in r.stdout.decode("utf-8", "replace").splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0].lower() == "sha1" and parts[-1].endswith("k"):
            return float(parts[-1][:-1]) * 1000
    raise SanityError(f"openssl speed: no sha1 line in {r.stdout[-500:]!r}")


def fmt_rate(b, s):
    return b / s / 1e6 if s > 0 else float("inf")


def usable_cpus():
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def tool_version(argv):
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=20,
                           stdin=subprocess.DEVNULL)
        return (r.stdout or r.stderr).strip().splitlines()[0]
    except (OSError, subprocess.TimeoutExpired, IndexError):
        return "unknown"


# --------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--agent", default="build/webseed-agent", help="path to webseed-agent")
    ap.add_argument("--size-gib", type=float, default=4.0,
                    help="payload size in GiB (default 4; one file > 2 GiB from 3 GiB up)")
    ap.add_argument("--workdir", default="build/bench/check",
                    help="where the tree, torrents and state dir live (default build/bench/check)")
    ap.add_argument("--runs", type=int, default=3,
                    help="timed runs of the big rows (default 3; openssl speed: 3 s each)")
    ap.add_argument("--cached-runs", type=int, default=5, help="runs of row (e) (default 5)")
    ap.add_argument("--aria2-gib", type=float, default=0.5,
                    help="aria2c's subset of the torrents, GiB (default 0.5: aria2c is slow)")
    ap.add_argument("--jobs", type=int, default=None,
                    help="pass --jobs N to the agent (default: its own, one per core)")
    ap.add_argument("--timeout", type=float, default=300.0,
                    help="per-subprocess timeout in seconds (default 300)")
    ap.add_argument("--generate-only", action="store_true", help="only generate the tree")
    args = ap.parse_args()

    total = int(args.size_gib * GiB)
    if total < 64 * MiB:
        die("--size-gib must be at least 0.0625 (64 MiB)", 2)
    if args.runs < 1 or args.cached_runs < 1 or args.timeout <= 0 or args.aria2_gib <= 0:
        die("--runs, --cached-runs, --aria2-gib and --timeout must be positive", 2)
    if args.jobs is not None and not 1 <= args.jobs <= 256:
        die("--jobs must be in 1..256", 2)
    agent = os.path.abspath(args.agent)
    if not args.generate_only and not (os.path.isfile(agent) and os.access(agent, os.X_OK)):
        die(f"agent binary not found or not executable: {agent} (run `make` first)", 2)
    need = ["mktorrent"] + ([] if args.generate_only else ["aria2c", "openssl", "fincore"])
    missing = [t for t in need if not shutil.which(t)]
    if missing:
        die(f"missing tools: {' '.join(missing)} (Debian: mktorrent aria2 openssl util-linux)", 2)
    if not args.generate_only:
        try:
            ok = subprocess.run([SYSTEM_PYTHON, "-c", "import libtorrent"], timeout=30,
                                capture_output=True).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            ok = False
        if not ok:
            die(f"{SYSTEM_PYTHON} cannot import libtorrent (apt-get install python3-libtorrent)", 2)

    workdir = os.path.abspath(args.workdir)
    try:
        manifest, gen_s = ensure_tree(workdir, total, args.timeout)
    except SanityError as e:
        die(f"generating the tree: {e}", 1)
    root = os.path.join(workdir, "root")
    sdir = os.path.join(root, SYMLINKS_DIR)
    tdir = os.path.join(workdir, "torrents")
    torrents = manifest["torrents"]
    payloads = sorted(os.path.join(root, p) for p in manifest["payloads"])
    verb = f"generated in {gen_s:.1f} s" if gen_s else "reusing"
    print(f"{verb}: {root} ({total / GiB:g} GiB in {len(payloads)} files, "
          f"{len(torrents)} torrents in {tdir})", flush=True)
    if args.generate_only:
        return 0

    try:
        return measure(args, agent, workdir, root, sdir, tdir, torrents, payloads, total)
    except SanityError as e:
        print(f"check_bench: sanity check failed: {e}", file=sys.stderr)
        return 1


def measure(args, agent, workdir, root, sdir, tdir, torrents, payloads, total):
    T = args.timeout
    N = args.runs
    ncpu = usable_cpus()
    state = os.path.join(workdir, "state")
    shutil.rmtree(state, ignore_errors=True)
    os.makedirs(state, mode=0o700)

    def tpaths(ts):
        return [os.path.join(tdir, t["file"]) for t in ts]

    def agent_argv(ts=None, full=True):
        argv = [agent, "check", "--root", root, "--state-dir", state, "--json"]
        for p in (tpaths(ts) if ts is not None else [tdir]):
            argv += ["--torrents", p]
        if args.jobs:
            argv += ["--jobs", str(args.jobs)]
        return argv + (["--full"] if full else [])

    def check_doc(r, what, ntorrents, want_bytes=None, want_cached=False):
        """Sanity checks on one `check --json` run."""
        if r.timed_out or r.status not in (0, 1):
            raise SanityError(describe_failure(what, r, T))
        try:
            doc = json.loads(r.stdout)
            ts = doc["torrents"]
        except (ValueError, KeyError, TypeError) as e:
            raise SanityError(f"{what}: not a check document ({e}): {r.stdout[:300]!r}")
        bad = [f"{t.get('name')}: {[f.get('code') for f in t.get('findings', [])]}"
               for t in ts if t.get("ready") is not True]
        if r.status != 0 or doc.get("ready") is not True or bad:
            raise SanityError(f"{what}: the agent says not ready (exit {r.status}): {bad}")
        if len(ts) != ntorrents:
            raise SanityError(f"{what}: {len(ts)} torrents, expected {ntorrents}")
        got = sum(t.get("bytes", 0) for t in ts)
        if want_bytes is not None and got != want_bytes:
            raise SanityError(f"{what}: hashed {got} bytes, expected {want_bytes}")
        if want_cached and not all(t.get("cached") is True for t in ts):
            raise SanityError(f"{what}: not every torrent came from the cache: "
                              f"{[(t.get('name'), t.get('cached')) for t in ts]}")

    def warm(files):
        r = run_timed(["cat", "--"] + files, T)
        if r.timed_out or r.status != 0:
            raise SanityError(describe_failure("cat (warming)", r, T))
        return r.wall

    def progress(msg):
        print(f"  {msg}", flush=True)

    stamps = {p: (os.stat(p).st_mtime_ns, os.stat(p).st_ctime_ns) for p in payloads}
    rows = []
    print("measuring:", flush=True)

    # (a) the hashing limit.
    progress(f"(a) openssl speed sha1 x {N}")
    sha1 = [openssl_sha1(T) for _ in range(N)]
    limit = statistics.median(sha1) * ncpu  # bytes/s
    rows.append(("(a) hashing limit: openssl sha1 1 MiB",
                 f"{limit / 1e6:.0f} MB/s",
                 f"{statistics.median(sha1) / 1e6:.0f} (best {max(sha1) / 1e6:.0f}) MB/s/core "
                 f"x {ncpu}", "-", "-"))

    # (b) check --full, warm; (e) the cached re-run; (f)+(g) RSS and page-cache footprint.
    progress(f"(b) check --full, warm, x {N}")
    full_walls = []
    for _ in range(N):
        warm(payloads)
        r = run_timed(agent_argv(), T, capture_stdout=True)
        check_doc(r, "check --full (warm)", len(torrents), want_bytes=total)
        full_walls.append(r.wall)
    med_b, best_b = statistics.median(full_walls), min(full_walls)
    rate_b = fmt_rate(total, med_b)
    share = rate_b * 1e6 / limit
    rows.append(("(b) check --full, warm cache",
                 f"{rate_b:.0f} / {fmt_rate(total, best_b):.0f} MB/s ({med_b:.2f} s)",
                 f">= {TARGET_LIMIT_SHARE:.0%} of (a)", f"{share:.1%}",
                 "PASS" if share >= TARGET_LIMIT_SHARE else "MISS"))

    progress(f"(e) cached re-run x {args.cached_runs}")
    cached = []
    for _ in range(args.cached_runs):
        r = run_timed(agent_argv(full=False), T, capture_stdout=True)
        check_doc(r, "check (cached)", len(torrents), want_bytes=0, want_cached=True)
        cached.append(r.wall)
    med_e = statistics.median(cached)
    rows.append(("(e) cached re-run (no --full)",
                 f"{med_e:.3f} / {min(cached):.3f} s",
                 f"< {TARGET_CACHED_S:g} s (--full: {med_b:.2f} s)",
                 f"{med_b / med_e:.0f}x faster" if med_e > 0 else "-",
                 "PASS" if med_e < TARGET_CACHED_S else "MISS"))

    rss_how, launcher = rss_launcher()
    small_target = GiB if total >= 2 * GiB else total // 4
    small = subset(torrents, small_target)
    small_bytes = sum(t["bytes"] for t in small)
    small_files = [os.path.join(root, p) for t in small for p in t["payloads"]]
    progress(f"(f) peak RSS at {small_bytes / GiB:.2f} GiB and (f)+(g) at {total / GiB:g} GiB")
    warm(small_files)
    r = run_rss(launcher, agent_argv(small), T, capture_stdout=True)
    check_doc(r, "check --full (subset, RSS)", len(small), want_bytes=small_bytes)
    rss_small = r.maxrss_kib
    # (g) wants pages as reading creates them: freshly written pages sit in larger folios that
    # a ranged POSIX_FADV_DONTNEED cannot split, so a just-generated tree would read worse.
    evict(payloads)
    warm(payloads)
    before = resident_bytes(payloads, 60)
    r = run_rss(launcher, agent_argv(), T, capture_stdout=True)
    check_doc(r, "check --full (RSS, footprint)", len(torrents), want_bytes=total)
    rss_full = r.maxrss_kib
    after = resident_bytes(payloads, 60)
    if rss_small is None or rss_full is None:
        rows.append(("(f) peak RSS check --full", "n/a", f"via {rss_how}", "-", "-"))
    else:
        grow = rss_full / rss_small
        rows.append((f"(f) peak RSS check --full, {total / GiB:g} GiB",
                     f"{rss_full / 1024:.1f} MiB",
                     f"{small_bytes / GiB:.2f} GiB: {rss_small / 1024:.1f} MiB; "
                     f"<= {TARGET_RSS_GROWTH:.2f}x", f"{grow:.2f}x",
                     "PASS" if rss_full <= rss_small * TARGET_RSS_GROWTH + RSS_SLACK_KIB
                     else "MISS"))
    if before is None or after is None:
        rows.append(("(g) page cache after check --full", "n/a (fincore failed)", "-", "-", "-"))
    else:
        frac = after / total
        rows.append(("(g) page cache after check --full",
                     f"{after / MiB:.1f} MiB resident",
                     f"before: {before / MiB:.0f} MiB; <= {TARGET_FOOTPRINT:.0%}",
                     f"{frac:.2%}", "PASS" if frac <= TARGET_FOOTPRINT else "MISS"))

    # (c) peers, warm: libtorrent on everything, aria2c on a subset (and the agent on it too).
    aria = subset(torrents, int(args.aria2_gib * GiB))
    aria_bytes = sum(t["bytes"] for t in aria)
    aria_files = [os.path.join(root, p) for t in aria for p in t["payloads"]]
    lt_threads = ncpu
    progress(f"(c) python3-libtorrent recheck ({total / GiB:g} GiB) x {N}")
    lt_walls, lt_version = [], "?"
    for _ in range(N):
        warm(payloads)
        r = run_timed([SYSTEM_PYTHON, "-c", LT_SCRIPT, sdir, str(T - 30), str(lt_threads)]
                      + tpaths(torrents), T, capture_stdout=True)
        if r.timed_out or r.status != 0:
            raise SanityError(describe_failure("libtorrent recheck", r, T))
        try:
            doc = json.loads(r.stdout)
        except ValueError as e:
            raise SanityError(f"libtorrent recheck: bad output ({e}): {r.stdout[:300]!r}")
        bad = [t for t in doc["torrents"] if t["have"] != t["pieces"] or t["error"]]
        if not doc["done"] or bad:
            raise SanityError(f"libtorrent failed to verify (done={doc['done']}): {bad}")
        lt_walls.append(doc["seconds"])
        lt_version = doc["version"]
    progress(f"(c) aria2c --hash-check-only ({aria_bytes / GiB:.2f} GiB, {len(aria)} torrents) "
             f"and the agent on the same subset x {N}")
    aria_walls, agent_sub_walls = [], []
    aria_opts = ["--check-integrity=true", "--hash-check-only=true", "-d", sdir,
                 "--enable-dht=false", "--enable-dht6=false", "--bt-enable-lpd=false",
                 "--enable-peer-exchange=false", "--console-log-level=warn",
                 "--summary-interval=0", "--file-allocation=none", "--auto-file-renaming=false",
                 "--allow-overwrite=false", "--bt-save-metadata=false"]
    for _ in range(N):
        warm(aria_files)
        s = 0.0
        for p in tpaths(aria):
            r = run_timed(["aria2c"] + aria_opts + [p], T, capture_stdout=True)
            if r.timed_out or r.status != 0 or b"|OK" not in r.stdout:
                tail = r.stdout.decode("utf-8", "replace")[-800:]
                raise SanityError(describe_failure(f"aria2c {os.path.basename(p)}", r, T)
                                  + f"\n--- stdout ---\n{tail}")
            s += r.wall
        aria_walls.append(s)
        warm(aria_files)
        r = run_timed(agent_argv(aria), T, capture_stdout=True)
        check_doc(r, "check --full (aria2c subset)", len(aria), want_bytes=aria_bytes)
        agent_sub_walls.append(r.wall)
    rate_lt = fmt_rate(total, statistics.median(lt_walls))
    ratio_lt = rate_b / rate_lt
    rows.append((f"(c) vs libtorrent recheck, all {total / GiB:g} GiB",
                 f"agent {rate_b:.0f} MB/s",
                 f"lt {rate_lt:.0f} MB/s ({lt_threads} hashing threads); "
                 f">= {TARGET_PEER_RATIO:g}x", f"{ratio_lt:.2f}x",
                 "PASS" if ratio_lt >= TARGET_PEER_RATIO else "MISS"))
    rate_aria = fmt_rate(aria_bytes, statistics.median(aria_walls))
    rate_sub = fmt_rate(aria_bytes, statistics.median(agent_sub_walls))
    ratio_aria = rate_sub / rate_aria
    rows.append((f"(c) vs aria2c, subset {aria_bytes / GiB:.2f} GiB ({len(aria)} torrents)",
                 f"agent {rate_sub:.0f} MB/s",
                 f"aria2c {rate_aria:.0f} MB/s; >= {TARGET_PEER_RATIO:g}x", f"{ratio_aria:.2f}x",
                 "PASS" if ratio_aria >= TARGET_PEER_RATIO else "MISS"))

    # (d) cold-ish: evicted before each run; agent and cat alternate.
    progress(f"(d) check --full and cat after eviction x {N}")
    cold_agent, cold_cat, leftover = [], [], []
    for i in range(N):
        for which in (("agent", "cat") if i % 2 == 0 else ("cat", "agent")):
            evict(payloads)
            res = resident_bytes(payloads, 60)
            if res is not None:
                leftover.append(res)
            if which == "agent":
                r = run_timed(agent_argv(), T, capture_stdout=True)
                check_doc(r, "check --full (cold)", len(torrents), want_bytes=total)
                cold_agent.append(r.wall)
            else:
                r = run_timed(["cat", "--"] + payloads, T)
                if r.timed_out or r.status != 0:
                    raise SanityError(describe_failure("cat (cold)", r, T))
                cold_cat.append(r.wall)
    rate_d = fmt_rate(total, statistics.median(cold_agent))
    rate_cat = fmt_rate(total, statistics.median(cold_cat))
    share_d = rate_d / rate_cat
    rows.append(("(d) check --full, cold-ish cache",
                 f"{rate_d:.0f} / {fmt_rate(total, min(cold_agent)):.0f} MB/s",
                 f"cat {rate_cat:.0f} / {fmt_rate(total, min(cold_cat)):.0f} MB/s; "
                 f">= {TARGET_COLD_SHARE:.0%}", f"{share_d:.1%}",
                 "PASS" if share_d >= TARGET_COLD_SHARE else "MISS"))

    changed = [p for p in payloads
               if (os.stat(p).st_mtime_ns, os.stat(p).st_ctime_ns) != stamps[p]]
    if changed:
        raise SanityError(f"payload files were modified during the run (mtime/ctime): "
                          f"{changed[:3]}")

    # Report.
    order = ["(a)", "(b)", "(c)", "(d)", "(e)", "(f)", "(g)"]
    rows.sort(key=lambda r: order.index(r[0][:3]))
    print()
    for key, val in machine_info(root):
        print(f"{key + ':':<12}{val}")
    print(f"{'tools:':<12}{tool_version(['openssl', 'version'])}; "
          f"{tool_version(['aria2c', '--version'])}; libtorrent {lt_version}")
    print(f"{'payload:':<12}{total} bytes ({total / GiB:g} GiB) in {len(payloads)} files, "
          f"largest {max(os.path.getsize(p) for p in payloads) / GiB:.2f} GiB; "
          f"{len(torrents)} v1 torrents (mktorrent, 1-4 MiB pieces)")
    print(f"{'runs:':<12}median / best of {N} (cached re-run: {args.cached_runs}); agent --jobs "
          f"{args.jobs or 'default (one per core)'}; timeout {T:g} s per subprocess")
    print(f"{'rss:':<12}GNU time %M of one run each" if rss_how == "GNU time"
          else f"{'rss:':<12}{rss_how}")
    if leftover:
        print(f"{'eviction:':<12}at most {max(leftover) / MiB:.1f} MiB of the payload still "
              f"cached after posix_fadvise(DONTNEED) (fincore); the VM host may cache the disk")
    print()
    w = [max(len(r[i]) for r in rows + [("measure", "value", "peer / target", "ratio",
                                         "result")]) for i in range(5)]
    hdr = (f"| {'measure':<{w[0]}} | {'value':>{w[1]}} | {'peer / target':<{w[2]}} "
           f"| {'ratio':>{w[3]}} | {'result':<{w[4]}} |")
    print(hdr)
    print("|" + "|".join("-" * len(c) for c in hdr.split("|")[1:-1]) + "|")
    for r in rows:
        print(f"| {r[0]:<{w[0]}} | {r[1]:>{w[1]}} | {r[2]:<{w[2]}} | {r[3]:>{w[3]}} "
              f"| {r[4]:<{w[4]}} |")
    print()
    print("MB = 10^6 bytes; 'a / b' = median / best; ratios and PASS/MISS use the median.")
    print("(b) ratio = agent MB/s / (a). (c) ratio = agent MB/s / peer MB/s, warm cache; aria2c "
          "runs once per torrent (times summed) on a subset, compared with the agent on the same "
          "subset; libtorrent time = add + force_recheck until every torrent is checked, in-process "
          "(no start-up). (d) ratio = agent MB/s / cat MB/s, both after eviction. (f) ratio = "
          f"full / subset RSS (PASS within {TARGET_RSS_GROWTH:.2f}x + 2 MiB). (g) ratio = "
          "resident / payload after one check --full on fully cached files.")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
