"""System tests of the `benchside` command line: exit codes, --help, migrate,
user management, serve's first-run check and `audit verify` against tampering."""

import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
import time
import unittest

from tests.system import harness
from tests.system.harness import (Database, Server, ServerTestCase, free_port, pg_url,
                                  run_cli, unique)

SUBCOMMANDS = [
    ["serve"], ["migrate"], ["version"], ["user"], ["user", "add"], ["user", "passwd"],
    ["user", "disable"], ["user", "unlock"], ["user", "list"], ["audit"],
    ["audit", "verify"],
]


def out(r):
    return (r.stdout or "") + (r.stderr or "")


def names_number(text, n):
    return re.search(r"(?<![0-9])%d(?![0-9])" % n, text) is not None


class CliTestCase(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        harness.require_binary()

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="bs-cli-")
        self.dbs = []

    def tearDown(self):
        for d in self.dbs:
            d.drop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def new_db(self, force_sqlite=False):
        sub = tempfile.mkdtemp(dir=self.tmp)
        d = Database(sub, force_sqlite=force_sqlite)
        self.dbs.append(d)
        return d

    def cli(self, *args, input=None, env=None, cwd=None, timeout=60):
        # never in the repository: a command without --db may create benchside.db in cwd
        r = run_cli(list(args), input=input, env=env, cwd=cwd or self.tmp, timeout=timeout)
        rep = harness.sanitizer_report(r.stderr)
        if rep:
            self.fail("sanitizer report from benchside %s:\n%s" % (" ".join(args), rep))
        return r

    def assertExit(self, r, code, msg=""):
        self.assertEqual(r.returncode, code, "%s\nexit %s\nstdout: %s\nstderr: %s"
                         % (msg, r.returncode, r.stdout[-3000:], r.stderr[-3000:]))

    def add_user(self, url, username, role, password="password-0001", display=None):
        args = ["user", "add", "--db", url, "--username", username, "--role", role]
        if display:
            args += ["--display-name", display]
        args.append("--password-stdin")
        return self.cli(*args, input=password + "\n")


