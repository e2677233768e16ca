#!/usr/bin/python3
"""Runs the integration tests: tests/integration/test_*.py, one module per subprocess.

usage: tests/run_integration.py [--agent PATH] [--module-timeout SECONDS] [--jobs N] [FILTER...]

FILTER: run only the tests whose id (module.Class.test_name) contains one of the strings.
--agent: the binary under test (sets WEBSEED_AGENT; default build/webseed-agent).
Each module has a wall-clock limit; a module that exceeds it is killed and counts as one
failure. --jobs N modules run at once (default $INTEGRATION_JOBS, else 3: most tests wait on
servers and clients, not the CPU; on this 2-core machine the normal pass takes ~225 s with 3,
~320 s with 2, and the ASan pass ~195 s instead of ~235 s), the longest (by MODULE_TIMEOUT) first; each module's output
is printed whole when it ends. Under the sanitizers (ASAN_OPTIONS set: make check's second
pass) a module with a line `SANITIZER_PASS = False  # why` is left out, with its reason printed:
modules that test the fixtures, the packaging or throughput, where the sanitized binary adds
nothing the normal pass does not show. The last line printed is always `integration: N passed, N failed, N skipped`;
the exit code is 1 when anything failed (or nothing ran), else 0.
"""

from __future__ import annotations

import argparse
import json
import re
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
INTEGRATION = HERE / "integration"
REPO = HERE.parent
DEFAULT_MODULE_TIMEOUT = 60.0
sys.dont_write_bytecode = True   # keep the source tree clean


def run_module(module: str, filters: list[str], result_file: str) -> int:
    """Child side: runs one module's tests (filtered) verbosely, writes counts as JSON."""
    sys.path.insert(0, str(INTEGRATION))
    sys.path.insert(0, str(HERE))
    suite = unittest.defaultTestLoader.loadTestsFromName(module)
    tests = [t for t in _flatten(suite) if not filters or any(f in t.id() for f in filters)]
    result = unittest.TextTestRunner(stream=sys.stdout, verbosity=2).run(
        unittest.TestSuite(tests))
    counts = tally(result)
    Path(result_file).write_text(json.dumps(counts))
    return 0 if result.wasSuccessful() else 1


def tally(result: unittest.TestResult) -> dict[str, int]:
    """passed/failed/skipped. Errors and skips raised by setUpClass/setUpModule are not in
    testsRun: they count as failed/skipped but take nothing from passed."""
    def in_tests(items) -> int:
        return sum(1 for test, _ in items if isinstance(test, unittest.TestCase))

    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    passed = (result.testsRun - in_tests(result.failures) - in_tests(result.errors)
              - in_tests(result.skipped) - len(result.unexpectedSuccesses))
    return {"passed": max(0, passed), "failed": failed, "skipped": len(result.skipped)}


def _flatten(suite):
    for item in suite:
        if isinstance(item, unittest.TestSuite):
            yield from _flatten(item)
        else:
            yield item


def matching_modules(filters: list[str]) -> list[str]:
    """Module names under tests/integration with at least one test matching `filters`."""
    modules = sorted(p.stem for p in INTEGRATION.glob("test_*.py"))
    if not filters:
        return modules
    sys.path.insert(0, str(INTEGRATION))
    sys.path.insert(0, str(HERE))
    chosen = []
    for module in modules:
        try:
            suite = unittest.defaultTestLoader.loadTestsFromName(module)
        except Exception:          # an import error: let the child report it
            chosen.append(module)
            continue
        if any(any(f in t.id() for f in filters) for t in _flatten(suite)):
            chosen.append(module)
    return chosen


