"""Messages that said the wrong thing (issue 15, item 6): a usage error points to the help
of the command given (`webseed-agent report` alone names `webseed-agent report --help`, not
the global help); `check --no-probe` says why the probe did not run."""

import json
import os
import unittest

import harness
from fixtures import mirror
from fixtures import torrents as T


class UsageErrors(harness.TreeTestCase):
    def test_usage_error_names_the_subcommands_help(self):
        cases = {("report",): "webseed-agent report --help",
                 ("check", "--no-such-option"): "webseed-agent check --help",
                 ("--no-such-option",): "webseed-agent --help"}
        for args, hint in cases.items():
            with self.subTest(args=args):
                result = harness.run_agent(*args, "--config", self.tmp / "none.yaml")
                self.assertExit(result, 2)
                self.assertIn(f"\nRun '{hint}' for usage.\n", result.stderr.decode(), result)


class NoProbeReason(harness.TreeTestCase):
    def test_no_probe_with_a_base_url_says_no_probe(self):
        root = self.tmp / "mirror"
        mirror.build(root)
        torrents = self.tmp / "torrents"
        torrents.mkdir()
        for name in sorted(os.listdir(root / mirror.SYMLINKS_DIR)):
            T.mktorrent(root / mirror.SYMLINKS_DIR / name, torrents / f"{name}.torrent",
                        piece_log2=15)
        config = self.tmp / "agent.yaml"
        config.write_text(f"mirror:\n  name: m\n  root: {json.dumps(str(root))}\n"
                          f"  base_url: http://127.0.0.1:1/\n"
                          f"torrents:\n  - {json.dumps(str(torrents))}\n"
                          f"state_dir: {json.dumps(str(self.tmp / 'state'))}\n")
        result = harness.run_agent("--config", config, "check", "--no-probe")
        out = result.stdout.decode()
        self.assertIn("web seed:     not probed (--no-probe)\n", out, result)
        self.assertNotIn("no mirror.base_url", out)


if __name__ == "__main__":
    unittest.main()
