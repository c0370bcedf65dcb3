"""Audited reads over HTTP (src/auth/auditq.c, the dispatcher in src/http/server.c):
reads sent at once from many connections each leave exactly their own
patient.read event and the chain verifies; a read's event is in the database
before its answer arrives (the server is killed with SIGKILL the moment the
answer is read, and the event is there when it starts again); a read whose
event cannot be written is answered 503 with nothing of the patient in it,
and reads come back once the audit trail takes events again."""

import concurrent.futures
import signal
import sqlite3
import subprocess
import unittest

from tests.system.harness import ServerTestCase, Server, unique
from tests.system.test_lab import patient_body

READERS = 16
READS_EACH = 6


def create_patient(server, token):
    r = server.post("/api/v1/patients", patient_body(), token=token)
    if r.status != 201:
        raise AssertionError("patient not created: %s %r" % (r.status, r.raw[:300]))
    return r.json


def reads_of(server, token, patient_id, action="patient.read"):
    r = server.get("/api/v1/audit?limit=500&action=%s&entity_id=%s" % (action, patient_id),
                   token=token)
    if r.status != 200:
        raise AssertionError("audit list: %s %r" % (r.status, r.raw[:300]))
    return r.json["items"]


class TestConcurrentReads(ServerTestCase):
    def test_each_read_leaves_its_event(self):
        tok = self.server.admin()
        patients = [create_patient(self.server, tok) for _ in range(4)]

        def reader(n):
            got = []
            for k in range(READS_EACH):
                p = patients[(n + k) % len(patients)]
                if k % 2:
                    r = self.server.get("/fhir/R4/Patient/%s" % p["id"], token=tok)
                    got.append((p["id"], r.status, (r.json or {}).get("id")))
                else:
                    r = self.server.get("/api/v1/patients/%s" % p["id"], token=tok)
                    got.append((p["id"], r.status, (r.json or {}).get("id")))
            return got

        with concurrent.futures.ThreadPoolExecutor(READERS) as ex:
            results = [x for part in ex.map(reader, range(READERS)) for x in part]
        self.assertEqual(len(results), READERS * READS_EACH)
        for pid, status, got_id in results:
            self.assertEqual(status, 200)
            self.assertEqual(got_id, pid)
        want = {p["id"]: 0 for p in patients}
        for pid, _, _ in results:
            want[pid] += 1
        for p in patients:
            events = reads_of(self.server, tok, p["id"])
            self.assertEqual(len(events), want[p["id"]], p["id"])
            self.assertEqual({e["actor"] for e in events}, {"admin"})
            self.assertEqual({e["outcome"] for e in events}, {"ok"})
            self.assertEqual(len({e["seq"] for e in events}), want[p["id"]])
        r = self.server.get("/api/v1/audit/verify", token=tok)
        self.assertEqual(r.status, 200, r.raw)
        self.assertIs(r.json["ok"], True, r.json)

    def test_head_is_audited_like_get(self):
        tok = self.server.admin()
        p = create_patient(self.server, tok)
        r = self.server.request("HEAD", "/api/v1/patients/%s" % p["id"], token=tok)
        self.assertEqual(r.status, 200)
        self.assertEqual(len(reads_of(self.server, tok, p["id"])), 1)

    def test_refused_read_is_audited_before_its_answer(self):
        tok = self.server.admin()
        name = unique("bio")
        self.server.create_user(name, "biomed", "password-0001")
        btok = self.server.login(name, "password-0001")
        p = create_patient(self.server, tok)
        r = self.server.get("/api/v1/patients/%s" % p["id"], token=btok)
        self.assertError(r, 403, "forbidden")
        denied = [e for e in self.server.get("/api/v1/audit?limit=500&action=permission.denied"
                                             "&actor=%s" % name, token=tok).json["items"]]
        self.assertEqual(len(denied), 1)
        self.assertEqual(denied[0]["detail"]["method"], "GET")
        self.assertEqual(reads_of(self.server, tok, p["id"]), [])


