"""PostgreSQL going away under a running server: requests answer 503 and
write nothing; when the database is back, the server carries on without a
restart. Runs in the PostgreSQL pass of tests/run.py, on a private PostgreSQL
server of its own (scripts/pg-test-server), so that stopping it harms no other
test."""
import os
import shutil
import subprocess
import tempfile
import unittest

from tests.system.harness import ADMIN_PASSWORD, Server, free_port, pg_url, sanitizer_report, \
    unique

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PG = os.path.join(ROOT, "scripts", "pg-test-server")


def pg(*args):
    p = subprocess.run([PG, *args], capture_output=True, text=True, timeout=180)
    if p.returncode != 0:
        raise AssertionError("pg-test-server %s failed: %s" % (args[0], p.stderr))
    return p.stdout.strip()


@unittest.skipUnless(pg_url(), "PostgreSQL pass only (BENCHSIDE_TEST_PG)")
class TestPostgresOutage(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="bs-pg-outage-")
        base = pg("start", self.dir, str(free_port()))
        self.url = pg("createdb", base, "outage")
        self.server = Server(db_url=self.url)
        self.server.start()

    def tearDown(self):
        try:
            rc = self.server.stop()
            text = self.server.stderr_text()
            self.server.cleanup()
            self.assertIsNone(sanitizer_report(text), "sanitizer report in server stderr")
            self.assertEqual(rc, 0, text[-3000:])
        finally:
            subprocess.run([PG, "stop", self.dir], capture_output=True, timeout=120)
            shutil.rmtree(self.dir, ignore_errors=True)

    def test_outage_answers_503_and_recovers(self):
        srv = self.server
        admin = srv.login()
        before = unique("pre")
        srv.create_user(before, "technician", token=admin)

        pg("pause", self.dir)
        during = unique("dur")
        for method, path, body, token in [
            ("GET", "/api/v1/health", None, None),
            ("POST", "/api/v1/users", {"username": during, "password": "password-0001",
                                       "role": "technician"}, admin),
            ("POST", "/api/v1/session", {"username": "admin", "password": ADMIN_PASSWORD},
             None),
            ("GET", "/api/v1/users", None, admin),
        ]:
            r = srv.request(method, path, body=body, token=token)
            self.assertEqual(r.status, 503, "%s %s during the outage: %r" % (method, path, r.raw))
            self.assertEqual(r.json["error"]["code"], "database_unavailable", r.raw)
            self.assertEqual(r.headers.get("Retry-After"), "1")

        pg("resume", self.dir)
        r = srv.get("/api/v1/health")
        self.assertEqual(r.status, 200, r.raw)
        self.assertEqual(r.json["database"], "postgresql")
        # The session made before the outage still works; nothing of the outage was written.
        r = srv.get("/api/v1/users?limit=200", token=admin)
        self.assertEqual(r.status, 200, r.raw)
        names = {u["username"] for u in r.json["items"]}
        self.assertIn(before, names)
        self.assertNotIn(during, names)
        srv.create_user(during, "technician", token=admin)
        r = srv.get("/api/v1/audit/verify", token=admin)
        self.assertEqual(r.status, 200)
        self.assertTrue(r.json["ok"], r.json)
