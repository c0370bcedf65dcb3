"""System tests of patient-based QC (src/qc/pbqc.h, src/qc/movavg.h): XB
(Bull's algorithm) on MCV for an instrument, fed by patient results entered
through POST /api/v1/specimens/{accession}/results with the instrument named;
the points it computes, checked against the formula worked here in Python; a
shift of the results opens one alert, which warns without holding results and
which a supervisor acknowledges with a note (and restarts the average); EWMA
with a point every result, truncation limits, settings that keep or restart
the average; bad settings refused naming the field; every response checked
against the OpenAPI schemas with Ajv."""

import math
import threading

from tests.system.harness import unique
from tests.system.test_lab import LabTestCase, PASSWORD
from tests.system.test_openapi import check_samples


def bull(prev, batch):
    """Bull's algorithm, one batch: XB(i) from XB(i-1)."""
    s = sum(math.copysign(math.sqrt(abs(x - prev)), x - prev) for x in batch)
    m = s / len(batch)
    return prev + math.copysign(m * m, s)


STABLE = [88.5, 91.2, 90.3, 89.7, 92.1, 87.9, 90.8, 89.1, 91.5, 88.9]


class TestPatientBasedQc(LabTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        r = cls.server.request("POST", "/api/v1/patients", body={
            "mrn": unique("PB-"), "family": unique("Pbqc"), "given": "Sam",
            "birth_date": "1971-05-04", "sex": "female"}, token=cls.server.admin())
        cls.patient = r.json["id"]
        cls.samples = []

    def sample(self, schema, resp):
        self.samples.append({"schema": schema, "body": resp.json})
        return resp.json

    def enter(self, instrument, code, value):
        """One specimen ordered, collected, received and resulted."""
        o = self.call("POST", "/api/v1/orders", {
            "patient_id": self.patient, "tests": [code], "priority": "routine",
            "clinician": "Dr. Rivera", "reasons": ["D64.9"]}, status=201).json
        acc = o["specimens"][0]["accession"]
        self.call("POST", "/api/v1/specimens/%s/events" % acc, {"event": "collected"})
        self.call("POST", "/api/v1/specimens/%s/events" % acc, {"event": "received"})
        r = self.call("POST", "/api/v1/specimens/%s/results" % acc, {"results": [
            {"code": code, "value": value, "instrument": instrument}]}).json
        return r["results"][0]

    def series(self, test, instrument):
        return self.sample("QcPbqcSeries", self.call(
            "GET", "/api/v1/qc/pbqc?test=%s&instrument=%s" % (test, instrument)))

    def alerts(self, instrument, open_only=True):
        q = "/api/v1/qc/pbqc/alerts?test=MCV&instrument=%s" % instrument
        if open_only:
            q += "&open=true"
        return self.sample("QcPbqcAlertList", self.call("GET", q))["items"]

    def validate_samples(self):
        check_samples(self, self.server, self.samples)

    def test_xb_on_mcv_alerts_on_a_shift(self):
        inst = unique("XN-")
        s = self.sample("QcPbqcSettings", self.call("PUT", "/api/v1/qc/pbqc/settings", {
            "test": "MCV", "instrument": inst, "method": "bull", "batch": 10, "target": 90,
            "limit": 3}))
        self.assertEqual((s["method"], s["batch"], s["limit_kind"], s["enabled"]),
                         ("bull", 10, "percent", True))
        self.assertAlmostEqual(s["low"], 87.3)
        self.assertAlmostEqual(s["high"], 92.7)
        self.assertIsNone(s["lambda"])
        self.assertEqual(s["state"]["average"], 90)
        self.assertEqual((s["state"]["points"], s["state"]["pending"]), (0, 0))
        listed = self.sample("QcPbqcSettingsList", self.call("GET", "/api/v1/qc/pbqc/settings"))
        self.assertIn(("MCV", inst), [(x["test"], x["instrument"]) for x in listed["items"]])

        # two stable batches: two points within the limits, no alert
        xb = 90.0
        for batch in (STABLE, list(reversed(STABLE))):
            for v in batch:
                r = self.enter(inst, "MCV", v)
                self.assertEqual(r["status"], "released")
            xb = bull(xb, batch)
        got = self.series("MCV", inst)
        self.assertEqual(got["settings"]["state"]["seen"], 20)
        pts = got["points"]
        self.assertEqual([(p["seq"], p["n"], p["out_of_limits"], p["method"]) for p in pts],
                         [(1, 10, False, "bull"), (2, 10, False, "bull")])
        self.assertAlmostEqual(pts[0]["value"], bull(90.0, STABLE), places=9)
        self.assertAlmostEqual(pts[1]["value"], xb, places=9)
        self.assertEqual(self.alerts(inst), [])
        # results of other instruments and tests leave this average alone
        self.enter(unique("XN-"), "MCV", 120)
        self.enter(inst, "HGB", 14.1)
        self.assertEqual(self.series("MCV", inst)["settings"]["state"]["seen"], 20)

        # the analyzer reads 5% high: the next batch is out of limits, one alert opens
        shifted = [round(v * 1.05, 1) for v in STABLE]
        held = None
        for v in shifted:
            held = self.enter(inst, "MCV", v)
        xb = bull(xb, shifted)
        self.assertGreater(xb, 92.7)
        pts = self.series("MCV", inst)["points"]
        self.assertEqual(len(pts), 3)
        self.assertTrue(pts[2]["out_of_limits"])
        self.assertAlmostEqual(pts[2]["value"], xb, places=9)
        (alert,) = self.alerts(inst)
        self.assertEqual((alert["test"], alert["instrument"], alert["method"], alert["open"]),
                         ("MCV", inst, "bull", True))
        self.assertEqual(alert["point_id"], pts[2]["id"])
        self.assertAlmostEqual(alert["value"], xb, places=9)
        self.assertAlmostEqual(alert["deviation_percent"], (xb - 90) / 90 * 100, places=6)
        self.assertIsNone(alert["acknowledged_at"])
        # it warns: the result that completed the batch was released all the same
        self.assertEqual(held["status"], "released")
        self.assertEqual(held["holds"], [])
        events = self.audit("qc.pbqc.alert", entity_id=alert["id"])
        self.assertEqual(len(events), 1)
        self.assertEqual(events[0]["detail"]["instrument"], inst)
        # still out: another point, the same one alert
        for v in shifted:
            self.enter(inst, "MCV", v)
        self.assertEqual(len(self.series("MCV", inst)["points"]), 4)
        self.assertEqual([a["id"] for a in self.alerts(inst)], [alert["id"]])

        # a supervisor acknowledges it; a technician may not
        path = "/api/v1/qc/pbqc/alerts/%s/acknowledge" % alert["id"]
        note = "MCV calibration checked: 5% high; recalibrated, controls rerun"
        tech = self.login_as("technician")
        self.refused("POST", path, {"note": note}, 403, "forbidden", token=tech)
        sup_name = unique("sup")
        self.server.create_user(sup_name, "supervisor", PASSWORD)
        sup = self.server.login(sup_name, PASSWORD)
        self.refused("POST", path, {"note": "   "}, 400, "invalid", field="note", token=sup)
        self.refused("POST", path, {"note": note, "why": 1}, 400, "unknown_field", field="why",
                     token=sup)
        self.refused("POST", path, {}, 400, "missing_field", field="note", token=sup)
        self.refused("POST", "/api/v1/qc/pbqc/alerts/01NOSUCHALERT0000000000000/acknowledge",
                     {"note": note}, 404, "not_found", token=sup)
        done = self.sample("QcPbqcAlert", self.call("POST", path, {"note": note,
                                                                    "restart": True}, token=sup))
        self.assertFalse(done["open"])
        self.assertEqual((done["acknowledged_by"], done["note"]), (sup_name, note))
        self.assertIsNotNone(done["acknowledged_at"])
        self.refused("POST", path, {"note": note}, 409, "conflict", token=sup)
        self.assertEqual(self.alerts(inst), [])
        self.assertEqual([a["id"] for a in self.alerts(inst, open_only=False)], [alert["id"]])
        ack = self.audit("qc.pbqc.alert.acknowledge", entity_id=alert["id"])
        self.assertEqual(ack[0]["actor"], sup_name)
        self.assertEqual(ack[0]["detail"]["restart"], True)
        # restarted from the target; the points already computed stay
        st = self.series("MCV", inst)
        self.assertEqual((st["settings"]["state"]["average"], st["settings"]["state"]["pending"]),
                         (90, 0))
        self.assertEqual(len(st["points"]), 4)
        # the fixed instrument: in limits again, no new alert
        for v in STABLE:
            self.enter(inst, "MCV", v)
        pts = self.series("MCV", inst)["points"]
        self.assertEqual(len(pts), 5)
        self.assertFalse(pts[-1]["out_of_limits"])
        self.assertAlmostEqual(pts[-1]["value"], bull(90.0, STABLE), places=9)
        self.assertEqual(self.alerts(inst), [])
        # a series of a test without settings, and one from a time range
        none = self.series("MCH", inst)
        self.assertEqual((none["settings"], none["points"]), (None, []))
        later = self.call("GET", "/api/v1/qc/pbqc?test=MCV&instrument=%s&from=%s" % (
            inst, pts[-1]["at"].replace("+", "%2B"))).json["points"]
        self.assertEqual([p["seq"] for p in later], [5])
        self.refused("GET", "/api/v1/qc/pbqc?test=NOPE", None, 400, "invalid", field="test")
        self.refused("GET", "/api/v1/qc/pbqc?instrument=" + inst, None, 400, "invalid",
                     field="test")
        self.refused("GET", "/api/v1/qc/pbqc/alerts?open=maybe", None, 400, "invalid",
                     field="open")
        self.validate_samples()

    def test_ewma_truncation_and_restarts(self):
        inst = unique("XN-")
        body = {"test": "MCHC", "instrument": inst, "method": "ewma", "lambda": 0.25,
                "batch": 1, "target": 33.5, "limit": 0.6, "limit_kind": "absolute",
                "truncate_low": 28, "truncate_high": 38}
        s = self.sample("QcPbqcSettings", self.call("PUT", "/api/v1/qc/pbqc/settings", body))
        self.assertEqual((s["lambda"], s["truncate_low"], s["truncate_high"]), (0.25, 28, 38))
        self.assertAlmostEqual(s["low"], 32.9)
        self.assertAlmostEqual(s["high"], 34.1)
        e = 33.5
        for v in (34.0, 40.0, 35.5, 35.0):  # 40 is outside the truncation limits
            self.enter(inst, "MCHC", v)
            if v <= 38:
                e = 0.25 * v + 0.75 * e
        got = self.series("MCHC", inst)
        state = got["settings"]["state"]
        self.assertEqual((state["seen"], state["left_out"], state["points"]), (4, 1, 3))
        self.assertAlmostEqual(state["average"], e, places=9)
        vals = [p["value"] for p in got["points"]]
        self.assertAlmostEqual(vals[0], 33.625, places=9)
        self.assertAlmostEqual(vals[1], 0.25 * 35.5 + 0.75 * 33.625, places=9)
        self.assertEqual([p["out_of_limits"] for p in got["points"]], [False, False, True])
        (alert,) = self.server.request(
            "GET", "/api/v1/qc/pbqc/alerts?open=true&test=MCHC&instrument=" + inst,
            token=self.server.admin()).json["items"]
        self.assertEqual(alert["method"], "ewma")
        self.assertEqual((alert["low"], alert["high"]), (s["low"], s["high"]))

        # new limits keep the running average; a new target restarts it
        started = state["started_at"]
        kept = self.call("PUT", "/api/v1/qc/pbqc/settings", dict(body, limit=2)).json
        self.assertAlmostEqual(kept["state"]["average"], e, places=9)
        self.assertEqual(kept["state"]["started_at"], started)
        self.assertFalse(kept["state"]["out_of_limits"])
        moved = self.call("PUT", "/api/v1/qc/pbqc/settings", dict(body, target=34)).json
        self.assertEqual(moved["state"]["average"], 34)
        self.assertEqual(moved["state"]["points"], 3)  # counted since the settings began
        # disabled: results pass by
        off = self.call("PUT", "/api/v1/qc/pbqc/settings", dict(body, target=34,
                                                                 enabled=False)).json
        self.assertFalse(off["enabled"])
        self.enter(inst, "MCHC", 34.2)
        self.assertEqual(self.series("MCHC", inst)["settings"]["state"]["seen"], 4)
        self.assertNotEqual(moved["state"]["started_at"], started)
        audit = self.audit("qc.pbqc.settings", entity_id="MCHC")
        self.assertEqual(len([a for a in audit if a["detail"]["instrument"] == inst]), 4)
        self.validate_samples()

    def test_concurrent_entries_count_every_result(self):
        """Results entered at once from several clients (patient-based QC's
        test first or second in the body) while the settings change: every
        request succeeds and every result is counted once (one row updated in
        place, no lost update)."""
        inst = unique("XN-")
        body = {"test": "MCV", "instrument": inst, "method": "bull", "batch": 10,
                "target": 90, "limit": 3}
        self.call("PUT", "/api/v1/qc/pbqc/settings", body)
        accs = []
        for _ in range(24):
            o = self.call("POST", "/api/v1/orders", {
                "patient_id": self.patient, "tests": ["HGB", "MCV"], "priority": "routine",
                "clinician": "Dr. Rivera", "reasons": ["D64.9"]}, status=201).json
            self.assertEqual(len(o["specimens"]), 1)
            acc = o["specimens"][0]["accession"]
            self.call("POST", "/api/v1/specimens/%s/events" % acc, {"event": "collected"})
            self.call("POST", "/api/v1/specimens/%s/events" % acc, {"event": "received"})
            accs.append(acc)
        token = self.server.admin()
        statuses = []

        def enter(mine, mcv_first):
            for i, acc in enumerate(mine):
                results = [{"code": "HGB", "value": 14.0, "instrument": inst},
                           {"code": "MCV", "value": 88 + i, "instrument": inst}]
                if mcv_first:
                    results.reverse()
                r = self.server.request("POST", "/api/v1/specimens/%s/results" % acc,
                                        body={"results": results}, token=token)
                statuses.append((r.status, r.raw[:200]))

        def settle():
            for limit in (3, 3.5, 3, 3.5, 3):
                r = self.server.request("PUT", "/api/v1/qc/pbqc/settings",
                                        body=dict(body, limit=limit), token=token)
                statuses.append((r.status, r.raw[:200]))

        workers = [threading.Thread(target=enter, args=(accs[k::6], k % 2)) for k in range(6)]
        workers.append(threading.Thread(target=settle))
        for w in workers:
            w.start()
        for w in workers:
            w.join(120)
        self.assertEqual([st for st in statuses if st[0] != 200], [])
        self.assertEqual(len(statuses), 29)
        got = self.series("MCV", inst)
        state = got["settings"]["state"]
        self.assertEqual((state["seen"], state["points"], state["pending"]), (24, 2, 4))
        self.assertEqual([(p["seq"], p["n"]) for p in got["points"]], [(1, 10), (2, 10)])

    def test_bad_settings_are_refused_naming_the_field(self):
        inst = unique("XN-")
        good = {"test": "MCV", "instrument": inst, "method": "bull", "target": 90, "limit": 3}
        cases = [
            (dict(good, test="NOPE"), "invalid", "test"),
            (dict(good, test="UCOLOR"), "invalid", "test"),
            (dict(good, method="median"), "invalid", "method"),
            (dict(good, batch=5), "invalid", "batch"),
            (dict(good, batch=501), "invalid", "batch"),
            (dict(good, batch=2.5), "invalid", "batch"),
            (dict(good, lambda_=0.2), "invalid", "lambda"),
            (dict(good, method="ewma"), "invalid", "lambda"),
            (dict(good, method="ewma", **{"lambda": 0}), "invalid", "lambda"),
            (dict(good, method="ewma", **{"lambda": 1.5}), "invalid", "lambda"),
            (dict(good, limit=0), "invalid", "limit"),
            (dict(good, limit=-3), "invalid", "limit"),
            (dict(good, limit=100), "invalid", "limit"),
            (dict(good, target=0), "invalid", "limit"),
            (dict(good, target="90"), "invalid", "target"),
            (dict(good, limit_kind="ratio"), "invalid", "limit_kind"),
            (dict(good, truncate_low=95), "invalid", "truncate_low"),
            (dict(good, truncate_high=85), "invalid", "truncate_high"),
            (dict(good, truncate_low=100, truncate_high=80), "invalid", "truncate_high"),
            (dict(good, instrument="  "), "invalid", "instrument"),
            (dict(good, enabled="yes"), "invalid", "enabled"),
            (dict(good, rules="1-3s"), "unknown_field", "rules"),
            ({k: v for k, v in good.items() if k != "target"}, "missing_field", "target"),
            ({k: v for k, v in good.items() if k != "method"}, "missing_field", "method"),
        ]
        for body, code, field in cases:
            if "lambda_" in body:
                body = dict(body)
                body["lambda"] = body.pop("lambda_")
            self.refused("PUT", "/api/v1/qc/pbqc/settings", body, 400, code, field=field)
        tech = self.login_as("technician")
        self.refused("PUT", "/api/v1/qc/pbqc/settings", good, 403, "forbidden", token=tech)
        self.assertEqual(self.call("GET", "/api/v1/qc/pbqc/settings", token=tech).status, 200)
        listed = self.call("GET", "/api/v1/qc/pbqc/settings").json["items"]
        self.assertNotIn(inst, [x["instrument"] for x in listed])
        # a result of that test is entered as always, with no settings to feed
        r = self.enter(inst, "MCV", 91.0)
        self.assertEqual(r["status"], "released")
