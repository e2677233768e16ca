"""`links` on trees mirrored with the real rsync, with the option sets mirrors use.

The upstream tree (tests/fixtures/mirror.py) has multi-file entries (directories of links,
one with a nested directory and a name with a space) and single-file entries (one link
directly under the symlinks dir). Each test mirrors it into a fresh root and pins the
exact findings per path and the exit code.
"""

from __future__ import annotations

import os
import unittest
from pathlib import Path

import harness
from harness import SYMLINKS_DIR, contents, links, links_json, mirror, run_rsync


class UpstreamTestCase(harness.TreeTestCase):
    """One upstream tree per class (read-only); a fresh mirror root per test."""

    layout_kind: str = ""   # "", "multi" or "single": which entries the upstream has

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        if not os.access(harness.RSYNC, os.X_OK):
            raise unittest.SkipTest(f"{harness.RSYNC} missing (contrib/install-deps test)")
        layout = mirror.default_layout()
        if cls.layout_kind:
            layout = layout.select(cls.layout_kind)
        cls.upstream, cls.layout = mirror.make_upstream(layout=layout)
        cls.addClassCleanup(harness.remove_tree, cls.upstream.parent)

    def setUp(self) -> None:
        super().setUp()
        self.root = self.tmp / "mirror"
        self.root.mkdir(mode=0o755)

    def sync(self, *opts: str) -> Path:
        """rsync OPTS upstream/ root/; returns the root."""
        run_rsync(contents(self.upstream), self.root, *opts)
        return self.root

    def multi_entries(self) -> list[str]:
        return [self.layout.entry_path(e.name) for e in self.layout.entries if e.kind == "multi"]

    def symlinks_under(self, top: Path) -> list[Path]:
        return [Path(d, n) for d, dirs, files in os.walk(top) for n in dirs + files
                if Path(d, n).is_symlink()]


class ArchiveTest(UpstreamTestCase):
    def test_archive_mirror_is_ok_with_no_finding(self):
        result, doc = links_json(self.sync("-a"))
        self.assertExit(result, 0)
        self.assertCodes(doc, {})
        self.assertTrue(doc["ok"])
        self.assertEqual(doc["root"], str(self.root))
        self.assertEqual(doc["symlinks_dir"], SYMLINKS_DIR)
        expected = self.layout.expected_entries()
        self.assertEqual(doc["summary"], {"entries": len(expected), "entries_ok": len(expected),
                                          "links": len(self.layout.links()),
                                          "errors": 0, "warnings": 0})
        self.assertEqual({e["name"]: e["links"] for e in doc["entries"]},
                         {name: len(paths) for name, paths in expected.items()})
        self.assertTrue(all(e["ok"] for e in doc["entries"]))

    def test_relative_root_is_reported_absolute(self):
        self.sync("-a")
        result, doc = links_json("mirror", cwd=self.tmp)
        self.assertExit(result, 0)
        self.assertEqual(doc["root"], str(self.root))

    def test_root_path_with_space_and_non_ascii(self):
        self.root = self.tmp / "mirror root \u00e9"
        result, doc = links_json(self.sync("-a"))
        self.assertExit(result, 0)
        self.assertEqual(doc["root"], str(self.root))

    def test_symlinks_dir_option_moves_the_audited_dir(self):
        self.sync("-a")
        os.rename(self.root / "experimental", self.root / "torrents")
        result, doc = links_json(self.root, "--symlinks-dir", "torrents/torrent-symlinks")
        self.assertExit(result, 0)
        self.assertCodes(doc, {})
        self.assertEqual(doc["symlinks_dir"], "torrents/torrent-symlinks")
        self.assertEqual(doc["summary"]["links"], len(self.layout.links()))


class NoLinksTest(UpstreamTestCase):
    """rsync -rt: no -l, so rsync skips every symlink but still creates the directories."""

    def test_multi_file_entries_become_empty_and_single_file_links_vanish(self):
        result, doc = links_json(self.sync("-rt"))
        self.assertExit(result, 1)
        self.assertCodes(doc, {path: ["empty-entry"] for path in self.multi_entries()})
        self.assertEqual([e["name"] for e in doc["entries"]],
                         sorted(e.name for e in self.layout.entries if e.kind == "multi"))
        for path in self.multi_entries():
            f = harness.finding(doc, path)
            self.assertIsNone(f["target"])
            self.assertIn("--links", f["hint"], f)
        self.assertFalse(doc["ok"])
        self.assertEqual(doc["summary"]["errors"], len(self.multi_entries()))
        self.assertEqual(doc["summary"]["entries_ok"], 0)


class NoLinksSingleFileOnlyTest(UpstreamTestCase):
    layout_kind = "single"

    def test_tree_of_single_file_links_becomes_empty_tree(self):
        result, doc = links_json(self.sync("-rt"))
        self.assertExit(result, 1)
        self.assertCodes(doc, {}, tree=["empty-tree"])
        self.assertEqual(doc["entries"], [])
        self.assertEqual(doc["findings"][0]["path"], SYMLINKS_DIR)


