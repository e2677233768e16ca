"""`verify` on bad input: a truncated or hostile torrent, a content path that is not there."""

import unittest

import harness
from fixtures import torrents as T


class VerifyErrorPaths(harness.TreeTestCase):
    def setUp(self):
        super().setUp()
        self.payload = self.tmp / "p"
        self.payload.mkdir()
        (self.payload / "a").write_bytes(b"a" * 5000)
        self.good = T.mktorrent(self.payload, self.tmp / "good.torrent", piece_log2=15)

    def test_truncated_torrent_is_torrent_invalid(self):
        bad = self.tmp / "bad.torrent"
        bad.write_bytes(self.good.read_bytes()[:40])
        result = harness.run_agent("verify", "--json", bad, "--content", self.payload)
        self.assertEqual(result.returncode, 1, str(result))
        doc = result.json()
        self.assertFalse(doc["ready"])
        self.assertEqual([f["code"] for f in doc["findings"]], ["torrent-invalid"])
        self.assertIn("byte ", doc["findings"][0]["message"])
        human = harness.run_agent("verify", bad, "--content", self.payload)
        self.assertEqual(human.returncode, 1)
        self.assertIn("torrent-invalid", human.out)

    def test_hostile_torrent_is_unsafe_path(self):
        evil = T.make_v1(T.payload("evil", ("a", 100)))
        evil["info"]["files"][0]["path"] = ["..", "a"]
        path = self.tmp / "evil.torrent"
        path.write_bytes(T.bencode(evil))
        result = harness.run_agent("verify", "--json", path, "--content", self.payload)
        self.assertEqual(result.returncode, 1, str(result))
        self.assertEqual([f["code"] for f in result.json()["findings"]], ["unsafe-path"])

    def test_missing_content_is_a_usage_error(self):
        result = harness.run_agent("verify", self.good, "--content", self.tmp / "nowhere")
        self.assertEqual(result.returncode, 2, str(result))
        self.assertIn("content", result.err)


if __name__ == "__main__":
    unittest.main()
