"""Helpers for the integration tests: run the agent and rsync, read `links --json`.

Every subprocess runs with a timeout; a test that would hang fails instead.
The agent is $WEBSEED_AGENT, default <repo>/build/webseed-agent.
"""

from __future__ import annotations

import atexit
import dataclasses
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path
from typing import Any, Optional, Sequence, Union

REPO = Path(__file__).resolve().parents[2]
TESTS = REPO / "tests"
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

from fixtures import mirror  # noqa: E402  (needs TESTS on sys.path)

SYMLINKS_DIR = mirror.SYMLINKS_DIR
RSYNC = "/usr/bin/rsync"
SETPRIV = "/usr/bin/setpriv"
SYSTEM_CONFIG = "/etc/webseed-agent/agent.yaml"
AGENT_TIMEOUT = 15.0   # seconds; `links` on a test tree takes milliseconds
RSYNC_TIMEOUT = 30.0

PathLike = Union[str, os.PathLike]


def agent_path() -> Path:
    """The agent binary: $WEBSEED_AGENT or <repo>/build/webseed-agent."""
    return Path(os.path.abspath(os.environ.get("WEBSEED_AGENT") or REPO / "build" / "webseed-agent"))


@dataclasses.dataclass
class Result:
    """What one agent run gave."""

    argv: list[str]
    returncode: int
    stdout: bytes
    stderr: bytes

    @property
    def out(self) -> str:
        return self.stdout.decode("utf-8", "backslashreplace")

    @property
    def err(self) -> str:
        return self.stderr.decode("utf-8", "backslashreplace")

    def json(self) -> dict[str, Any]:
        """stdout parsed as one strict JSON document (valid UTF-8, no NaN, no trailing data)."""
        try:
            text = self.stdout.decode("utf-8")
        except UnicodeDecodeError as e:
            raise AssertionError(f"--json output is not valid UTF-8: {e}\n{self}") from None
        try:
            return json.loads(text, parse_constant=_reject_constant)
        except ValueError as e:
            raise AssertionError(f"--json output is not valid JSON: {e}\n{self}") from None

    def __str__(self) -> str:
        return (f"$ {' '.join(self.argv)}\nexit {self.returncode}\n"
                f"--- stdout\n{self.out}--- stderr\n{self.err}---")


def _reject_constant(name: str) -> None:
    raise ValueError(f"non-standard JSON constant {name}")


def run_agent(*args: PathLike, timeout: float = AGENT_TIMEOUT, cwd: Optional[PathLike] = None,
              as_nobody: bool = False, env: Optional[dict[str, str]] = None,
              wrap=None) -> Result:
    """Runs the agent with `args` and returns its Result; never raises on a non-zero exit.
    Fails the test (AssertionError) when it runs longer than `timeout` seconds or dies from
    a signal (a crash is never an acceptable answer).
    as_nobody: run as user nobody/nogroup with no supplementary groups (needs root).
    wrap: a function argv -> argv, e.g. fixtures.names.HostsFile(...).wrap (pinned host names)."""
    exe = agent_path()
    if not exe.is_file():
        raise AssertionError(f"agent binary not found: {exe} (run `make`, or set WEBSEED_AGENT)")
    argv = [os.fsdecode(a) if isinstance(a, bytes) else str(a) for a in (exe, *args)]
    if as_nobody:
        argv = [SETPRIV, "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                str(_copy_for_nobody(exe)), *argv[1:]]
    if wrap is not None:
        argv = wrap(argv)
    env = sanitizer_env(dict(os.environ) if env is None else env)
    try:
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=timeout, cwd=cwd, env=env)
    except subprocess.TimeoutExpired as e:
        raise AssertionError(f"agent did not finish within {timeout}s (killed): "
                             f"{' '.join(argv)}\n--- stdout\n{e.stdout!r}\n--- stderr\n"
                             f"{e.stderr!r}") from None
    result = Result(argv, proc.returncode, proc.stdout, proc.stderr)
    if proc.returncode < 0 or proc.returncode >= 128:
        raise AssertionError(f"agent died (signal or crash):\n{result}")
    if proc.returncode == SANITIZER_EXIT or any(s in proc.stderr for s in SANITIZER_SIGNS):
        raise AssertionError(f"sanitizer report from the agent:\n{result}")
    return result


