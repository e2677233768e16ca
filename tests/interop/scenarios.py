"""The interop matrix's world and its rows (issue 12): what each scenario serves, which torrent
it offers, and what the agent and each client are expected to do, with the reason.

The world (built once per run by `World.build`): an upstream tree written by
fixtures/mirror.py, copied to the mirror by real `rsync -a`, a few docroots derived from that
mirror by rsync (with .pad/N zero files, a stale copy, an old tree without the symlinks
dir), and torrents made by the real tools from the upstream's torrent-symlinks entries:
mktorrent, transmission-create and python3-libtorrent.

A scenario serves one torrent through one server setup. Each party (the agent, and each
client in each address-family view) gets its own server instance on its own port, started
and stopped around that party's run: stateful servers (503 to the first request, limit_conn
per address) treat every party the same, and the access log of each party is its own.

"Ready" (issue 12): every major client family (libtorrent: qBittorrent, Deluge; Transmission;
aria2) can fetch the torrent from this mirror, except for limits of the torrent itself that no
mirror can fix, which are warnings (EXCUSES). A client outcome is "ok", "fails", "n/a" (the
client cannot open the torrent) or, in an expectation only, "any" (measured to vary from run
to run; the reason says why).
"""

from __future__ import annotations

import contextlib
import dataclasses
from pathlib import Path
from typing import Callable, ContextManager, Iterator, Mapping, Optional, Union

import harness
from fixtures import mirror
from fixtures import torrents as T
from fixtures import webservers as W

SYMLINKS = mirror.SYMLINKS_DIR
CLIENTS = ("libtorrent", "aria2c", "transmission")
CLIENT_TITLES = {"libtorrent": "libtorrent", "aria2c": "aria2c", "transmission": "Transmission"}
# The agent's client families (issue 12: `"clients": ["libtorrent","transmission","aria2"]`).
FAMILIES = {"libtorrent": "libtorrent", "aria2c": "aria2", "transmission": "transmission"}
OUTCOMES = ("ok", "fails", "n/a")

# Torrent-level warnings that excuse a client: the torrent itself is the limit, no mirror
# can fix it, so the mirror stays ready although that client fails.
EXCUSES: dict[str, frozenset[str]] = {
    # Transmission 3.00 (Debian 12) refuses every v2-only and hybrid torrent (measured).
    "torrent-format-unsupported": frozenset({"transmission"}),
    # aria2c 1.36 and Transmission 3.00 request BEP 47 pad files as NAME/.pad/N (measured:
    # 404 -> they fail); libtorrent fills them with zeros.
    "pad-files-not-served": frozenset({"aria2c", "transmission"}),
}

MiB = 1 << 20

# ---------------------------------------------------------------------------------------------
# the world

E_DISTRO = "distro-1.0"                       # multi-file, pieces span files
E_NETINST = "distro-1.0-netinst.iso"          # single file
E_BIG = "big-1.0.img"                         # single file, 48 MB (Range matters)
E_UNICODE = "Ünïcødé distro 1.0"              # spaces, UTF-8, '#', '%', '&'
E_PADDED = "padded-1.0"                       # multi-file, for torrents with pad files
STALE_FILE = "releases/distro/1.0/distro-1.0-amd64.iso"

# (payload path under the root, entry name or None for a single-file entry, path in the entry,
#  size)
_PAYLOADS = (
    ("releases/distro/1.0/distro-1.0-amd64.iso", E_DISTRO, "distro-1.0-amd64.iso",
     3 * MiB + 4321),
    ("releases/distro/1.0/distro-1.0-amd64.iso.DIGESTS", E_DISTRO,
     "distro-1.0-amd64.iso.DIGESTS", 213),
    ("releases/distro/1.0/release notes.txt", E_DISTRO, "docs/release notes.txt", 6007),
    ("releases/distro/1.0/distro-1.0-netinst.iso", None, E_NETINST, 2 * MiB + 777),
    ("releases/big/big-1.0.img", None, E_BIG, 48_000_123),
    ("releases/ünïcødé/データ ☃ 100%.bin", E_UNICODE, "データ ☃ 100%.bin", MiB + 3),
    ("releases/ünïcødé/read me #1.txt", E_UNICODE, "docs & notes/read me #1.txt", 5000),
    ("releases/padded/padded-1.0-a.img", E_PADDED, "a.img", MiB + 1),
    ("releases/padded/padded-1.0-b.img", E_PADDED, "b/b.img", 700_003),
    ("releases/padded/padded-1.0-c.txt", E_PADDED, "c.txt", 3333),
)
# The torrents World.build makes (World.torrents keys) and the trees it has (World fields).
TORRENTS = ("distro (mktorrent)", "netinst (transmission-create)", "big 48 MB (mktorrent)",
            "unicode (mktorrent)", "hybrid with pad files (libtorrent)",
            "v1 with pad files (libtorrent)", "unsorted file keys (transmission-create)",
            "trailing newline (mktorrent)")
