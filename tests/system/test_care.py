"""System tests of people and care (src/care/, docs/care.md) over HTTP:
certifications and competency with the release gate (a technician whose
competency expired cannot release a result, the gate says so, renewing it
restores the privilege), the operator of record of an instrument, and who may
do what. Bodies that are refused name the field and change nothing. The
answers are checked against the OpenAPI document's own schemas."""

import datetime
import json
import os
import shutil
import tempfile

from tests.system.test_lab import PASSWORD, LabTestCase, order_body, unique
from tests.system.test_openapi import node_tool

CARE = "/api/v1/care"
ELEMENTS = ("direct_observation", "monitoring_records", "review_worksheets",
            "maintenance_observation", "blind_samples", "problem_solving")


def day(offset=0):
    return (datetime.datetime.now(datetime.timezone.utc).date() +
            datetime.timedelta(days=offset)).isoformat()


def add_months(date, months):
    """date (YYYY-MM-DD) plus months, the day kept or the month's last."""
    d = datetime.date.fromisoformat(date)
    index = d.year * 12 + d.month - 1 + months
    y, m = divmod(index, 12)
    m += 1
    last = (datetime.date(y + (m == 12), m % 12 + 1, 1) - datetime.timedelta(days=1)).day
    return datetime.date(y, m, min(d.day, last)).isoformat()


class CareTestCase(LabTestCase):
    def setUp(self):
        self.samples = []

    def sample(self, schema, body):
        """Keep an answer (or a body sent) to check against the schema named."""
        self.samples.append({"schema": schema, "body": body})
        return body

    def check_samples(self):
        """Every sample kept matches its schema of the server's OpenAPI document (Ajv)."""
        tmp = tempfile.mkdtemp(prefix="benchside-care-")
        try:
            doc = os.path.join(tmp, "openapi.json")
            with open(doc, "w") as fh:
                json.dump(self.call("GET", "/api/v1/openapi.json").json, fh)
            path = os.path.join(tmp, "samples.json")
            with open(path, "w") as fh:
                json.dump(self.samples, fh)
            p = node_tool("validate-responses.mjs", doc, path)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            n = len(self.samples)
            self.assertIn("%d of %d" % (n, n), p.stdout)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def person(self, role="technician"):
        """A new account: (username, token)."""
        name = unique(role[:4])
        self.server.create_user(name, role, PASSWORD)
        return name, self.server.login(name, PASSWORD)

    def asset(self, cls):
        """A new in-service device of the asset register of class cls; its tag."""
        tag = unique("BME-")
        self.call("POST", "/api/v1/assets", {
            "tag": tag, "class": cls, "manufacturer": "Maker", "model": "Model 1",
            "serial": unique("SN"), "location": "Floor 2", "risk_class": "high",
            "owner": "Care"}, status=201)
        return tag

    def analyzer(self):
        name = unique("AN-")
        self.call("PUT", "/api/v1/instruments", {"instruments": [{
            "name": name, "kind": "analyzer", "protocol": "hl7",
            "match": {"application": name}}]})
        return name

    def certify(self, user, kind="ASCP", issued=-700, expires=400, token=Ellipsis):
        return self.call("POST", CARE + "/certifications", {
            "user": user, "kind": kind, "number": unique("MLS-"), "issuer": "ASCP BOC",
            "issued_on": day(issued), "expires_on": day(expires)}, token=token, status=201).json

    def assess(self, user, system, on, token=Ellipsis, failed=(), password=None, status=201):
        body = {"user": user, "system": system, "assessed_on": on,
                "elements": {e: "not-met" if e in failed else "met" for e in ELEMENTS},
                "password": password or PASSWORD}
        return self.call("POST", CARE + "/assessments", body, token=token, status=status).json

    def held_result(self, inst, value=91, token=Ellipsis):
        """A glucose from inst entered by hand; the result."""
        p = self.create_patient()
        o = self.call("POST", "/api/v1/orders", order_body(p["id"], tests=["GLU"]),
                      status=201).json
        acc = o["specimens"][0]["accession"]
        for ev in ("collected", "received"):
            self.call("POST", "/api/v1/specimens/%s/events" % acc, {"event": ev})
        r = self.call("POST", "/api/v1/specimens/%s/results" % acc, {"results": [
            {"code": "GLU", "value": value, "instrument": inst}]}, token=token).json
        return r["results"][0]


