"""Database faults with SQLite: a writer holding the lock gives 503 database_busy
and leaves nothing half-written; a tampered trail fails /api/v1/audit/verify."""

import sqlite3
import subprocess
import time
import unittest

from tests.system import harness
from tests.system.harness import ServerTestCase, unique


class TestSqliteBusy(ServerTestCase):
    server_kwargs = dict(force_sqlite=True, sqlite_options="?busy_timeout=200")

    def hold_lock(self):
        c = sqlite3.connect(self.server.db.path, isolation_level=None, timeout=0)
        c.execute("BEGIN EXCLUSIVE")
        return c

    def test_busy_then_recover(self):
        tok = self.server.admin()
        name = unique("busy")
        body = {"username": name, "password": "password-123", "role": "technician"}
        def creations():
            r = self.server.get("/api/v1/audit?action=user.create&limit=500", token=tok)
            self.assertEqual(r.status, 200, r.raw)
            return len(r.json["items"])
        before = creations()
        lock = self.hold_lock()
        try:
            t0 = time.time()
            r = self.server.post("/api/v1/users", body, token=tok, timeout=30)
            elapsed = time.time() - t0
            self.assertError(r, 503, "database_busy")
            self.assertSecurityHeaders(r, api=True)
            self.assertLess(elapsed, 10, "busy answer took %.1fs" % elapsed)
            self.assertTrue(self.server.alive())
        finally:
            lock.execute("ROLLBACK")
            lock.close()
        r = self.server.get("/api/v1/users", token=tok)
        self.assertEqual(r.status, 200, r.raw)
        self.assertNotIn(name, [u["username"] for u in r.json["items"]])
        self.assertEqual(creations(), before, "a user.create event for a user never created")
        r = self.server.post("/api/v1/users", body, token=tok)
        self.assertEqual(r.status, 201, r.raw)
        self.assertEqual(creations(), before + 1)
        r = self.server.get("/api/v1/audit/verify", token=tok)
        self.assertEqual(r.status, 200, r.raw)
        self.assertIs(r.json.get("ok"), True, r.json)

    def test_busy_sign_in(self):
        lock = self.hold_lock()
        try:
            r = self.server.post("/api/v1/session", {"username": harness.ADMIN_USER,
                                                     "password": harness.ADMIN_PASSWORD})
            self.assertError(r, 503, "database_busy")
        finally:
            lock.execute("ROLLBACK")
            lock.close()
        self.server.login()

    def test_health_while_busy(self):
        lock = self.hold_lock()
        try:
            r = self.server.get("/api/v1/health")
            self.assertIn(r.status, (200, 503), r.raw)
            if r.status == 503:
                self.assertError(r, 503, "database_busy")
        finally:
            lock.execute("ROLLBACK")
            lock.close()
        self.assertEqual(self.server.get("/api/v1/health").status, 200)


class TestPostgresFaults(ServerTestCase):
    """PostgreSQL only: killed connections are replaced; a vanished database gives
    503 database_unavailable and the server stays up."""

    @classmethod
    def setUpClass(cls):
        if not harness.pg_url():
            raise unittest.SkipTest("BENCHSIDE_TEST_PG not set")
        super().setUpClass()

    def psql(self, sql):
        r = subprocess.run(["psql", harness.pg_url(), "-v", "ON_ERROR_STOP=1", "-Atc", sql],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def test_1_backends_terminated(self):
        tok = self.server.admin()
        self.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '%s'"
                  % self.server.db.pg_name)
        for _ in range(3):
            r = self.server.get("/api/v1/session", token=tok)
            self.assertIn(r.status, (200, 503), r.raw)
            if r.status == 503:
                self.assertError(r, 503, "database_unavailable")
        r = self.server.get("/api/v1/session", token=tok)
        self.assertEqual(r.status, 200, "no recovery after the connections were killed: %r"
                         % r.raw)

    def test_2_database_dropped(self):
        self.psql("DROP DATABASE %s WITH (FORCE)" % self.server.db.pg_name)
        r = self.server.get("/api/v1/health")
        self.assertError(r, 503, "database_unavailable")
        self.assertSecurityHeaders(r, api=True)
        r = self.server.post("/api/v1/session", {"username": harness.ADMIN_USER,
                                                 "password": harness.ADMIN_PASSWORD})
        self.assertError(r, 503, "database_unavailable")
        self.assertTrue(self.server.alive())


class TestAuditTamperLive(ServerTestCase):
    """Tamper with the trail under a running server; /api/v1/audit/verify reports it."""
    server_kwargs = dict(force_sqlite=True)

    def test_verify_reports_tamper(self):
        s = self.server
        tok = s.admin()
        for i in range(4):
            s.create_user(unique("tl"), "technician")
        r = s.get("/api/v1/audit/verify", token=tok)
        self.assertEqual(r.status, 200, r.raw)
        self.assertIs(r.json.get("ok"), True, r.json)
        n = r.json["events"]
        self.assertGreaterEqual(n, 5)
        k = 3
        c = sqlite3.connect(s.db.path, isolation_level=None, timeout=10)
        try:
            c.execute("UPDATE audit_event SET detail = '{\"x\":1}' WHERE seq = ?", (k,))
            self.assertEqual(c.total_changes, 1)
        finally:
            c.close()
        r = s.get("/api/v1/audit/verify", token=tok)
        self.assertEqual(r.status, 200, r.raw)
        self.assertIs(r.json.get("ok"), False, r.json)
        self.assertEqual(r.json.get("seq"), k, r.json)
        self.assertIsInstance(r.json.get("problem"), str)
        self.assertTrue(r.json["problem"])


if __name__ == "__main__":
    unittest.main()
