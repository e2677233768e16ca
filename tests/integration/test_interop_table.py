"""The interop matrix's declared table (tests/interop/scenarios.py) is consistent by itself:
every row has an expectation for each client and a reason, and declares ready exactly when
every client not excused by a torrent-level warning is expected to succeed. (`make interop`
runs the rows; this only reads the table, in a moment.)"""

SANITIZER_PASS = False  # the interop scenario table's consistency; runs no binary

import sys
import unittest

import harness

sys.path.insert(0, str(harness.REPO / "tests" / "interop"))
import scenarios as S  # noqa: E402


class TableTest(unittest.TestCase):
    def test_table_is_consistent(self):
        self.assertEqual(S.table_problems(), {})

    def test_an_inconsistent_row_is_caught(self):
        row = S.SCENARIOS[0]
        wrong = S.Scenario(row.name, row.setup, row.torrent, row.serve,
                           S.Expect(True, frozenset(), {**row.expect.clients, "aria2c": "fails"},
                                    "claims ready while aria2c fails"))
        self.assertIn("expected ready=True", " ".join(S.table_problems([wrong])[row.name]))


if __name__ == "__main__":
    unittest.main()
