"""System tests of tolerance QC for devices (src/qc/tolerance.c, docs/qc.md)
over HTTP and MLLP: a CT scanner's daily water phantom (0 +- 5 HU) from its
definition through a failure, the lockout, the chart and the signed
corrective action; an analyzer whose photometer check fails holds the results
it sends until the check passes and the lockout is closed; refusals that name
the field and change nothing; answers that match the OpenAPI schemas."""

import datetime

from tests.system.harness import ADMIN_PASSWORD
from tests.system import test_equip
from tests.system.test_equip import ASSETS, EquipTestCase, day
from tests.system.test_lab import unique

CHECKS = "/api/v1/qc/checks"
LOCKOUTS = "/api/v1/qc/check-lockouts"


def iso(hours=0.0):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=hours)
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def ct_check(tag, **kw):
    body = {"device": tag, "code": "CT-WATER-HU", "name": "CT number of water, daily phantom",
            "unit": "[hnsf'U]", "target": 0, "tolerance": 5, "frequency": "24h"}
    body.update(kw)
    return body


class TestToleranceQc(EquipTestCase):
    server_args = ("--mllp", "127.0.0.1:0")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.mllp_port = cls.server.link_ports()[0]

    def ct(self):
        return self.asset(**{"class": "ct", "manufacturer": "Siemens", "model": "SOMATOM go.Up",
                             "risk_class": "high", "owner": "Radiology",
                             "location": "CT room 1"})

    def test_phantom_failure_locks_the_scanner_until_corrected(self):
        a = self.ct()
        chk = self.call("POST", CHECKS, ct_check(a["tag"]), status=201).json
        self.assertEqual((chk["device"], chk["target"], chk["tolerance"], chk["overdue"],
                          chk["lockout"], chk["device_class"]),
                         (a["tag"], 0, 5, True, None, "ct"))
        # defined and not yet passed: the scanner is not fit
        fit = self.call("GET", "%s/%s/fitness" % (ASSETS, a["tag"])).json
        self.assertFalse(fit["fit"])
        self.assertEqual(fit["reasons"],
                         ["tolerance check CT-WATER-HU (every 24h) has never passed"])

        tech = self.login_as("technician")
        res = "%s/%s/results" % (CHECKS, chk["id"])
        ok = self.call("POST", res, {"value": -2.1, "at": iso(-3)}, token=tech, status=201).json
        self.assertEqual((ok["passed"], ok["deviation"], ok["lockout"]), (True, -2.1, None))
        self.assertTrue(self.call("GET", "%s/%s/fitness" % (ASSETS, a["tag"])).json["fit"])

        # 7.4 HU: outside 0 +- 5, the scanner is locked
        bad = self.call("POST", res, {"value": "7.4", "note": "ring artefact"}, token=tech,
                        status=201).json
        self.assertFalse(bad["passed"])
        lock = bad["lockout"]
        self.assertIsNotNone(lock)
        fit = self.call("GET", "%s/%s/fitness" % (ASSETS, a["tag"])).json
        self.assertFalse(fit["fit"])
        self.assertIn("CT-WATER-HU of %s out of tolerance: 7.4 [hnsf'U] against 0 +- 5"
                      % a["tag"], fit["reasons"][0])
        (open_lock,) = [x for x in self.call("GET", LOCKOUTS + "?open=true").json["items"]
                        if x["id"] == lock]
        self.assertEqual((open_lock["device"], open_lock["code"], open_lock["open"]),
                         (a["tag"], "CT-WATER-HU", True))

        # closing needs a passing result after the failure, and a supervisor
        close = {"corrective_action": "detector recalibrated by the vendor; air calibration "
                                      "repeated", "password": ADMIN_PASSWORD}
        self.refused("POST", "%s/%s/close" % (LOCKOUTS, lock), close, 409, "conflict",
                     field="id")
        self.refused("POST", "%s/%s/close" % (LOCKOUTS, lock), close, 403, "forbidden",
                     field=None, token=tech)
        self.call("POST", res, {"value": 1.0}, token=tech, status=201)
        self.assertFalse(self.call("GET", "%s/%s/fitness" % (ASSETS, a["tag"])).json["fit"])
        closed = self.call("POST", "%s/%s/close" % (LOCKOUTS, lock), close).json
        self.assertEqual((closed["open"], closed["closed_by"], closed["released"]),
                         (False, "admin", []))
        self.assertTrue(self.call("GET", "%s/%s/fitness" % (ASSETS, a["tag"])).json["fit"])
        self.refused("POST", "%s/%s/close" % (LOCKOUTS, lock), close, 409, "conflict",
                     field="id")

        # the history and its chart, in three formats
        items = self.call("GET", res).json["items"]
        self.assertEqual([(x["value"], x["passed"]) for x in items],
                         [(-2.1, True), (7.4, False), (1.0, True)])
        svg = self.server.request("GET", "%s/%s/chart" % (CHECKS, chk["id"]),
                                  token=self.server.admin())
        self.assertEqual((svg.status, svg.headers.get_content_type()), (200, "image/svg+xml"))
        self.assertIn(b"<svg", svg.raw)
        png = self.server.request("GET", "%s/%s/chart?format=png" % (CHECKS, chk["id"]),
                                  token=self.server.admin())
        self.assertEqual(png.raw[:8], b"\x89PNG\r\n\x1a\n")
        pdf = self.server.request("GET", "%s/%s/chart?format=pdf" % (CHECKS, chk["id"]),
                                  token=self.server.admin())
        self.assertEqual(pdf.raw[:5], b"%PDF-")
        actions = [e["action"] for e in self.audit("qc.check.lockout.close")]
        self.assertIn("qc.check.lockout.close", actions)

    def test_failed_photometer_check_holds_the_analyzer_results(self):
        from tests.system.test_equip import TestFitnessGate
        name, app = unique("AN-"), unique("APP")
        self.call("PUT", "/api/v1/instruments", {"instruments": [{
            "name": name, "kind": "analyzer", "protocol": "hl7", "match": {"application": app},
            "mappings": {"Gluc": "GLU"}}]})
        a = self.asset(instrument=name, install_date=day(-30),
                       **{"class": "chemistry-analyzer"})
        chk = self.call("POST", CHECKS, {
            "device": a["tag"], "code": "PHOT-340", "name": "photometer check at 340 nm",
            "unit": "mAbs", "target": 1000, "tolerance": 20, "frequency": "8h"},
            status=201).json
        res = "%s/%s/results" % (CHECKS, chk["id"])
        self.call("POST", res, {"value": 1003}, status=201)
        lock = self.call("POST", res, {"value": 1031}, status=201).json["lockout"]

        # the analyzer sends a normal glucose: held with the reason
        acc = TestFitnessGate.specimen(self)
        rid = TestFitnessGate.send(self, app, acc, "92")
        r = self.call("GET", "/api/v1/results/" + rid).json
        self.assertEqual(r["status"], "review")
        (h,) = r["holds"]
        self.assertEqual(h["code"], "device-unfit")
        self.assertIn("%s (%s): PHOT-340 of %s out of tolerance: 1031 mAbs against 1000 +- 20"
                      % (name, a["tag"], a["tag"]), h["message"])

        # a passing check and the signed corrective action release it
        self.call("POST", res, {"value": 995}, status=201)
        closed = self.call("POST", "%s/%s/close" % (LOCKOUTS, lock), {
            "corrective_action": "lamp replaced", "password": ADMIN_PASSWORD}).json
        self.assertEqual(closed["released"], [rid])
        self.assertEqual(self.call("GET", "/api/v1/results/" + rid).json["status"], "released")

    def test_refusals_change_nothing(self):
        a = self.ct()
        chk = self.call("POST", CHECKS, ct_check(a["tag"]), status=201).json
        self.refused("POST", CHECKS, ct_check(a["tag"]), 409, "conflict", field="code")
        self.refused("POST", CHECKS, ct_check("NO-SUCH-" + a["tag"], code="X"), 400, "invalid",
                     field="device")
        self.refused("POST", CHECKS, ct_check(a["tag"], code="Y", tolerance=0), 400, "invalid",
                     field="tolerance")
        self.refused("POST", CHECKS, ct_check(a["tag"], code="Y", frequency="hourly"), 400,
                     "invalid", field="frequency")
        res = "%s/%s/results" % (CHECKS, chk["id"])
        self.refused("POST", res, {"value": "high"}, 400, "invalid", field="value")
        self.refused("POST", res, {"value": 1, "at": iso(48)}, 400, "invalid", field="at")
        self.refused("POST", res, {"value": 1, "unit": "HU"}, 400, "unknown_field", field="unit")
        self.refused("POST", "%s/%s/results" % (CHECKS, "0" * 26), {"value": 1}, 404,
                     "not_found", field="id")
        self.assertEqual(self.call("GET", res).json["items"], [])
        self.assertEqual([c["code"] for c in self.call(
            "GET", "%s?device=%s" % (CHECKS, a["tag"])).json["items"]], ["CT-WATER-HU"])
        # an inactive check takes no results and is not required
        self.call("PUT", "%s/%s" % (CHECKS, chk["id"]), {"active": False})
        self.refused("POST", res, {"value": 1}, 400, "invalid", field="id")
        self.assertTrue(self.call("GET", "%s/%s/fitness" % (ASSETS, a["tag"])).json["fit"])

    def test_answers_match_their_schemas(self):
        samples = []

        def add(schema, method, path, body=None, status=200, sent=None):
            r = self.call(method, path, body, status=status)
            samples.append({"schema": schema, "body": r.json})
            if sent:
                samples.append({"schema": sent, "body": body})
            return r.json

        a = self.ct()
        chk = add("QcCheck", "POST", CHECKS, ct_check(a["tag"]), status=201, sent="QcCheckCreate")
        add("QcCheck", "GET", "%s/%s" % (CHECKS, chk["id"]))
        add("QcCheckList", "GET", CHECKS)
        add("QcCheck", "PUT", "%s/%s" % (CHECKS, chk["id"]), {"tolerance": 4.5},
            sent="QcCheckUpdate")
        res = "%s/%s/results" % (CHECKS, chk["id"])
        add("QcCheckResult", "POST", res, {"value": 0.5, "note": "n"}, status=201,
            sent="QcCheckResultEntry")
        bad = add("QcCheckResult", "POST", res, {"value": -9}, status=201)
        add("QcCheckResultList", "GET", res)
        add("QcCheckLockoutList", "GET", LOCKOUTS)
        self.call("POST", res, {"value": 0}, status=201)
        add("QcCheckLockout", "POST", "%s/%s/close" % (LOCKOUTS, bad["lockout"]),
            {"corrective_action": "phantom repositioned", "password": ADMIN_PASSWORD},
            sent="QcLockoutClose")
        add("Error", "POST", res, {"value": "x"}, status=400)
        test_equip.TestEquipOpenApi.validate(self, samples)
