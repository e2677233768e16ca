"""--config: errors point at FILE:LINE:COL and exit 2; mirror.root is used unless --root.

Config keys: mirror: {name, root, base_url}, symlinks_dir, torrents (list of strings),
state_dir. mirror.name and mirror.root are required; paths in the file must be absolute.
Positions are 1-based (line 1, column 1 is the first character of the file).
"""

from __future__ import annotations

import os
import re
import unittest

import harness
from harness import SYMLINKS_DIR, mirror, run_agent


class ConfigTestCase(harness.TreeTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.root = self.tmp / "mirror"
        mirror.build(self.root)
        self.config = self.tmp / "agent.yaml"

    def write_config(self, text: str) -> str:
        self.config.write_text(text)
        return str(self.config)

    def assertUsageError(self, result: harness.Result, *needles: str) -> None:
        """Exit 2 and one `webseed-agent: error: ...` on stderr mentioning every needle."""
        self.assertExit(result, 2)
        self.assertIn("webseed-agent: error: ", result.err, result)
        for needle in needles:
            self.assertIn(needle, result.err, result)

    def assertPosition(self, result: harness.Result, line: int, *columns: int) -> None:
        """stderr has CONFIG:LINE:COL with COL one of `columns`."""
        cols = "|".join(str(c) for c in columns)
        self.assertRegex(result.err, re.escape(f"{self.config}:{line}:") + f"({cols})\\b",
                         f"no {self.config}:{line}:{cols} in stderr\n{result}")


class ConfigErrorTest(ConfigTestCase):
    def test_missing_config_file(self):
        missing = self.tmp / "nope.yaml"
        result = run_agent("--config", missing, "links", "--json")
        self.assertUsageError(result, str(missing))
        self.assertEqual(result.stdout, b"")

    def test_missing_config_file_even_with_root(self):
        missing = self.tmp / "nope.yaml"
        result = run_agent("--config", missing, "links", "--root", self.root)
        self.assertUsageError(result, str(missing))

    def test_unknown_key_in_mirror(self):
        self.write_config(f"mirror:\n  name: test\n  root: {self.root}\n  nmae: typo\n")
        result = run_agent("--config", self.config, "links", "--json")
        self.assertUsageError(result, "nmae")
        self.assertPosition(result, 4, 3)
        self.assertEqual(result.stdout, b"")

    def test_unknown_top_level_key(self):
        self.write_config(f"mirror:\n  name: test\n  root: {self.root}\nsate_dir: /var/x\n")
        result = run_agent("--config", self.config, "links")
        self.assertUsageError(result, "sate_dir")
        self.assertPosition(result, 4, 1)

    def test_unknown_key_is_an_error_even_with_root(self):
        self.write_config(f"mirror:\n  name: test\n  root: {self.root}\n  nmae: typo\n")
        result = run_agent("--config", self.config, "links", "--root", self.root)
        self.assertUsageError(result, "nmae")

    def test_torrents_of_wrong_type(self):
        self.write_config(f"mirror:\n  name: test\n  root: {self.root}\ntorrents: 5\n")
        result = run_agent("--config", self.config, "links")
        self.assertUsageError(result, "torrents")
        self.assertPosition(result, 4, 1, 11)   # the key or its value

    def test_mirror_of_wrong_type(self):
        self.write_config("mirror: [a, b]\n")
        result = run_agent("--config", self.config, "links")
        self.assertUsageError(result, "mirror")
        self.assertPosition(result, 1, 1, 9)

    def test_missing_mirror_name(self):
        self.write_config(f"mirror:\n  root: {self.root}\n")
        result = run_agent("--config", self.config, "links")
        self.assertUsageError(result, "name", str(self.config))

    def test_missing_mirror_root(self):
        self.write_config("mirror:\n  name: test\n")
        result = run_agent("--config", self.config, "links")
        self.assertUsageError(result, "root", str(self.config))

    def test_relative_root_in_file(self):
        self.write_config("mirror:\n  name: test\n  root: srv/mirror\n")
        result = run_agent("--config", self.config, "links")
        self.assertUsageError(result, "srv/mirror")
        self.assertPosition(result, 3, 3, 9)

    def test_relative_state_dir_in_file(self):
        self.write_config(f"mirror:\n  name: test\n  root: {self.root}\nstate_dir: var/state\n")
        result = run_agent("--config", self.config, "links")
        self.assertUsageError(result, "var/state")
        self.assertPosition(result, 4, 1, 12)

    def test_yaml_syntax_error(self):
        self.write_config("mirror:\n  name: [unclosed\n")
        result = run_agent("--config", self.config, "links")
        self.assertUsageError(result, str(self.config))

    def test_empty_file(self):
        self.write_config("")
        result = run_agent("--config", self.config, "links")
        self.assertUsageError(result, str(self.config))

    @unittest.skipIf(os.path.exists(harness.SYSTEM_CONFIG),
                     f"{harness.SYSTEM_CONFIG} exists on this machine")
    def test_no_config_and_no_root(self):
        result = run_agent("links", "--json")
        self.assertUsageError(result)
        self.assertEqual(result.stdout, b"")


class ConfigRootTest(ConfigTestCase):
    def test_root_from_config(self):
        self.write_config(f"mirror:\n  name: test\n  root: {self.root}\n")
        result = run_agent("--config", self.config, "links", "--json")
        self.assertExit(result, 0)
        doc = result.json()
        harness.check_schema(doc, result)
        self.assertEqual(doc["root"], str(self.root))
        self.assertEqual(doc["summary"]["links"], len(mirror.default_layout().links()))

    def test_root_option_overrides_config_root(self):
        self.write_config(f"mirror:\n  name: test\n  root: {self.tmp / 'elsewhere'}\n")
        result = run_agent("--config", self.config, "links", "--root", self.root, "--json")
        self.assertExit(result, 0)
        self.assertEqual(result.json()["root"], str(self.root))

    def test_full_config_is_accepted(self):
        self.write_config(
            "# a complete configuration\n"
            "mirror:\n"
            "  name: test-mirror\n"
            f"  root: {self.root}\n"
            "  base_url: https://mirror.example.org/gentoo/\n"
            f"symlinks_dir: {SYMLINKS_DIR}\n"
            f"state_dir: {self.tmp / 'state'}\n")
        result = run_agent("--config", self.config, "links", "--json")
        self.assertExit(result, 0)
        doc = result.json()
        self.assertEqual(doc["root"], str(self.root))
        self.assertEqual(doc["symlinks_dir"], SYMLINKS_DIR)

    def test_symlinks_dir_from_config(self):
        os.rename(self.root / "experimental", self.root / "torrents")
        self.write_config(f"mirror:\n  name: test\n  root: {self.root}\n"
                          "symlinks_dir: torrents/torrent-symlinks\n")
        result = run_agent("--config", self.config, "links", "--json")
        self.assertExit(result, 0)
        self.assertEqual(result.json()["symlinks_dir"], "torrents/torrent-symlinks")


if __name__ == "__main__":
    unittest.main()
