"""Runs the interop matrix's rows (scenarios.py) and judges them: the agent's verdict against
the declared expectation, each client's measured outcome against the declared one, and the
rule `agent ready <=> every client not excused by a torrent-level warning succeeded`.

One row: for the agent and for each client (in each address-family view of the row) a server
instance of its own is started, the torrent is given a url-list naming that server
(fixtures/clients.py with_url_list), the party runs, the server is stopped. All parties of a
row run at once (threads); each is bounded (the agent by AGENT_TIMEOUT, clients by the row's
client_timeout and their idle limits), and every server and client is stopped by its own
fixture (process groups).
"""

from __future__ import annotations

import collections
import dataclasses
import json
import os
import subprocess
import threading
import time
import traceback
from pathlib import Path
from typing import Any, Callable, Mapping, Optional

from fixtures import clients as C
from fixtures import names
from fixtures import torrents as T
import scenarios as S

AGENT_TIMEOUT = 150.0        # seconds for one `check --json` (the probe has its own limits)
IDLE_TIMEOUT = 7.0           # seconds without progress before a client counts as failed (under
                             # load a client may need a few seconds to its first byte)
KILL_GRACE = 10.0            # past the bounds above, before a party thread is given up


@dataclasses.dataclass
class AgentVerdict:
    ready: Optional[bool] = None          # None: the agent did not give a verdict
    codes: frozenset = frozenset()
    findings: list = dataclasses.field(default_factory=list)
    clients: Optional[dict] = None        # the torrent's "clients" object, when the agent has it
    detail: str = ""
    seconds: float = 0.0
    statuses: str = ""                    # what its server answered

    def cell(self) -> str:
        if self.ready is None:
            return "no verdict"
        codes = ", ".join(sorted(self.codes))
        return ("ready" if self.ready else "NOT ready") + (f": {codes}" if codes else "")


@dataclasses.dataclass
class ClientRun:
    outcome: str = "fails"                # ok | fails | n/a
    detail: str = ""
    seconds: float = 0.0
    statuses: str = ""


@dataclasses.dataclass
class RowResult:
    scenario: S.Scenario
    status: str = "fail"                  # pass | fail | skip
    agent: AgentVerdict = dataclasses.field(default_factory=AgentVerdict)
    clients: dict = dataclasses.field(default_factory=dict)   # client -> {view: ClientRun}
    problems: list = dataclasses.field(default_factory=list)
    seconds: float = 0.0

    def client_outcome(self, client: str) -> str:
        """ok only when ok in every view; n/a when refused in every view."""
        runs = self.clients.get(client, {})
        outcomes = {r.outcome for r in runs.values()}
        if not outcomes:
            return "-"
        if outcomes == {"ok"}:
            return "ok"
        if outcomes == {"n/a"}:
            return "n/a"
        return "fails"

    def client_cell(self, client: str) -> str:
        runs = self.clients.get(client, {})
        expected = self.scenario.expect.clients[client]
        if not runs:
            return "-"
        if len(runs) == 1 and "" in runs:
            got = runs[""].outcome
            return got if _matches(got, expected) else f"{got} (expected {expected})"
        parts = []
        for view, run in runs.items():
            want = expected[view] if isinstance(expected, Mapping) else expected
            mark = "" if _matches(run.outcome, want) else f" (expected {want})"
            parts.append(f"{view.split()[0]}: {run.outcome}{mark}")
        return "; ".join(parts)


def _matches(got: str, want: str) -> bool:
    return want == "any" or got == want


def _statuses(servers: list) -> str:
    """`206 x12, 404 x3 (/.../.pad/62203)` over every server of a party: request counts per
    status, and the first path answered with each status other than 200/206."""
    counts: collections.Counter = collections.Counter()
    first: dict[str, str] = {}
    for server in servers:
        try:
            for r in server.access_log():
                status = str(r.get("status"))
                counts[status] += 1
                first.setdefault(status, r.get("path") or "")
        except Exception as e:                      # a log we cannot parse: say so
            counts[f"unreadable log ({e})"] += 1
    return ", ".join(f"{k} x{v}" + (f" ({first[k]})" if k not in ("200", "206") and first.get(k)
                                    else "") for k, v in sorted(counts.items())) or "no request"


