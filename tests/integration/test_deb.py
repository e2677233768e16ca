"""`make deb` (contrib/debian/): the two packages build, lintian shows nothing but the tags
contrib/debian/lintian-expected allows (each with its reason), and dpkg installs them: the
programs run, the installed hook works under cron's environment against a tiny mirror, and
purge removes it. The install happens for real with dpkg, but inside a private mount namespace
whose /usr, /etc and /var are overlays on a temp directory, so the machine (and the other
tests, which must not see an /etc/webseed-agent/agent.yaml) never sees it. Skips without
root, dpkg-deb, lintian or unshare."""

from __future__ import annotations

SANITIZER_PASS = False  # make deb packages the normal build

import json
import os
import re
import shutil
import subprocess
import unittest

import harness
from fixtures import mirror
from fixtures import torrents as T

VERSION = re.search(r"^VERSION := (\S+)$", (harness.REPO / "Makefile").read_text(), re.M)[1]
EXPECTED = harness.REPO / "contrib/debian/lintian-expected"
BUILD_TIMEOUT = 600   # make deb when the binaries are built: seconds
DPKG_TIMEOUT = 300


def allowed_tags() -> set[str]:
    tags = set()
    for line in EXPECTED.read_text().splitlines():
        tag, _, why = line.partition("#")
        if tag.strip():
            assert why.strip(), f"{EXPECTED}: '{tag.strip()}' needs a reason after '#'"
            tags.add(tag.strip())
    return tags


AGENT_FILES = ("./usr/bin/webseed-agent", "./usr/share/man/man1/webseed-agent.1.gz",
               "./usr/share/webseed-agent/hooks/webseed-rsync",
               "./usr/share/webseed-agent/hooks/ftpsync-hook",
               "./lib/systemd/system/webseed-agent.service",
               "./lib/systemd/system/webseed-agent.timer",
               "./etc/webseed-agent/agent.yaml", "./usr/share/doc/webseed-agent/copyright")
COLLECTOR_FILES = ("./usr/bin/webseed-collector", "./usr/share/man/man1/webseed-collector.1.gz",
                   "./lib/systemd/system/webseed-collector.service",
                   "./etc/webseed-collector/collector.yaml",
                   "./usr/share/doc/webseed-collector/copyright",
                   "./usr/share/doc/webseed-collector/collector.md.gz")


