"""`torrent show --base-url URL`: the BEP 19 URL of each file on this mirror.

Contract (docs/torrent-show.md): base (a '/' appended if missing) + symlinks dir (default
experimental/torrent-symlinks, or --symlinks-dir) + '/' + name for a single-file torrent, or
+ name + '/' + path components for a multi-file one; every name/path component
percent-encoded once: RFC 3986 unreserved characters A-Za-z0-9-._~ kept, every other byte
%XX in uppercase. Pad files get no URL. Expected URLs below are written out by hand; `quoted`
(urllib's quote with safe="") is only a second opinion over whole torrents.
"""

from __future__ import annotations

import unittest
import urllib.parse
from typing import Any

import harness
from fixtures import torrents as T

BASE = "https://mirror.example/pub"
TS = "experimental/torrent-symlinks"


def quoted(component: bytes) -> str:
    """RFC 3986 percent-encoding of one component: only A-Za-z0-9-._~ kept (Python >= 3.7)."""
    return urllib.parse.quote(component, safe="")


class UrlTestCase(harness.TreeTestCase):
    def show(self, torrent: dict, *args: str, name: str = "t.torrent") -> dict[str, Any]:
        (self.tmp / name).write_bytes(T.bencode(torrent))
        result, doc = harness.torrent_json(name, *args, cwd=self.tmp)
        self.assertExit(result, 0)
        return doc["torrents"][0]

    def urls(self, torrent: dict, base: str = BASE, *args: str) -> list[str]:
        """The url of every non-pad file; asserts that pad files have none."""
        t = self.show(torrent, "--base-url", base, *args)
        for f in t["files"]:
            self.assertEqual("url" in f, not f["pad"], f)
        return [f["url"] for f in t["files"] if not f["pad"]]


class SingleFileTest(UrlTestCase):
    def test_base_without_and_with_trailing_slash(self):
        torrent = T.make_v1(T.single("ubuntu-20.04.iso", 1000))
        want = ["https://mirror.example/pub/experimental/torrent-symlinks/ubuntu-20.04.iso"]
        self.assertEqual(self.urls(torrent, "https://mirror.example/pub"), want)
        self.assertEqual(self.urls(torrent, "https://mirror.example/pub/"), want)

    def test_base_is_the_host_root(self):
        torrent = T.make_v1(T.single("a.iso", 1000))
        want = ["http://mirror.example:8080/experimental/torrent-symlinks/a.iso"]
        self.assertEqual(self.urls(torrent, "http://mirror.example:8080"), want)
        self.assertEqual(self.urls(torrent, "http://mirror.example:8080/"), want)

    def test_unreserved_characters_are_kept(self):
        name = "AZaz09-._~"
        self.assertEqual(self.urls(T.make_v1(T.single(name, 10))), [f"{BASE}/{TS}/{name}"])

    def test_space_percent_hash_question_mark(self):
        torrent = T.make_v1(T.single("my file 100% #1?.iso", 10))
        self.assertEqual(self.urls(torrent),
                         [f"{BASE}/{TS}/my%20file%20100%25%20%231%3F.iso"])

    def test_reserved_characters_are_encoded(self):
        torrent = T.make_v1(T.single("a+b=c&d;e,f:g@h$i!j'k(l)m*n[o]p\\q\"r<s>t|u^v`w{x}y", 10))
        self.assertEqual(self.urls(torrent), [
            f"{BASE}/{TS}/a%2Bb%3Dc%26d%3Be%2Cf%3Ag%40h%24i%21j%27k%28l%29m%2An%5Bo%5Dp%5Cq"
            "%22r%3Cs%3Et%7Cu%5Ev%60w%7Bx%7Dy"])

    def test_percent_encoded_exactly_once(self):
        # a name that looks encoded already is encoded again, never decoded first
        torrent = T.make_v1(T.single("a%20b%2Fc", 10))
        self.assertEqual(self.urls(torrent), [f"{BASE}/{TS}/a%2520b%252Fc"])

    def test_non_ascii_utf8(self):
        torrent = T.make_v1(T.single("café ☃.iso", 10))
        self.assertEqual(self.urls(torrent), [f"{BASE}/{TS}/caf%C3%A9%20%E2%98%83.iso"])

    def test_not_utf8(self):
        torrent = T.make_v1(T.single(b"bad\xffname.iso", 10))
        t = self.show(torrent, "--base-url", BASE)
        self.assertEqual(t["files"][0]["url"], f"{BASE}/{TS}/bad%FFname.iso")
        self.assertEqual(t.get("name_hex"), b"bad\xffname.iso".hex())
        self.assertIn("\ufffd", t["name"])

    def test_symlinks_dir_option(self):
        torrent = T.make_v1(T.single("a b.iso", 10))
        self.assertEqual(self.urls(torrent, BASE, "--symlinks-dir", "torrents/links"),
                         [f"{BASE}/torrents/links/a%20b.iso"])

    def test_v2_and_hybrid_single_file(self):
        for make in (T.make_v2, T.make_hybrid):
            with self.subTest(make.__name__):
                torrent = make(T.single("x y.img", 40000))
                self.assertEqual(self.urls(torrent), [f"{BASE}/{TS}/x%20y.img"])

    def test_no_url_without_base_url(self):
        t = self.show(T.make_v1(T.single("a.iso", 10)))
        self.assertNotIn("url", t["files"][0])


