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

from tests.system.harness import ADMIN_PASSWORD, run_cli
from tests.system.test_lab import LabTestCase, unique

ASSETS = "/api/v1/assets"
UNITS = "/api/v1/storage-units"


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
