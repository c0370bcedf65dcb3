"""System tests of the laboratory core: patients (duplicate check, search,
audited reads), the test catalog, orders expanding into specimens with
accession numbers, specimens and their labels (ZPL, PDF with a barcode that
must decode), and who may do what. Rules: src/lab/*.h, docs/api.md."""

import copy
import datetime
import json
import os
import shutil
import subprocess
import tempfile
import unittest
from urllib.parse import quote

from tests.system.harness import REPO, ServerTestCase, unique

DEMO_CATALOG = REPO / "src" / "lab" / "demo_catalog.json"
PANELS = {"CBC", "BMP", "LIPID", "HEPATIC", "PTINR", "UA"}
PASSWORD = "password-0001"


def load_demo():
    with open(DEMO_CATALOG, encoding="utf-8") as fh:
        return json.load(fh)


def luhn_valid(number):
    """Luhn check written from the definition, independently of the server:
    from the right, every second digit doubled (minus 9 when over 9); the sum
    of all digits is a multiple of 10."""
    if not number.isdigit():
        return False
    total = 0
    for pos, ch in enumerate(reversed(number)):
        d = int(ch)
        if pos % 2 == 1:
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        total += d
    return total % 10 == 0


def luhn_complete(payload):
    """payload + the digit that makes it Luhn-valid."""
    return next(payload + c for c in "0123456789" if luhn_valid(payload + c))


def loinc_valid(code):
    """LOINC: 1-7 digits, '-', a mod-10 (Luhn) check digit."""
    num, dash, check = code.partition("-")
    return bool(dash) and num.isdigit() and 1 <= len(num) <= 7 and num[0] != "0" \
        and len(check) == 1 and luhn_valid(num + check)


def patient_body(**kw):
    body = {"mrn": unique("MRN-"), "family": unique("Fam"), "given": "Alex",
            "birth_date": "1964-07-13", "sex": "other"}
    body.update(kw)
    return body


def order_body(patient_id, **kw):
    body = {"patient_id": patient_id, "tests": ["BMP", "CBC", "GLU"], "priority": "routine",
            "clinician": "Dr. Rivera", "reasons": ["E11.9"]}
    body.update(kw)
    return body