class TestCliBasics(CliTestCase):

    def test_version(self):
        r = self.cli("version")
        self.assertExit(r, 0)
        self.assertRegex(r.stdout, r"\d+\.\d+\.\d+")

    def test_help(self):
        r = self.cli("--help")
        self.assertExit(r, 0)
        self.assertIn("usage", r.stdout.lower())
        for sub in SUBCOMMANDS:
            with self.subTest(sub=" ".join(sub)):
                r = self.cli(*(sub + ["--help"]))
                self.assertExit(r, 0, " ".join(sub))
                self.assertIn("usage", r.stdout.lower(), r.stdout)
                self.assertIn(sub[-1], r.stdout)

    def test_bad_usage(self):
        d = self.new_db()
        for args in (["frobnicate"], ["user", "frobnicate"], ["audit", "frobnicate"],
                     ["migrate", "--bogus"], ["migrate", "--db", d.url, "--bogus"],
                     ["user", "list", "--db", d.url, "--nope"],
                     ["version", "--what"],
                     ["serve", "--db", d.url, "--no-such-option"]):
            with self.subTest(args=args):
                r = self.cli(*args, timeout=30)
                self.assertExit(r, 2, " ".join(args))
                self.assertTrue(r.stderr.strip() or r.stdout.strip(), "no message")

    def test_serve_bad_options(self):
        d = self.new_db()
        self.assertExit(self.add_user(d.url, "admin", "admin"), 0)
        port = "127.0.0.1:%d" % free_port()
        base = ["serve", "--db", d.url, "--http", port]
        for extra in (["--session-idle-seconds", "abc"], ["--session-idle-seconds", "-5"],
                      ["--max-body", "lots"], ["--tls-cert", os.path.join(self.tmp, "c.pem")],
                      ["--tls-key", os.path.join(self.tmp, "k.pem")], ["--threads", "x"]):
            with self.subTest(extra=extra):
                try:
                    r = self.cli(*(base + extra), timeout=30)
                except subprocess.TimeoutExpired:
                    self.fail("serve started despite %s" % extra)
                self.assertExit(r, 2, " ".join(extra))
        for http in ("nonsense", "127.0.0.1:99999", "127.0.0.1:"):
            with self.subTest(http=http):
                try:
                    r = self.cli("serve", "--db", d.url, "--http", http, timeout=30)
                except subprocess.TimeoutExpired:
                    self.fail("serve started on --http %s" % http)
                self.assertIn(r.returncode, (1, 2), out(r))
                self.assertTrue(out(r).strip())

    def test_serve_missing_tls_files(self):
        d = self.new_db()
        self.assertExit(self.add_user(d.url, "admin", "admin"), 0)
        try:
            r = self.cli("serve", "--db", d.url, "--http", "127.0.0.1:%d" % free_port(),
                         "--tls-cert", os.path.join(self.tmp, "none-c.pem"),
                         "--tls-key", os.path.join(self.tmp, "none-k.pem"), timeout=30)
        except subprocess.TimeoutExpired:
            self.fail("serve started without its TLS files")
        self.assertExit(r, 1)
        self.assertIn("none-c.pem", out(r))

    def test_serve_port_in_use(self):
        import socket
        d = self.new_db()
        self.assertExit(self.add_user(d.url, "admin", "admin"), 0)
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        try:
            try:
                r = self.cli("serve", "--db", d.url, "--http",
                             "127.0.0.1:%d" % s.getsockname()[1], timeout=30)
            except subprocess.TimeoutExpired:
                self.fail("serve kept running on a port already in use")
            self.assertExit(r, 1)
            self.assertTrue(out(r).strip())
        finally:
            s.close()

    def test_missing_required_option(self):
        d = self.new_db()
        self.assertExit(self.cli("migrate", "--db", d.url), 0)
        for args in (["user", "add", "--db", d.url, "--role", "admin", "--password-stdin"],
                     ["user", "add", "--db", d.url, "--username", "abc", "--password-stdin"],
                     ["user", "disable", "--db", d.url],
                     ["user", "unlock", "--db", d.url],
                     ["user", "passwd", "--db", d.url, "--password-stdin"],
                     ["migrate", "--db"]):
            with self.subTest(args=args):
                r = self.cli(*args, input="password-0001\n")
                self.assertExit(r, 2, " ".join(args))

    def test_migrate_twice(self):
        d = self.new_db()
        r = self.cli("migrate", "--db", d.url)
        self.assertExit(r, 0)
        r = self.cli("migrate", "--db", d.url)
        self.assertExit(r, 0, "second migrate")
        if d.path:
            c = sqlite3.connect(d.path)
            try:
                names = {row[0] for row in c.execute(
                    "SELECT name FROM sqlite_master WHERE type='table'")}
            finally:
                c.close()
            for t in ("users", "sessions", "audit_event", "audit_head"):
                self.assertIn(t, names)

    def test_default_db_from_env(self):
        path = os.path.join(self.tmp, "env.db")
        r = self.cli("migrate", env={"BENCHSIDE_DB": "sqlite:" + path}, cwd=self.tmp)
        self.assertExit(r, 0)
        self.assertTrue(os.path.exists(path), "BENCHSIDE_DB not used")
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "benchside.db")))

    def test_default_db_in_cwd(self):
        cwd = tempfile.mkdtemp(dir=self.tmp)
        r = self.cli("migrate", cwd=cwd)
        self.assertExit(r, 0)
        self.assertTrue(os.path.exists(os.path.join(cwd, "benchside.db")),
                        os.listdir(cwd))
        r = self.add_user("sqlite:" + os.path.join(cwd, "benchside.db"), "cwduser",
                          "technician")
        self.assertExit(r, 0)
        r = self.cli("user", "list", cwd=cwd)
        self.assertExit(r, 0)
        self.assertIn("cwduser", r.stdout)

    def test_bad_db_url(self):
        for url in ("mysql://x/y", "nonsense", "sqlite:"):
            with self.subTest(url=url):
                r = self.cli("migrate", "--db", url)
                self.assertIn(r.returncode, (1, 2))
                self.assertTrue(out(r).strip())

    def test_unreachable_postgres(self):
        url = "postgresql://benchside@127.0.0.1:%d/nothing?connect_timeout=5" % free_port()
        for args in (["migrate"], ["user", "list"], ["audit", "verify"]):
            with self.subTest(cmd=" ".join(args)):
                r = self.cli(*(args + ["--db", url]))
                self.assertExit(r, 1)
                self.assertTrue(r.stderr.strip())

    def test_user_add_and_list(self):
        d = self.new_db()
        self.assertExit(self.cli("migrate", "--db", d.url), 0)
        self.assertExit(self.add_user(d.url, "alice", "technician", display="Alice A."), 0)
        self.assertExit(self.add_user(d.url, "bob.b", "supervisor"), 0)
        self.assertExit(self.add_user(d.url, "carol-c", "biomed"), 0)
        r = self.add_user(d.url, "alice", "clinician")
        self.assertExit(r, 1, "duplicate")
        self.assertIn("alice", out(r))
        r = self.add_user(d.url, "dave", "wizard")
        self.assertIn(r.returncode, (1, 2), out(r))
        self.assertIn("wizard", out(r))
        r = self.add_user(d.url, "erin", "technician", password="123456789")
        self.assertExit(r, 1, "short password")
        r = self.add_user(d.url, "Bad Name", "technician")
        self.assertIn(r.returncode, (1, 2), out(r))
        r = self.add_user(d.url, "frank", "technician", password="")
        self.assertIn(r.returncode, (1, 2), out(r))
        r = self.cli("user", "list", "--db", d.url)
        self.assertExit(r, 0)
        lines = [ln for ln in r.stdout.splitlines() if ln.strip()]
        for name, role in (("alice", "technician"), ("bob.b", "supervisor"),
                           ("carol-c", "biomed")):
            hit = [ln for ln in lines if re.search(r"(?<![\w.-])%s(?![\w.-])"
                                                   % re.escape(name), ln)]
            self.assertEqual(len(hit), 1, "user %s in list:\n%s" % (name, r.stdout))
            self.assertIn(role, hit[0])
        for name in ("dave", "erin", "frank"):
            self.assertNotIn(name, r.stdout)
        self.assertNotIn("password-0001", r.stdout)

    def test_user_add_password_not_echoed(self):
        d = self.new_db()
        r = self.add_user(d.url, "secretive", "technician", password="very-secret-pw-42")
        self.assertExit(r, 0)
        self.assertNotIn("very-secret-pw-42", out(r))

    def test_user_commands_unknown_user(self):
        d = self.new_db()
        self.assertExit(self.cli("migrate", "--db", d.url), 0)
        for args, inp in ((["user", "disable"], None), (["user", "unlock"], None),
                          (["user", "passwd", "--password-stdin"], "password-0002\n")):
            with self.subTest(cmd=args[1]):
                r = self.cli(*(args[:2] + ["--db", d.url, "--username", "ghost"] + args[2:]),
                             input=inp)
                self.assertExit(r, 1)
                self.assertIn("ghost", out(r))

    def test_serve_without_admin(self):
        d = self.new_db()
        self.assertExit(self.cli("migrate", "--db", d.url), 0)
        self.assertExit(self.add_user(d.url, "tech", "technician"), 0)
        port = free_port()
        try:
            r = self.cli("serve", "--db", d.url, "--http", "127.0.0.1:%d" % port, timeout=30)
        except subprocess.TimeoutExpired:
            self.fail("serve kept running on a database without an admin")
        self.assertExit(r, 1)
        self.assertIn("benchside user add", out(r))

    def test_serve_without_admin_fresh(self):
        d = self.new_db()
        port = free_port()
        try:
            r = self.cli("serve", "--db", d.url, "--http", "127.0.0.1:%d" % port, timeout=30)
        except subprocess.TimeoutExpired:
            self.fail("serve kept running on a database without an admin")
        self.assertExit(r, 1)
        self.assertIn("benchside user add", out(r))