_NOBODY_COPIES: dict[Path, Path] = {}


def _copy_for_nobody(exe: Path) -> Path:
    """A copy of `exe` that user nobody can run: the checkout may sit under a 0700 directory
    (a `mktemp -d` clone). Made once per binary, in a 0755 temp dir removed at exit."""
    if exe not in _NOBODY_COPIES:
        top = Path(tempfile.mkdtemp(prefix="webseed-nobody-"))
        os.chmod(top, 0o755)
        copy = top / exe.name
        shutil.copy2(exe, copy)
        os.chmod(copy, 0o755)
        _NOBODY_COPIES[exe] = copy
        atexit.register(shutil.rmtree, top, True)
    return _NOBODY_COPIES[exe]


# A sanitizer (ASan/UBSan build) that finds an error exits 1 by default, the same as
# "findings"; make it distinct, and look for its report in any case.
SANITIZER_EXIT = 86
SANITIZER_SIGNS = (b"ERROR: AddressSanitizer", b"ERROR: LeakSanitizer", b"runtime error: ")


def sanitizer_env(env: dict[str, str]) -> dict[str, str]:
    """`env` with exitcode=86 put first in ASAN_OPTIONS/UBSAN_OPTIONS (options given later
    in the variable still win)."""
    for var in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
        env[var] = f"exitcode={SANITIZER_EXIT}" + (f":{env[var]}" if env.get(var) else "")
    return env


def links(root: PathLike, *args: PathLike, **kwargs: Any) -> Result:
    """`webseed-agent links --root ROOT ARGS...`."""
    return run_agent("links", "--root", root, *args, **kwargs)


def links_json(root: PathLike, *args: PathLike, **kwargs: Any) -> tuple[Result, dict[str, Any]]:
    """`links --root ROOT --json ARGS...`: the Result and the parsed, schema-checked document."""
    result = links(root, "--json", *args, **kwargs)
    doc = result.json()
    check_schema(doc, result)
    return result, doc


def raw(obj: dict[str, Any], key: str) -> Optional[bytes]:
    """The exact bytes of a name/path/target: from KEY_hex when present, else KEY in UTF-8."""
    if obj.get(key + "_hex") is not None:
        return bytes.fromhex(obj[key + "_hex"])
    value = obj.get(key)
    return None if value is None else value.encode("utf-8")


