"""Faults under load (issue 10, item 4), each in seconds:

- SIGKILL while analyzers flood the MLLP listener with results: after the
  restart every message that was acknowledged is stored with its results,
  and sending everything again (as analyzers do with what got no ACK)
  stores nothing twice;
- SIGKILL while results are being released: each result is released with
  its signature, audit event and outbox row, or not at all, and an answered
  release is never lost;
- PostgreSQL stopped in the middle of a flood (PostgreSQL pass, on a
  private server): HTTP answers 503, the links hold their ACKs, everything
  resumes when it is back and nothing is lost;
- a full disk under SQLite (a small tmpfs; without the right to mount one,
  a file size limit): writes are refused with 503 and change nothing, the
  server stays up, and the database passes PRAGMA integrity_check and the
  audit chain verifies.

The database is read directly (tests/system/cluster.py), round the server
whose answers are under test."""

import errno
import os
import resource
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import threading
import time
import unittest

from tests.system.cluster import ANALYZER, Flood, normal_results, received_specimens, sql_rows, \
    sql_scalar
from tests.system.harness import ADMIN_PASSWORD, Server, free_port, pg_url, run_cli, \
    sanitizer_report, unique
from tests.system.peers import MllpPeer
from tests.system.test_lab import LabTestCase, load_demo
from tests.system.test_pg_outage import PG, pg


def sigkill(server):
    """Kill the server outright (no clean stop) and wait for it."""
    os.kill(server.proc.pid, signal.SIGKILL)
    server.proc.wait(10)
    server.proc = None
    for f in (server._err_f, server._out_f):
        f.close()


def in_list(values):
    return ", ".join("'%s'" % v for v in values)


def assert_each_stored_once(case, db_url, prefix, controls):
    """Every control id of controls accepted once in the journal, and no other
    of prefix."""
    rows = sql_rows(db_url, "SELECT control_id, COUNT(*) FROM messages"
                    " WHERE direction = 'in' AND status = 'accepted'"
                    " AND control_id LIKE '%s%%' GROUP BY control_id" % prefix)
    case.assertEqual({r[0] for r in rows}, set(controls))
    case.assertEqual({r[1] for r in rows}, {"1"}, "a message stored twice")