TREES = ("mirror", "padded", "stale", "old")
_NOT_BIG = ("--exclude", "/releases/big/", "--exclude", f"/{SYMLINKS}/{E_BIG}")


def layout() -> mirror.Layout:
    payloads, grouped = [], {}
    for index, (path, entry, inner, size) in enumerate(_PAYLOADS):
        payloads.append(mirror.Payload(path, size, seed=1000 + index))
        if entry is None:
            key, link = (inner, "single"), f"{SYMLINKS}/{inner}"
        else:
            key, link = (entry, "multi"), f"{SYMLINKS}/{entry}/{inner}"
        grouped.setdefault(key, []).append(mirror.Link(link, path))
    entries = tuple(mirror.Entry(name, kind, tuple(links))
                    for (name, kind), links in sorted(grouped.items()))
    return mirror.Layout(tuple(payloads), entries)


@dataclasses.dataclass
class World:
    """The trees and torrents every scenario draws from (read-only once built)."""

    top: Path
    upstream: Path
    mirror: Path           # rsync -a of upstream: what the agent checks, nginx serves
    padded: Path           # mirror (without big) plus NAME/.pad/N zero files for E_PADDED
    stale: Path            # mirror (without big), STALE_FILE changed, same size
    old: Path              # mirror without experimental/ (a server that lacks the tree)
    torrents: dict[str, Path]

    @classmethod
    def build(cls, top: Path) -> "World":
        upstream = top / "upstream"
        mirror.build(upstream, layout())
        entries = upstream / SYMLINKS
        tdir = top / "torrents"
        tdir.mkdir()
        torrents = {
            "distro (mktorrent)": T.mktorrent(entries / E_DISTRO, tdir / "distro.torrent",
                                              piece_log2=16),
            "netinst (transmission-create)": T.transmission_create(
                entries / E_NETINST, tdir / "netinst.torrent", piece_kib=64),
            "big 48 MB (mktorrent)": T.mktorrent(entries / E_BIG, tdir / "big.torrent",
                                                 piece_log2=20),
            "unicode (mktorrent)": T.mktorrent(entries / E_UNICODE, tdir / "unicode.torrent",
                                               piece_log2=15),
            "hybrid with pad files (libtorrent)": T.lt_create(
                entries / E_PADDED, tdir / "hybrid.torrent", piece_size=64 * 1024,
                meta="hybrid"),
            "v1 with pad files (libtorrent)": T.lt_create(
                entries / E_PADDED, tdir / "v1pad.torrent", piece_size=64 * 1024, meta="v1",
                pad_v1=True),
        }
        made = T.transmission_create(entries / E_DISTRO, tdir / "tc-distro.torrent",
                                     piece_kib=64)
        torrents["unsorted file keys (transmission-create)"] = unsorted_file_keys(
            made, tdir / "unsorted.torrent")
        data = torrents["distro (mktorrent)"].read_bytes()
        (tdir / "newline.torrent").write_bytes(data + b"\n")
        torrents["trailing newline (mktorrent)"] = tdir / "newline.torrent"

        root = top / "mirror"
        harness.run_rsync(harness.contents(upstream), root, "-a")
        padded = top / "padded"
        harness.run_rsync(harness.contents(root), padded, "-a", *_NOT_BIG)
        for key in ("hybrid with pad files (libtorrent)", "v1 with pad files (libtorrent)"):
            for length in pad_lengths(torrents[key]):
                pad = padded / SYMLINKS / E_PADDED / ".pad" / str(length)
                pad.parent.mkdir(exist_ok=True)
                pad.write_bytes(bytes(length))
        mirror.make_world_readable(padded)
        stale = top / "stale"
        harness.run_rsync(harness.contents(root), stale, "-a", *_NOT_BIG)
        with open(stale / STALE_FILE, "r+b") as f:
            data = f.read(64 * 1024)
            f.seek(0)
            f.write(bytes(b ^ 0x5A for b in data))
        old = top / "old"
        harness.run_rsync(harness.contents(root), old, "-a", *_NOT_BIG,
                          "--exclude", "/experimental/")
        if set(torrents) != set(TORRENTS):
            raise AssertionError(f"scenarios.TORRENTS is out of date: {sorted(torrents)}")
        return cls(top, upstream, root, padded, stale, old, torrents)