def all_findings(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Tree-level findings, then every entry's findings in document order."""
    return list(doc["findings"]) + [f for e in doc["entries"] for f in e["findings"]]


def codes_by_path(doc: dict[str, Any]) -> dict[str, list[str]]:
    """Entry findings as {path: sorted codes} (tree-level findings are in `tree_codes`)."""
    codes: dict[str, list[str]] = {}
    for entry in doc["entries"]:
        for f in entry["findings"]:
            codes.setdefault(f["path"], []).append(f["code"])
    return {path: sorted(c) for path, c in codes.items()}


def codes_by_raw_path(doc: dict[str, Any]) -> dict[bytes, list[str]]:
    """Like codes_by_path, keyed by the exact path bytes (path_hex when present)."""
    codes: dict[bytes, list[str]] = {}
    for entry in doc["entries"]:
        for f in entry["findings"]:
            codes.setdefault(raw(f, "path"), []).append(f["code"])
    return {path: sorted(c) for path, c in codes.items()}


def tree_codes(doc: dict[str, Any]) -> list[str]:
    """The codes of the tree-level findings (missing-tree, empty-tree)."""
    return sorted(f["code"] for f in doc["findings"])


def finding(doc: dict[str, Any], path: str) -> dict[str, Any]:
    """The one finding about `path`; fails when there is none or more than one."""
    found = [f for f in all_findings(doc) if f["path"] == path]
    if len(found) != 1:
        raise AssertionError(f"expected one finding for {path!r}, got {found}")
    return found[0]


SEVERITY = {
    "missing-tree": "error", "empty-tree": "error", "empty-entry": "error",
    "not-symlink": "warning", "absolute-target": "error", "escapes-root": "error",
    "dangling": "error", "symlink-loop": "error", "not-regular-file": "error",
    "unreadable": "error",
}


def _links_schema_validator():
    import jsonschema  # Debian python3-jsonschema (contrib/install-deps test)
    schema = json.loads((REPO / "docs" / "links.schema.json").read_text())
    return jsonschema.Draft202012Validator(schema)


_LINKS_SCHEMA = _links_schema_validator()


def check_schema(doc: dict[str, Any], result: Result) -> None:
    """Asserts that a `links --json` document validates against docs/links.schema.json, and
    its internal consistency (summary counts, ok flags, severities, sort orders, exit code)."""
    def need(cond: bool, what: str) -> None:
        if not cond:
            raise AssertionError(f"--json schema: {what}\n{json.dumps(doc, indent=1)}\n{result}")

    problems = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
                for e in _LINKS_SCHEMA.iter_errors(doc)]
    need(not problems, "docs/links.schema.json: " + "; ".join(problems[:5]))

    need(doc.get("version") == 1, "version must be 1")
    need(isinstance(doc.get("root"), str) and doc["root"].startswith("/"), "root is absolute")
    need(isinstance(doc.get("symlinks_dir"), str), "symlinks_dir is a string")
    need(isinstance(doc.get("ok"), bool), "ok is a bool")
    summary = doc.get("summary")
    need(isinstance(summary, dict) and set(summary) >= {
        "entries", "entries_ok", "links", "errors", "warnings"}, "summary keys")
    need(isinstance(doc.get("findings"), list), "findings is a list")
    need(isinstance(doc.get("entries"), list), "entries is a list")
    for f in all_findings(doc):
        need(set(f) >= {"code", "severity", "path", "target", "message", "hint"},
             f"finding keys: {sorted(f)}")
        need(f["code"] in SEVERITY, f"unknown code {f['code']!r}")
        need(f["severity"] == SEVERITY[f["code"]], f"severity of {f['code']}")
        need(f["target"] is None or isinstance(f["target"], str), "target is string or null")
        need(isinstance(f["message"], str) and f["message"], "message is a non-empty string")
        need(isinstance(f["hint"], str), "hint is a string")
        need(not f["path"].startswith("/"), f"path is relative to the root: {f['path']!r}")
        for key in ("path", "target"):
            if f.get(key + "_hex") is not None:
                need("\ufffd" in f[key], f"{key}_hex given but {key} has no U+FFFD")
    for tree_finding in doc["findings"]:
        # The contract names missing-tree and empty-tree; the agent also reports an
        # unreadable symlinks dir here.
        need(tree_finding["code"] in ("missing-tree", "empty-tree", "unreadable"),
             f"tree-level finding {tree_finding['code']}")
    names = [raw(e, "name") for e in doc["entries"]]
    need(names == sorted(names), "entries sorted bytewise by name")
    errors = warnings = total_links = entries_ok = 0
    for e in doc["entries"]:
        need(set(e) >= {"name", "ok", "links", "findings"}, f"entry keys: {sorted(e)}")
        sev = [f["severity"] for f in e["findings"]]
        need(sev == sorted(sev, key=lambda s: s != "error"), f"errors first in {e['name']!r}")
        for s in ("error", "warning"):
            paths = [raw(f, "path") for f in e["findings"] if f["severity"] == s]
            need(paths == sorted(paths), f"{s}s sorted by path in {e['name']!r}")
        need(e["ok"] == ("error" not in sev), f"entry ok flag of {e['name']!r}")
        errors += sev.count("error")
        warnings += sev.count("warning")
        total_links += e["links"]
        entries_ok += e["ok"]
    errors += len(doc["findings"])
    need(summary["entries"] == len(doc["entries"]), "summary.entries")
    need(summary["entries_ok"] == entries_ok, "summary.entries_ok")
    need(summary["links"] == total_links, "summary.links is the sum of entry links")
    need(summary["errors"] == errors, "summary.errors")
    need(summary["warnings"] == warnings, "summary.warnings")
    need(doc["ok"] == (errors == 0), "ok is true iff no error finding")
    need(result.returncode == (0 if errors == 0 else 1), "exit 0 iff no error, else 1")


