"""System tests of the worklist, GET /api/v1/worklist (src/lab/worklist.c):
specimens move from to-collect to to-receive, in-progress, to-review and
released as they are handled; STAT before routine; filters by priority,
specimen type, test and instrument; a late specimen says how late; bad
filters name the field; the read is audited; who may read it."""

from tests.system.test_events import EventsTestCase

WL = "/api/v1/worklist"


class TestWorklist(EventsTestCase):
    def stage(self, stage, **filters):
        q = "&".join("%s=%s" % kv for kv in dict(filters, stage=stage).items())
        return self.call("GET", WL + "?" + q).json

    def accessions(self, stage, **filters):
        return [i["accession"] for i in self.stage(stage, **filters)["items"]]

    def test_a_specimen_moves_through_the_stages(self):
        routine = self.specimen(["K", "NA"], priority="routine")
        stat = self.specimen(["GLU"], priority="stat")
        self.assertIn(routine, self.accessions("to-collect"))
        got = self.stage("to-collect")
        item = [i for i in got["items"] if i["accession"] == routine][0]
        self.assertEqual(item["specimen_status"], "pending")
        self.assertEqual(item["specimen_type"], "serum")
        self.assertEqual(sorted(t["code"] for t in item["tests"]), ["K", "NA"])
        self.assertEqual({t["status"] for t in item["tests"]}, {"ordered"})
        self.assertIsNone(item["due_at"])
        self.assertEqual(item["minutes_late"], 0)
        self.assertTrue(item["patient"]["name"].endswith(", Alex"))
        self.assertGreaterEqual(got["counts"]["to-collect"], 2)
        self.assertEqual(set(got["counts"]), {"to-collect", "to-receive", "in-progress",
                                              "to-review", "released"})

        for acc in (routine, stat):
            self.call("POST", "/api/v1/specimens/%s/events" % acc, {"event": "collected"})
        self.assertIn(routine, self.accessions("to-receive"))
        self.assertNotIn(routine, self.accessions("to-collect"))
        for acc in (routine, stat):
            self.call("POST", "/api/v1/specimens/%s/events" % acc, {"event": "received"})
        prog = self.accessions("in-progress")
        # STAT first, whatever the order of receipt
        self.assertLess(prog.index(stat), prog.index(routine))
        item = [i for i in self.stage("in-progress")["items"] if i["accession"] == stat][0]
        self.assertIsNotNone(item["due_at"])
        self.assertIsNotNone(item["received_at"])

        # K critical waits for review, NA is released; the specimen is in both
        self.call("POST", "/api/v1/specimens/%s/results" % routine, {"results": [
            {"code": "K", "value": "7.1"}, {"code": "NA", "value": 140}]})
        rev = [i for i in self.stage("to-review")["items"] if i["accession"] == routine][0]
        (k,) = rev["tests"]
        self.assertEqual((k["code"], k["status"], k["flag"]), ("K", "resulted", "HH"))
        self.assertTrue(k["result_id"])
        rel = [i for i in self.stage("released")["items"] if i["accession"] == routine][0]
        self.assertEqual([t["code"] for t in rel["tests"]], ["NA"])
        self.assertNotIn(routine, self.accessions("in-progress"))

        # filters
        self.assertIn(stat, self.accessions("in-progress", priority="stat"))
        self.assertNotIn(stat, self.accessions("in-progress", priority="routine"))
        self.assertIn(stat, self.accessions("in-progress", test="GLU"))
        self.assertNotIn(stat, self.accessions("in-progress", test="K"))
        self.assertNotIn(stat, self.accessions("in-progress", specimen_type="urine"))
        self.assertIn(stat, self.accessions("in-progress", specimen_type="serum"))
        self.assertEqual(len(self.stage("released", limit=1)["items"]), 1)

        # the read is audited with the accessions shown
        ev = self.audit("specimen.search")[0]
        self.assertEqual(ev["detail"]["stage"], "released")

        # the answers match the OpenAPI document's schema
        self.assertMatchSchema("Worklist", [self.stage(s) for s in (
            "to-collect", "to-receive", "in-progress", "to-review", "released")])

    def test_instrument_filter_follows_the_mappings(self):
        acc = self.specimen(["CBC"], priority="asap")
        self.receive(acc)
        mapped = self.call("GET", "/api/v1/catalog/tests/HGB").json.get("mappings") or []
        if mapped:
            inst = mapped[0]["instrument"]
            self.assertIn(acc, self.accessions("in-progress", instrument=inst))
        self.assertNotIn(acc, self.accessions("in-progress", instrument="NO-SUCH-ANALYZER"))

    def test_late_specimen_says_how_late(self):
        acc = self.specimen(["GLU"], priority="stat")
        self.call("POST", "/api/v1/specimens/%s/events" % acc,
                  {"event": "collected", "at": "2020-01-01T08:00:00Z"})
        self.call("POST", "/api/v1/specimens/%s/events" % acc,
                  {"event": "received", "at": "2020-01-01T08:10:00Z"})
        item = [i for i in self.stage("in-progress")["items"] if i["accession"] == acc][0]
        self.assertTrue(item["due_at"].startswith("2020-01-01T"))
        self.assertGreater(item["minutes_late"], 60 * 24 * 365)

    def test_bad_filters_and_permissions(self):
        self.refused("GET", WL + "?stage=done", None, 400, "invalid", "stage")
        self.refused("GET", WL + "?priority=urgent", None, 400, "invalid", "priority")
        self.refused("GET", WL + "?limit=0", None, 400, "invalid", "limit")
        self.refused("GET", WL + "?ward=3", None, 400, "invalid", "ward")
        self.refused("GET", WL, None, 403, "forbidden", token=self.login_as("biomed"))
        self.assertEqual(self.call("GET", WL, token=self.login_as("clinician")).status, 200)
