"""System tests of live events, GET /api/v1/events (src/http/sse.c): a
Server-Sent Events stream read while specimens are received and results
entered, called and released; what each role sees (a clinician no QC, a
biomedical technician no patient results); the devices' events (a sensor's
reading out of range opening a temperature alert and its close, a high-severity
work order taking a device out of service, a tolerance-QC lockout) reaching
the roles that read equipment and not a clinician or an interface account;
care events (a NEWS2 alert raised and acknowledged, a dose above its
reference level and its review) with the patient's id only for those who
read patients; resuming after Last-Event-ID and the reset when the id is
unknown; heartbeats; the stream ending with its session, and not keeping an
idle session alive; a clean stop of the server with streams open."""

import http.client
import json
import os
import queue
import tempfile
import threading
import time

from tests.system.harness import Server, sanitizer_report
from tests.system.test_equip_ops import ALERTS, ORDERS, EquipOpsTestCase
from tests.system.test_lab import LabTestCase, patient_body, unique
from tests.system.test_openapi import node_tool
from tests.system.test_stock import StockTestCase

EVENTS = "/api/v1/events"


class Stream:
    """An SSE client on its own connection: a thread parses the stream into
    events ({"id","event","data"}; comments as {"comment"}) on a queue."""

    def __init__(self, server, token, last_event_id=None, query=""):
        self.conn = http.client.HTTPConnection(server.host, server.port, timeout=60)
        headers = {"Authorization": "Bearer " + token, "Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = str(last_event_id)
        self.conn.request("GET", EVENTS + query, headers=headers)
        self.resp = self.conn.getresponse()
        self.q = queue.Queue()
        self.ended = threading.Event()
        if self.resp.status == 200:
            threading.Thread(target=self._read, daemon=True).start()
        else:
            self.body = self.resp.read()
            self.ended.set()

    def _read(self):
        ev = {}
        try:
            while True:
                line = self.resp.readline()
                if not line:
                    break
                line = line.decode("utf-8").rstrip("\r\n")
                if line == "":
                    if ev:
                        if "data" in ev:
                            ev["data"] = json.loads(ev["data"])
                        self.q.put(ev)
                    ev = {}
                elif line.startswith(":"):
                    self.q.put({"comment": line[1:].strip()})
                else:
                    k, _, v = line.partition(":")
                    ev[k] = v[1:] if v.startswith(" ") else v
        except (OSError, http.client.HTTPException, ValueError):
            pass
        finally:
            self.ended.set()

    def next(self, want=None, timeout=30):
        """The next event (of kind want, skipping others and comments)."""
        deadline = time.time() + timeout
        while True:
            left = deadline - time.time()
            if left <= 0:
                raise AssertionError("no %s event within %ss" % (want or "", timeout))
            try:
                ev = self.q.get(timeout=left)
            except queue.Empty:
                continue
            if want is None or ev.get("event") == want or (want == ":" and "comment" in ev):
                return ev

    def kinds_until(self, last_kind, timeout=30):
        """Kinds of the events up to and including the first of last_kind."""
        kinds = []
        while True:
            ev = self.next(timeout=timeout)
            if "event" in ev:
                kinds.append(ev["event"])
                if ev["event"] == last_kind:
                    return kinds

    def close(self):
        try:
            self.conn.sock.shutdown(2)
        except (OSError, AttributeError):
            pass
        self.conn.close()


class EventsTestCase(LabTestCase):
    def specimen(self, tests, priority="stat"):
        p = self.call("POST", "/api/v1/patients", patient_body(sex="female",
                                                               birth_date="1970-03-03"),
                      status=201).json
        o = self.call("POST", "/api/v1/orders", {
            "patient_id": p["id"], "tests": tests, "priority": priority,
            "clinician": "Dr. Rivera", "reasons": ["E11.9"]}, status=201).json
        return o["specimens"][0]["accession"]

    def receive(self, acc):
        self.call("POST", "/api/v1/specimens/%s/events" % acc, {"event": "collected"})
        self.call("POST", "/api/v1/specimens/%s/events" % acc, {"event": "received"})

    def stream(self, token, **kw):
        s = Stream(self.server, token, **kw)
        self.addCleanup(s.close)
        return s

    def assertMatchSchema(self, schema, bodies):
        """Each body matches the named schema of the server's OpenAPI document (Ajv)."""
        with tempfile.TemporaryDirectory() as tmp:
            doc = os.path.join(tmp, "openapi.json")
            samples = os.path.join(tmp, "samples.json")
            with open(doc, "w") as fh:
                json.dump(self.server.get("/api/v1/openapi.json").json, fh)
            with open(samples, "w") as fh:
                json.dump([{"schema": schema, "body": b} for b in bodies], fh)
            p = node_tool("validate-responses.mjs", doc, samples)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def qc_reject(self):
        """A control far off its target: rejected (1-3s), a lockout opens."""
        inst = "EV-%d" % (time.time_ns() % 10**9)
        m = self.call("POST", "/api/v1/qc/materials", {
            "name": "Control", "manufacturer": "Acme", "lot": "L" + str(time.time_ns()),
            "level": "2", "expires": "2099-01-01",
            "targets": [{"test": "GLU", "instrument": inst, "mean": 100, "sd": 2}]},
            status=201).json
        r = self.call("POST", "/api/v1/qc/results", {
            "material_id": m["id"], "test": "GLU", "instrument": inst, "value": 150},
            status=201).json
        self.assertEqual(r["status"], "rejected")
        return inst


class TestLiveEvents(EventsTestCase):
    def test_results_arrive_while_entered(self):
        tech = self.login_as("technician")
        s = self.stream(tech)
        self.assertEqual(s.resp.status, 200)
        self.assertEqual(s.resp.getheader("Content-Type"), "text/event-stream; charset=utf-8")
        self.assertIn("no-store", s.resp.getheader("Cache-Control"))
        self.assertIn("default-src 'self'", s.resp.getheader("Content-Security-Policy"))
        self.assertEqual(s.next(":")["comment"], "benchside live events")

        acc = self.specimen(["K", "NA"])
        self.receive(acc)
        got = s.next("specimen.event")
        self.assertEqual(got["data"]["accession"], acc)
        self.assertEqual(got["data"]["event"], "collected")
        self.assertEqual(s.next("specimen.event")["data"]["event"], "received")

        entered = self.call("POST", "/api/v1/specimens/%s/results" % acc, {"results": [
            {"code": "K", "value": "7.1"}, {"code": "NA", "value": 140}]}).json["results"]
        by = {r["code"]: r["id"] for r in entered}
        events = []
        while len([e for e in events if e["event"] == "result.entered"]) < 2 or \
                not any(e["event"] == "result.released" for e in events) or \
                not any(e["event"] == "critical.raised" for e in events):
            ev = s.next()
            if "event" in ev:
                events.append(ev)
        k = [e for e in events if e["event"] == "result.entered"
             and e["data"]["result_id"] == by["K"]][0]
        self.assertEqual(k["data"]["accession"], acc)
        self.assertEqual(k["data"]["test"], "K")
        self.assertEqual(k["data"]["flag"], "HH")
        self.assertIs(k["data"]["critical"], True)
        self.assertEqual(k["data"]["priority"], "stat")
        self.assertNotIn("value", k["data"])  # values and names never travel
        self.assertRegex(k["data"]["at"], r"^\d{4}-\d\d-\d\dT")
        (crit,) = [e for e in events if e["event"] == "critical.raised"]
        self.assertEqual(crit["data"]["result_id"], by["K"])
        released = [e for e in events if e["event"] == "result.released"]
        self.assertEqual([e["data"]["result_id"] for e in released], [by["NA"]])
        self.assertEqual(released[0]["data"]["mode"], "auto")
        ids = [int(e["id"]) for e in events]
        self.assertEqual(ids, sorted(ids))
        self.assertEqual(len(set(ids)), len(ids))

        # the call, then the release with the signature
        self.call("POST", "/api/v1/results/%s/critical-call" % by["K"],
                  {"notified": "RN Ada", "read_back": True})
        self.assertEqual(s.next("critical.called")["data"]["result_id"], by["K"])
        self.call("POST", "/api/v1/results/release",
                  {"ids": [by["K"]], "password": "admin-password-0001"})
        rel = s.next("result.released")
        self.assertEqual((rel["data"]["result_id"], rel["data"]["mode"]), (by["K"], "manual"))

        # a refused entry publishes nothing: the next event is the next real one
        self.refused("POST", "/api/v1/specimens/%s/events" % acc, {"event": "collected"},
                     400, "invalid", "event")
        acc2 = self.specimen(["GLU"])
        self.call("POST", "/api/v1/specimens/%s/events" % acc2, {"event": "collected"})
        nxt = s.next("specimen.event")
        self.assertEqual((nxt["data"]["accession"], nxt["data"]["event"]), (acc2, "collected"))

        # every event's data matches the LiveEvent schema of the OpenAPI document
        self.assertMatchSchema("LiveEvent", [e["data"] for e in events + [crit, rel, nxt]])

    def test_each_role_sees_what_it_may_read(self):
        clinician = self.stream(self.login_as("clinician"))
        biomed = self.stream(self.login_as("biomed"))
        tech = self.stream(self.login_as("technician"))
        for s in (clinician, biomed, tech):
            self.assertEqual(s.resp.status, 200)
        inst = self.qc_reject()
        acc = self.specimen(["GLU"])
        self.receive(acc)
        # the technician sees both kinds, in the order they happened
        kinds = tech.kinds_until("specimen.event")
        self.assertEqual(kinds[:2], ["qc.lockout.opened", "qc.rejected"])
        # the biomedical technician: QC, no patients' specimens
        bk = biomed.next("qc.lockout.opened")
        self.assertEqual(bk["data"]["instrument"], inst)
        self.assertIn("1-3s", bk["data"]["reason"])
        rej = biomed.next("qc.rejected")
        self.assertEqual(rej["data"]["test"], "GLU")
        self.assertIn("1-3s", [v["rule"] for v in rej["data"]["violations"]])
        # the clinician: the specimen, no QC
        ck = clinician.kinds_until("specimen.event")
        self.assertEqual(ck, ["specimen.event"])
        # and the biomedical technician saw no specimen: a marker event shows
        # that everything before it was delivered
        self.qc_reject()
        self.assertEqual(biomed.kinds_until("qc.rejected"), ["qc.lockout.opened", "qc.rejected"])

    def test_resume_after_last_event_id(self):
        tech = self.login_as("technician")
        s = self.stream(tech)
        acc = self.specimen(["GLU"])
        self.receive(acc)
        a = s.next("specimen.event")
        b = s.next("specimen.event")
        s.close()
        again = self.stream(tech, last_event_id=a["id"])
        ev = again.next("specimen.event")
        self.assertEqual(ev["id"], b["id"])
        self.assertEqual(ev["data"], b["data"])
        # the same by query parameter (a page that reloads)
        q = self.stream(tech, query="?last_event_id=" + a["id"])
        self.assertEqual(q.next("specimen.event")["id"], b["id"])
        # an id from before this run of the server: told to reload
        old = self.stream(tech, last_event_id=1)
        self.assertEqual(old.next("reset")["data"]["reason"], "events were missed")

    def test_refusals(self):
        r = self.server.get(EVENTS)
        self.assertError(r, 401, "unauthorized")
        r = self.server.get(EVENTS + "?last_event_id=abc", token=self.server.admin())
        self.assertError(r, 400, "invalid", "last_event_id")
        r = self.server.request("GET", EVENTS, token=self.server.admin(),
                                headers={"Last-Event-ID": "-3"})
        self.assertError(r, 400, "invalid", "Last-Event-ID")
        r = self.server.get(EVENTS + "?since=1", token=self.server.admin())
        self.assertError(r, 400, "invalid", "since")
        r = self.server.post(EVENTS, {}, token=self.server.admin())
        self.assertError(r, 405, "method_not_allowed")


class TestCareEvents(EventsTestCase):
    """care.* events: a NEWS2 alert raised and acknowledged, a dose above its
    reference level and its review; care.read reads them, and only those who
    read patients see whose they are. A monitor's set raises its alert from
    the ingest writer's transaction."""

    server_args = ("--mllp", "127.0.0.1:0")

    def vitals(self, pid, **kw):
        body = {"patient_id": pid, "respiration_rate": 23, "spo2": 94, "oxygen": True,
                "systolic_bp": 118, "pulse": 112, "acvpu": "A", "temperature": 37.9}
        body.update(kw)
        return self.call("POST", "/api/v1/care/vitals", body, status=201).json

    def test_news2_alerts_and_doses_above_their_level(self):
        tech = self.stream(self.login_as("technician"))
        biomed = self.stream(self.login_as("biomed"))
        clinician = self.stream(self.login_as("clinician"))
        for s in (tech, biomed, clinician):
            self.assertEqual(s.resp.status, 200)
        p = self.call("POST", "/api/v1/patients", patient_body(), status=201).json
        # a set with nothing to say publishes nothing; NEWS2 7 raises the alert
        self.vitals(p["id"], respiration_rate=16, spo2=97, oxygen=False, pulse=80)
        v = self.vitals(p["id"])
        raised = tech.next("care.news2.raised")
        self.assertEqual({k: x for k, x in raised["data"].items() if k != "at"},
                         {"alert_id": v["alert"]["id"], "vitals_id": v["id"],
                          "patient_id": p["id"], "band": "high", "complete": True})
        # the biomedical technician reads care, not patients: the alert, not whose
        braised = biomed.next("care.news2.raised")
        self.assertEqual(braised["id"], raised["id"])
        self.assertEqual(braised["data"]["alert_id"], v["alert"]["id"])
        self.assertNotIn("patient_id", braised["data"])
        self.call("POST", "/api/v1/care/news2-alerts/%s/acknowledge" % v["alert"]["id"],
                  {"note": "Registrar informed, hourly obs"})
        ack = tech.next("care.news2.acknowledged")
        self.assertEqual((ack["data"]["alert_id"], ack["data"]["patient_id"]),
                         (v["alert"]["id"], p["id"]))
        self.assertEqual(biomed.next("care.news2.acknowledged")["data"],
                         {"at": ack["data"]["at"], "alert_id": v["alert"]["id"]})

        # a head CT above its reference level, and its review
        tag = unique("CT-")
        self.call("POST", "/api/v1/assets", {
            "tag": tag, "class": "ct", "manufacturer": "Maker", "model": "CT 64",
            "serial": unique("SN"), "location": "Radiology", "risk_class": "high",
            "owner": "Imaging"}, status=201)
        proc = self.call("POST", "/api/v1/care/procedures", {
            "patient_id": p["id"], "modality": "ct", "exam": "CT-HEAD", "device": tag,
            "scheduled_at": "2026-11-21T09:00:00Z"}, status=201).json
        path = "/api/v1/care/procedures/" + proc["id"]
        self.call("POST", path + "/preparation", {"answers": [
            {"item": "identity", "answer": "yes"}, {"item": "pregnancy", "answer": "no"}]})
        self.call("POST", path + "/start", {})
        self.call("POST", path + "/dose", {"ctdivol": 60, "dlp": 900}, status=201)
        above = tech.next("care.dose.above-drl")
        self.assertEqual({k: x for k, x in above["data"].items() if k != "at"},
                         {"procedure_id": proc["id"], "patient_id": p["id"], "exam": "CT-HEAD",
                          "modality": "ct"})
        self.assertNotIn("patient_id", biomed.next("care.dose.above-drl")["data"])
        self.call("POST", "/api/v1/care/doses/%s/review" % proc["id"],
                  {"note": "Repeat sequence after motion"})
        reviewed = tech.next("care.dose.reviewed")
        self.assertEqual(reviewed["data"]["procedure_id"], proc["id"])
        # the clinician reads patients, not care: a specimen's event comes,
        # and nothing of care before it
        acc = self.specimen(["GLU"])
        self.call("POST", "/api/v1/specimens/%s/events" % acc, {"event": "collected"})
        self.assertEqual(clinician.kinds_until("specimen.event"), ["specimen.event"])
        self.assertEqual(tech.kinds_until("specimen.event"), ["specimen.event"])
        self.assertMatchSchema("CareEvent", [e["data"] for e in (
            raised, braised, ack, above, reviewed)])

    def test_monitor_alert_over_mllp(self):
        from tests.system.test_care import monitor_sends, new_monitor
        tech = self.stream(self.login_as("technician"))
        p = self.call("POST", "/api/v1/patients", patient_body(), status=201).json
        _, app = new_monitor(self)
        monitor_sends(self, self.server.link_ports()[0], app, p["mrn"], [
            ("150456", "MDC_PULS_OXIM_SAT_O2", "89", "262688^MDC_DIM_PERCENT^MDC"),
            ("151562", "MDC_RESP_RATE", "26", "264928^MDC_DIM_RESP_PER_MIN^MDC")])
        raised = tech.next("care.news2.raised")
        # SpO2 89 (3) + RR 26 (3): 6 or more, medium, from what the monitor measures
        self.assertEqual((raised["data"]["patient_id"], raised["data"]["band"],
                          raised["data"]["complete"]), (p["id"], "medium", False))
        (v,) = self.call("GET", "/api/v1/care/patients/%s/vitals" % p["id"]).json["items"]
        self.assertEqual((raised["data"]["vitals_id"], raised["data"]["alert_id"]),
                         (v["id"], v["alert"]["id"]))


class TestStreamLifetime(EventsTestCase):
    """Heartbeats every second, sessions idle after three."""
    server_args = ("--heartbeat-seconds", "1", "--session-idle-seconds", "3")

    def test_heartbeat_and_sign_out(self):
        tech = self.login_as("technician")
        s = self.stream(tech)
        self.assertEqual(s.next(":")["comment"], "benchside live events")
        self.assertEqual(s.next(":")["comment"], "heartbeat")
        self.assertEqual(self.server.delete("/api/v1/session", token=tech).status, 204)
        ended = s.next("session-ended")
        self.assertIn("ended", ended["data"]["reason"])
        self.assertTrue(s.ended.wait(10), "the stream did not close after session-ended")

    def test_stream_and_background_reads_do_not_keep_a_session(self):
        tech = self.login_as("technician")
        s = self.stream(tech)
        # reads marked X-Background, as the pages' own refreshes are
        while not s.ended.is_set():
            r = self.server.get("/api/v1/session", token=tech,
                                headers={"X-Background": "1"})
            if r.status == 401:
                break
            self.assertEqual(r.status, 200)
            time.sleep(0.5)
        s.next("session-ended", timeout=15)
        r = self.server.get("/api/v1/session", token=tech)
        err = self.assertError(r, 401, "unauthorized")
        self.assertIn("expired", err["message"])


class TestStopWithStreamsOpen(EventsTestCase):
    def test_server_stops_cleanly(self):
        srv = Server(extra_args=("--heartbeat-seconds", "30"))
        self.addCleanup(srv.cleanup)
        srv.start()
        streams = [Stream(srv, srv.admin()) for _ in range(3)]
        for s in streams:
            self.assertEqual(s.resp.status, 200)
            s.next(":")
        self.assertEqual(srv.stop(), 0)
        for s in streams:
            self.assertTrue(s.ended.wait(10))
            s.close()
        self.assertIsNone(sanitizer_report(srv.stderr_text()))


class TestDeviceEvents(EventsTestCase, EquipOpsTestCase):
    def test_device_alerts_reach_who_reads_equipment(self):
        tech = self.stream(self.login_as("technician"))
        biomed = self.stream(self.login_as("biomed"))
        clinician = self.stream(self.login_as("clinician"))
        sensor_token = self.login_as("interface")
        sensor = self.stream(sensor_token)
        unit = self.unit()
        tag = self.asset()

        # a sensor's reading out of range opens the unit's alert
        rec = self.readings(unit, {"celsius": 11.5, "sensor": "probe-1"}, token=sensor_token)
        self.assertTrue(rec["alert_opened"])
        alert_id = rec["alert"]["id"]
        events = []
        for s in (tech, biomed):
            ev = s.next("device.temperature.opened")
            self.assertEqual(ev["data"]["alert_id"], alert_id)
            self.assertEqual(ev["data"]["unit"], unit)
            self.assertNotIn("celsius", ev["data"])  # the page reads the alert itself
            events.append(ev)
        # another reading out of range joins the alert: nothing new to tell
        self.readings(unit, {"celsius": 12.0, "sensor": "probe-1"}, token=sensor_token)
        self.call("POST", "%s/%s/close" % (ALERTS, alert_id),
                  {"action": "door left open; closed", "disposition": "controls moved"})
        self.assertEqual(tech.kinds_until("device.temperature.closed"),
                         ["device.temperature.closed"])

        # a medium fault says nothing; a critical one, at once, with the device out of service
        self.call("POST", ORDERS, {"asset": tag, "fault": "label printer jams",
                                   "severity": "medium"}, status=201)
        wo = self.call("POST", ORDERS, {"asset": tag, "fault": "sample probe crash",
                                        "severity": "critical"}, status=201).json
        kinds = tech.kinds_until("device.work_order.reported")
        self.assertEqual(kinds, ["device.status", "device.work_order.reported"])
        st = biomed.next("device.status")
        self.assertEqual((st["data"]["asset"], st["data"]["status"], st["data"]["from"]),
                         (tag, "out-of-service", "in-service"))
        rep = biomed.next("device.work_order.reported")
        self.assertEqual((rep["data"]["work_order_id"], rep["data"]["asset"],
                          rep["data"]["severity"]), (wo["id"], tag, "critical"))
        self.assertNotIn("fault", rep["data"])
        events += [st, rep]

        # a tolerance check failing locks the device
        chk = self.call("POST", "/api/v1/qc/checks", {
            "device": tag, "code": "PROBE-VOL", "name": "Sample probe volume", "unit": "uL",
            "target": 10, "tolerance": 0.5, "frequency": "24h"}, status=201).json
        res = self.call("POST", "/api/v1/qc/checks/%s/results" % chk["id"], {"value": 11.2},
                        status=201).json
        lock = biomed.next("device.qc.lockout.opened")
        self.assertEqual((lock["data"]["lockout_id"], lock["data"]["check_id"],
                          lock["data"]["device"], lock["data"]["code"]),
                         (res["lockout"], chk["id"], tag, "PROBE-VOL"))
        self.assertEqual(tech.next("device.qc.lockout.opened")["id"], lock["id"])
        events.append(lock)

        # the clinician and the interface account saw none of it: a specimen
        # event, which both may read, is the first thing that reaches them
        acc = self.specimen(["GLU"])
        self.call("POST", "/api/v1/specimens/%s/events" % acc, {"event": "collected"})
        self.assertEqual(clinician.kinds_until("specimen.event"), ["specimen.event"])
        self.assertEqual(sensor.kinds_until("specimen.event"), ["specimen.event"])
        self.assertMatchSchema("DeviceEvent", [e["data"] for e in events])


class TestStockEvents(EventsTestCase, StockTestCase):
    def test_movements_reach_who_reads_supplies(self):
        """A receipt, a lot put in use and taken out of use reach the benches
        that read supplies (stock.*), each naming what changed; a refused
        movement says nothing; a clinician hears none of it."""
        tech = self.stream(self.login_as("technician"))
        clinician = self.stream(self.login_as("clinician"))
        code = self.reagent("GLU")
        lot = unique("L")
        r = self.move("receive", code, lot, quantity=10, location=self.f1, expiry="2099-01-01")
        ev = tech.next("stock.movement")
        self.assertEqual((ev["data"]["lot_id"], ev["data"]["kind"], ev["data"]["item"],
                          ev["data"]["lot"], ev["data"]["quantity"], ev["data"]["location"]),
                         (r["lot"]["id"], "receive", code, lot, "10", self.f1))
        self.move("use", code, lot, quantity=11, location=self.f1, status=409)
        self.put_in_use(code, lot)
        self.assertEqual(tech.kinds_until("stock.reagent.in-use"), ["stock.reagent.in-use"])
        self.call("DELETE", "/api/v1/instruments/%s/reagents/%s" % (self.inst, code))
        ev = tech.next("stock.reagent.out-of-use")
        self.assertEqual((ev["data"]["item"], ev["data"]["instrument"]), (code, self.inst))
        acc = self.specimen(["GLU"])
        self.call("POST", "/api/v1/specimens/%s/events" % acc, {"event": "collected"})
        self.assertEqual(clinician.kinds_until("specimen.event"), ["specimen.event"])
