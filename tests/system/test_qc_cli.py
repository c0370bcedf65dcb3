"""`benchside qc evaluate`: control results from CSV files written here are
judged by the Westgard rules, each violation one exact JSON line (the default
rule set and chosen ones; numeric and text levels; times in UTC; CSV with
columns in another order, extra columns, quotes, a byte order mark, CRLF and
empty lines); bad files refused with the row and column named and nothing on
standard output; --help; exit codes 0, 1 and 2."""
import json
import os
import shutil
import tempfile
import unittest

from tests.system import harness
from tests.system.harness import run_cli

HEADER = "time,run,level,value,mean,sd"


def line(rule, scope, level, rows, time, action="reject"):
    """One expected output line, written out as the command prints it."""
    lv = "null" if level is None else json.dumps(level)
    return ('{"rule":"%s","scope":"%s","level":%s,"rows":[%s],"time":"%s","action":"%s"}'
            % (rule, scope, lv, ",".join(str(r) for r in rows), time, action))


# Two levels, nine runs, one a day. Level 1: mean 100, SD 2; level 2: mean
# 250, SD 5, written with a +01:00 zone (09:05+01:00 is 08:05Z).
#   run  L1 value (z)   L2 value (z)   rows
#   1    101   (0.5)    252  (0.4)     1, 2
#   2    105   (2.5)    251  (0.2)     3, 4
#   3    107   (3.5)    250  (0)       5, 6
#   4    104.6 (2.3)    261  (2.2)     7, 8
#   5    95    (-2.5)   261  (2.2)     9, 10
#   6-9  103, 103, 103.2, 102.4 (1.5, 1.5, 1.6, 1.2)   248 (-0.4)   11-18
L1 = [101, 105, 107, 104.6, 95, 103, 103, 103.2, 102.4]
L2 = [252, 251, 250, 261, 261, 248, 248, 248, 248]


def two_level_csv():
    rows = [HEADER]
    for k in range(9):
        rows.append("2026-03-%02dT08:00:00Z,%d,1,%s,100,2" % (k + 1, k + 1, L1[k]))
        rows.append("2026-03-%02dT09:05:00+01:00,%d,2,%s,250,5" % (k + 1, k + 1, L2[k]))
    return "\n".join(rows) + "\n"


def day(d, hm="08:00"):
    return "2026-03-%02dT%s:00.000000Z" % (d, hm)


# Under the default rules (1-2s,1-3s,2-2s,R-4s,4-1s,10x):
DEFAULT_EXPECTED = [
    line("1-2s", "within-run", 1, [3], day(2), "warning"),
    line("1-2s", "within-run", 1, [5], day(3), "warning"),
    line("1-3s", "within-run", 1, [5], day(3)),                 # 3.5 SD
    line("2-2s", "across-runs", 1, [3, 5], day(3)),             # 2.5, 3.5
    line("1-2s", "within-run", 1, [7], day(4), "warning"),
    line("2-2s", "across-runs", 1, [5, 7], day(4)),             # 3.5, 2.3
    line("1-2s", "within-run", 2, [8], day(4, "08:05"), "warning"),
    line("2-2s", "within-run", None, [7, 8], day(4, "08:05")),  # both levels of run 4
    line("1-2s", "within-run", 1, [9], day(5), "warning"),
    line("1-2s", "within-run", 2, [10], day(5, "08:05"), "warning"),
    line("2-2s", "across-runs", 2, [8, 10], day(5, "08:05")),   # level 2, runs 4 and 5
    line("R-4s", "within-run", None, [9, 10], day(5, "08:05")),  # -2.5 and +2.2 in run 5
    line("4-1s", "across-runs", 1, [11, 13, 15, 17], day(9)),   # runs 6-9 of level 1
]

# Under --rules 2of3-2s,3-1s:
OF3_EXPECTED = [
    line("2of3-2s", "across-runs", 1, [3, 5], day(3)),          # 0.5, 2.5, 3.5
    line("2of3-2s", "across-runs", 1, [3, 5, 7], day(4)),       # 2.5, 3.5, 2.3
    line("3-1s", "across-runs", 1, [3, 5, 7], day(4)),
    line("2of3-2s", "across-runs", 2, [8, 10], day(5, "08:05")),  # 0, 2.2, 2.2
    line("3-1s", "across-runs", 1, [11, 13, 15], day(8)),
    line("3-1s", "across-runs", 1, [13, 15, 17], day(9)),
]


# Three levels with text names and run ids, columns in another order, a
# comment column (quoted, with a comma), a byte order mark, CRLF, an empty
# line. low: mean 50 SD 1; mid: mean 100 SD 2; high: mean 200 SD 4.
#   run   low (z)      mid (z)       high (z)      rows
#   R-01  50.5 (0.5)   101   (0.5)   202   (0.5)   1-3
#   R-02  51.2 (1.2)   102.6 (1.3)   204.4 (1.1)   4-6
#   R-03  51.5 (1.5)   104.4 (2.2)   200.8 (0.2)   7-9
#   R-04  52.3 (2.3)   101   (0.5)   208.8 (2.2)   10-12
THREE = [("low", 50, 1, [50.5, 51.2, 51.5, 52.3]),
         ("mid", 100, 2, [101, 102.6, 104.4, 101]),
         ("high", 200, 4, [202, 204.4, 200.8, 208.8])]


