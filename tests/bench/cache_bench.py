#!/usr/bin/env python3
"""Benchmark: `webseed-agent check` re-run on an unchanged mirror of many torrents.

Issue 4's target: with 100 torrents and 400 files, a re-run on an unchanged mirror takes well
under 100 ms of work beyond process start. Generates (in a temp dir, removed afterwards) a
mirror of --torrents entries of 4 small files each behind relative links, one mktorrent v1
torrent per entry, runs `check --full` once (it records the cache), then measures:

  (a) process start: `webseed-agent --version`;
  (b) the cached re-run: `check` (nothing changed, nothing hashed);
  (c) one file touched (mtime): the re-run reads that file only;
  (b - a) is the work beyond process start.

A benchmark, not a test: exits 0 after printing the table even when the target is missed; 1
when a sanity check fails (not ready, bytes hashed when nothing changed), 2 on usage errors.
"""

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))  # tests/: the fixtures package
from links_bench import machine_info, run_timed  # noqa: E402
from fixtures import torrents as T  # noqa: E402

SYMLINKS = "experimental/torrent-symlinks"
TARGET_WORK_S = 0.100


def die(msg, code=1):
    print(f"cache_bench: {msg}", file=sys.stderr)
    sys.exit(code)


def build(root, tdir, count, files_per, size):
    for i in range(count):
        name = f"entry-{i:03d}"
        rel = f"releases/x/{i:03d}"
        os.makedirs(os.path.join(root, rel), exist_ok=True)
        entry = os.path.join(root, SYMLINKS, name)
        os.makedirs(entry, exist_ok=True)
        for j in range(files_per):
            fname = f"file-{j}.bin"
            with open(os.path.join(root, rel, fname), "wb") as f:
                f.write(os.urandom(size))
            os.symlink(f"../../../{rel}/{fname}", os.path.join(entry, fname))
        T.mktorrent(entry, os.path.join(tdir, f"{name}.torrent"), piece_log2=15)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--agent", required=True)
    ap.add_argument("--torrents", type=int, default=100)
    ap.add_argument("--files", type=int, default=4, help="files per torrent (default 4)")
    ap.add_argument("--file-kib", type=int, default=64)
    ap.add_argument("--runs", type=int, default=11)
    ap.add_argument("--timeout", type=float, default=120)
    args = ap.parse_args()
    if min(args.torrents, args.files, args.file_kib, args.runs) < 1:
        die("--torrents, --files, --file-kib and --runs must be positive", 2)
    agent = os.path.abspath(args.agent)
    work = tempfile.mkdtemp(prefix="cache-bench-")
    try:
        root, tdir, state = (os.path.join(work, d) for d in ("mirror", "torrents", "state"))
        os.makedirs(tdir)
        build(root, tdir, args.torrents, args.files, args.file_kib * 1024)
        check = [agent, "check", "--root", root, "--torrents", tdir, "--state-dir", state,
                 "--json"]

        def run(extra=(), want_bytes=None):
            r = run_timed(check + list(extra), args.timeout, capture_stdout=True)
            if r.timed_out or r.status != 0:
                die(f"check failed (exit {r.status}): {r.stderr.decode()[-500:]}")
            doc = json.loads(r.stdout)
            hashed = sum(t["bytes"] for t in doc["torrents"])
            if want_bytes is not None and hashed != want_bytes:
                die(f"check hashed {hashed} bytes, expected {want_bytes}")
            return r.wall

        total = args.torrents * args.files * args.file_kib * 1024
        full = run(["--full"], want_bytes=total)
        start = [run_timed([agent, "--version"], args.timeout).wall for _ in range(args.runs)]
        cached = [run(want_bytes=0) for _ in range(args.runs)]
        touched = []
        victim = os.path.join(root, "releases/x/000/file-1.bin")
        for k in range(args.runs):
            st = os.stat(victim)
            os.utime(victim, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000 * (k + 1)))
            touched.append(run())
        med = statistics.median
        work_s = med(cached) - med(start)
        print(f"\ncheck re-run on an unchanged mirror: {args.torrents} torrents, "
              f"{args.torrents * args.files} files ({args.file_kib} KiB each), "
              f"median of {args.runs}")
        for k, v in machine_info(work):
            print(f"  {k:<11} {v}")
        rows = [
            ("check --full (records the cache)", f"{full:.3f} s"),
            ("(a) process start (--version)", f"{med(start) * 1000:.1f} ms"),
            ("(b) cached re-run, nothing changed", f"{med(cached) * 1000:.1f} ms"),
            ("(b - a) work beyond process start",
             f"{work_s * 1000:.1f} ms (target < {TARGET_WORK_S * 1000:.0f} ms: "
             f"{'met' if work_s < TARGET_WORK_S else 'MISSED'})"),
            ("(c) one file touched", f"{med(touched) * 1000:.1f} ms"),
        ]
        width = max(len(r[0]) for r in rows)
        for name, value in rows:
            print(f"  {name:<{width}}  {value}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
