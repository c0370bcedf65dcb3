"""`benchside hl7 parse` and `benchside astm decode`: every sample message from
real systems (tests/data, copied from shared/samples) is shown as JSON with
the values its text holds; a malformed message is refused with where."""
import json
import unittest

from tests.system.harness import REPO, require_binary, run_cli

DATA = REPO / "tests" / "data"


class TestHl7Parse(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_binary()

    def parse(self, path):
        r = run_cli(["hl7", "parse", str(path)])
        self.assertEqual(r.returncode, 0, "%s: %s" % (path.name, r.stderr))
        return json.loads(r.stdout)

    def test_every_sample(self):
        files = sorted((DATA / "hl7").glob("*.hl7"))
        self.assertGreaterEqual(len(files), 25)
        for path in files:
            with self.subTest(sample=path.name):
                doc = self.parse(path)
                self.assertEqual(doc["segments"][0]["id"], "MSH")
                self.assertEqual(doc["segments"][0]["fields"][0], "|")

    def test_values_of_the_nist_case(self):
        doc = self.parse(DATA / "hl7" / "nist_ORU_R01_2.5.1_SampleTestCase1.hl7")
        seg = {}
        for s in doc["segments"]:
            seg.setdefault(s["id"], s["fields"])
        self.assertEqual(seg["MSH"][8], [["ORU", "R01", "ORU_R01"]])  # MSH-9
        self.assertEqual(seg["PID"][4][0][:2], ["Johnson", "Philip"])  # PID-5
        self.assertEqual(seg["OBX"][2][0][0], "10368-9")                # OBX-3
        self.assertEqual(seg["OBX"][4], "50")                           # OBX-5
        self.assertEqual(seg["OBX"][5][0][0], "ug/dL")                  # OBX-6

    def test_malformed_and_usage(self):
        r = run_cli(["hl7", "parse", "-"], input="PID|1|||Doe^Jane\r")
        self.assertEqual(r.returncode, 1)
        self.assertIn("segment 1", r.stderr)
        self.assertIn("MSH", r.stderr)
        r = run_cli(["hl7", "parse", "-"], input="MSH|^~\\&|A\rOBX|1|NM|x^y||5\r")
        self.assertEqual(r.returncode, 0)
        self.assertEqual(json.loads(r.stdout)["segments"][1]["fields"][2], [["x", "y"]])
        self.assertEqual(run_cli(["hl7", "parse", "/no/such/file"]).returncode, 1)
        self.assertEqual(run_cli(["hl7", "parse"]).returncode, 2)
        self.assertEqual(run_cli(["hl7", "--help"]).returncode, 0)


class TestAstmDecode(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_binary()

    def decode(self, path):
        r = run_cli(["astm", "decode", str(path)])
        self.assertEqual(r.returncode, 0, "%s: %s" % (path.name, r.stderr))
        return json.loads(r.stdout)

    def test_every_sample(self):
        files = sorted((DATA / "astm").glob("*.txt"))
        self.assertGreaterEqual(len(files), 13)
        for path in files:
            with self.subTest(sample=path.name):
                doc = self.decode(path)
                self.assertGreaterEqual(len(doc["messages"]), 1)
                self.assertEqual(sum(m["bad_checksums"] for m in doc["messages"]), 0)

    def test_sysmex_results(self):
        doc = self.decode(DATA / "astm" / "sysmex_xn550.txt")
        recs = doc["messages"][0]["records"]
        self.assertEqual(recs[0]["type"], "H")
        results = {r["fields"][2][0][4]: (r["fields"][3], r["fields"][4])
                   for r in recs if r["type"] == "R"}
        self.assertEqual(results["WBC"], ("8.13", "10*3/uL"))
        self.assertIn("HGB", results)
        order = [r for r in recs if r["type"] == "O"][0]
        self.assertEqual(order["fields"][3][0][2].strip(), "27")  # O.4, the instrument specimen id

    def test_genexpert_declares_its_delimiters(self):
        doc = self.decode(DATA / "astm" / "genexpert.txt")
        header = doc["messages"][0]["records"][0]
        self.assertEqual(header["type"], "H")
        self.assertNotEqual(header["fields"][1], "\\^&")