class TestCompetencyGate(CareTestCase):
    """The issue's story: a technician whose competency expired cannot release a
    result, and the gate says so; renewing it restores the privilege."""

    def test_expired_competency_holds_release_until_renewed(self):
        sup, sup_token = self.person("supervisor")
        tech, tech_token = self.person("technician")
        inst = self.analyzer()
        system = self.sample("CareTestSystem", self.call("POST", CARE + "/test-systems", self.sample(
            "CareTestSystemCreate", {"code": inst, "kind": "instrument",
                                     "name": "Chemistry analyzer", "certification": "ASCP"}),
            token=sup_token, status=201).json)
        self.assertEqual((system["code"], system["certification"]), (inst, "ASCP"))
        cert = self.sample("CareCertification", self.certify(tech, token=sup_token))
        self.assertTrue(cert["valid"])

        # assessed as a new hire 400 days ago: due again after six months
        old = day(-400)
        a = self.sample("CareAssessment", self.assess(tech, inst, old, token=sup_token,
                                                      password=PASSWORD))
        self.assertEqual((a["result"], a["first_year"], a["due_on"], a["assessor"]),
                         ("satisfactory", True, add_months(old, 6), sup))
        staff = self.sample("CareStaff", self.call("GET", CARE + "/staff/" + tech,
                                                   token=sup_token).json)
        (mine,) = [c for c in staff["competency"] if c["system"] == inst]
        why = "competency for %s expired: assessed %s, due again by %s" % (
            inst, old, add_months(old, 6))
        self.assertEqual((mine["competent"], mine["reason"]), (False, why))
        expiring = self.sample("CareExpiringList",
                               self.call("GET", CARE + "/expiring?within=0").json)
        self.assertIn({"type": "competency", "user": tech, "what": inst,
                       "date": add_months(old, 6), "expired": True,
                       "days_left": (datetime.date.fromisoformat(add_months(old, 6)) -
                                     datetime.date.fromisoformat(day(0))).days},
                      expiring["items"])

        # a high glucose from the analyzer waits for review; the technician may not release it
        res = self.held_result(inst, value=150, token=tech_token)
        self.assertEqual((res["status"], res["flag"]), ("review", "H"))
        # entered by the technician with no one signed on: they are its operator of record
        self.assertEqual(res["holds"], [
            {"code": "out-of-range", "message": "flagged H: outside the reference range"},
            {"code": "competency", "message": "the operator of record %s is not competent: %s"
             % (tech, why)}])
        r = self.server.post("/api/v1/results/release", {"ids": [res["id"]],
                                                         "password": PASSWORD}, token=tech_token)
        self.assertEqual(r.status, 409, r.raw)
        self.assertEqual(r.json["held"], [{"id": res["id"], "reasons": [{
            "code": "competency", "message": "%s is not competent: %s" % (tech, why)}]}])
        self.assertEqual(self.call("GET", "/api/v1/results/" + res["id"]).json["status"],
                         "review")

        # bad input around it changes nothing
        before = self.call("GET", CARE + "/staff/" + tech).json
        self.refused("POST", CARE + "/assessments", {
            "user": tech, "system": inst, "assessed_on": day(1), "password": PASSWORD,
            "elements": {e: "met" for e in ELEMENTS}}, 400, "invalid", field="assessed_on",
            token=sup_token)
        self.refused("POST", CARE + "/assessments", {
            "user": tech, "system": inst, "assessed_on": day(0), "password": PASSWORD,
            "elements": {e: "met" for e in ELEMENTS[:5]}}, 400, "missing_field",
            field="elements.problem_solving", token=sup_token)
        self.refused("POST", CARE + "/assessments", {
            "user": sup, "system": inst, "assessed_on": day(0), "password": PASSWORD,
            "elements": {e: "met" for e in ELEMENTS}}, 400, "invalid", field="user",
            token=sup_token)
        self.refused("POST", CARE + "/certifications", {
            "user": tech, "kind": "ASCP", "number": "MLS-1", "issuer": "ASCP BOC",
            "issued_on": day(-1200), "expires_on": day(-5)}, 400, "invalid",
            field="expires_on", token=sup_token)
        self.assertEqual(self.call("GET", CARE + "/staff/" + tech).json, before)
        # a technician does not assess anyone
        self.refused("POST", CARE + "/assessments", {
            "user": tech, "system": inst, "assessed_on": day(0), "password": PASSWORD,
            "elements": {e: "met" for e in ELEMENTS}}, 403, "forbidden", token=tech_token)

        # renewed today: the result waits only for a person's review, and the technician
        # releases it
        a = self.assess(tech, inst, day(0), token=sup_token)
        self.assertEqual((a["first_year"], a["due_on"]), (False, add_months(day(0), 12)))
        got = self.call("GET", "/api/v1/results/" + res["id"]).json
        self.assertEqual((got["status"], [h["code"] for h in got["holds"]]),
                         ("review", ["out-of-range"]))
        out = self.sample("ResultList", self.call("POST", "/api/v1/results/release", {
            "ids": [res["id"]], "password": PASSWORD}, token=tech_token).json)
        self.assertEqual((out["results"][0]["status"], out["results"][0]["released_by"]),
                         ("released", tech))
        (ev,) = [e for e in self.audit("care.assessment.create")
                 if e["detail"]["assessment"] == a["id"]]
        self.assertEqual((ev["actor"], ev["detail"]["result"]), (sup, "satisfactory"))
        self.check_samples()

    def test_operator_of_record_for_automatic_release(self):
        sup, sup_token = self.person("supervisor")
        tech, tech_token = self.person("technician")
        inst = self.analyzer()
        self.call("POST", CARE + "/test-systems", {"code": inst, "kind": "instrument",
                                                   "name": "Chemistry"}, status=201)
        self.assess(tech, inst, day(-3), token=sup_token)
        # an unknown instrument, or an EHR, has no operator
        self.refused("POST", CARE + "/operators", {"instrument": "NO-SUCH"}, 400, "invalid",
                     field="instrument", token=tech_token)
        # a technician signs on for themselves only
        self.refused("POST", CARE + "/operators", {"instrument": inst, "user": sup}, 403,
                     "forbidden", field="user", token=tech_token)
        # no one signed on: whoever entered a result is its operator (the admin: not assessed)
        first = self.held_result(inst)
        self.assertEqual((first["status"], first["holds"]), ("review", [{
            "code": "competency", "message": "the operator of record admin is not competent: "
            "no competency assessment on record for %s" % inst}]))
        op = self.sample("CareOperator", self.call("POST", CARE + "/operators", self.sample(
            "CareOperatorSignOn", {"instrument": inst}), token=tech_token, status=201).json)
        self.assertEqual((op["user"], op["competent"], op["reason"]), (tech, True, None))
        self.assertISO(op["since"])
        # the competent technician runs the analyzer: its next result is released at once
        self.assertEqual(self.held_result(inst)["status"], "released")
        self.assertEqual(self.call("GET", "/api/v1/results/" + first["id"]).json["status"],
                         "review")
        ops = self.sample("CareOperatorList", self.call("GET", CARE + "/operators").json)
        self.assertIn(inst, [(o["instrument"]) for o in ops["items"] if o["user"] == tech])
        self.call("DELETE", CARE + "/operators/" + inst, token=tech_token, status=204)
        self.refused("DELETE", CARE + "/operators/" + inst, None, 409, "conflict",
                     field="instrument", token=tech_token)
        (ev,) = [e for e in self.audit("care.operator.sign-on", entity_id=inst)]
        self.assertEqual(ev["detail"], {"user": tech, "competent": True})
        self.check_samples()

    def test_who_may(self):
        _, clin = self.person("clinician")
        _, bio = self.person("biomed")
        _, tech = self.person("technician")
        self.refused("GET", CARE + "/test-systems", None, 403, "forbidden", token=clin)
        self.call("GET", CARE + "/test-systems", token=bio)
        self.call("GET", CARE + "/certifications", token=tech)
        self.refused("POST", CARE + "/test-systems", {"code": "GLU", "kind": "test",
                                                      "name": "Glucose"}, 403, "forbidden",
                     token=tech)
        self.refused("POST", CARE + "/certifications", {}, 403, "forbidden", token=bio)
        self.refused("GET", CARE + "/staff/admin", None, 403, "forbidden", token=clin)
        self.refused("GET", CARE + "/staff/nobody-" + unique(), None, 404, "not_found")
        self.refused("GET", CARE + "/expiring?within=999", None, 400, "invalid", field="within")