class CopyLinksTest(UpstreamTestCase):
    """rsync -rtL: links replaced by copies of their targets."""

    def test_copies_are_not_symlink_warnings_only(self):
        result, doc = links_json(self.sync("-rtL"))
        self.assertExit(result, 0)
        self.assertCodes(doc, {path: ["not-symlink"] for path in self.layout.expected_links()})
        self.assertTrue(doc["ok"])
        self.assertEqual(doc["summary"]["warnings"], len(self.layout.links()))
        self.assertEqual(doc["summary"]["errors"], 0)
        for f in harness.all_findings(doc):
            self.assertEqual(f["severity"], "warning")
            self.assertIsNone(f["target"], f)


class ReleasesExcludedTest(UpstreamTestCase):
    def test_every_link_dangles(self):
        result, doc = links_json(self.sync("-a", "--exclude", "releases/"))
        self.assertExit(result, 1)
        expected = self.layout.expected_links()
        self.assertCodes(doc, {path: ["dangling"] for path in expected})
        for path, target in expected.items():
            f = harness.finding(doc, path)
            self.assertEqual(f["target"], target)
            self.assertIn("releases/", f["hint"], f)
        self.assertEqual(doc["summary"]["entries_ok"], 0)


class MissingTreeTest(UpstreamTestCase):
    def test_missing_symlinks_dir_is_a_tree_finding(self):
        result, doc = links_json(self.sync("-a", "--exclude", "/experimental/"))
        self.assertFalse((self.root / "experimental").exists())
        self.assertExit(result, 1)
        self.assertCodes(doc, {}, tree=["missing-tree"])
        self.assertEqual(doc["entries"], [])
        self.assertEqual(doc["findings"][0]["path"], SYMLINKS_DIR)

    def test_symlinks_dir_without_entries_is_empty_tree(self):
        result, doc = links_json(self.sync("-a", "--exclude", f"/{SYMLINKS_DIR}/*"))
        self.assertTrue((self.root / SYMLINKS_DIR).is_dir())
        self.assertExit(result, 1)
        self.assertCodes(doc, {}, tree=["empty-tree"])


class SafeLinksTest(UpstreamTestCase):
    """--safe-links: rsync drops a link whose target climbs above the top of the transfer.
    What rsync does is asserted on the mirror itself before the agent looks at it."""

    def test_experimental_alone_loses_every_link(self):
        # Mirrors often sync releases/ and experimental/ as separate modules.
        run_rsync(contents(self.upstream / "releases"), self.root / "releases", "-a")
        proc = run_rsync(contents(self.upstream / "experimental"), self.root / "experimental",
                         "-a", "--safe-links", "-v")
        self.assertIn("ignoring unsafe symlink", proc.stdout + proc.stderr)
        self.assertEqual(self.symlinks_under(self.root), [])
        result, doc = links_json(self.root)
        self.assertExit(result, 1)
        self.assertCodes(doc, {path: ["empty-entry"] for path in self.multi_entries()})

    def test_whole_tree_keeps_every_link(self):
        self.sync("-a", "--safe-links")
        self.assertEqual(len(self.symlinks_under(self.root)), len(self.layout.links()))
        result, doc = links_json(self.root)
        self.assertExit(result, 0)
        self.assertCodes(doc, {})

    def test_experimental_named_without_slash_keeps_links(self):
        # `rsync SRC/experimental DST/`: the names sent start with experimental/, so
        # ../../../ climbs exactly to the top of the transfer, which rsync deems safe.
        run_rsync(contents(self.upstream / "releases"), self.root / "releases", "-a")
        run_rsync(self.upstream / "experimental", contents(self.root), "-a", "--safe-links")
        self.assertEqual(len(self.symlinks_under(self.root)), len(self.layout.links()))
        result, doc = links_json(self.root)
        self.assertExit(result, 0)
        self.assertCodes(doc, {})


class HumanOutputTest(UpstreamTestCase):
    """The default (human) output: same exit codes as --json, every finding's code and hint
    shown, names escaped."""

    def check_human(self, root: Path, code: int) -> harness.Result:
        _, doc = links_json(root)
        result = links(root)
        self.assertExit(result, code)
        shown = result.out + result.err
        for f in harness.all_findings(doc):
            self.assertIn(f["code"], shown, f"code of {f['path']!r} not shown\n{result}")
            self.assertIn(f["hint"], shown, f"hint of {f['path']!r} not shown\n{result}")
        return result

    def test_archive(self):
        self.check_human(self.sync("-a"), 0)

    def test_no_links_hint_mentions_links_option(self):
        result = self.check_human(self.sync("-rt"), 1)
        self.assertIn("--links", result.out + result.err)
        self.assertIn("empty-entry", result.out + result.err)

    def test_copy_links_warnings_exit_zero(self):
        result = self.check_human(self.sync("-rtL"), 0)
        self.assertIn("not-symlink", result.out + result.err)

    def test_dangling_hint_mentions_releases(self):
        result = self.check_human(self.sync("-a", "--exclude", "releases/"), 1)
        hints = [line for line in (result.out + result.err).splitlines() if "->" not in line]
        self.assertTrue(any("releases/" in line for line in hints),
                        f"no hint line mentions releases/\n{result}")

    def test_missing_tree(self):
        result = self.check_human(self.sync("-a", "--exclude", "/experimental/"), 1)
        self.assertIn("missing-tree", result.out + result.err)

    def test_name_with_space_is_quoted(self):
        result = self.check_human(self.sync("-a", "--exclude", "releases/"), 1)
        self.assertRegex(result.out + result.err, r'"[^"\n]*release notes\.txt"')


if __name__ == "__main__":
    unittest.main()
