"""webseed-collector's dashboard (GET /, the overview, and GET /?mirror=NAME, one mirror's
cells) with mirrors in different states, read as HTML and rendered by a real browser: headless
Chromium (Debian `chromium`) takes a screenshot (build/collector-dashboard.png) and dumps the
DOM it built.

Mirrors (spot checks off; real reports from the agent's `run --dry-run`): one listed (its tree
served by nginx), one not ready (probed at a closed port), one disabled by the central team
(off), and one named `<script>alert(1)</script>` with a hostile base URL that never reported
(its cells stale; the mirror shown as "never reported", not "stale"). Its name must show as
text, escaped, and no script element may exist in the DOM. The dashboard at 500 mirrors x 200
torrents: test_collector_scale.py."""

import html.parser
import os
import signal
import struct
import subprocess
import unittest

import harness
from fixtures import fake_reports as R
from fixtures import mirror, webservers
from fixtures.collector import Collector

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_TIMEOUT = 90.0
SCREENSHOT = harness.REPO / "build" / "collector-dashboard.png"
HOSTILE_NAME = "<script>alert(1)</script>"
HOSTILE_URL = 'http://evil.example.org/"><script>alert(2)</script>'
EXPECTED = {"listed.example.org": "listed", "broken.example.org": "not-ready",
            "retired.example.org": "off", HOSTILE_NAME: "stale"}
STATUS = {"listed.example.org": "fresh", "broken.example.org": "fresh",
          "retired.example.org": "disabled", HOSTILE_NAME: "never reported"}