def flood_wait(cond, timeout):
    """Whether cond() comes true within timeout seconds."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


class TestSigkillDuringIngest(LabTestCase):
    server_args = ("--mllp", "127.0.0.1:0")

    def test_acknowledged_results_survive_once(self):
        s = self.server
        self.call("PUT", "/api/v1/instruments", {"instruments": [ANALYZER]})
        accs = received_specimens(self, 32)
        msgs = [("KR" + acc, normal_results(acc, "KR" + acc)) for acc in accs]
        flood = Flood(s.link_ports()[0], msgs, threads=4, resend=False).start()
        self.assertTrue(flood.wait_acked(6), "no ACKs before the kill")
        sigkill(s)
        flood.stop()
        acked = list(flood.acked)
        self.assertGreaterEqual(len(acked), 6)

        # What was acknowledged is there, with its results, before anything is sent again.
        stored = sql_rows(s.db_url, "SELECT control_id FROM messages WHERE direction = 'in'"
                          " AND status = 'accepted' AND control_id LIKE 'KR%'")
        self.assertLessEqual(set(acked), {r[0] for r in stored})
        acked_accs = [c[2:] for c in acked]
        self.assertEqual(sql_scalar(s.db_url, "SELECT COUNT(*) FROM results r JOIN specimens s"
                                    " ON s.id = r.specimen_id WHERE r.status = 'released'"
                                    " AND s.accession IN (%s)" % in_list(acked_accs)),
                         2 * len(acked))

        # The analyzers send everything again: what had its ACK is a duplicate.
        s.start()
        again = Flood(s.link_ports()[0], msgs, threads=4).start()
        self.assertTrue(again.join(120), "the resent messages were not all answered")
        self.assertEqual(sorted(again.acked), sorted(c for c, _ in msgs))
        assert_each_stored_once(self, s.db_url, "KR", [c for c, _ in msgs])
        dups = sql_rows(s.db_url, "SELECT control_id FROM messages WHERE status = 'duplicate'"
                        " AND control_id LIKE 'KR%'")
        self.assertLessEqual(set(acked), {r[0] for r in dups})
        self.assertEqual(sql_scalar(s.db_url, "SELECT COUNT(*) FROM results r JOIN specimens s"
                                    " ON s.id = r.specimen_id WHERE r.status = 'released'"
                                    " AND s.accession IN (%s)" % in_list(accs)), 2 * len(accs))
        r = self.call("GET", "/api/v1/audit/verify")
        self.assertIs(r.json["ok"], True, r.json)


class TestSigkillDuringRelease(LabTestCase):
    """Results held for review (sodium 151 mmol/L, flagged H) released two at a
    time from four threads; the server is killed after the first release is
    answered."""

    def test_released_whole_or_not_at_all(self):
        s = self.server
        ehr = MllpPeer(answer="AA")
        self.addCleanup(ehr.close)
        self.call("PUT", "/api/v1/instruments", {"instruments": [
            {"name": "EHR-1", "kind": "ehr", "protocol": "hl7", "match": {"application": "EPIC"},
             "send_to": "127.0.0.1:%d" % ehr.port}]})
        ids = []
        for acc in received_specimens(self, 24, tests=("NA",)):
            out = self.call("POST", "/api/v1/specimens/%s/results" % acc,
                            {"results": [{"code": "NA", "value": 151}]}).json["results"]
            self.assertEqual(out[0]["status"], "review")
            ids.append(out[0]["id"])
        token = s.admin()
        pairs = [ids[i:i + 2] for i in range(0, len(ids), 2)]
        answered, lock, first = [], threading.Lock(), threading.Event()

        def releaser():
            while True:
                with lock:
                    if not pairs:
                        return
                    pair = pairs.pop()
                try:
                    r = s.request("POST", "/api/v1/results/release",
                                  body={"ids": pair, "password": ADMIN_PASSWORD}, token=token)
                except OSError:
                    return
                if r.status == 200:
                    with lock:
                        answered.extend(pair)
                    first.set()

        threads = [threading.Thread(target=releaser, daemon=True) for _ in range(4)]
        for t in threads:
            t.start()
        self.assertTrue(first.wait(60), "no release was answered")
        sigkill(s)
        for t in threads:
            t.join(30)

        def state():
            return {r[0]: tuple(r[1:]) for r in sql_rows(s.db_url, (
                "SELECT r.id, r.status,"
                " (SELECT COUNT(*) FROM signatures g WHERE g.result_id = r.id),"
                " (SELECT COUNT(*) FROM audit_event a WHERE a.action = 'result.release'"
                "  AND a.entity_id = r.id),"
                " (SELECT COUNT(*) FROM outbox o WHERE o.result_id = r.id)"
                " FROM results r WHERE r.id IN (%s)") % in_list(ids))}

        after_kill = state()
        self.assertEqual(set(after_kill), set(ids))
        for rid, st in after_kill.items():
            self.assertIn(st, [("released", "1", "1", "1"), ("review", "0", "0", "0")],
                          "result %s half released: %r" % (rid, st))
        for rid in answered:
            self.assertEqual(after_kill[rid][0], "released", "an answered release was lost")

        # After the restart the rest are released, each once.
        s.start()
        token = s.login()
        rest = [rid for rid, st in after_kill.items() if st[0] == "review"]
        if rest:
            r = s.request("POST", "/api/v1/results/release",
                          body={"ids": rest, "password": ADMIN_PASSWORD}, token=token)
            self.assertEqual(r.status, 200, r.raw)
        self.assertEqual(set(state().values()), {("released", "1", "1", "1")})
        r = s.get("/api/v1/audit/verify", token=token)
        self.assertIs(r.json["ok"], True, r.json)


@unittest.skipUnless(pg_url(), "PostgreSQL pass only (BENCHSIDE_TEST_PG)")
class TestPostgresStoppedMidFlood(unittest.TestCase):
    """On a PostgreSQL server of its own, so that stopping it harms no other test."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="bs-pg-flood-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        base = pg("start", self.dir, str(free_port()))
        self.addCleanup(subprocess.run, [PG, "stop", self.dir], capture_output=True,
                        timeout=120)
        self.url = pg("createdb", base, "flood")
        self.server = Server(db_url=self.url, extra_args=("--mllp", "127.0.0.1:0"))
        self.server.start()
        self.token = self.server.login()

    def tearDown(self):
        rc = self.server.stop()
        text = self.server.stderr_text()
        self.server.cleanup()
        self.assertIsNone(sanitizer_report(text), "sanitizer report in server stderr")
        self.assertEqual(rc, 0, text[-3000:])

    def call(self, method, path, body=None, token=Ellipsis, status=200):
        r = self.server.request(method, path, body=body,
                                token=self.token if token is Ellipsis else token)
        self.assertEqual(r.status, status, "%s %s: %r" % (method, path, r.raw[:300]))
        return r

    def test_links_hold_their_acks_and_resume(self):
        s = self.server
        self.call("PUT", "/api/v1/catalog", load_demo())
        self.call("PUT", "/api/v1/instruments", {"instruments": [ANALYZER]})
        accs = received_specimens(self, 24)
        msgs = [("PG" + acc, normal_results(acc, "PG" + acc)) for acc in accs]
        flood = Flood(s.link_ports()[0], msgs, threads=3, retry_pause=0.2,
                      reply_timeout=5).start()
        self.assertTrue(flood.wait_acked(4))

        pg("pause", self.dir)
        try:
            r = s.get("/api/v1/health")
            self.assertEqual((r.status, r.json["error"]["code"]), (503, "database_unavailable"))
            self.assertEqual(r.headers.get("Retry-After"), "1")
            before = flood.unanswered
            # the links close without a reply rather than acknowledge what is not stored
            deadline_ok = flood_wait(lambda: flood.unanswered >= before + 3, 30)
            self.assertTrue(deadline_ok, "the links went on answering without the database")
        finally:
            pg("resume", self.dir)

        self.assertTrue(flood.join(180), "the flood did not finish after the database came back")
        self.assertEqual(sorted(flood.acked), sorted(c for c, _ in msgs))
        assert_each_stored_once(self, self.url, "PG", [c for c, _ in msgs])
        self.assertEqual(sql_scalar(self.url, "SELECT COUNT(*) FROM results WHERE status ="
                                    " 'released'"), 2 * len(accs))
        self.assertEqual(s.get("/api/v1/health").status, 200)
        r = s.get("/api/v1/audit/verify", token=self.token)
        self.assertIs(r.json["ok"], True, r.json)