def pad_lengths(torrent: Path) -> set[int]:
    """The lengths of the BEP 47 pad files of a v1 or hybrid torrent."""
    info = T.bdecode(torrent.read_bytes())[b"info"]
    return {f[b"length"] for f in info.get(b"files", ()) if b"p" in f.get(b"attr", b"")}


def unsorted_file_keys(src: Path, out: Path) -> Path:
    """`src` (a multi-file v1 torrent) with each file dictionary's keys written in reverse
    order ("path" before "length"), as some older torrent tools did; everything else as is.
    The info-hash is that of these exact bytes (another torrent than src)."""
    top = T.bdecode(src.read_bytes())
    info = top[b"info"]
    files = [T.Pairs(sorted(f.items(), reverse=True)) for f in info[b"files"]]
    info = T.Pairs([(k, files if k == b"files" else v) for k, v in info.items()])
    out.write_bytes(T.bencode(T.Pairs([(k, info if k == b"info" else v)
                                       for k, v in top.items()])))
    return out


# ---------------------------------------------------------------------------------------------
# servers: each a function of the world giving a context manager that yields
# (base URL, [servers]) for one party


Served = tuple[str, list]
Serve = Callable[[World], ContextManager[Served]]


def nginx(docroot: str = "mirror", **kwargs) -> Serve:
    @contextlib.contextmanager
    def serve(world: World) -> Iterator[Served]:
        with W.Nginx(getattr(world, docroot), **kwargs) as web:
            yield web.base_url, [web]
    return serve


def apache(**kwargs) -> Serve:
    @contextlib.contextmanager
    def serve(world: World) -> Iterator[Served]:
        with W.Apache(world.mirror, **kwargs) as web:
            yield web.base_url, [web]
    return serve


def python_http_server() -> Serve:
    @contextlib.contextmanager
    def serve(world: World) -> Iterator[Served]:
        with W.PythonHttpServer(world.mirror) as web:
            yield web.base_url, [web]
    return serve


def bad_server(mode: str) -> Serve:
    @contextlib.contextmanager
    def serve(world: World) -> Iterator[Served]:
        with W.BadServer(world.mirror, mode) as web:
            yield web.base_url, [web]
    return serve


def redirect_to_other_host() -> Serve:
    """mirror.test redirects every request to the same path on cdn.test (another server)."""
    @contextlib.contextmanager
    def serve(world: World) -> Iterator[Served]:
        with W.Nginx(world.mirror) as cdn, \
                W.BadServer(world.mirror, "redirect", target=f"http://cdn.test:{cdn.port}/") as web:
            yield f"http://mirror.test:{web.port}/", [web, cdn]
    return serve


def redirect_to_other_file() -> Serve:
    """Every request redirected to one fixed file (the netinst image) on another server."""
    @contextlib.contextmanager
    def serve(world: World) -> Iterator[Served]:
        with W.Nginx(world.mirror) as cdn:
            target = cdn.url(f"{SYMLINKS}/{E_NETINST}")
            with W.BadServer(world.mirror, "redirect-wrong", target=target) as web:
                yield web.base_url, [web, cdn]
    return serve


def dual_stack(v4: str, v6: str, host: str = "dual.test", **kwargs) -> Serve:
    @contextlib.contextmanager
    def serve(world: World) -> Iterator[Served]:
        with W.DualStackNginx(getattr(world, v4), getattr(world, v6), **kwargs) as web:
            yield f"http://{host}:{web.port}/", [web]
    return serve


# ---------------------------------------------------------------------------------------------
# the table

Outcome = Union[str, Mapping[str, str]]      # "ok" | "fails" | "n/a" | "any", or per view