class MultiFileTest(UrlTestCase):
    PAYLOAD = T.payload("Gentoo 2007.0 #1",
                        ("plain.txt", 10),
                        ("dir with space/b c.txt", 10),
                        ("100%/what?.bin", 10),
                        ("ünï/☃ snow.dat", 10),
                        ("a%20b/c%2Fd", 10),
                        ("empty", 0))
    WANT = {
        "plain.txt": "Gentoo%202007.0%20%231/plain.txt",
        "dir with space/b c.txt": "Gentoo%202007.0%20%231/dir%20with%20space/b%20c.txt",
        "100%/what?.bin": "Gentoo%202007.0%20%231/100%25/what%3F.bin",
        "ünï/☃ snow.dat": "Gentoo%202007.0%20%231/%C3%BCn%C3%AF/%E2%98%83%20snow.dat",
        "a%20b/c%2Fd": "Gentoo%202007.0%20%231/a%2520b/c%252Fd",
        "empty": "Gentoo%202007.0%20%231/empty",
    }

    def check(self, torrent: dict, base: str = BASE, symlinks_dir: str = TS,
              *args: str) -> None:
        t = self.show(torrent, "--base-url", base, *args)
        got = {f["path"]: f["url"] for f in t["files"] if not f["pad"]}
        prefix = base.rstrip("/") + "/" + symlinks_dir + "/"
        self.assertEqual(got, {path: prefix + rest for path, rest in self.WANT.items()})
        for f in t["files"]:
            self.assertEqual("url" in f, not f["pad"], f)
            if not f["pad"]:
                parts = [self.PAYLOAD.raw_name()] + [p.encode() for p in f["path"].split("/")]
                self.assertEqual(f["url"], prefix + "/".join(quoted(p) for p in parts))

    def test_v1(self):
        self.check(T.make_v1(self.PAYLOAD))

    def test_v1_trailing_slash_and_symlinks_dir(self):
        self.check(T.make_v1(self.PAYLOAD), BASE + "/", "ts", "--symlinks-dir", "ts")

    def test_v1_with_pad_files(self):
        self.check(T.make_v1(self.PAYLOAD, pad=True, tail_pad=True))

    def test_v2(self):
        self.check(T.make_v2(self.PAYLOAD))

    def test_hybrid(self):
        self.check(T.make_hybrid(self.PAYLOAD))

    def test_not_utf8_path(self):
        p = T.Payload("n", (T.File((b"d\xfe", b"f\xff g"), 10),))
        t = self.show(T.make_v1(p), "--base-url", BASE)
        (f,) = t["files"]
        self.assertEqual(f["url"], f"{BASE}/{TS}/n/d%FE/f%FF%20g")
        self.assertEqual(f.get("path_hex"), b"d\xfe/f\xff g".hex())

    def test_human_output_shows_each_url(self):
        (self.tmp / "t.torrent").write_bytes(T.bencode(T.make_hybrid(self.PAYLOAD)))
        result = harness.torrent_show("t.torrent", "--base-url", BASE, cwd=self.tmp)
        self.assertExit(result, 0)
        for rest in self.WANT.values():
            self.assertIn(f"{BASE}/{TS}/{rest}", result.out)


if __name__ == "__main__":
    unittest.main()