def run_rsync(src: PathLike, dst: PathLike, *opts: str,
              timeout: float = RSYNC_TIMEOUT) -> subprocess.CompletedProcess:
    """Runs the real `/usr/bin/rsync OPTS... SRC DST` (text output captured). SRC is passed
    verbatim: give it a trailing "/" to copy a directory's contents. Fails the test when
    rsync exits non-zero or takes longer than `timeout` seconds."""
    argv = [RSYNC, *opts, os.fspath(src), os.fspath(dst)]
    try:
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"rsync did not finish within {timeout}s: {argv}") from None
    if proc.returncode != 0:
        raise AssertionError(f"rsync failed ({proc.returncode}): {argv}\n{proc.stderr}")
    return proc


def contents(path: PathLike) -> str:
    """`path` with a trailing slash: rsync copies the directory's contents."""
    return os.fspath(path).rstrip("/") + "/"


def make_tmpdir(prefix: str = "webseed-it-") -> Path:
    """A fresh world-readable (0755) directory, canonical path (no symlinks)."""
    path = Path(tempfile.mkdtemp(prefix=prefix)).resolve()
    os.chmod(path, 0o755)
    return path


def remove_tree(path: PathLike) -> None:
    """rm -rf that also gets through directories a test made unreadable (mode 000).
    Never follows symlinks (trees here hold links that point outside)."""
    path = os.fsencode(path)
    if not os.path.lexists(path):
        return
    if not os.path.islink(path):
        os.chmod(path, stat.S_IRWXU)
    for dirpath, dirnames, _ in os.walk(path):
        for name in dirnames:
            full = os.path.join(dirpath, name)
            if not os.path.islink(full):
                os.chmod(full, stat.S_IRWXU)   # before os.walk descends into it
    shutil.rmtree(path)


class TreeTestCase(unittest.TestCase):
    """A TestCase with `self.tmp`: a fresh 0755 directory removed after each test."""

    def setUp(self) -> None:
        super().setUp()
        self.tmp = make_tmpdir()
        self.addCleanup(remove_tree, self.tmp)

    def assertExit(self, result: Result, code: int) -> None:
        self.assertEqual(result.returncode, code, f"exit code\n{result}")

    def assertCodes(self, doc: dict[str, Any], expected: dict[str, list[str]],
                    tree: Sequence[str] = ()) -> None:
        """Exactly these entry findings ({path: codes}) and tree-level codes, nothing more."""
        self.assertEqual(codes_by_path(doc), {p: sorted(c) for p, c in expected.items()},
                         json.dumps(doc, indent=1))
        self.assertEqual(tree_codes(doc), sorted(tree), json.dumps(doc, indent=1))


# --- torrent show (docs/torrent-show.md) -----------------------------------------------------

import re  # noqa: E402  (kept with the torrent helpers)

TORRENT_CODES = ("torrent-invalid", "unsafe-path", "torrent-noncanonical")
_HEX40 = re.compile(r"[0-9a-f]{40}")
_HEX64 = re.compile(r"[0-9a-f]{64}")


def torrent_show(*args: PathLike, **kwargs: Any) -> Result:
    """`webseed-agent torrent show ARGS...`."""
    return run_agent("torrent", "show", *args, **kwargs)


