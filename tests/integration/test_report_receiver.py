"""The report endpoint fixture itself (tests/fixtures/report_receiver.py and
report_receiver_server.py), driven with curl: recording (headers, body, JSON, client CN,
before the answer), the scripted answers (status, headers, delay, close, switching between
runs), bodies (Content-Length, chunked, the 16 MiB limit), TLS (server verification, optional
and required client certificates), robustness against clients that give up half-way, and
that nothing outlives a receiver (stop, max lifetime, the test process killed)."""

import os
import secrets
import socket
import ssl
import subprocess
import sys
import time
import unittest
from pathlib import Path
from typing import NamedTuple, Optional

import harness
from fixtures import report_receiver as R
from fixtures import tls
from fixtures import webservers as W
from fixtures.report_receiver import ReportReceiver

CURL = "/usr/bin/curl"
CURL_TIMEOUT = 15.0
TOKEN = "Bearer 0123456789abcdef"
REPORT = b'{"version":1,"mirror":"mirror.example.org","ready":true,"entries":["a","b"]}'


class Curl(NamedTuple):
    returncode: int
    status: int                 # 0 when there was no answer
    headers: dict[str, str]     # of the final answer, lower-case names
    body: bytes
    stderr: str
    connects: int               # new connections made


def curl(*args: str, timeout: float = CURL_TIMEOUT, tmp: Path) -> Curl:
    """curl -sS ARGS (no retries, no proxy), the final answer's headers and body."""
    head, body = tmp / f"curl-{secrets.token_hex(4)}.head", tmp / f"curl-{secrets.token_hex(4)}"
    argv = [CURL, "-sS", "--noproxy", "*", "--max-time", "10", "-D", str(head), "-o", str(body),
            "-w", "%{http_code} %{num_connects}", *args]
    try:
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"curl did not finish within {timeout}s: {argv}") from None
    code, connects = proc.stdout.decode().split()[-2:]
    headers = {}
    text = head.read_bytes().decode("latin-1") if head.exists() else ""
    blocks = [block for block in text.split("\r\n\r\n") if block.strip()]
    for line in (blocks[-1] if blocks else "").split("\r\n")[1:]:     # the final answer
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    data = body.read_bytes() if body.exists() else b""
    return Curl(proc.returncode, int(code), headers, data,
                proc.stderr.decode("utf-8", "replace"), int(connects))


class ReceiverTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.top = harness.make_tmpdir("webseed-rx-")
        cls.addClassCleanup(harness.remove_tree, cls.top)
        cls.ca = tls.TestCA(cls.top / "ca")
        cls.cert, cls.key = cls.ca.issue("receiver", ["127.0.0.1", "localhost"])
        cls.client_cert, cls.client_key = cls.ca.issue_client("mirror.example.org")
        cls.other_ca = tls.TestCA(cls.top / "other-ca")
        cls.foreign_cert, cls.foreign_key = cls.other_ca.issue_client("mirror.example.org")

    def setUp(self) -> None:
        self.work = harness.make_tmpdir("webseed-rx-test-")
        self.addCleanup(harness.remove_tree, self.work)

    def receiver(self, **kwargs) -> ReportReceiver:
        """A started receiver (TLS with the class's certificate unless tls=False), stopped
        at cleanup."""
        if kwargs.get("tls", True):
            kwargs.setdefault("cert", self.cert)
            kwargs.setdefault("key", self.key)
        rx = ReportReceiver(self.work, **kwargs)
        rx.start()
        self.addCleanup(rx.stop)
        return rx

    def post(self, rx: ReportReceiver, *args: str, data: bytes = REPORT,
             cacert: Optional[Path] = None, url: Optional[str] = None) -> Curl:
        """POST `data` as JSON with the bearer token, trusting the test CA (or `cacert`)."""
        body = self.work / f"body-{secrets.token_hex(4)}"
        body.write_bytes(data)
        tls_args = ["--cacert", str(cacert or self.ca.cert)] if rx.tls else []
        return curl(*tls_args, "-H", f"Authorization: {TOKEN}",
                    "-H", "Content-Type: application/json", "--data-binary", f"@{body}",
                    *args, url or rx.endpoint, tmp=self.work)

    def assertAnswer(self, result: Curl, status: int, rx: ReportReceiver) -> None:
        self.assertEqual((result.returncode, result.status), (0, status),
                         f"{result}\n{rx.log_text()}")

    # --- recording and the default answer

    def test_post_is_recorded_with_headers_body_and_json(self):
        rx = self.receiver()
        self.assertRegex(rx.endpoint, r"^https://127\.0\.0\.1:\d+/api/v1/reports$")
        self.assertEqual(rx.endpoint, rx.base_url + "/api/v1/reports")
        before = time.time()
        result = self.post(rx, "-H", "X-Dup: one", "-H", "X-Dup: two")
        after = time.time()
        self.assertAnswer(result, 202, rx)
        self.assertEqual(result.body, b'{"status":"accepted"}')
        self.assertEqual(result.headers["content-type"], "application/json")
        # recorded before the answer: visible as soon as curl has returned, no waiting
        [got] = rx.received()
        self.assertEqual((got.method, got.path, got.version), ("POST", "/api/v1/reports",
                                                               "HTTP/1.1"))
        self.assertEqual(got.headers["authorization"], TOKEN)
        self.assertEqual(got.headers["content-type"], "application/json")
        self.assertEqual(got.headers["content-length"], str(len(REPORT)))
        self.assertEqual(got.headers["x-dup"], "one, two")
        self.assertIn(("X-Dup", "one"), got.header_list)
        self.assertIn(("X-Dup", "two"), got.header_list)
        self.assertEqual(got.body, REPORT)
        self.assertEqual(got.json["entries"], ["a", "b"])
        self.assertIsNone(got.client_cn)
        self.assertEqual(got.status, 202)
        self.assertTrue(before <= got.arrived <= after, (before, got.arrived, after))
        self.assertEqual(rx.wait_for(1, timeout=1), [got])

    def test_non_json_body_and_plain_http(self):
        rx = self.receiver(tls=False)
        self.assertRegex(rx.endpoint, r"^http://127\.0\.0\.1:\d+/api/v1/reports$")
        self.assertAnswer(self.post(rx, data=b"\xff not json"), 202, rx)
        self.assertAnswer(self.post(rx, data=b'{"x": NaN}'), 202, rx)
        first, second = rx.received()
        self.assertEqual(first.body, b"\xff not json")
        self.assertIsNone(first.json)
        self.assertIsNone(second.json)

    def test_other_methods_and_paths_are_recorded_and_get_405(self):
        rx = self.receiver(responses=[{"status": 401}])
        url = rx.base_url + "/somewhere/else?x=1"
        self.assertAnswer(curl("--cacert", str(self.ca.cert), url, tmp=self.work), 405, rx)
        self.assertAnswer(curl("--cacert", str(self.ca.cert), "-X", "PUT", "--data", "p",
                               rx.endpoint, tmp=self.work), 405, rx)
        self.assertAnswer(curl("--cacert", str(self.ca.cert), "-I", rx.endpoint,
                               tmp=self.work), 405, rx)
        self.assertAnswer(curl("--cacert", str(self.ca.cert), "-X", "FROB", rx.endpoint,
                               tmp=self.work), 405, rx)
        # the script is for POSTs: its first entry is still there, whatever the path
        self.assertAnswer(self.post(rx, url=rx.base_url + "/other"), 401, rx)
        got = [(r.method, r.path, r.body, r.status) for r in rx.received()]
        self.assertEqual(got, [("GET", "/somewhere/else?x=1", b"", 405),
                               ("PUT", "/api/v1/reports", b"p", 405),
                               ("HEAD", "/api/v1/reports", b"", 405),
                               ("FROB", "/api/v1/reports", b"", 405),
                               ("POST", "/other", REPORT, 401)])

    def test_keep_alive_connection_serves_several_requests(self):
        rx = self.receiver()
        cacert = str(self.ca.cert)
        result = curl("--cacert", cacert, "--data-binary", "[1]", rx.endpoint, "-o", os.devnull,
                      "--next", "--cacert", cacert, "--data-binary", "{}", rx.endpoint,
                      "-o", os.devnull, "-w", " %{http_code} %{num_connects}", tmp=self.work)
        self.assertAnswer(result, 202, rx)
        self.assertEqual(result.connects, 0, "the second transfer made no new connection")
        first, second = rx.received()
        self.assertEqual((first.body, second.body), (b"[1]", b"{}"))
        self.assertEqual(first.peer_port, second.peer_port, "one connection, reused")

    # --- scripted answers

    def test_scripted_401_500_then_default_202(self):
        rx = self.receiver(responses=[
            {"status": 401, "headers": {"WWW-Authenticate": "Bearer"},
             "body": '{"error":"bad token"}'},
            {"status": 500, "body": "boom"}])
        first = self.post(rx)
        self.assertAnswer(first, 401, rx)
        self.assertEqual(first.headers["www-authenticate"], "Bearer")
        self.assertEqual(first.body, b'{"error":"bad token"}')
        self.assertNotIn("content-type", first.headers)   # only the headers scripted
        second = self.post(rx)
        self.assertAnswer(second, 500, rx)
        self.assertEqual(second.body, b"boom")
        for _ in range(2):
            self.assertAnswer(self.post(rx), 202, rx)
        self.assertEqual([r.status for r in rx.received()], [401, 500, 202, 202])

    def test_set_responses_switches_between_runs_and_starts_over(self):
        rx = self.receiver()
        self.assertAnswer(self.post(rx), 202, rx)
        rx.set_responses([{"status": 503, "headers": {"Retry-After": "1"}}, {"status": 429}])
        result = self.post(rx)
        self.assertAnswer(result, 503, rx)
        self.assertEqual(result.headers["retry-after"], "1")
        rx.set_responses([{"status": 503}, {"status": 429}])    # the same script: from the top
        self.assertAnswer(self.post(rx), 503, rx)
        self.assertAnswer(self.post(rx), 429, rx)
        rx.set_responses([{"status": 201, "headers": {"Location": "/r/1", "X-Two": ["a", "b"]},
                           "body": "made"}])
        result = self.post(rx)
        self.assertAnswer(result, 201, rx)
        self.assertEqual((result.headers["location"], result.body), ("/r/1", b"made"))
        rx.set_responses(None)
        self.assertAnswer(self.post(rx), 202, rx)
        self.assertEqual([r.status for r in rx.received()], [202, 503, 503, 429, 201, 202])

    def test_malformed_script_is_refused(self):
        for bad in ([{"stauts": 200}], [{"status": "200"}], [{"delay": -1}],
                    [{"headers": {"X": 1}}], [{"headers": {"X": "a\r\nY: b"}}], ["x"]):
            with self.assertRaises(ValueError, msg=repr(bad)):
                ReportReceiver(self.work, cert=self.cert, key=self.key, responses=bad)
        rx = self.receiver()
        with self.assertRaises(ValueError):
            rx.set_responses([{"close": "yes"}])

    def test_delay_holds_up_only_its_own_request(self):
        rx = self.receiver(responses=[{"delay": 2.0, "status": 503}])
        body = self.work / "report.json"
        body.write_bytes(REPORT)
        started = time.monotonic()
        slow = subprocess.Popen([CURL, "-sS", "--max-time", "10", "--cacert", str(self.ca.cert),
                                 "--data-binary", f"@{body}", "-o", os.devnull,
                                 "-w", "%{http_code}", rx.endpoint],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.addCleanup(lambda: slow.poll() is None and slow.kill())
        rx.wait_for(1, timeout=5)                       # recorded before the delay
        fast = self.post(rx)
        self.assertAnswer(fast, 202, rx)
        self.assertLess(time.monotonic() - started, 1.8, "the fast request waited")
        self.assertIsNone(slow.poll(), "the delayed request was answered early")
        out, err = slow.communicate(timeout=10)
        self.assertEqual(out, b"503", err)
        self.assertGreaterEqual(time.monotonic() - started, 2.0)
        self.assertEqual([r.status for r in rx.received()], [503, 202])

    def test_close_drops_the_connection_without_answer(self):
        rx = self.receiver(responses=[{"close": True}, {"close": True, "delay": 0.3}])
        for _ in range(2):
            result = self.post(rx)
            self.assertNotEqual(result.returncode, 0, result)
            self.assertEqual(result.status, 0, result)
        self.assertAnswer(self.post(rx), 202, rx)        # and the server is still there
        self.assertEqual([(r.status, r.body) for r in rx.received()],
                         [(None, REPORT), (None, REPORT), (202, REPORT)])

    # --- bodies

    def test_chunked_body(self):
        rx = self.receiver()
        data = os.urandom(200_000)
        self.assertAnswer(self.post(rx, "-H", "Transfer-Encoding: chunked", data=data), 202, rx)
        [got] = rx.received()
        self.assertEqual(got.headers["transfer-encoding"], "chunked")
        self.assertNotIn("content-length", got.headers)
        self.assertEqual(got.body, data)

    def test_body_limit_is_16_mib(self):
        rx = self.receiver()
        limit = 16 * 1024 * 1024
        exact = os.urandom(1024) * (limit // 1024)
        self.assertAnswer(self.post(rx, data=exact), 202, rx)
        self.assertAnswer(self.post(rx, data=exact + b"x"), 413, rx)   # Expect: 100-continue
        self.assertAnswer(self.post(rx, "-H", "Expect:", data=exact + b"x"), 413, rx)
        self.assertAnswer(self.post(rx), 202, rx)
        first, second, third, fourth = rx.received()
        self.assertEqual(first.body, exact)
        self.assertEqual((second.status, second.body), (413, b""))
        self.assertEqual(second.headers["content-length"], str(limit + 1))
        self.assertEqual(second.headers.get("expect"), "100-continue")
        self.assertEqual((third.status, third.body), (413, b""))
        self.assertNotIn("expect", third.headers)
        self.assertEqual(fourth.body, REPORT)

    def test_chunked_body_over_the_limit(self):
        rx = self.receiver(max_body=1000)
        result = self.post(rx, "-H", "Transfer-Encoding: chunked", data=b"x" * 5000)
        self.assertAnswer(result, 413, rx)
        self.assertEqual([(r.status, r.body) for r in rx.received()], [(413, b"")])

    # --- robustness

    def tls_socket(self, rx: ReportReceiver) -> ssl.SSLSocket:
        context = ssl.create_default_context(cafile=str(self.ca.cert))
        raw = socket.create_connection(("127.0.0.1", rx.port), timeout=5)
        return context.wrap_socket(raw, server_hostname="127.0.0.1")

    def wait_log(self, rx: ReportReceiver, text: str, count: int = 1) -> None:
        deadline = time.monotonic() + 5
        while rx.log_text().count(text) < count:
            self.assertLess(time.monotonic(), deadline, f"{text!r} not logged\n{rx.log_text()}")
            time.sleep(0.02)

    def test_clients_giving_up_half_way_do_not_hurt(self):
        rx = self.receiver()
        with socket.create_connection(("127.0.0.1", rx.port), timeout=5):
            pass                                            # no handshake at all
        with socket.create_connection(("127.0.0.1", rx.port), timeout=5) as s:
            s.sendall(b"GET / HTTP/1.1\r\n\r\n")            # plain HTTP to the TLS port
        with self.tls_socket(rx) as s:                      # half the headers
            s.sendall(b"POST /api/v1/reports HTTP/1.1\r\nHost: x\r\nContent-Le")
        with self.tls_socket(rx) as s:                      # half the body
            s.sendall(b"POST /api/v1/reports HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n"
                      b"\r\n0123456789")
        with self.tls_socket(rx) as s:                      # half a chunked body
            s.sendall(b"POST /api/v1/reports HTTP/1.1\r\nHost: x\r\n"
                      b"Transfer-Encoding: chunked\r\n\r\n10\r\n01234")
        self.wait_log(rx, "incomplete, not recorded", 2)
        self.wait_log(rx, "TLS handshake failed", 2)
        with self.tls_socket(rx) as s:                      # not HTTP: 400, recorded
            s.sendall(b"NONSENSE\r\n\r\n")
            self.assertIn(b" 400 ", s.recv(1000))
        self.assertAnswer(self.post(rx), 202, rx)
        self.assertEqual([r.status for r in rx.received()], [400, 202])
        self.assertIsNone(rx.proc.poll())

    # --- TLS

    def test_untrusted_server_certificate_fails(self):
        rx = self.receiver()
        for args in ([], ["--cacert", str(self.other_ca.cert)]):
            result = curl("--data-binary", "{}", *args, rx.endpoint, tmp=self.work)
            self.assertEqual(result.returncode, 60, result)         # peer certificate
        self.wait_log(rx, "TLS handshake failed", 2)
        self.assertEqual(rx.received(), [])

    def test_optional_client_certificate_is_verified_and_its_cn_recorded(self):
        rx = self.receiver(client_ca=self.ca.cert)
        self.assertAnswer(self.post(rx, "--cert", str(self.client_cert),
                                    "--key", str(self.client_key)), 202, rx)
        self.assertAnswer(self.post(rx), 202, rx)                   # none: still fine
        result = self.post(rx, "--cert", str(self.foreign_cert), "--key", str(self.foreign_key))
        self.assertNotEqual(result.returncode, 0, result)           # another CA's: refused
        result = self.post(rx, "--cert", str(self.cert), "--key", str(self.key))
        self.assertNotEqual(result.returncode, 0, result)           # serverAuth only: refused
        self.assertEqual([r.client_cn for r in rx.received()], ["mirror.example.org", None])

    def test_required_client_certificate(self):
        rx = self.receiver(client_ca=self.ca.cert, require_client_cert=True)
        result = self.post(rx)
        self.assertNotEqual(result.returncode, 0, result)
        self.assertEqual(result.status, 0, result)
        self.wait_log(rx, "TLS handshake failed", 2)     # the readiness probe's, then curl's
        self.assertEqual(rx.received(), [])
        self.assertAnswer(self.post(rx, "--cert", str(self.client_cert),
                                    "--key", str(self.client_key)), 202, rx)
        self.assertEqual([r.client_cn for r in rx.received()], ["mirror.example.org"])

    # --- lifetime

    def test_exit_closes_the_port_and_ends_the_process(self):
        with ReportReceiver(self.work, cert=self.cert, key=self.key) as rx:
            port, pid = rx.port, rx.pid
            self.assertTrue(W.alive(pid))
            self.assertAnswer(self.post(rx), 202, rx)
        self.assertFalse(W.port_open(port))
        self.assertFalse(W.alive(pid))
        self.assertEqual(len(rx.received()), 1)      # still readable after exit
        rx.stop()                                    # idempotent
        with self.assertRaises(RuntimeError):
            rx.endpoint

    def test_failed_start_leaves_nothing_running(self):
        missing = self.work / "missing.pem"
        with self.assertRaises(R.ServerError) as caught:
            with ReportReceiver(self.work, cert=missing, key=self.key):
                self.fail("started with a missing certificate")
        self.assertIn("No such file", str(caught.exception))
        self.assertEqual(W.descendants(os.getpid()), [])
        with self.assertRaises(ValueError):
            ReportReceiver(self.work)                            # TLS without a certificate
        with self.assertRaises(ValueError):
            ReportReceiver(self.work, tls=False, require_client_cert=True)

    def test_max_lifetime(self):
        rx = self.receiver(tls=False, max_lifetime=0.5)
        proc = rx.proc
        proc.wait(timeout=5)
        self.assertIn("max lifetime", rx.log_text())
        with self.assertRaises(AssertionError):
            rx.wait_for(1, timeout=1)

    def test_server_dies_with_the_test_process(self):
        script = (f"import sys, time; sys.path.insert(0, {str(harness.TESTS)!r}); "
                  "from fixtures.report_receiver import ReportReceiver; "
                  f"rx = ReportReceiver({str(self.work)!r}, tls=False).start(); "
                  "print(rx.pid, flush=True); time.sleep(30)")
        parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                                  env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"))
        try:
            pid = int(parent.stdout.readline())
            self.assertTrue(W.alive(pid))
        finally:
            parent.kill()
            parent.wait(timeout=5)
            parent.stdout.close()
        deadline = time.monotonic() + 5
        while W.alive(pid):
            self.assertLess(time.monotonic(), deadline, f"server {pid} outlived its parent")
            time.sleep(0.05)


if __name__ == "__main__":
    unittest.main()
