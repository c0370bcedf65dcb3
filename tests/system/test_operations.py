"""Operations (issue 10, items 5 and 7): /metrics in the Prometheus text
format and who may read it; every log line one JSON object, each request's
carrying its id; `benchside doctor` on a good site, on a site in use and on
a broken one; `benchside backup` while the server writes, and `benchside
restore` into a new database that `benchside audit verify` accepts."""

import json
import os
import re
import socket
import subprocess
import threading
import time

import sqlite3

from tests.system.cluster import ANALYZER, Flood, normal_results, received_specimens, sql_rows, \
    sql_scalar
from tests.system.harness import Database, pg_url, run_cli, unique
from tests.system.test_lab import LabTestCase

# One sample line of the text format: name{labels} value
SAMPLE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)'
                       r'(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*\})?'
                       r' (-?[0-9.e+-]+|NaN|\+Inf)$')


def fresh_database(case, tmpdir, name):
    """The URL of a new, empty database beside the server's (a new PostgreSQL
    database in the PostgreSQL pass), dropped when the test ends."""
    if not pg_url():
        return "sqlite:" + os.path.join(tmpdir, name + ".db")
    db = Database(tmpdir)
    case.addCleanup(db.drop)
    return db.url


def parse_metrics(text):
    """{name: {labels: value}} and {name: type} from the text format; every
    line must be a comment, a sample or empty, and every family typed."""
    samples, types = {}, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            types[name] = kind
        elif line.startswith("# HELP ") or not line:
            continue
        else:
            m = SAMPLE_RE.match(line)
            if not m:
                raise AssertionError("not a sample line: %r" % line)
            samples.setdefault(m.group(1), {})[m.group(2) or ""] = float(m.group(3))
    return samples, types


