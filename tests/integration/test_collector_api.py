"""webseed-collector end to end: its HTTP API under good and hostile requests, the real loop
(a mirror made with rsync, torrents made with mktorrent, nginx serving the mirror, the real
`webseed-agent run` reporting over HTTPS to the collector, which then lists the mirror), its
listing policies (unjudged syncs, withdraw, staleness, torrents not ready) and
`seed-torrents` (url-list set, info dictionary untouched, read back by python3-libtorrent).

Every valid report is made by the real agent (`run --dry-run`, or a real `run`/`withdraw`
against the collector); the invalid ones are modified copies. Contracts: contrib/collector/
api.h, report_check.h, store.h, listing.h, seed_torrents.h; docs/report.md."""

import copy
import json
import os
import re
import select
import socket
import subprocess
import time
import unittest
import urllib.parse
import uuid
from pathlib import Path

import harness
from fixtures import mirror, tls, webservers
from fixtures import torrents as T
from fixtures.collector import Collector, collector_path

MODULE_TIMEOUT = 90
SYMLINKS = mirror.SYMLINKS_DIR
RUN_TIMEOUT = 45.0          # seconds for one agent run
SOCKET_TIMEOUT = 5.0        # seconds a raw-socket test waits for an answer
MAX_BODY = 65536            # the API tests' max_body
UNREACHABLE = "http://127.0.0.1:9/"   # a base URL nothing serves (reports: not ready)
MIRROR = "mirror.example.org"
# A torrent name and a mirror name that need HTML escaping on the dashboard.
ODD_TORRENT = 'R&D <notes> "x".txt'
ODD_MIRROR = "<i>evil</i> & 'co'"

SHARED = None


class Shared:
    """One mirror tree, its torrents (mktorrent), a CA and the collector's certificate, for the
    whole module; removed by tearDownModule."""

    def __init__(self):
        self.dir = harness.make_tmpdir()
        upstream = self.dir / "upstream"
        mirror.build(upstream, mirror.default_layout())
        self.tdir = self.dir / "torrents"          # the distribution's torrents (agent)
        self.tdir.mkdir()
        entries = upstream / SYMLINKS
        self.names = sorted(os.listdir(entries))
        for name in self.names:
            T.mktorrent(entries / name, self.tdir / f"{name}.torrent", piece_log2=15)
        self.root = self.dir / "mirror"
        harness.run_rsync(harness.contents(upstream), self.root, "-a")
        self.hashes = {}                            # torrent name -> v1 info-hash
        for name in self.names:
            self.hashes[name] = T.info_hashes((self.tdir / f"{name}.torrent").read_bytes())[0]
        # The collector's catalog: the same torrents plus one no mirror carries.
        self.cdir = self.dir / "catalog"
        self.cdir.mkdir()
        for name in self.names:
            (self.cdir / f"{name}.torrent").write_bytes((self.tdir / f"{name}.torrent").read_bytes())
        odd = self.dir / "odd"
        odd.mkdir()
        (odd / ODD_TORRENT).write_bytes(T.content(99, 40000))
        self.odd_torrent = self.cdir / "odd.torrent"
        T.mktorrent(odd / ODD_TORRENT, self.odd_torrent, piece_log2=15)
        self.odd_hash = T.info_hashes(self.odd_torrent.read_bytes())[0]
        self.ca = tls.TestCA(self.dir / "ca")
        self.cert, self.key = self.ca.issue("collector", ["127.0.0.1", "localhost"])


def setUpModule():
    global SHARED
    SHARED = Shared()


def tearDownModule():
    if SHARED is not None:
        harness.remove_tree(SHARED.dir)


# --- helpers -----------------------------------------------------------------------------------


