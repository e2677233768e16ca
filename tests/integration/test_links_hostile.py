"""`links` on hand-made hostile trees: absolute targets, escapes, loops, special files,
unreadable targets and names that are not plain ASCII.

Each test builds ROOT = TMP/mirror with the payload ROOT/releases/x and one multi-file entry
ROOT/experimental/torrent-symlinks/e/ holding a good link (the control) plus the links under
test, then pins the exact findings. From inside the entry, ../../../ is ROOT.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import socket
import stat
import unittest

import harness
from harness import SYMLINKS_DIR, links, links_json, mirror

ENTRY = f"{SYMLINKS_DIR}/e"
QUICK = 5.0   # seconds: for trees holding FIFOs or devices, which must never be opened


class HostileTestCase(harness.TreeTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.root = self.tmp / "mirror"
        mirror.add_file(self.root, "releases/x")
        self.link("good", "../../../releases/x")

    def link(self, name, target) -> str:
        """Adds the link ENTRY/name -> target; returns its path relative to the root."""
        path = f"{ENTRY}/{name}" if isinstance(name, str) else os.fsencode(ENTRY) + b"/" + name
        mirror.add_link(self.root, path, target)
        return path

    def helper_link(self, path: str, target: str) -> None:
        """A link outside the symlinks dir that entry links go through."""
        mirror.add_link(self.root, path, target)

    def check(self, expected: dict[str, str], timeout: float = harness.AGENT_TIMEOUT,
              **kwargs) -> dict:
        """Runs `links --json`: exactly `expected` ({path: code}), exit 1 (0 when empty).
        Returns the document."""
        result, doc = links_json(self.root, timeout=timeout, **kwargs)
        self.assertCodes(doc, {path: [code] for path, code in expected.items()})
        self.assertExit(result, 1 if expected else 0)
        return doc


class AbsoluteTargetTest(HostileTestCase):
    def test_absolute_target_outside_root(self):
        path = self.link("passwd", "/etc/passwd")
        doc = self.check({path: "absolute-target"})
        self.assertEqual(harness.finding(doc, path)["target"], "/etc/passwd")

    def test_absolute_target_inside_root(self):
        path = self.link("abs", f"{self.root}/releases/x")
        doc = self.check({path: "absolute-target"})
        self.assertEqual(harness.finding(doc, path)["target"], f"{self.root}/releases/x")

    def test_absolute_single_file_entry(self):
        path = f"{SYMLINKS_DIR}/abs.iso"
        mirror.add_link(self.root, path, f"{self.root}/releases/x")
        self.check({path: "absolute-target"})

    def test_absolute_intermediate_directory_link(self):
        self.helper_link("releases/absdir", f"{self.root}/releases")
        path = self.link("via-absdir", "../../../releases/absdir/x")
        doc = self.check({path: "absolute-target"})
        self.assertEqual(harness.finding(doc, path)["target"], "../../../releases/absdir/x")

    def test_absolute_link_later_in_the_chain(self):
        self.helper_link("releases/alias", f"{self.root}/releases/x")
        path = self.link("via-alias", "../../../releases/alias")
        self.check({path: "absolute-target"})


class EscapeTest(HostileTestCase):
    def test_dotdot_escape(self):
        path = self.link("passwd", "../../../../etc/passwd")
        self.check({path: "escapes-root"})

    def test_escape_that_comes_back_by_the_root_name(self):
        path = self.link("back", f"../../../../{self.root.name}/releases/x")
        self.assertTrue(os.path.isfile(os.path.join(self.root, path)))   # it does resolve
        self.check({path: "escapes-root"})

    def test_escape_into_sibling_whose_name_extends_the_root_name(self):
        mirror.add_file(self.tmp, f"{self.root.name}-evil/releases/x")
        path = self.link("sibling", f"../../../../{self.root.name}-evil/releases/x")
        self.check({path: "escapes-root"})

    def test_escape_through_intermediate_directory_link(self):
        self.helper_link("releases/evil", "../..")        # ROOT/releases/.. /.. = TMP
        mirror.add_file(self.tmp, "x")                      # so the target exists
        path = self.link("via-evil", "../../../releases/evil/x")
        self.assertTrue(os.path.isfile(os.path.join(self.root, path)))
        self.check({path: "escapes-root"})

    def test_escape_through_directory_link_coming_back_in(self):
        self.helper_link("releases/evil", "../..")
        path = self.link("via-evil-back", f"../../../releases/evil/{self.root.name}/releases/x")
        self.assertTrue(os.path.isfile(os.path.join(self.root, path)))
        self.check({path: "escapes-root"})

    def test_relative_escape_to_dev_zero_is_never_opened(self):
        path = self.link("zero", "../" * 16 + "dev/zero")
        self.check({path: "escapes-root"}, timeout=QUICK)

    def test_escape_from_single_file_entry(self):
        path = f"{SYMLINKS_DIR}/passwd"
        mirror.add_link(self.root, path, "../../../etc/passwd")
        self.check({path: "escapes-root"})


def make_chain(root, length: int) -> str:
    """Links releases/chainN/l1 -> l2 -> ... -> l(length-1) -> ../x; returns the target an
    entry link needs so that following it takes `length` links in all."""
    for i in range(1, length):
        target = f"l{i + 1}" if i < length - 1 else "../x"
        mirror.add_link(root, f"releases/chain{length}/l{i}", target)
    return f"../../../releases/chain{length}/l1"


class LoopTest(HostileTestCase):
    def test_two_links_pointing_at_each_other(self):
        a = self.link("a", "b")
        b = self.link("b", "a")
        self.check({a: "symlink-loop", b: "symlink-loop"})

    def test_self_link(self):
        path = self.link("self", "self")
        self.check({path: "symlink-loop"})

    def test_loop_outside_the_entry(self):
        self.helper_link("releases/la", "lb")
        self.helper_link("releases/lb", "la")
        path = self.link("into-loop", "../../../releases/la")
        self.check({path: "symlink-loop"})

    def test_chain_of_41_links_is_a_loop(self):
        path = self.link("long", make_chain(self.root, 41))
        with self.assertRaises(OSError) as kernel:
            os.stat(os.path.join(self.root, path))
        self.assertEqual(kernel.exception.errno, errno.ELOOP)   # the kernel agrees
        self.check({path: "symlink-loop"})

    def test_chain_of_40_links_resolves(self):
        path = self.link("long", make_chain(self.root, 40))
        os.stat(os.path.join(self.root, path))                  # the kernel follows it
        self.check({})

    def test_chain_of_39_links_resolves(self):
        self.link("long", make_chain(self.root, 39))
        self.check({})


class NotRegularFileTest(HostileTestCase):
    def test_directory_target(self):
        path = self.link("dir", "../../../releases")
        self.check({path: "not-regular-file"})

    def test_fifo_target_is_never_opened(self):
        mirror.add_fifo(self.root, "releases/fifo")
        path = self.link("fifo", "../../../releases/fifo")
        self.check({path: "not-regular-file"}, timeout=QUICK)

    def test_fifo_in_the_entry_is_never_opened(self):
        path = f"{ENTRY}/pipe"
        mirror.add_fifo(self.root, path)
        self.check({path: "not-regular-file"}, timeout=QUICK)

    def test_socket_target(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.addCleanup(sock.close)
        sock.bind(os.fspath(self.root / "releases" / "sock"))
        path = self.link("sock", "../../../releases/sock")
        self.check({path: "not-regular-file"}, timeout=QUICK)

    def test_single_file_entry_linking_to_a_directory(self):
        path = f"{SYMLINKS_DIR}/releases-dir"
        mirror.add_link(self.root, path, "../../releases")
        self.check({path: "not-regular-file"})

    def test_directory_link_inside_entry_is_not_descended(self):
        path = self.link("sub", "../../../releases")   # holds releases/x, a good file
        self.check({path: "not-regular-file"})

    def test_dotdot_target(self):
        path = self.link("up", "..")
        self.check({path: "not-regular-file"})

    def test_device_target_inside_root_is_never_opened(self):
        try:
            os.mknod(self.root / "releases" / "zero", 0o644 | stat.S_IFCHR, os.makedev(1, 5))
        except PermissionError:
            self.skipTest("cannot create a device node here (needs CAP_MKNOD)")
        path = self.link("zero", "../../../releases/zero")
        self.check({path: "not-regular-file"}, timeout=QUICK)


class DanglingTest(HostileTestCase):
    def test_missing_target(self):
        path = self.link("missing", "../../../releases/missing")
        self.check({path: "dangling"})

    def test_regular_file_used_as_a_directory(self):
        path = self.link("file-as-dir", "../../../releases/x/y")
        self.check({path: "dangling"})

    def test_trailing_slash_after_a_file(self):
        path = self.link("slash", "../../../releases/x/")
        self.check({path: "dangling"})

    def test_dangling_single_file_entry(self):
        path = f"{SYMLINKS_DIR}/gone.iso"
        mirror.add_link(self.root, path, "../../releases/gone.iso")
        self.check({path: "dangling"})


class ResolvesTest(HostileTestCase):
    """Unusual but harmless targets: no finding."""

    def test_dot_and_empty_components_inside_root(self):
        self.link("dots", "./../..//.././releases/./x")
        self.link("dots2", ".././/../..//releases//x")
        self.check({})

    def test_through_in_root_directory_link(self):
        mirror.add_file(self.root, "releases/2007.0/file")
        self.helper_link("releases/current", "2007.0")
        self.link("current", "../../../releases/current/file")
        self.check({})

    def test_dotdot_after_directory_link_is_physical(self):
        # releases/current -> x86/2007.0, so current/../../x is releases/x (as the kernel
        # resolves it), not ROOT/x as a textual clean-up would say.
        os.makedirs(self.root / "releases" / "x86" / "2007.0")
        self.helper_link("releases/current", "x86/2007.0")
        path = self.link("physical", "../../../releases/current/../../x")
        self.assertTrue(os.path.isfile(os.path.join(self.root, path)))
        self.check({})

    def test_relative_file_link_in_the_chain(self):
        self.helper_link("releases/alias", "x")
        self.link("alias", "../../../releases/alias")
        self.check({})

    def test_link_to_a_good_link_in_the_same_entry(self):
        self.link("to-good", "good")
        self.link("via-entry", f"../../../{ENTRY}/good")
        self.check({})

    def test_nested_directory_in_entry(self):
        self.link(b"sub/dir/deep", b"../../../../../releases/x")
        doc = self.check({})
        self.assertEqual(doc["entries"][0]["links"], 2)


class UnreadableTest(HostileTestCase):
    """EACCES while resolving. root reads everything, so as root the agent runs as nobody."""

    def run_unprivileged(self) -> tuple[harness.Result, dict]:
        if os.geteuid() != 0:
            return links_json(self.root)
        if not os.path.exists(harness.SETPRIV):
            self.skipTest("running as root and setpriv is missing: cannot test EACCES")
        return links_json(self.root, as_nobody=True)

    def test_mode_000_target_and_locked_directory(self):
        mirror.add_file(self.root, "releases/secret", mode=0o000)
        mirror.add_file(self.root, "releases/locked/y")
        os.chmod(self.root / "releases" / "locked", 0o700)
        secret = self.link("secret", "../../../releases/secret")
        locked = self.link("locked", "../../../releases/locked/y")
        result, doc = self.run_unprivileged()
        self.assertCodes(doc, {secret: ["unreadable"], locked: ["unreadable"]})
        self.assertExit(result, 1)
        for path in (secret, locked):
            self.assertIn(os.strerror(errno.EACCES), harness.finding(doc, path)["message"])

    def test_unlistable_entry_directory(self):
        mirror.add_link(self.root, f"{SYMLINKS_DIR}/locked/a", "../../../releases/x")
        os.chmod(self.root / SYMLINKS_DIR / "locked", 0o000)
        result, doc = self.run_unprivileged()
        self.assertCodes(doc, {f"{SYMLINKS_DIR}/locked": ["unreadable"]})
        self.assertExit(result, 1)

    def test_unlistable_symlinks_dir(self):
        # Not named by the contract: the agent reports it as a tree-level finding.
        os.chmod(self.root / SYMLINKS_DIR, 0o000)
        result, doc = self.run_unprivileged()
        self.assertCodes(doc, {}, tree=["unreadable"])
        self.assertExit(result, 1)


class NamesTest(HostileTestCase):
    """Names are bytes: JSON stays valid UTF-8, exact bytes in *_hex, human output escaped."""

    def setUp(self) -> None:
        super().setUp()
        self.newline = self.link_in(b"new\nline", b"file\nname", b"../../../releases/missing")
        self.space = self.link_in(b"with space", b"a b.iso", b"../../../releases/missing")
        self.bad = self.link_in(b"bad\xffname", b"f\xfe", b"../../../releases/nope\xfd")
        self.ctrl = self.link_in(b"back\\slash", b"esc\x1b[31m", b"../../../releases/missing")
        self.utf8 = self.link_in("caf\u00e9-\u00fc".encode(), b"ok", b"../../../releases/x")

    def link_in(self, entry: bytes, name: bytes, target: bytes) -> bytes:
        path = os.fsencode(SYMLINKS_DIR) + b"/" + entry + b"/" + name
        mirror.add_link(self.root, path, target)
        return path

    def test_json_is_valid_and_keeps_exact_bytes(self):
        result, doc = links_json(self.root)
        self.assertExit(result, 1)
        self.assertEqual(harness.codes_by_raw_path(doc), {
            self.newline: ["dangling"], self.space: ["dangling"], self.bad: ["dangling"],
            self.ctrl: ["dangling"]})

        f = harness.finding(doc, self.newline.decode())
        self.assertEqual(f["path"], "experimental/torrent-symlinks/new\nline/file\nname")
        self.assertNotIn("path_hex", f)
        self.assertEqual(harness.finding(doc, self.space.decode())["path"],
                         "experimental/torrent-symlinks/with space/a b.iso")

        [f] = [f for f in harness.all_findings(doc) if "path_hex" in f]
        self.assertEqual(f["path_hex"], self.bad.hex())
        self.assertEqual(f["path"], self.bad.decode("utf-8", "replace"))
        self.assertEqual(f["target_hex"], b"../../../releases/nope\xfd".hex())
        self.assertEqual(f["target"], "../../../releases/nope\ufffd")

        by_name = {harness.raw(e, "name"): e for e in doc["entries"]}
        self.assertEqual(harness.finding(doc, self.ctrl.decode())["path"],
                         "experimental/torrent-symlinks/back\\slash/esc\x1b[31m")
        self.assertEqual(sorted(by_name), [b"back\\slash", b"bad\xffname",
                                           "caf\u00e9-\u00fc".encode(), b"e",
                                           b"new\nline", b"with space"])
        self.assertEqual(by_name[b"bad\xffname"]["name_hex"], b"bad\xffname".hex())
        self.assertEqual(by_name[b"bad\xffname"]["name"], "bad\ufffdname")
        for name in (b"new\nline", "caf\u00e9-\u00fc".encode(), b"e"):
            self.assertNotIn("name_hex", by_name[name])
            self.assertEqual(by_name[name]["name"], name.decode())
        self.assertTrue(by_name["caf\u00e9-\u00fc".encode()]["ok"])

    def test_human_output_escapes_names(self):
        result = links(self.root)
        self.assertExit(result, 1)
        shown = result.stdout + result.stderr
        self.assertNotIn(b"new\nline", shown)
        self.assertNotIn(b"file\nname", shown)
        self.assertIn(b"new\\nline/file\\nname", shown)
        self.assertNotIn(b"\xff", shown)
        self.assertNotIn(b"\xfe", shown)
        self.assertRegex(shown, re.compile(rb"bad\\x[fF][fF]name/f\\x[fF][eE]"))
        self.assertRegex(shown, re.compile(rb"nope\\x[fF][dD]"))
        self.assertRegex(shown, re.compile(rb'"[^"\n]*with space/a b\.iso"'))
        self.assertNotIn(b"\x1b", shown)        # no terminal escape reaches the screen
        self.assertRegex(shown, re.compile(rb"back\\\\slash/esc\\x1[bB]\[31m"))


class HostilePresetTest(harness.TreeTestCase):
    """mirror.add_hostile (also used by `make demo`) on top of a good upstream tree."""

    def test_every_hostile_link_has_its_code_and_good_entries_stay_ok(self):
        root = self.tmp / "mirror"
        layout = mirror.build(root)
        expected = mirror.add_hostile(root)
        result, doc = links_json(root, timeout=QUICK)
        self.assertExit(result, 1)
        self.assertCodes(doc, {path: [code] for path, code in expected.items()})
        ok = {e["name"] for e in doc["entries"] if e["ok"]}
        self.assertEqual(ok, {e.name for e in layout.entries})


if __name__ == "__main__":
    unittest.main()
