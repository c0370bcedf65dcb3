"""System tests of equipment (src/equip/, docs/equipment.md) over HTTP: the
asset register (registration, the list and its filters, edits, status
changes with their reasons, retirement final), storage units and their
limits, `benchside import assets`, who may do what, refusals that name the
field and change nothing."""

import datetime
import json
import os
import tempfile
from urllib.parse import quote

from tests.system.harness import ADMIN_PASSWORD, REPO, run_cli
from tests.system.test_lab import LabTestCase, unique

ASSETS = "/api/v1/assets"
UNITS = "/api/v1/storage-units"
CHECKLISTS = REPO / "src" / "equip" / "checklists.json"


def day(offset=0):
    return (datetime.datetime.now(datetime.timezone.utc).date() +
            datetime.timedelta(days=offset)).isoformat()


def asset_body(**kw):
    body = {"tag": unique("BME-"), "class": "centrifuge", "manufacturer": "Eppendorf",
            "model": "5702", "serial": unique("SN"), "location": "Core lab, bench 2",
            "risk_class": "low", "owner": "Clinical chemistry"}
    body.update(kw)
    return body


class EquipTestCase(LabTestCase):
    """A server with the demo catalog and the checklist templates shipped in
    src/equip/checklists.json."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with open(CHECKLISTS, encoding="utf-8") as fh:
            for t in json.load(fh)["checklists"]:
                r = cls.server.request("POST", "/api/v1/equipment/checklists", body=t,
                                       token=cls.server.admin())
                if r.status != 200:
                    raise AssertionError("template %s: %s %r" % (t["code"], r.status, r.raw))

    def asset(self, token=Ellipsis, **kw):
        return self.call("POST", ASSETS, asset_body(**kw), token=token, status=201).json

    def get_asset(self, tag):
        return self.call("GET", "%s/%s" % (ASSETS, tag)).json

    def instrument(self, name=None):
        name = name or unique("AN-")
        self.call("PUT", "/api/v1/instruments", {"instruments": [{
            "name": name, "kind": "analyzer", "protocol": "hl7",
            "match": {"application": name}}]})
        return name


class TestAssetRegister(EquipTestCase):
    def test_register_read_edit(self):
        inst = self.instrument()
        body = asset_body(**{"class": "chemistry-analyzer", "manufacturer": "Beckman Coulter",
                             "model": "AU680", "risk_class": "medium", "install_date": "2023-04-01",
                             "instrument": inst})
        a = self.call("POST", ASSETS, body, status=201).json
        for k in ("tag", "class", "manufacturer", "model", "serial", "location", "risk_class",
                  "owner", "install_date", "instrument"):
            self.assertEqual(a[k], body[k], k)
        self.assertEqual(a["status"], "in-service")
        self.assertIsNone(a["status_reason"])
        self.assertEqual(a["created_by"], "admin")
        for k in ("status_at", "created_at", "updated_at"):
            self.assertISO(a[k])
        self.assertEqual(self.get_asset(a["tag"]), a)
        (ev,) = self.audit("equip.asset.create", entity_id=a["id"])
        self.assertEqual(ev["detail"]["tag"], a["tag"])

        # the tag and the instrument link are one asset's
        self.refused("POST", ASSETS, asset_body(tag=a["tag"]), 409, "conflict", field="tag")
        self.refused("POST", ASSETS, asset_body(instrument=inst), 409, "conflict",
                     field="instrument")

        # an edit replaces what the register says, not the tag or status
        edit = {k: body[k] for k in ("class", "manufacturer", "model", "serial", "owner",
                                     "risk_class")}
        edit["location"] = "Core lab, bench 7"
        b = self.call("PUT", "%s/%s" % (ASSETS, a["tag"]), edit).json
        self.assertEqual(b["location"], "Core lab, bench 7")
        self.assertIsNone(b["install_date"])
        self.assertIsNone(b["instrument"])
        self.assertEqual((b["id"], b["tag"], b["status"]), (a["id"], a["tag"], "in-service"))
        (ev,) = self.audit("equip.asset.update", entity_id=a["id"])
        self.assertEqual(ev["detail"]["changes"]["location"],
                         ["Core lab, bench 2", "Core lab, bench 7"])
        self.assertEqual(ev["detail"]["changes"]["instrument"], [inst, None])
        self.assertNotIn("model", ev["detail"]["changes"])
        self.refused("PUT", "%s/%s" % (ASSETS, a["tag"]), dict(edit, status="retired"), 400,
                     "unknown_field", field="status")
        self.refused("PUT", "%s/%s" % (ASSETS, unique("NONE-")), edit, 404, "not_found")
        self.assertEqual(self.get_asset(a["tag"]), b)

    def test_bad_assets_refused_nothing_written(self):
        cases = [
            (asset_body(tag="BME 1"), "invalid", "tag"),
            (asset_body(tag="x" * 33), "invalid", "tag"),
            (asset_body(**{"class": "toaster"}), "invalid", "class"),
            (asset_body(risk_class="extreme"), "invalid", "risk_class"),
            (asset_body(install_date=day(3)), "invalid", "install_date"),
            (asset_body(install_date="2023-02-29"), "invalid", "install_date"),
            (asset_body(instrument="NO-SUCH-ANALYZER"), "invalid", "instrument"),
            (asset_body(status="out-of-service"), "invalid", "status_reason"),
            (asset_body(status="lost", status_reason="x"), "invalid", "status"),
            (asset_body(owner="   "), "invalid", "owner"),
            (asset_body(colour="blue"), "unknown_field", "colour"),
        ]
        for body, code, field in cases:
            with self.subTest(field=field, body=body):
                self.refused("POST", ASSETS, body, 400, code, field=field)
                self.refused("GET", "%s/%s" % (ASSETS, quote(body["tag"])), None, 404,
                             "not_found")
        body = asset_body()
        del body["serial"]
        self.refused("POST", ASSETS, body, 400, "missing_field", field="serial")
        self.refused("GET", ASSETS + "?class=toaster", None, 400, "invalid", field="class")
        self.refused("GET", ASSETS + "?status=lost", None, 400, "invalid", field="status")
        self.refused("GET", ASSETS + "?colour=red", None, 400, "invalid")

    def test_list_filters_and_pages(self):
        room = unique("Room ")
        tags = sorted(self.asset(location=room, **{"class": c})["tag"]
                      for c in ("centrifuge", "centrifuge", "autoclave"))
        got = self.call("GET", ASSETS + "?location=" + room.replace(" ", "%20")).json
        self.assertEqual([x["tag"] for x in got["items"]], tags)
        self.assertIsNone(got["next"])
        got = self.call("GET", ASSETS + "?class=autoclave&location=" +
                        room.replace(" ", "%20")).json
        self.assertEqual(len(got["items"]), 1)
        page = self.call("GET", ASSETS + "?limit=2&location=" + room.replace(" ", "%20")).json
        self.assertEqual([x["tag"] for x in page["items"]], tags[:2])
        self.assertEqual(page["next"], tags[1])
        page = self.call("GET", ASSETS + "?limit=2&location=%s&cursor=%s" % (
            room.replace(" ", "%20"), page["next"])).json
        self.assertEqual([x["tag"] for x in page["items"]], tags[2:])
        self.assertIsNone(page["next"])

    def test_status_changes(self):
        a = self.asset(**{"class": "defibrillator", "risk_class": "high"})
        path = "%s/%s/status" % (ASSETS, a["tag"])
        self.refused("POST", path, {"status": "out-of-service"}, 400, "invalid", field="reason")
        self.refused("POST", path, {"status": "in-service"}, 409, "conflict", field="status")
        self.refused("POST", path, {"status": "broken", "reason": "x"}, 400, "invalid",
                     field="status")
        self.assertEqual(self.get_asset(a["tag"])["status"], "in-service")
        b = self.call("POST", path, {"status": "out-of-service",
                                     "reason": "daily check failed: pads expired"}).json
        self.assertEqual((b["status"], b["status_reason"]),
                         ("out-of-service", "daily check failed: pads expired"))
        self.assertEqual(self.call("GET", ASSETS + "?status=out-of-service&location=" +
                                   a["location"].replace(" ", "%20")).json["items"][-1]["status"],
                         "out-of-service")
        b = self.call("POST", path, {"status": "in-service", "reason": "new pads fitted"}).json
        self.assertEqual(b["status"], "in-service")
        b = self.call("POST", path, {"status": "retired", "reason": "replaced"}).json
        self.assertEqual(b["status"], "retired")
        r = self.refused("POST", path, {"status": "in-service", "reason": "x"}, 409, "conflict",
                         field="status")
        self.assertIn("retired", r["message"])
        self.refused("PUT", "%s/%s" % (ASSETS, a["tag"]),
                     {k: a[k] for k in ("class", "manufacturer", "model", "serial", "location",
                                        "risk_class", "owner")}, 409, "conflict", field="tag")
        events = self.audit("equip.asset.status", entity_id=a["id"])
        self.assertEqual([(e["detail"]["from"], e["detail"]["to"]) for e in reversed(events)],
                         [("in-service", "out-of-service"), ("out-of-service", "in-service"),
                          ("in-service", "retired")])
        self.refused("POST", "%s/%s/status" % (ASSETS, unique("NONE-")),
                     {"status": "retired", "reason": "x"}, 404, "not_found")

    def test_permissions(self):
        tech = self.login_as("technician")
        biomed = self.login_as("biomed")
        clinician = self.login_as("clinician")
        a = self.asset(token=biomed)
        self.assertEqual(self.call("GET", "%s/%s" % (ASSETS, a["tag"]), token=tech).json["tag"],
                         a["tag"])
        self.refused("POST", ASSETS, asset_body(), 403, "forbidden", token=tech)
        self.refused("POST", "%s/%s/status" % (ASSETS, a["tag"]),
                     {"status": "retired", "reason": "x"}, 403, "forbidden", token=tech)
        self.refused("GET", ASSETS, None, 403, "forbidden", token=clinician)
        self.refused("GET", UNITS, None, 403, "forbidden", token=clinician)
        self.refused("POST", UNITS, {"name": unique("U"), "kind": "room", "low": 1, "high": 2},
                     403, "forbidden", token=tech)
        self.refused("GET", ASSETS, None, 401, "unauthorized", token=None)


class TestStorageUnits(EquipTestCase):
    def test_units(self):
        fridge = self.asset(**{"class": "refrigerator"})
        name = unique("FRIDGE-")
        u = self.call("POST", UNITS, {"name": name, "kind": "refrigerator",
                                      "asset": fridge["tag"], "low": 2, "high": 8,
                                      "description": "Reagents, core lab"}, status=201).json
        self.assertEqual((u["name"], u["kind"], u["asset"], u["low"], u["high"]),
                         (name, "refrigerator", fridge["tag"], 2, 8))
        self.assertEqual(self.call("GET", "%s/%s" % (UNITS, name)).json, u)
        self.assertIn(name, [x["name"] for x in self.call("GET", UNITS).json["items"]])
        (ev,) = self.audit("equip.storage.create", entity_id=name)
        self.assertEqual(ev["detail"]["asset"], fridge["tag"])
        self.refused("POST", UNITS, {"name": name, "kind": "room", "low": 15, "high": 25},
                     409, "conflict", field="name")
        before = self.call("GET", UNITS).json["items"]
        cases = [
            ({"name": "A B", "kind": "room", "low": 15, "high": 25}, "invalid", "name"),
            ({"name": unique("U"), "kind": "cupboard", "low": 15, "high": 25}, "invalid", "kind"),
            ({"name": unique("U"), "kind": "freezer", "low": -15, "high": -25}, "invalid",
             "high"),
            ({"name": unique("U"), "kind": "freezer", "low": -20, "high": -20}, "invalid",
             "high"),
            ({"name": unique("U"), "kind": "room", "low": "15", "high": 25}, "invalid", "low"),
            ({"name": unique("U"), "kind": "room", "low": 15, "high": 25,
              "asset": unique("NONE-")}, "invalid", "asset"),
            ({"name": unique("U"), "kind": "room", "high": 25}, "missing_field", "low"),
        ]
        for body, code, field in cases:
            with self.subTest(field=field):
                self.refused("POST", UNITS, body, 400, code, field=field)
        self.assertEqual(self.call("GET", UNITS).json["items"], before)
        self.refused("GET", "%s/%s" % (UNITS, unique("NONE-")), None, 404, "not_found")


class TestImportAssets(EquipTestCase):
    def run_import(self, doc):
        fd, path = tempfile.mkstemp(suffix=".json")
        with os.fdopen(fd, "w") as fh:
            json.dump(doc, fh)
        try:
            return run_cli(["import", "assets", path, "--db", self.server.db_url])
        finally:
            os.unlink(path)

    def test_all_or_nothing(self):
        doc = [asset_body(**{"class": c}) for c in ("mri", "ecg", "pulse-oximeter")]
        bad = [dict(x) for x in doc]
        bad[2]["risk_class"] = "severe"
        r = self.run_import(bad)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("assets[2].risk_class", r.stderr)
        for x in doc:
            self.refused("GET", "%s/%s" % (ASSETS, x["tag"]), None, 404, "not_found")
        r = self.run_import(doc)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("imported 3 asset(s)", r.stdout)
        self.assertEqual([self.get_asset(x["tag"])["class"] for x in doc],
                         ["mri", "ecg", "pulse-oximeter"])
        r = self.run_import(doc)
        self.assertEqual(r.returncode, 1)
        self.assertIn("assets[0].tag", r.stderr)


class TestEquipOpenApi(EquipTestCase):
    """Equipment answers (and the bodies sent) against the OpenAPI document's
    own schemas, with the validator of tests/test_openapi.py."""

    def test_answers_match_their_schemas(self):
        samples = []

        def add(schema, method, path, body=None, status=200, sent=None):
            r = self.call(method, path, body, status=status)
            samples.append({"schema": schema, "body": r.json})
            if sent:
                samples.append({"schema": sent, "body": body})
            return r.json

        inst = self.instrument()
        a = add("Asset", "POST", ASSETS, asset_body(instrument=inst, install_date="2022-01-31"),
                status=201, sent="AssetCreate")
        add("Asset", "GET", "%s/%s" % (ASSETS, a["tag"]))
        add("AssetPage", "GET", ASSETS + "?limit=2")
        add("Asset", "PUT", "%s/%s" % (ASSETS, a["tag"]),
            {k: a[k] for k in ("class", "manufacturer", "model", "serial", "location",
                               "risk_class", "owner")}, sent="AssetUpdate")
        status = {"status": "out-of-service", "reason": "rotor imbalance"}
        add("Asset", "POST", "%s/%s/status" % (ASSETS, a["tag"]), status, sent="AssetStatusChange")
        add("StorageUnit", "POST", UNITS, {"name": unique("F-"), "kind": "freezer",
                                           "asset": a["tag"], "low": -25, "high": -15.5},
            status=201, sent="StorageUnitCreate")
        add("StorageUnitList", "GET", UNITS)
        add("Error", "GET", ASSETS + "?class=toaster", status=400)
        add("Error", "POST", "%s/%s/status" % (ASSETS, a["tag"]), status, status=409)

        # schedules, records, checklists, fitness
        std = self.asset(**{"class": "calibration-standard"})
        add("Calibration", "POST", "/api/v1/calibrations", {
            "asset": std["tag"], "performed_at": iso(-10), "external": {
                "provider": "Lab", "certificate": unique("C-"), "valid_until": day(300)},
            "points": [{"name": "p", "unit": "g", "nominal": 1, "tolerance": 0.1,
                        "as_left": 1}]}, status=201, sent="CalibrationCreate")
        add("Schedule", "POST", "/api/v1/equipment/schedules", {
            "asset": a["tag"], "kind": "calibration", "interval_days": 30, "grace_days": 2,
            "description": "two-point"}, status=201, sent="ScheduleCreate")
        add("Schedule", "POST", "/api/v1/equipment/schedules", {
            "asset": a["tag"], "kind": "check", "template": "centrifuge-speed",
            "interval_days": 1}, status=201, sent="ScheduleCreate")
        add("ScheduleList", "GET", "/api/v1/equipment/schedules?asset=" + a["tag"])
        cal = add("Calibration", "POST", "/api/v1/calibrations", {
            "asset": a["tag"], "standard": std["tag"], "performed_at": iso(-5), "points": [
                {"name": "3000 rpm", "unit": "rpm", "nominal": 3000, "tolerance": 30,
                 "as_found": 3100, "as_left": 3010}]}, status=201, sent="CalibrationCreate")
        self.assertEqual(len(cal["traceability"]), 1)
        add("Calibration", "POST", "/api/v1/calibrations", {
            "asset": a["tag"], "standard": std["tag"], "performed_at": iso(-3), "points": [
                {"name": "3000 rpm", "unit": "rpm", "nominal": 3000, "tolerance": 30,
                 "as_found": 3100, "as_left": 3010}]}, status=201)
        add("Calibration", "GET", "/api/v1/calibrations/" + cal["id"])
        add("CalibrationList", "GET", "%s/%s/calibrations" % (ASSETS, a["tag"]))
        add("DueList", "GET", "/api/v1/equipment/due?within=30")
        add("Maintenance", "POST", "%s/%s/maintenance" % (ASSETS, a["tag"]), {
            "performed_at": iso(-1), "by": "Vendor", "notes": "n", "passed": False},
            status=201, sent="MaintenanceCreate")
        add("MaintenanceList", "GET", "%s/%s/maintenance" % (ASSETS, a["tag"]))
        add("Checklist", "POST", "/api/v1/equipment/checklists", {
            "code": unique("t-"), "name": "T", "kind": "check", "fields": [
                {"key": "c", "label": "C", "type": "choice", "choices": ["a", "b"],
                 "pass": ["a"]},
                {"key": "n", "label": "N", "type": "number", "unit": "g", "min": 1,
                 "when": {"field": "c", "in": ["a"]}, "required": False}]},
            sent="ChecklistTemplate")
        add("ChecklistList", "GET", "/api/v1/equipment/checklists")
        add("Checklist", "GET", "/api/v1/equipment/checklists/iec62353?version=1")
        chk = add("Check", "POST", "/api/v1/equipment/checks", {
            "asset": a["tag"], "template": "centrifuge-speed", "performed_at": iso(-0.5),
            "values": {"set_rpm": 3000, "measured_rpm": 3300}, "notes": "n"}, status=201,
            sent="CheckCreate")
        add("Check", "GET", "/api/v1/equipment/checks/" + chk["id"])
        add("CheckList", "GET", "%s/%s/checks" % (ASSETS, a["tag"]))
        add("Fitness", "GET", "%s/%s/fitness" % (ASSETS, a["tag"]))
        add("Fitness", "GET", "%s/%s/fitness" % (ASSETS, std["tag"]))
        self.validate(samples)

    def validate(self, samples):
        from tests.system.test_openapi import node_tool
        with tempfile.TemporaryDirectory(prefix="benchside-equip-oa-") as tmp:
            doc = os.path.join(tmp, "openapi.json")
            with open(doc, "w") as fh:
                json.dump(self.call("GET", "/api/v1/openapi.json").json, fh)
            p = node_tool("validate-openapi.mjs", doc)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            path = os.path.join(tmp, "samples.json")
            with open(path, "w") as fh:
                json.dump(samples, fh)
            p = node_tool("validate-responses.mjs", doc, path)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            self.assertIn("%d of %d" % (len(samples), len(samples)), p.stdout)


def iso(days=0.0):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=days)
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


POINTS = [{"name": "GLU 100", "unit": "mg/dL", "nominal": 100, "tolerance": 3,
           "as_found": 101.2, "as_left": 100.4},
          {"name": "GLU 400", "unit": "mg/dL", "nominal": 400, "tolerance": 12,
           "as_left": 398}]


class TestFitnessGate(EquipTestCase):
    """The issue's story: an analyzer whose calibration is overdue sends a
    result over MLLP; the gate holds it and says why; a calibration is
    recorded; the result is released. With the refusals around it."""

    server_args = ("--mllp", "127.0.0.1:0")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.mllp_port = cls.server.link_ports()[0]

    def analyzer(self):
        """An HL7 analyzer with its asset, calibrated 100 days ago against a
        standard with an external certificate, every 90 days."""
        name, app = unique("AN-"), unique("APP")
        self.call("PUT", "/api/v1/instruments", {"instruments": [{
            "name": name, "kind": "analyzer", "protocol": "hl7", "match": {"application": app},
            "mappings": {"Gluc": "GLU"}}]})
        a = self.asset(instrument=name, install_date=day(-400), risk_class="high",
                       **{"class": "chemistry-analyzer"})
        std = self.asset(**{"class": "calibration-standard", "manufacturer": "NIST",
                            "model": "SRM 965b"})
        self.call("POST", "/api/v1/calibrations", {
            "asset": std["tag"], "performed_at": iso(-200),
            "external": {"provider": "National metrology lab", "certificate": unique("NML-"),
                         "valid_until": day(165)},
            "points": [{"name": "level 1", "unit": "mg/dL", "nominal": 100, "tolerance": 1,
                        "as_left": 100.2}]}, status=201)
        self.call("POST", "/api/v1/equipment/schedules", {
            "asset": a["tag"], "kind": "calibration", "interval_days": 90}, status=201)
        self.call("POST", "/api/v1/calibrations", {
            "asset": a["tag"], "performed_at": iso(-100), "standard": std["tag"],
            "points": POINTS}, status=201)
        return name, app, a, std

    def specimen(self, tests=("GLU",)):
        from tests.system.test_lab import order_body
        p = self.create_patient()
        o = self.call("POST", "/api/v1/orders", order_body(p["id"], tests=list(tests)),
                      status=201).json
        acc = o["specimens"][0]["accession"]
        self.call("POST", "/api/v1/specimens/%s/events" % acc, {"event": "collected"})
        self.call("POST", "/api/v1/specimens/%s/events" % acc, {"event": "received"})
        return acc

    def send(self, app, acc, value):
        from tests.system.test_links import MllpClient, msa, oul
        c = MllpClient(self.mllp_port)
        try:
            code, control, err = msa(c.send(oul(acc, [("Gluc", value, "mg/dL")], app=app)))
        finally:
            c.close()
        self.assertEqual(code, "AA", err)
        (m,) = self.call("GET", "/api/v1/messages?control_id=" + control).json["items"]
        return m["summary"]["results"][0]

    def test_overdue_calibration_holds_until_calibrated(self):
        name, app, a, std = self.analyzer()
        overdue_since = (datetime.datetime.now(datetime.timezone.utc).date() -
                         datetime.timedelta(days=10))
        fit = self.call("GET", "%s/%s/fitness" % (ASSETS, a["tag"])).json
        self.assertFalse(fit["fit"])
        self.assertEqual(fit["reasons"], ["calibration overdue since %s" %
                                          overdue_since.isoformat()])
        (due,) = [x for x in self.call("GET", "/api/v1/equipment/due").json["items"]
                  if x["asset"] == a["tag"]]
        self.assertEqual((due["kind"], due["state"], due["instrument"]),
                         ("calibration", "overdue", name))

        # the analyzer sends a normal glucose: held, and the gate says why
        acc = self.specimen()
        rid = self.send(app, acc, "92")
        r = self.call("GET", "/api/v1/results/" + rid).json
        self.assertEqual(r["status"], "review")
        want = "%s (%s): calibration overdue since %s" % (name, a["tag"], overdue_since)
        self.assertEqual([(h["code"], h["message"]) for h in r["holds"]],
                         [("device-unfit", want)])
        # a person cannot release it either: a hard hold
        rel = self.server.post("/api/v1/results/release", {"ids": [rid],
                                                           "password": ADMIN_PASSWORD},
                               token=self.server.admin())
        self.assertEqual(rel.status, 409, rel.raw)
        self.assertEqual([h["code"] for h in rel.json["held"][0]["reasons"]], ["device-unfit"])

        # bad input around it changes nothing
        before = self.call("GET", "%s/%s/calibrations" % (ASSETS, a["tag"])).json["items"]
        self.refused("POST", "/api/v1/calibrations", {
            "asset": a["tag"], "standard": std["tag"], "performed_at": iso(2),
            "points": POINTS}, 400, "invalid", field="performed_at")
        self.refused("POST", "/api/v1/calibrations", {
            "asset": a["tag"], "standard": a["tag"], "points": POINTS}, 400, "invalid",
            field="standard")
        self.assertEqual(self.call("GET", "%s/%s/calibrations" % (ASSETS, a["tag"]))
                         .json["items"], before)
        self.assertEqual(self.call("GET", "/api/v1/results/" + rid).json["status"], "review")

        # the calibration is recorded: the held result is released
        tech = self.login_as("technician")
        cal = self.call("POST", "/api/v1/calibrations", {
            "asset": a["tag"], "standard": std["tag"], "points": POINTS,
            "notes": "two-point calibration after reagent lot change"}, token=tech,
            status=201).json
        self.assertTrue(cal["passed"])
        self.assertEqual(cal["standard"]["tag"], std["tag"])
        self.assertEqual(cal["standard"]["valid_until"], day(165))
        self.assertEqual([x["asset"] for x in cal["traceability"]], [std["tag"]])
        self.assertEqual(cal["traceability"][0]["external"]["provider"],
                         "National metrology lab")
        r = self.call("GET", "/api/v1/results/" + rid).json
        self.assertEqual(r["status"], "released")
        self.assertTrue(self.call("GET", "%s/%s/fitness" % (ASSETS, a["tag"])).json["fit"])
        self.assertEqual(self.call("GET", "/api/v1/calibrations/" + cal["id"]).json, cal)

    def test_out_of_range_result_released_by_hand_once_fit(self):
        name, app, a, std = self.analyzer()
        acc = self.specimen()
        rid = self.send(app, acc, "250")  # high: held for review besides
        holds = [h["code"] for h in self.call("GET", "/api/v1/results/" + rid).json["holds"]]
        self.assertEqual(holds, ["out-of-range", "device-unfit"])
        self.call("POST", "/api/v1/calibrations", {"asset": a["tag"], "standard": std["tag"],
                                                   "points": POINTS}, status=201)
        r = self.call("GET", "/api/v1/results/" + rid).json
        self.assertEqual((r["status"], [h["code"] for h in r["holds"]]),
                         ("review", ["out-of-range"]))
        out = self.call("POST", "/api/v1/results/release",
                        {"ids": [rid], "password": ADMIN_PASSWORD}).json
        self.assertEqual(out["results"][0]["status"], "released")

    def test_out_of_service_holds_and_return_releases(self):
        name, app, a, std = self.analyzer()
        self.call("POST", "/api/v1/calibrations", {"asset": a["tag"], "standard": std["tag"],
                                                   "points": POINTS}, status=201)
        self.call("POST", "%s/%s/status" % (ASSETS, a["tag"]),
                  {"status": "out-of-service", "reason": "sample probe crash"})
        rid = self.send(app, self.specimen(), "95")
        (h,) = self.call("GET", "/api/v1/results/" + rid).json["holds"]
        self.assertIn("out-of-service since %s: sample probe crash" % day(0), h["message"])
        self.call("POST", "%s/%s/status" % (ASSETS, a["tag"]),
                  {"status": "in-service", "reason": "probe replaced, QC passed"})
        self.assertEqual(self.call("GET", "/api/v1/results/" + rid).json["status"], "released")


IEC_CLASS_I_BF = {"protection_class": "I", "applied_part_type": "BF",
                  "visual_inspection_ok": True, "protective_earth_resistance_ohm": 0.12,
                  "equipment_leakage_class_i_ua": 310, "applied_part_leakage_bf_ua": 45,
                  "functional_test_ok": True}


class TestRecordsAndChecks(EquipTestCase):
    def test_schedules_due_and_maintenance(self):
        a = self.asset(**{"class": "centrifuge"})
        s = self.call("POST", "/api/v1/equipment/schedules", {
            "asset": a["tag"], "kind": "pm", "interval_days": 30}, status=201).json
        self.assertEqual((s["asset"], s["kind"], s["grace_days"], s["safety_critical"]),
                         (a["tag"], "pm", 0, False))
        cases = [
            ({"asset": a["tag"], "class": "mri", "kind": "pm", "interval_days": 1}, "invalid",
             "class"),
            ({"kind": "pm", "interval_days": 1}, "invalid", "asset"),
            ({"asset": a["tag"], "kind": "repair", "interval_days": 1}, "invalid", "kind"),
            ({"asset": a["tag"], "kind": "check", "interval_days": 1}, "missing_field",
             "template"),
            ({"asset": a["tag"], "kind": "check", "template": "iec62353", "interval_days": 1},
             "invalid", "template"),
            ({"asset": a["tag"], "kind": "pm", "interval_days": 0}, "invalid", "interval_days"),
            ({"asset": unique("NONE-"), "kind": "pm", "interval_days": 5}, "invalid", "asset"),
        ]
        for body, code, field in cases:
            with self.subTest(field=field, body=body):
                self.refused("POST", "/api/v1/equipment/schedules", body, 400, code, field=field)
        self.refused("POST", "/api/v1/equipment/schedules",
                     {"asset": a["tag"], "kind": "pm", "interval_days": 60}, 409, "conflict",
                     field="kind")
        listed = self.call("GET", "/api/v1/equipment/schedules?asset=" + a["tag"]).json["items"]
        self.assertEqual([x["id"] for x in listed], [s["id"]])

        # maintenance 29.5 days ago: due within the week, not within 0 days
        path = "%s/%s/maintenance" % (ASSETS, a["tag"])
        m = self.call("POST", path, {"performed_at": iso(-29.5), "passed": True,
                                     "by": "Eppendorf service", "notes": "rotor and lid seal"},
                      status=201).json
        self.assertEqual((m["asset"], m["performed_by"], m["passed"]),
                         (a["tag"], "Eppendorf service", True))
        due = [x for x in self.call("GET", "/api/v1/equipment/due").json["items"]
               if x["asset"] == a["tag"]]
        self.assertEqual([(x["kind"], x["state"], x["last_done"]) for x in due],
                         [("pm", "due", m["performed_at"])])
        self.assertEqual([x for x in self.call("GET", "/api/v1/equipment/due?within=0")
                          .json["items"] if x["asset"] == a["tag"]], [])
        self.refused("GET", "/api/v1/equipment/due?within=-1", None, 400, "invalid",
                     field="within")
        # refused: in the future, no outcome, unknown asset
        self.refused("POST", path, {"performed_at": iso(1), "passed": True}, 400, "invalid",
                     field="performed_at")
        self.refused("POST", path, {"notes": "x"}, 400, "missing_field", field="passed")
        self.refused("POST", "%s/%s/maintenance" % (ASSETS, unique("NONE-")), {"passed": True},
                     404, "not_found")
        self.assertEqual([x["id"] for x in self.call("GET", path).json["items"]], [m["id"]])
        self.call("DELETE", "/api/v1/equipment/schedules/" + s["id"], status=204)
        self.refused("DELETE", "/api/v1/equipment/schedules/" + s["id"], None, 404, "not_found")
        self.assertEqual(len(self.audit("equip.schedule.delete", entity_id=s["id"])), 1)

    def test_checklists_and_checks(self):
        items = self.call("GET", "/api/v1/equipment/checklists").json["items"]
        codes = {x["code"] for x in items}
        self.assertTrue({"defib-daily", "autoclave-bowie-dick", "centrifuge-speed",
                         "iec62353"} <= codes, codes)
        iec = self.call("GET", "/api/v1/equipment/checklists/iec62353").json
        pe = [f for f in iec["fields"] if f["key"] == "protective_earth_resistance_ohm"][0]
        self.assertEqual((pe["max"], pe["unit"]), (0.3, "ohm"))

        mon = self.asset(**{"class": "patient-monitor", "risk_class": "high"})
        body = {"asset": mon["tag"], "template": "iec62353", "values": IEC_CLASS_I_BF}
        c = self.call("POST", "/api/v1/equipment/checks", body, status=201).json
        self.assertEqual((c["passed"], c["failed"], c["kind"]), (True, [], "electrical-safety"))
        bad = dict(IEC_CLASS_I_BF, protective_earth_resistance_ohm=0.42,
                   applied_part_leakage_bf_ua=5200)
        c2 = self.call("POST", "/api/v1/equipment/checks", dict(body, values=bad),
                       status=201).json
        self.assertFalse(c2["passed"])
        self.assertEqual([(f["key"], f["value"], f["expected"]) for f in c2["failed"]],
                         [("protective_earth_resistance_ohm", 0.42, "0 to 0.3 ohm"),
                          ("applied_part_leakage_bf_ua", 5200, "0 to 5000 uA")])
        self.assertEqual(self.call("GET", "/api/v1/equipment/checks/" + c2["id"]).json, c2)

        # refused, naming the field; nothing written
        before = self.call("GET", "%s/%s/checks" % (ASSETS, mon["tag"])).json["items"]
        cases = [
            (dict(IEC_CLASS_I_BF, insulation_mohm=20), "unknown_field", "values.insulation_mohm"),
            ({k: v for k, v in IEC_CLASS_I_BF.items() if k != "visual_inspection_ok"},
             "missing_field", "values.visual_inspection_ok"),
            (dict(IEC_CLASS_I_BF, functional_test_ok="yes"), "invalid",
             "values.functional_test_ok"),
            (dict(IEC_CLASS_I_BF, applied_part_type="BFX"), "invalid",
             "values.applied_part_type"),
            (dict(IEC_CLASS_I_BF, applied_part_leakage_cf_ua=3), "invalid",
             "values.applied_part_leakage_cf_ua"),
        ]
        for values, code, field in cases:
            with self.subTest(field=field):
                self.refused("POST", "/api/v1/equipment/checks", dict(body, values=values), 400,
                             code, field=field)
        self.refused("POST", "/api/v1/equipment/checks", dict(body, performed_at=iso(3)), 400,
                     "invalid", field="performed_at")
        self.refused("POST", "/api/v1/equipment/checks", dict(body, template="no-such"), 400,
                     "invalid", field="template")
        self.assertEqual(self.call("GET", "%s/%s/checks" % (ASSETS, mon["tag"])).json["items"],
                         before)

        # a new template, then a new version of it; checks keep theirs
        code = unique("inc-")
        tmpl = {"code": code, "name": "Incubator daily check", "kind": "check", "fields": [
            {"key": "temp_c", "label": "Temperature", "type": "number", "unit": "Cel",
             "min": 36.5, "max": 37.5}]}
        t1 = self.call("POST", "/api/v1/equipment/checklists", tmpl).json
        self.assertEqual((t1["version"], t1["created"]), (1, True))
        self.assertEqual(self.call("POST", "/api/v1/equipment/checklists", tmpl).json["created"],
                         False)
        self.refused("POST", "/api/v1/equipment/checklists",
                     dict(tmpl, fields=[dict(tmpl["fields"][0], min=40)]), 400, "invalid",
                     field="fields[0].max")
        inc = self.asset(**{"class": "incubator"})
        k1 = self.call("POST", "/api/v1/equipment/checks", {
            "asset": inc["tag"], "template": code, "values": {"temp_c": 37.1}},
            status=201).json
        tmpl["fields"][0]["max"] = 38
        t2 = self.call("POST", "/api/v1/equipment/checklists", tmpl).json
        self.assertEqual(t2["version"], 2)
        k2 = self.call("POST", "/api/v1/equipment/checks", {
            "asset": inc["tag"], "template": code, "values": {"temp_c": 37.8}},
            status=201).json
        self.assertEqual((k1["version"], k2["version"], k2["passed"]), (1, 2, True))
        self.assertEqual(self.call("GET", "/api/v1/equipment/checklists/%s?version=1" % code)
                         .json["fields"][0]["max"], 37.5)

    def test_import_checklists_cli(self):
        code = unique("cli-")
        doc = {"checklists": [{"code": code, "name": "Balance daily check", "kind": "check",
                               "fields": [{"key": "level_ok", "label": "Level bubble centred",
                                           "type": "boolean", "expected": True}]}]}
        fd, path = tempfile.mkstemp(suffix=".json")
        with os.fdopen(fd, "w") as fh:
            json.dump(doc, fh)
        try:
            r = run_cli(["import", "checklists", path, "--db", self.server.db_url])
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertIn("imported 1 new checklist template version(s)", r.stdout)
            r = run_cli(["import", "checklists", path, "--db", self.server.db_url])
            self.assertIn("imported 0 new", r.stdout)
        finally:
            os.unlink(path)
        self.assertEqual(self.call("GET", "/api/v1/equipment/checklists/" + code)
                         .json["version"], 1)

    def test_record_permissions(self):
        tech = self.login_as("technician")
        clinician = self.login_as("clinician")
        a = self.asset(**{"class": "defibrillator"})
        self.call("POST", "/api/v1/equipment/checks", {
            "asset": a["tag"], "template": "defib-daily", "values": {
                "self_test_passed": True, "battery_ok": True, "selected_energy_j": 150,
                "delivered_energy_j": 148, "pads_in_date": True, "cables_intact": True}},
            token=tech, status=201)
        self.call("POST", "%s/%s/maintenance" % (ASSETS, a["tag"]), {"passed": True},
                  token=tech, status=201)
        self.refused("POST", "/api/v1/equipment/schedules",
                     {"asset": a["tag"], "kind": "pm", "interval_days": 5}, 403, "forbidden",
                     token=tech)
        self.refused("POST", "/api/v1/equipment/checklists", {"code": "x"}, 403, "forbidden",
                     token=tech)
        self.refused("GET", "/api/v1/equipment/due", None, 403, "forbidden", token=clinician)
        self.refused("GET", "%s/%s/fitness" % (ASSETS, a["tag"]), None, 403, "forbidden",
                     token=clinician)
