"""The build as a packager runs it (issue 15): `make` only builds (no package installed),
honours CPPFLAGS/CXXFLAGS/LDFLAGS, makes warnings errors only with WERROR=1, runs in parallel
by default, and `make install` installs stripped binaries. Checked on `make -n` (nothing is
compiled) and on a DESTDIR install."""

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


class PackagerBuild(unittest.TestCase):
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
        plain = compile_lines(make_n("-B", "build/obj/config.o"))
        self.assertTrue(plain)
        self.assertFalse([line for line in plain if "-Werror" in line])
        strict = compile_lines(make_n("-B", "build/obj/config.o", "WERROR=1"))
        self.assertTrue(strict and all("-Werror" in line for line in strict))
        self.assertIn("WERROR=1", (harness.REPO / ".ci/run").read_text())

    def test_parallel_by_default(self):
        out = make_n("-p", "build/obj/config.o")
        flags = [line for line in out.splitlines() if line.startswith("MAKEFLAGS")]
        self.assertTrue(any("-j" in line for line in flags), flags)


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