def agent_config(directory, *, base_url, root=None, endpoint=None, token=None, ca=None,
                 name=MIRROR, torrents=None):
    """An agent.yaml in `directory` (state in directory/state); report settings only with
    `endpoint` (the token written to a 0600 file)."""
    directory = Path(directory)
    lines = ["mirror:", f"  name: {name}", f"  root: {root or SHARED.root}",
             f"  base_url: {base_url}", f"torrents: [{torrents or SHARED.tdir}]",
             f"state_dir: {directory / 'state'}",
             "probe:", "  request_timeout: 5s", "  timeout: 20s"]
    if endpoint:
        token_file = directory / "token"
        token_file.write_text(token + "\n")
        token_file.chmod(0o600)
        lines += ["report:", f"  endpoint: {endpoint}", f"  token_file: {token_file}",
                  "  timeout: 10s"]
        if ca:
            lines.append(f"  ca_file: {ca}")
    path = directory / "agent.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def dry_run_report(directory, base_url, root=None):
    """A report made by the real agent (`run --dry-run`, nothing sent)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    config = agent_config(directory, base_url=base_url, root=root)
    result = harness.run_agent("--config", config, "run", "--dry-run", timeout=RUN_TIMEOUT)
    if result.returncode != 0:
        raise AssertionError(f"run --dry-run failed\n{result}")
    return json.loads(result.out)


def fresh(report, **changes):
    """A copy of `report` with a new report_id and `changes` applied to the top level."""
    out = copy.deepcopy(report)
    out["report_id"] = str(uuid.uuid4())
    out.update(changes)
    return out


def status_json(config):
    return json.loads((Path(config).parent / "state" / "status.json").read_text())


def mirror_entry(col, name, ca=None):
    doc = col.json("/api/v1/mirrors", ca=ca)
    found = [m for m in doc["mirrors"] if m["name"] == name]
    if len(found) != 1:
        raise AssertionError(f"mirror {name!r} {len(found)} times in /api/v1/mirrors: {doc}")
    return found[0]


def webseeds(col, info_hash, ca=None):
    return col.json(f"/api/v1/torrents/{info_hash}/webseeds", ca=ca)


def metric(text, name):
    """The value of one sample `name` (with its labels) of a Prometheus text exposition."""
    m = re.search(r"^" + re.escape(name) + r" (\S+)$", text, re.M)
    if not m:
        raise AssertionError(f"no sample {name} in\n{text}")
    return float(m.group(1))


def raw_exchange(port, head, chunks=(), limit=1 << 20):
    """Sends the request `head` on a plain socket, then `chunks` (bytes, one after another)
    until the server answers or closes, and returns (answer bytes, body bytes sent). Stops
    sending as soon as the socket is readable; never waits longer than SOCKET_TIMEOUT."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=SOCKET_TIMEOUT)
    sent = 0
    answer = b""
    try:
        sock.sendall(head)
        for chunk in chunks:
            readable, _, _ = select.select([sock], [], [], 0.005)
            if readable or sent >= limit:
                break
            try:
                sock.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(chunk)
        deadline = time.monotonic() + SOCKET_TIMEOUT
        while time.monotonic() < deadline:
            try:
                data = sock.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                break
            if not data:
                break
            answer += data
            if b"\r\n\r\n" in answer:
                head_end = answer.index(b"\r\n\r\n") + 4
                m = re.search(rb"(?i)\r\ncontent-length: *(\d+)", answer[:head_end])
                if m and len(answer) - head_end >= int(m.group(1)):
                    break
    finally:
        sock.close()
    return answer, sent


class CollectorTestCase(harness.TreeTestCase):
    def assertError(self, answer, status, expected_status, pattern=None):
        """A JSON {"error": ...} answer with `expected_status` (and a message matching)."""
        self.assertEqual(status, expected_status, answer)
        self.assertIsInstance(answer.get("error"), str, answer)
        if pattern:
            self.assertRegex(answer["error"], pattern)

    def assertAlive(self, col, ca=None):
        self.assertIsNone(col.proc.poll(), f"the collector died\n{col.log_text()}")
        status, _, _ = col.get("/metrics", ca=ca)
        self.assertEqual(status, 200)



