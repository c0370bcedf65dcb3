"""System tests of quality control (src/qc/qc.h): control materials and
targets, QC results judged by the Westgard rules, the lockout a rejection
opens and the release gate holding patient results until a passing run and a
supervisor's corrective action, QC overdue, targets established from 20 runs.
The analyzer is `benchside sim` over ASTM, sending a control by its QC id."""

import datetime
import json
import struct
import subprocess
from xml.etree import ElementTree

from tests.system.harness import ADMIN_PASSWORD, bin_path, cli_env
from tests.system.test_lab import PASSWORD
from tests.system.test_results import pdf_text
from tests.system.test_links import LinksTestCase, unique


def future(days=365):
    return (datetime.date.today() + datetime.timedelta(days=days)).isoformat()


def past(days=1):
    return (datetime.date.today() - datetime.timedelta(days=days)).isoformat()


class QcTestCase(LinksTestCase):
    def material(self, level="2", targets=None, expires=None, qc_id=None):
        body = {"name": "Chemistry control", "manufacturer": "Acme Diagnostics",
                "lot": unique("LOT"), "level": level, "expires": expires or future()}
        if qc_id:
            body["qc_id"] = qc_id
        if targets is not None:
            body["targets"] = targets
        return self.call("POST", "/api/v1/qc/materials", body, status=201).json

    def qc(self, material, test, value, instrument="CHEM-1", run=None, status=201, **kw):
        body = dict({"material_id": material["id"], "test": test, "value": value,
                     "instrument": instrument}, **kw)
        if run:
            body["run"] = run
        return self.call("POST", "/api/v1/qc/results", body, status=status).json