@dataclasses.dataclass(frozen=True)
class Expect:
    """ready and the exact set of finding codes of the agent's verdict on the torrent;
    clients: per client the outcome (per view for multi-view rows); mentions: code -> a word
    that a finding with that code must have in its message (e.g. the address family)."""

    ready: bool
    codes: frozenset[str]
    clients: Mapping[str, Outcome]
    reason: str
    mentions: Mapping[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Scenario:
    name: str
    setup: str                   # the server setup, for the table
    torrent: str                 # a key of World.torrents
    serve: Serve
    expect: Expect
    root: str = "mirror"         # the World tree the agent checks
    hosts: Optional[Mapping[str, tuple[str, ...]]] = None   # the agent's (and clients') names
    views: Optional[Mapping[str, Mapping[str, tuple[str, ...]]]] = None  # client views
    client_timeout: float = 40.0


def _all(outcome: str) -> dict[str, str]:
    return {c: outcome for c in CLIENTS}


def ok(reason: str, codes=(), **clients: Outcome) -> Expect:
    return Expect(True, frozenset(codes), {**_all("ok"), **clients}, reason)


def not_ready(reason: str, codes, mentions=None, **clients: Outcome) -> Expect:
    return Expect(False, frozenset(codes), {**_all("fails"), **clients}, reason,
                  mentions or {})


LOCAL = ("127.0.0.1",)
DUAL = ("127.0.0.1", "::1")
SIX = ("::1",)
REDIRECT_HOSTS = {"mirror.test": LOCAL, "cdn.test": LOCAL}
DUAL_VIEWS = {"ipv4 user": {"dual.test": LOCAL}, "ipv6 user": {"dual.test": SIX},
              "dual-stack user": {"dual.test": DUAL}}

DISTRO = "distro (mktorrent)"
NETINST = "netinst (transmission-create)"

SCENARIOS: tuple[Scenario, ...] = (
    Scenario("nginx-defaults", "nginx, packaged defaults (symlinks followed)", DISTRO, nginx(),
             ok("the reference setup: every client fetches it")),
    Scenario("apache-defaults", "apache2, `Options FollowSymLinks`", NETINST, apache(),
             ok("the reference setup: every client fetches it")),
    Scenario("nginx-disable-symlinks", "nginx `disable_symlinks on`", DISTRO,
             nginx(disable_symlinks=True),
             not_ready("403 for every file behind a symlink: nobody can fetch it",
                       {"http-status"})),
    Scenario("apache-no-followsymlinks", "apache2 `Options -FollowSymLinks`", NETINST,
             apache(follow_symlinks=False),
             not_ready("403 for every file behind a symlink: nobody can fetch it",
                       {"http-status"})),
    Scenario("no-range-48MB", "`python3 -m http.server` (ignores Range), 48 MB file",
             "big 48 MB (mktorrent)", python_http_server(),
             not_ready("200 with the whole 48 MB file to every range request: libtorrent and "
                       "Transmission fail; aria2c keeps what a 200 brings (it re-requests from "
                       "piece boundaries to the end of the file) and sometimes completes "
                       "(tests/integration/test_probe.py), so its outcome is not a verdict",
                       {"http-range-ignored"}, aria2c="any"),
             client_timeout=45.0),
    Scenario("nginx-limit-conn-1", "nginx `limit_conn perip 1` (503 past one busy connection "
             "per address) and `limit_rate 512k` (a real network's pace: on loopback without it "
             "no two requests overlap)", DISTRO,
             nginx(extra_http="limit_conn_zone $binary_remote_addr zone=perip:1m;",
                   extra_server="limit_conn perip 1; limit_rate 512k;"),
             ok("a common anti-abuse setting: libtorrent uses one connection per web seed, "
                "aria2c and Transmission go on with the connections that are served (measured: "
                "all three complete); the agent's second connection gets 503: served, with a "
                "warning", {"http-throttled"})),
    Scenario("all-503", "nginx `return 503` for everything", DISTRO,
             nginx(extra_server="return 503;"),
             not_ready("never served: nobody can fetch it", {"http-status"})),
    Scenario("503-retry-after-once", "503 with `Retry-After: 1` to the first request only "
             "(tests/fixtures/bad_http_server.py retry-after-once)", DISTRO,
             bad_server("retry-after-once"),
             not_ready("measured: libtorrent 2.0.8 never asks a web seed again after one 503, "
                       "with or without Retry-After (no request in 140 s, single- and "
                       "multi-file), so a 503 to a client's only connection loses every "
                       "libtorrent user (qBittorrent, Deluge); aria2c and Transmission retry "
                       "and complete. Not the issue's first guess (ready, http-throttled): the "
                       "agent's lone first request (one connection, as libtorrent) was refused: "
                       "http-status concerning libtorrent, plus http-throttled",
                       {"http-status", "http-throttled"}, aria2c="ok", transmission="ok")),
    Scenario("redirect-multi-file", "every request 302 to the same path on another host "
             "(cdn.test); multi-file torrent, pieces span files", DISTRO,
             redirect_to_other_host(),
             not_ready("libtorrent 2.0.8 follows redirects per file and never completes a "
                       "piece spanning files (measured); aria2c and Transmission follow",
                       {"http-redirect"}, aria2c="ok", transmission="ok"),
             hosts=REDIRECT_HOSTS),
    Scenario("redirect-single-file", "every request 302 to the same path on another host "
             "(cdn.test); single-file torrent", NETINST, redirect_to_other_host(),
             ok("the same file elsewhere: every client follows the redirect; a warning",
                {"http-redirect"}), hosts=REDIRECT_HOSTS),
    Scenario("redirect-other-file", "every request 302 to another file name", DISTRO,
             redirect_to_other_file(),
             not_ready("the redirect leads to other bytes: every piece fails its hash",
                       {"http-redirect"})),
    Scenario("nginx-gzip-all", "nginx `gzip on; gzip_types *; gzip_min_length 1`", DISTRO,
             nginx(extra_http="gzip on; gzip_types *; gzip_min_length 1; gzip_proxied any;"),
             ok("nginx compresses only for clients that send Accept-Encoding: gzip; none of "
                "the three does for web seeds (the agent sends none either)")),
    Scenario("unicode-names", "nginx; names with spaces, UTF-8, '#', '%', '&'",
             "unicode (mktorrent)", nginx(),
             ok("percent-encoded paths, served like any other")),
    Scenario("torrent-trailing-newline", "nginx; the .torrent has a newline after its "
             "top-level dictionary", "trailing newline (mktorrent)", nginx(),
             ok("every client accepts the trailing byte (real: Android-x86 8.1 r6, BitComet "
                "torrents): a warning, not a broken torrent", {"torrent-noncanonical"})),
    Scenario("torrent-unsorted-file-keys", "nginx; the v1 file dictionaries have unsorted keys",
             "unsorted file keys (transmission-create)", nginx(),
             ok("every client accepts unsorted keys outside a v2 info dictionary (older "
                "torrent tools): a warning", {"torrent-noncanonical"})),
    Scenario("hybrid-pads-missing", "nginx; hybrid multi-file torrent with BEP 47 pad files, "
             "no NAME/.pad/N in the tree", "hybrid with pad files (libtorrent)", nginx(),
             ok("aria2c requests NAME/.pad/N and fails on the 404; Transmission 3.00 cannot "
                "open hybrid torrents; both are limits of the torrent, warnings",
                {"pad-files-not-served", "torrent-format-unsupported"},
                aria2c="fails", transmission="n/a")),
    Scenario("hybrid-pads-served", "nginx; the same hybrid torrent, NAME/.pad/N zero files in "
             "the tree", "hybrid with pad files (libtorrent)", nginx("padded"),
             ok("the pad files are served as zeros: aria2c completes; Transmission 3.00 still "
                "cannot open the hybrid torrent (a warning)", {"torrent-format-unsupported"},
                transmission="n/a"), root="padded"),
    Scenario("v1-pads-missing", "nginx; v1 multi-file torrent with BEP 47 pad files, no "
             "NAME/.pad/N in the tree", "v1 with pad files (libtorrent)", nginx(),
             ok("aria2c and Transmission 3.00 request NAME/.pad/N and fail on the 404 "
                "(measured; a limit of the torrent, a warning); libtorrent fills pad files "
                "with zeros", {"pad-files-not-served"}, aria2c="fails", transmission="fails")),
    Scenario("dual-stack-ipv6-lacks-tree", "dual.test -> 127.0.0.1 and ::1; nginx serves the "
             "tree on 127.0.0.1:P only, [::1]:P an old tree without it", DISTRO,
             dual_stack("mirror", "old"),
             not_ready("IPv6 users (and dual-stack users, who try IPv6 first) get 404",
                       {"http-status"}, {"http-status": "ipv6"},
                       **{c: {"ipv4 user": "ok", "ipv6 user": "fails",
                              "dual-stack user": "fails"} for c in CLIENTS}),
             hosts={"dual.test": DUAL}, views=DUAL_VIEWS),
    Scenario("dual-stack-ipv4-lacks-tree", "dual.test -> 127.0.0.1 and ::1; nginx serves the "
             "tree on [::1]:P only, 127.0.0.1:P an old tree without it", DISTRO,
             dual_stack("old", "mirror"),
             not_ready("dual-stack users fetch it over IPv6, but every IPv4-only user gets 404",
                       {"http-status"}, {"http-status": "ipv4"},
                       **{c: {"ipv4 user": "fails", "ipv6 user": "ok",
                              "dual-stack user": "ok"} for c in CLIENTS}),
             hosts={"dual.test": DUAL}, views=DUAL_VIEWS),
    Scenario("ipv6-only", "six.test -> ::1 only (host name, not a literal); nginx on [::1]:P "
             "(127.0.0.1:P answers 421)", DISTRO,
             dual_stack("mirror", "mirror", host="six.test", extra_server="return 421;"),
             ok("an IPv6-only mirror, probed on IPv6 only; every client reaches it by name "
                "(libtorrent 2.0.8 fails on an IPv6 literal, hence the name; aria2c with its "
                "default ipv6 on; with --disable-ipv6 it fails, measured)"),
             hosts={"six.test": SIX}),
    Scenario("ipv6-literal", "the base URL is http://[::1]:P/ (an IPv6 literal); nginx on "
             "[::1]:P (127.0.0.1:P answers 421)", DISTRO,
             dual_stack("mirror", "mirror", host="[::1]", extra_server="return 421;"),
             not_ready("libtorrent 2.0.8 fails a web seed written as an IPv6 literal (the same "
                       "server by name works: ipv6-only); aria2c and Transmission fetch it",
                       {"webseed-url-ipv6-literal"}, libtorrent="fails", aria2c="ok",
                       transmission="ok")),
    Scenario("stale-same-size", "nginx serving a stale copy: one file changed, same size",
             DISTRO, nginx("stale"),
             not_ready("the web server's docroot is not the verified tree: pieces fail their "
                       "hash in every client", {"http-content-mismatch"})),
)


def excused(codes) -> frozenset[str]:
    """The clients excused by these torrent-level warning codes."""
    out: set[str] = set()
    for code in codes:
        out |= EXCUSES.get(code, frozenset())
    return frozenset(out)


def table_problems(scenarios=SCENARIOS) -> dict[str, list[str]]:
    """Mistakes in the declared table, by scenario name: unknown outcomes, torrents or trees,
    duplicate names, and rows that break the rule `ready <=> every client not excused by a
    torrent-level warning succeeds` (an "any" client counts as failing)."""
    problems: dict[str, list[str]] = {}
    seen = set()
    for s in scenarios:
        bad = problems.setdefault(s.name, [])
        if s.name in seen:
            bad.append("duplicate scenario name")
        seen.add(s.name)
        if set(s.expect.clients) != set(CLIENTS):
            bad.append(f"clients must be exactly {CLIENTS}")
        for client, outcome in s.expect.clients.items():
            values = outcome.values() if isinstance(outcome, Mapping) else [outcome]
            if isinstance(outcome, Mapping) and set(outcome) != set(s.views or {}):
                bad.append(f"{client}: views {sorted(outcome)} but the row has {sorted(s.views or {})}")
            for v in values:
                if v not in OUTCOMES + ("any",):
                    bad.append(f"{client}: unknown outcome {v!r}")
        gone = excused(s.expect.codes)
        all_ok = all(all(v == "ok" for v in (o.values() if isinstance(o, Mapping) else [o]))
                     for c, o in s.expect.clients.items() if c not in gone)
        if s.expect.ready != all_ok:
            bad.append(f"expected ready={s.expect.ready} but the expected clients say "
                       f"{'all ok' if all_ok else 'not all ok'} (excused: {sorted(gone)})")
        if not s.expect.reason:
            bad.append("no reason")
        if s.torrent not in TORRENTS:
            bad.append(f"unknown torrent {s.torrent!r}")
        if s.root not in TREES:
            bad.append(f"unknown tree {s.root!r}")
        for code in s.expect.mentions:
            if code not in s.expect.codes:
                bad.append(f"mentions {code} which is not expected")
    return {name: p for name, p in problems.items() if p}
