"""System tests of proficiency testing (src/qc/pt.h) over HTTP: an event
with its samples, results submitted (once each, by the due date, or later
with the time they were sent), bad input refused naming the field with
nothing written, grading against the provider's targets with the CLIA limits
by default, scores per analyte (80% or better satisfactory), the signed
corrective action an unsatisfactory analyte needs before the event closes,
and who may do what."""

import datetime

from tests.system.harness import ADMIN_PASSWORD
from tests.system.test_lab import PASSWORD, LabTestCase, unique

EVENTS = "/api/v1/qc/pt/events"


def day(offset=0):
    return (datetime.datetime.now(datetime.timezone.utc).date() +
            datetime.timedelta(days=offset)).isoformat()


GLU_K = [{"sample": "GLU-0%d" % i, "test": "GLU", "instrument": "CHEM-1"} for i in range(1, 6)] + \
    [{"sample": "K-01", "test": "K"}, {"sample": "K-02", "test": "K"}]


class PtTestCase(LabTestCase):
    def event(self, samples, due=None, provider="CAP", token=Ellipsis):
        body = {"provider": provider, "event": unique("2026-A-"), "due_date": due or day(7),
                "samples": samples}
        return self.call("POST", EVENTS, body, token=token, status=201).json

    def submit(self, ev, results, status=201, token=Ellipsis, **kw):
        return self.call("POST", "%s/%s/results" % (EVENTS, ev["id"]),
                         dict({"results": results}, **kw), token=token, status=status).json

    def grade(self, ev, targets, status=200):
        return self.call("POST", "%s/%s/grade" % (EVENTS, ev["id"]), {"targets": targets},
                         status=status).json

    def get(self, ev):
        return self.call("GET", "%s/%s" % (EVENTS, ev["id"])).json

    @staticmethod
    def sample(ev, label):
        (s,) = [x for x in ev["samples"] if x["sample"] == label]
        return s

    @staticmethod
    def score(ev, test):
        (s,) = [x for x in ev["scores"] if x["test"] == test]
        return s

    def supervisor(self):
        name = unique("sup")
        self.server.create_user(name, "supervisor", PASSWORD)
        return name, self.server.login(name, PASSWORD)


