"""The .torrent size limit: `torrent show --max-size`, and `torrent_max_size` in the config."""

import unittest

import harness
from fixtures import torrents as T


class TorrentSizeLimit(unittest.TestCase):
    def setUp(self):
        self.tmp = harness.make_tmpdir()
        self.addCleanup(harness.remove_tree, self.tmp)
        self.torrent = self.tmp / "t.torrent"
        self.torrent.write_bytes(T.bencode(T.make_v1(T.payload("p", ("a", 1000)))))
        self.size = self.torrent.stat().st_size

    def show(self, *args):
        result = harness.run_agent(*args, "torrent", "show", "--json", self.torrent)
        return result, result.json()["torrents"][0]

    def test_option_refuses_larger_files(self):
        result = harness.run_agent("torrent", "show", "--json", "--max-size",
                                   str(self.size - 1), self.torrent)
        self.assertEqual(result.returncode, 1, str(result))
        finding = result.json()["torrents"][0]["findings"][0]
        self.assertEqual(finding["code"], "torrent-invalid")
        self.assertIn(f"larger than {self.size - 1} bytes", finding["message"])
        ok = harness.run_agent("torrent", "show", "--json", "--max-size", str(self.size),
                               self.torrent)
        self.assertEqual(ok.returncode, 0, str(ok))

    def test_config_key(self):
        config = self.tmp / "agent.yaml"
        config.write_text(f"mirror: {{name: m, root: /srv}}\ntorrent_max_size: {self.size - 1}\n")
        result, t = self.show("--config", config)
        self.assertEqual(result.returncode, 1, str(result))
        self.assertFalse(t["ok"])
        config.write_text("mirror: {name: m, root: /srv}\ntorrent_max_size: -5\n")
        bad = harness.run_agent("--config", config, "torrent", "show", self.torrent)
        self.assertEqual(bad.returncode, 2)
        self.assertIn("agent.yaml:2:19: 'torrent_max_size' must be a positive whole number", bad.err)

    def test_option_rejects_nonsense(self):
        result = harness.run_agent("torrent", "show", "--max-size", "lots", self.torrent)
        self.assertEqual(result.returncode, 2)


if __name__ == "__main__":
    unittest.main()
