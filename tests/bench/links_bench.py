#!/usr/bin/env python3
"""Benchmark for `webseed-agent links` against `find -L ... -type f | wc -l`.

Generates (once) a synthetic mirror tree with N relative torrent symlinks, then
times, interleaved and best-of/median over --runs rounds:

  find    sh -c 'find -L ROOT/experimental/torrent-symlinks -type f | wc -l'
  human   webseed-agent links --root ROOT            (stdout -> /dev/null)
  json    webseed-agent links --root ROOT --json     (stdout -> /dev/null)

Python 3 standard library only.  A benchmark, not a test: exits 0 even when a
target is missed; exits 1 only when a sanity check fails (wrong link count,
ok != true, non-zero exit, timeout), 2 on usage errors.
"""

import argparse
import json
import os
import platform
import random
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

GENERATOR_VERSION = 2
MANIFEST = ".links-bench-manifest.json"
SYMLINKS_DIR = "experimental/torrent-symlinks"
SEED = 20240101

TARGET_RATIO = 2.0      # agent median must be within this factor of find's median
TARGET_SECONDS = 1.0    # ... and under this many seconds

ARCHES = ["amd64", "arm64", "x86", "ppc64", "riscv", "s390", "sparc", "hppa",
          "alpha", "m68k", "loong", "mips"]
VERSIONS = ["2021.1", "2021.2", "2022.1", "2022.2", "2023.1", "2023.2",
            "2024.1", "2024.2"]
# kind -> (entry name prefix, file extensions)
KINDS = {
    "stages": ("stage3", [".tar.xz", ".tar.xz.asc", ".tar.xz.DIGESTS", ".tar.xz.CONTENTS.gz"]),
    "iso": ("install", [".iso", ".iso.asc", ".iso.DIGESTS", ".iso.CONTENTS.gz"]),
    "snapshots": ("portage", [".tar.xz", ".tar.xz.gpgsig", ".tar.xz.md5sum"]),
    "netboot": ("netboot", [".efi", ".img", ".igz", ".sha256"]),
    "distfiles": ("distfiles", [".tar.gz", ".tar.bz2", ".zip", ".patch.xz"]),
}
NESTED_SUBDIRS = ["docs", "extras", "extras/contrib", "sources", "sources/patches/v2",
                  "boot", "boot/grub"]


def die(msg, code=1):
    print(f"links_bench: error: {msg}", file=sys.stderr)
    sys.exit(code)


# --------------------------------------------------------------------------
# Tree generation
# --------------------------------------------------------------------------

def split_counts(rng, total, parts, minimum=1):
    """Split `total` into `parts` integers >= minimum with a heavy-tailed spread."""
    if parts <= 0:
        return []
    spare = total - minimum * parts
    if spare < 0:
        raise ValueError("total too small")
    weights = [min(rng.lognormvariate(0.0, 1.5), 100.0) for _ in range(parts)]
    wsum = sum(weights)
    raw = [spare * w / wsum for w in weights]
    counts = [int(r) for r in raw]
    rest = spare - sum(counts)
    order = sorted(range(parts), key=lambda i: raw[i] - counts[i], reverse=True)
    for i in order[:rest]:
        counts[i] += 1
    return [c + minimum for c in counts]