def seed(torrent: Path, url: str, out: Path) -> Path:
    """`torrent` with its url-list exactly [url]; bytes after the top-level dictionary (the
    trailing-newline scenario) are kept after it."""
    data = torrent.read_bytes()
    end = T._decode(data, 0)[1]
    if end == len(data):
        return C.with_url_list(torrent, [url], out)
    clean = out.with_suffix(".clean")
    clean.write_bytes(data[:end])
    C.with_url_list(clean, [url], out)
    out.write_bytes(out.read_bytes() + data[end:])
    return out


class Runner:
    def __init__(self, world: S.World, agent: Path, work: Path) -> None:
        self.world = world
        self.agent = agent
        self.work = work
        self._seq = 0
        self._lock = threading.Lock()

    def _dir(self, label: str) -> Path:
        with self._lock:
            self._seq += 1
            n = self._seq
        path = self.work / f"{n:03d}-{label}"
        path.mkdir(parents=True)
        os.chmod(path, 0o755)
        return path

    def _wrap(self, work: Path, hosts: Optional[Mapping]) -> Optional[Callable]:
        if not hosts:
            return None
        return names.HostsFile(work, {h: list(a) for h, a in hosts.items()}).wrap

    # --- parties

    def run_agent(self, s: S.Scenario) -> AgentVerdict:
        work = self._dir(f"{s.name}-agent")
        verdict = AgentVerdict()
        started = time.monotonic()
        with s.serve(self.world) as (base_url, servers):
            try:
                url = base_url + S.SYMLINKS + "/"
                tdir = work / "torrents"
                tdir.mkdir()
                torrent = seed(self.world.torrents[s.torrent], url, tdir / "t.torrent")
                config = work / "agent.yaml"
                config.write_text(
                    "mirror: {name: interop, root: %s, base_url: %s}\n"
                    "torrents: [%s]\nstate_dir: %s\n" % (
                        json.dumps(str(getattr(self.world, s.root))), json.dumps(base_url),
                        json.dumps(str(torrent)), json.dumps(str(work / "state"))))
                argv = [str(self.agent), "--config", str(config), "check", "--json"]
                wrap = self._wrap(work, s.hosts)
                proc = subprocess.run(wrap(argv) if wrap else argv, stdin=subprocess.DEVNULL,
                                      capture_output=True, timeout=AGENT_TIMEOUT)
                out = proc.stdout.decode("utf-8", "replace")
                err = proc.stderr.decode("utf-8", "replace").strip()
                if proc.returncode not in (0, 1):
                    verdict.detail = f"agent exit {proc.returncode}: {err[-2000:]}"
                else:
                    doc = json.loads(out)
                    t = doc["torrents"][0]
                    verdict.ready = bool(t["ready"])
                    verdict.findings = t["findings"]
                    verdict.codes = frozenset(f["code"] for f in t["findings"])
                    verdict.clients = t.get("clients")
                    verdict.detail = "\n".join(
                        f"{f['severity']} {f['code']}: {f['message']}" for f in t["findings"])
            except subprocess.TimeoutExpired:
                verdict.detail = f"agent killed after {AGENT_TIMEOUT:g}s"
            except (ValueError, KeyError, IndexError) as e:
                verdict.detail = f"agent output unreadable: {e}"
            finally:
                verdict.statuses = _statuses(servers)
        verdict.seconds = time.monotonic() - started
        return verdict

    def run_client(self, s: S.Scenario, client: str, view: str,
                   hosts: Optional[Mapping]) -> ClientRun:
        label = f"{s.name}-{client}" + (f"-{view.split()[0]}" if view else "")
        work = self._dir(label)
        run = ClientRun()
        with s.serve(self.world) as (base_url, servers):
            try:
                torrent = seed(self.world.torrents[s.torrent], base_url + S.SYMLINKS + "/",
                               work / "seeded.torrent")
                wrap = self._wrap(work, hosts)
                kwargs: dict[str, Any] = {"timeout": s.client_timeout,
                                          "idle_timeout": IDLE_TIMEOUT, "wrap": wrap}
                if client == "libtorrent":
                    result = C.libtorrent_download(torrent, work / "dl", **kwargs)
                elif client == "aria2c":
                    result = C.aria2c_download(torrent, work / "dl", ipv6=True, **kwargs)
                else:
                    result = C.transmission_download(torrent, work / "dl", **kwargs)
                run.outcome = "n/a" if result.refused else "ok" if result.ok else "fails"
                run.detail, run.seconds = result.detail, result.seconds
            finally:
                run.statuses = _statuses(servers)
        return run

    # --- one row

    def run(self, s: S.Scenario, skip_clients: bool = False) -> RowResult:
        row = RowResult(s)
        started = time.monotonic()
        if (s.hosts or s.views) and not names.available():
            row.status = "skip"
            row.problems.append("needs a private mount namespace for host names "
                                "(root and util-linux unshare)")
            return row
        results: dict[tuple, Any] = {}

        def party(key: tuple, fn: Callable, *args) -> None:
            try:
                results[key] = fn(*args)
            except Exception:
                results[key] = traceback.format_exc()

        jobs = [(("agent",), self.run_agent, s)]
        if not skip_clients:
            views = s.views or {"": s.hosts}
            for client in S.CLIENTS:
                for view, hosts in views.items():
                    jobs.append(((client, view), self.run_client, s, client, view, hosts))
        threads = [threading.Thread(target=party, args=job, daemon=True) for job in jobs]
        for t in threads:
            t.start()
        limit = max(AGENT_TIMEOUT, s.client_timeout + 2 * C.KILL_GRACE) + KILL_GRACE
        deadline = time.monotonic() + limit
        for t in threads:
            t.join(max(0.0, deadline - time.monotonic()))
        for (key, *_), t in zip(jobs, threads):
            if t.is_alive():
                row.problems.append(f"{'/'.join(k for k in key if k)}: did not return within "
                                    f"{limit:g}s")
            elif isinstance(results.get(key), str):
                row.problems.append(f"{'/'.join(k for k in key if k)}: crashed:\n"
                                    f"{results[key]}")
        agent = results.get(("agent",))
        if isinstance(agent, AgentVerdict):
            row.agent = agent
        for (key, *_) in jobs[1:]:
            value = results.get(key)
            if isinstance(value, ClientRun):
                row.clients.setdefault(key[0], {})[key[1]] = value
        self.judge(row, skip_clients)
        row.seconds = time.monotonic() - started
        return row

    @staticmethod
    def judge(row: RowResult, skip_clients: bool) -> None:
        s, e, a = row.scenario, row.scenario.expect, row.agent
        problems = row.problems
        table = S.table_problems([s]).get(s.name, [])
        problems += [f"expectation table: {p}" for p in table]
        if a.ready is None:
            problems.append(f"agent: no verdict: {a.detail}")
        else:
            if a.ready != e.ready or a.codes != e.codes:
                problems.append(
                    f"agent: {a.cell()}, expected {'ready' if e.ready else 'NOT ready'}"
                    f"{': ' + ', '.join(sorted(e.codes)) if e.codes else ''}")
            for code, word in e.mentions.items():
                messages = [f["message"] for f in a.findings if f["code"] == code]
                if messages and not any(word.lower() in m.lower() for m in messages):
                    problems.append(f"agent: no {code} finding names {word}: {messages}")
        if skip_clients:
            row.status = "fail" if problems else "pass"
            return
        for client in S.CLIENTS:
            expected = e.clients[client]
            for view, run in row.clients.get(client, {}).items():
                want = expected[view] if isinstance(expected, Mapping) else expected
                if not _matches(run.outcome, want):
                    where = f" ({view})" if view else ""
                    problems.append(f"{client}{where}: {run.outcome}, expected {want}")
        if a.ready is not None:
            gone = S.excused(c for c in a.codes
                             if all(f["severity"] == "warning" for f in a.findings
                                    if f["code"] == c))
            all_ok = all(row.client_outcome(c) == "ok" for c in S.CLIENTS if c not in gone)
            if a.ready != all_ok:
                problems.append(
                    f"consistency: agent says {'ready' if a.ready else 'NOT ready'}, but the "
                    f"clients not excused by a torrent-level warning ({', '.join(c for c in S.CLIENTS if c not in gone)}) "
                    f"{'all' if all_ok else 'did not all'} succeed")
            # The agent's own claim per family (issue 12: torrents[].clients), against what
            # the client did (ok in every view); clients whose outcome varies are not judged.
            if isinstance(a.clients, dict):
                for client, family in S.FAMILIES.items():
                    if family in a.clients and e.clients[client] != "any":
                        usable = bool(a.clients[family])
                        if usable != (row.client_outcome(client) == "ok"):
                            problems.append(f"agent's clients.{family} = {usable}, but "
                                            f"{client} {row.client_outcome(client)}")
        row.status = "fail" if problems else "pass"