class TestDurableBeforeAnswer(unittest.TestCase):
    """Each answer is followed at once by SIGKILL: no time for a late commit."""

    def test_event_survives_a_kill_right_after_the_answer(self):
        srv = Server()
        try:
            srv.start()
            tok = srv.login()
            patients = [create_patient(srv, tok) for _ in range(3)]
            for p in patients:
                r = srv.get("/api/v1/patients/%s" % p["id"], token=tok)
                self.assertEqual(r.status, 200)
                self.assertEqual(r.json["mrn"], p["mrn"])
                srv.proc.send_signal(signal.SIGKILL)
                self.assertEqual(srv.stop(), -signal.SIGKILL)
                srv.start()
                tok = srv.login()
                self.assertEqual(len(reads_of(srv, tok, p["id"])), 1, p["id"])
            r = srv.get("/api/v1/audit/verify", token=tok)
            self.assertIs(r.json["ok"], True, r.json)
        finally:
            srv.cleanup()


class TestAuditRefused(ServerTestCase):
    """The audit trail refuses patient.read events for a while (a trigger)."""

    def sql(self, statements):
        db = self.server.db
        if db.kind == "sqlite":
            c = sqlite3.connect(db.path, isolation_level=None, timeout=10)
            try:
                for s in statements["sqlite"]:
                    c.execute(s)
            finally:
                c.close()
        else:
            for s in statements["postgresql"]:
                p = subprocess.run(["psql", db.url, "-v", "ON_ERROR_STOP=1", "-q", "-c", s],
                                   capture_output=True, text=True, timeout=60)
                self.assertEqual(p.returncode, 0, p.stderr)

    def refuse(self, on):
        if on:
            self.sql({
                "sqlite": ["CREATE TRIGGER refuse_reads BEFORE INSERT ON audit_event"
                           " WHEN NEW.action = 'patient.read'"
                           " BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"],
                "postgresql": [
                    "CREATE FUNCTION refuse_reads() RETURNS trigger AS $$ BEGIN"
                    " IF NEW.action = 'patient.read' THEN RAISE EXCEPTION 'refused';"
                    " END IF; RETURN NEW; END $$ LANGUAGE plpgsql",
                    "CREATE TRIGGER refuse_reads BEFORE INSERT ON audit_event"
                    " FOR EACH ROW EXECUTE FUNCTION refuse_reads()"]})
        else:
            self.sql({"sqlite": ["DROP TRIGGER refuse_reads"],
                      "postgresql": ["DROP TRIGGER refuse_reads ON audit_event",
                                     "DROP FUNCTION refuse_reads()"]})

    def test_read_not_shown_without_its_event(self):
        tok = self.server.admin()
        p = create_patient(self.server, tok)
        self.refuse(True)
        try:
            r = self.server.get("/api/v1/patients/%s" % p["id"], token=tok)
            self.assertError(r, 503, "database_unavailable")
            self.assertSecurityHeaders(r, api=True)
            self.assertNotIn(p["mrn"], r.raw.decode("utf-8", "replace"))
            self.assertNotIn(p["family"], r.raw.decode("utf-8", "replace"))
            r = self.server.get("/fhir/R4/Patient/%s" % p["id"], token=tok)
            self.assertEqual(r.status, 503)
            self.assertEqual(r.json["resourceType"], "OperationOutcome")
            self.assertNotIn(p["mrn"], r.raw.decode("utf-8", "replace"))
            # Reads that write no patient.read event are not held up.
            self.assertEqual(self.server.get("/api/v1/catalog", token=tok).status, 200)
        finally:
            self.refuse(False)
        self.assertEqual(reads_of(self.server, tok, p["id"]), [])
        r = self.server.get("/api/v1/patients/%s" % p["id"], token=tok)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json["mrn"], p["mrn"])
        self.assertEqual(len(reads_of(self.server, tok, p["id"])), 1)
        r = self.server.get("/api/v1/audit/verify", token=tok)
        self.assertIs(r.json["ok"], True, r.json)


if __name__ == "__main__":
    unittest.main()