class LabTestCase(ServerTestCase):
    """A server whose catalog holds the demo catalog."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.demo = load_demo()
        r = cls.server.request("PUT", "/api/v1/catalog", body=cls.demo,
                               token=cls.server.admin())
        if r.status != 200 or r.json != {"tests": 44, "panels": 6}:
            raise AssertionError("demo catalog import failed: %s %r" % (r.status, r.raw[:300]))

    # -- helpers: every response is checked for the security headers
    def call(self, method, path, body=None, token=Ellipsis, status=200):
        token = self.server.admin() if token is Ellipsis else token
        r = self.server.request(method, path, body=body, token=token)
        self.assertEqual(r.status, status, "%s %s: %s %r" % (method, path, r.status, r.raw[:400]))
        self.assertSecurityHeaders(r, api=r.headers.get_content_type() == "application/json")
        return r

    def refused(self, method, path, body, status, code, field=Ellipsis, token=Ellipsis):
        token = self.server.admin() if token is Ellipsis else token
        r = self.server.request(method, path, body=body, token=token)
        self.assertSecurityHeaders(r, api=True)
        return self.assertError(r, status, code, field=field,
                                msg="%s %s %s" % (method, path, json.dumps(body)[:200]))

    def create_patient(self, token=Ellipsis, **kw):
        return self.call("POST", "/api/v1/patients", patient_body(**kw), token=token,
                         status=201).json

    def audit(self, action, **filters):
        q = "&".join("%s=%s" % kv for kv in dict({"limit": 500}, action=action,
                                                    **filters).items())
        return self.call("GET", "/api/v1/audit?" + q).json["items"]

    def login_as(self, role):
        name = unique(role)
        self.server.create_user(name, role, PASSWORD)
        return self.server.login(name, PASSWORD)


class TestPatients(LabTestCase):
    def assertPatient(self, p, body):
        for k in ("mrn", "family", "given", "birth_date", "sex"):
            self.assertEqual(p[k], body[k].strip(), k)
        self.assertEqual(p["identifiers"], body.get("identifiers", []))
        self.assertTrue(p["id"])
        self.assertISO(p["created_at"])
        self.assertEqual(p["updated_at"], p["created_at"])
        self.assertEqual(set(p), {"id", "mrn", "family", "given", "birth_date", "sex",
                                  "identifiers", "created_at", "updated_at"})

    def test_create_and_read(self):
        body = patient_body(sex="female", birth_date="1980-02-29",
                            identifiers=[{"system": "urn:oid:2.16.840.1.113883.4.1",
                                          "value": "123-45-6789"}])
        p = self.call("POST", "/api/v1/patients", body, status=201).json
        self.assertPatient(p, body)
        got = self.call("GET", "/api/v1/patients/" + p["id"]).json
        self.assertEqual(got, p)
        self.assertEqual([(e["actor"], e["entity_type"], e["entity_id"], e["outcome"])
                          for e in self.audit("patient.read", entity_id=p["id"])],
                         [("admin", "patient", p["id"], "ok")])
        self.refused("GET", "/api/v1/patients/" + unique("nope"), None, 404, "not_found")
        self.assertEqual(len(self.audit("patient.read", entity_id=p["id"])), 1)
        self.refused("POST", "/api/v1/patients", patient_body(mrn=p["mrn"]), 409, "conflict",
                     field="mrn")

    def test_same_name_and_birth_date_needs_confirmation(self):
        first = self.create_patient(family=unique("Okafor"), given="Chidi",
                                    birth_date="1971-03-04", sex="male")
        body = patient_body(family="  %s " % first["family"].upper(), given=" chidi  ",
                            birth_date="1971-03-04", sex="male")
        r = self.server.post("/api/v1/patients", body, token=self.server.admin())
        self.assertSecurityHeaders(r, api=True)
        self.assertError(r, 409, "conflict", field="birth_date")
        self.assertEqual(r.json.get("candidate"), first)
        self.assertEqual(self.call("GET", "/api/v1/patients?mrn=" + body["mrn"]).json["items"],
                         [])
        second = self.call("POST", "/api/v1/patients", dict(body, confirm_new=True),
                           status=201).json
        self.assertPatient(second, body)
        self.assertNotEqual(second["id"], first["id"])
        self.assertEqual(second["family"], first["family"].upper())  # trimmed, case kept
    def test_duplicate_check_folds_non_ascii_case(self):
        fam = unique("Müller")
        first = self.create_patient(family=fam, given="Ängla", birth_date="1955-05-05")
        r = self.server.post("/api/v1/patients", patient_body(
            family=fam.upper(), given="ÄNGLA", birth_date="1955-05-05"), token=self.server.admin())
        self.assertEqual(r.status, 409, r.raw[:300])
        self.assertEqual(r.json.get("candidate", {}).get("id"), first["id"])

    def test_refusals_name_the_field(self):
        future = (datetime.datetime.now(datetime.timezone.utc).date() +
                  datetime.timedelta(days=2)).isoformat()
        cases = [
            ({"birth_date": future}, "invalid", "birth_date"),
            ({"birth_date": "1980-02-30"}, "invalid", "birth_date"),
            ({"birth_date": "1900-02-29"}, "invalid", "birth_date"),
            ({"birth_date": "1980/02/01"}, "invalid", "birth_date"),
            ({"birth_date": "01-02-1980"}, "invalid", "birth_date"),
            ({"birth_date": "1980-2-1"}, "invalid", "birth_date"),
            ({"sex": "F"}, "invalid", "sex"),
            ({"mrn": "MRN 12"}, "invalid", "mrn"),
            ({"mrn": "MRN/12"}, "invalid", "mrn"),
            ({"family": "   "}, "invalid", "family"),
            ({"colour": "blue"}, "unknown_field", "colour"),
            ({"identifiers": [{"system": "ssn"}]}, "missing_field", "identifiers[0].value"),
            ({"identifiers": [{"system": "ssn", "value": "1"}, {"value": "2"}]},
             "missing_field", "identifiers[1].system"),
        ]
        for change, code, field in cases:
            body = patient_body(**change)
            with self.subTest(change=change):
                self.refused("POST", "/api/v1/patients", body, 400, code, field=field)
                self.assertEqual(self.call("GET", "/api/v1/patients?mrn=" + quote(body["mrn"]))
                                 .json["items"], [])
        for missing in ("mrn", "family", "given", "birth_date", "sex"):
            body = patient_body()
            del body[missing]
            with self.subTest(missing=missing):
                self.refused("POST", "/api/v1/patients", body, 400, "missing_field",
                             field=missing)

    def test_search(self):
        fam = unique("Search")
        a = self.create_patient(family=fam, given="Ann", birth_date="1933-01-11")
        b = self.create_patient(family=fam, given="Bob", birth_date="1933-01-11")
        other = self.create_patient(family=unique("Else"), birth_date="1933-01-11")

        def search(query, expect_ids, exact=True):
            r = self.call("GET", "/api/v1/patients?" + query)
            ids = [p["id"] for p in r.json["items"]]
            if exact:
                self.assertEqual(ids, expect_ids, query)
                self.assertIsNone(r.json["next"])
            else:
                self.assertTrue(set(expect_ids) <= set(ids), query)
            e = self.audit("patient.search", limit=1)[0]
            self.assertEqual(e["detail"]["results"], ids, query)
            self.assertEqual((e["actor"], e["entity_type"]), ("admin", "patient"))
            return r.json["items"]

        self.assertEqual(search("mrn=" + a["mrn"], [a["id"]]), [a])
        search("name=" + fam.lower(), [b["id"], a["id"]])  # newest first
        search("name=%20" + fam.upper(), [b["id"], a["id"]])
        search("name=%s,%%20bob" % fam, [b["id"]])
        search("name=%s,an" % fam, [a["id"]])
        found = search("birth_date=1933-01-11", [a["id"], b["id"], other["id"]], exact=False)
        self.assertTrue(all(p["birth_date"] == "1933-01-11" for p in found))
        search("mrn=%s&birth_date=1933-01-12" % a["mrn"], [])
        self.assertEqual(self.audit("patient.search", limit=1)[0]["detail"]["criteria"],
                         ["mrn", "birth_date"])
        self.refused("GET", "/api/v1/patients", None, 400, "missing_field")
        self.refused("GET", "/api/v1/patients?birth_date=1980-02-30", None, 400, "invalid",
                     field="birth_date")
        self.refused("GET", "/api/v1/patients?mrn=x&limit=0", None, 400, "invalid",
                     field="limit")

    def test_paging(self):
        fam = unique("Page")
        ids = {self.create_patient(family=fam, given=g)["id"] for g in ("Ada", "Bea")}
        p1 = self.call("GET", "/api/v1/patients?limit=1&name=" + fam).json
        self.assertEqual(len(p1["items"]), 1)
        self.assertEqual(p1["next"], p1["items"][0]["id"])
        p2 = self.call("GET", "/api/v1/patients?limit=1&name=%s&cursor=%s"
                       % (fam, p1["next"])).json
        self.assertEqual(len(p2["items"]), 1)
        self.assertIsNone(p2["next"])
        self.assertEqual({p1["items"][0]["id"], p2["items"][0]["id"]}, ids)
        e = self.audit("patient.search", limit=1)[0]
        self.assertEqual(e["detail"]["results"], [p2["items"][0]["id"]])


class TestPermissions(LabTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        srv = cls.server
        cls.patient = srv.post("/api/v1/patients", patient_body(), token=srv.admin()).json
        cls.order = srv.post("/api/v1/orders", order_body(cls.patient["id"]),
                             token=srv.admin()).json
        cls.acc = cls.order["specimens"][0]["accession"]

    def test_biomed_sees_no_patient_data(self):
        tok = self.login_as("biomed")
        for path in ("/api/v1/patients?mrn=" + self.patient["mrn"],
                     "/api/v1/patients/" + self.patient["id"],
                     "/api/v1/orders/" + self.order["id"],
                     "/api/v1/specimens/" + self.acc,
                     "/api/v1/specimens/%s/label" % self.acc):
            with self.subTest(path=path):
                self.refused("GET", path, None, 403, "forbidden", token=tok)
        self.refused("POST", "/api/v1/patients", patient_body(), 403, "forbidden", token=tok)
        self.call("GET", "/api/v1/catalog", token=tok)

    def test_clinician_reads_but_does_not_write(self):
        tok = self.login_as("clinician")
        r = self.call("GET", "/api/v1/patients?mrn=" + self.patient["mrn"], token=tok)
        self.assertEqual(r.json["items"], [self.patient])
        self.assertEqual(self.call("GET", "/api/v1/patients/" + self.patient["id"],
                                   token=tok).json, self.patient)
        self.assertEqual(self.call("GET", "/api/v1/specimens/" + self.acc,
                                   token=tok).json["accession"], self.acc)
        body = patient_body()
        self.refused("POST", "/api/v1/patients", body, 403, "forbidden", token=tok)
        self.assertEqual(self.call("GET", "/api/v1/patients?mrn=" + body["mrn"])
                         .json["items"], [])
        before = len(self.audit("order.create"))
        self.refused("POST", "/api/v1/orders", order_body(self.patient["id"]), 403,
                     "forbidden", token=tok)
        self.assertEqual(len(self.audit("order.create")), before)
        denied = self.audit("permission.denied", limit=1)[0]
        self.assertEqual(denied["detail"].get("path"), "/api/v1/orders")
        self.refused("PUT", "/api/v1/catalog", {"tests": []}, 403, "forbidden", token=tok)

    def test_technician_creates_patients_and_orders(self):
        tok = self.login_as("technician")
        p = self.create_patient(token=tok)
        o = self.call("POST", "/api/v1/orders", order_body(p["id"], tests=["GLU"]), token=tok,
                      status=201).json
        self.assertEqual(o["patient_id"], p["id"])
        self.assertEqual([t["code"] for t in o["specimens"][0]["tests"]], ["GLU"])

    def test_catalog_write_is_for_admin_and_supervisor(self):
        before = self.call("GET", "/api/v1/catalog").json
        new = copy.deepcopy([t for t in self.demo["tests"] if t["code"] == "NA"][0])
        new["code"] = unique("T").upper()[:16]
        for role in ("technician", "biomed", "clinician", "interface"):
            with self.subTest(role=role):
                self.refused("PUT", "/api/v1/catalog", {"tests": [new]}, 403, "forbidden",
                             token=self.login_as(role))
        self.assertEqual(self.call("GET", "/api/v1/catalog").json, before)
        r = self.call("PUT", "/api/v1/catalog", {"tests": [new]},
                      token=self.login_as("supervisor"))
        self.assertEqual(r.json, {"tests": 1, "panels": 0})

    def test_everyone_signed_in_reads_the_catalog(self):
        for role in ("admin", "supervisor", "technician", "biomed", "clinician", "interface"):
            with self.subTest(role=role):
                tok = self.server.admin() if role == "admin" else self.login_as(role)
                self.assertGreaterEqual(len(self.call("GET", "/api/v1/catalog", token=tok)
                                            .json["tests"]), 44)
                self.assertEqual(self.call("GET", "/api/v1/catalog/tests/K", token=tok)
                                 .json["code"], "K")
        self.refused("GET", "/api/v1/catalog", None, 401, "unauthorized", token=None)


class TestCatalog(LabTestCase):
    def test_export_is_the_demo_catalog(self):
        cat = self.call("GET", "/api/v1/catalog").json
        with_loinc = [t for t in cat["tests"] if "loinc" in t]
        self.assertGreaterEqual(len(with_loinc), 30)
        for t in with_loinc:
            self.assertTrue(loinc_valid(t["loinc"]), t["loinc"])
        self.assertEqual({p["code"] for p in cat["panels"]}, PANELS)
        # catalog.h: export(import(x)) == x up to key order, with tests, panels
        # and mappings sorted
        want = copy.deepcopy(self.demo)
        want["tests"].sort(key=lambda t: t["code"].encode())
        want["panels"].sort(key=lambda p: p["code"].encode())
        for t in want["tests"]:
            t.get("mappings", []).sort(key=lambda m: (m["instrument"].encode(),
                                                      m["code"].encode()))
        self.assertEqual(cat, want)

    def test_one_test(self):
        glu = self.call("GET", "/api/v1/catalog/tests/GLU").json
        self.assertEqual((glu["code"], glu["loinc"], glu["unit"], glu["kind"]),
                         ("GLU", "2345-7", "mg/dL", "numeric"))
        self.assertEqual(glu, [t for t in self.demo["tests"] if t["code"] == "GLU"][0])
        self.refused("GET", "/api/v1/catalog/tests/NOPE", None, 404, "not_found")
        self.refused("GET", "/api/v1/catalog/tests/CBC", None, 404, "not_found")  # a panel

    def test_bad_documents_change_nothing(self):
        before = self.call("GET", "/api/v1/catalog").json
        audits = len(self.audit("catalog.import"))
        glu = copy.deepcopy([t for t in self.demo["tests"] if t["code"] == "GLU"][0])
        new = {"code": "NEWA", "name": "New A", "kind": "numeric", "specimen_type": "serum",
               "container": "SST (gold)", "unit": "U/L", "decimals": 0,
               "tat_minutes": {"routine": 60, "asap": 30, "stat": 15}}

        def t(**kw):
            return dict(copy.deepcopy(glu), **kw)
        cases = [
            ({"tests": [t(loinc="2345-8")]}, "invalid", "tests[0].loinc"),
            ({"tests": [new, t(name="Glucose, changed", loinc="2345-8")]}, "invalid",
             "tests[1].loinc"),
            ({"tests": [t(ranges=[{"sex": "any", "age_min_days": 0, "age_max_days": 100,
                                   "low": 120, "high": 70}])]}, "invalid",
             "tests[0].ranges[0].low"),
            ({"tests": [t(tat_minutes={"routine": 10, "asap": 20, "stat": 5})]}, "invalid",
             "tests[0].tat_minutes.asap"),
            ({"tests": [t(colour="red")]}, "unknown_field", "tests[0].colour"),
            ({"tests": [{k: v for k, v in new.items() if k != "name"}]}, "missing_field",
             "tests[0].name"),
            ({"tests": [new, new]}, "invalid", "tests[1].code"),
            ({"tests": [dict(new, code="CBC")]}, "invalid", "tests[0].code"),
            ({"tests": [new], "panels": [{"code": "PNEW", "name": "P", "tests": ["NEWA", "NOPE"]}]},
             "invalid", "panels[0].tests[1]"),
        ]
        for doc, code, field in cases:
            with self.subTest(field=field):
                self.refused("PUT", "/api/v1/catalog", doc, 400, code, field=field)
        self.assertEqual(self.call("GET", "/api/v1/catalog").json, before)
        self.refused("GET", "/api/v1/catalog/tests/NEWA", None, 404, "not_found")
        self.assertEqual(len(self.audit("catalog.import")), audits)

    def test_import_a_new_test(self):
        new = {"code": "VITD", "name": "25-Hydroxyvitamin D", "loinc": "1989-3",
               "kind": "numeric", "specimen_type": "serum", "container": "SST (gold)",
               "unit": "ng/mL", "decimals": 1,
               "ranges": [{"sex": "any", "age_min_days": 0, "age_max_days": 54750,
                           "low": 30, "high": 100}],
               "tat_minutes": {"routine": 1440, "asap": 480, "stat": 240}, "cpt": "82306"}
        r = self.call("PUT", "/api/v1/catalog", {"tests": [new]})
        self.assertEqual(r.json, {"tests": 1, "panels": 0})
        self.assertEqual(self.call("GET", "/api/v1/catalog/tests/VITD").json, new)
        self.assertIn(new, self.call("GET", "/api/v1/catalog").json["tests"])
        e = self.audit("catalog.import", limit=1)[0]
        self.assertEqual((e["entity_type"], e["detail"]), ("catalog", {"tests": 1, "panels": 0}))


class TestOrdersAndSpecimens(LabTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        srv = cls.server
        cls.patient = srv.post("/api/v1/patients", patient_body(
            family="Nakamura", given="Yui", birth_date="1990-12-01", sex="female"),
            token=srv.admin()).json
        cls.order = srv.post("/api/v1/orders", order_body(
            cls.patient["id"], reasons=["E11.9", "Z00.00"],
            instructions={"fasting": True, "timed_at": "2030-01-02T07:30:00Z",
                          "note": "before breakfast"}), token=srv.admin())
        cls.specimens = {s["container"]: s for s in cls.order.json["specimens"]}

    def check_accession(self, acc, ordered_at):
        self.assertRegex(acc, r"^[0-9]{12}$")
        self.assertTrue(luhn_valid(acc), "bad Luhn check digit: " + acc)
        day = datetime.date.fromisoformat(ordered_at[:10])
        self.assertEqual(acc[:5], "%02d%03d" % (day.year % 100, day.timetuple().tm_yday))
        self.assertGreaterEqual(int(acc[5:11]), 1)

    def test_order_expands_into_specimens(self):
        r = self.order
        self.assertEqual(r.status, 201, r.raw[:300])
        self.assertSecurityHeaders(r, api=True)
        o = r.json
        self.assertEqual((o["patient_id"], o["priority"], o["clinician"], o["status"],
                          o["ordered_by"]),
                         (self.patient["id"], "routine", "Dr. Rivera", "active", "admin"))
        self.assertEqual(o["reasons"], ["E11.9", "Z00.00"])
        self.assertEqual(o["instructions"], {"fasting": True, "timed_at": "2030-01-02T07:30:00Z",
                                             "note": "before breakfast"})
        self.assertISO(o["ordered_at"])
        self.assertEqual(len(o["specimens"]), 2)
        panels = {p["code"]: p["tests"] for p in self.demo["panels"]}
        sst, edta = self.specimens["SST (gold)"], self.specimens["EDTA (lavender)"]
        self.assertEqual((sst["specimen_type"], edta["specimen_type"]), ("serum", "whole blood"))
        self.assertEqual([(t["code"], t["panel"]) for t in sst["tests"]],
                         [(c, "BMP") for c in panels["BMP"]])  # GLU once, in BMP
        self.assertEqual([(t["code"], t["panel"]) for t in edta["tests"]],
                         [(c, "CBC") for c in panels["CBC"]])
        names = {t["code"]: t["name"] for t in self.demo["tests"]}
        for s in o["specimens"]:
            self.check_accession(s["accession"], o["ordered_at"])
            self.assertEqual((s["order_id"], s["patient_id"], s["status"], s["priority"],
                              s["parent_id"], s["collected_at"], s["received_at"]),
                             (o["id"], self.patient["id"], "pending", "routine", None, None, None))
            for t in s["tests"]:
                self.assertEqual((t["status"], t["name"]), ("ordered", names[t["code"]]))
        accs = sorted(int(s["accession"][5:11]) for s in o["specimens"])
        self.assertEqual(accs[1], accs[0] + 1)
        self.assertEqual(self.call("GET", "/api/v1/orders/" + o["id"]).json, o)
        e = self.audit("order.create", entity_id=o["id"])
        self.assertEqual(len(e), 1)
        self.assertEqual(e[0]["detail"]["patient_id"], self.patient["id"])
        self.assertEqual(sorted(e[0]["detail"]["accessions"]),
                         sorted(s["accession"] for s in o["specimens"]))
        self.refused("GET", "/api/v1/orders/" + unique("nope"), None, 404, "not_found")

    def test_refused_orders_create_nothing(self):
        p = self.create_patient()
        first = self.call("POST", "/api/v1/orders", order_body(p["id"], tests=["GLU"]),
                          status=201).json
        created = len(self.audit("order.create"))
        cases = [
            ({"tests": ["GLU", "NOPE"]}, "invalid", "tests[1]"),
            ({"tests": ["BMP", "glu"]}, "invalid", "tests[1]"),
            ({"tests": []}, "invalid", "tests"),
            ({"reasons": ["E11-9"]}, "invalid", "reasons[0]"),
            ({"reasons": ["E11.9", "e11.9"]}, "invalid", "reasons[1]"),
            ({"reasons": []}, "invalid", "reasons"),
            ({"patient_id": unique("nobody")}, "invalid", "patient_id"),
            ({"priority": "urgent"}, "invalid", "priority"),
            ({"instructions": {"timed_at": "tomorrow morning"}}, "invalid",
             "instructions.timed_at"),
            ({"instructions": {"timed_at": "2030-01-02T07:30:00"}}, "invalid",
             "instructions.timed_at"),
            ({"instructions": {"when": "now"}}, "unknown_field", "instructions.when"),
            ({"colour": "red"}, "unknown_field", "colour"),
        ]
        for change, code, field in cases:
            with self.subTest(change=change):
                body = dict(order_body(p["id"]), **change)
                self.refused("POST", "/api/v1/orders", body, 400, code, field=field)
        body = order_body(p["id"])
        del body["clinician"]
        self.refused("POST", "/api/v1/orders", body, 400, "missing_field", field="clinician")
        events = self.audit("order.create")
        self.assertEqual(len(events), created)
        self.assertEqual([e["entity_id"] for e in events
                          if e["detail"]["patient_id"] == p["id"]], [first["id"]])
        # no accession number was used up either
        after = self.call("POST", "/api/v1/orders", order_body(p["id"], tests=["K"]),
                          status=201).json
        a, b = first["specimens"][0]["accession"], after["specimens"][0]["accession"]
        if a[:5] == b[:5]:  # same day
            self.assertEqual(int(b[5:11]), int(a[5:11]) + 1)
    def test_timed_at_without_a_time_is_refused(self):
        self.refused("POST", "/api/v1/orders", order_body(
            self.patient["id"], tests=["GLU"], instructions={"timed_at": "2030-01-02"}),
            400, "invalid", field="instructions.timed_at")

    def test_specimen_read(self):
        spec = self.specimens["SST (gold)"]
        acc = spec["accession"]
        got = self.call("GET", "/api/v1/specimens/" + acc).json
        self.assertEqual(got.pop("events"), [])
        self.assertEqual(got, spec)
        e = self.audit("specimen.read", entity_id=spec["id"])
        self.assertEqual(len(e), 1)
        self.assertEqual((e[0]["entity_type"], e[0]["outcome"]), ("specimen", "ok"))
        # one digit changed: the check digit catches it
        for i in (0, 6, 11):
            typo = acc[:i] + str((int(acc[i]) + 3) % 10) + acc[i + 1:]
            err = self.refused("GET", "/api/v1/specimens/" + typo, None, 400, "invalid",
                               field="accession")
            self.assertIn("check digit", err["message"])
        # two neighbours swapped (not 0/9, which Luhn cannot see)
        i = next(k for k in range(11) if acc[k] != acc[k + 1] and
                 {acc[k], acc[k + 1]} != {"0", "9"})
        swapped = acc[:i] + acc[i + 1] + acc[i] + acc[i + 2:]
        self.refused("GET", "/api/v1/specimens/" + swapped, None, 400, "invalid",
                     field="accession")
        for bad in ("12345", "1234567890123", "26ABC0000019"):
            self.refused("GET", "/api/v1/specimens/" + bad, None, 400, "invalid",
                         field="accession")
        unknown = luhn_complete(acc[:5] + "999999")
        self.refused("GET", "/api/v1/specimens/" + unknown, None, 404, "not_found")
        self.refused("GET", "/api/v1/specimens/%s/label" % unknown, None, 404, "not_found")
        self.assertEqual(len(self.audit("specimen.read", entity_id=spec["id"])), 1)

    def test_zpl_label(self):
        spec = self.specimens["SST (gold)"]
        acc = spec["accession"]
        r = self.call("GET", "/api/v1/specimens/%s/label" % acc)
        self.assertEqual(r.headers.get("Content-Type"), "text/plain; charset=utf-8")
        self.assertIn("no-store", r.headers.get("Cache-Control", ""))
        cd = r.headers.get("Content-Disposition", "")
        self.assertTrue(cd.startswith("attachment"), cd)
        self.assertEqual(r.headers.get_param("filename", header="Content-Disposition"),
                         acc + ".zpl")
        zpl = r.raw.decode("utf-8")
        self.assertTrue(zpl.startswith("^XA"), zpl[:20])
        self.assertTrue(zpl.rstrip("\r\n").endswith("^XZ"), zpl[-20:])
        self.assertEqual(zpl.count("^XA"), 1)
        for text in ("^FD>;%s^FS" % acc, "^FD%s^FS" % acc, "NAKAMURA, Yui", "MRN " +
                     self.patient["mrn"], "DOB 1990-12-01", "^FDF^FS", "SST (gold), serum",
                     "^FDBMP^FS"):
            self.assertIn(text, zpl)
        self.assertEqual(self.call("GET", "/api/v1/specimens/%s/label?format=zpl" % acc).raw,
                         r.raw)
        e = self.audit("specimen.label", entity_id=spec["id"], limit=1)[0]
        self.assertEqual((e["entity_type"], e["detail"]), ("specimen", {"format": "zpl"}))
        self.refused("GET", "/api/v1/specimens/%s/label?format=png" % acc, None, 400, "invalid",
                     field="format")

    def test_pdf_label_barcode_decodes(self):
        self.assertTrue(shutil.which("pdftoppm") and shutil.which("zbarimg"),
                        "poppler-utils and zbar-tools are missing: run scripts/install-deps")
        spec = self.specimens["EDTA (lavender)"]
        acc = spec["accession"]
        r = self.call("GET", "/api/v1/specimens/%s/label?format=pdf" % acc)
        self.assertEqual(r.headers.get("Content-Type"), "application/pdf")
        self.assertTrue(r.headers.get("Content-Disposition", "").startswith("attachment"))
        self.assertEqual(r.headers.get_param("filename", header="Content-Disposition"),
                         acc + ".pdf")
        self.assertTrue(r.raw.startswith(b"%PDF-"), r.raw[:20])
        self.assertIn(b"/MediaBox [ 0 0 144 72 ]", r.raw)  # 50.8 x 25.4 mm
        tmp = tempfile.mkdtemp(prefix="bs-label-")
        try:
            pdf = os.path.join(tmp, "label.pdf")
            with open(pdf, "wb") as fh:
                fh.write(r.raw)
            p = subprocess.run(["pdftoppm", "-r", "300", "-png", pdf, os.path.join(tmp, "page")],
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(p.returncode, 0, p.stderr)
            pngs = sorted(f for f in os.listdir(tmp) if f.endswith(".png"))
            self.assertEqual(len(pngs), 1, pngs)
            z = subprocess.run(["zbarimg", "--raw", "-q", os.path.join(tmp, pngs[0])],
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(z.returncode, 0, z.stderr)
            self.assertEqual(z.stdout.strip(), acc)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        e = self.audit("specimen.label", entity_id=spec["id"], limit=1)[0]
        self.assertEqual((e["entity_type"], e["detail"]), ("specimen", {"format": "pdf"}))


if __name__ == "__main__":
    unittest.main()