class TestCliAgainstServer(ServerTestCase, CliTestCase):
    """CLI user commands on the database of a running server."""

    def setUp(self):
        CliTestCase.setUp(self)

    def tearDown(self):
        CliTestCase.tearDown(self)

    def test_passwd(self):
        name = unique("cp")
        url = self.server.db_url
        self.assertExit(self.add_user(url, name, "technician", password="first-password-1"), 0)
        self.server.login(name, "first-password-1")
        r = self.cli("user", "passwd", "--db", url, "--username", name, "--password-stdin",
                     input="second-password-2\n")
        self.assertExit(r, 0)
        r = self.server.post("/api/v1/session", {"username": name,
                                                 "password": "first-password-1"})
        self.assertError(r, 401, "bad_credentials")
        self.server.login(name, "second-password-2")
        r = self.cli("user", "passwd", "--db", url, "--username", name, "--password-stdin",
                     input="short\n")
        self.assertExit(r, 1)
        self.server.login(name, "second-password-2")

    def test_disable(self):
        name = unique("cd")
        url = self.server.db_url
        self.assertExit(self.add_user(url, name, "clinician", password="clin-password-1"), 0)
        self.server.login(name, "clin-password-1")
        r = self.cli("user", "disable", "--db", url, "--username", name)
        self.assertExit(r, 0)
        r = self.server.post("/api/v1/session", {"username": name,
                                                 "password": "clin-password-1"})
        self.assertError(r, 403, "account_disabled")

    def test_unlock(self):
        name = unique("cu")
        url = self.server.db_url
        self.assertExit(self.add_user(url, name, "biomed", password="bio-password-1"), 0)
        for i in range(5):
            r = self.server.post("/api/v1/session", {"username": name,
                                                     "password": "wrong-pass-x"})
            self.assertError(r, 401, "bad_credentials")
        r = self.server.post("/api/v1/session", {"username": name,
                                                 "password": "bio-password-1"})
        self.assertError(r, 403, "account_locked")
        r = self.cli("user", "unlock", "--db", url, "--username", name)
        self.assertExit(r, 0)
        self.server.login(name, "bio-password-1")

    def test_list_shows_api_users(self):
        name = unique("cl")
        self.server.create_user(name, "interface")
        r = self.cli("user", "list", "--db", self.server.db_url)
        self.assertExit(r, 0)
        hit = [ln for ln in r.stdout.splitlines() if name in ln]
        self.assertEqual(len(hit), 1, r.stdout)
        self.assertIn("interface", hit[0])
        self.assertTrue([ln for ln in r.stdout.splitlines()
                         if harness.ADMIN_USER in ln and "admin" in ln])

    def test_audit_verify_live_db(self):
        self.server.create_user(unique("av"), "technician")
        r = self.cli("audit", "verify", "--db", self.server.db_url)
        self.assertExit(r, 0)
        self.assertRegex(r.stdout, r"\bOK\b")