class Dom(html.parser.HTMLParser):
    """A dashboard page as the parser sees it: the overview's {mirror: status} and links
    {mirror: href}, a mirror page's cell classes, the mirror link texts and every start
    tag's name."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.tags, self.status, self.links, self.cells, self.names = [], {}, {}, [], []
        self._row = None
        self._in_link = False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append(tag)
        if tag == "tr" and "data-mirror" in a:
            self._row = a["data-mirror"]
            self.status[self._row] = a.get("data-status")
        elif tag == "td" and "c" in (a.get("class") or "").split():
            self.cells.append([c for c in a["class"].split() if c != "c"])
        elif tag == "a" and self._row is not None:
            self._in_link = True
            self.links[self._row] = a.get("href")
            self.names.append("")

    def handle_endtag(self, tag):
        if tag == "a":
            self._in_link = False
        elif tag == "tr":
            self._row = None

    def handle_data(self, data):
        if self._in_link:
            self.names[-1] += data


def run_chromium(tmp, *args, timeout=CHROMIUM_TIMEOUT):
    """Runs headless Chromium with `args` in a process group of its own, killed (the whole
    group) after `timeout` seconds; returns (exit code, stdout, stderr)."""
    argv = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-dev-shm-usage", f"--user-data-dir={tmp / 'chromium-profile'}",
            "--window-size=1400,900", *map(str, args)]
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True,
                            env=dict(os.environ, HOME=str(tmp)))
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        raise AssertionError(f"chromium ran longer than {timeout}s (killed): {argv}\n"
                             f"{err.decode(errors='replace')[-2000:]}") from None
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)    # helpers left behind by the browser
        except ProcessLookupError:
            pass
    return proc.returncode, out.decode(errors="replace"), err.decode(errors="replace")


class CollectorDashboardTest(harness.TreeTestCase):
    @classmethod
    def setUpClass(cls):
        cls.shared = harness.make_tmpdir()
        cls.root = cls.shared / "upstream"
        mirror.build(cls.root, mirror.default_layout())
        cls.tdir = cls.shared / "torrents"
        cls.names = R.make_torrents(cls.root, cls.tdir)

    @classmethod
    def tearDownClass(cls):
        harness.remove_tree(cls.shared)

    def setUp(self):
        super().setUp()
        self.web = webservers.Nginx(self.root).start()
        self.addCleanup(self.web.stop)
        self.col = Collector(self.tmp, self.tdir, spot_check=False)
        self.col.start()
        self.addCleanup(self.col.stop)
        ready = R.dry_run_report(self.tmp, self.root, self.tdir, self.web.base_url, name="ok")
        self.assertTrue(ready["ready"])
        dead = R.closed_port_url()
        not_ready = R.dry_run_report(self.tmp, self.root, self.tdir, dead, name="dead")
        self.assertFalse(not_ready["ready"])
        for name, base, report in (("listed.example.org", self.web.base_url, ready),
                                   ("retired.example.org", self.web.base_url, ready),
                                   ("broken.example.org", dead, not_ready)):
            token = self.col.add_mirror(name, base)
            status, answer = self.col.post_report(R.clone(report, name, base), token)
            self.assertEqual(status, 202, answer)
        self.col.cli("mirror", "disable", "retired.example.org", check=True)
        self.col.add_mirror(HOSTILE_NAME, HOSTILE_URL)
        self.url = self.col.base_url + "/"

    def assertOverview(self, dom, source):
        self.assertEqual(dom.status, STATUS, source)
        self.assertIn(HOSTILE_NAME, dom.names, "the hostile name is shown as text")
        self.assertNotIn("script", dom.tags, "no script element")

    def assertMirrorPages(self, overview):
        for name, state in EXPECTED.items():
            status, _, body = self.col.get(overview.links[name])
            self.assertEqual(status, 200, name)
            page = Dom(body.decode())
            self.assertEqual(page.cells, [[state]] * len(self.names), f"{name}\n{body[:3000]}")
            self.assertNotIn("script", page.tags, "no script element")

    def test_served_html_escapes_and_shows_every_state(self):
        status, headers, body = self.col.get("/")
        self.assertEqual(status, 200)
        self.assertTrue(headers["content-type"].startswith("text/html"), headers)
        text = body.decode()
        self.assertNotIn("<script", text.lower())
        self.assertIn("&lt;script&gt;alert(1)&lt;/script&gt;", text)
        dom = Dom(text)
        self.assertOverview(dom, text)
        self.assertMirrorPages(dom)
        status, _, body = self.col.get(dom.links[HOSTILE_NAME])
        self.assertIn('href="http://evil.example.org/&quot;&gt;&lt;script&gt;', body.decode())
        self.assertNotIn("<script", body.decode().lower())

    @unittest.skipUnless(os.access(CHROMIUM, os.X_OK),
                         f"{CHROMIUM} is not installed (Debian package chromium)")
    def test_rendered_by_headless_chromium(self):
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        if SCREENSHOT.exists():
            SCREENSHOT.unlink()
        code, out, err = run_chromium(self.tmp, f"--screenshot={SCREENSHOT}", self.url)
        self.assertEqual(code, 0, err[-2000:])
        png = SCREENSHOT.read_bytes()
        self.assertEqual(png[:8], b"\x89PNG\r\n\x1a\n", "a PNG file")
        self.assertEqual(png[12:16], b"IHDR")
        width, height = struct.unpack(">II", png[16:24])
        self.assertEqual((width, height), (1400, 900))
        self.assertGreater(len(png), 20_000, "a blank page compresses to a few KiB")

        code, dom_text, err = run_chromium(self.tmp, "--dump-dom", self.url)
        self.assertEqual(code, 0, err[-2000:])
        self.assertIn('id="mirrors"', dom_text, dom_text[:2000])
        self.assertOverview(Dom(dom_text), dom_text)
        self.assertEqual(dom_text.lower().count("<script"), 0)
        hostile = self.col.base_url + Dom(dom_text).links[HOSTILE_NAME]
        code, dom_text, err = run_chromium(self.tmp, "--dump-dom", hostile)
        self.assertEqual(code, 0, err[-2000:])
        self.assertEqual(Dom(dom_text).cells, [["stale"]] * len(self.names), dom_text[:3000])
        self.assertEqual(dom_text.lower().count("<script"), 0)


if __name__ == "__main__":
    unittest.main()