def pcd01(app, mrn, obs, control):
    """An IHE PCD-01 ORU^R01 from a physiological monitor: the device (MDS),
    virtual device (VMD) and channel OBX segments carry no value; each numeric
    observation is (code, reference id, value, unit)."""
    lines = ["MSH|^~\\&|%s|ICU|benchside|LAB|20261121103000||ORU^R01^ORU_R01|%s|P|2.6|||AL|NE"
             "||||||IHE_PCD_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.1.1^ISO" % (app, control),
             "PID|||%s^^^HOSP^MR||Doe^Jane" % mrn,
             "PV1||I|ICU^Bed 4",
             "OBR|1|%s^%s||69965^MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS^MDC|||20261121102955+0000"
             % (control, app),
             "OBX|1||69965^MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS^MDC|1.0.0.0|||||||X",
             "OBX|2||69642^MDC_DEV_ANALY_SAT_O2_VMD^MDC|1.1.0.0|||||||X"]
    for i, (code, ref_id, value, unit) in enumerate(obs):
        lines.append("OBX|%d|NM|%s^%s^MDC|1.1.1.%d|%s|%s|||||R|||20261121102955+0000||||"
                     "0123456789ABCDEF^EUI-64" % (i + 3, code, ref_id, i + 1, value, unit))
    return "\r".join(lines)


# What a monitor sends in these tests: SpO2 91, pulse 124, RR 24, BP 98/61,
# 38.6 C (no consciousness, no oxygen).
MONITOR_SET = [("150456", "MDC_PULS_OXIM_SAT_O2", "91", "262688^MDC_DIM_PERCENT^MDC"),
               ("149530", "MDC_PULS_OXIM_PULS_RATE", "124", "264864^MDC_DIM_BEAT_PER_MIN^MDC"),
               ("151562", "MDC_RESP_RATE", "24", "264928^MDC_DIM_RESP_PER_MIN^MDC"),
               ("150021", "MDC_PRESS_BLD_NONINV_SYS", "98", "266016^MDC_DIM_MMHG^MDC"),
               ("150022", "MDC_PRESS_BLD_NONINV_DIA", "61", "266016^MDC_DIM_MMHG^MDC"),
               ("150344", "MDC_TEMP", "38.6", "268192^MDC_DIM_DEGC^MDC")]


def new_monitor(test):
    """A patient monitor of the interface register: (its name, its application)."""
    name, app = unique("MON-"), unique("PCD")
    test.call("PUT", "/api/v1/instruments", {"instruments": [{
        "name": name, "kind": "monitor", "protocol": "hl7", "match": {"application": app}}]})
    return name, app


def monitor_sends(test, port, app, mrn, obs):
    """obs sent by app as one PCD-01 message over MLLP, acknowledged AA; its control id."""
    from tests.system.test_links import MllpClient, ctl, msa
    c = MllpClient(port)
    try:
        control = ctl("V")
        code, got, err = msa(c.send(pcd01(app, mrn, obs, control)))
        test.assertEqual((code, got), ("AA", control), err)
    finally:
        c.close()
    return control