def three_level_csv():
    rows = ["\ufeffSD,Mean,Level,Run,Time,Value,comment"]
    for r in range(4):
        for k, (name, mean, sd, values) in enumerate(THREE):
            rows.append('%s,%s,%s,R-0%d,2026-04-0%dT07:0%d:00Z,%s,"checked, ok"'
                        % (sd, mean, name, r + 1, r + 1, k, values[r]))
        if r == 1:
            rows.append("")
    return "\r\n".join(rows) + "\r\n"


def april(d, minute):
    return "2026-04-%02dT07:%02d:00.000000Z" % (d, minute)


THREE_EXPECTED = [
    line("4-1s", "across-levels", None, [4, 5, 6, 7], april(3, 0)),
    line("1-2s", "within-run", "mid", [8], april(3, 1), "warning"),
    line("4-1s", "across-levels", None, [5, 6, 7, 8], april(3, 1)),
    line("1-2s", "within-run", "low", [10], april(4, 0), "warning"),
    line("10x", "across-levels", None, list(range(1, 11)), april(4, 0)),
    line("10x", "across-levels", None, list(range(2, 12)), april(4, 1)),
    line("1-2s", "within-run", "high", [12], april(4, 2), "warning"),
    line("2of3-2s", "within-run", None, [10, 12], april(4, 2)),  # low and high of R-04
    line("10x", "across-levels", None, list(range(3, 13)), april(4, 2)),
]


