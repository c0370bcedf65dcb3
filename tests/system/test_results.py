"""System test of the results path over HTTP: a specimen is collected and
received, results are entered, normal ones are auto-released, a high one waits
for review and is released with a signature, a critical one cannot be released
until its call is documented, a correction keeps the history, and the overdue
list and turnaround figures follow. Rules: src/lab/result.h, gate.h, tat.h."""

import json
import os
import shutil
import subprocess
import tempfile

from tests.system.harness import ADMIN_PASSWORD
from tests.system.test_lab import LabTestCase, PASSWORD, patient_body


def pdf_text(data):
    """The text of a PDF, read by poppler's pdftotext."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "doc.pdf")
        with open(path, "wb") as fh:
            fh.write(data)
        p = subprocess.run(["pdftotext", "-layout", path, "-"], capture_output=True, text=True,
                           timeout=60, check=True)
        return p.stdout


HL7_READER = r"""
import hl7, json, sys
text = sys.stdin.read().replace("\n", "\r")
out = []
for part in text.split("MSH|")[1:]:
    m = hl7.parse("MSH|" + part)
    assert str(m.segment("MSH")[9]) == "DFT^P03^DFT_P03", str(m.segment("MSH")[9])
    f = m.segment("FT1")
    out.append({"type": str(f[6]), "test": str(f[7][0][0]), "diagnosis": str(f[19][0][0]),
                "clinician": str(f[21][0][1]), "accession": str(f[23]),
                "cpt": str(f[25][0][0])})
print(json.dumps(out))
"""


def hl7_ft1(text):
    """FT1 fields of DFT^P03 messages as Debian's python3-hl7 reads them."""
    p = subprocess.run(["/usr/bin/python3", "-c", HL7_READER], input=text, capture_output=True,
                       text=True, timeout=60)
    if p.returncode != 0:
        raise AssertionError("python3-hl7 could not read the messages: " + p.stderr[-2000:])
    return json.loads(p.stdout)