class TestVitalSigns(CareTestCase):
    """Vital signs by hand with NEWS2, the patient's SpO2 scale, the alerts; a
    monitor's PCD-01 message over MLLP records vitals and raises a NEWS2
    alert; `benchside news2` prints the same score as the API."""

    server_args = ("--mllp", "127.0.0.1:0")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.mllp_port = cls.server.link_ports()[0]

    def vitals_body(self, pid, **kw):
        body = {"patient_id": pid, "respiration_rate": 23, "spo2": 94, "oxygen": True,
                "systolic_bp": 118, "pulse": 112, "acvpu": "A", "temperature": 37.9}
        body.update(kw)
        return body

    def test_by_hand(self):
        _, tech = self.person("technician")
        p = self.create_patient()
        path = CARE + "/patients/%s/vitals" % p["id"]
        # a pulse of 900 and the like are refused, naming the field; nothing is written
        for field, value in (("pulse", 900), ("respiration_rate", 0), ("spo2", 101),
                             ("temperature", 52.0), ("systolic_bp", 20), ("acvpu", "Z"),
                             ("diastolic_bp", 5), ("diastolic_bp", 118)):
            self.refused("POST", CARE + "/vitals", self.vitals_body(p["id"], **{field: value}),
                         400, "invalid", field=field, token=tech)
        body = self.vitals_body(p["id"])
        del body["acvpu"]
        self.refused("POST", CARE + "/vitals", body, 400, "missing_field", field="acvpu",
                     token=tech)
        self.refused("POST", CARE + "/vitals", self.vitals_body(
            p["id"], taken_at="2099-01-01T00:00:00Z"), 400, "invalid", field="taken_at",
            token=tech)
        self.assertEqual(self.call("GET", path).json["items"], [])

        # pneumonia on oxygen: 2 + 1 + 2 + 0 + 2 + 0 + 0 = 7, high
        v = self.sample("CareVitals", self.call("POST", CARE + "/vitals", self.sample(
            "CareVitalsCreate", self.vitals_body(p["id"], diastolic_bp=76.4)), token=tech,
            status=201).json)
        self.assertEqual(v["diastolic_bp"], 76)  # kept beside the score, not scored
        n = v["news2"]
        self.assertEqual((n["score"], n["band"], n["complete"], n["alert"]),
                         (7, "high", True, True))
        self.assertEqual({k: x["points"] for k, x in n["parameters"].items()},
                         {"respiration_rate": 2, "spo2": 1, "oxygen": 2, "systolic_bp": 0,
                          "pulse": 2, "acvpu": 0, "temperature": 0})
        self.assertEqual(v["alert"]["reason"], "NEWS2 7 (high)")
        # the command line scores the same set the same way
        from tests.system.harness import run_cli
        cli = run_cli(["news2", "--rr", "23", "--spo2", "94", "--oxygen", "--sbp", "118",
                       "--pulse", "112", "--acvpu", "A", "--temp", "37.9"])
        self.assertEqual(cli.returncode, 0, cli.stderr)
        self.assertEqual(json.loads(cli.stdout), n)
        self.assertEqual(self.sample("CareNews2", json.loads(cli.stdout))["score"], 7)
        bad = run_cli(["news2", "--rr", "23", "--spo2", "94", "--sbp", "118", "--pulse", "900",
                       "--acvpu", "A", "--temp", "37.9"])
        self.assertEqual((bad.returncode, bad.stdout), (1, ""))
        self.assertIn("pulse: 900 is outside 20 to 300", bad.stderr)
        self.assertEqual(run_cli(["news2", "--rr", "23"]).returncode, 2)

        # scale 2 prescribed for COPD: 97% on oxygen scores 3 for saturation
        sc = self.sample("CareSpo2Scale", self.call(
            "POST", CARE + "/patients/%s/spo2-scale" % p["id"], self.sample(
                "CareSpo2ScaleSet", {"scale": 2, "reason": "COPD, type 2 respiratory failure"}),
            token=tech, status=201).json)
        self.assertEqual(sc["scale"], 2)
        v2 = self.call("POST", CARE + "/vitals", self.vitals_body(
            p["id"], respiration_rate=18, spo2=97, pulse=80), token=tech, status=201).json
        self.assertEqual((v2["news2"]["parameters"]["spo2"], v2["news2"]["score"]),
                         ({"value": 97, "points": 3, "scale": 2}, 5))
        self.assertIsNone(v2["diastolic_bp"])
        got = self.sample("CareVitalsList", self.call("GET", path).json)
        self.assertEqual((got["spo2_scale"], [x["id"] for x in got["items"]]),
                         (2, [v2["id"], v["id"]]))
        self.assertEqual(len(self.audit("care.vitals.read", entity_id=p["id"])), 2)

        # the alerts: open, acknowledged once with what was done
        alerts = self.sample("CareNews2AlertList",
                             self.call("GET", CARE + "/news2-alerts?open=true").json)["items"]
        (a,) = [x for x in alerts if x["vitals_id"] == v["id"]]
        self.assertEqual((a["score"], a["patient"]["mrn"]), (7, p["mrn"]))
        ack = self.sample("CareNews2Alert", self.call(
            "POST", CARE + "/news2-alerts/%s/acknowledge" % a["id"],
            self.sample("CareNews2Acknowledge", {"note": "Registrar informed, hourly obs"}),
            token=tech).json)
        self.assertIsNotNone(ack["acknowledged_at"])
        self.refused("POST", CARE + "/news2-alerts/%s/acknowledge" % a["id"], {"note": "again"},
                     409, "conflict", token=tech)
        open_ids = [x["id"] for x in self.call("GET", CARE + "/news2-alerts?open=true")
                    .json["items"]]
        self.assertNotIn(a["id"], open_ids)

        # biomedical technicians do not record patients' vital signs, nor read them
        _, bio = self.person("biomed")
        self.refused("POST", CARE + "/vitals", self.vitals_body(p["id"]), 403, "forbidden",
                     token=bio)
        self.refused("GET", path, None, 403, "forbidden", token=bio)
        _, clin = self.person("clinician")
        self.assertEqual(len(self.call("GET", path, token=clin).json["items"]), 2)
        self.check_samples()

    def test_monitor_pcd01_over_mllp(self):
        from tests.system.test_links import MllpClient, ctl, msa
        p = self.create_patient()
        name, app = new_monitor(self)
        control = monitor_sends(self, self.mllp_port, app, p["mrn"], MONITOR_SET)
        c = MllpClient(self.mllp_port)
        try:
            # a pulse of 900 is no reading: AE naming the OBX, nothing stored
            bad = [("149530", "MDC_PULS_OXIM_PULS_RATE", "900", "")]
            code, _, err = msa(c.send(pcd01(app, p["mrn"], bad, ctl("V"))))
            self.assertEqual(code, "AE")
            self.assertIn("pulse: 900 is outside", "|".join(err))
            # a diastolic pressure above the systolic: two readings swapped
            swapped = [("150021", "MDC_PRESS_BLD_NONINV_SYS", "61", ""),
                       ("150022", "MDC_PRESS_BLD_NONINV_DIA", "98", "")]
            code, _, err = msa(c.send(pcd01(app, p["mrn"], swapped, ctl("V"))))
            self.assertEqual(code, "AE")
            self.assertIn("segment 8: diastolic_bp: 98 is not below the systolic", "|".join(err))
            # a patient the hospital has not registered: AE naming PID-3
            code, _, err = msa(c.send(pcd01(app, "NO-" + p["mrn"], MONITOR_SET, ctl("V"))))
            self.assertEqual(code, "AE")
            self.assertIn("no patient has MRN", "|".join(err))
        finally:
            c.close()
        (m,) = self.call("GET", "/api/v1/messages?control_id=" + control).json["items"]
        self.assertEqual((m["status"], m["instrument"], m["type"]), ("accepted", name, "ORU^R01"))
        # SpO2 91 (3) + pulse 124 (2) + RR 24 (2) + SBP 98 (2) + 38.6 (1) = 10 without
        # consciousness and oxygen, which the monitor does not measure
        self.assertEqual((m["summary"]["news2"], m["summary"]["alert"]), (10, True))
        (v,) = self.call("GET", CARE + "/patients/%s/vitals" % p["id"]).json["items"]
        self.assertEqual((v["id"], v["source"], v["taken_at"]),
                         (m["summary"]["vitals"], name, "2026-11-21T10:29:55.000000Z"))
        self.assertEqual({k: x["points"] for k, x in v["news2"]["parameters"].items()},
                         {"spo2": 3, "pulse": 2, "respiration_rate": 2, "systolic_bp": 2,
                          "temperature": 1})
        self.assertFalse(v["news2"]["complete"])
        self.assertEqual(v["diastolic_bp"], 61)
        self.assertEqual(v["alert"]["reason"],
                         "NEWS2 10 or more (high); 3 points for spo2 (91)")
        alerts = self.call("GET", CARE + "/news2-alerts?open=true").json["items"]
        self.assertIn(v["id"], [a["vitals_id"] for a in alerts])
        (ev,) = self.audit("care.vitals.record", entity_id=p["id"])
        self.assertEqual((ev["actor"], ev["detail"]["source"]), ("interface:" + name, name))


