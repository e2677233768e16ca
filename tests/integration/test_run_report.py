"""`webseed-agent run` and its readiness reports, end to end with real parts: a mirror made
with real rsync, torrents made with mktorrent, nginx serving the mirror on 127.0.0.1 for the
probe, and the central endpoint played by a recording HTTPS receiver whose CA, server and
client certificates this test generates with openssl (fixtures/report_receiver.py,
fixtures/tls.py). Reports are validated against docs/report.schema.json.

Cases (issue 6): delivered, 401, 500 then success, 429 with Retry-After, endpoint down
(spooled, delivered by the next run, oldest first, no duplicate), slow endpoint (the run ends
within its budget), untrusted certificate, mTLS, token file readable by others, kill -9
during runs (no corrupt spool, status or state database), two runs at once, sync failed or in
progress, withdraw, report --flush, --dry-run, --write-report, --strict, notification hooks,
the metrics file and check --format nagios."""

import json
import os
import random
import signal
import sqlite3
import subprocess
import time
import unittest
from pathlib import Path

import jsonschema  # Debian python3-jsonschema

import harness
from fixtures import mirror, tls, webservers
from fixtures import torrents as T
from fixtures.report_receiver import ReportReceiver

MODULE_TIMEOUT = 240
SYMLINKS = mirror.SYMLINKS_DIR
SCHEMA = jsonschema.Draft202012Validator(
    json.loads((harness.REPO / "docs" / "report.schema.json").read_text()))
TOKEN = "mirror-token-0123456789abcdef"
RUN_TIMEOUT = 60.0  # seconds a test waits for one agent run