def barcode_of(data):
    """The Code 128 in a label PDF, rendered by pdftoppm and read by zbarimg."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "label.pdf")
        with open(path, "wb") as fh:
            fh.write(data)
        subprocess.run(["pdftoppm", "-r", "300", "-png", path, os.path.join(tmp, "p")],
                       check=True, timeout=60)
        png = [f for f in os.listdir(tmp) if f.endswith(".png")][0]
        z = subprocess.run(["zbarimg", "--raw", "-q", os.path.join(tmp, png)],
                           capture_output=True, text=True, timeout=60)
        return z.stdout.strip()


class TestResultsPath(LabTestCase):
    def new_specimen(self, tests, priority="routine", sex="female"):
        p = self.call("POST", "/api/v1/patients", patient_body(sex=sex, birth_date="1970-03-03"),
                      status=201).json
        o = self.call("POST", "/api/v1/orders", {
            "patient_id": p["id"], "tests": tests, "priority": priority,
            "clinician": "Dr. Rivera", "reasons": ["E11.9"]}, status=201).json
        return p, o["specimens"][0]["accession"]

    def receive(self, acc):
        self.call("POST", "/api/v1/specimens/%s/events" % acc, {"event": "collected"})
        return self.call("POST", "/api/v1/specimens/%s/events" % acc, {"event": "received"}).json

    def test_whole_path(self):
        tech_name = "tech" + self.id()[-6:].lower().replace("_", "x")
        self.server.create_user(tech_name, "technician", PASSWORD)
        tech = self.server.login(tech_name, PASSWORD)
        patient, acc = self.new_specimen(["BMP"], priority="stat")

        # the label: ZPL for the printer, and a PDF whose barcode reads back the accession
        zpl = self.server.request("GET", "/api/v1/specimens/%s/label?format=zpl" % acc,
                                  token=tech)
        self.assertEqual(zpl.status, 200)
        self.assertTrue(zpl.raw.startswith(b"^XA") and acc.encode() in zpl.raw)
        pdf = self.server.request("GET", "/api/v1/specimens/%s/label?format=pdf" % acc,
                                  token=tech)
        self.assertEqual((pdf.status, pdf.headers.get_content_type()), (200, "application/pdf"))
        self.assertEqual(barcode_of(pdf.raw), acc)

        # nothing before receipt
        r = self.server.request("POST", "/api/v1/specimens/%s/results" % acc,
                                body={"results": [{"code": "GLU", "value": 90}]}, token=tech)
        self.assertError(r, 409, "conflict", field="accession")
        spec = self.receive(acc)
        self.assertEqual([e["event"] for e in spec["events"]], ["collected", "received"])

        # bad input names the field and writes nothing
        for item, field in [({"code": "GLU", "value": "ninety"}, "results[0].value"),
                            ({"code": "GLU", "value": 90, "unit": "mmol/L"}, "results[0].unit"),
                            ({"code": "HGB", "value": 13}, "results[0].code")]:
            r = self.server.request("POST", "/api/v1/specimens/%s/results" % acc,
                                    body={"results": [item]}, token=tech)
            self.assertError(r, 400, "invalid", field=field)

        out = self.call("POST", "/api/v1/specimens/%s/results" % acc, {"results": [
            {"code": "GLU", "value": 88}, {"code": "NA", "value": "151"},
            {"code": "K", "value": 6.9}]}, token=tech).json["results"]
        by = {x["code"]: x for x in out}
        self.assertEqual((by["GLU"]["status"], by["GLU"]["release_mode"], by["GLU"]["flag"]),
                         ("released", "auto", None))
        self.assertEqual((by["NA"]["status"], by["NA"]["flag"]), ("review", "H"))
        self.assertEqual([h["code"] for h in by["NA"]["holds"]], ["out-of-range"])
        self.assertEqual((by["K"]["status"], by["K"]["flag"], by["K"]["critical"]),
                         ("review", "HH", True))
        self.assertIn("critical-call-pending", [h["code"] for h in by["K"]["holds"]])

        # the review queue and the open criticals
        queue = self.call("GET", "/api/v1/results/review", token=tech).json["items"]
        self.assertTrue({by["NA"]["id"], by["K"]["id"]} <= {x["id"] for x in queue})
        crit = self.call("GET", "/api/v1/results/critical", token=tech).json["items"]
        self.assertIn(by["K"]["id"], [x["id"] for x in crit])

        # release: the signature is the user's own password; the critical value holds all
        r = self.server.request("POST", "/api/v1/results/release",
                                body={"ids": [by["NA"]["id"]], "password": ADMIN_PASSWORD},
                                token=tech)
        self.assertError(r, 400, "invalid", field="password")
        r = self.server.request("POST", "/api/v1/results/release",
                                body={"ids": [by["NA"]["id"], by["K"]["id"]],
                                      "password": PASSWORD}, token=tech)
        self.assertError(r, 409, "conflict", field="ids")
        self.assertEqual([h["id"] for h in r.json["held"]], [by["K"]["id"]])
        self.assertEqual(self.call("GET", "/api/v1/results/" + by["NA"]["id"],
                                   token=tech).json["status"], "review")

        # the call: read back is required
        r = self.server.request("POST", "/api/v1/results/%s/critical-call" % by["K"]["id"],
                                body={"notified": "RN Okoye, ward 4B", "read_back": False},
                                token=tech)
        self.assertError(r, 400, "invalid", field="read_back")
        call = self.call("POST", "/api/v1/results/%s/critical-call" % by["K"]["id"],
                         {"notified": "RN Okoye, ward 4B", "read_back": True}, token=tech).json
        self.assertEqual(call["critical_alert"]["notified"], "RN Okoye, ward 4B")
        self.assertEqual(call["critical_alert"]["closed_by"], tech_name)

        rel = self.call("POST", "/api/v1/results/release",
                        {"ids": [by["NA"]["id"], by["K"]["id"]], "password": PASSWORD},
                        token=tech).json["results"]
        self.assertEqual({(x["status"], x["release_mode"], x["released_by"]) for x in rel},
                         {("released", "manual", tech_name)})

        # a correction keeps the earlier value with who, when and why
        cor = self.call("POST", "/api/v1/results/%s/correct" % by["GLU"]["id"],
                        {"value": 58, "reason": "wrong tube entered", "password": PASSWORD},
                        token=tech).json
        self.assertEqual((cor["status"], cor["version"], cor["value"], cor["flag"]),
                         ("corrected", 2, "58", "L"))
        self.assertEqual([(h["value"], h["replaced_by"], h["reason"]) for h in cor["history"]],
                         [("88", tech_name, "wrong tube entered")])

        # the specimen's tests show what happened
        tests = {t["code"]: t["status"] for t in
                 self.call("GET", "/api/v1/specimens/" + acc, token=tech).json["tests"]}
        self.assertEqual((tests["GLU"], tests["NA"], tests["K"], tests["CL"]),
                         ("released", "released", "released", "ordered"))

        # the cumulative report shows all of it
        rep = self.server.request("GET", "/api/v1/patients/%s/report" % patient["id"],
                                  token=tech)
        self.assertEqual((rep.status, rep.headers.get_content_type()), (200, "application/pdf"))
        text = pdf_text(rep.raw)
        for want in ("CORRECTED REPORT", patient["mrn"], "Glucose (GLU)", "58 (c)",
                     "earlier value 88 replaced by " + tech_name, "wrong tube entered",
                     "Potassium (K)", "HH", "called to RN Okoye, ward 4B", "Sodium (NA)",
                     "151"):
            self.assertIn(want, text)

        # charges: the three released tests, once each
        r = self.server.request("GET", "/api/v1/charges?format=csv")
        self.assertEqual(r.status, 401)
        csv = self.server.request("GET", "/api/v1/charges", token=self.server.admin())
        self.assertEqual(csv.headers.get_content_type(), "text/csv")
        lines = [ln for ln in csv.raw.decode().splitlines() if acc in ln]
        self.assertEqual(sorted(ln.split(",")[7] for ln in lines), ["GLU", "K", "NA"])
        r = self.server.request("GET", "/api/v1/charges", token=tech)
        self.assertError(r, 403, "forbidden")
        # ... and as DFT^P03 messages, read by Debian's python3-hl7 (not ours)
        dft = self.server.request("GET", "/api/v1/charges?format=hl7", token=self.server.admin())
        self.assertEqual(dft.status, 200)
        ft1 = hl7_ft1(dft.raw.decode())
        mine = sorted((f["cpt"], f["test"]) for f in ft1 if f["accession"] == acc)
        self.assertEqual(mine, [("82947", "GLU"), ("84132", "K"), ("84295", "NA")])
        self.assertTrue(all(f["type"] == "CG" and f["diagnosis"] == "E11.9" and
                            f["clinician"] == "Dr. Rivera" for f in ft1 if f["accession"] == acc))

        # the audit trail holds every step
        actions = {e["action"] for e in self.audit("result.release")} | \
            {e["action"] for e in self.audit("result.critical-call")} | \
            {e["action"] for e in self.audit("result.correct")}
        self.assertEqual(actions, {"result.release", "result.critical-call", "result.correct"})
        self.assertTrue(self.call("GET", "/api/v1/audit/verify").json["ok"])

        # turnaround: the STAT panel is released in part; the rest is open, not yet late
        tat = self.call("GET", "/api/v1/turnaround", token=tech).json
        stat = [p for p in tat["priorities"] if p["priority"] == "stat"][0]
        self.assertGreaterEqual(stat["count"], 3)
        self.assertEqual(stat["within_target"], 1.0)
        overdue = self.call("GET", "/api/v1/turnaround/overdue", token=tech).json["items"]
        self.assertNotIn(acc, [x["accession"] for x in overdue])

    def test_sex_specific_flags_and_permissions(self):
        _, acc_f = self.new_specimen(["CBC"], sex="female")
        _, acc_m = self.new_specimen(["CBC"], sex="male")
        self.receive(acc_f)
        self.receive(acc_m)
        f = self.call("POST", "/api/v1/specimens/%s/results" % acc_f,
                      {"results": [{"code": "HGB", "value": 13.0}]}).json["results"][0]
        m = self.call("POST", "/api/v1/specimens/%s/results" % acc_m,
                      {"results": [{"code": "HGB", "value": 13.0}]}).json["results"][0]
        self.assertEqual((f["flag"], f["status"]), (None, "released"))
        self.assertEqual((m["flag"], m["status"]), ("L", "review"))
        # a clinician reads results but neither enters nor releases them
        clin = self.login_as("clinician")
        self.call("GET", "/api/v1/results/" + m["id"], token=clin)
        r = self.server.request("POST", "/api/v1/results/release",
                                body={"ids": [m["id"]], "password": PASSWORD}, token=clin)
        self.assertError(r, 403, "forbidden")
        r = self.server.request("POST", "/api/v1/specimens/%s/results" % acc_m,
                                body={"results": [{"code": "WBC", "value": 7}]}, token=clin)
        self.assertError(r, 403, "forbidden")