class TestSterilization(CareTestCase):
    """The issue's story: a positive biological indicator lists every patient
    whose procedure used a set from that load, and no one else."""

    def cycle(self, sterilizer, number, sets, token=Ellipsis, status=201, **kw):
        body = {"sterilizer": sterilizer, "cycle_number": number, "program": "prevacuum-134",
                "exposure_minutes": 3.5, "temperature": 134.4, "pressure": 304,
                "chemical": "pass", "biological": "pending", "sets": sets}
        body.update(kw)
        return self.call("POST", CARE + "/sterilization/cycles", body, token=token,
                         status=status).json

    def procedure(self, patient, token=Ellipsis):
        return self.call("POST", CARE + "/procedures", {
            "patient_id": patient["id"], "modality": "other", "exam": "Excision of a skin lesion",
            "scheduled_at": "2026-11-20T09:00:00Z"}, token=token, status=201).json

    def test_positive_biological_indicator_recalls_the_load(self):
        _, tech = self.person("technician")
        sterilizer = self.asset("autoclave")
        sets = []
        for i in range(4):
            code = unique("TRAY-")
            sets.append(self.sample("CareSet", self.call(
                "POST", CARE + "/sterilization/sets",
                self.sample("CareSetCreate", {"code": code, "name": "Minor set %d" % i}),
                status=201).json)["code"])
        # a cycle without its biological indicator is refused; nothing written
        body = {"sterilizer": sterilizer, "cycle_number": 7001, "program": "prevacuum-134",
                "exposure_minutes": 3.5, "temperature": 134.4, "pressure": 304,
                "chemical": "pass", "sets": sets[:3]}
        self.refused("POST", CARE + "/sterilization/cycles", body, 400, "missing_field",
                     field="biological", token=tech)
        no_chemical = dict(body, biological="pending")
        del no_chemical["chemical"]
        self.refused("POST", CARE + "/sterilization/cycles", no_chemical, 400, "missing_field",
                     field="chemical", token=tech)
        self.refused("POST", CARE + "/sterilization/cycles", dict(
            body, biological="pending", sets=sets[:2] + ["NO-SUCH-TRAY"]), 400, "invalid",
            field="sets[2]", token=tech)
        self.assertEqual(self.call("GET", CARE + "/sterilization/cycles?sterilizer=" +
                                   sterilizer).json["items"], [])

        # load A: sets 0, 1, 2; load B: set 3
        a = self.sample("CareCycle", self.cycle(sterilizer, 7001, sets[:3], token=tech))
        self.assertEqual((a["status"], a["physical_pass"], a["problems"], a["sets"]),
                         ("released", True, [], sorted(sets[:3])))
        b = self.cycle(sterilizer, 7002, sets[3:], token=tech)
        self.sample("CareCycleCreate", dict(body, biological="pending"))
        patients = [self.create_patient() for _ in range(4)]
        procs = [self.procedure(p, token=tech) for p in patients]
        self.sample("CareProcedureCreate", {
            "patient_id": patients[0]["id"], "modality": "other", "exam": "Excision",
            "scheduled_at": "2026-11-20T09:00:00Z"})
        # sets 0 and 1 to patients 0 and 1, set 2 twice (patient 2) is refused the second
        # time; set 3 (load B) to patient 3
        for i, (proc, code) in enumerate(zip(procs, sets)):
            p = self.sample("CareProcedure", self.call(
                "POST", CARE + "/procedures/%s/sets" % proc["id"],
                self.sample("CareSetUse", {"set": code}), token=tech, status=201).json)
            self.assertEqual([(s["set"], s["cycle_number"]) for s in p["sets"]],
                             [(code, 7001 if i < 3 else 7002)])
        self.refused("POST", CARE + "/procedures/%s/sets" % procs[3]["id"], {"set": sets[2]},
                     409, "conflict", field="set", token=tech)

        # the biological indicator of load A grows
        got = self.sample("CareCycle", self.call(
            "POST", CARE + "/sterilization/cycles/%s/biological" % a["id"],
            self.sample("CareBiologicalRead", {"result": "positive"}), token=tech).json)
        self.assertEqual((got["status"], got["biological"], got["problems"]),
                         ("recalled", "positive", ["the biological indicator is positive"]))
        recall = self.sample("CareRecall", self.call(
            "GET", CARE + "/sterilization/cycles/%s/recall" % a["id"]).json)
        self.assertEqual(sorted(recall["patients"]), sorted(p["id"] for p in patients[:3]))
        where = {s["set"]: [(u["procedure_id"], u["patient"]["mrn"]) for u in s["uses"]]
                 for s in recall["sets"]}
        self.assertEqual(where, {sets[i]: [(procs[i]["id"], patients[i]["mrn"])]
                                 for i in range(3)})
        self.assertEqual(len(self.audit("care.recall.read", entity_id=a["id"])), 1)
        (ev,) = self.audit("care.cycle.recall", entity_id=a["id"])
        self.assertEqual(ev["detail"]["cycle_number"], 7001)
        # load B is not touched; a recalled set is not used again until reprocessed
        self.assertEqual(self.call("GET", CARE + "/sterilization/cycles/" + b["id"])
                         .json["status"], "released")
        r = self.refused("POST", CARE + "/procedures/%s/sets" % procs[3]["id"],
                         {"set": sets[0]}, 409, "conflict", field="set", token=tech)
        self.assertIn("recalled", r["message"])
        listed = self.sample("CareSetList", self.call("GET", CARE + "/sterilization/sets").json)
        last = {s["code"]: s["last_cycle"] for s in listed["items"] if s["code"] in sets}
        self.assertEqual((last[sets[0]]["status"], last[sets[0]]["used"]), ("recalled", True))
        self.sample("CareCycleList", self.call("GET", CARE + "/sterilization/cycles").json)
        # the second reading is refused; biomedical technicians do not read patients
        self.refused("POST", CARE + "/sterilization/cycles/%s/biological" % a["id"],
                     {"result": "negative"}, 409, "conflict", token=tech)
        _, bio = self.person("biomed")
        self.refused("GET", CARE + "/sterilization/cycles/%s/recall" % a["id"], None, 403,
                     "forbidden", token=bio)
        self.call("GET", CARE + "/sterilization/cycles/" + a["id"], token=bio)
        self.check_samples()


