"""The OpenAPI document, checked by implementations nobody here wrote:
@apidevtools/swagger-parser validates the document, and Ajv checks real
responses of the running server against the document's own schemas
(tests/tools, installed from the npm registry by tests/run.py)."""
import json
import os
import shutil
import subprocess
import tempfile

from tests.system.harness import ADMIN_PASSWORD, REPO, ServerTestCase, unique

TOOLS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools")


def node_tool(script, *args):
    if not shutil.which("node") or not os.path.isdir(os.path.join(TOOLS, "node_modules")):
        raise AssertionError("the npm test tools are missing: run `npm ci` in tests/tools "
                             "(tests/run.py does it)")
    return subprocess.run(["node", os.path.join(TOOLS, script), *args], capture_output=True,
                          text=True, timeout=120)


def check_samples(case, server, samples):
    """Check responses [{"schema", "body"}] with Ajv against the schemas of the
    OpenAPI document server serves; case (a TestCase) asserts they all match."""
    tmp = tempfile.mkdtemp(prefix="benchside-samples-")
    try:
        doc = os.path.join(tmp, "openapi.json")
        with open(doc, "w") as fh:
            json.dump(server.get("/api/v1/openapi.json").json, fh)
        path = os.path.join(tmp, "samples.json")
        with open(path, "w") as fh:
            json.dump(samples, fh)
        p = node_tool("validate-responses.mjs", doc, path)
        case.assertEqual(p.returncode, 0, p.stdout + p.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


class TestOpenAPI(ServerTestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="benchside-openapi-")
        r = self.server.get("/api/v1/openapi.json")
        self.assertEqual(r.status, 200)
        self.doc = r.json
        self.doc_file = os.path.join(self.tmp, "openapi.json")
        with open(self.doc_file, "w") as fh:
            json.dump(self.doc, fh)

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_document_is_valid_openapi(self):
        p = node_tool("validate-openapi.mjs", self.doc_file)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("valid OpenAPI 3.0", p.stdout)

    def test_every_operation_documents_success_and_body(self):
        for path, item in self.doc["paths"].items():
            for method, op in item.items():
                codes = [c for c in op["responses"] if c.startswith("2")]
                self.assertEqual(len(codes), 1, "%s %s: %s" % (method, path, codes))
                if method in ("post", "patch", "put") and path not in (
                        "/api/v1/users/{id}/unlock", "/api/v1/messages/{id}/replay"):
                    self.assertIn("requestBody", op, "%s %s" % (method, path))
                if codes[0] != "204":
                    self.assertIn("content", op["responses"][codes[0]], "%s %s" % (method, path))

    def test_broken_document_is_refused_by_the_validator(self):
        # The validator must be able to fail: a dangling reference.
        bad = json.loads(json.dumps(self.doc))
        bad["components"]["schemas"]["User"]["properties"]["role"]["$ref"] = \
            "#/components/schemas/NoSuchSchema"
        path = os.path.join(self.tmp, "bad.json")
        with open(path, "w") as fh:
            json.dump(bad, fh)
        p = node_tool("validate-openapi.mjs", path)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)

    def test_responses_match_their_schemas(self):
        srv = self.server
        admin = srv.admin()
        samples = []

        def add(schema, resp, status):
            self.assertEqual(resp.status, status, resp.raw[:300])
            samples.append({"schema": schema, "body": resp.json})

        add("Health", srv.get("/api/v1/health"), 200)
        add("SessionCreated", srv.post("/api/v1/session", {"username": "admin",
                                                           "password": ADMIN_PASSWORD}), 200)
        add("Session", srv.get("/api/v1/session", token=admin), 200)
        name = unique("oa")
        created = srv.post("/api/v1/users", {"username": name, "password": "password-0001",
                                             "role": "technician", "display_name": "O A"},
                           token=admin)
        add("User", created, 201)
        uid = created.json["id"]
        add("User", srv.get("/api/v1/users/" + uid, token=admin), 200)
        add("User", srv.patch("/api/v1/users/" + uid, {"role": "biomed"}, token=admin), 200)
        add("User", srv.post("/api/v1/users/%s/unlock" % uid, None, token=admin), 200)
        add("UserPage", srv.get("/api/v1/users?limit=1", token=admin), 200)
        add("AuditPage", srv.get("/api/v1/audit?limit=5", token=admin), 200)
        add("AuditVerify", srv.get("/api/v1/audit/verify", token=admin), 200)
        add("Error", srv.post("/api/v1/users", {"username": name}, token=admin), 400)
        add("Error", srv.get("/api/v1/users", token=None), 401)
        add("Error", srv.request("POST", "/api/v1/session", body=b'{"a":', headers={
            "Content-Type": "application/json"}), 400)

        # the laboratory: catalog, patients, orders, specimens
        with open(REPO / "src" / "lab" / "demo_catalog.json", encoding="utf-8") as fh:
            demo = json.load(fh)
        add("CatalogImported", srv.request("PUT", "/api/v1/catalog", body=demo, token=admin), 200)
        add("Catalog", srv.get("/api/v1/catalog", token=admin), 200)
        add("CatalogTest", srv.get("/api/v1/catalog/tests/GLU", token=admin), 200)
        add("CatalogTest", srv.get("/api/v1/catalog/tests/UCOLOR", token=admin), 200)
        pbody = {"mrn": unique("OA-"), "family": unique("Oa"), "given": "Api",
                 "birth_date": "1970-01-01", "sex": "unknown",
                 "identifiers": [{"system": "urn:example:mrn", "value": "42"}]}
        patient = srv.post("/api/v1/patients", pbody, token=admin)
        add("Patient", patient, 201)
        add("Patient", srv.get("/api/v1/patients/" + patient.json["id"], token=admin), 200)
        add("PatientPage", srv.get("/api/v1/patients?limit=1&name=" + pbody["family"],
                                   token=admin), 200)
        add("Error", srv.post("/api/v1/patients", dict(pbody, mrn=unique("OB-")), token=admin),
            409)  # with the candidate
        order = srv.post("/api/v1/orders", {
            "patient_id": patient.json["id"], "tests": ["BMP", "CBC", "PTINR"],
            "priority": "stat", "clinician": "Dr. O", "reasons": ["R51"],
            "instructions": {"fasting": False, "timed_at": "2030-01-01T08:00:00Z",
                             "note": "n"}}, token=admin)
        add("Order", order, 201)
        add("Order", srv.get("/api/v1/orders/" + order.json["id"], token=admin), 200)
        for spec in order.json["specimens"]:
            add("Specimen", srv.get("/api/v1/specimens/" + spec["accession"], token=admin), 200)
        add("Error", srv.get("/api/v1/specimens/000000000000", token=admin), 404)

        # results: custody events, entry, review, release, call, correction, turnaround
        acc = [s for s in order.json["specimens"] if any(
            t["code"] == "K" for t in s["tests"])][0]["accession"]
        add("Specimen", srv.post("/api/v1/specimens/%s/events" % acc, {"event": "collected"},
                                 token=admin), 200)
        add("Specimen", srv.post("/api/v1/specimens/%s/events" % acc, {"event": "received"},
                                 token=admin), 200)
        entered = srv.post("/api/v1/specimens/%s/results" % acc, {"results": [
            {"code": "GLU", "value": 90}, {"code": "K", "value": "7.1"},
            {"code": "NA", "value": 150}]}, token=admin)
        add("ResultList", entered, 200)
        by = {x["code"]: x["id"] for x in entered.json["results"]}
        add("ResultPage", srv.get("/api/v1/results/review", token=admin), 200)
        add("ResultPage", srv.get("/api/v1/results/critical", token=admin), 200)
        add("Error", srv.post("/api/v1/results/release", {"ids": [by["K"]],
                                                          "password": ADMIN_PASSWORD},
                              token=admin), 409)
        add("Result", srv.post("/api/v1/results/%s/critical-call" % by["K"],
                               {"notified": "RN A", "read_back": True}, token=admin), 200)
        add("ResultList", srv.post("/api/v1/results/release", {"ids": [by["K"], by["NA"]],
                                                               "password": ADMIN_PASSWORD},
                                   token=admin), 200)
        add("Result", srv.post("/api/v1/results/%s/correct" % by["GLU"],
                               {"value": 95, "reason": "r", "password": ADMIN_PASSWORD},
                               token=admin), 200)
        add("Result", srv.get("/api/v1/results/" + by["GLU"], token=admin), 200)
        add("Turnaround", srv.get("/api/v1/turnaround", token=admin), 200)
        add("Overdue", srv.get("/api/v1/turnaround/overdue", token=admin), 200)

        # proficiency testing: an event through grading and its corrective action; the
        # request bodies sent are checked against their own schemas too (not PtGrade's:
        # its OpenAPI 3.0 boolean exclusiveMinimum is not the JSON Schema Ajv reads)
        def sent(schema, body):
            samples.append({"schema": schema, "body": body})
            return body

        pt = "/api/v1/qc/pt/events"
        event = srv.post(pt, sent("PtEventCreate", {
            "provider": "CAP", "event": unique("2026-A-"), "due_date": "2099-12-31",
            "samples": [{"sample": "GLU-01", "test": "GLU", "instrument": "CHEM-1"},
                        {"sample": "GLU-02", "test": "GLU"}]}), token=admin)
        add("PtEvent", event, 201)
        ev = pt + "/" + event.json["id"]
        add("PtEvent", srv.post(ev + "/results", sent("PtResultsSubmit", {
            "results": [{"sample": "GLU-01", "value": 101}, {"sample": "GLU-02", "value": "130"}],
            "sent_at": "2024-01-05T10:00:00Z"}), token=admin), 201)
        add("PtEvent", srv.post(ev + "/grade", {
            "targets": [{"sample": "GLU-01", "target": 100},
                        {"sample": "GLU-02", "target": 100, "limit_percent": 10,
                         "limit_abs": 6}]}, token=admin), 200)
        add("PtEvent", srv.post(ev + "/corrective-actions", sent("PtCorrectiveAction", {
            "test": "GLU", "corrective_action": "Recalibrated", "password": ADMIN_PASSWORD}),
            token=admin), 201)
        add("PtEvent", srv.get(ev, token=admin), 200)
        add("PtEventList", srv.get(pt + "?status=closed", token=admin), 200)
        add("Error", srv.post(ev + "/grade", {"targets": [{"sample": "GLU-01", "target": 1}]},
                              token=admin), 409)


        path = os.path.join(self.tmp, "samples.json")
        with open(path, "w") as fh:
            json.dump(samples, fh)
        p = node_tool("validate-responses.mjs", self.doc_file, path)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("%d of %d" % (len(samples), len(samples)), p.stdout)