class TestQcRules(QcTestCase):
    def test_bad_qc_input_is_refused_and_not_recorded(self):
        m = self.material(targets=[{"test": "GLU", "instrument": "CHEM-1", "mean": 90, "sd": 3}])
        old = self.material(expires=past(), targets=[{"test": "GLU", "mean": 90, "sd": 3}])
        cases = [
            ({"material_id": "01NOSUCHMATERIAL0000000000", "test": "GLU", "value": 90},
             "material_id"),
            ({"material_id": old["id"], "test": "GLU", "value": 90}, "material_id"),
            ({"material_id": m["id"], "test": "K", "value": 4, "instrument": "CHEM-1"}, "test"),
            ({"material_id": m["id"], "test": "GLU", "value": "ninety",
              "instrument": "CHEM-1"}, "value"),
            ({"qc_id": "NO-SUCH-QC", "test": "GLU", "value": 90}, "qc_id"),
            ({"test": "GLU", "value": 90}, "material_id"),
        ]
        for body, field in cases:
            self.refused("POST", "/api/v1/qc/results", body, 400, "invalid", field=field)
        self.assertIn("expired", self.server.request(
            "POST", "/api/v1/qc/results", body=cases[1][0],
            token=self.server.admin()).json["error"]["message"])
        got = self.call("GET", "/api/v1/qc/results?test=GLU&instrument=CHEM-1").json["items"]
        self.assertEqual([r for r in got if r["material_id"] in (m["id"], old["id"])], [])
        # materials and settings refuse bad input naming the field
        self.refused("POST", "/api/v1/qc/materials", {
            "name": "x", "manufacturer": "y", "lot": "z", "level": "1", "expires": "2026-13-01"},
            400, "invalid", field="expires")
        self.refused("POST", "/api/v1/qc/materials", {
            "name": "x", "manufacturer": "y", "lot": "z", "level": "1", "expires": future(),
            "targets": [{"test": "UCOLOR", "mean": 1, "sd": 1}]}, 400, "invalid",
            field="targets[0].test")
        self.refused("PUT", "/api/v1/qc/settings", {"test": "GLU", "frequency": "weekly"}, 400,
                     "invalid", field="frequency")
        self.refused("PUT", "/api/v1/qc/settings", {"test": "GLU", "frequency": "8h",
                                                    "rules": "1-3s,7-7s"}, 400, "invalid",
                     field="rules")

    def test_rules_across_runs_and_levels(self):
        inst = unique("AN")
        t = [{"test": "NA", "instrument": inst, "mean": 140, "sd": 2}]
        l1, l2 = self.material(level="1", targets=t), self.material(level="2", targets=t)
        self.call("PUT", "/api/v1/qc/settings", {"test": "NA", "instrument": inst,
                                                 "rules": "1-2s,1-3s,2-2s,R-4s", "frequency":
                                                 "24h"})
        r = self.qc(l1, "NA", 140.5, inst, "R1")
        self.assertEqual((r["status"], r["violations"]), ("accepted", []))
        self.assertAlmostEqual(r["z"], 0.25)
        r = self.qc(l1, "NA", 144.6, inst, "R2")  # +2.3 SD: a warning
        self.assertEqual(r["status"], "warning")
        self.assertEqual([v["rule"] for v in r["violations"]], ["1-2s"])
        r = self.qc(l1, "NA", 144.8, inst, "R3")  # +2.4 SD again: 2-2s across runs
        self.assertEqual(r["status"], "rejected")
        self.assertIn(("2-2s", "across-runs"), [(v["rule"], v["scope"]) for v in r["violations"]])
        # R-4s within a run across levels: +2.5 on level 1, -2.5 on level 2
        inst2 = unique("AN")
        t2 = [{"test": "K", "instrument": inst2, "mean": 4.0, "sd": 0.1}]
        k1, k2 = self.material(level="1", targets=t2), self.material(level="2", targets=t2)
        self.assertEqual(self.qc(k1, "K", 4.25, inst2, "RA")["status"], "warning")
        r = self.qc(k2, "K", 3.75, inst2, "RA")
        self.assertEqual(r["status"], "rejected")
        self.assertIn(("R-4s", "within-run"), [(v["rule"], v["scope"]) for v in r["violations"]])
        locks = self.call("GET", "/api/v1/qc/lockouts?open=true").json["items"]
        self.assertEqual({(x["test"], x["instrument"]) for x in locks
                          if x["instrument"] in (inst, inst2)}, {("NA", inst), ("K", inst2)})

    def test_targets_established_from_twenty_runs(self):
        inst = unique("AN")
        m = self.material(targets=[{"test": "CA", "instrument": inst}])
        values = [9.0 + 0.1 * ((i * 7) % 5 - 2) for i in range(20)]
        for i, v in enumerate(values):
            r = self.qc(m, "CA", v, inst, "E%02d" % i)
            self.assertEqual(r["status"], "provisional")
        got = self.call("GET", "/api/v1/qc/materials").json["items"]
        (tg,) = [x for x in got if x["id"] == m["id"]][0]["targets"]
        mean = sum(values) / 20
        sd = (sum((v - mean) ** 2 for v in values) / 19) ** 0.5
        self.assertEqual((tg["runs"], tg["provisional"], tg["source"]), (20, False,
                                                                        "established"))
        self.assertAlmostEqual(tg["mean"], mean)
        self.assertAlmostEqual(tg["sd"], sd)
        r = self.qc(m, "CA", mean + 4 * sd, inst, "E20")
        self.assertEqual(r["status"], "rejected")
        self.assertIn("1-3s", [v["rule"] for v in r["violations"]])