class FullDisk:
    """A small filesystem for one test: a tmpfs of size_mb when this process
    may mount one, else a folder whose files the server may not grow past
    its size (RLIMIT_FSIZE, inherited from this process while the server
    starts). BENCHSIDE_TEST_FULL_DISK=rlimit forces the second."""

    def __init__(self, size_mb):
        self.dir = tempfile.mkdtemp(prefix="bs-full-")
        self.mounted = False
        self.limit = None
        if os.environ.get("BENCHSIDE_TEST_FULL_DISK") != "rlimit" and os.geteuid() == 0:
            p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%dm" % size_mb, "tmpfs",
                                self.dir], capture_output=True, text=True, timeout=30)
            self.mounted = p.returncode == 0

    def fill(self):
        """Take every free byte of the tmpfs; returns how many were written."""
        n = 0
        with open(os.path.join(self.dir, "filler"), "wb", buffering=0) as f:
            chunk = b"\0" * 65536
            while True:
                try:
                    wrote = f.write(chunk)
                    if not wrote:
                        break
                    n += wrote
                except OSError as e:
                    if e.errno != errno.ENOSPC:
                        raise
                    break
        return n

    def free(self):
        os.remove(os.path.join(self.dir, "filler"))

    def close(self):
        if self.mounted:
            subprocess.run(["umount", "-l", self.dir], capture_output=True, timeout=30)
        shutil.rmtree(self.dir, ignore_errors=True)


@unittest.skipIf(pg_url(), "SQLite's disk: runs in the SQLite pass")
class TestFullDisk(unittest.TestCase):
    def setUp(self):
        self.disk = FullDisk(8)
        self.addCleanup(self.disk.close)
        self.url = "sqlite:" + os.path.join(self.disk.dir, "t.db")
        self.server = Server(db_url=self.url)
        self.addCleanup(self.server.cleanup)

    def start_limited(self):
        """Start the server able to grow its files by a little only."""
        sizes = [os.path.getsize(os.path.join(self.disk.dir, f))
                 for f in os.listdir(self.disk.dir)]
        soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        resource.setrlimit(resource.RLIMIT_FSIZE, (max(sizes) + 256 * 1024, hard))
        try:
            self.server.start()
        finally:
            resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))

    def test_writes_refused_cleanly(self):
        s = self.server
        if self.disk.mounted:
            s.start()
        else:
            self.start_limited()
        token = s.login()
        made = unique("kept")
        s.create_user(made, "technician", token=token)
        if self.disk.mounted:
            self.assertGreater(self.disk.fill(), 0)

        refused, statuses = [], []
        for i in range(40):
            name = unique("full")
            r = s.request("POST", "/api/v1/users", body={"username": name, "password":
                                                          "password-0001", "role": "technician"},
                          token=token)
            statuses.append(r.status)
            self.assertIn(r.status, (201, 503), r.raw)
            if r.status == 503:
                self.assertEqual(r.json["error"]["code"], "database_unavailable", r.raw)
                refused.append(name)
        self.assertTrue(refused, "no write was refused on a full disk: %r" % statuses)
        self.assertTrue(s.alive())
        self.assertEqual(s.get("/api/v1/health").status, 200)
        r = s.get("/api/v1/users?limit=200", token=token)
        self.assertEqual(r.status, 200, r.raw)
        names = {u["username"] for u in r.json["items"]}
        self.assertIn(made, names)
        self.assertFalse(names & set(refused), "a refused write was kept")

        if self.disk.mounted:
            # space again: writes go on without a restart
            self.disk.free()
            s.create_user(unique("after"), "technician", token=token)
        self.assertEqual(s.stop(), 0, s.stderr_text()[-3000:])
        self.assertIsNone(sanitizer_report(s.stderr_text()))
        con = sqlite3.connect(os.path.join(self.disk.dir, "t.db"))
        try:
            self.assertEqual(con.execute("PRAGMA integrity_check").fetchall(), [("ok",)])
        finally:
            con.close()
        p = run_cli(["audit", "verify", "--db", self.url])
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("audit trail OK", p.stdout)


if __name__ == "__main__":
    unittest.main()
