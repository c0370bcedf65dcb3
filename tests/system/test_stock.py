"""System tests of supplies (src/stock/stock.h) over HTTP: items, receiving,
use, transfer and a physical count summed into quantity on hand; bad input
refused naming the field with nothing written; reagent lots put in use on an
analyzer and consumed by its results (entered with the instrument, and sent
over HL7 MLLP); the reagent-lot gate that holds results measured with an
unverified or expired lot, judged by the lot that measured them; alerts,
the reorder list, who may do what, and the answers against the OpenAPI
document's schemas. Rules: docs/supplies.md."""

import datetime
import json
import os
import shutil
import tempfile

from tests.system.harness import ADMIN_PASSWORD, run_cli
from tests.system.test_lab import LabTestCase, unique
from tests.system.test_links import MllpClient, msa, oul
from tests.system.test_openapi import node_tool

MOVES = "/api/v1/stock/movements"


def day(offset=0):
    return (datetime.datetime.now(datetime.timezone.utc).date() +
            datetime.timedelta(days=offset)).isoformat()


class StockTestCase(LabTestCase):
    """Two refrigerators and an analyzer of this class's own."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        srv, token = cls.server, cls.server.admin()
        cls.f1, cls.f2 = unique("FRIDGE-"), unique("FRIDGE-")
        for name in (cls.f1, cls.f2):
            r = srv.post("/api/v1/storage-units", {"name": name, "kind": "refrigerator",
                                                   "low": 2, "high": 8}, token=token)
            if r.status != 201:
                raise AssertionError("storage unit: %s %r" % (r.status, r.raw[:300]))
        cls.inst = unique("CHEM-")
        cls.app = unique("APP")
        r = srv.request("PUT", "/api/v1/instruments", token=token, body={"instruments": [
            {"name": cls.inst, "kind": "analyzer", "protocol": "hl7",
             "match": {"application": cls.app}}]})
        if r.status != 200:
            raise AssertionError("instrument: %s %r" % (r.status, r.raw[:300]))

    # -- helpers
    def items(self, *items, status=200, token=Ellipsis):
        return self.call("PUT", "/api/v1/stock/items", {"items": list(items)}, token=token,
                         status=status).json

    def move(self, kind, item, lot, status=201, token=Ellipsis, **kw):
        return self.call("POST", MOVES, dict(kind=kind, item=item, lot=lot, **kw),
                         token=token, status=status).json

    def lot(self, lot_id):
        return self.call("GET", "/api/v1/stock/lots/" + lot_id).json

    def put_in_use(self, item, lot, status=200, **kw):
        return self.call("PUT", "/api/v1/instruments/%s/reagents" % self.inst,
                         dict(item=item, lot=lot, **kw), status=status).json

    def verify(self, item, lot, accepted=True, status=201, token=Ellipsis, **kw):
        body = dict(item=item, lot=lot, samples=20, mean_difference=-0.6, bias_percent=-0.7,
                    criterion="|bias| <= 3% at two levels", accepted=accepted, **kw)
        return self.call("POST", "/api/v1/stock/verifications", body, token=token,
                         status=status).json

    def reagent(self, test, uses=0.5, **kw):
        code = unique("R-")
        self.items(dict({"code": code, "name": "Reagent for " + test, "kind": "reagent",
                         "unit": "mL", "reorder_point": 5, "reorder_quantity": 50,
                         "open_stability_days": 28, "tests": [test], "uses_per_test": uses},
                        **kw))
        return code

    def specimen(self, tests):
        """A received specimen of tests for a new patient: its accession."""
        p = self.create_patient(birth_date="1970-05-05")
        order = self.call("POST", "/api/v1/orders", {
            "patient_id": p["id"], "tests": tests, "priority": "routine",
            "clinician": "Dr. Stock", "reasons": ["R73.09"]}, status=201).json
        acc = order["specimens"][0]["accession"]
        for ev in ("collected", "received"):
            self.call("POST", "/api/v1/specimens/%s/events" % acc, {"event": ev})
        return acc

    def result(self, test, value, instrument=Ellipsis):
        acc = self.specimen([test])
        item = {"code": test, "value": value}
        if instrument is not None:
            item["instrument"] = self.inst if instrument is Ellipsis else instrument
        return self.call("POST", "/api/v1/specimens/%s/results" % acc,
                         {"results": [item]}).json["results"][0]

    def release(self, rid, status=200):
        return self.call("POST", "/api/v1/results/release",
                         {"ids": [rid], "password": ADMIN_PASSWORD}, status=status).json

    def get_result(self, rid):
        return self.call("GET", "/api/v1/results/" + rid).json

    @staticmethod
    def at(lot, location):
        return {x["location"]: x["quantity"] for x in lot["locations"]}.get(location, 0)


class TestMovements(StockTestCase):
    def test_receive_use_transfer_count(self):
        """The worked example: receive 10 boxes, use 3, transfer 2 keeps 7 on hand
        (5 + 2); a count of 4 at the first refrigerator records -1: 6 on hand."""
        code = unique("SST-")
        written = self.items({"code": code, "name": "SST tube 5 mL", "kind": "tube",
                              "unit": "box", "supplier": "BD", "catalogue_number": "367986",
                              "reorder_point": 5, "reorder_quantity": 20})["items"]
        self.assertEqual(written[0]["code"], code)
        self.assertEqual(written[0]["on_hand"], 0)
        lot = unique("T")
        r = self.move("receive", code, lot, quantity=10, location=self.f1, expiry="2099-12-31")
        lot_id = r["lot"]["id"]
        self.assertEqual(r["lot"]["status"], "available")
        self.assertEqual(r["lot"]["on_hand"], 10)
        self.assertEqual(r["movements"][0]["quantity"], 10)
        self.assertEqual(self.move("use", code, lot, quantity=3, location=self.f1)["lot"]
                         ["on_hand"], 7)
        r = self.move("transfer", code, lot, quantity=2, **{"from": self.f1, "to": self.f2})
        self.assertEqual(r["lot"]["on_hand"], 7)
        self.assertEqual((self.at(r["lot"], self.f1), self.at(r["lot"], self.f2)), (5, 2))
        self.assertEqual([m["quantity"] for m in r["movements"]], [-2, 2])
        r = self.move("count", code, lot, counted=4, location=self.f1, note="monthly count")
        self.assertEqual(r["movements"][0]["quantity"], -1)  # the adjustment
        self.assertEqual(r["movements"][0]["counted"], 4)
        self.assertEqual(r["lot"]["on_hand"], 6)
        self.assertEqual((self.at(r["lot"], self.f1), self.at(r["lot"], self.f2)), (4, 2))

        detail = self.lot(lot_id)
        self.assertEqual([m["kind"] for m in detail["movements"]],
                         ["count", "transfer", "transfer", "use", "receive"])
        self.assertEqual(sum(m["quantity"] for m in detail["movements"]), detail["on_hand"])
        listed = self.call("GET", "%s?lot=%s&kind=transfer" % (MOVES, lot_id)).json["items"]
        self.assertEqual(len(listed), 2)
        item = self.call("GET", "/api/v1/stock/items/" + code).json
        self.assertEqual(item["on_hand"], 6)
        self.assertEqual([x["lot"] for x in item["lots"]], [lot])
        at_f2 = self.call("GET", "/api/v1/stock/lots?location=" + self.f2).json["items"]
        self.assertIn(lot_id, [x["id"] for x in at_f2])
        events = self.audit("stock.movement", entity_id=lot_id)
        self.assertEqual(len(events), 4)
        self.assertEqual({e["detail"]["kind"] for e in events},
                         {"receive", "use", "transfer", "count"})

    def test_bad_input_is_refused_and_nothing_changes(self):
        code = unique("GLV-")
        self.items({"code": code, "name": "Gloves M", "kind": "ppe", "unit": "box",
                    "reorder_point": 2, "reorder_quantity": 10})
        lot = unique("G")
        lot_id = self.move("receive", code, lot, quantity=5, location=self.f1,
                           expiry="2099-01-31")["lot"]["id"]
        old = unique("OLD")
        old_id = self.move("receive", code, old, quantity=4, location=self.f1,
                           expiry="2020-06-30", at="2020-01-02")["lot"]["id"]
        base = {"item": code, "lot": lot, "location": self.f1}
        cases = [
            (dict(base, kind="use", quantity=6), 409, "conflict", "quantity"),      # negative
            (dict(base, kind="dispose", quantity=9, reason="wet"), 409, "conflict", "quantity"),
            (dict(base, kind="use", quantity=0), 400, "invalid", "quantity"),
            (dict(base, kind="use", quantity=-2), 400, "invalid", "quantity"),
            (dict(base, kind="use", quantity=1, at="2099-01-01T00:00:00Z"), 400, "invalid",
             "at"),
            (dict(base, kind="use", quantity=1, location="NO-SUCH-FRIDGE"), 400, "invalid",
             "location"),
            (dict(base, kind="use", quantity=1, lot=old), 409, "conflict", "lot"),  # expired
            (dict(base, kind="count", counted=4, lot=old), 409, "conflict", "lot"),
            (dict(base, kind="receive", quantity=1, lot=unique("N"), expiry="2020-01-01"), 400,
             "invalid", "expiry"),
            (dict(base, kind="dispose", quantity=1), 400, "missing_field", "reason"),
            (dict(base, kind="use", quantity=1, reason="x"), 400, "unknown_field", "reason"),
            (dict(base, kind="borrow", quantity=1), 400, "invalid", "kind"),
        ]
        before = [len(self.lot(x)["movements"]) for x in (lot_id, old_id)]
        audit_before = len(self.audit("stock.movement"))
        for body, status, code_, field in cases:
            self.refused("POST", MOVES, body, status, code_, field)
        self.assertEqual([len(self.lot(x)["movements"]) for x in (lot_id, old_id)], before)
        self.assertEqual(len(self.audit("stock.movement")), audit_before)
        self.assertEqual(self.lot(lot_id)["on_hand"], 5)
        # the expired lot may still be disposed of
        r = self.move("dispose", code, old, quantity=4, location=self.f1, reason="expired")
        self.assertEqual(r["lot"]["status"], "disposed")
        # items: the field at fault is named, nothing written
        self.refused("PUT", "/api/v1/stock/items", {"items": [
            {"code": unique("X-"), "name": "x", "kind": "reagent", "unit": "mL",
             "reorder_point": 1, "reorder_quantity": 1, "tests": ["GLU"]}]}, 400, "invalid",
            "items[0].uses_per_test")
        self.refused("PUT", "/api/v1/stock/items", {"items": [
            {"code": code, "name": "x", "kind": "tube", "unit": "box",
             "reorder_point": 1, "reorder_quantity": 1}]}, 409, "conflict", "items[0].kind")
        self.assertEqual(self.call("GET", "/api/v1/stock/items/" + code).json["kind"], "ppe")

    def test_import_items_from_the_command_line(self):
        code = unique("CLI-")
        tmp = tempfile.mkdtemp(prefix="benchside-items-")
        self.addCleanup(shutil.rmtree, tmp, True)
        good, bad = os.path.join(tmp, "items.json"), os.path.join(tmp, "bad.json")
        with open(good, "w") as fh:
            json.dump({"items": [{"code": code, "name": "Lancets", "kind": "phlebotomy-supply",
                                  "unit": "box", "reorder_point": 2, "reorder_quantity": 8}]}, fh)
        with open(bad, "w") as fh:
            json.dump({"items": [{"code": unique("CLI-"), "name": "x", "kind": "lancet",
                                  "unit": "box", "reorder_point": 2, "reorder_quantity": 8}]}, fh)
        p = run_cli(["import", "items", good, "--db", self.server.db_url])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("imported 1 item(s) of supplies", p.stdout)
        self.assertEqual(self.call("GET", "/api/v1/stock/items/" + code).json["reorder_quantity"],
                         8)
        p = run_cli(["import", "items", bad, "--db", self.server.db_url])
        self.assertEqual(p.returncode, 1)
        self.assertIn("items[0].kind", p.stderr)

    def test_who_may_do_what(self):
        code = unique("SWB-")
        self.items({"code": code, "name": "Swabs", "kind": "phlebotomy-supply", "unit": "box",
                    "reorder_point": 1, "reorder_quantity": 5})
        tech, biomed, clin = (self.login_as(r) for r in ("technician", "biomed", "clinician"))
        self.move("receive", code, "S1", token=tech, quantity=2, location=self.f1,
                  expiry="2099-01-01")
        self.refused("PUT", "/api/v1/stock/items", {"items": []}, 403, "forbidden", token=tech)
        self.refused("POST", "/api/v1/stock/verifications", {}, 403, "forbidden", token=tech)
        self.call("GET", "/api/v1/stock/alerts", token=biomed)
        self.refused("POST", MOVES, {"kind": "use"}, 403, "forbidden", token=biomed)
        self.refused("GET", "/api/v1/stock/items", None, 403, "forbidden", token=clin)
        self.refused("GET", "/api/v1/stock/items", None, 401, "unauthorized", token=None)


class TestReagentLotGate(StockTestCase):
    server_args = ("--mllp", "127.0.0.1:0")

    def test_unverified_lot_holds_what_it_measured(self):
        """A result measured with an unverified lot is held, and stays held when a
        verified lot is put in use (the lot at the time of measurement counts); the
        verified lot's results are released; accepting the first lot's verification
        releases what it measured."""
        code = self.reagent("GLU")
        a, b = unique("A"), unique("B")
        lot_a = self.move("receive", code, a, quantity=10, location=self.f1,
                          expiry="2099-01-01")["lot"]
        self.assertEqual(lot_a["status"], "quarantine")
        use = self.put_in_use(code, a)
        self.assertEqual([x["lot"] for x in use["in_use"] if x["item"] == code], [a])
        self.assertEqual(len(use["warnings"]), 1)
        self.assertIn("not verified", use["warnings"][0])

        r1 = self.result("GLU", 90)
        self.assertEqual(r1["status"], "review")
        (hold,) = [h for h in r1["holds"] if h["code"] == "reagent-lot"]
        self.assertIn(code, hold["message"])
        self.assertIn("lot %s" % a, hold["message"])
        self.assertIn("not verified", hold["message"])
        self.assertEqual(self.lot(lot_a["id"])["on_hand"], 9.5)
        used = self.call("GET", "%s?lot=%s&kind=use" % (MOVES, lot_a["id"])).json["items"]
        self.assertEqual([(m["result_id"], m["instrument"], m["quantity"]) for m in used],
                         [(r1["id"], self.inst, -0.5)])
        # a hard hold: a person cannot release it either
        held = self.release(r1["id"], status=409)["held"]
        self.assertEqual([x["code"] for x in held[0]["reasons"]], ["reagent-lot"])

        # lot B verified against A and put in use: A is taken out of use
        self.move("receive", code, b, quantity=10, location=self.f2, expiry="2099-06-01")
        v = self.verify(code, b, compared_lot=a)
        self.assertEqual(v["lot"]["status"], "verified")
        self.assertEqual(v["verification"]["compared_lot"], a)
        self.assertEqual(v["released"], [])
        use = self.put_in_use(code, b)
        self.assertEqual(use["warnings"], [])
        self.assertEqual([(x["lot"], x["location"]) for x in use["in_use"] if x["item"] == code],
                         [(b, self.f2)])
        self.assertEqual([x["lot"] for x in use["history"] if x["item"] == code], [a])
        r2 = self.result("GLU", 88)
        self.assertEqual(r2["status"], "released")
        # r1 was measured with A: still held
        self.release(r1["id"], status=409)
        self.assertEqual(self.get_result(r1["id"])["status"], "review")

        # A's verification accepted: r1 is released at once
        v = self.verify(code, a)
        self.assertEqual(v["released"], [r1["id"]])
        r1 = self.get_result(r1["id"])
        self.assertEqual((r1["status"], r1["release_mode"]), ("released", "auto"))
        self.assertEqual(len(self.audit("stock.verification", entity_id=lot_a["id"])), 1)
        self.refused("POST", "/api/v1/stock/verifications", {
            "item": code, "lot": a, "samples": 5, "mean_difference": 0, "criterion": "c",
            "accepted": True}, 409, "conflict", "lot")

    def test_expired_lot_holds_for_good(self):
        """Expiry is judged at the time of measurement: a good lot put in use
        afterwards does not release what the expired one measured."""
        code = self.reagent("K", uses=1)
        old, new = unique("O"), unique("N")
        self.move("receive", code, old, quantity=50, location=self.f1, expiry="2020-06-30",
                  at="2020-01-02")
        self.verify(code, old)
        use = self.put_in_use(code, old)
        self.assertIn("expired on 2020-06-30", use["warnings"][0])
        r1 = self.result("K", 4.1)
        self.assertEqual(r1["status"], "review")
        (hold,) = [h for h in r1["holds"] if h["code"] == "reagent-lot"]
        self.assertIn("expired on 2020-06-30", hold["message"])
        self.release(r1["id"], status=409)

        self.move("receive", code, new, quantity=50, location=self.f1, expiry="2099-01-01")
        self.verify(code, new, compared_lot=old)
        self.put_in_use(code, new)
        self.assertEqual(self.result("K", 4.2)["status"], "released")
        self.release(r1["id"], status=409)
        self.assertEqual(self.get_result(r1["id"])["status"], "review")
        alerts = self.call("GET", "/api/v1/stock/alerts").json["items"]
        self.assertIn((code, old), [(x["item"], x.get("lot")) for x in alerts
                                    if x["kind"] == "expired"])

    def test_results_over_hl7_consume_the_lot_in_use(self):
        code = self.reagent("NA", uses=0.25)
        lot = unique("L")
        lot_id = self.move("receive", code, lot, quantity=1, location=self.f1,
                           expiry="2099-01-01")["lot"]["id"]
        self.verify(code, lot)
        self.put_in_use(code, lot)
        ports = self.server.link_ports()
        if not ports or not ports[0]:
            self.skipTest("no MLLP listener")
        for i in range(5):  # five tests of 0.25 mL from 1 mL: the books go to -0.25
            acc = self.specimen(["NA"])
            c = MllpClient(ports[0])
            try:
                code_, _control, err = msa(c.send(oul(acc, [("NA", "140", "mmol/L")],
                                                      app=self.app)))
            finally:
                c.close()
            self.assertEqual(code_, "AA", err)
        used = self.call("GET", "%s?lot=%s&kind=use" % (MOVES, lot_id)).json["items"]
        self.assertEqual(len(used), 5)
        self.assertTrue(all(m["instrument"] == self.inst and m["result_id"] for m in used))
        self.assertTrue(all(self.get_result(m["result_id"])["status"] == "released"
                            for m in used))
        self.assertEqual(self.lot(lot_id)["on_hand"], -0.25)
        alerts = self.call("GET", "/api/v1/stock/alerts").json["items"]
        (disc,) = [x for x in alerts if x["kind"] == "discrepancy" and x["lot_id"] == lot_id]
        self.assertEqual((disc["location"], disc["on_hand"]), (self.f1, -0.25))
        # by hand the books cannot go lower; a count sets them right
        self.refused("POST", MOVES, {"kind": "use", "item": code, "lot": lot, "quantity": 0.25,
                                     "location": self.f1}, 409, "conflict", "quantity")
        r = self.move("count", code, lot, counted=0, location=self.f1)
        self.assertEqual(r["movements"][0]["quantity"], 0.25)
        self.assertEqual(r["lot"]["status"], "depleted")
        alerts = self.call("GET", "/api/v1/stock/alerts").json["items"]
        self.assertFalse([x for x in alerts if x["kind"] == "discrepancy" and
                          x["lot_id"] == lot_id])


class TestAlertsAndReorder(StockTestCase):
    def test_temperature_excursion_lists_the_lots_stored_there(self):
        """A refrigerator out of its limits opens an alert that lists the lots with
        stock in it (stock_lots_at), not those moved out."""
        unit = unique("FRIDGE-")
        self.call("POST", "/api/v1/storage-units", {"name": unit, "kind": "refrigerator",
                                                    "low": 2, "high": 8}, status=201)
        code = self.reagent("ALB", uses=0.01)
        kept, moved = unique("K"), unique("M")
        self.move("receive", code, kept, quantity=5, location=unit, expiry="2099-03-31")
        self.move("receive", code, moved, quantity=2, location=unit, expiry="2099-04-30")
        self.move("transfer", code, moved, quantity=2, **{"from": unit, "to": self.f1})
        r = self.call("POST", "/api/v1/storage-units/%s/readings" % unit, {"celsius": 9.8},
                      status=201).json
        self.assertTrue(r["alert_opened"])
        alert = self.call("GET", "/api/v1/temperature/alerts/" + r["alert"]["id"]).json
        self.assertEqual([(x["item"], x["lot"], x["expiry"], x["quantity"])
                          for x in alert["stored"]["lots"]], [(code, kept, "2099-03-31", 5)])

    def test_alerts_reorder_and_schemas(self):
        supplier = unique("Acme ")
        low, ok = unique("LOW-"), unique("OK-")
        self.items({"code": low, "name": "Cuvettes", "kind": "other", "unit": "box",
                    "supplier": supplier, "catalogue_number": "CUV-1", "reorder_point": 5,
                    "reorder_quantity": 10},
                   {"code": ok, "name": "Controls", "kind": "control", "unit": "mL",
                    "supplier": supplier, "reorder_point": 2, "reorder_quantity": 4,
                    "open_stability_days": 7, "tests": ["GLU"]})
        self.move("receive", low, "C1", quantity=3, location=self.f2, expiry="2099-01-01")
        soon = day(10)
        self.move("receive", ok, "Q1", quantity=6, location=self.f1, expiry=soon)
        alerts = self.call("GET", "/api/v1/stock/alerts?days=30").json["items"]
        mine = [(x["kind"], x["item"]) for x in alerts if x["item"] in (low, ok)]
        self.assertIn(("reorder-point", low), mine)
        self.assertIn(("expiring", ok), mine)
        self.assertNotIn(("reorder-point", ok), mine)  # 6 > 2
        alerts5 = self.call("GET", "/api/v1/stock/alerts?days=5").json["items"]
        self.assertNotIn(("expiring", ok), [(x["kind"], x["item"]) for x in alerts5])
        self.refused("GET", "/api/v1/stock/alerts?days=-1", None, 400, "invalid", "days")
        reorder = self.call("GET", "/api/v1/stock/reorder").json["suppliers"]
        (group,) = [g for g in reorder if g["supplier"] == supplier]
        self.assertEqual([(x["item"], x["on_hand"], x["order_quantity"]) for x in group["items"]],
                         [(low, 3, 10)])

        # the answers of every supplies route against the document's schemas
        self.verify(ok, "Q1")
        samples = []

        def add(schema, path, method="GET", body=None, status=200):
            samples.append({"schema": schema,
                            "body": self.call(method, path, body, status=status).json})

        add("StockItemList", "/api/v1/stock/items")
        add("StockItem", "/api/v1/stock/items/" + ok)
        add("StockLotList", "/api/v1/stock/lots?item=" + ok)
        lot_id = samples[-1]["body"]["items"][0]["id"]
        add("StockLotDetail", "/api/v1/stock/lots/" + lot_id)
        add("StockMovementRecorded", MOVES, "POST", {
            "kind": "use", "item": ok, "lot": "Q1", "quantity": 0.5, "location": self.f1},
            status=201)
        add("StockMovementList", MOVES + "?limit=5")
        add("StockVerificationList", "/api/v1/stock/verifications?item=" + ok)
        add("StockAlertList", "/api/v1/stock/alerts")
        add("StockReorder", "/api/v1/stock/reorder")
        add("StockItemList", "/api/v1/stock/items", "PUT", {"items": [
            {"code": unique("RG-"), "name": "r", "kind": "reagent", "unit": "mL",
             "reorder_point": 1, "reorder_quantity": 2, "tests": ["GLU"],
             "uses_per_test": 0.1}]})
        code = samples[-1]["body"]["items"][0]["code"]
        self.move("receive", code, "R1", quantity=5, location=self.f1, expiry="2099-01-01")
        add("StockVerificationRecorded", "/api/v1/stock/verifications", "POST", {
            "item": code, "lot": "R1", "samples": 10, "mean_difference": 0.1,
            "criterion": "c", "accepted": True}, status=201)
        add("StockReagents", "/api/v1/instruments/%s/reagents" % self.inst, "PUT",
            {"item": code, "lot": "R1"})
        add("StockReagents", "/api/v1/instruments/%s/reagents" % self.inst)
        add("StockReagents", "/api/v1/instruments/%s/reagents/%s" % (self.inst, code), "DELETE")
        doc = self.call("GET", "/api/v1/openapi.json").json
        tmp = tempfile.mkdtemp(prefix="benchside-stock-")
        try:
            with open(os.path.join(tmp, "doc.json"), "w") as fh:
                json.dump(doc, fh)
            with open(os.path.join(tmp, "samples.json"), "w") as fh:
                json.dump(samples, fh)
            p = node_tool("validate-responses.mjs", os.path.join(tmp, "doc.json"),
                          os.path.join(tmp, "samples.json"))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("%d of %d" % (len(samples), len(samples)), p.stdout)