class RunReportTest(harness.TreeTestCase):
    @classmethod
    def setUpClass(cls):
        cls.shared = harness.make_tmpdir()
        upstream = cls.shared / "upstream"
        mirror.build(upstream, mirror.default_layout())
        cls.tdir = cls.shared / "torrents"
        cls.tdir.mkdir()
        entries = upstream / SYMLINKS
        cls.names = sorted(os.listdir(entries))
        for name in cls.names:
            T.mktorrent(entries / name, cls.tdir / f"{name}.torrent", piece_log2=15)
        cls.root = cls.shared / "mirror"
        harness.run_rsync(harness.contents(upstream), cls.root, "-a")
        cls.ca = tls.TestCA(cls.shared / "ca")
        cls.cert, cls.key = cls.ca.issue("central", ["127.0.0.1", "localhost"])
        cls.client_cert, cls.client_key = cls.ca.issue_client("mirror.example.org")
        cls.other_ca = tls.TestCA(cls.shared / "other-ca")
        cls.other_cert, cls.other_key = cls.other_ca.issue("impostor", ["127.0.0.1"])

    @classmethod
    def tearDownClass(cls):
        harness.remove_tree(cls.shared)

    def setUp(self):
        super().setUp()
        self.state = self.tmp / "state"
        self.token = self.tmp / "token"
        self.token.write_text(TOKEN + "\n")
        self.token.chmod(0o600)

    # --- helpers -----------------------------------------------------------------------------

    def config(self, endpoint=None, base_url="http://127.0.0.1:9/", root=None, extra=""):
        lines = [
            "mirror:",
            "  name: mirror.example.org",
            f"  root: {root or self.root}",
            f"  base_url: {base_url}",
            f"torrents: [{self.tdir}]",
            f"state_dir: {self.state}",
            "probe:",
            "  request_timeout: 5s",
            "  timeout: 20s",
        ]
        if endpoint:
            lines += ["report:", f"  endpoint: {endpoint}", f"  token_file: {self.token}",
                      f"  ca_file: {self.ca.cert}", "  timeout: 8s"]
        path = self.tmp / "agent.yaml"
        path.write_text("\n".join(lines) + "\n" + extra)
        return path

    def run_agent(self, config, *args, timeout=RUN_TIMEOUT):
        return harness.run_agent("--config", config, *args, timeout=timeout)

    def run_hook(self, config, *args, timeout=RUN_TIMEOUT):
        result = self.run_agent(config, "run", *args, timeout=timeout)
        self.assertIn(result.returncode, (0, 1), str(result))
        return result

    def status(self):
        return json.loads((self.state / "status.json").read_text())

    def spool(self):
        d = self.state / "spool"
        return sorted(p.name for p in d.iterdir() if p.name.endswith(".json")) if d.exists() \
            else []

    def assertValidReport(self, doc):
        problems = [f"{list(e.absolute_path)}: {e.message}" for e in SCHEMA.iter_errors(doc)]
        self.assertEqual(problems, [], "docs/report.schema.json")

    def assertSilent(self, result):
        self.assertEqual((result.out, result.err), ("", ""), "run is silent without a TTY")

    def receiver(self, **kw):
        kw.setdefault("cert", self.cert)
        kw.setdefault("key", self.key)
        return ReportReceiver(self.tmp, **kw)

    # --- delivery ----------------------------------------------------------------------------

    def test_delivered_to_https_endpoint_with_token_and_probe_evidence(self):
        with webservers.Nginx(self.root) as nginx, self.receiver() as rx:
            config = self.config(rx.endpoint, base_url=nginx.base_url + "/")
            result = self.run_hook(config, "--rsync-exit", "0")
            self.assertExit(result, 0)
            self.assertSilent(result)
            got = rx.received()
            base_url = nginx.base_url
        self.assertEqual(len(got), 1, [g.path for g in got])
        req = got[0]
        self.assertEqual((req.method, req.path), ("POST", "/api/v1/reports"))
        self.assertEqual(req.headers["authorization"], f"Bearer {TOKEN}")
        self.assertEqual(req.headers["content-type"], "application/json")
        self.assertRegex(req.headers["user-agent"], r"^webseed-agent/\S+$")
        report = req.json
        self.assertValidReport(report)
        self.assertEqual(req.headers["idempotency-key"], report["report_id"])
        self.assertEqual(report["kind"], "status")
        self.assertEqual(report["mirror"], "mirror.example.org")
        self.assertEqual(report["base_url"], base_url + "/")
        self.assertTrue(report["opted_in"])
        self.assertTrue(report["judged"])
        self.assertTrue(report["ready"], json.dumps(report, indent=1))
        self.assertEqual(report["sync"]["state"], "complete")
        self.assertEqual(report["sync"]["rsync_exit"], 0)
        self.assertEqual(sorted(t["name"] for t in report["torrents"]), self.names)
        for t in report["torrents"]:
            self.assertTrue(t["ready"], t)
            self.assertEqual(t["codes"], [])
            self.assertRegex(t["info_hash_v1"], "^[0-9a-f]{40}$")
            ev = t["evidence"]
            self.assertTrue(ev["probed"], t)
            self.assertIn(0, ev["pieces_verified"])
            self.assertTrue(ev["requests"])
            for q in ev["requests"]:
                self.assertTrue(q["url"].startswith(base_url + "/" + SYMLINKS + "/"), q)
                self.assertTrue(q["ok"], q)
        status = self.status()
        self.assertEqual(status["outcome"], "ready")
        self.assertEqual(status["report"]["delivery"], "delivered")
        self.assertEqual(status["report"]["report_id"], report["report_id"])
        self.assertEqual(self.spool(), [])
        self.assertNotIn(TOKEN, (self.state / "status.json").read_text())

    def test_401_is_not_retried_and_explained(self):
        with self.receiver(responses=[{"status": 401, "body": "bad token"}] * 3) as rx:
            config = self.config(rx.endpoint)
            result = self.run_hook(config)
            self.assertExit(result, 0)
            self.assertSilent(result)
            self.assertEqual(len(rx.received()), 1, "a 401 is final")
        status = self.status()
        self.assertEqual(status["report"]["delivery"], "spooled")
        self.assertIn("401: the endpoint rejected this mirror's token", status["report"]["message"])
        self.assertEqual(len(self.spool()), 1, "kept for when the token is fixed")
        self.assertNotIn(TOKEN, status["report"]["message"])

    def test_500_then_success_is_retried_with_the_same_id(self):
        with self.receiver(responses=[{"status": 500}, {"status": 503, "body": "busy"}]) as rx:
            self.run_hook(self.config(rx.endpoint))
            got = rx.received()
        self.assertEqual([g.status for g in got], [500, 503, 202])
        self.assertEqual(len({g.headers["idempotency-key"] for g in got}), 1)
        self.assertEqual(len({g.body for g in got}), 1, "the same report each time")
        self.assertEqual(self.status()["report"]["delivery"], "delivered")
        self.assertEqual(self.spool(), [])

    def test_429_retry_after_is_honoured(self):
        with self.receiver(responses=[{"status": 429, "headers": {"Retry-After": "2"}}]) as rx:
            self.run_hook(self.config(rx.endpoint))
            got = rx.received()
        self.assertEqual([g.status for g in got], [429, 202])
        self.assertGreaterEqual(got[1].arrived - got[0].arrived, 1.9)

    def test_endpoint_down_spools_then_next_run_delivers_oldest_first(self):
        port = webservers.free_port()
        endpoint = f"https://127.0.0.1:{port}/api/v1/reports"
        config = self.config(endpoint)
        for _ in range(2):
            result = self.run_hook(config)
            self.assertSilent(result)
        first_ids = [self.status()["report"]["report_id"]]
        self.assertEqual(self.status()["report"]["delivery"], "spooled")
        self.assertIn("cannot reach", self.status()["report"]["message"])
        self.assertEqual(len(self.spool()), 2)
        self.assertEqual(self.status()["report"]["spooled"], 2)
        spooled_ids = [n[21:57] for n in self.spool()]
        self.assertEqual(spooled_ids[-1], first_ids[0])
        with ReportReceiver(self.tmp, cert=self.cert, key=self.key, port=port) as rx:
            self.run_hook(config)
            got = rx.received()
        ids = [g.json["report_id"] for g in got]
        self.assertEqual(ids[:2], spooled_ids, "the spooled reports first, oldest first")
        self.assertEqual(ids[2], self.status()["report"]["report_id"])
        self.assertEqual(len(ids), len(set(ids)), "no duplicates")
        for g in got:
            self.assertValidReport(g.json)
        self.assertEqual(self.spool(), [])
        # Run 1: its delivery failed; run 2: the resend of run 1's and its own failed.
        self.assertEqual(self.status()["report"]["failures_total"], 3)

    def test_slow_endpoint_run_ends_within_its_budget(self):
        with self.receiver(responses=[{"status": 202, "delay": 60}] * 5) as rx:
            config = self.config(rx.endpoint)
            start = time.monotonic()
            self.run_hook(config)
            elapsed = time.monotonic() - start
        self.assertLess(elapsed, 8 + 5, "report.timeout 8s bounds the delivery")
        self.assertEqual(self.status()["report"]["delivery"], "spooled")
        self.assertEqual(len(self.spool()), 1)

    def test_run_timeout_bounds_a_stalling_web_server(self):
        """run.timeout caps the probe (probe.timeout and request_timeout are far longer)."""
        with webservers.BadServer(self.root, "stall") as server:
            config = self.config(base_url=server.base_url + "/")
            text = config.read_text().replace("  request_timeout: 5s\n  timeout: 20s\n",
                                              "  request_timeout: 5m\n  timeout: 5m\n")
            config.write_text(text + "run:\n  timeout: 8s\nhooks:\n  timeout: 1s\n")
            start = time.monotonic()
            result = self.run_hook(config)
            elapsed = time.monotonic() - start
        self.assertExit(result, 0)
        self.assertLess(elapsed, 8 + 4, "the whole run within run.timeout (plus start-up)")
        codes = {c for t in self.status()["check"]["torrents"] for f in t["findings"]
                 for c in [f["code"]]}
        self.assertTrue(codes & {"http-timeout", "probe-skipped"}, codes)
        self.assertEqual(self.status()["outcome"], "not-ready")

    def test_untrusted_certificate_is_refused_and_spooled(self):
        with self.receiver(cert=self.other_cert, key=self.other_key) as rx:
            result = self.run_hook(self.config(rx.endpoint))
            self.assertSilent(result)
            self.assertEqual(rx.received(), [], "no request passes an unverified handshake")
        status = self.status()
        self.assertEqual(status["report"]["delivery"], "spooled")
        self.assertRegex(status["report"]["message"], "(?i)certificate|SSL")

    def test_client_certificate_mtls(self):
        with self.receiver(client_ca=self.ca.cert, require_client_cert=True) as rx:
            config = self.config(rx.endpoint, extra=(
                f"  client_cert: {self.client_cert}\n  client_key: {self.client_key}\n"))
            self.run_hook(config)
            got = rx.received()
        self.assertEqual(len(got), 1)
        self.assertEqual(got[0].client_cn, "mirror.example.org")
        self.assertEqual(self.status()["report"]["delivery"], "delivered")

    def test_token_file_readable_by_others_is_refused(self):
        self.token.chmod(0o644)
        with self.receiver() as rx:
            result = self.run_agent(self.config(rx.endpoint), "run")
            self.assertExit(result, 2)
            self.assertIn("accessible by group or others (mode 0644)", result.err)
            self.assertIn("chmod 600", result.err)
            self.assertNotIn(TOKEN, result.err + result.out)
            self.assertEqual(rx.received(), [])
        # The run is recorded as failed (never an older verdict), without the token.
        status = self.status()
        self.assertEqual(status["outcome"], "failed")
        self.assertIn("chmod 600", status["error"])
        self.assertNotIn(TOKEN, json.dumps(status))

    def test_unusable_report_settings_stop_the_run_with_one_line(self):
        """A missing CA file, a client certificate that is not there, a spool directory that
        cannot be made: exit 2 naming the key and the file, nothing sent, nothing spooled."""
        with self.receiver() as rx:
            cases = [
                ("  ca_file: {missing}\n", "report.ca_file: cannot read {missing}"),
                ("  client_cert: {missing}\n  client_key: {missing}\n",
                 "report.client_cert: cannot read {missing}"),
            ]
            missing = self.tmp / "missing.pem"
            for extra, message in cases:
                config = self.config(rx.endpoint, extra=extra.format(missing=missing))
                if "ca_file" in extra:  # replace the good ca_file line, keep the rest
                    text = config.read_text().replace(f"  ca_file: {self.ca.cert}\n", "")
                    config.write_text(text)
                result = self.run_agent(config, "run")
                self.assertExit(result, 2)
                self.assertIn(message.format(missing=missing), result.err)
            blocked = self.tmp / "blocked"
            blocked.write_text("a file where the spool directory should be")
            config = self.config(rx.endpoint, extra=f"  spool_dir: {blocked / 'spool'}\n")
            result = self.run_agent(config, "run")
            self.assertExit(result, 2)
            self.assertIn(f"report spool {blocked}: not a directory", result.err)
            self.assertEqual(rx.received(), [])
        self.assertEqual(self.spool(), [])

    def test_plain_http_endpoint_needs_explicit_opt_in(self):
        with self.receiver(tls=False, cert=None, key=None) as rx:
            result = self.run_agent(self.config(rx.endpoint), "run")
            self.assertExit(result, 2)
            self.assertIn("allow_insecure_http", result.err)
            config = self.config(rx.endpoint, extra="  allow_insecure_http: true\n")
            self.run_hook(config)
            self.assertEqual(len(rx.received()), 1)

    # --- locking and crashes -----------------------------------------------------------------

    def test_second_concurrent_run_exits_at_once(self):
        with self.receiver(responses=[{"status": 202, "delay": 6}]) as rx:
            config = self.config(rx.endpoint)
            first = subprocess.Popen([str(harness.agent_path()), "--config", str(config), "run"],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=harness.sanitizer_env(dict(os.environ)))
            try:
                rx.wait_for(1, timeout=30)  # the first run is sending: it holds the lock
                start = time.monotonic()
                second = self.run_agent(config, "run", timeout=10)
                self.assertLess(time.monotonic() - start, 3)
                self.assertExit(second, 4)
                self.assertIn("another webseed-agent run holds", second.err)
                self.assertIn(f"(pid {first.pid})", second.err)
            finally:
                first.wait(timeout=RUN_TIMEOUT)
            self.assertEqual(first.returncode, 0)
        self.assertEqual(self.status()["report"]["delivery"], "delivered")

    def test_kill_9_during_runs_leaves_nothing_corrupt(self):
        rng = random.Random(6)
        with self.receiver(responses=[{"status": 500, "delay": 0.3}] * 200) as rx:
            config = self.config(rx.endpoint)
            for _ in range(8):
                proc = subprocess.Popen(
                    [str(harness.agent_path()), "--config", str(config), "run", "--strict"],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                    env=harness.sanitizer_env(dict(os.environ)))
                time.sleep(rng.uniform(0.05, 1.5))
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=10)
                self.assertConsistent()
            waiting = {n[21:57] for n in self.spool()}
            self.assertTrue(waiting, "the killed runs left their reports in the spool")
            rx.set_responses([])  # the endpoint recovers
            self.run_hook(config)
            delivered = [g.json["report_id"] for g in rx.received() if g.status == 202]
        self.assertConsistent()
        self.assertEqual(self.spool(), [])
        self.assertEqual(self.status()["report"]["delivery"], "delivered")
        self.assertLessEqual(waiting, set(delivered), "nothing spooled was lost")
        self.assertEqual(len(delivered), len(set(delivered)), "each report acknowledged once")

    def assertConsistent(self):
        """Whole files only: status.json parses, every spooled report is schema-valid JSON,
        no temporary file is mistaken for a report, and the state database is intact."""
        status = self.state / "status.json"
        if status.exists():
            json.loads(status.read_text())
        spool = self.state / "spool"
        if spool.exists():
            for p in spool.iterdir():
                if p.name.endswith(".json"):
                    self.assertValidReport(json.loads(p.read_text()))
        dbs = list(self.state.glob("*.sqlite*")) + list(self.state.glob("*.db"))
        for db in dbs:
            if db.suffix in (".sqlite", ".db"):
                con = sqlite3.connect(db)
                try:
                    self.assertEqual(con.execute("PRAGMA integrity_check").fetchone()[0], "ok")
                finally:
                    con.close()

    # --- sync state --------------------------------------------------------------------------

    def test_failed_sync_is_reported_not_judged(self):
        with self.receiver() as rx:
            result = self.run_hook(self.config(rx.endpoint), "--rsync-exit", "12", "--strict")
            self.assertExit(result, 1)
            report = rx.received()[0].json
        self.assertValidReport(report)
        self.assertEqual(report["sync"], {"state": "failed", "rsync_exit": 12,
                                          "tree_timestamp": None, "marker": None})
        self.assertFalse(report["judged"])
        self.assertEqual(report["torrents"], [])
        self.assertEqual(self.status()["outcome"], "sync-failed")
        self.assertIsNone(self.status()["check"])

    def test_partial_transfer_codes_are_judged(self):
        for code in ("23", "24"):
            result = self.run_hook(self.config(), "--rsync-exit", code)
            self.assertSilent(result)
            self.assertEqual(self.status()["sync"]["state"], "complete")
            self.assertIsNotNone(self.status()["check"])

    def test_sync_in_progress_is_not_judged(self):
        root = self.tmp / "mirror"
        harness.run_rsync(harness.contents(self.root), root, "-a")
        (root / "Archive-Update-in-Progress-mirror.example.org").write_text("999999\n")
        (root / "timestamp.mirmon").write_text("1795690000 rsync://upstream\n")
        config = self.config(root=root, extra="")
        text = config.read_text().replace("  base_url:", "  timestamp_file: timestamp.mirmon\n"
                                                         "  base_url:")
        config.write_text(text)
        self.run_hook(config, "--rsync-exit", "0")
        status = self.status()
        self.assertEqual(status["outcome"], "syncing")
        self.assertEqual(status["sync"]["marker"], "Archive-Update-in-Progress-mirror.example.org")
        self.assertEqual(status["sync"]["tree_timestamp"], "2026-11-26T10:46:40Z")

    # --- manual commands ---------------------------------------------------------------------

    def test_withdraw_then_runs_report_opted_out_until_cancelled(self):
        with self.receiver() as rx:
            config = self.config(rx.endpoint)
            result = self.run_agent(config, "withdraw")
            self.assertExit(result, 0)
            self.assertIn("withdrawn", result.out)
            withdraw = rx.received()[0].json
            self.assertValidReport(withdraw)
            self.assertEqual((withdraw["kind"], withdraw["opted_in"]), ("withdraw", False))
            self.run_hook(config)
            self.assertFalse(rx.received()[1].json["opted_in"])
            self.assertExit(self.run_agent(config, "withdraw", "--cancel"), 0)
            self.run_hook(config)
            self.assertTrue(rx.received()[2].json["opted_in"])

    def test_report_flush_sends_the_spool_on_demand(self):
        port = webservers.free_port()
        config = self.config(f"https://127.0.0.1:{port}/api/v1/reports")
        self.run_hook(config)
        self.assertEqual(len(self.spool()), 1)
        result = self.run_agent(config, "report", "--flush")
        self.assertExit(result, 1)
        self.assertIn("0 reports delivered, 1 still spooled", result.out)
        self.assertIn("cannot reach", result.err)
        with ReportReceiver(self.tmp, cert=self.cert, key=self.key, port=port) as rx:
            result = self.run_agent(config, "report", "--flush")
            self.assertExit(result, 0)
            self.assertIn("1 report delivered, 0 still spooled", result.out)
            self.assertEqual(len(rx.received()), 1)
        self.assertEqual(self.spool(), [])

    def test_report_flush_without_endpoint_is_a_usage_error(self):
        result = self.run_agent(self.config(), "report", "--flush")
        self.assertExit(result, 2)
        self.assertIn("report.endpoint is not set", result.err)

    def test_dry_run_prints_and_sends_nothing(self):
        with self.receiver() as rx:
            config = self.config(rx.endpoint)
            out = self.tmp / "report.json"
            result = self.run_agent(config, "run", "--dry-run", "--write-report", out)
            self.assertExit(result, 0)
            report = json.loads(result.out)
            self.assertValidReport(report)
            self.assertEqual(json.loads(out.read_text()), report)
            self.assertEqual(rx.received(), [])
        self.assertFalse((self.state / "status.json").exists())
        self.assertEqual(self.spool(), [])

    def test_no_endpoint_no_report_leaves_the_machine(self):
        result = self.run_hook(self.config(), "--strict")
        self.assertExit(result, 1)  # the probe's base URL is a closed port: not ready
        self.assertSilent(result)
        self.assertEqual(self.status()["report"]["delivery"], "disabled")
        self.assertFalse((self.state / "spool").exists())

    # --- hooks, metrics, nagios ----------------------------------------------------------------

    def test_notification_hooks_get_the_result_and_never_fail_the_run(self):
        log = self.tmp / "hook.log"
        script = self.tmp / "hook.sh"
        script.write_text("#!/bin/sh\nenv | grep ^WEBSEED_AGENT_ | sort > \"$1\"\n"
                          "echo 'it went wrong' >&2\nexit 3\n")
        script.chmod(0o755)
        slow = self.tmp / "slow.sh"
        slow.write_text("#!/bin/sh\nsleep 30\n")
        slow.chmod(0o755)
        metrics = self.tmp / "webseed.prom"
        extra = (f"hooks:\n  on_problem: [{script}, {log}]\n  on_ready: [{slow}]\n"
                 f"  timeout: 2s\nmetrics_file: {metrics}\n")
        result = self.run_hook(self.config(extra=extra))
        self.assertExit(result, 0)
        env = dict(line.split("=", 1) for line in log.read_text().splitlines() if "=" in line)
        self.assertEqual(env["WEBSEED_AGENT_OUTCOME"], "not-ready")
        self.assertEqual(env["WEBSEED_AGENT_PREVIOUS"], "")
        self.assertEqual(env["WEBSEED_AGENT_TORRENTS"], str(len(self.names)))
        self.assertEqual(env["WEBSEED_AGENT_READY"], "0")
        self.assertEqual(env["WEBSEED_AGENT_REPORT"], "disabled")
        self.assertEqual(env["WEBSEED_AGENT_STATUS_FILE"], str(self.state / "status.json"))
        text = metrics.read_text()
        self.assertIn('webseed_agent_torrents{state="not_ready"} ' + str(len(self.names)), text)
        self.assertIn('webseed_agent_last_run_outcome{outcome="not-ready"} 1', text)
        self.assertRegex(text, r'webseed_agent_findings\{code="http-unreachable",'
                               r'severity="error"\} [1-9]')
        # Ready now (nginx serves the mirror): on_ready hangs and is killed after 2 s.
        with webservers.Nginx(self.root) as nginx:
            config = self.config(base_url=nginx.base_url + "/", extra=extra)
            start = time.monotonic()
            result = self.run_hook(config)
            self.assertLess(time.monotonic() - start, 20)
        self.assertExit(result, 0)
        self.assertEqual(self.status()["outcome"], "ready")
        self.assertIn('webseed_agent_last_run_outcome{outcome="ready"} 1', metrics.read_text())

    def test_problems_go_to_stderr_on_a_terminal(self):
        import pty
        pid, fd = pty.fork()
        if pid == 0:
            os.execv(str(harness.agent_path()),
                     [str(harness.agent_path()), "--config", str(self.config()), "run"])
        out = b""
        deadline = time.monotonic() + RUN_TIMEOUT
        while time.monotonic() < deadline:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        os.waitpid(pid, 0)
        os.close(fd)
        text = out.decode(errors="replace")
        self.assertIn("webseed-agent: warning:", text)
        self.assertIn("not ready: http-unreachable", text)

    def test_check_format_nagios(self):
        with webservers.Nginx(self.root) as nginx:
            config = self.config(base_url=nginx.base_url + "/")
            result = self.run_agent(config, "check", "--format", "nagios",
                                    "--state-dir", self.state)
        self.assertExit(result, 0)
        n = len(self.names)
        self.assertRegex(result.out, rf"^WEBSEED OK - {n} of {n} torrents ready \| "
                                     rf"ready={n};;;0;{n} not_ready=0;;;0;{n} errors=0 "
                                     r"warnings=0 bytes_verified=\d+B time=[0-9.]+s\n$")
        result = self.run_agent(self.config(), "check", "--format", "nagios")
        self.assertExit(result, 2)
        self.assertRegex(result.out, rf"^WEBSEED CRITICAL - {n} of {n} torrents not ready: "
                                     r".*\(http-unreachable\)")
        self.assertEqual(result.out.count("\n"), 1)
        result = self.run_agent(self.config(root=self.tmp / "nowhere"), "check", "--format",
                                "nagios")
        self.assertExit(result, 3)
        self.assertRegex(result.out, r"^WEBSEED UNKNOWN - mirror root .*nowhere")


if __name__ == "__main__":
    unittest.main()
