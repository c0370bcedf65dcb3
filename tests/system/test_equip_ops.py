"""System tests of temperature logs and work orders (src/equip/templog.h,
src/equip/workorder.h, docs/temperature-and-work-orders.md) over HTTP: a
specimen stored in a refrigerator, a sensor's reading out of range opening an
alert that lists it, readings joining the alert, its close with a documented
action by a person; bad readings refused naming the field with nothing
written; a work order from the report to the close with the asset out of
service and back; availability of a past month on a worked example; who may
do what; every response checked against the OpenAPI schemas with Ajv."""

import datetime

from tests.system.harness import unique
from tests.system.test_lab import LabTestCase, order_body
from tests.system.test_openapi import check_samples

UNITS = "/api/v1/storage-units"
ALERTS = "/api/v1/temperature/alerts"
ORDERS = "/api/v1/work-orders"


def iso(minutes=0):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=minutes)
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class EquipOpsTestCase(LabTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.samples = []

    def sample(self, schema, resp):
        self.samples.append({"schema": schema, "body": resp.json})
        return resp.json

    def validate_samples(self):
        check_samples(self, self.server, self.samples)

    def unit(self, kind="refrigerator", low=2, high=8):
        name = unique("FRIDGE-").upper()
        self.call("POST", UNITS, {"name": name, "kind": kind, "low": low, "high": high},
                  status=201)
        return name

    def asset(self, cls="chemistry-analyzer"):
        tag = unique("BME-").upper()
        self.call("POST", "/api/v1/assets", {
            "tag": tag, "class": cls, "manufacturer": "Beckman Coulter", "model": "AU680",
            "serial": unique("SN"), "location": "Core lab, bench 3", "risk_class": "medium",
            "owner": "Clinical chemistry"}, status=201)
        return tag

    def asset_status(self, tag):
        return self.call("GET", "/api/v1/assets/" + tag).json["status"]

    def stored_specimen(self, unit):
        """A specimen ordered, collected, received and stored in unit: (accession, patient id)."""
        p = self.create_patient()
        o = self.call("POST", "/api/v1/orders", order_body(p["id"], tests=["GLU", "K"]),
                      status=201).json
        (spec,) = o["specimens"]
        acc = spec["accession"]
        for ev in ({"event": "collected"}, {"event": "received"},
                   {"event": "stored", "location": unit, "rack": "R2", "position": "B5",
                    "temperature": "refrigerated"}):
            self.call("POST", "/api/v1/specimens/%s/events" % acc, ev)
        return acc, p["id"]

    def readings(self, unit, body, token=Ellipsis, status=201):
        return self.sample("TemperatureReadingsRecorded", self.call(
            "POST", "%s/%s/readings" % (UNITS, unit), body, token=token, status=status))

    def count_readings(self, unit):
        return len(self.call("GET", "%s/%s/readings" % (UNITS, unit)).json["readings"])


class TestTemperature(EquipOpsTestCase):
    def test_refrigerator_excursion_lists_what_is_stored(self):
        unit = self.unit()
        acc, pid = self.stored_specimen(unit)
        tech = self.login_as("technician")
        sensor = self.login_as("interface")

        r = self.readings(unit, {"celsius": 4.6, "note": "morning check"}, token=tech)
        self.assertEqual((r["recorded"], r["excursions"], r["alert_opened"], r["alert"]),
                         (1, 0, False, None))

        # the sensor pushes a batch: 9.8 degrees is outside [2, 8]
        batch = {"readings": [{"at": iso(-30), "celsius": 7.9, "sensor": "T-17"},
                              {"at": iso(-25), "celsius": 9.8, "sensor": "T-17"}]}
        r = self.readings(unit, batch, token=sensor)
        self.assertEqual((r["recorded"], r["excursions"], r["alert_opened"]), (2, 1, True))
        alert = r["alert"]
        self.assertEqual((alert["unit"], alert["kind"], alert["status"]),
                         (unit, "refrigerator", "open"))
        self.assertEqual((alert["low"], alert["high"], alert["extreme"]), (2, 8, 9.8))
        self.assertEqual(alert["stored_count"], 1)
        # sent again (no answer reached the sensor): nothing twice
        r = self.readings(unit, batch, token=sensor)
        self.assertEqual((r["recorded"], r["duplicates"], r["alert_opened"]), (0, 2, False))

        # the alert lists what is stored in the refrigerator
        got = self.sample("TemperatureAlert", self.call("GET", "%s/%s" % (ALERTS, alert["id"]),
                                                        token=tech))
        (spec,) = got["stored"]["specimens"]
        self.assertEqual((spec["accession"], spec["patient_id"], spec["tests"]),
                         (acc, pid, ["GLU", "K"]))
        self.assertEqual((spec["rack"], spec["position"]), ("R2", "B5"))
        self.assertISO(spec["stored_at"])
        self.assertEqual(len(self.audit("equip.temperature.alert.read", entity_id=alert["id"])),
                         1)
        # a biomedical technician sees the specimen, not the patient
        biomed = self.login_as("biomed")
        seen = self.call("GET", "%s/%s" % (ALERTS, alert["id"]), token=biomed).json
        self.assertIsNone(seen["stored"]["specimens"][0]["patient_id"])
        self.assertEqual(seen["stored"]["specimens"][0]["accession"], acc)

        # the specimen is moved; more readings join the alert; back in range it stays open
        self.call("POST", "/api/v1/specimens/%s/events" % acc, {"event": "retrieved"})
        r = self.readings(unit, {"readings": [
            {"at": iso(-20), "celsius": 11.5, "sensor": "T-17"},
            {"at": iso(-15), "celsius": 6.0, "sensor": "T-17"}]}, token=sensor)
        self.assertEqual((r["excursions"], r["alert_opened"]), (1, False))
        self.assertEqual(r["alert"]["id"], alert["id"])
        got = self.call("GET", "%s/%s" % (ALERTS, alert["id"])).json
        self.assertEqual((got["status"], got["readings"], got["extreme"]), ("open", 2, 11.5))
        self.assertEqual(got["stored"]["specimens"][0]["accession"], acc)  # what was there then

        listed = self.sample("TemperatureAlertList", self.call(
            "GET", "%s?status=open&unit=%s" % (ALERTS, unit)))
        self.assertEqual([a["id"] for a in listed["items"]], [alert["id"]])

        # the day's minimum and maximum
        log = self.sample("TemperatureReadings", self.call("GET", "%s/%s/readings" % (UNITS, unit)))
        self.assertEqual(len(log["readings"]), 5)
        self.assertEqual(min(d["min"] for d in log["days"]), 4.6)
        self.assertEqual(max(d["max"] for d in log["days"]), 11.5)
        self.assertEqual(sum(d["excursions"] for d in log["days"]), 2)
        self.assertEqual({x["source"] for x in log["readings"]}, {"manual", "sensor"})

        # closing: a person, with the action and the disposition
        path = "%s/%s/close" % (ALERTS, alert["id"])
        self.refused("POST", path, {"action": "Door seal replaced"}, 400, "missing_field",
                     field="disposition", token=tech)
        self.refused("POST", path, {"action": "a", "disposition": "b"}, 403, "forbidden",
                     token=sensor)
        clinician = self.login_as("clinician")
        self.refused("POST", path, {"action": "a", "disposition": "b"}, 403, "forbidden",
                     token=clinician)
        self.assertEqual(self.call("GET", "%s/%s" % (ALERTS, alert["id"])).json["status"], "open")
        closed = self.sample("TemperatureAlert", self.call("POST", path, {
            "action": "Door seal replaced; back to 5 C within 20 minutes",
            "disposition": "Specimens moved to FRIDGE-3; reagents quarantined"}, token=tech))
        self.assertEqual((closed["status"], closed["disposition"]),
                         ("closed", "Specimens moved to FRIDGE-3; reagents quarantined"))
        self.assertISO(closed["closed_at"])
        self.refused("POST", path, {"action": "a", "disposition": "b"}, 409, "conflict",
                     token=tech)
        (ev,) = self.audit("equip.temperature.alert.close", entity_id=alert["id"])
        self.assertEqual(ev["detail"]["disposition"],
                         "Specimens moved to FRIDGE-3; reagents quarantined")
        self.validate_samples()

    def test_bad_readings_change_nothing(self):
        unit = self.unit(kind="freezer", low=-25, high=-15)
        self.readings(unit, {"celsius": -20})
        path = "%s/%s/readings" % (UNITS, unit)
        cases = [
            ({"readings": [{"at": iso(-5), "celsius": -30},
                           {"at": "2999-01-01T00:00:00Z", "celsius": -20}]}, "invalid",
             "readings[1].at"),
            ({"readings": [{"at": iso(-5), "celsius": "cold"}]}, "invalid", "readings[0].celsius"),
            ({"readings": [{"celsius": -20}]}, "missing_field", "readings[0].at"),
            ({"readings": [{"at": iso(-5), "celsius": -20, "rh": 4}]}, "unknown_field",
             "readings[0].rh"),
            ({"readings": []}, "invalid", "readings"),
            ({"readings": [{"at": iso(-5), "celsius": -20}] * 1001}, "invalid", "readings"),
            ({"celsius": -400}, "invalid", "celsius"),
            ({"note": "no value"}, "missing_field", "celsius"),
        ]
        for body, code, field in cases:
            with self.subTest(field=field):
                self.refused("POST", path, body, 400, code, field=field)
        self.assertEqual(self.count_readings(unit), 1)
        self.assertEqual(self.call("GET", "%s?unit=%s" % (ALERTS, unit)).json["items"], [])
        self.refused("POST", "%s/NO-SUCH-UNIT/readings" % UNITS, {"celsius": 4}, 404,
                     "not_found", field="name")
        self.refused("GET", "%s/NO-SUCH-UNIT/readings" % UNITS, None, 404, "not_found",
                     field="name")
        self.refused("GET", path + "?from=yesterday", None, 400, "invalid", field="from")
        self.refused("GET", ALERTS + "?status=pending", None, 400, "invalid", field="status")
        # who may record and read
        clinician = self.login_as("clinician")
        self.refused("POST", path, {"celsius": -20}, 403, "forbidden", token=clinician)
        self.refused("GET", path, None, 403, "forbidden", token=clinician)
        self.assertEqual(self.count_readings(unit), 1)


class TestWorkOrders(EquipOpsTestCase):
    def order(self, path="", body=None, status=200, token=Ellipsis):
        return self.sample("WorkOrder", self.call("POST", ORDERS + path, body, token=token,
                                                  status=status))

    def test_fault_to_close(self):
        tag = self.asset()
        tech = self.login_as("technician")
        biomed = self.login_as("biomed")
        wo = self.order(body={"asset": tag, "fault": "Error E-231: sample probe crash",
                              "severity": "high"}, status=201, token=tech)
        self.assertEqual((wo["status"], wo["out_of_service"], wo["asset"], wo["severity"]),
                         ("open", True, tag, "high"))
        self.assertEqual(wo["reported_by"], self.call("GET", "/api/v1/session",
                                                      token=tech).json["user"]["username"])
        self.assertEqual(self.asset_status(tag), "out-of-service")
        oid = wo["id"]
        self.order("/%s/entries" % oid, {"kind": "note", "note": "Probe bent"}, 201, tech)
        self.order("/%s/entries" % oid, {"kind": "part", "part_number": "PRB-1102",
                                         "description": "Sample probe", "quantity": 1,
                                         "cost_cents": 48500}, 201, biomed)
        wo = self.order("/%s/entries" % oid, {"kind": "vendor", "vendor": "Beckman Service",
                                              "reference": "SR-55821",
                                              "visit_date": iso()[:10]}, 201, biomed)
        self.assertEqual([e["kind"] for e in wo["entries"]], ["note", "part", "vendor"])
        self.assertEqual(wo["parts_cost_cents"], 48500)
        self.refused("POST", "%s/%s/entries" % (ORDERS, oid), {"kind": "part",
                     "part_number": "X", "description": "d", "quantity": 0, "cost_cents": 1},
                     400, "invalid", field="quantity")

        # a technician reports and notes; return to service and close are for managers
        ret = "%s/%s/return-to-service" % (ORDERS, oid)
        self.refused("POST", ret, {"verified": "v", "outcome": "pass"}, 403, "forbidden",
                     token=tech)
        self.refused("POST", "%s/%s/close" % (ORDERS, oid), {"resolution": "r"}, 409,
                     "conflict", field="id", token=biomed)
        wo = self.order("/%s/return-to-service" % oid, {
            "verified": "Precision run, 20 replicates", "outcome": "fail"}, token=biomed)
        self.assertEqual(wo["status"], "open")
        self.assertEqual(self.asset_status(tag), "out-of-service")
        # the passing verification rests on a calibration of this asset
        cal = self.call("POST", "/api/v1/calibrations", {
            "asset": tag, "external": {"provider": "Beckman Service", "certificate": "CC-2291",
                                       "valid_until": "2099-12-31"},
            "points": [{"name": "probe volume", "unit": "uL", "nominal": 10, "tolerance": 0.5,
                        "as_left": 10.1}]}, token=biomed, status=201).json
        self.refused("POST", ret, {"verified": "v", "outcome": "pass",
                                   "record_id": "01NOSUCHRECORD000000000000"}, 400, "invalid",
                     field="record_id", token=biomed)
        wo = self.order("/%s/return-to-service" % oid, {
            "verified": "Precision run after alignment: CV 1.8 %", "outcome": "pass",
            "record_id": cal["id"]}, token=biomed)
        self.assertEqual((wo["status"], wo["asset_status"]), ("returned", "in-service"))
        self.assertEqual(self.asset_status(tag), "in-service")
        self.assertEqual([(e["outcome"], e.get("record_id")) for e in wo["entries"]
                          if e["kind"] == "verification"], [("fail", None), ("pass", cal["id"])])
        wo = self.order("/%s/close" % oid, {"resolution": "Sample probe replaced"}, token=biomed)
        self.assertEqual(wo["status"], "closed")
        self.refused("POST", "%s/%s/entries" % (ORDERS, oid), {"kind": "note", "note": "n"},
                     409, "conflict", field="id")
        self.assertEqual(self.sample("WorkOrder", self.call("GET", "%s/%s" % (ORDERS, oid))),
                         wo)
        listed = self.sample("WorkOrderList", self.call("GET", "%s?asset=%s&status=closed"
                                                        % (ORDERS, tag)))
        self.assertEqual([x["id"] for x in listed["items"]], [oid])
        self.assertEqual([e["action"] for e in self.audit("equip.asset.status",
                                                          entity_id=wo["asset_id"])],
                         ["equip.asset.status"] * 2)

        # this month: the order counts, a few seconds down at most
        month = iso()[:7]
        av = self.sample("Availability", self.call("GET", "/api/v1/assets/%s/availability"
                                                   "?month=%s" % (tag, month)))
        self.assertEqual(av["work_orders"], [oid])
        self.assertLess(av["downtime_seconds"], 600)
        self.validate_samples()

    def test_availability_of_a_past_month(self):
        tag = self.asset(cls="hematology-analyzer")
        # down from 10 to 12 April 2025: 2 days of 30, 93.33 %
        wo = self.order(body={"asset": tag, "fault": "Flow cell clog", "severity": "critical",
                              "reported_at": "2025-04-10T00:00:00Z"}, status=201)
        self.order("/%s/return-to-service" % wo["id"], {
            "verified": "Background counts and controls in range", "outcome": "pass",
            "at": "2025-04-12T00:00:00Z"})
        # a low-severity order kept it in service: no downtime
        self.order(body={"asset": tag, "fault": "Printer jam", "severity": "low",
                         "reported_at": "2025-04-20T00:00:00Z"}, status=201)
        av = self.sample("Availability", self.call(
            "GET", "/api/v1/assets/%s/availability?month=2025-04" % tag))
        self.assertEqual((av["month_seconds"], av["downtime_seconds"],
                          av["availability_percent"]), (30 * 86400, 2 * 86400, 93.33))
        self.assertEqual(av["work_orders"], [wo["id"]])
        every = self.sample("AvailabilityList", self.call(
            "GET", "/api/v1/equipment/availability?month=2025-04"))
        (mine,) = [x for x in every["items"] if x["asset"] == tag]
        self.assertEqual(mine, av)
        self.assertEqual(self.call("GET", "/api/v1/assets/%s/availability?month=2025-05"
                                   % tag).json["availability_percent"], 100)
        self.refused("GET", "/api/v1/assets/%s/availability?month=2025-13" % tag, None, 400,
                     "invalid", field="month")
        self.refused("GET", "/api/v1/assets/NO-SUCH-TAG/availability?month=2025-04", None, 404,
                     "not_found", field="tag")
        self.validate_samples()

    def test_bad_reports_change_nothing(self):
        tag = self.asset(cls="centrifuge")
        cases = [
            ({"asset": "NO-SUCH-TAG", "fault": "f", "severity": "low"}, "invalid", "asset"),
            ({"asset": tag, "fault": "f", "severity": "urgent"}, "invalid", "severity"),
            ({"asset": tag, "severity": "low"}, "missing_field", "fault"),
            ({"asset": tag, "fault": "f", "severity": "low",
              "reported_at": "2999-01-01T00:00:00Z"}, "invalid", "reported_at"),
        ]
        for body, code, field in cases:
            with self.subTest(field=field):
                self.refused("POST", ORDERS, body, 400, code, field=field)
        self.assertEqual(self.call("GET", "%s?asset=%s" % (ORDERS, tag)).json["items"], [])
        self.assertEqual(self.asset_status(tag), "in-service")
        clinician = self.login_as("clinician")
        self.refused("POST", ORDERS, {"asset": tag, "fault": "f", "severity": "low"}, 403,
                     "forbidden", token=clinician)
        self.refused("GET", ORDERS + "?status=pending", None, 400, "invalid", field="status")
        self.refused("GET", ORDERS + "?asset=NO-SUCH-TAG", None, 400, "invalid", field="asset")