class TestQcStats(QcTestCase):
    def test_statistics_and_sigma(self):
        inst = unique("AN")
        m = self.material(targets=[{"test": "GLU", "instrument": inst, "mean": 100, "sd": 2}])
        for i, v in enumerate([100, 102, 98, 101, 99]):
            self.qc(m, "GLU", v, inst, "S%d" % i)
        st = self.call("GET", "/api/v1/qc/stats?test=GLU&instrument=" + inst).json
        (x,) = st["materials"]
        self.assertEqual(x["period"]["n"], 5)
        self.assertAlmostEqual(x["period"]["mean"], 100)
        self.assertAlmostEqual(x["period"]["sd"], (10 / 4) ** 0.5)
        self.assertAlmostEqual(x["period"]["cv_percent"], (10 / 4) ** 0.5)
        self.assertAlmostEqual(x["period"]["bias_percent"], 0)
        self.assertEqual(x["cumulative"]["n"], 5)
        # CLIA glucose at 100 mg/dL: 8% (6 mg/dL is less); Sigma = 8 / 1.581
        self.assertEqual((x["tea_source"], x["tea_percent"]), ("CLIA", 8))
        self.assertAlmostEqual(x["sigma"], 8 / (10 / 4) ** 0.5)
        self.assertEqual(x["rules_suggested"], "1-3s,2-2s,R-4s")
        self.assertEqual(x["rules_in_use"], "1-2s,1-3s,2-2s,R-4s,4-1s,10x")
        # the site's own TEa wins
        self.call("PUT", "/api/v1/qc/settings", {"test": "GLU", "instrument": inst,
                                                 "frequency": "24h", "tea_percent": 10,
                                                 "rules": "1-3s,2-2s"})
        (x,) = self.call("GET", "/api/v1/qc/stats?test=GLU&instrument=" + inst).json["materials"]
        self.assertEqual((x["tea_source"], x["tea_percent"]), ("site", 10))
        self.assertAlmostEqual(x["sigma"], 10 / (10 / 4) ** 0.5)
        self.assertEqual((x["rules_suggested"], x["rules_in_use"]), ("1-3s", "1-3s,2-2s"))
        self.refused("GET", "/api/v1/qc/stats?test=NOPE", None, 400, "invalid", field="test")

    def test_monthly_report_and_signature(self):
        inst = unique("AN")
        m = self.material(targets=[{"test": "NA", "instrument": inst, "mean": 140, "sd": 2}])
        for i, v in enumerate([140, 141, 139, 147]):
            self.qc(m, "NA", v, inst, "M%d" % i)  # the last is rejected (1-3s)
        month = datetime.date.today().strftime("%Y-%m")
        r = self.server.request("GET", "/api/v1/qc/report?month=%s&instrument=%s" % (month, inst),
                                token=self.server.admin())
        self.assertEqual((r.status, r.headers.get_content_type()), (200, "application/pdf"))
        text = " ".join(pdf_text(r.raw).split())
        for words in ("Monthly QC report %s, %s" % (month, inst), "NA on " + inst,
                      "level lot N mean SD CV % bias % Sigma rejected", m["lot"] + " 3 140",
                      "Lockouts and corrective actions", "not closed", "Not signed yet"):
            self.assertIn(words, text)
        sup = unique("sup")
        self.server.create_user(sup, "supervisor", PASSWORD)
        tok = self.server.login(sup, PASSWORD)
        # the month is not over: it cannot be signed yet
        r = self.server.request("POST", "/api/v1/qc/report/sign", token=tok,
                                body={"month": month, "password": PASSWORD})
        self.assertError(r, 400, "invalid", field="month")
        last = (datetime.date.today().replace(day=1) - datetime.timedelta(days=1)).strftime(
            "%Y-%m")
        r = self.server.request("POST", "/api/v1/qc/report/sign", token=tok,
                                body={"month": last, "password": "not-the-password-1"})
        self.assertError(r, 400, "invalid", field="password")
        sig = self.call("POST", "/api/v1/qc/report/sign", {"month": last, "instrument": inst,
                                                          "password": PASSWORD,
                                                          "comment": "All runs reviewed."},
                        token=tok, status=201).json
        self.assertEqual((sig["month"], sig["signed_by"]), (last, sup))
        r = self.server.request("POST", "/api/v1/qc/report/sign", token=tok,
                                body={"month": last, "instrument": inst, "password": PASSWORD})
        self.assertError(r, 409, "conflict", field="month")
        r = self.server.request("GET", "/api/v1/qc/report?month=%s&instrument=%s" % (last, inst),
                                token=tok)
        text = " ".join(pdf_text(r.raw).split())
        self.assertIn("Reviewed and signed electronically by " + sup, text)
        self.assertIn("All runs reviewed.", text)
        self.assertIn("No QC results this month.", text)
        self.refused("GET", "/api/v1/qc/report?month=2026-13", None, 400, "invalid",
                     field="month")