def plan_tree(n_links, n_entries):
    """Return list of entries: (entry_name, is_single, [(link_relpath_in_entry, target_relpath_from_root)])."""
    rng = random.Random(SEED)
    n_single = max(1, n_entries // 10) if n_entries > 1 else 0
    n_multi = n_entries - n_single
    multi_links = n_links - n_single
    if n_multi > 0 and multi_links < n_multi:
        raise ValueError(f"--links {n_links} too small for --entries {n_entries}")
    if n_multi == 0 and n_single != n_links:
        raise ValueError("--links must equal --entries when there is one entry")
    counts = split_counts(rng, multi_links, n_multi) if n_multi else []
    kinds = list(KINDS)
    plan = []
    # Interleave single-file entries among the multi-file ones (sorted names mix anyway).
    single_at = set(rng.sample(range(n_entries), n_single)) if n_single else set()
    mi = 0
    for idx in range(n_entries):
        arch = ARCHES[idx % len(ARCHES)]
        version = VERSIONS[(idx // len(ARCHES)) % len(VERSIONS)]
        kind = kinds[rng.randrange(len(kinds))]
        prefix, exts = KINDS[kind]
        reldir = f"releases/{arch}/{version}/{kind}"
        if idx in single_at:
            fname = f"{prefix}-{arch}-{version}-{idx:04d}{exts[0]}"
            plan.append((fname, True, [(fname, f"{reldir}/{fname}")]))
            continue
        k = counts[mi]
        mi += 1
        ename = f"{prefix}-{arch}-{version}-{idx:04d}"
        nested = k >= 4 and rng.random() < 0.3
        files = []
        for j in range(k):
            fname = f"file-{idx:04d}-{j:05d}{exts[j % len(exts)]}"
            if nested and j % 3 != 0:
                sub = NESTED_SUBDIRS[rng.randrange(len(NESTED_SUBDIRS))]
                lrel = f"{sub}/{fname}"
            else:
                lrel = fname
            files.append((lrel, f"{reldir}/{fname}"))
        plan.append((ename, False, files))
    return plan


def write_tree(root, n_links, n_entries):
    plan = plan_tree(n_links, n_entries)
    old_umask = os.umask(0o022)
    try:
        made_dirs = set()

        def mkdirs(path):
            if path not in made_dirs:
                os.makedirs(path, mode=0o755, exist_ok=True)
                made_dirs.add(path)

        sdir = os.path.join(root, SYMLINKS_DIR)
        mkdirs(sdir)
        total = 0
        n = 0
        for ename, single, files in plan:
            for lrel, trel in files:
                # target file
                tpath = os.path.join(root, trel)
                mkdirs(os.path.dirname(tpath))
                n += 1
                if n % 97 == 0:  # a few small non-empty files (DIGESTS-like)
                    with open(tpath, "w") as f:
                        f.write(f"# SHA512 HASH\n{n:0128x}  {os.path.basename(trel)}\n")
                else:
                    fd = os.open(tpath, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                    os.close(fd)
                # link
                if single:
                    lpath = os.path.join(sdir, lrel)
                else:
                    lpath = os.path.join(sdir, ename, lrel)
                    mkdirs(os.path.dirname(lpath))
                depth = os.path.relpath(os.path.dirname(lpath), root).count("/") + 1
                os.symlink("../" * depth + trel, lpath)
                total += 1
        assert total == n_links, (total, n_links)
    finally:
        os.umask(old_umask)
    return plan


def manifest_data(n_links, n_entries):
    return {"generator": GENERATOR_VERSION, "seed": SEED, "links": n_links,
            "entries": n_entries, "symlinks_dir": SYMLINKS_DIR}


def tree_ok(root, n_links, n_entries):
    try:
        with open(os.path.join(root, MANIFEST)) as f:
            m = json.load(f)
    except (OSError, ValueError):
        return False
    if m != manifest_data(n_links, n_entries):
        return False
    try:
        names = os.listdir(os.path.join(root, SYMLINKS_DIR))
    except OSError:
        return False
    if len(names) != n_entries:
        return False
    # spot-check: first and last planned entries resolve to regular files
    for name in (min(names), max(names)):
        p = os.path.join(root, SYMLINKS_DIR, name)
        if os.path.islink(p):
            if not os.path.isfile(p):
                return False
        elif not os.path.isdir(p):
            return False
    return True


def ensure_tree(root, n_links, n_entries):
    """Create the tree at `root` unless a matching one is already there. Returns seconds spent (0 if reused)."""
    if tree_ok(root, n_links, n_entries):
        return 0.0
    if os.path.lexists(root):
        if not os.path.isdir(root) or os.path.islink(root):
            die(f"{root} exists and is not a directory", 2)
        contents = os.listdir(root)
        if contents and MANIFEST not in contents:
            die(f"{root} is not empty and was not made by this benchmark; "
                f"refusing to delete it (pick another --workdir)", 2)
    parent = os.path.dirname(root) or "."
    os.makedirs(parent, mode=0o755, exist_ok=True)
    t0 = time.perf_counter()
    tmp = tempfile.mkdtemp(prefix=".links-tree-tmp-", dir=parent)
    try:
        os.chmod(tmp, 0o755)
        write_tree(tmp, n_links, n_entries)
        with open(os.path.join(tmp, MANIFEST), "w") as f:
            json.dump(manifest_data(n_links, n_entries), f)
            f.write("\n")
        os.chmod(os.path.join(tmp, MANIFEST), 0o644)
        if os.path.lexists(root):
            shutil.rmtree(root)
        os.rename(tmp, root)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return time.perf_counter() - t0


# --------------------------------------------------------------------------
# Running and timing
# --------------------------------------------------------------------------

class RunResult:
    def __init__(self, wall, status, stdout, stderr, timed_out, maxrss_kib=None):
        self.wall = wall
        self.status = status          # exit code, or -signal
        self.stdout = stdout
        self.stderr = stderr
        self.timed_out = timed_out
        self.maxrss_kib = maxrss_kib  # only for run_rss()


def run_timed(argv, timeout, capture_stdout=False):
    """Run argv with stdin=/dev/null and time it (wall clock, perf_counter).

    stdout goes to /dev/null unless capture_stdout (then to a temp file, read
    afterwards, so a pipe reader does not perturb the timing). stderr always
    goes to a temp file. The child runs in its own session so a timeout kills
    the whole process group (sh + find + wc). We block in os.wait4 (no polling
    loop) so the measured wall time is not quantised by sleeps.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        stdout = out if capture_stdout else subprocess.DEVNULL
        timed_out = threading.Event()
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=stdout, stderr=err,
                                start_new_session=True, close_fds=True)

        def kill():
            timed_out.set()
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

        timer = threading.Timer(timeout, kill)
        timer.daemon = True
        timer.start()
        try:
            while True:
                try:
                    _, wstatus, _ = os.wait4(proc.pid, 0)
                    break
                except InterruptedError:
                    continue
        finally:
            timer.cancel()
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(wstatus)  # keep Popen from re-waiting
        try:  # make sure no stragglers from the group survive (e.g. after a timeout)
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        out.seek(0)
        err.seek(0)
        return RunResult(wall, proc.returncode, out.read() if capture_stdout else b"",
                         err.read(), timed_out.is_set())


# Peak RSS.  os.wait4()'s ru_maxrss for a child of this Python process is
# useless: Linux folds the hiwater RSS of the pre-exec address space (i.e. of
# this Python process, which may be tens of MiB after generating the tree)
# into the child's maxrss.  So measure through a small intermediate process
# that forks the command and reports the grandchild's rusage: GNU time if
# available (floor ~1 MiB), else a minimal `python3 -I -S` launcher (floor
# ~5 MiB).  The intermediate's own RSS is also part of the number, hence the
# floor; it is reported alongside.
_PY_LAUNCHER = r"""
import os, sys
out, argv = sys.argv[1], sys.argv[2:]
pid = os.fork()
if pid == 0:
    try:
        os.execvp(argv[0], argv)
    finally:
        os._exit(127)
_, st, ru = os.wait4(pid, 0)
with open(out, "w") as f:
    f.write("%d\n" % ru.ru_maxrss)
code = os.waitstatus_to_exitcode(st)
sys.exit(code if code >= 0 else 128 - code)
"""


def rss_launcher():
    t = shutil.which("time", path="/usr/bin:/bin")
    if t:
        try:
            r = subprocess.run([t, "-f", "%M", "-o", "/dev/null", "true"], timeout=10,
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
            if r.returncode == 0:
                return "GNU time", lambda out, argv: [t, "-f", "%M", "-o", out] + argv
        except (OSError, subprocess.TimeoutExpired):
            pass
    py = sys.executable or "/usr/bin/python3"
    return ("python launcher",
            lambda out, argv: [py, "-I", "-S", "-c", _PY_LAUNCHER, out] + argv)


def run_rss(launcher, argv, timeout, capture_stdout=False):
    """Like run_timed (wall time is inflated by the launcher; do not use it) plus peak RSS in KiB."""
    fd, out = tempfile.mkstemp(prefix="links-bench-rss-")
    os.close(fd)
    try:
        r = run_timed(launcher(out, argv), timeout, capture_stdout)
        try:
            with open(out) as f:
                lines = f.read().split()
            r.maxrss_kib = int(lines[-1])
        except (OSError, ValueError, IndexError):
            r.maxrss_kib = None
        return r
    finally:
        os.unlink(out)


def describe_failure(name, r, timeout):
    if r.timed_out:
        return f"{name}: timed out after {timeout} s"
    tail = r.stderr.decode("utf-8", "replace").strip()[-2000:]
    return f"{name}: exit status {r.status}" + (f"\n--- stderr ---\n{tail}" if tail else "")


# --------------------------------------------------------------------------
# Machine info
# --------------------------------------------------------------------------

def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, val = line.partition(":")
                if key.strip() in ("model name", "Processor", "cpu model", "uarch"):
                    return val.strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def fs_type(path):
    path = os.path.realpath(path)
    best, fstype = "", "unknown"
    try:
        with open("/proc/self/mounts") as f:
            for line in f:
                parts = line.split()
                if len(parts) < 3:
                    continue
                mnt = parts[1].replace("\\040", " ")
                if (path == mnt or path.startswith(mnt.rstrip("/") + "/")) and len(mnt) > len(best):
                    best, fstype = mnt, parts[2]
    except OSError:
        pass
    return f"{fstype} on {best or '?'}"


def machine_info(root):
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = os.cpu_count()
    u = os.uname()
    return [
        ("nproc", f"{usable} (online: {os.cpu_count()})"),
        ("cpu", cpu_model()),
        ("kernel", f"{u.sysname} {u.release} {u.machine}"),
        ("filesystem", fs_type(root)),
        ("python", platform.python_version()),
    ]


# --------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--agent", default="build/webseed-agent", help="path to webseed-agent")
    ap.add_argument("--links", type=int, default=100000, help="total links (default 100000)")
    ap.add_argument("--entries", type=int, default=1000, help="torrent entries (default 1000)")
    ap.add_argument("--workdir", default="build/bench/links-tree",
                    help="mirror root to generate/reuse (default build/bench/links-tree)")
    ap.add_argument("--runs", type=int, default=5, help="timed rounds (default 5)")
    ap.add_argument("--timeout", type=float, default=120.0,
                    help="per-subprocess timeout in seconds (default 120)")
    ap.add_argument("--skip-agent", action="store_true",
                    help="only generate the tree and time find (agent not needed)")
    ap.add_argument("--generate-only", action="store_true", help="only generate the tree")
    args = ap.parse_args()

    if args.links < 1 or args.entries < 1 or args.runs < 1 or args.timeout <= 0:
        die("--links, --entries, --runs and --timeout must be positive", 2)
    if args.links < args.entries:
        die("--links must be >= --entries", 2)

    root = os.path.abspath(args.workdir)
    agent = os.path.abspath(args.agent)
    use_agent = not (args.skip_agent or args.generate_only)
    if use_agent and not (os.path.isfile(agent) and os.access(agent, os.X_OK)):
        die(f"agent binary not found or not executable: {agent} (run `make` first)", 2)

    try:
        gen_s = ensure_tree(root, args.links, args.entries)
    except ValueError as e:
        die(str(e), 2)
    if gen_s:
        print(f"generated {args.links} links in {args.entries} entries under {root} in {gen_s:.1f} s")
    else:
        print(f"reusing tree {root} ({args.links} links, {args.entries} entries)")
    if args.generate_only:
        return 0

    sdir = os.path.join(root, SYMLINKS_DIR)
    tools = [("find -L | wc -l",
              ["sh", "-c", f"find -L {shlex.quote(sdir)} -type f | wc -l"], True)]
    if use_agent:
        tools += [("agent links", [agent, "links", "--root", root], False),
                  ("agent links --json", [agent, "links", "--root", root, "--json"], False)]

    failures = []

    def check(name, r, out_is_count):
        if r.timed_out or r.status != 0:
            failures.append(describe_failure(name, r, args.timeout))
            return
        if out_is_count:
            try:
                n = int(r.stdout.split()[0])
            except (ValueError, IndexError):
                failures.append(f"{name}: unparsable output {r.stdout[:200]!r}")
                return
            if n != args.links:
                failures.append(f"{name}: counted {n} files, expected {args.links}")

    def bail():
        for f in failures:
            print(f"links_bench: sanity check failed: {f}", file=sys.stderr)
        return 1

    # Warm-up (untimed), one per tool, through the RSS launcher: warms the page
    # cache, measures peak RSS, and doubles as the sanity check (find's count,
    # the agent's exit status and --json document).
    rss_how, launcher = rss_launcher()
    floor = run_rss(launcher, ["true"], args.timeout).maxrss_kib
    rss = {}
    for name, argv, is_count in tools:
        want_out = is_count or argv[-1] == "--json"
        r = run_rss(launcher, argv, args.timeout, capture_stdout=want_out)
        rss[name] = r.maxrss_kib
        check(name, r, is_count)
        if failures:
            return bail()
        if argv[-1] == "--json":
            try:
                doc = json.loads(r.stdout)
                ok, nlinks = doc.get("ok"), doc.get("summary", {}).get("links")
            except (ValueError, AttributeError) as e:
                failures.append(f"{name}: output is not a JSON object ({e}); "
                                f"first bytes {r.stdout[:200]!r}")
            else:
                if ok is not True or nlinks != args.links:
                    failures.append(f"{name}: ok={ok!r} summary.links={nlinks!r} "
                                    f"(expected ok=true, links={args.links}); "
                                    f"summary={doc.get('summary')!r}")
            if failures:
                return bail()

    # Timed rounds, interleaved; rotate the order each round to spread drift.
    walls = {name: [] for name, _, _ in tools}
    for rnd in range(args.runs):
        k = rnd % len(tools)
        for name, argv, is_count in tools[k:] + tools[:k]:
            r = run_timed(argv, args.timeout, capture_stdout=is_count)
            check(name, r, is_count)
            if failures:
                return bail()
            walls[name].append(r.wall)

    # Report.
    print()
    for key, val in machine_info(root):
        print(f"{key + ':':<12}{val}")
    print(f"{'tree:':<12}{args.links} links, {args.entries} entries, {sdir}")
    print(f"{'runs:':<12}{args.runs} timed rounds (interleaved, order rotated) "
          f"after 1 untimed warm-up each; timeout {args.timeout:g} s")
    floor_s = f"{floor / 1024:.1f} MiB" if floor is not None else "unknown"
    print(f"{'rss:':<12}measured in the warm-up run via {rss_how} (floor: `true` = {floor_s})")
    print()
    base = statistics.median(walls[tools[0][0]])
    hdr = (f"| {'tool':<20} | {'median s':>9} | {'best s':>9} | {'vs find':>8} "
           f"| {'peak RSS MiB':>12} | {'target':<6} |")
    print(hdr)
    print("|" + "|".join("-" * len(c) for c in hdr.split("|")[1:-1]) + "|")
    for name, _, _ in tools:
        med = statistics.median(walls[name])
        best = min(walls[name])
        ratio = med / base if base > 0 else float("inf")
        if name.startswith("agent"):
            target = "PASS" if ratio <= TARGET_RATIO and med < TARGET_SECONDS else "MISS"
        else:
            target = "-"
        rss_s = f"{rss[name] / 1024:.1f}" if rss[name] is not None else "n/a"
        print(f"| {name:<20} | {med:>9.3f} | {best:>9.3f} | {ratio:>7.2f}x | "
              f"{rss_s:>12} | {target:<6} |")
    print()
    print(f"target: agent within {TARGET_RATIO:.1f}x of find and under {TARGET_SECONDS:.1f} s "
          f"(both judged on the median; 'vs find' = agent median / find median)")
    print("(find's peak RSS is the largest of sh, find and wc)")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