class TestAuditVerifyCli(CliTestCase):
    """`benchside audit verify` on an untouched and on tampered SQLite files."""

    @classmethod
    def setUpClass(cls):
        harness.require_binary()
        srv = Server(force_sqlite=True)
        cls.base = tempfile.mkdtemp(prefix="bs-audit-")
        try:
            srv.start()
            for i in range(3):
                srv.create_user("user%d" % i, "technician")
            srv.post("/api/v1/session", {"username": "user0", "password": "wrong-wrong"})
            srv.login("user1", "password-0001")
            srv.stop()
            cls.pristine = os.path.join(cls.base, "pristine.db")
            src = sqlite3.connect(srv.db.path)
            dst = sqlite3.connect(cls.pristine)
            try:
                src.backup(dst)
            finally:
                dst.close()
                src.close()
        finally:
            srv.cleanup()
        c = sqlite3.connect(cls.pristine)
        try:
            cls.seqs = [row[0] for row in c.execute("SELECT seq FROM audit_event ORDER BY seq")]
        finally:
            c.close()
        if len(cls.seqs) < 5:
            raise AssertionError("expected at least 5 audit events, got %s" % cls.seqs)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.base, ignore_errors=True)

    def copy(self):
        p = os.path.join(self.tmp, unique("copy") + ".db")
        shutil.copyfile(self.pristine, p)
        return p

    def sql(self, path, stmt, params=()):
        c = sqlite3.connect(path, isolation_level=None)
        try:
            cur = c.execute(stmt, params)
            self.assertEqual(cur.rowcount, 1, stmt)
        finally:
            c.close()

    def verify(self, path):
        return self.cli("audit", "verify", "--db", "sqlite:" + path)

    @property
    def middle(self):
        return self.seqs[len(self.seqs) // 2]

    def test_untouched(self):
        r = self.verify(self.copy())
        self.assertExit(r, 0)
        self.assertRegex(r.stdout, r"\bOK\b")

    def test_detail_changed(self):
        k = self.middle
        p = self.copy()
        self.sql(p, "UPDATE audit_event SET detail = '{\"x\":1}' WHERE seq = ?", (k,))
        r = self.verify(p)
        self.assertExit(r, 1)
        self.assertTrue(names_number(out(r), k), "seq %d not named in: %s" % (k, out(r)))
        self.assertNotRegex(r.stdout, r"\bOK\b")

    def test_other_fields_changed(self):
        k = self.middle
        for col, val in (("actor", "mallory"), ("outcome", "tampered"), ("at", 0),
                         ("source", "10.0.0.1"), ("hash", "0" * 64)):
            with self.subTest(column=col):
                p = self.copy()
                self.sql(p, "UPDATE audit_event SET %s = ? WHERE seq = ?" % col, (val, k))
                r = self.verify(p)
                self.assertExit(r, 1, col)

    def test_middle_deleted(self):
        k = self.middle
        p = self.copy()
        self.sql(p, "DELETE FROM audit_event WHERE seq = ?", (k,))
        r = self.verify(p)
        self.assertExit(r, 1)
        self.assertTrue(names_number(out(r), k) or names_number(out(r), k + 1),
                        "neither seq %d nor %d named in: %s" % (k, k + 1, out(r)))

    def test_last_deleted(self):
        p = self.copy()
        self.sql(p, "DELETE FROM audit_event WHERE seq = ?", (self.seqs[-1],))
        r = self.verify(p)
        self.assertExit(r, 1)
        self.assertTrue(out(r).strip())

    def test_with_sqlite3_shell(self):
        shell = shutil.which("sqlite3")
        if not shell:
            self.skipTest("sqlite3 command-line shell not installed")
        k = self.middle
        p = self.copy()
        r = subprocess.run([shell, p, "UPDATE audit_event SET detail = '{\"x\":1}' "
                            "WHERE seq = %d;" % k], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.verify(p)
        self.assertExit(r, 1)
        self.assertTrue(names_number(out(r), k), "seq %d not named in: %s" % (k, out(r)))

    def test_missing_file(self):
        p = os.path.join(self.tmp, "no-such.db")
        r = self.verify(p)
        self.assertNotEqual(r.returncode, 0)
        self.assertTrue(out(r).strip(), "no message")

    def test_missing_file_not_created(self):
        p = os.path.join(self.tmp, "not-here.db")
        r = self.verify(p)
        self.assertExit(r, 1)
        self.assertIn("not-here.db", out(r))
        self.assertFalse(os.path.exists(p), "audit verify created the database file")

    def test_missing_directory(self):
        p = os.path.join(self.tmp, "no-such-dir", "x.db")
        r = self.verify(p)
        self.assertNotEqual(r.returncode, 0)
        self.assertTrue(out(r).strip(), "no message")


class TestAuditVerifyPostgres(CliTestCase):
    """The same tamper check on PostgreSQL, with psql (only when BENCHSIDE_TEST_PG is set)."""

    def test_pg_tamper(self):
        if not pg_url():
            self.skipTest("BENCHSIDE_TEST_PG not set")
        srv = Server()
        try:
            srv.start()
            for i in range(3):
                srv.create_user("pguser%d" % i, "technician")
            srv.stop()
            r = self.cli("audit", "verify", "--db", srv.db_url)
            self.assertExit(r, 0)
            self.assertIn("OK", r.stdout)
            q = subprocess.run(["psql", srv.db_url, "-At", "-c",
                                "SELECT seq FROM audit_event ORDER BY seq"],
                               capture_output=True, text=True, timeout=30)
            seqs = [int(x) for x in q.stdout.split()]
            k = seqs[len(seqs) // 2]
            q = subprocess.run(["psql", srv.db_url, "-v", "ON_ERROR_STOP=1", "-c",
                                "UPDATE audit_event SET detail = '{\"x\":1}' WHERE seq = %d"
                                % k], capture_output=True, text=True, timeout=30)
            self.assertEqual(q.returncode, 0, q.stderr)
            r = self.cli("audit", "verify", "--db", srv.db_url)
            self.assertExit(r, 1)
            self.assertTrue(names_number(out(r), k), out(r))
        finally:
            srv.cleanup()


if __name__ == "__main__":
    unittest.main()