class DebianPackage(harness.TreeTestCase):
    debs: dict = {}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for tool in ("dpkg-deb", "dpkg-shlibdeps", "lintian", "unshare"):
            if shutil.which(tool) is None:
                raise unittest.SkipTest(f"{tool} missing (apt-get install dpkg-dev lintian)")
        env = dict(os.environ, MAKEFLAGS="")
        proc = subprocess.run(["make", "-s", "-C", str(harness.REPO), "deb"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=BUILD_TIMEOUT)
        assert proc.returncode == 0, proc.stdout
        cls.debs = {}
        for line in proc.stdout.strip().splitlines()[-2:]:
            path = harness.REPO / line
            cls.debs[path.name.split("_")[0]] = path

    def contents(self, pkg: str) -> str:
        return subprocess.run(["dpkg-deb", "-c", str(self.debs[pkg])], stdout=subprocess.PIPE,
                              text=True, check=True, timeout=60).stdout

    def test_two_packages_each_with_its_files(self):
        arch = subprocess.run(["dpkg", "--print-architecture"], stdout=subprocess.PIPE,
                              text=True, check=True).stdout.strip()
        self.assertEqual(sorted(p.name for p in self.debs.values()),
                         [f"webseed-agent_{VERSION}_{arch}.deb",
                          f"webseed-collector_{VERSION}_{arch}.deb"])
        for pkg, mine, theirs in (("webseed-agent", AGENT_FILES, COLLECTOR_FILES),
                                  ("webseed-collector", COLLECTOR_FILES, AGENT_FILES)):
            listing = self.contents(pkg)
            for path in mine:
                self.assertIn(f" {path}\n", listing, f"{pkg}: {path}")
            for path in theirs:
                self.assertNotIn(f" {path}\n", listing, f"{pkg}: {path}")
            fields = subprocess.run(["dpkg-deb", "-f", str(self.debs[pkg])],
                                    stdout=subprocess.PIPE, text=True, check=True).stdout
            self.assertIn("Depends: ", fields)
            self.assertIn(f"Package: {pkg}\n", fields)

    def test_programs_are_stripped_and_hardened(self):
        """Stripped (no debug info in the package), built with dpkg-buildflags' hardening
        (relro + bindnow, stack protector, _FORTIFY_SOURCE)."""
        for pkg in self.debs:
            with self.subTest(pkg=pkg):
                out = self.tmp / pkg
                subprocess.run(["dpkg-deb", "-x", str(self.debs[pkg]), str(out)], check=True,
                               timeout=120)
                exe = out / "usr/bin" / pkg
                sections = subprocess.run(["readelf", "-S", "-W", str(exe)], check=True,
                                          stdout=subprocess.PIPE, text=True).stdout
                self.assertNotIn(".debug_info", sections)
                dynamic = subprocess.run(["readelf", "-d", "-W", str(exe)], check=True,
                                         stdout=subprocess.PIPE, text=True).stdout
                self.assertRegex(dynamic, r"\(FLAGS\)\s+BIND_NOW")
                symbols = subprocess.run(["readelf", "--dyn-syms", "-W", str(exe)], check=True,
                                         stdout=subprocess.PIPE, text=True).stdout
                self.assertIn("__stack_chk_fail", symbols)
                self.assertRegex(symbols, r"__\w+_chk@")   # a _FORTIFY_SOURCE function
                headers = subprocess.run(["readelf", "-l", "-W", str(exe)], check=True,
                                         stdout=subprocess.PIPE, text=True).stdout
                self.assertIn("GNU_RELRO", headers)

    def test_lintian_shows_only_the_expected_tags(self):
        proc = subprocess.run(["lintian", "--no-cfg", "--pedantic", "--info",
                               *map(str, self.debs.values())],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=DPKG_TIMEOUT)
        found = re.findall(r"^([EWIP]): webseed-[a-z]+[^:]*: (\S+)", proc.stdout, re.M)
        unexpected = [f"{level}: {tag}" for level, tag in found if tag not in allowed_tags()]
        self.assertEqual(unexpected, [], proc.stdout)
        self.assertNotIn("E: ", proc.stdout, proc.stdout)

    def test_installs_runs_and_purges(self):
        if os.geteuid() != 0:
            self.skipTest("dpkg -i needs root")
        upstream, root, state = self.tmp / "upstream", self.tmp / "mirror", self.tmp / "state"
        mirror.build(upstream)
        state.mkdir()
        torrents = self.tmp / "torrents"
        torrents.mkdir()
        for name in sorted(os.listdir(upstream / mirror.SYMLINKS_DIR)):
            T.mktorrent(upstream / mirror.SYMLINKS_DIR / name, torrents / f"{name}.torrent",
                        piece_log2=15)
        config = self.tmp / "agent.yaml"
        config.write_text(f"mirror:\n  name: mirror.test\n  root: {json.dumps(str(root))}\n"
                          f"torrents:\n  - {json.dumps(str(torrents))}\n"
                          f"state_dir: {json.dumps(str(state))}\n")
        ov = self.tmp / "overlay"
        script = f"""set -eu
for d in usr etc var; do
    mkdir -p {ov}/up/$d {ov}/work/$d
    mount -t overlay overlay -o lowerdir=/$d,upperdir={ov}/up/$d,workdir={ov}/work/$d /$d
done
export DEBIAN_FRONTEND=noninteractive
dpkg -i "{self.debs['webseed-agent']}" "{self.debs['webseed-collector']}" >/dev/null
echo "== version: $(webseed-agent --version)"
webseed-collector --help | grep -q '^Documentation: man webseed-collector, /usr/share/doc/webseed-collector/collector.md$'
[ -f /usr/share/doc/webseed-collector/collector.md.gz ]
echo "== collector help ok"
getent passwd webseed-collector >/dev/null && echo "== user ok"
[ "$(stat -c %U /var/lib/webseed-collector)" = webseed-collector ] && echo "== state dir ok"
env -i PATH=/usr/bin:/bin /usr/share/webseed-agent/hooks/webseed-rsync -c {config} -- -a {upstream}/ {root} && echo "== hook exit 0"
dpkg --purge webseed-agent webseed-collector >/dev/null
[ ! -e /usr/bin/webseed-agent ] && [ ! -e /usr/bin/webseed-collector ] && [ ! -e /etc/webseed-agent ] && \
    [ ! -e /etc/webseed-collector ] && [ ! -e /var/lib/webseed-agent ] && [ ! -e /var/lib/webseed-collector ] && echo "== purged"
"""
        proc = subprocess.run(["unshare", "-m", "--propagation", "private", "bash", "-c", script],
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, timeout=DPKG_TIMEOUT)
        out = f"exit {proc.returncode}\n--- stdout\n{proc.stdout}--- stderr\n{proc.stderr}"
        self.assertEqual(proc.returncode, 0, out)
        self.assertIn(f"== version: webseed-agent {VERSION}\n", proc.stdout, out)
        for step in ("collector help ok", "user ok", "state dir ok", "hook exit 0", "purged"):
            self.assertIn(f"== {step}\n", proc.stdout, out)
        doc = json.loads((state / "status.json").read_text())
        self.assertEqual((doc["outcome"], doc["sync"]["rsync_exit"]), ("ready", 0))
        self.assertFalse(os.path.exists("/usr/bin/webseed-agent"), "the machine never saw it")


class PackagingScripts(unittest.TestCase):
    def test_scripts_pass_shellcheck(self):
        shellcheck = shutil.which("shellcheck")
        if shellcheck is None:
            self.skipTest("shellcheck not installed (apt-get install shellcheck)")
        for name in ("build-deb", "webseed-agent.postinst", "webseed-agent.postrm",
                     "webseed-collector.postinst", "webseed-collector.postrm"):
            with self.subTest(script=name):
                proc = subprocess.run([shellcheck, str(harness.REPO / "contrib/debian" / name)],
                                      stdout=subprocess.PIPE, text=True, timeout=60)
                self.assertEqual(proc.returncode, 0, proc.stdout)


if __name__ == "__main__":
    unittest.main()