class StartupErrorTest(CollectorTestCase):
    """What an operator gets wrong when setting the collector up: one clear line, exit 2, or
    a warning and the rest served."""

    def test_bad_config_missing_certificate_and_unusable_database(self):
        bad = self.tmp / "bad.yaml"
        bad.write_text(f"torrents: {SHARED.cdir}\nstale_after: soon\n")
        def collector(*args):
            return subprocess.run([str(collector_path()), *map(str, args)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  timeout=30)

        r = collector("--config", bad, "mirror", "list")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn(f"{bad}:2:14: 'stale_after' must be a positive duration", r.stderr)
        nocert = self.tmp / "nocert.yaml"
        nocert.write_text(f"torrents: {SHARED.cdir}\ndatabase: {self.tmp / 'db.sqlite'}\n"
                          f"listen: 127.0.0.1:0\ntls:\n  cert: {self.tmp / 'missing.pem'}\n"
                          f"  key: {SHARED.key}\n")
        r = collector("--config", nocert, "serve")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn(f"{self.tmp / 'missing.pem'}: cannot load the certificate", r.stderr)
        blocked = self.tmp / "blocked"
        blocked.write_text("a file where the database directory should be")
        nodb = self.tmp / "nodb.yaml"
        nodb.write_text(f"torrents: {SHARED.cdir}\ndatabase: {blocked / 'db.sqlite'}\n")
        r = collector("--config", nodb, "mirror", "list")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn(f"database {blocked}: not a directory", r.stderr)

    def test_truncated_torrent_in_the_catalog_is_skipped_with_a_warning(self):
        catalog = self.tmp / "catalog"
        catalog.mkdir()
        name = SHARED.names[0]
        whole = (SHARED.tdir / f"{name}.torrent").read_bytes()
        (catalog / f"{name}.torrent").write_bytes(whole)
        (catalog / "truncated.torrent").write_bytes(whole[: len(whole) // 2])
        with Collector(self.tmp, catalog, spot_check=False) as col:
            metrics = col.get("/metrics")[2].decode()
            self.assertIn("webseed_collector_torrents 1\n", metrics)
            self.assertRegex(col.log_text(), r"warning: skipped .*truncated\.torrent")
            status, _, _ = col.get(f"/api/v1/torrents/{SHARED.hashes[name]}/webseeds")
            self.assertEqual(status, 200)

# --- 1. the API's answers ------------------------------------------------------------------------


class ApiTest(CollectorTestCase):
    """POST /api/v1/reports and the GET endpoints, one collector (plain HTTP, max_body 64 KiB,
    spot checks off) for the class; each test registers the mirrors it changes."""

    @classmethod
    def setUpClass(cls):
        cls.work = harness.make_tmpdir()
        cls.report = dry_run_report(cls.work / "agent", UNREACHABLE)
        cls.col = Collector(cls.work, SHARED.tdir, spot_check=False,
                            extra_config=f"max_body: {MAX_BODY}\n")
        cls.col.start()
        cls.token = cls.col.add_mirror(MIRROR, UNREACHABLE)

    @classmethod
    def tearDownClass(cls):
        cls.col.stop()
        harness.remove_tree(cls.work)

    def tearDown(self):
        self.assertAlive(self.col)
        super().tearDown()

    def post(self, report, token=None, **kw):
        return self.col.post_report(report, token or self.token, **kw)

    def test_report_shape_from_the_agent(self):
        self.assertEqual(self.report["kind"], "status")
        self.assertEqual(self.report["base_url"], UNREACHABLE)
        self.assertEqual(sorted(t["name"] for t in self.report["torrents"]), SHARED.names)

    def test_valid_report_accepted_then_duplicate(self):
        metrics = self.col.get("/metrics")[2].decode()
        before = {o: metric(metrics, f'webseed_collector_reports_total{{outcome="{o}"}}')
                  for o in ("stored", "duplicate")}
        in_db = metric(metrics, "webseed_collector_reports_stored")
        report = fresh(self.report)
        status, answer = self.post(report)
        self.assertEqual((status, answer), (202, {"status": "accepted",
                                                  "report_id": report["report_id"]}))
        status, answer = self.post(report)
        self.assertEqual((status, answer), (200, {"status": "duplicate",
                                                  "report_id": report["report_id"]}))
        doc = self.col.json("/api/v1/mirrors")
        self.assertEqual(doc["version"], 1)
        self.assertEqual([m["name"] for m in doc["mirrors"]].count(MIRROR), 1)
        m = mirror_entry(self.col, MIRROR)
        self.assertEqual(m["last_report_id"], report["report_id"])
        self.assertEqual(m["base_url"], UNREACHABLE)
        self.assertEqual(m["sync_state"], "unknown")
        # The agent's report says every torrent is not ready (nothing serves port 9).
        self.assertEqual(m["counts"], {"not-ready": len(SHARED.names)})
        for name, h in SHARED.hashes.items():
            self.assertEqual(m["torrents"][h]["state"], "not-ready")
            self.assertIn("http-unreachable", m["torrents"][h]["reason"])
        metrics = self.col.get("/metrics")[2].decode()
        self.assertEqual(metric(metrics, 'webseed_collector_reports_total{outcome="stored"}'),
                         before["stored"] + 1)
        self.assertEqual(metric(metrics, 'webseed_collector_reports_total{outcome="duplicate"}'),
                         before["duplicate"] + 1)
        self.assertEqual(metric(metrics, "webseed_collector_reports_stored"), in_db + 1,
                         "the report is in the database once")

    def test_missing_or_malformed_authorization_is_401(self):
        body = json.dumps(fresh(self.report)).encode()
        for auth in (None, f"Basic {self.token}", "Bearer", "Bearer ", self.token,
                     "Bearer not-a-token-of-anyone"):
            headers = {"Content-Type": "application/json"}
            if auth is not None:
                headers["Authorization"] = auth
            status, _, answer = self.col.request("POST", "/api/v1/reports", body=body,
                                                 headers=headers)
            with self.subTest(auth=auth):
                self.assertError(json.loads(answer), status, 401)
                self.assertNotIn(self.token, answer.decode())

    def test_disabled_mirror_is_401_until_enabled(self):
        token = self.col.add_mirror("disabled.example.org", UNREACHABLE)
        mine = fresh(self.report, mirror="disabled.example.org")
        self.assertEqual(self.post(fresh(mine), token)[0], 202)
        self.col.cli("mirror", "disable", "disabled.example.org", check=True)
        status, answer = self.post(fresh(mine), token)
        self.assertError(answer, status, 401, "disabled")
        m = mirror_entry(self.col, "disabled.example.org")
        self.assertTrue(m["disabled"])
        self.assertEqual(set(c["state"] for c in m["torrents"].values()), {"off"})
        self.col.cli("mirror", "enable", "disabled.example.org", check=True)
        self.assertEqual(self.post(fresh(mine), token)[0], 202)
        self.assertFalse(mirror_entry(self.col, "disabled.example.org")["disabled"])

    def test_rotate_token(self):
        old = self.col.add_mirror("rotate.example.org", UNREACHABLE)
        mine = fresh(self.report, mirror="rotate.example.org")
        self.assertEqual(self.post(fresh(mine), old)[0], 202)
        new = self.col.cli("mirror", "rotate-token", "rotate.example.org",
                           check=True).stdout.strip()
        self.assertNotEqual(new, old)
        status, answer = self.post(fresh(mine), old)
        self.assertError(answer, status, 401)
        report = fresh(mine)
        self.assertEqual(self.post(report, new)[0], 202)
        self.assertEqual(mirror_entry(self.col, "rotate.example.org")["last_report_id"],
                         report["report_id"])

    def test_malformed_json_is_400_naming_the_byte(self):
        # The byte is counted from 1 (nlohmann-json's parse_error::byte): the offending
        # character, or length + 1 for a body that ends too early.
        text = json.dumps(fresh(self.report))
        cases = [(text[:50].encode(), 51), (b'{"a": ', 7), (b"", None),
                 (text.encode() + b"}", len(text) + 1)]
        for body, byte in cases:
            with self.subTest(body=body[:20]):
                status, answer = self.post(body, idempotency_key="")
                self.assertError(answer, status, 400, r"^not JSON: byte \d+")
                if byte:
                    self.assertRegex(answer["error"], rf"^not JSON: byte {byte}:")

    def test_malformed_json_with_non_ascii_bytes_is_400_not_500(self):
        # The parser's message quotes the byte it stopped at; a lone byte of a UTF-8
        # sequence (or invalid UTF-8) must not turn the 400 into a 500.
        for body, byte in ((b'{"a": \xc3\xa9}', 7), (b"\xff\xfe{}", 1),
                           (b'{"a": "\xff"}', None), (b'{"a": "caf\xc3', None)):
            with self.subTest(body=body):
                status, answer = self.post(body, idempotency_key="")
                self.assertError(answer, status, 400, r"^not JSON: byte \d+")
                if byte:
                    self.assertRegex(answer["error"], rf"^not JSON: byte {byte}:")
                # The answer is valid UTF-8 JSON (post_report parsed it).
                self.assertNotIn("raw", answer)

    def test_schema_invalid_report_is_400_naming_the_path(self):
        before = mirror_entry(self.col, MIRROR)["last_report_id"]
        cases = []
        bad = fresh(self.report)
        bad["torrents"][0]["info_hash_v1"] = "XYZ" + bad["torrents"][0]["info_hash_v1"][3:]
        cases.append((bad, r"^not a valid report.*: /torrents/0/info_hash_v1: .*pattern"))
        bad = fresh(self.report)
        bad["torrents"][1]["ready"] = "yes"
        cases.append((bad, r": /torrents/1/ready: "))
        bad = fresh(self.report, kind="delete-everything")
        cases.append((bad, r": /kind: "))
        bad = fresh(self.report)
        bad["sync"]["rsync_exit"] = 999
        cases.append((bad, r": /sync/rsync_exit: "))
        bad = fresh(self.report)
        del bad["judged"]
        cases.append((bad, r"^not a valid report"))
        for report, pattern in cases:
            with self.subTest(pattern=pattern):
                status, answer = self.post(report)
                self.assertError(answer, status, 400, pattern)
        self.assertEqual(mirror_entry(self.col, MIRROR)["last_report_id"], before,
                         "a refused report changes nothing")

    def test_base_url_not_the_registered_one_is_400(self):
        for other in ("http://127.0.0.1:9/other/", "http://127.0.0.1:9",
                      "https://127.0.0.1:9/"):
            with self.subTest(base_url=other):
                status, answer = self.post(fresh(self.report, base_url=other))
                self.assertError(answer, status, 400, "base_url")
                self.assertIn(other, answer["error"])

    def test_idempotency_key_not_the_report_id_is_400(self):
        status, answer = self.post(fresh(self.report), idempotency_key=str(uuid.uuid4()))
        self.assertError(answer, status, 400, "Idempotency-Key")
        # Without the header the report is taken.
        self.assertEqual(self.post(json.dumps(fresh(self.report)).encode(),
                                   idempotency_key="")[0], 202)

    def test_content_type_not_json_is_415(self):
        for content_type in ("text/plain", "application/x-www-form-urlencoded", ""):
            with self.subTest(content_type=content_type):
                status, answer = self.post(fresh(self.report), content_type=content_type)
                self.assertError(answer, status, 415, "application/json")
        status, answer = self.post(fresh(self.report),
                                   content_type="application/json; charset=utf-8")
        self.assertEqual(status, 202, answer)

    def _auth_head(self, extra):
        return (b"POST /api/v1/reports HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Authorization: Bearer " + self.token.encode() + b"\r\n"
                b"Content-Type: application/json\r\n" + extra + b"\r\n")

    def test_body_over_limit_by_content_length_is_413_before_reading_it(self):
        # The headers announce 10 MB; no body byte is sent: the answer can only come from
        # the Content-Length (api.h: "413 before reading more when Content-Length says so").
        answer, _ = raw_exchange(self.col.port, self._auth_head(b"Content-Length: 10000000\r\n"))
        self.assertRegex(answer, rb"^HTTP/1\.1 413 ",
                         f"answer to Content-Length 10000000 (max_body {MAX_BODY}): {answer!r}")
        self.assertIn(b'"error"', answer)

    def test_body_over_limit_chunked_is_413_as_soon_as_passed(self):
        chunk = b"1000\r\n" + b" " * 4096 + b"\r\n"
        answer, sent = raw_exchange(self.col.port,
                                    self._auth_head(b"Transfer-Encoding: chunked\r\n"),
                                    chunks=[chunk] * 256)
        self.assertRegex(answer, rb"^HTTP/1\.1 413 ", answer)
        self.assertIn(b'"error"', answer)
        self.assertLess(sent, 256 * 4096, "answered before the whole 1 MiB was sent")
        self.assertGreater(sent, MAX_BODY - 4096)

    def test_body_within_limit_chunked_is_taken(self):
        import http.client
        report = fresh(self.report)
        body = json.dumps(report).encode()
        conn = http.client.HTTPConnection("127.0.0.1", self.col.port, timeout=SOCKET_TIMEOUT)
        try:
            conn.request("POST", "/api/v1/reports",
                         body=(body[i:i + 1000] for i in range(0, len(body), 1000)),
                         headers={"Authorization": f"Bearer {self.token}",
                                  "Content-Type": "application/json",
                                  "Idempotency-Key": report["report_id"]},
                         encode_chunked=True)
            res = conn.getresponse()
            self.assertEqual(res.status, 202, res.read())
        finally:
            conn.close()

    def test_deeply_nested_json_is_400_without_a_crash(self):
        bodies = {
            "arrays": b"[" * 60000,
            "objects": b'{"a":' * 12000,
            "closers first": b"]" * 30000 + b"[" * 30000,
        }
        deep = fresh(self.report)
        deep["extra"] = json.loads("[" * 40 + "]" * 40)
        bodies["valid report with a deep unknown field"] = json.dumps(deep).encode()
        for what, body in bodies.items():
            with self.subTest(what):
                self.assertLessEqual(len(body), MAX_BODY)
                status, answer = self.post(body, idempotency_key="")
                self.assertError(answer, status, 400)
                self.assertAlive(self.col)
        # Unknown fields of a sane depth are ignored (docs/report.md).
        ok = fresh(self.report)
        ok["extra"] = json.loads("[" * 20 + "]" * 20)
        self.assertEqual(self.post(ok)[0], 202)

    def test_methods_and_paths(self):
        status, headers, body = self.col.get("/api/v1/reports")
        self.assertEqual(status, 405)
        self.assertEqual(headers.get("allow"), "POST")
        self.assertIn("error", json.loads(body))
        for method in ("PUT", "DELETE", "POST"):
            status, headers, body = self.col.request(method, "/api/v1/mirrors", body=b"{}")
            self.assertEqual(status, 405, method)
            self.assertIn("GET", headers.get("allow", ""))
        for path in ("/nope", "/api/v1", "/api/v1/torrents/", "/api/v1/reports/x",
                     "/../etc/passwd"):
            status, _, body = self.col.get(path)
            with self.subTest(path=path):
                self.assertEqual(status, 404, body)
                self.assertIn("error", json.loads(body))

    def test_webseeds_info_hash_checked(self):
        known = SHARED.hashes[SHARED.names[0]]
        for bad in ("xyz", known[:-1], known + "0", "g" * 40, "G" * 40, "0" * 63,
                    "%30" * 40):
            status, _, body = self.col.get(f"/api/v1/torrents/{bad}/webseeds")
            with self.subTest(bad=bad):
                self.assertEqual(status, 400, body)
                self.assertIn("error", json.loads(body))
        for unknown in ("0" * 40, "f" * 64):
            status, _, body = self.col.get(f"/api/v1/torrents/{unknown}/webseeds")
            self.assertEqual(status, 404, body)
        doc = webseeds(self.col, known)
        self.assertEqual((doc["info_hash"], doc["name"]), (known, SHARED.names[0]))
        self.assertEqual(doc["webseeds"], [], "every report says not ready")
        # an upper-case info-hash is the same torrent (issue 15; 400 before)
        self.assertEqual(webseeds(self.col, known.upper()), doc)

    def test_head_answers_without_body(self):
        # RFC 9110 9.3.2: a HEAD answer has the GET answer's headers and no content; a body
        # after it is read by a keep-alive client as the start of the next answer.
        for path in ("/metrics", "/api/v1/mirrors", "/"):
            answer, _ = raw_exchange(self.col.port, f"HEAD {path} HTTP/1.1\r\nHost: x\r\n"
                                                    "Connection: close\r\n\r\n".encode())
            with self.subTest(path=path):
                self.assertRegex(answer, rb"^HTTP/1\.1 200 ")
                head, _, rest = answer.partition(b"\r\n\r\n")
                self.assertEqual(rest, b"", f"HEAD {path} sent {len(rest)} body bytes")


# --- 2. the real loop over HTTPS ------------------------------------------------------------------


def mirror_doc(col, ca):
    return col.json("/api/v1/mirrors", ca=ca)


class LoopTest(CollectorTestCase):
    """nginx serves the mirror; the agent's `run` reports to the collector over HTTPS (its CA
    given as report.ca_file); the collector (spot checks off) lists the mirror."""

    @classmethod
    def setUpClass(cls):
        cls.work = harness.make_tmpdir()
        cls.ca = SHARED.ca.cert
        cls.nginx = webservers.Nginx(SHARED.root)
        cls.nginx.start()
        cls.col = None
        try:
            cls.base = cls.nginx.base_url          # "http://127.0.0.1:PORT/"
            cls.col = Collector(cls.work, SHARED.cdir, tls=(SHARED.cert, SHARED.key),
                                spot_check=False)
            cls.col.start()
            token = cls.col.add_mirror(MIRROR, cls.base)
            cls.odd_token = cls.col.add_mirror(ODD_MIRROR, UNREACHABLE)
            agent_dir = cls.work / "agent"
            agent_dir.mkdir()
            cls.config = agent_config(agent_dir, base_url=cls.base, endpoint=cls.col.endpoint,
                                      token=token, ca=cls.ca)
            cls.result = harness.run_agent("--config", cls.config, "run", "--rsync-exit", "0",
                                           timeout=RUN_TIMEOUT)
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.col is not None:
            cls.col.stop()
        cls.nginx.stop()
        harness.remove_tree(cls.work)

    def test_run_delivers_and_the_mirror_is_listed(self):
        self.assertEqual(self.result.returncode, 0, str(self.result))
        status = status_json(self.config)
        self.assertEqual(status["outcome"], "ready", status)
        self.assertEqual(status["report"]["delivery"], "delivered", status["report"])
        expected = self.base + SYMLINKS + "/"
        self.assertTrue(expected.startswith("http://127.0.0.1:"))
        for name, h in SHARED.hashes.items():
            with self.subTest(name=name):
                doc = webseeds(self.col, h, ca=self.ca)
                self.assertEqual(doc, {"info_hash": h, "name": name, "webseeds": [expected],
                                       "mirrors": [MIRROR]})
        doc = webseeds(self.col, SHARED.odd_hash, ca=self.ca)
        self.assertEqual((doc["name"], doc["webseeds"]), (ODD_TORRENT, []))

    def test_mirrors_metrics_and_dashboard_agree(self):
        n = len(SHARED.names)
        report_id = status_json(self.config)["report"]["report_id"]
        m = mirror_entry(self.col, MIRROR, ca=self.ca)
        self.assertEqual((m["base_url"], m["disabled"], m["opted_in"], m["stale"]),
                         (self.base, False, True, False))
        self.assertEqual(m["last_report_id"], report_id)
        self.assertEqual(m["sync_state"], "complete")
        self.assertIsInstance(m["judged_at"], int)
        self.assertEqual(m["counts"], {"listed": n, "unknown": 1})
        self.assertEqual({h: c["state"] for h, c in m["torrents"].items()},
                         {**{h: "listed" for h in SHARED.hashes.values()},
                          SHARED.odd_hash: "unknown"})
        # Per-client usability per cell, from the agent's report (issue 12).
        for h in SHARED.hashes.values():
            clients = m["torrents"][h]["clients"]
            self.assertEqual(set(clients), {"libtorrent", "transmission", "aria2"}, clients)
            self.assertTrue(clients["libtorrent"])
        self.assertIsInstance(mirror_doc(self.col, self.ca)["torrent_notes"], dict)
        odd = mirror_entry(self.col, ODD_MIRROR, ca=self.ca)
        self.assertEqual(odd["counts"], {"stale": n + 1})
        self.assertIsNone(odd["last_report_at"])

        status, headers, body = self.col.get("/metrics", ca=self.ca)
        self.assertEqual(status, 200)
        self.assertTrue(headers["content-type"].startswith("text/plain"))
        text = body.decode()
        self.assertEqual(metric(text, "webseed_collector_mirrors"), 2)
        self.assertEqual(metric(text, "webseed_collector_torrents"), n + 1)
        for state, count in (("listed", n), ("unknown", 1), ("stale", n + 1), ("off", 0),
                             ("not-ready", 0), ("pending", 0), ("spot-failed", 0)):
            self.assertEqual(metric(text, f'webseed_collector_cells{{state="{state}"}}'), count,
                             state)
        for name, h in SHARED.hashes.items():
            self.assertEqual(metric(text, f'webseed_collector_listed_mirrors{{info_hash="{h}",'
                                          f'name="{name}"}}'), 1)
        self.assertRegex(text, rf'webseed_collector_listed_mirrors\{{info_hash="'
                               rf'{SHARED.odd_hash}",name="[^"\n]*"\}} 0\n')
        self.assertGreaterEqual(metric(text, "webseed_collector_reports_stored"), 1)

        status, headers, body = self.col.get("/", ca=self.ca)
        self.assertEqual(status, 200)
        self.assertTrue(headers["content-type"].startswith("text/html"))
        html = body.decode()
        self.assertIn(MIRROR, html)
        for name in SHARED.names:
            self.assertIn(f">{name}<", html)
        self.assertIn("&lt;i&gt;evil&lt;/i&gt; &amp; &#39;co&#39;", html)
        self.assertIn("R&amp;D &lt;notes&gt; &quot;x&quot;.txt", html)
        self.assertNotIn("<i>evil", html)
        self.assertNotIn("<notes>", html)
        # The overview: one summary row per mirror (issue 14), the cells one click away.
        row = re.search(r'<tr data-mirror="' + re.escape(MIRROR) + r'" data-status="fresh">.*?'
                        r'</tr>', html, re.S)
        self.assertIsNotNone(row, html)
        self.assertIn(f'<td class="n listed">{n}</td>', row.group(0))
        self.assertIn('<td class="n unknown">1</td>', row.group(0))
        self.assertRegex(html, r'data-status="never reported"><th><a href="/\?mirror=%3Ci%3Eevil')
        status, _, body = self.col.get("/?mirror=" + urllib.parse.quote(MIRROR, safe=""),
                                       ca=self.ca)
        self.assertEqual(status, 200)
        cells = body.decode()
        self.assertEqual(len(re.findall(r'class="c listed"', cells)), n, cells)
        self.assertEqual(len(re.findall(r'class="c unknown"', cells)), 1, cells)

    def test_seed_torrents(self):
        out = self.tmp / "seeded"
        result = self.col.cli("seed-torrents", "--in", SHARED.cdir, "--out", out)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn(f"{len(SHARED.names) + 1} torrents written", result.stdout)
        import libtorrent as lt  # python3-libtorrent
        expected = self.base + SYMLINKS + "/"
        files = sorted(p.name for p in SHARED.cdir.iterdir())
        self.assertEqual(sorted(p.name for p in out.iterdir()), files)
        for file in files:
            with self.subTest(file=file):
                before = (SHARED.cdir / file).read_bytes()
                after = (out / file).read_bytes()
                spans_before = T.top_level_spans(before)
                spans_after = T.top_level_spans(after)
                info = before[slice(*spans_before[b"info"])]
                self.assertEqual(after[slice(*spans_after[b"info"])], info,
                                 "the info dictionary's bytes are untouched")
                for key in spans_before:
                    if key != b"url-list":
                        self.assertEqual(after[slice(*spans_after[key])],
                                         before[slice(*spans_before[key])], key)
                keys = list(spans_after)
                self.assertEqual(keys, sorted(keys), "keys stay sorted")
                v1 = T.info_hashes(before)[0]
                ti = lt.torrent_info(str(out / file))
                self.assertEqual(str(ti.info_hash()), v1)
                self.assertEqual(str(ti.info_hashes().v1), v1)
                seeds = [w["url"] for w in ti.web_seeds()]
                decoded = T.bdecode(after)
                if file == SHARED.odd_torrent.name:
                    self.assertNotIn(b"url-list", decoded, "no mirror is listed for it")
                    self.assertEqual(seeds, [])
                else:
                    self.assertEqual(decoded[b"url-list"], [expected.encode()])
                    self.assertEqual(seeds, [expected])
                    self.assertEqual(set(spans_after) - set(spans_before), {b"url-list"})


# --- 3. listing policies --------------------------------------------------------------------------


class PolicyTest(CollectorTestCase):
    """Each test starts its own collector (HTTPS, spot checks off) on a fresh database; nginx
    serves the mirror for the whole class."""

    @classmethod
    def setUpClass(cls):
        cls.ca = SHARED.ca.cert
        cls.nginx = webservers.Nginx(SHARED.root)
        cls.nginx.start()
        cls.base = cls.nginx.base_url

    @classmethod
    def tearDownClass(cls):
        cls.nginx.stop()

    def start_collector(self, **kw):
        col = Collector(self.tmp, SHARED.tdir, tls=(SHARED.cert, SHARED.key), spot_check=False,
                        **kw)
        col.start()
        self.addCleanup(col.stop)
        return col

    def agent(self, col, token, root=None, name="agent", mirror_name=MIRROR):
        directory = self.tmp / name
        directory.mkdir(exist_ok=True)
        return agent_config(directory, base_url=self.base, root=root, endpoint=col.endpoint,
                            token=token, ca=self.ca, name=mirror_name)

    def run_agent(self, config, *args):
        result = harness.run_agent("--config", config, *args, timeout=RUN_TIMEOUT)
        self.assertIn(result.returncode, (0, 1), str(result))
        return result

    def listed_for(self, col):
        """{torrent name: the mirrors listed for it}."""
        return {name: webseeds(col, h, ca=self.ca)["mirrors"]
                for name, h in SHARED.hashes.items()}

    def assertDelivered(self, config):
        report = status_json(config)["report"]
        self.assertEqual(report["delivery"], "delivered", report)
        return report["report_id"]

    def test_failed_sync_keeps_the_previous_claims(self):
        col = self.start_collector()
        token = col.add_mirror(MIRROR, self.base)
        config = self.agent(col, token)
        self.run_agent(config, "run", "--rsync-exit", "0")
        self.assertDelivered(config)
        everyone = {name: [MIRROR] for name in SHARED.names}
        self.assertEqual(self.listed_for(col), everyone)
        judged_at = mirror_entry(col, MIRROR, ca=self.ca)["judged_at"]
        time.sleep(1.1)  # a later judged_at would show
        for code in ("12", "30"):
            self.run_agent(config, "run", "--rsync-exit", code)
            report_id = self.assertDelivered(config)
            m = mirror_entry(col, MIRROR, ca=self.ca)
            self.assertEqual((m["last_report_id"], m["sync_state"]), (report_id, "failed"))
            self.assertEqual(m["judged_at"], judged_at, "an unjudged report is not a verdict")
            self.assertEqual(m["counts"], {"listed": len(SHARED.names)})
            self.assertEqual(self.listed_for(col), everyone)

    def test_withdraw_removes_the_mirror_from_every_list_at_once(self):
        col = self.start_collector()
        token = col.add_mirror(MIRROR, self.base)
        other = col.add_mirror("other.example.org", self.base)
        config = self.agent(col, token)
        other_config = self.agent(col, other, name="other", mirror_name="other.example.org")
        self.run_agent(config, "run")
        self.run_agent(other_config, "run")
        self.assertDelivered(config)
        self.assertDelivered(other_config)
        both = {name: [MIRROR, "other.example.org"] for name in SHARED.names}
        self.assertEqual(self.listed_for(col), both)

        result = self.run_agent(config, "withdraw")
        self.assertEqual(result.returncode, 0, str(result))
        self.assertEqual(self.listed_for(col), {name: ["other.example.org"]
                                                for name in SHARED.names})
        m = mirror_entry(col, MIRROR, ca=self.ca)
        self.assertFalse(m["opted_in"])
        self.assertEqual(m["counts"], {"off": len(SHARED.names)})
        self.assertIn("withdrawn", m["torrents"][SHARED.hashes[SHARED.names[0]]]["reason"])
        text = col.get("/metrics", ca=self.ca)[2].decode()
        self.assertEqual(metric(text, 'webseed_collector_cells{state="listed"}'),
                         len(SHARED.names))
        # Runs while withdrawn report opted_in false: still not listed.
        self.run_agent(config, "run")
        self.assertDelivered(config)
        self.assertFalse(mirror_entry(col, MIRROR, ca=self.ca)["opted_in"])
        self.assertEqual(self.listed_for(col)[SHARED.names[0]], ["other.example.org"])
        # Cancelled: the next run lists it again.
        self.assertEqual(self.run_agent(config, "withdraw", "--cancel").returncode, 0)
        self.run_agent(config, "run")
        self.assertEqual(self.listed_for(col), both)

    def test_stale_mirror_is_not_listed(self):
        col = self.start_collector(stale_after="2s")
        token = col.add_mirror(MIRROR, self.base)
        report = dry_run_report(self.tmp / "dry", self.base)
        self.assertTrue(report["ready"], report)
        status, answer = col.post_report(report, token, ca=self.ca)
        posted = time.monotonic()
        self.assertEqual(status, 202, answer)
        m = mirror_entry(col, MIRROR, ca=self.ca)
        if time.monotonic() - posted < 1.0:  # surely within stale_after
            self.assertFalse(m["stale"])
            self.assertEqual(m["counts"], {"listed": len(SHARED.names)})
        time.sleep(max(0.0, posted + 3.2 - time.monotonic()))
        m = mirror_entry(col, MIRROR, ca=self.ca)
        self.assertTrue(m["stale"])
        self.assertEqual(m["counts"], {"stale": len(SHARED.names)})
        self.assertEqual(self.listed_for(col), {name: [] for name in SHARED.names})
        text = col.get("/metrics", ca=self.ca)[2].decode()
        self.assertEqual(metric(text, 'webseed_collector_cells{state="listed"}'), 0)
        self.assertEqual(metric(text, 'webseed_collector_cells{state="stale"}'),
                         len(SHARED.names))
        # A new judged report makes it fresh again.
        status, _ = col.post_report(fresh(report), token, ca=self.ca)
        self.assertEqual(status, 202)
        self.assertEqual(mirror_entry(col, MIRROR, ca=self.ca)["counts"],
                         {"listed": len(SHARED.names)})

    def test_torrent_not_ready_is_not_listed_and_says_why(self):
        col = self.start_collector()
        # A copy of the mirror where one link of one entry dangles.
        root = self.tmp / "broken"
        harness.run_rsync(harness.contents(SHARED.root), root, "-a")
        broken = "stage3-x86-2007.0"
        link = root / SYMLINKS / broken / "stage3-x86-2007.0.tar.bz2.DIGESTS"
        link.unlink()
        os.symlink("../../../releases/x86/2007.0/stages/missing", link)
        token = col.add_mirror(MIRROR, self.base)
        config = self.agent(col, token, root=root)
        self.run_agent(config, "run")
        self.assertDelivered(config)
        listed = self.listed_for(col)
        self.assertEqual(listed, {name: ([] if name == broken else [MIRROR])
                                  for name in SHARED.names})
        m = mirror_entry(col, MIRROR, ca=self.ca)
        cell = m["torrents"][SHARED.hashes[broken]]
        self.assertEqual(cell["state"], "not-ready")
        self.assertIn("dangling", cell["reason"])
        self.assertIn(f"{SYMLINKS}/{broken}/stage3-x86-2007.0.tar.bz2.DIGESTS", cell["reason"])
        self.assertEqual(m["counts"], {"listed": len(SHARED.names) - 1, "not-ready": 1})
        html = col.get("/", ca=self.ca)[2].decode()
        self.assertIn("not-ready", html)
        self.assertIn("dangling", html)


if __name__ == "__main__":
    unittest.main()