class TestMetrics(LabTestCase):
    server_args = ("--mllp", "127.0.0.1:0")

    def wait_for_value(self, fn, want, timeout=10):
        """fn() once it is want, or its last value after timeout seconds."""
        deadline = time.time() + timeout
        v = fn()
        while v != want and time.time() < deadline:
            time.sleep(0.1)
            v = fn()
        return v

    def metrics(self, token=Ellipsis, path="/metrics"):
        r = self.server.request("GET", path, token=self.server.admin() if token is Ellipsis
                                else token)
        self.assertEqual(r.status, 200, r.raw[:300])
        self.assertEqual(r.headers.get("Content-Type"), "text/plain; version=0.0.4; charset=utf-8")
        return parse_metrics(r.raw.decode("utf-8"))

    def test_who_may_read(self):
        r = self.server.get("/metrics")
        self.assertError(r, 401, "unauthorized")
        allowed = {"admin": True, "supervisor": True, "interface": True, "technician": False,
                   "biomed": False, "clinician": False}
        for role, ok in allowed.items():
            token = self.login_as(role)
            for path in ("/metrics", "/api/v1/metrics"):
                r = self.server.get(path, token=token)
                if ok:
                    self.assertEqual(r.status, 200, (role, r.raw[:200]))
                else:
                    self.assertError(r, 403, "forbidden", msg=role)
        denied = self.audit("permission.denied", entity_id="/api/v1/metrics")
        self.assertTrue(denied, "a refused read of /metrics is audited like any other")

    def test_figures(self):
        s = self.server
        before, types = self.metrics()
        self.assertEqual(types["benchside_http_requests_total"], "counter")
        self.assertEqual(types["benchside_http_request_duration_seconds"], "histogram")
        self.assertEqual(types["benchside_outbox_pending"], "gauge")
        self.assertGreater(before["process_resident_memory_bytes"][""], 1e6)

        # requests by route (the pattern, never the path) and status
        acc = received_specimens(self, 1, tests=("NA", "K"))[0]
        self.call("GET", "/api/v1/specimens/" + acc)
        self.call("GET", "/api/v1/users/nosuchuser", status=404)
        # a critical potassium opens an alert; a normal sodium is released to the EHR outbox
        self.call("PUT", "/api/v1/instruments", {"instruments": [
            ANALYZER, {"name": "EHR-1", "kind": "ehr", "protocol": "hl7",
                       "match": {"application": "EPIC"}, "send_to": "127.0.0.1:9"}]})
        self.call("POST", "/api/v1/specimens/%s/results" % acc,
                  {"results": [{"code": "K", "value": 7.2}, {"code": "NA", "value": 140}]})
        # three messages from an analyzer: two stored, one a duplicate
        others = received_specimens(self, 2)
        flood = Flood(s.link_ports()[0], [("M" + a, normal_results(a, "M" + a)) for a in others]
                      + [("M" + others[0], normal_results(others[0], "M" + others[0]))],
                      threads=1).start()
        self.assertTrue(flood.join(60))

        after, _ = self.metrics()
        req = after["benchside_http_requests_total"]
        self.assertEqual(req['{method="GET",route="/api/v1/specimens/{accession}",status="200"}'],
                         before["benchside_http_requests_total"].get(
                             '{method="GET",route="/api/v1/specimens/{accession}",status="200"}',
                             0) + 1)
        self.assertEqual(req['{method="GET",route="/api/v1/users/{id}",status="404"}'], 1)
        self.assertFalse([k for k in req if acc in k], "a path, not a pattern, became a label")
        lat = after["benchside_http_request_duration_seconds_count"]
        self.assertGreaterEqual(lat['{method="POST",route="/api/v1/patients"}'], 3)
        inf = after["benchside_http_request_duration_seconds_bucket"]
        self.assertEqual(inf['{method="POST",route="/api/v1/patients",le="+Inf"}'],
                         lat['{method="POST",route="/api/v1/patients"}'])
        msgs = after["benchside_messages_in_total"]
        self.assertEqual(msgs['{protocol="hl7",status="accepted"}'], 2)
        self.assertEqual(msgs['{protocol="hl7",status="duplicate"}'], 1)
        pending = sql_scalar(s.db_url, "SELECT COUNT(*) FROM outbox WHERE status = 'pending'")
        self.assertGreaterEqual(pending, 5)  # NA here, and two of each message
        self.assertEqual(after["benchside_outbox_pending"]['{kind="result"}'], pending)
        self.assertEqual(after["benchside_alerts_open"]['{kind="critical"}'],
                         sql_scalar(s.db_url, "SELECT COUNT(*) FROM critical_alerts"
                                    " WHERE closed_at IS NULL"))
        self.assertGreaterEqual(after["benchside_alerts_open"]['{kind="critical"}'], 1)
        self.assertEqual(after["benchside_qc_lockouts_open"]['{kind="westgard"}'], 0)
        # the flood's connection is closed: none held now, and one while a sender holds one
        self.assertEqual(types["benchside_link_connections"], "gauge")
        with socket.create_connection(("127.0.0.1", s.link_ports()[0])):
            held = self.wait_for_value(lambda: self.metrics()[0]["benchside_link_connections"]
                                       ['{transport="mllp"}'], 1)
        self.assertEqual(held, 1)
        self.assertEqual(after["benchside_link_connections"]['{transport="astm-tcp"}'], 0)

    def test_logs_are_json_with_request_ids(self):
        r = self.server.get("/api/v1/health", headers={})
        rid = r.headers.get("X-Request-Id")
        self.assertTrue(rid)
        r = self.server.post("/api/v1/session", {"username": "admin", "password": "wrong"})
        self.assertEqual(r.status, 401)
        bad = r.json["error"]["request_id"]
        # a request's line is written when it has been answered: wait for it
        want = {rid, bad} if os.environ.get("BENCHSIDE_LOG", "info") in ("info", "debug") \
            else set()
        deadline = time.time() + 10
        while True:
            lines = [ln for ln in self.server.stderr_text().splitlines() if ln.strip()]
            parsed = [json.loads(ln) for ln in lines]  # each line one JSON object
            if want <= {p.get("id") for p in parsed} or time.time() > deadline:
                break
            time.sleep(0.05)
        for p in parsed:
            self.assertIn("t", p)
            self.assertIn("level", p)
            self.assertIn("node", p)
        self.assertLessEqual(want, {p.get("id") for p in parsed})