class TestQcEvaluate(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        harness.require_binary()

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="bs-qc-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def write(self, name, text, encoding="utf-8"):
        path = os.path.join(self.tmp, name)
        with open(path, "w", encoding=encoding, newline="") as f:
            f.write(text)
        return path

    def qc(self, *args, input=None):
        r = run_cli(["qc"] + list(args), input=input, cwd=self.tmp)
        rep = harness.sanitizer_report(r.stderr)
        if rep:
            self.fail("sanitizer report from benchside qc %s:\n%s" % (" ".join(args), rep))
        return r

    def evaluate(self, path, *opts):
        r = self.qc("evaluate", *opts, path)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, "")
        lines = r.stdout.splitlines()
        for ln in lines:
            json.loads(ln)  # each line is JSON on its own
        return lines

    # --- judged files ------------------------------------------------------

    def test_default_rules(self):
        path = self.write("two.csv", two_level_csv())
        self.assertEqual(self.evaluate(path), DEFAULT_EXPECTED)
        # The same set named outright, in another case and spelling.
        self.assertEqual(self.evaluate(path, "--rules", "1-2S,13s,2-2s,r-4s,4_1s,10-x"),
                         DEFAULT_EXPECTED)

    def test_chosen_rules(self):
        path = self.write("two.csv", two_level_csv())
        self.assertEqual(self.evaluate(path, "--rules", "2of3-2s,3-1s"), OF3_EXPECTED)
        self.assertEqual(self.evaluate(path, "--rules=1-3s,R-4s"),
                         [DEFAULT_EXPECTED[2], DEFAULT_EXPECTED[11]])
        # No sequence holds six points on one side of the mean in a row.
        self.assertEqual(self.evaluate(path, "--rules", "6x,8x,9x,10x,12x"), [])

    def test_text_levels_and_csv_forms(self):
        path = self.write("three.csv", three_level_csv())
        self.assertEqual(self.evaluate(path, "--rules", "1-2s,4-1s,2of3-2s,10-X"),
                         THREE_EXPECTED)
        doc = json.loads(THREE_EXPECTED[1])
        self.assertEqual(doc["level"], "mid")

    def test_standard_input_and_header_only(self):
        r = self.qc("evaluate", "-", input=two_level_csv())
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.splitlines(), DEFAULT_EXPECTED)
        path = self.write("empty.csv", HEADER + "\n")
        self.assertEqual(self.evaluate(path), [])
        # In control: exit 0, nothing printed.
        path = self.write("fine.csv", HEADER + "\n2026-03-01T08:00:00Z,1,1,100.5,100,2\n")
        self.assertEqual(self.evaluate(path), [])

    def test_quoted_decimal_comma_is_not_a_number(self):
        path = self.write("comma.csv", HEADER + '\n2026-03-01T08:00:00Z,1,1,"104,6",100,2\n')
        self.refused(path, "row 1 (line 2), column value")

    # --- refused files ---------------------------------------------------------

    def refused(self, path, *where):
        r = self.qc("evaluate", "--rules", "1-2s,1-3s,2-2s,R-4s,4-1s,2of3-2s,3-1s,6x,10x", path)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertEqual(r.stdout, "")
        for w in where:
            self.assertIn(w, r.stderr)
        self.assertTrue(r.stderr.startswith("benchside: %s: " % path), r.stderr)
        return r.stderr

    def bad(self, rows, *where):
        return self.refused(self.write("bad.csv", "\n".join(rows) + "\n"), *where)

    def test_refused_with_row_and_column(self):
        ok = "2026-03-01T08:00:00Z,1,1,107,100,2"  # beyond 3 SD: would print
        self.bad(["time,run,level,value,mean"], "line 1 (the header)", "'sd'")
        self.bad(["time,run,level,value,mean,sd,Run"], "line 1 (the header)", "'run' twice")
        self.bad([HEADER, ok, ok, "2026-03-01T08:00:00Z,1,2,abc,100,2"],
                 "row 3 (line 4), column value", "'abc'")
        self.bad([HEADER, ok, "2026-03-01T08:00:00Z,1,2,101,100,0"],
                 "row 2 (line 3), column sd", "greater than 0")
        self.bad([HEADER, ok, "2026-03-01T08:00:00Z,1,2,101,100,-2"],
                 "row 2 (line 3), column sd")
        self.bad([HEADER, "2026-13-01T08:00:00Z,1,1,101,100,2"], "row 1 (line 2), column time")
        self.bad([HEADER, "2026-03-01T08:00:00,1,1,101,100,2"],
                 "row 1 (line 2), column time", "zone")
        self.bad([HEADER, "2026-03-01,1,1,101,100,2"], "row 1 (line 2), column time", "zone")
        self.bad([HEADER, ok, "2026-03-02T08:00:00Z,2,1,101,100,2",
                  "2026-03-02T07:59:59Z,2,2,101,100,2"],
                 "row 3 (line 4), column time", "out of time order")
        self.bad([HEADER, ok, "2026-03-02T08:00:00Z,2,1,101,100"],
                 "row 2 (line 3), column sd", "missing")
        self.bad([HEADER, "2026-03-02T08:00:00Z,2,1,104,6,100,2"],
                 "row 1 (line 2)", "7 fields")
        self.bad([HEADER, "2026-03-02T08:00:00Z,2,1,nan,100,2"], "row 1 (line 2), column value")
        self.bad([HEADER, "2026-03-02T08:00:00Z,2,1,1e999,100,2"], "row 1 (line 2), column value")
        self.bad([HEADER, "2026-03-02T08:00:00Z,2,,101,100,2"], "row 1 (line 2), column level")
        self.bad([HEADER, '2026-03-02T08:00:00Z,"2,1,101,100,2'], "row 1 (line 2)", "quote")
        self.bad([""], "line 1 (the header)")
        # Empty lines are not rows: the third row is on line 5.
        self.bad([HEADER, ok, ok, "", "2026-03-01T08:00:00Z,1,2,x,100,2"],
                 "row 3 (line 5), column value")
        # Seventeen control levels.
        rows = [HEADER] + ["2026-03-01T08:00:00Z,1,%d,100,100,2" % (k + 1) for k in range(17)]
        self.bad(rows, "row 17 (line 18), column level", "more than 16")

    def test_not_utf8_level_refused(self):
        path = os.path.join(self.tmp, "latin1.csv")
        with open(path, "wb") as f:
            f.write(HEADER.encode() + b"\n2026-03-01T08:00:00Z,1,niv\xe9au,100,100,2\n")
        self.refused(path, "row 1 (line 2), column level", "UTF-8")

    def test_unreadable_file(self):
        r = self.qc("evaluate", os.path.join(self.tmp, "no-such.csv"))
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stdout, "")
        self.assertIn("no-such.csv", r.stderr)

    # --- usage ---------------------------------------------------------------

    def test_usage_errors(self):
        path = self.write("two.csv", two_level_csv())
        for args in (["qc"], ["qc", "judge", path], ["qc", "evaluate"],
                     ["qc", "evaluate", path, path], ["qc", "evaluate", "--rules"],
                     ["qc", "evaluate", "--frobnicate", path],
                     ["qc", "evaluate", "--rules", "", path],
                     ["qc", "evaluate", "--rules", "1-3s,,2-2s", path]):
            with self.subTest(args=args):
                r = run_cli(args, cwd=self.tmp)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertEqual(r.stdout, "")
                self.assertIn("usage: benchside qc evaluate", r.stderr)
        r = run_cli(["qc", "evaluate", "--rules", "1-3s,1-5s", path], cwd=self.tmp)
        self.assertEqual(r.returncode, 2)
        self.assertIn("unknown Westgard rule '1-5s'", r.stderr)
        self.assertEqual(r.stdout, "")

    def test_help(self):
        for args in (["qc", "--help"], ["qc", "evaluate", "--help"]):
            with self.subTest(args=args):
                r = run_cli(args, cwd=self.tmp)
                self.assertEqual(r.returncode, 0)
                self.assertIn("usage: benchside qc evaluate [--rules LIST] FILE.csv", r.stdout)
                self.assertIn("1-2s 1-3s 2-2s R-4s 4-1s 2of3-2s 3-1s 6x 8x 9x 10x 12x", r.stdout)
                self.assertIn("default 1-2s,1-3s,2-2s,R-4s,4-1s,10x", r.stdout)
        r = run_cli(["help"], cwd=self.tmp)
        self.assertIn("qc ", r.stdout)


if __name__ == "__main__":
    unittest.main()
