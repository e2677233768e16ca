"""The build as a packager runs it (issue 15): `make` only builds (no package installed),
honours CPPFLAGS/CXXFLAGS/LDFLAGS, makes warnings errors only with WERROR=1, runs in parallel
by default, and `make install` installs stripped binaries. Checked on `make -n` (nothing is
compiled) and on a DESTDIR install."""

SANITIZER_PASS = False  # the Makefile's rules (make -n, one object), not the sanitized binaries

import os
import subprocess
import unittest

import harness

MAKE_TIMEOUT = 120


def make_n(*args: str) -> str:
    """`make -n ARGS` in the repository (V=1: the compiler lines), its output."""
    env = dict(os.environ, MAKEFLAGS="")
    for name in ("CPPFLAGS", "CXXFLAGS", "LDFLAGS", "WERROR"):
        env.pop(name, None)
    proc = subprocess.run(["make", "-n", "-C", str(harness.REPO), "V=1", *args],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=MAKE_TIMEOUT, env=env)
    assert proc.returncode == 0, proc.stdout
    return proc.stdout


def compile_lines(out: str) -> list[str]:
    return [line for line in out.splitlines() if " -c " in line and line.startswith("g++")]


def link_lines(out: str) -> list[str]:
    return [line for line in out.splitlines() if " -o build/webseed-" in line and " -c " not in line]


class PackagerBuild(harness.TreeTestCase):
    def test_plain_make_never_installs_packages(self):
        for target in ([], ["-B", "build/webseed-agent"], ["-B", "build/webseed-collector"],
                       ["-B", "build/obj/config.o"]):
            with self.subTest(target=target):
                self.assertNotIn("install-deps", make_n(*target))

    def test_flags_from_the_environment_or_command_line_are_used(self):
        out = make_n("-B", "build/webseed-agent", "CPPFLAGS=-DPKG_CPP", "CXXFLAGS=-O1 -DPKG_CXX",
                     "LDFLAGS=-Wl,-z,relro")
        compiles, links = compile_lines(out), link_lines(out)
        self.assertTrue(compiles and links, out[:2000])
        for line in compiles:
            self.assertIn("-DPKG_CPP", line)
            self.assertIn("-DPKG_CXX", line)
        for line in links:
            self.assertIn("-Wl,-z,relro", line)

    def test_werror_only_when_asked(self):
        # -Werror=format-security (dpkg-buildflags' hardening) is one warning, not all.
        plain = compile_lines(make_n("-B", "build/obj/config.o"))
        self.assertTrue(plain)
        self.assertFalse([line for line in plain if "-Werror" in line.split()])
        strict = compile_lines(make_n("-B", "build/obj/config.o", "WERROR=1"))
        self.assertTrue(strict and all("-Werror" in line.split() for line in strict))
        self.assertIn("WERROR=1", (harness.REPO / ".ci/run").read_text())

    def test_parallel_by_default(self):
        out = make_n("-p", "build/obj/config.o")
        flags = [line for line in out.splitlines() if line.startswith("MAKEFLAGS")]
        self.assertTrue(any("-j" in line for line in flags), flags)

    def test_hardening_flags_by_default_on_debian(self):
        """Without CXXFLAGS/LDFLAGS, the defaults are dpkg-buildflags' (hardening), so the
        binaries `make deb` packages are the ones `make` built."""
        if subprocess.run(["which", "dpkg-buildflags"], stdout=subprocess.DEVNULL).returncode:
            self.skipTest("no dpkg-buildflags")
        out = make_n("-B", "build/webseed-agent")
        compiles, links = compile_lines(out), link_lines(out)
        self.assertTrue(compiles and links, out[:2000])
        for line in compiles:
            self.assertIn("-fstack-protector-strong", line.split())
            self.assertIn("-D_FORTIFY_SOURCE=2", line.split())
        for line in links:
            self.assertIn("-Wl,-z,now", line.split())

    def test_changed_flags_rebuild_the_objects(self):
        """BUILD/flags records the compiler and flags: an object built with other flags is
        rebuilt (never mixed), the same flags rebuild nothing, -Werror alone changes nothing.
        Built for real (one small object) in a build directory of the test's own."""
        build = self.tmp / "b"
        obj = build / "obj/util/text.o"

        def make(*args):
            env = dict(os.environ, MAKEFLAGS="")
            for name in ("CPPFLAGS", "CXXFLAGS", "LDFLAGS", "WERROR"):
                env.pop(name, None)
            proc = subprocess.run(["make", "-s", "-C", str(harness.REPO), f"BUILD={build}",
                                   str(obj), *args], stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True, timeout=300, env=env)
            self.assertEqual(proc.returncode, 0, proc.stdout)
            return obj.stat().st_mtime_ns

        first = make("CXXFLAGS=-O0")
        self.assertEqual(make("CXXFLAGS=-O0"), first, "same flags: nothing rebuilt")
        self.assertEqual(make("CXXFLAGS=-O0", "WERROR=1"), first, "-Werror changes no object")
        self.assertNotEqual(make("CXXFLAGS=-O0 -DOTHER_FLAGS"), first, "other flags: rebuilt")

    def test_the_collector_links_the_core_library_not_the_agents_commands(self):
        """libwebseed.a holds the shared code; the collector takes only what it uses (torrent
        model, probe, findings, util), not the agent's commands (issue 15)."""
        out = make_n("-B", "build/webseed-collector")
        link = [line for line in link_lines(out) if "-o build/webseed-collector" in line]
        self.assertTrue(link, out[:2000])
        self.assertIn("build/libwebseed.a", link[0].split())
        self.assertNotIn("build/obj/run_run.o", link[0].split())
        collector = harness.REPO / "build/webseed-collector"
        if collector.exists():
            symbols = subprocess.run(["nm", "-C", str(collector)], stdout=subprocess.PIPE,
                                     text=True, timeout=MAKE_TIMEOUT).stdout
            self.assertIn("agent::parse_torrent", symbols)
            for agent_only in ("agent::run_run(", "agent::run_check("):
                self.assertNotIn(agent_only, symbols)


def has_debug_info(path) -> bool:
    out = subprocess.run(["readelf", "-S", "-W", str(path)], stdout=subprocess.PIPE, text=True,
                         timeout=MAKE_TIMEOUT, check=True).stdout
    return ".debug_info" in out


class StrippedInstall(harness.TreeTestCase):
    def test_install_strips_and_build_keeps_debug_info(self):
        env = dict(os.environ, MAKEFLAGS="")
        proc = subprocess.run(["make", "-s", "-C", str(harness.REPO), "install",
                               f"DESTDIR={self.tmp}", "PREFIX=/usr/local"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=300, env=env)
        self.assertEqual(proc.returncode, 0, proc.stdout)
        for name in ("webseed-agent", "webseed-collector"):
            with self.subTest(binary=name):
                self.assertTrue(has_debug_info(harness.REPO / "build" / name))
                self.assertFalse(has_debug_info(self.tmp / "usr/local/bin" / name))


if __name__ == "__main__":
    unittest.main()