class TestDoctor(LabTestCase):
    def doctor(self, *args):
        p = run_cli(["doctor", "--db", self.server.db_url, "--mllp", "off", "--astm", "off",
                     *args], timeout=120)
        lines = {ln.split()[1]: ln.split()[0] for ln in p.stdout.splitlines()
                 if len(ln.split()) > 2 and ln.split()[0] in ("ok", "WARN", "FAIL", "skip")}
        return p, lines

    def test_a_site_in_use(self):
        # the server runs: its port is taken, which is a warning, not a failure
        p, lines = self.doctor("--http", "127.0.0.1:%d" % self.server.port, "--full")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(lines["database"], "ok")
        self.assertEqual(lines["schema"], "ok")
        self.assertEqual(lines["admin"], "ok")
        self.assertEqual(lines["audit"], "ok")
        self.assertEqual(lines["clock"], "ok")
        self.assertEqual(lines["http"], "WARN")
        self.assertIn("in use", p.stdout)
        self.assertEqual(lines["tls"], "skip")
        self.assertRegex(p.stdout, r"doctor: \d+ ok, 1 warning\(s\), 0 failed")

    def test_broken_site(self):
        p = run_cli(["doctor", "--db", "sqlite:/nonexistent/dir/x.db", "--http", "127.0.0.1:0",
                     "--mllp", "off", "--astm", "off", "--tls-cert", "/nonexistent.pem",
                     "--tls-key", "/nonexistent.key"])
        self.assertEqual(p.returncode, 1, p.stdout)
        self.assertRegex(p.stdout, r"FAIL\s+database\s+no database at /nonexistent/dir/x.db")
        self.assertRegex(p.stdout, r"skip\s+schema")
        self.assertRegex(p.stdout, r"FAIL\s+tls\s+cannot read /nonexistent.pem")
        p = run_cli(["doctor", "--bogus"])
        self.assertEqual(p.returncode, 2)

    def test_tls_files(self):
        tmp = self.server.tmpdir
        cert, key, other = (os.path.join(tmp, n) for n in ("c.pem", "k.pem", "o.pem"))
        for days, c, k in ((400, cert, key), (10, os.path.join(tmp, "soon.pem"), other)):
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                            "-keyout", k, "-out", c, "-days", str(days), "-subj", "/CN=bench"],
                           capture_output=True, check=True, timeout=60)
        p, lines = self.doctor("--http", "127.0.0.1:0", "--tls-cert", cert, "--tls-key", key)
        self.assertEqual(lines["tls"], "ok", p.stdout)
        self.assertIn("certificate and key match", p.stdout)
        p, lines = self.doctor("--http", "127.0.0.1:0", "--tls-cert", cert, "--tls-key", other)
        self.assertEqual((p.returncode, lines["tls"]), (1, "FAIL"), p.stdout)
        self.assertIn("is not the certificate's", p.stdout)
        p, lines = self.doctor("--http", "127.0.0.1:0", "--tls-cert",
                               os.path.join(tmp, "soon.pem"), "--tls-key", other)
        self.assertEqual((p.returncode, lines["tls"]), (0, "WARN"), p.stdout)
        self.assertIn("renew it", p.stdout)

    def test_tampered_trail_fails(self):
        s = self.server
        # a copy of the site whose last audit event is changed
        bak = os.path.join(s.tmpdir, "t.bak")
        target = fresh_database(self, s.tmpdir, "tampered")
        r = run_cli(["backup", bak, "--db", s.db_url])
        self.assertEqual(r.returncode, 0, r.stderr)
        r = run_cli(["restore", bak, "--db", target])
        self.assertEqual(r.returncode, 0, r.stderr)
        last = sql_scalar(target, "SELECT MAX(seq) FROM audit_event")
        tamper = "UPDATE audit_event SET actor = 'mallory' WHERE seq = %d" % last
        if target.startswith("sqlite:"):
            con = sqlite3.connect(target[len("sqlite:"):])
            con.execute(tamper)
            con.commit()
            con.close()
        else:
            subprocess.run(["psql", target, "-X", "-q", "-c", tamper], check=True,
                           capture_output=True, timeout=60)
        p = run_cli(["doctor", "--db", target, "--http", "127.0.0.1:0", "--mllp", "off",
                     "--astm", "off"])
        self.assertEqual(p.returncode, 1, p.stdout)
        self.assertRegex(p.stdout, r"FAIL\s+audit\s+BROKEN at event %d" % last)