class TestQcLockout(QcTestCase):
    """The issue's path: a control breaking 1-3s arrives from the analyzer
    (benchside sim, ASTM); glucose results from that analyzer are held with
    the reason shown; a corrective action and a passing run release them."""

    def sim(self, *args):
        p = subprocess.run([bin_path(), "sim", "--protocol", "astm", "--connect",
                            "127.0.0.1:%d" % self.astm_port] + [str(a) for a in args],
                           capture_output=True, text=True, timeout=90, env=cli_env())
        self.assertEqual(p.returncode, 0, p.stderr[-3000:])
        return json.loads(p.stdout.strip().splitlines()[-1])

    def test_lockout_holds_and_corrective_action_releases(self):
        qc_id = unique("QC-GLU-")
        # a target no plausible glucose from the simulator comes near: 1-3s
        m = self.material(qc_id=qc_id, targets=[{"test": "GLU", "instrument": "CHEM-1",
                                                 "mean": 300, "sd": 5}])
        self.call("PUT", "/api/v1/qc/settings", {"test": "GLU", "instrument": "CHEM-1",
                                                 "frequency": "24h", "tea_percent": 6.9})
        mrn, placer, (acc,) = self.place(["GLU^Glucose^L"])
        self.receive(acc)
        # without any accepted QC, results wait: QC overdue
        ok = self.qc(m, "GLU", 301, "CHEM-1", "MORNING")
        self.assertEqual(ok["status"], "accepted")
        # the analyzer runs the control: rejected, the lockout opens
        s = self.sim("--specimen", qc_id, "--tests", "GLU", "--no-query", "--count", 1)
        self.assertEqual(s["acknowledged"], 1)
        msg = [x for x in self.journal(instrument="CHEM-1", type="astm:results")
               if x["summary"].get("qc_results")][0]
        (qr,) = msg["summary"]["qc_results"]
        self.assertEqual(qr["status"], "rejected")
        (lock,) = [x for x in self.call("GET", "/api/v1/qc/lockouts?open=true").json["items"]
                   if x["test"] == "GLU" and x["instrument"] == "CHEM-1"]
        self.assertIn("1-3s", lock["reason"])
        # the patient's glucose from that analyzer is held, the reason shown
        s = self.sim("--specimen", acc, "--tests", "GLU", "--no-query", "--count", 1,
                     "--seed", 1)  # a glucose in range: held by the lockout alone
        self.assertEqual(s["results_sent"], 1)
        spec = self.call("GET", "/api/v1/specimens/" + acc).json
        self.assertEqual([t["status"] for t in spec["tests"]], ["resulted"])
        rid = [x for x in self.journal(instrument="CHEM-1", type="astm:results")
               if acc in x["summary"].get("specimens", [])][0]["summary"]["results"][0]
        res = self.call("GET", "/api/v1/results/" + rid).json
        self.assertIsNone(res["flag"], "seed 1 gives a glucose in range")
        codes = [h["code"] for h in res["holds"]]
        self.assertIn("qc-lockout", codes)
        self.assertIn("1-3s", [h for h in res["holds"] if h["code"] == "qc-lockout"][0]
                      ["message"])
        # a person cannot release it either
        r = self.server.request("POST", "/api/v1/results/release", token=self.server.admin(),
                                body={"ids": [rid], "password": ADMIN_PASSWORD})
        self.assertEqual(r.status, 409)
        # closing needs a passing run first, and a supervisor's signature
        sup = unique("sup")
        self.server.create_user(sup, "supervisor", PASSWORD)
        tok = self.server.login(sup, PASSWORD)
        close = {"corrective_action": "Recalibrated glucose; new reagent lot opened",
                 "password": PASSWORD}
        r = self.server.request("POST", "/api/v1/qc/lockouts/%s/close" % lock["id"], token=tok,
                                body=close)
        self.assertError(r, 409, "conflict")
        self.assertIn("passing run", r.json["error"]["message"])
        tech = self.login_as("technician")
        r = self.server.request("POST", "/api/v1/qc/lockouts/%s/close" % lock["id"], token=tech,
                                body=close)
        self.assertEqual(r.status, 403)
        self.assertEqual(self.qc(m, "GLU", 299.5, "CHEM-1", "AFTER-FIX")["status"], "accepted")
        r = self.server.request("POST", "/api/v1/qc/lockouts/%s/close" % lock["id"], token=tok,
                                body=dict(close, password="wrong-password-1"))
        self.assertError(r, 400, "invalid", field="password")
        done = self.call("POST", "/api/v1/qc/lockouts/%s/close" % lock["id"], close,
                         token=tok).json
        self.assertFalse(done["open"])
        self.assertEqual(done["corrective_action"], close["corrective_action"])
        self.assertEqual(done["closed_by"], sup)
        self.assertIn(rid, done["released"])
        self.assertIn(acc, [p["accession"] for p in done["patient_results_since_last_good_qc"]])
        self.assertEqual(self.call("GET", "/api/v1/results/" + rid).json["status"], "released")
        oru = self.wait_for("the ORU^R01", lambda: self.ehr_oru(acc))
        self.assertEqual(len(oru), 1)
        # on the record
        acts = [a["action"] for a in self.audit("qc.lockout.close")]
        self.assertIn("qc.lockout.close", acts)
        # the chart tells the whole story: the accepted runs, the 1-3s failure,
        # the lockout and the corrective action with who signed it
        q = "/api/v1/qc/chart?test=GLU&instrument=CHEM-1&format="
        pdf = self.server.request("GET", q + "pdf", token=tok)
        self.assertEqual((pdf.status, pdf.headers.get_content_type()), (200, "application/pdf"))
        text = " ".join(pdf_text(pdf.raw).split())
        for words in ("Levey-Jennings", "Glucose (GLU) on CHEM-1", "1-3s", "L1", "A1", sup,
                      "Recalibrated glucose; new reagent lot opened", "mean 300 mg/dL"):
            self.assertIn(words, text)
        svg = self.server.request("GET", q + "svg", token=tok)
        self.assertEqual(svg.headers.get_content_type(), "image/svg+xml")
        root = ElementTree.fromstring(svg.raw)
        self.assertTrue(root.tag.endswith("svg"))
        png = self.server.request("GET", q + "png", token=tok)
        self.assertEqual(png.raw[:8], b"\x89PNG\r\n\x1a\n")
        self.assertEqual(struct.unpack(">I", png.raw[16:20])[0], 1000)
        self.refused("GET", q + "gif", None, 400, "invalid", field="format")
        self.refused("GET", "/api/v1/qc/chart?test=NOPE", None, 400, "invalid", field="test")

    def test_qc_overdue_holds(self):
        inst = "HEME-1"
        m = self.material(targets=[{"test": "GLU", "instrument": inst, "mean": 90, "sd": 3}])
        self.call("PUT", "/api/v1/qc/settings", {"test": "GLU", "instrument": inst,
                                                 "frequency": "8h"})
        mrn, placer, (acc,) = self.place(["GLU^Glucose^L"])
        self.receive(acc)
        # QC recorded nine hours before the measurement is overdue
        at = (datetime.datetime.now(datetime.timezone.utc) -
              datetime.timedelta(hours=9)).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.assertEqual(self.qc(m, "GLU", 91, inst, "OLD", at=at)["status"], "accepted")
        from tests.system.test_links import msa, oul
        code, control, err = msa(self.mllp().send(oul(acc, [("Gluc", "92", "mg/dL")])))
        self.assertEqual(code, "AA", err)
        rid = self.journal(control_id=control)[0]["summary"]["results"][0]
        res = self.call("GET", "/api/v1/results/" + rid).json
        self.assertEqual(res["status"], "review")
        self.assertIn("qc-overdue", [h["code"] for h in res["holds"]])