class TestPtStory(PtTestCase):
    def test_create_submit_grade_and_correct(self):
        ev = self.event(GLU_K)
        self.assertEqual(ev["status"], "open")
        self.assertEqual(ev["provider"], "CAP")
        self.assertEqual([s["sample"] for s in ev["samples"]],
                         ["GLU-01", "GLU-02", "GLU-03", "GLU-04", "GLU-05", "K-01", "K-02"])
        self.assertEqual(self.sample(ev, "GLU-01")["unit"], "mg/dL")
        self.assertEqual(self.sample(ev, "GLU-01")["instrument"], "CHEM-1")
        self.assertEqual(self.sample(ev, "K-01")["instrument"], "")
        self.assertIsNone(self.sample(ev, "GLU-01")["value"])
        self.assertEqual(ev["scores"], [])
        listed = self.call("GET", EVENTS + "?status=open").json["items"]
        self.assertIn(ev["id"], [x["id"] for x in listed])

        # bad input: refused naming the field, nothing written
        path = "%s/%s/results" % (EVENTS, ev["id"])
        cases = [
            ({"results": [{"sample": "GLU-01", "value": 100},
                          {"sample": "GLU-02", "value": "abc"}]}, "invalid", "results[1].value"),
            ({"results": [{"sample": "GLU-01", "value": 100},
                          {"sample": "GLU-99", "value": 100}]}, "invalid", "results[1].sample"),
            ({"results": [{"sample": "GLU-01", "value": 100},
                          {"sample": "GLU-01", "value": 101}]}, "invalid", "results[1].sample"),
            ({"results": [{"sample": "GLU-01", "value": None}]}, "missing_field",
             "results[0].value"),
            ({"results": [{"sample": "GLU-01", "value": 1, "unit": "mg/dL"}]}, "unknown_field",
             "results[0].unit"),
            ({"results": []}, "invalid", "results"),
            ({"results": [{"sample": "GLU-01", "value": 100}], "sent_at": "soon"}, "invalid",
             "sent_at"),
        ]
        for body, code, field in cases:
            self.refused("POST", path, body, 400, code, field=field)
        got = self.get(ev)
        self.assertEqual([s["value"] for s in got["samples"]], [None] * 7)
        self.assertEqual(self.audit("pt.results.submit", entity_id=ev["id"]), [])

        # the bench submits the glucose results (a number or its decimal text)
        tech = self.login_as("technician")
        ev = self.submit(ev, [{"sample": "GLU-01", "value": 100},
                              {"sample": "GLU-02", "value": "104"},
                              {"sample": "GLU-03", "value": 108},
                              {"sample": "GLU-04", "value": 108.1},
                              {"sample": "GLU-05", "value": 95}], token=tech)
        self.assertEqual(ev["status"], "open")
        self.assertEqual(ev["submitted_count"], 5)
        self.assertEqual(self.sample(ev, "GLU-02")["value"], 104)
        self.assertISO(self.sample(ev, "GLU-02")["submitted_at"])
        # refused twice
        self.refused("POST", path, {"results": [{"sample": "GLU-01", "value": 99}]}, 409,
                     "conflict", field="results[0].sample")
        self.assertEqual(self.sample(self.get(ev), "GLU-01")["value"], 100)
        # grading waits for the results still due
        targets = [{"sample": "GLU-0%d" % i, "target": 100} for i in range(1, 6)] + \
            [{"sample": "K-01", "target": 4.1}, {"sample": "K-02", "target": 4.1}]
        r = self.refused("POST", "%s/%s/grade" % (EVENTS, ev["id"]), {"targets": targets}, 409,
                         "conflict", field="due_date")
        self.assertIn("due", r["message"])
        ev = self.submit(ev, [{"sample": "K-01", "value": 4.4}, {"sample": "K-02", "value": 4.5}],
                         token=tech)
        self.assertEqual(ev["status"], "submitted")

        # the provider's targets: CLIA limits by default (glucose 8% or 6 mg/dL,
        # potassium 0.3 mmol/L)
        self.refused("POST", "%s/%s/grade" % (EVENTS, ev["id"]), {"targets": targets[:6]}, 400,
                     "invalid", field="targets")
        self.refused("POST", "%s/%s/grade" % (EVENTS, ev["id"]), {
            "targets": targets[:6] + [{"sample": "K-02", "target": 4.1, "limit_percent": 0}]},
            400, "invalid", field="targets[6].limit_percent")
        ev = self.grade(ev, targets)
        self.assertEqual(ev["status"], "graded")
        self.assertISO(ev["graded_at"])
        self.assertEqual([self.sample(ev, "GLU-0%d" % i)["acceptable"] for i in range(1, 6)],
                         [True, True, True, False, True])
        g4 = self.sample(ev, "GLU-04")
        self.assertEqual((g4["target"], g4["limit"], g4["limit_percent"], g4["limit_abs"],
                          g4["limit_source"]), (100, 8, 8, 6, "CLIA"))
        self.assertAlmostEqual(g4["difference"], 8.1)
        self.assertEqual([self.sample(ev, k)["acceptable"] for k in ("K-01", "K-02")],
                         [True, False])
        glu, k = self.score(ev, "GLU"), self.score(ev, "K")
        self.assertEqual((glu["graded"], glu["acceptable"], glu["score"], glu["satisfactory"],
                          glu["corrective_action_required"]), (5, 4, 80, True, False))
        self.assertEqual((k["graded"], k["acceptable"], k["score"], k["satisfactory"],
                          k["corrective_action_required"], k["corrective_action"]),
                         (2, 1, 50, False, True, None))
        self.refused("POST", "%s/%s/grade" % (EVENTS, ev["id"]), {"targets": targets}, 409,
                     "conflict", field="id")
        self.refused("POST", path, {"results": [{"sample": "GLU-01", "value": 99}]}, 409,
                     "conflict", field="id")

        # the unsatisfactory analyte needs a supervisor's signed corrective action
        ca = "%s/%s/corrective-actions" % (EVENTS, ev["id"])
        action = {"test": "K", "corrective_action": "Electrode replaced and recalibrated; "
                  "patient potassium results since the last event reviewed",
                  "password": PASSWORD}
        r = self.server.request("POST", ca, body=action, token=tech)
        self.assertEqual(r.status, 403)
        name, sup = self.supervisor()
        self.refused("POST", ca, dict(action, password="wrong-password-1"), 400, "invalid",
                     field="password", token=sup)
        self.refused("POST", ca, dict(action, test="NA"), 400, "invalid", field="test",
                     token=sup)
        self.refused("POST", ca, {"test": "K", "password": PASSWORD}, 400, "missing_field",
                     field="corrective_action", token=sup)
        self.assertEqual(self.get(ev)["status"], "graded")
        done = self.call("POST", ca, action, token=sup, status=201).json
        self.assertEqual(done["status"], "closed")
        self.assertISO(done["closed_at"])
        got = self.score(done, "K")["corrective_action"]
        self.assertEqual((got["text"], got["signed_by"]), (action["corrective_action"], name))
        self.assertISO(got["signed_at"])
        self.refused("POST", ca, action, 409, "conflict", field="id", token=sup)
        self.assertEqual(self.get(ev), done)

        # on the record
        for act, n in (("pt.event.create", 1), ("pt.results.submit", 2), ("pt.event.grade", 1),
                       ("pt.corrective_action", 1), ("pt.event.close", 1)):
            self.assertEqual(len(self.audit(act, entity_id=ev["id"])), n, act)
        listed = self.call("GET", EVENTS + "?status=closed").json["items"]
        (mine,) = [x for x in listed if x["id"] == ev["id"]]
        self.assertEqual((mine["sample_count"], mine["submitted_count"]), (7, 7))
        self.assertNotIn(ev["id"], [x["id"] for x in self.call(
            "GET", EVENTS + "?status=graded").json["items"]])

    def test_all_satisfactory_closes_when_graded(self):
        ev = self.event([{"sample": "HGB-01", "test": "HGB"}, {"sample": "HGB-02", "test": "HGB"}])
        self.submit(ev, [{"sample": "HGB-01", "value": 13.9}, {"sample": "HGB-02", "value": 9.0}])
        # the provider's own limit: 0.5 g/dL, wider than CLIA's 4% of 9.4 (0.376)
        ev = self.grade(ev, [{"sample": "HGB-01", "target": 13.5},
                             {"sample": "HGB-02", "target": 9.4, "limit_abs": 0.5}])
        self.assertEqual(ev["status"], "closed")
        self.assertEqual(self.sample(ev, "HGB-02")["limit_source"], "provider")
        self.assertAlmostEqual(self.sample(ev, "HGB-02")["limit"], 0.5)
        self.assertEqual(self.score(ev, "HGB")["score"], 100)
        # closed: nothing left to sign
        self.refused("POST", "%s/%s/corrective-actions" % (EVENTS, ev["id"]),
                     {"test": "HGB", "corrective_action": "n/a", "password": ADMIN_PASSWORD},
                     409, "conflict", field="id")