class TestDocumentsAndTraining(CareTestCase):
    """Procedure documents from draft to approval, read and understood by the
    bench; training assigned to a new person and signed off by a trainer."""

    def test_document_control(self):
        author, author_token = self.person("technician")
        sup, sup_token = self.person("supervisor")
        reader, reader_token = self.person("technician")
        code = unique("SOP-")
        body = {"code": code, "title": "Glucose on the chemistry analyzer",
                "text": "1. Check the QC. 2. Load the specimen."}
        doc = self.sample("CareDocument", self.call(
            "POST", CARE + "/documents", self.sample("CareDocumentCreate", body),
            token=author_token, status=201).json)
        self.assertEqual((doc["current"], doc["draft"]["version"], doc["draft"]["author"],
                          doc["audience"]), (None, 1, author, ["supervisor", "technician"]))
        self.refused("POST", CARE + "/documents", body, 409, "conflict", field="code",
                     token=author_token)
        path = CARE + "/documents/" + code
        # the author does not approve their own version; a technician approves nothing
        approve = {"effective_on": day(0), "password": PASSWORD}
        self.refused("POST", path + "/versions/1/approve", approve, 403, "forbidden",
                     token=author_token)
        self.refused("POST", path + "/versions/1/approve", dict(approve, effective_on=day(-3)),
                     400, "invalid", field="effective_on", token=sup_token)
        self.refused("POST", path + "/versions/9/approve", approve, 404, "not_found",
                     token=sup_token)
        doc = self.sample("CareDocument", self.call(
            "POST", path + "/versions/1/approve", self.sample("CareDocumentApprove", approve),
            token=sup_token).json)
        self.assertEqual((doc["current"]["version"], doc["current"]["approved_by"],
                          doc["review_due"], doc["review_overdue"]),
                         (1, sup, add_months(day(0), 24), False))
        self.assertIn(reader, doc["not_read"])
        self.assertIn(sup, doc["not_read"])
        doc = self.call("POST", path + "/acknowledge", self.sample(
            "CareSignature", {"password": PASSWORD}), token=reader_token, status=201).json
        self.assertNotIn(reader, doc["not_read"])
        self.assertEqual([a["user"] for a in doc["acknowledged"]], [reader])
        self.refused("POST", path + "/acknowledge", {"password": PASSWORD}, 409, "conflict",
                     token=reader_token)
        self.refused("POST", path + "/acknowledge", {"password": "wrong-password"}, 400,
                     "invalid", field="password", token=author_token)
        # a new version: one draft at a time
        v2 = {"text": "1. Check the QC. 2. Check the sample. 3. Load it.",
              "change": "the sample is checked"}
        doc = self.call("POST", path + "/versions", self.sample("CareDocumentVersionCreate", v2),
                        token=author_token, status=201).json
        self.assertEqual(doc["draft"]["version"], 2)
        self.refused("POST", path + "/versions", v2, 409, "conflict", token=author_token)
        listed = self.sample("CareDocumentList", self.call("GET", CARE + "/documents").json)
        (mine,) = [d for d in listed["items"] if d["code"] == code]
        self.assertEqual((mine["version"], mine["draft_version"]), (1, 2))
        (ev,) = self.audit("care.document.approve", entity_id=code)
        self.assertEqual((ev["actor"], ev["detail"]["version"]), (sup, 1))
        self.check_samples()

    def test_training_of_a_new_person(self):
        sup, sup_token = self.person("supervisor")
        novice, novice_token = self.person("technician")
        course, device = unique("BBP-"), unique("CENT-")
        item = self.sample("CareTrainingItem", self.call(
            "POST", CARE + "/training/items", self.sample("CareTrainingItemCreate", {
                "code": course, "kind": "course", "title": "Blood-borne pathogens",
                "new_staff": True}), token=sup_token, status=201).json)
        self.assertEqual((item["kind"], item["new_staff"]), ("course", True))
        self.call("POST", CARE + "/training/items", {
            "code": device, "kind": "device", "title": "Centrifuge operation",
            "class": "centrifuge", "new_staff": True}, token=sup_token, status=201)
        self.refused("POST", CARE + "/training/items", {
            "code": unique("X-"), "kind": "device", "title": "No class"}, 400, "missing_field",
            field="class", token=sup_token)
        self.sample("CareTrainingItemList", self.call("GET", CARE + "/training/items").json)
        made = self.sample("CareTrainingAssignmentList", self.call(
            "POST", CARE + "/training/assignments", self.sample("CareTrainingAssign", {
                "user": novice, "new_staff": True, "due_on": day(30)}), token=sup_token,
            status=201).json)
        mine = {a["item"]: a for a in made["items"]}
        self.assertTrue({course, device} <= set(mine))
        self.refused("POST", CARE + "/training/assignments", {
            "user": novice, "items": [course], "due_on": day(30)}, 409, "conflict",
            field="items", token=sup_token)
        # a technician cannot sign anyone off; the trainer is not the trainee
        sign = {"completed_on": day(0), "password": PASSWORD, "note": "Observed, all steps"}
        aid = mine[course]["id"]
        self.refused("POST", CARE + "/training/assignments/%s/sign-off" % aid, sign, 403,
                     "forbidden", token=novice_token)
        done = self.sample("CareTrainingAssignment", self.call(
            "POST", CARE + "/training/assignments/%s/sign-off" % aid,
            self.sample("CareTrainingSignOff", sign), token=sup_token).json)
        self.assertEqual((done["trainer"], done["completed_on"], done["overdue"]),
                         (sup, day(0), False))
        still = self.call("GET", CARE + "/training/assignments?open=true&user=" + novice).json
        self.assertNotIn(course, [a["item"] for a in still["items"]])
        self.assertIn(device, [a["item"] for a in still["items"]])
        self.refused("GET", CARE + "/training/assignments?open=maybe", None, 400, "invalid",
                     field="open")
        self.check_samples()


