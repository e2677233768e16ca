"""`run` and `check` under faults (issue 13): what the config names disappearing with a sync,
a full or foreign state directory, hostile spool entries, a tree swapped during a check, a
state directory the agent's user cannot write. Real parts only: a mirror made with real rsync,
torrents made with mktorrent, nginx for the probe, the recording HTTPS report receiver and the
real collector (webseed-collector, spot checks off), a real tmpfs mounted by the test (for
ENOSPC; needs root, works under gVisor) and user nobody (setpriv) for another user.

Each case failed on the main branch before issue 13:
- a torrents directory inside the root removed by the sync (`--exclude releases/
  --delete-excluded`): `run` stopped with exit 2, status.json kept the previous `ready`, no
  report went out and the collector kept listing the mirror;
- ENOSPC in the state directory: state.sqlite moved aside as "corrupt" (and everything hashed
  again once space was back); another user's cache moved aside;
- a symlink in the spool named like a report: followed and POSTed with the token; a group-
  writable spool or state directory: accepted silently;
- a tree swapped while `check` hashed: the moved-out copy hashed and called ready;
- a state directory the user cannot write: "Permission denied" without the fix."""

import json
import os
import shutil
import signal
import subprocess
import time
import unittest
from pathlib import Path

import jsonschema  # Debian python3-jsonschema

import harness
from fixtures import mirror, tls, webservers
from fixtures import torrents as T
from fixtures.collector import Collector
from fixtures.report_receiver import ReportReceiver

MODULE_TIMEOUT = 240
SYMLINKS = mirror.SYMLINKS_DIR
SCHEMA = jsonschema.Draft202012Validator(
    json.loads((harness.REPO / "docs" / "report.schema.json").read_text()))
TOKEN = "mirror-token-0123456789abcdef"
RUN_TIMEOUT = 60.0
NOBODY = 65534


def needs_root(test: unittest.TestCase, why: str) -> None:
    if os.geteuid() != 0:
        test.skipTest(f"needs root: {why}")