def run_parent(args: argparse.Namespace) -> int:
    totals = {"passed": 0, "failed": 0, "skipped": 0}
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    if args.agent:
        env["WEBSEED_AGENT"] = str(Path(args.agent).resolve())
    agent = Path(env.get("WEBSEED_AGENT") or REPO / "build" / "webseed-agent")
    modules = matching_modules(args.filters)
    if not agent.is_file():
        print(f"run_integration: error: agent binary not found: {agent} "
              "(run `make` or pass --agent)", flush=True)
        totals["failed"] = 1
    elif not modules:
        print(f"run_integration: error: no test matches {args.filters}", flush=True)
        totals["failed"] = 1
    else:
        print(f"run_integration: agent {agent}", flush=True)
    started = time.monotonic()
    todo = modules if agent.is_file() else []
    if "ASAN_OPTIONS" in env and not args.filters:
        for module in [m for m in todo if normal_pass_only(m)]:
            print(f"=== {module}: normal pass only ({normal_pass_only(module)})", flush=True)
            todo.remove(module)
    todo = sorted(todo, key=lambda m: -module_timeout(m, args.module_timeout))
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        for counts in pool.map(lambda m: run_child(m, args, env), todo):
            for key in totals:
                totals[key] += counts[key]
    print(f"run_integration: {time.monotonic() - started:.1f}s", flush=True)
    print(f"integration: {totals['passed']} passed, {totals['failed']} failed, "
          f"{totals['skipped']} skipped", flush=True)
    return 1 if totals["failed"] else 0


def normal_pass_only(module: str) -> str:
    """The reason after `SANITIZER_PASS = False  #`, or "" when the module runs in both."""
    source = (Path(__file__).parent / "integration" / f"{module}.py").read_text()
    m = re.search(r"^SANITIZER_PASS = False\s*#\s*(.+)$", source, re.M)
    return m.group(1).strip() if m else ""


def module_timeout(module: str, default: float) -> float:
    """A module may raise its own limit with a line `MODULE_TIMEOUT = SECONDS` (tests that
    drive real BitTorrent clients); the --module-timeout default applies otherwise."""
    source = (Path(__file__).parent / "integration" / f"{module}.py").read_text()
    m = re.search(r"^MODULE_TIMEOUT = (\d+)", source, re.M)
    return max(default, float(m.group(1))) if m else default


_PRINT = threading.Lock()


def run_child(module: str, args: argparse.Namespace, env: dict[str, str]) -> dict[str, int]:
    """Runs `module` in a subprocess (own process group) under the wall-clock limit; prints
    its output whole when it ends."""
    with tempfile.NamedTemporaryFile(prefix="webseed-it-result-", suffix=".json") as out, \
            tempfile.TemporaryFile(prefix="webseed-it-log-") as log:
        argv = [sys.executable, __file__, "--child", module, "--result-file", out.name,
                *args.filters]
        started = time.monotonic()
        limit = module_timeout(module, args.module_timeout)
        proc = subprocess.Popen(argv, env=env, start_new_session=True, stdout=log,
                                stderr=subprocess.STDOUT)
        lines = [f"\n=== {module}"]
        try:
            proc.wait(timeout=limit)
            counts = None
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            lines.append(f"FAIL: {module}: killed after the {limit:.0f}s module limit")
            counts = {"passed": 0, "failed": 1, "skipped": 0}
        log.seek(0)
        output = log.read().decode("utf-8", "replace")
        if counts is None:
            lines.append(f"=== {module}: {time.monotonic() - started:.1f}s")
            try:
                counts = json.loads(Path(out.name).read_text())
            except ValueError:
                lines.append(f"FAIL: {module}: exited {proc.returncode} without results")
                counts = {"passed": 0, "failed": 1, "skipped": 0}
            if proc.returncode != 0 and counts["failed"] == 0:
                counts["failed"] = 1
        with _PRINT:
            print(lines[0] + "\n" + output.rstrip("\n") + "\n" + "\n".join(lines[1:]),
                  flush=True)
        return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("filters", nargs="*", metavar="FILTER",
                        help="run only tests whose id contains one of these strings")
    parser.add_argument("--agent", help="agent binary (sets WEBSEED_AGENT)")
    parser.add_argument("--module-timeout", type=float, default=DEFAULT_MODULE_TIMEOUT,
                        help=f"seconds per module (default {DEFAULT_MODULE_TIMEOUT:.0f})")
    parser.add_argument("--jobs", type=int, default=int(os.environ.get("INTEGRATION_JOBS", "3")),
                        help="modules run at once (default $INTEGRATION_JOBS, else 3)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--result-file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return run_module(args.child, args.filters, args.result_file)
    return run_parent(args)


if __name__ == "__main__":
    sys.exit(main())