class TestImaging(CareTestCase):
    """Imaging on the asset register's devices: the preparation checklist of
    each modality must be complete before the procedure starts, and a CT's
    dose above its diagnostic reference level is listed for review."""

    def test_ct_with_contrast_from_checklist_to_dose(self):
        _, tech = self.person("technician")
        sup, sup_token = self.person("supervisor")
        p = self.create_patient()
        ct = self.asset("ct")
        drls = self.sample("CareDrlList", self.call("GET", CARE + "/drls", token=tech).json)
        (head,) = [x for x in drls["items"] if x["exam"] == "CT-HEAD"]
        self.assertEqual((head["ctdivol"], head["dlp"]), (47, 790))
        self.refused("POST", CARE + "/procedures", {
            "patient_id": p["id"], "modality": "ct", "exam": "CT-ELBOW", "device": ct,
            "scheduled_at": "2026-11-21T09:00:00Z"}, 400, "invalid", field="exam", token=tech)
        proc = self.call("POST", CARE + "/procedures", {
            "patient_id": p["id"], "modality": "ct", "exam": "CT-HEAD", "device": ct,
            "contrast": True, "scheduled_at": "2026-11-21T09:00:00Z"}, token=tech,
            status=201).json
        self.assertEqual([c["item"] for c in proc["checklist"]],
                         ["identity", "pregnancy", "contrast_allergy", "egfr", "metformin"])
        path = CARE + "/procedures/" + proc["id"]
        self.refused("POST", path + "/start", {}, 409, "conflict", field="id", token=tech)
        answers = [{"item": "identity", "answer": "yes"}, {"item": "pregnancy", "answer": "no"},
                   {"item": "contrast_allergy", "answer": "no"}, {"item": "egfr", "value": 72}]
        # a checklist with a missing required item is refused; nothing is recorded
        r = self.refused("POST", path + "/preparation", {"answers": answers}, 400, "invalid",
                         field="answers", token=tech)
        self.assertIn("metformin", r["message"])
        self.refused("POST", path + "/preparation", {"answers": answers + [
            {"item": "metformin", "answer": "yes"}]}, 400, "invalid",
            field="answers[4].note", token=tech)
        self.assertIsNone(self.call("GET", path).json["preparation"])
        body = {"answers": answers + [{"item": "metformin", "answer": "yes",
                                        "note": "withheld 48 h after contrast"}]}
        got = self.sample("CareProcedure", self.call("POST", path + "/preparation",
                                                     self.sample("CarePreparationSet", body),
                                                     token=tech).json)
        self.assertEqual((got["preparation"]["complete"], got["preparation"]["stops"]),
                         (True, []))
        got = self.call("POST", path + "/start", self.sample("CareStepNote", {}),
                        token=tech).json
        self.assertEqual(got["status"], "in-progress")
        # the dose: CTDIvol 52 mGy is above the head's 47
        self.refused("POST", path + "/complete", {}, 409, "conflict", token=tech)
        self.refused("POST", path + "/dose", {"ctdivol": 52}, 400, "missing_field",
                     field="dlp", token=tech)
        got = self.sample("CareProcedure", self.call("POST", path + "/dose", self.sample(
            "CareDoseSet", {"ctdivol": 52, "dlp": 760}), token=tech, status=201).json)
        self.assertEqual((got["dose"]["above_drl"], got["dose"]["exceeded"]),
                         (True, ["CTDIvol 52 mGy is above the 47 mGy reference level of "
                                 "CT-HEAD"]))
        self.call("POST", path + "/complete", {"note": "no reaction to contrast"}, token=tech)
        doses = self.sample("CareDoseList",
                            self.call("GET", CARE + "/doses?above=true").json)["items"]
        (mine,) = [d for d in doses if d["procedure_id"] == proc["id"]]
        self.assertEqual((mine["exam"], mine["patient"]["mrn"]), ("CT-HEAD", p["mrn"]))
        self.refused("POST", CARE + "/doses/%s/review" % proc["id"], {"note": "x"}, 403,
                     "forbidden", token=tech)
        rev = self.sample("CareDoseEntry", self.call(
            "POST", CARE + "/doses/%s/review" % proc["id"],
            self.sample("CareNote", {"note": "Repeat sequence after motion"}),
            token=sup_token).json)
        self.assertEqual(rev["dose"]["reviewed_by"], sup)
        self.assertNotIn(proc["id"], [d["procedure_id"] for d in self.call(
            "GET", CARE + "/doses?above=true").json["items"]])
        self.assertEqual(len(self.audit("care.dose.above-drl", entity_id=p["id"])), 1)
        # the site sets its own reference level
        drl = self.sample("CareDrl", self.call("PUT", CARE + "/drls/CT-SINUS", self.sample(
            "CareDrlSet", {"modality": "ct", "name": "CT sinuses", "ctdivol": 12, "dlp": 160,
                           "source": "local dose audit"}), token=sup_token).json)
        self.assertEqual((drl["ctdivol"], drl["updated_by"]), (12, sup))
        self.check_samples()

    def test_mri_safety_screening_stops_a_pacemaker(self):
        _, tech = self.person("technician")
        p = self.create_patient()
        mri = self.asset("mri")
        proc = self.call("POST", CARE + "/procedures", {
            "patient_id": p["id"], "modality": "mri", "exam": "MR lumbar spine", "device": mri,
            "scheduled_at": "2026-11-21T10:00:00Z"}, token=tech, status=201).json
        path = CARE + "/procedures/" + proc["id"]
        answers = [{"item": "identity", "answer": "yes"},
                   {"item": "pacemaker", "answer": "yes"},
                   {"item": "implants", "answer": "no"},
                   {"item": "metal_fragments", "answer": "no"},
                   {"item": "pregnancy", "answer": "no"}]
        got = self.call("POST", path + "/preparation", {"answers": answers}, token=tech).json
        self.assertEqual(got["preparation"]["stops"],
                         ["an active implanted device that is not MR-conditional"])
        r = self.refused("POST", path + "/start", {}, 409, "conflict", token=tech)
        self.assertIn("not MR-conditional", r["message"])
        got = self.call("POST", path + "/cancel", {"reason": "Pacemaker: CT instead"},
                        token=tech).json
        self.assertEqual(got["status"], "cancelled")
        self.refused("POST", path + "/start", {}, 409, "conflict", token=tech)
        # the scanner must be an MRI, and in service
        xr = self.asset("xray")
        self.refused("POST", CARE + "/procedures", {
            "patient_id": p["id"], "modality": "mri", "exam": "MR knee", "device": xr,
            "scheduled_at": "2026-11-21T10:00:00Z"}, 400, "invalid", field="device", token=tech)