def mount_tmpfs(test: unittest.TestCase, path: Path, size: str) -> None:
    """A small tmpfs on `path` (a real ENOSPC); unmounted by the test's cleanup. Needs root
    (CAP_SYS_ADMIN); works under gVisor (runsc) too."""
    needs_root(test, "mounting a tmpfs")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs",
                           str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=10)
    if done.returncode != 0:
        test.skipTest(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    test.addCleanup(umount, path)


def umount(path: Path) -> None:
    done = subprocess.run(["umount", str(path)], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=10)
    if done.returncode != 0:  # still busy: detach it, so the directory can go
        subprocess.run(["umount", "-l", str(path)], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=10)


def fill(directory: Path) -> Path:
    """A file that takes every free byte of the file system of `directory`."""
    filler = directory / "filler"
    chunk = b"\0" * 65536
    with open(filler, "wb") as f:
        for _ in range(100_000):  # bounded: 6 GiB at most, the tmpfs is a few MiB
            try:
                f.write(chunk)
                f.flush()
            except OSError:
                break
    with open(directory / "probe", "wb") as f:  # really full now?
        try:
            f.write(b"x" * 8192)
            f.flush()
            raise AssertionError(f"{directory} is not full")
        except OSError:
            pass
    (directory / "probe").unlink(missing_ok=True)
    return filler


class FaultsBase(harness.TreeTestCase):
    """A mirror made with rsync whose torrents live inside it (releases/torrents, as in the
    sample config), and a state directory per test."""

    @classmethod
    def setUpClass(cls):
        cls.shared = harness.make_tmpdir()
        cls.upstream = cls.shared / "upstream"
        mirror.build(cls.upstream, mirror.default_layout())
        tdir = cls.upstream / "releases" / "torrents"
        tdir.mkdir()
        entries = cls.upstream / SYMLINKS
        cls.names = sorted(os.listdir(entries))
        for name in cls.names:
            T.mktorrent(entries / name, tdir / f"{name}.torrent", piece_log2=15)
        mirror.make_world_readable(cls.upstream)
        cls.ca = tls.TestCA(cls.shared / "ca")
        cls.cert, cls.key = cls.ca.issue("central", ["127.0.0.1", "localhost"])

    @classmethod
    def tearDownClass(cls):
        harness.remove_tree(cls.shared)

    def setUp(self):
        super().setUp()
        self.root = self.tmp / "mirror"
        harness.run_rsync(harness.contents(self.upstream), self.root, "-a")
        self.tdir = self.root / "releases" / "torrents"
        self.state = self.tmp / "state"
        self.token = self.tmp / "token"
        self.token.write_text(TOKEN + "\n")
        self.token.chmod(0o600)

    def config(self, endpoint=None, base_url="http://127.0.0.1:9/", torrents=None, extra=""):
        lines = ["mirror:", "  name: mirror.example.org", f"  root: {self.root}",
                 *([f"  base_url: {base_url}"] if base_url else []),
                 f"torrents: [{torrents or self.tdir}]",
                 f"state_dir: {self.state}", "probe:", "  request_timeout: 5s",
                 "  timeout: 20s"]
        if endpoint:
            lines += ["report:", f"  endpoint: {endpoint}", f"  token_file: {self.token}",
                      f"  ca_file: {self.ca.cert}", "  timeout: 8s"]
        path = self.tmp / "agent.yaml"
        path.write_text("\n".join(lines) + "\n" + extra)
        return path

    def run_agent(self, config, *args, timeout=RUN_TIMEOUT, **kw):
        return harness.run_agent("--config", config, *args, timeout=timeout, **kw)

    def status(self):
        return json.loads((self.state / "status.json").read_text())

    def receiver(self):
        return ReportReceiver(self.tmp, cert=self.cert, key=self.key)

    def assertValidReport(self, doc):
        problems = [f"{list(e.absolute_path)}: {e.message}" for e in SCHEMA.iter_errors(doc)]
        self.assertEqual(problems, [], "docs/report.schema.json")


class MissingTreeTest(FaultsBase):
    """Case 1: what the config names inside the root is gone after a judged sync."""

    def test_torrents_dir_removed_by_the_sync_is_a_not_ready_report(self):
        hook_log = self.tmp / "hook.log"
        hook = self.tmp / "hook.sh"
        hook.write_text("#!/bin/sh\nenv | grep ^WEBSEED_AGENT_ | sort > \"$1\"\n")
        hook.chmod(0o755)
        metrics = self.tmp / "webseed.prom"
        extra = f"hooks:\n  on_problem: [{hook}, {hook_log}]\nmetrics_file: {metrics}\n"
        with webservers.Nginx(self.root) as nginx, self.receiver() as rx:
            config = self.config(rx.endpoint, base_url=nginx.base_url + "/", extra=extra)
            first = self.run_agent(config, "run", "--rsync-exit", "0")
            self.assertExit(first, 0)
            self.assertEqual(self.status()["outcome"], "ready", str(first))
            # The admin's sync now leaves releases/ out, and --delete-excluded removes it.
            sync = harness.run_rsync(harness.contents(self.upstream), self.root, "-a",
                                     "--delete", "--exclude", "releases/", "--delete-excluded")
            self.assertEqual(sync.returncode, 0)
            self.assertFalse(self.tdir.exists())
            result = self.run_agent(config, "run", "--rsync-exit", "0")
            got = rx.wait_for(2)
        self.assertExit(result, 0)
        self.assertEqual(result.err, "", "run is silent without a TTY")
        status = self.status()
        self.assertEqual(status["outcome"], "not-ready")
        self.assertEqual([p["code"] for p in status["problems"]], ["torrents-missing"])
        self.assertEqual(status["problems"][0]["path"], "releases/torrents")
        self.assertIn("No such file or directory", status["problems"][0]["message"])
        self.assertEqual(status["check"]["findings"][0]["code"], "torrents-missing")
        self.assertFalse(status["check"]["ready"])
        self.assertEqual(status["report"]["delivery"], "delivered")
        # The report says so: judged, not ready, no torrent claimed (the collector drops the
        # mirror's claims), the reason in `problems`.
        report = got[-1].json
        self.assertValidReport(report)
        self.assertEqual((report["judged"], report["ready"], report["torrents"]),
                         (True, False, []))
        self.assertEqual([p["code"] for p in report["problems"]], ["torrents-missing"])
        # Metrics and hooks follow.
        self.assertIn('webseed_agent_last_run_outcome{outcome="not-ready"} 1',
                      metrics.read_text())
        self.assertRegex(metrics.read_text(),
                         r'webseed_agent_findings\{code="torrents-missing",severity="error"\} 1')
        env = dict(line.split("=", 1) for line in hook_log.read_text().splitlines()
                   if "=" in line)
        self.assertEqual((env["WEBSEED_AGENT_OUTCOME"], env["WEBSEED_AGENT_PREVIOUS"]),
                         ("not-ready", "ready"))

    def test_the_collector_stops_listing_a_mirror_whose_torrents_dir_is_gone(self):
        catalog = self.tmp / "catalog"
        shutil.copytree(self.tdir, catalog)
        hashes = {p.name: T.info_hashes(p.read_bytes())[0] for p in catalog.iterdir()}
        with webservers.Nginx(self.root) as nginx, \
                Collector(self.tmp / "collector", catalog, tls=(self.cert, self.key),
                          spot_check=False) as col:
            base = nginx.base_url + "/"
            self.token.write_text(col.add_mirror("mirror.example.org", base) + "\n")
            config = self.config(col.endpoint, base_url=base)

            def listed():
                return {name for name, h in hashes.items()
                        if col.json(f"/api/v1/torrents/{h}/webseeds",
                                    ca=self.ca.cert)["mirrors"]}

            self.assertExit(self.run_agent(config, "run", "--rsync-exit", "0"), 0)
            self.assertEqual(listed(), set(hashes), self.status())
            harness.run_rsync(harness.contents(self.upstream), self.root, "-a", "--delete",
                              "--exclude", "releases/", "--delete-excluded")
            result = self.run_agent(config, "run", "--rsync-exit", "0")
            self.assertExit(result, 0)
            self.assertEqual(self.status()["report"]["delivery"], "delivered")
            self.assertEqual(listed(), set(), "a mirror without its torrents is not listed")

    def test_empty_torrents_dir_and_missing_symlinks_dir_and_timestamp_file(self):
        for name in os.listdir(self.tdir):
            (self.tdir / name).unlink()
        shutil.rmtree(self.root / "experimental")
        config = self.config(base_url=None,
                             extra="")
        config.write_text(config.read_text().replace(
            "  name: mirror.example.org\n",
            "  name: mirror.example.org\n  timestamp_file: trace/stamp\n"))
        result = self.run_agent(config, "run", "--rsync-exit", "0", "--strict")
        self.assertExit(result, 1)
        status = self.status()
        self.assertEqual(status["outcome"], "not-ready")
        self.assertEqual(sorted(p["code"] for p in status["problems"]),
                         ["missing-file", "missing-tree", "torrents-missing"])

    def test_a_run_that_stops_says_so_in_status_json(self):
        metrics = self.tmp / "webseed.prom"
        config = self.config(base_url=None, extra=f"metrics_file: {metrics}\n")
        first = self.run_agent(config, "run")
        self.assertExit(first, 0)
        self.assertEqual(self.status()["outcome"], "ready", str(first))
        before = self.status()["finished_at"]
        time.sleep(1.1)
        # A torrents path outside the root stays a configuration error (exit 2), but the
        # status no longer says ready.
        outside = self.tmp / "no-such-torrents"
        result = self.run_agent(self.config(base_url=None, torrents=outside,
                                            extra=f"metrics_file: {metrics}\n"), "run")
        self.assertExit(result, 2)
        self.assertIn("no-such-torrents", result.err)
        status = self.status()
        self.assertEqual(status["outcome"], "failed")
        self.assertIn("no-such-torrents: No such file or directory", status["error"])
        self.assertGreater(status["finished_at"], before)
        self.assertEqual(status["report"]["delivery"], "not-sent")
        self.assertIn('webseed_agent_last_run_outcome{outcome="failed"} 1', metrics.read_text())
        self.assertIn('webseed_agent_last_run_outcome{outcome="ready"} 0', metrics.read_text())


class CacheFaultsTest(FaultsBase):
    """Case 3: the verification cache is never thrown away for a full or foreign state dir."""

    def check(self, *args, as_nobody=False):
        result = harness.run_agent("check", "--root", self.root, "--torrents", self.tdir,
                                   "--json", "--state-dir", self.state, *args,
                                   timeout=RUN_TIMEOUT, as_nobody=as_nobody)
        self.assertEqual(result.returncode, 0, str(result))
        return result, result.json()

    def bytes_hashed(self, doc):
        return sum(t["bytes"] for t in doc["torrents"])

    def asides(self):
        return sorted(p.name for p in self.state.iterdir() if ".broken" in p.name)

    def test_full_state_dir_keeps_the_cache(self):
        self.state.mkdir()
        mount_tmpfs(self, self.state, "2m")
        _, first = self.check()
        self.assertGreater(self.bytes_hashed(first), 0)
        filler = fill(self.state)
        result, full = self.check()
        self.assertTrue(full["ready"])
        self.assertEqual(self.asides(), [], "nothing is moved aside on ENOSPC")
        self.assertNotIn("corrupt", result.err)
        self.assertNotIn("moved to", result.err)
        self.assertIn("No space left on device", result.err)
        self.assertIn("free space", result.err)
        # Read-only from the cache: nothing hashed.
        self.assertEqual(self.bytes_hashed(full), 0, result.err)
        filler.unlink()
        _, after = self.check()
        self.assertEqual(self.bytes_hashed(after), 0, "the cache survived the full disk")
        self.assertTrue(all(t["cached"] for t in after["torrents"]))

    def test_another_users_cache_is_never_moved(self):
        needs_root(self, "running the agent as root and as nobody")
        _, first = self.check()  # as root: root's cache
        self.assertGreater(self.bytes_hashed(first), 0)
        os.chown(self.state, NOBODY, NOBODY)  # the directory is nobody's, the cache root's
        before = sorted(os.listdir(self.state))
        result, doc = self.check(as_nobody=True)
        self.assertTrue(doc["ready"])
        self.assertEqual(sorted(os.listdir(self.state)), before, "nothing moved or added")
        self.assertNotIn("moved to", result.err)
        self.assertIn("owned by root", result.err)
        self.assertIn("read-only", result.err)
        self.assertEqual(self.bytes_hashed(doc), 0, "read from root's cache")
        # A read-only directory (root's, 0755) with root's cache: the same, nothing claimed.
        os.chown(self.state, 0, 0)
        result, doc = self.check(as_nobody=True)
        self.assertNotIn("moved to", result.err)
        self.assertEqual(sorted(os.listdir(self.state)), before)


class SpoolFaultsTest(FaultsBase):
    """Case 4: spool entries and directories the agent did not make are never trusted."""

    def test_symlink_in_the_spool_is_not_followed_or_sent(self):
        needs_root(self, "a spool entry owned by nobody")
        secret = self.tmp / "secret.json"
        secret.write_text('{"secret": "SECRET-CONTENT-0123"}\n')
        spool = self.state / "spool"
        spool.mkdir(parents=True)
        os.chmod(self.state, 0o700)
        os.chmod(spool, 0o700)
        link = spool / "00000000000000000001-0b1e6a5c-3c1d-4f6e-9a7b-0123456789ab.json"
        os.symlink(secret, link)
        foreign = spool / "00000000000000000002-1b1e6a5c-3c1d-4f6e-9a7b-0123456789ab.json"
        foreign.write_text('{"foreign": "FOREIGN-CONTENT-4567"}\n')
        os.chown(foreign, NOBODY, NOBODY)
        with self.receiver() as rx:
            result = self.run_agent(self.config(rx.endpoint), "run")
            got = rx.received()
        self.assertExit(result, 0)
        for req in got:
            self.assertNotIn(b"SECRET-CONTENT", req.body)
            self.assertNotIn(b"FOREIGN-CONTENT", req.body)
        self.assertEqual(len(got), 1, "only this run's report")
        self.assertTrue(os.path.islink(link), "left in place")
        self.assertTrue(foreign.exists(), "left in place")
        self.assertEqual(self.status()["report"]["delivery"], "delivered")

    def test_group_writable_spool_or_state_dir_is_refused(self):
        spool = self.state / "spool"
        spool.mkdir(parents=True)
        os.chmod(self.state, 0o700)
        os.chmod(spool, 0o775)
        with self.receiver() as rx:
            config = self.config(rx.endpoint)
            result = self.run_agent(config, "run")
            self.assertExit(result, 2)
            self.assertIn(f"chmod go-w {spool}", result.err)
            self.assertEqual(len(result.err.strip().splitlines()), 1, result.err)
            os.chmod(spool, 0o700)
            os.chmod(self.state, 0o777)
            result = self.run_agent(config, "run")
            self.assertExit(result, 2)
            self.assertIn(f"chmod go-w {self.state}", result.err)
            self.assertEqual(rx.received(), [])


class TreeSwapTest(FaultsBase):
    """Case 5: a tree moved aside while `check` hashes it is never called ready."""

    BIG = 96 << 20

    def test_releases_swapped_during_the_check(self):
        # Two torrents under releases/: a big one (hashing takes a while) and a small one.
        big = self.root / "releases" / "swap" / "a-big.bin"
        small = self.root / "releases" / "swap" / "b-small.bin"
        big.parent.mkdir(parents=True)
        big.write_bytes(os.urandom(1 << 20) * (self.BIG >> 20))
        small.write_bytes(os.urandom(100_000))
        links = self.root / SYMLINKS
        tdir = self.tmp / "swap-torrents"
        tdir.mkdir()
        for f in (big, small):
            os.symlink(f"../../releases/swap/{f.name}", links / f.name)
            T.mktorrent(links / f.name, tdir / f"{f.name}.torrent", piece_log2=20)
        argv = [str(harness.agent_path()), "check", "--root", str(self.root), "--torrents",
                str(tdir), "--json", "--state-dir", str(self.state), "--jobs", "1"]
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                stdin=subprocess.DEVNULL)
        try:
            stopped = self.stop_while_open(proc.pid, str(big))
            if stopped:
                # A staged swap: releases/ moved out of the root, a new one (another release:
                # the same names and sizes, other bytes) put in its place.
                os.rename(self.root / "releases", self.tmp / "releases-moved-out")
                new = self.root / "releases" / "swap"
                new.mkdir(parents=True)
                new.joinpath(big.name).write_bytes(b"\1" * self.BIG)
                new.joinpath(small.name).write_bytes(b"\2" * 100_000)
                os.kill(proc.pid, signal.SIGCONT)
            out, err = proc.communicate(timeout=RUN_TIMEOUT)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        if not stopped:
            self.skipTest("the check finished hashing before the test could stop it")
        self.assertIn(proc.returncode, (0, 1), err.decode())
        doc = json.loads(out)
        by_name = {t["name"]: t for t in doc["torrents"]}
        for name in (big.name, small.name):
            self.assertFalse(by_name[name]["ready"], f"{name}: {by_name[name]}")
        self.assertFalse(doc["ready"])
        # And nothing wrong was cached: the next check says the same.
        again = harness.run_agent(*argv[1:], timeout=RUN_TIMEOUT)
        self.assertFalse(again.json()["ready"])

    def stop_while_open(self, pid, path):
        """SIGSTOPs `pid` while it holds `path` open (it is hashing it); False if it never
        did within the time limit or had closed it by then."""
        deadline = time.monotonic() + 30
        fd_dir = f"/proc/{pid}/fd"
        while time.monotonic() < deadline:
            try:
                names = os.listdir(fd_dir)
            except FileNotFoundError:
                return False
            for fd in names:
                try:
                    target = os.readlink(f"{fd_dir}/{fd}")
                except OSError:
                    continue
                if target == path:
                    os.kill(pid, signal.SIGSTOP)
                    time.sleep(0.05)
                    still = any(self.readlink(f"{fd_dir}/{n}") == path
                                for n in os.listdir(fd_dir))
                    if not still:
                        os.kill(pid, signal.SIGCONT)
                        return False
                    return True
            time.sleep(0.001)
        return False

    @staticmethod
    def readlink(path):
        try:
            return os.readlink(path)
        except OSError:
            return None


class StateDirUserTest(FaultsBase):
    """Case 6: a state directory the agent's user cannot write: the message says the fix."""

    def test_unwritable_state_dir_says_how_to_fix_it(self):
        needs_root(self, "running the agent as nobody")
        self.state.mkdir()
        os.chmod(self.state, 0o755)  # root's
        config = self.config()
        os.chmod(config, 0o644)
        result = self.run_agent(config, "run", as_nobody=True)
        self.assertExit(result, 2)
        self.assertIn("Permission denied", result.err)
        self.assertIn(f"install -d -o nobody {self.state}", result.err)
        self.assertIn("state_dir", result.err)
        self.assertEqual(len(result.err.strip().splitlines()), 1, result.err)


if __name__ == "__main__":
    unittest.main()
