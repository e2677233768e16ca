"""The documentation stays true to the binary: every option that `--help` shows is in the
man page and docs/cli.md, every command is in the README, exit codes are in `--help`."""

SANITIZER_PASS = False  # the docs against the --help texts; no code path other modules do not run

import re
import unittest

import harness

REPO = harness.REPO


def help_text(*args):
    result = harness.run_agent(*args, "--help")
    assert result.returncode == 0, str(result)
    return result.out


def subcommands(*path):
    text = help_text(*path)
    if "Subcommands:\n" not in text:
        return []
    section = text.split("Subcommands:\n", 1)[1].split("\n\n", 1)[0]
    return re.findall(r"^\s{2}(\w[\w-]*)\s", section, re.M)


def commands():
    """Top-level commands."""
    return subcommands()


def command_paths(prefix=()):
    """Every command path, nested ones included: ("links",), ("torrent",), ("torrent", "show")."""
    out = []
    for name in subcommands(*prefix):
        path = (*prefix, name)
        out.append(path)
        out.extend(command_paths(path))
    return out


def long_options(text):
    return sorted(set(re.findall(r"(--[a-z][a-z-]+)", text)) - {"--help"})


class DocsMatchBinary(unittest.TestCase):
    def test_commands_are_listed(self):
        self.assertIn("links", commands())
        self.assertIn(("torrent", "show"), command_paths())

    def test_every_option_is_documented(self):
        man = (REPO / "docs" / "webseed-agent.1").read_text().replace("\\-", "-")
        cli = (REPO / "docs" / "cli.md").read_text()
        for args in [()] + command_paths():
            for option in long_options(help_text(*args)):
                with self.subTest(command=args, option=option):
                    self.assertIn(option, man, "missing from docs/webseed-agent.1")
                    self.assertIn(option, cli, "missing from docs/cli.md")

    def test_commands_are_in_readme_and_man_page(self):
        readme = (REPO / "README.md").read_text()
        man = (REPO / "docs" / "webseed-agent.1").read_text()
        for path in command_paths():
            command = " ".join(path)
            if not subcommands(*path):  # a command that does work, not a group
                with self.subTest(command=command):
                    self.assertIn(f"webseed-agent {command}", readme)
                    self.assertRegex(man, rf"\.SS {re.escape(command)}\b")

    def test_help_documents_exit_codes(self):
        text = help_text()
        for code in ("0 ", "1 ", "2 ", "3 "):
            self.assertIn(f"  {code}", text)
        self.assertIn("Exit codes:", help_text("links"))

    def test_version(self):
        result = harness.run_agent("--version")
        self.assertEqual(result.returncode, 0)
        self.assertRegex(result.out, r"^webseed-agent \d+\.\d+\.\d+")

    def test_sample_config_validates(self):
        result = harness.run_agent("--config", REPO / "conf" / "agent.yaml", "links",
                                   "--root", REPO / "tests")
        self.assertNotEqual(result.returncode, 2, str(result))
        self.assertEqual(result.err, "")


if __name__ == "__main__":
    unittest.main()