class TestBackupRestore(LabTestCase):
    def test_online_backup_restores_and_verifies(self):
        s = self.server
        tok = s.admin()
        kept = [s.create_user(unique("bk"), "technician")["username"] for _ in range(3)]
        accs = received_specimens(self, 2)
        # writes go on while the backup is taken
        stop = threading.Event()
        made = []

        def writer():
            while not stop.is_set():
                name = unique("live")
                r = s.post("/api/v1/users", {"username": name, "password": "password-0001",
                                             "role": "technician"}, token=tok)
                if r.status == 201:
                    made.append(name)

        t = threading.Thread(target=writer, daemon=True)
        t.start()
        bak = os.path.join(s.tmpdir, "site.bak")
        try:
            r = run_cli(["backup", bak, "--db", s.db_url], timeout=120)
        finally:
            stop.set()
            t.join(30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("backed up", r.stdout)
        self.assertTrue(made, "nothing was written during the backup")
        self.assertFalse(os.path.exists(bak + ".part"))
        # a backup never overwrites
        r = run_cli(["backup", bak, "--db", s.db_url])
        self.assertEqual(r.returncode, 2)
        self.assertIn("exists already", r.stderr)

        target = fresh_database(self, s.tmpdir, "restored")
        r = run_cli(["restore", bak, "--db", target], timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("restored", r.stdout)
        r = run_cli(["audit", "verify", "--db", target], timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        events = int(re.search(r"OK: (\d+) events", r.stdout).group(1))
        self.assertGreater(events, 10)
        # what was there before the backup is there; the copy is one moment's
        names = {row[0] for row in sql_rows(target, "SELECT username FROM users")}
        self.assertLessEqual(set(kept), names)
        self.assertEqual(sql_scalar(target, "SELECT COUNT(*) FROM specimens WHERE accession"
                                    " IN ('%s', '%s')" % tuple(accs)), 2)
        self.assertIn("admin", names)
        # over a database with data, only when asked
        r = run_cli(["restore", bak, "--db", target])
        self.assertEqual(r.returncode, 1)
        self.assertIn("--yes", r.stderr)
        r = run_cli(["restore", bak, "--db", target, "--yes"], timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        # a file of the other kind, or no backup at all, is refused
        junk = os.path.join(s.tmpdir, "junk.bak")
        with open(junk, "w") as f:
            f.write("not a backup\n")
        r = run_cli(["restore", junk, "--db", target, "--yes"])
        self.assertEqual(r.returncode, 1)
        self.assertIn("neither a SQLite backup nor a pg_dump file", r.stderr)
        other = "sqlite:" + os.path.join(s.tmpdir, "other.db") if pg_url() else \
            "postgresql://nobody@127.0.0.1:1/none"
        r = run_cli(["restore", bak, "--db", other])
        self.assertEqual(r.returncode, 1)
        self.assertIn("restores into a", r.stderr)