def at(minutes, base=[None]):
    """ISO 8601 of a moment taken once per run, plus minutes."""
    if base[0] is None:
        base[0] = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    return (base[0] + datetime.timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


class TestAppointments(CareTestCase):
    """Slots of a phlebotomy chair and a scanner, booking (never twice into a
    slot), check-in, no-show, cancellation, and a technician's day."""

    def test_book_check_in_no_show_and_the_day(self):
        sup, sup_token = self.person("supervisor")
        tech, tech_token = self.person("technician")
        chair = unique("CHAIR-")
        res = self.sample("CareResource", self.call("POST", CARE + "/resources", self.sample(
            "CareResourceCreate", {"code": chair, "kind": "chair", "name": "Draw chair 2"}),
            token=sup_token, status=201).json)
        self.assertIsNone(res["device"])
        self.sample("CareResourceList", self.call("GET", CARE + "/resources").json)
        body = {"resource": chair, "start": at(-10), "end": at(50), "minutes": 30,
                "technician": tech}
        slots = self.sample("CareSlotList", self.call(
            "POST", CARE + "/slots", self.sample("CareSlotsCreate", body), token=sup_token,
            status=201).json)["items"]
        self.assertEqual([(s["starts_at"][:16], s["technician"], s["booked"]) for s in slots],
                         [(at(-10)[:16], tech, False), (at(20)[:16], tech, False)])
        self.refused("POST", CARE + "/slots", body, 409, "conflict", field="start",
                     token=sup_token)
        self.refused("POST", CARE + "/slots", dict(body, technician="nobody-" + unique()), 400,
                     "invalid", field="technician", token=sup_token)
        self.refused("POST", CARE + "/slots", body, 403, "forbidden", token=tech_token)

        p1, p2 = self.create_patient(), self.create_patient()
        book = {"slot": slots[0]["id"], "patient_id": p1["id"], "reason": "Fasting glucose"}
        a1 = self.sample("CareAppointment", self.call(
            "POST", CARE + "/appointments", self.sample("CareAppointmentBook", book),
            token=tech_token, status=201).json)
        self.assertEqual((a1["status"], a1["patient"]["mrn"]), ("booked", p1["mrn"]))
        # an appointment on a booked slot is refused; nothing changes
        self.refused("POST", CARE + "/appointments", dict(book, patient_id=p2["id"]), 409,
                     "conflict", field="slot", token=tech_token)
        a2 = self.call("POST", CARE + "/appointments", {
            "slot": slots[1]["id"], "patient_id": p2["id"], "reason": "ECG"},
            token=tech_token, status=201).json
        # the second has not started: not a no-show yet; the patient checks in early
        self.refused("POST", CARE + "/appointments/%s/no-show" % a2["id"], {}, 409, "conflict",
                     token=tech_token)
        got = self.call("POST", CARE + "/appointments/%s/check-in" % a2["id"],
                        self.sample("CareEmpty", {}), token=tech_token).json
        self.assertEqual(got["status"], "checked-in")
        # the first started ten minutes ago without the patient
        got = self.sample("CareAppointment", self.call(
            "POST", CARE + "/appointments/%s/no-show" % a1["id"], {}, token=tech_token).json)
        self.assertEqual((got["status"], got["changed_by"]), ("no-show", tech))
        self.refused("POST", CARE + "/appointments/%s/cancel" % a1["id"],
                     self.sample("CareCancel", {"reason": "too late"}), 409, "conflict",
                     token=tech_token)
        free = self.call("GET", CARE + "/slots?free=true&resource=%s&date=%s" %
                         (chair, at(-10)[:10])).json["items"]
        self.assertEqual(free, [])

        # the technician's own day; a supervisor asks for theirs by name
        day = self.sample("CareDay", self.call("GET", CARE + "/day?date=" + at(-10)[:10],
                                               token=tech_token).json)
        self.assertEqual(day["technician"], tech)
        mine = {s["slot_id"]: s["appointment"] for s in day["slots"]}
        self.assertEqual((mine[slots[0]["id"]]["status"], mine[slots[0]["id"]]["patient"]["mrn"]),
                         ("no-show", p1["mrn"]))
        if slots[1]["id"] in mine:  # unless it begins after midnight UTC
            self.assertEqual(mine[slots[1]["id"]]["status"], "checked-in")
        other = self.call("GET", CARE + "/day?technician=%s&date=%s" % (tech, at(-10)[:10]),
                          token=sup_token).json
        self.assertEqual(other["slots"], day["slots"])
        self.assertEqual(len(self.audit("care.day.read", actor=tech)), 1)
        self.refused("GET", CARE + "/day?date=tomorrow", None, 400, "invalid", field="date",
                     token=tech_token)
        _, bio = self.person("biomed")
        self.refused("GET", CARE + "/day", None, 403, "forbidden", token=bio)
        self.check_samples()