def torrent_json(*args: PathLike, **kwargs: Any) -> tuple[Result, dict[str, Any]]:
    """`torrent show --json ARGS...`: the Result and the parsed, consistency-checked document."""
    result = torrent_show("--json", *args, **kwargs)
    doc = result.json()
    check_torrent_doc(doc, result)
    return result, doc


def check_torrent_doc(doc: dict[str, Any], result: Result) -> None:
    """Asserts the shape of a `torrent show --json` document: keys and types of every torrent
    and finding, ok iff no finding, exit 0 iff every torrent is ok (else 1)."""
    def need(cond: bool, what: str) -> None:
        if not cond:
            raise AssertionError(f"torrent --json: {what}\n{json.dumps(doc, indent=1)}\n{result}")

    need(doc.get("version") == 1, "version must be 1")
    need(isinstance(doc.get("torrents"), list), "torrents is a list")
    for t in doc["torrents"]:
        need(set(t) >= {"torrent", "ok", "name", "info_hash_v1", "info_hash_v2", "findings"},
             f"torrent keys: {sorted(t)}")
        errors = [f for f in t["findings"] if f.get("severity") == "error"]
        need(t["ok"] == (not errors), f"ok iff no error finding: {t['torrent']}")
        need(len(t["findings"]) <= 1, "at most one finding per torrent")
        for f in t["findings"]:
            need(set(f) >= {"code", "severity", "path", "target", "message", "hint"},
                 f"finding keys: {sorted(f)}")
            need(f["code"] in TORRENT_CODES, f"unknown code {f['code']!r}")
            need(f["severity"] == ("warning" if f["code"] == "torrent-noncanonical" else "error"),
                 "torrent-noncanonical is a warning, the other torrent findings are errors")
            need(f["path"] == t["torrent"], "finding path is the torrent as given")
            need(f["target"] is None, "target is null")
            need(f["message"].startswith(t["torrent"] + ": "), "message starts with 'FILE: '")
            need("\n" not in f["message"], "message is one line")
            need(isinstance(f["hint"], str), "hint is a string")
        if not t["ok"]:
            need(t["name"] is None and t["info_hash_v1"] is None and t["info_hash_v2"] is None,
                 "a failed torrent has null name and hashes")
            continue
        need(set(t) >= {"meta_version", "multi_file", "piece_length", "piece_count",
                        "total_size", "private", "created_by", "creation_date", "comment",
                        "trackers", "url_list", "httpseeds", "files"}, f"keys: {sorted(t)}")
        need(t["meta_version"] in ("v1", "v2", "hybrid"), "meta_version")
        need((t["info_hash_v1"] is not None) == (t["meta_version"] != "v2"), "v1 hash iff v1")
        need((t["info_hash_v2"] is not None) == (t["meta_version"] != "v1"), "v2 hash iff v2")
        need(t["info_hash_v1"] is None or _HEX40.fullmatch(t["info_hash_v1"]), "v1 hash hex")
        need(t["info_hash_v2"] is None or _HEX64.fullmatch(t["info_hash_v2"]), "v2 hash hex")
        need(t["total_size"] == sum(f["length"] for f in t["files"] if not f["pad"]),
             "total_size is the sum of the non-pad files")
        for f in t["files"]:
            need(set(f) >= {"path", "length", "offset", "pad", "attr", "pieces_root"},
                 f"file keys: {sorted(f)}")
            need(f["pad"] == ("p" in f["attr"]), "pad iff attr has 'p'")
            need(f["pieces_root"] is None or _HEX64.fullmatch(f["pieces_root"]), "pieces_root")
            need(not (f["pad"] and "url" in f), "no url for pad files")
    bad = sum(1 for t in doc["torrents"] if not t["ok"])
    need(result.returncode == (1 if bad else 0), "exit 0 iff every torrent is ok, else 1")