class TestPtRules(PtTestCase):
    def test_due_date_and_sent_at(self):
        ev = self.event([{"sample": "NA-01", "test": "NA"}, {"sample": "NA-02", "test": "NA"},
                         {"sample": "NA-03", "test": "NA"}], due=day(-1))
        path = "%s/%s/results" % (EVENTS, ev["id"])
        r = self.refused("POST", path, {"results": [{"sample": "NA-01", "value": 140}]}, 409,
                         "conflict", field="due_date")
        self.assertIn("sent_at", r["message"])
        self.refused("POST", path, {"results": [{"sample": "NA-01", "value": 140}],
                                    "sent_at": day(0) + "T00:00:00Z"}, 400, "invalid",
                     field="sent_at")
        # sent to the provider in time, entered today
        sent = day(-1) + "T15:30:00Z"
        ev = self.submit(ev, [{"sample": "NA-01", "value": 141},
                              {"sample": "NA-02", "value": 146}], sent_at=sent)
        na1 = self.sample(ev, "NA-01")
        self.assertTrue(na1["submitted_at"].startswith(day(-1) + "T15:30:00"))
        self.assertTrue(na1["entered_at"].startswith(day(0)))
        (a,) = self.audit("pt.results.submit", entity_id=ev["id"])
        self.assertTrue(a["detail"]["late_entry"])
        # past the due date a missing result is graded, not acceptable
        ev = self.grade(ev, [{"sample": "NA-0%d" % i, "target": 140} for i in (1, 2, 3)])
        self.assertEqual([self.sample(ev, "NA-0%d" % i)["acceptable"] for i in (1, 2, 3)],
                         [True, False, False])
        self.assertIsNone(self.sample(ev, "NA-03")["value"])
        na = self.score(ev, "NA")
        self.assertEqual((na["graded"], na["acceptable"], na["satisfactory"]), (3, 1, False))
        self.assertAlmostEqual(na["score"], 100 / 3)
        self.assertEqual(ev["status"], "graded")

    def test_bad_events_refused(self):
        def body(**kw):
            b = {"provider": "API", "event": unique("E-"), "due_date": day(30),
                 "samples": [{"sample": "S-01", "test": "GLU"}]}
            b.update(kw)
            return b

        cases = [
            (body(samples=[{"sample": "S-01", "test": "GLU"},
                           {"sample": "S-02", "test": "UCOLOR"}]), "invalid", "samples[1].test"),
            (body(samples=[{"sample": "S-01", "test": "NOPE"}]), "invalid", "samples[0].test"),
            (body(samples=[{"sample": "S-01", "test": "GLU"}, {"sample": "S-01", "test": "K"}]),
             "invalid", "samples[1].sample"),
            (body(samples=[]), "invalid", "samples"),
            (body(due_date="31/12/2030"), "invalid", "due_date"),
            (body(provider=""), "invalid", "provider"),
            (body(lab="x"), "unknown_field", "lab"),
        ]
        before = len(self.call("GET", EVENTS).json["items"])
        for b, code, field in cases:
            self.refused("POST", EVENTS, b, 400, code, field=field)
        self.assertEqual(len(self.call("GET", EVENTS).json["items"]), before)
        dup = body()
        self.call("POST", EVENTS, dup, status=201)
        self.refused("POST", EVENTS, dup, 409, "conflict", field="event")
        self.refused("GET", EVENTS + "/01NOSUCHEVENT0000000000000", None, 404, "not_found",
                     field="id")
        self.refused("POST", EVENTS + "/01NOSUCHEVENT0000000000000/results",
                     {"results": [{"sample": "S-01", "value": 1}]}, 404, "not_found", field="id")
        self.refused("GET", EVENTS + "?status=done", None, 400, "invalid", field="status")
        # a test CLIA sets no limit for needs the provider's
        ev = self.event([{"sample": "MCV-01", "test": "MCV"}], due=day(-2))
        self.refused("POST", "%s/%s/grade" % (EVENTS, ev["id"]),
                     {"targets": [{"sample": "MCV-01", "target": 88}]}, 400, "invalid",
                     field="targets[0].limit_percent")
        self.refused("POST", "%s/%s/grade" % (EVENTS, ev["id"]),
                     {"targets": [{"sample": "MCV-01", "target": 88, "limit_abs": 2}],
                      "note": "x"}, 400, "unknown_field", field="note")
        self.assertEqual(self.get(ev)["status"], "open")

    def test_permissions(self):
        ev = self.event([{"sample": "GLU-01", "test": "GLU"}])
        clin = self.login_as("clinician")
        for method, path, body in (
                ("GET", EVENTS, None),
                ("GET", "%s/%s" % (EVENTS, ev["id"]), None),
                ("POST", EVENTS, {"provider": "CAP", "event": unique("E-"), "due_date": day(3),
                                  "samples": [{"sample": "A", "test": "GLU"}]}),
                ("POST", "%s/%s/results" % (EVENTS, ev["id"]),
                 {"results": [{"sample": "GLU-01", "value": 90}]}),
                ("POST", "%s/%s/grade" % (EVENTS, ev["id"]),
                 {"targets": [{"sample": "GLU-01", "target": 90}]}),
                ("POST", "%s/%s/corrective-actions" % (EVENTS, ev["id"]),
                 {"test": "GLU", "corrective_action": "x", "password": PASSWORD})):
            self.refused(method, path, body, 403, "forbidden", token=clin)
        # the bench submits and reads; it neither registers nor grades
        tech = self.login_as("technician")
        self.refused("POST", EVENTS, {"provider": "CAP", "event": unique("E-"),
                                      "due_date": day(3),
                                      "samples": [{"sample": "A", "test": "GLU"}]},
                     403, "forbidden", token=tech)
        self.refused("POST", "%s/%s/grade" % (EVENTS, ev["id"]),
                     {"targets": [{"sample": "GLU-01", "target": 90}]}, 403, "forbidden",
                     token=tech)
        # biomedical technicians read QC, they do not enter it
        biomed = self.login_as("biomed")
        self.call("GET", "%s/%s" % (EVENTS, ev["id"]), token=biomed)
        self.refused("POST", "%s/%s/results" % (EVENTS, ev["id"]),
                     {"results": [{"sample": "GLU-01", "value": 90}]}, 403, "forbidden",
                     token=biomed)
        self.assertIsNone(self.sample(self.get(ev), "GLU-01")["value"])
        self.submit(ev, [{"sample": "GLU-01", "value": 90}], token=tech)
