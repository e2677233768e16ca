"""A usage error points to the help of the command that was given (issue 15, item 6):
`webseed-agent report` alone names `webseed-agent report --help`, not the global help."""

import unittest

import harness


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


if __name__ == "__main__":
    unittest.main()
