"""Attacks on the HTTP surface, each against the real server (docs/security.md
lists the threats and names these tests):

- SQL metacharacters, NUL and 64 KiB strings in every string field of every
  request body, generated from the OpenAPI document's request schemas, and in
  every query and path parameter: never a 5xx, and the database is intact
  afterwards (the audit chain verifies, accounts and patients are there);
  hostile text that is valid is stored and read back byte for byte, and a
  search for it matches nothing it should not;
- path traversal on the static files: nothing outside the embedded assets
  (not the database file beside the server, not /etc/passwd);
- oversize headers (Authorization, Cookie) and bodies;
- slow clients: connections that send a request a byte at a time, and more
  connections than one address may hold, while other clients are served;
- session fixation: a token planted before sign-in is never adopted;
- cross-site requests: a state-changing request signed in by the cookie needs
  this server's Origin; a Bearer token needs none;
- brute force: the lockout per account and the rate limit per address;
- every read of patient data writes an audit event: every GET route is
  walked on the demo's data, a route whose answer holds a patient's MRN or
  name must be marked patient_data in tests/data/authz.json, and each route
  so marked must leave an audit event naming its reader.
"""

import datetime
import http.client
import json
import os
import socket
import sqlite3
import threading
import time
import unittest
from urllib.parse import quote

from tests.system.harness import (ADMIN_PASSWORD, ADMIN_USER, REPO, Server, ServerTestCase,
                                  parse_raw_response, require_binary, run_cli, unique)
from tests.system.test_lab import load_demo

AUTHZ = REPO / "tests" / "data" / "authz.json"

INJECTIONS = [
    "'; DROP TABLE users; --",
    "\" OR \"1\"=\"1",
    "' OR 1=1 --",
    "x'); DELETE FROM audit_event; --",
    "1 UNION SELECT password_hash FROM users",
    "?", "$1", "%s%s%n%x", "\\", "\\'",
    "\u0000", "a\u0000b",
    "\u202e\ufeff\U0001F9EA",
    "A" * 65536,
]
PASSWORD_FIELDS = ("password", "current_password", "new_password")


def request(port, method, path, body=None, headers=None, source=None, timeout=30,
            host="127.0.0.1"):
    """One request on a new connection, from source (a loopback address)
    when given. Returns (status, headers, parsed JSON or None, raw bytes)."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout,
                                      source_address=(source, 0) if source else None)
    hdrs = dict(headers or {})
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        hdrs.setdefault("Content-Type", "application/json")
    try:
        conn.request(method, path, body=data, headers=hdrs)
        r = conn.getresponse()
        raw = r.read()
        try:
            js = json.loads(raw) if raw else None
        except ValueError:
            js = None
        return r.status, r, js, raw
    finally:
        conn.close()


# ---------------------------------------------------------------------------
# Bodies from the OpenAPI schemas


class Schemas:
    """Example bodies for the request schemas of an OpenAPI document, and the
    paths of their string fields."""

    def __init__(self, doc, hints=None):
        self.doc = doc
        self.schemas = doc["components"]["schemas"]
        self.hints = hints or {}  # a valid value by field name, so later fields are reached

    def resolve(self, s):
        while isinstance(s, dict) and "$ref" in s:
            s = self.schemas[s["$ref"].rsplit("/", 1)[1]]
        if isinstance(s, dict) and "allOf" in s:
            merged = {"type": "object", "properties": {}, "required": []}
            for part in s["allOf"]:
                p = self.resolve(part)
                merged["properties"].update(p.get("properties", {}))
                merged["required"] += p.get("required", [])
            return merged
        for alt in ("oneOf", "anyOf"):
            if isinstance(s, dict) and alt in s:
                return self.resolve(s[alt][0])
        return s

    def kind(self, s):
        s = self.resolve(s)
        if "type" in s:
            return s["type"]
        return "object" if "properties" in s else "string"

    def example(self, s, name="", depth=0):
        """A plausible value: enums take their first member, dates today."""
        s = self.resolve(s)
        if "enum" in s:
            return s["enum"][0]
        t = self.kind(s)
        if t == "object":
            if depth > 5:
                return {}
            return {k: self.example(v, k, depth + 1)
                    for k, v in s.get("properties", {}).items() if k in s.get("required", [])}
        if t == "array":
            n = max(1, s.get("minItems", 1))
            return [self.example(s.get("items", {}), name, depth + 1) for _ in range(n)]
        if t == "integer":
            return max(1, int(s.get("minimum", 1)))
        if t == "number":
            return max(1.0, float(s.get("minimum", 1)))
        if t == "boolean":
            return False
        if name in self.hints:
            hint = self.hints[name]
            return hint() if callable(hint) else hint
        fmt = s.get("format")
        if fmt == "date":
            return datetime.date.today().isoformat()
        if fmt == "date-time":
            return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        return "x" * max(1, s.get("minLength", 1))

    def string_paths(self, s, prefix=(), depth=0):
        """Every string field as a path of keys and array indexes (0)."""
        s = self.resolve(s)
        t = self.kind(s)
        if depth > 5:
            return []
        if t == "object":
            out = []
            for k, v in s.get("properties", {}).items():
                out += self.string_paths(v, prefix + (k,), depth + 1)
            return out
        if t == "array":
            return self.string_paths(s.get("items", {}), prefix + (0,), depth + 1)
        if t == "string" and "enum" not in s and s.get("format") not in ("date", "date-time"):
            return [prefix]
        if t == "string":  # an enum or a date is a string too: hostile text must be refused
            return [prefix]
        return []

    def body_with(self, schema, path, value):
        """The example body of schema with the field at path set to value."""
        body = self.example(schema)
        node, s = body, self.resolve(schema)
        for i, step in enumerate(path):
            last = i == len(path) - 1
            if isinstance(step, int):
                item = self.resolve(s.get("items", {}))
                if last:
                    node[0] = value
                else:
                    if not node or not isinstance(node[0], (dict, list)):
                        node[:] = [self.example(item)]
                    node, s = node[0], item
            else:
                sub = self.resolve(s.get("properties", {}).get(step, {}))
                if last:
                    node[step] = value
                else:
                    if step not in node or not isinstance(node[step], (dict, list)):
                        node[step] = self.example(sub)
                    node, s = node[step], sub
        return body


# ---------------------------------------------------------------------------


class TestInjection(ServerTestCase):
    """Hostile strings everywhere a client may put a string."""

    # A class of its own whose sign-ins are not limited: bodies for
    # POST /api/v1/session carry hostile names many times.
    server_args = ("--sign-in-failures", "0")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        srv = cls.server
        cls.tok = srv.admin()
        cls.doc = srv.get("/api/v1/openapi.json").json
        srv.request("PUT", "/api/v1/catalog", body=load_demo(), token=cls.tok)
        cls.patient = srv.post("/api/v1/patients", {
            "mrn": unique("MRN-"), "family": "Okafor", "given": "Adaeze",
            "birth_date": "1968-04-12", "sex": "female"}, token=cls.tok).json
        cls.order = srv.post("/api/v1/orders", {
            "patient_id": cls.patient["id"], "tests": ["GLU"], "priority": "routine",
            "clinician": "Dr. Rivera", "reasons": ["E11.9"]}, token=cls.tok).json
        cls.accession = cls.order["specimens"][0]["accession"]
        for event in ("collected", "received"):
            srv.post("/api/v1/specimens/%s/events" % cls.accession, {"event": event},
                     token=cls.tok)
        # Valid values for the fields a body is checked on first, so that the
        # hostile value in a later field is reached.
        cls.schemas = Schemas(cls.doc, hints={
            "username": lambda: unique("user"), "mrn": lambda: unique("MRN-"),
            "code": "ZZTEST", "test": "GLU", "tests": "GLU", "reasons": "E11.9",
            "patient_id": cls.patient["id"], "accession": cls.accession, "loinc": "2345-7",
            "birth_date": "1970-01-02", "instrument": "CHEM-1"})

    def operations(self):
        for path, item in self.doc["paths"].items():
            for method, op in item.items():
                if method in ("get", "post", "put", "patch", "delete"):
                    yield path, method.upper(), op

    def fill(self, path):
        """A path template with its parameters filled: the patient, the order
        and the specimen made for the purpose, a name nothing has otherwise."""
        out = []
        for seg in path.split("/"):
            if seg == "{accession}":
                seg = self.accession
            elif seg.startswith("{") and path.startswith("/api/v1/patients/"):
                seg = self.patient["id"]
            elif seg.startswith("{") and path.startswith("/api/v1/orders/"):
                seg = self.order["id"]
            elif seg.startswith("{"):
                seg = "nothing"
            out.append(seg)
        return "/".join(out)

    def signer(self, body, field, password):
        """An electronic signature (the password again) holds the signer's
        own password, unless it is the field under attack."""
        if isinstance(body, dict):
            for k in PASSWORD_FIELDS:
                if k in body and k != field:
                    body[k] = password
        return body

    def throwaway(self):
        """An administrator of its own for hostile passwords: wrong ones lock
        the account they are tried on, and a new one changes it."""
        name = unique("tw")
        self.server.create_user(name, "admin", "password-0001", token=self.tok)
        return self.server.login(name, "password-0001")

    def send(self, method, path, body=None, token=None):
        data = json.dumps(body).encode() if body is not None else None
        st, _, js, out = request(self.server.port, method, path, data,
                                 {"Authorization": "Bearer " + (token or self.tok),
                                  **({"Content-Type": "application/json"} if data else {})})
        return st, js, out

    def test_every_string_field_of_every_body(self):
        bad, sent, fields = [], 0, 0
        for path, method, op in self.operations():
            content = op.get("requestBody", {}).get("content", {}).get("application/json")
            if not content:
                continue
            schema = content["schema"]
            url = self.fill(path)
            for fpath in self.schemas.string_paths(schema):
                fields += 1
                hostile_password = fpath[-1] in PASSWORD_FIELDS
                token = self.throwaway() if hostile_password else self.tok
                for value in INJECTIONS:
                    body = self.schemas.body_with(schema, fpath, value)
                    body = self.signer(body, fpath[-1], "password-0001" if hostile_password
                                       else ADMIN_PASSWORD)
                    if path == "/api/v1/session" and fpath != ("username",):
                        body["username"] = "nobody-" + unique()
                    st, js, out = self.send(method, url, body, token)
                    sent += 1
                    if st >= 500 or (st >= 400 and not (isinstance(js, dict) and "error" in js)):
                        bad.append("%s %s %s=%r: %d %r" % (method, path, ".".join(map(str, fpath)),
                                                           value[:40], st, out[:200]))
        self.assertEqual(bad, [], "\n".join(bad[:40]))
        self.assertGreater(fields, 200, "the schemas lost their string fields?")
        self.assertEqual(sent, fields * len(INJECTIONS))
        self.assertIntact()

    def test_every_query_and_path_parameter(self):
        bad = []
        for path, method, op in self.operations():
            if method != "GET":
                continue
            names = [p["name"] for p in op.get("parameters", []) if p.get("in") == "query"]
            for name in names:
                for value in INJECTIONS[:-1] + ["A" * 4096]:
                    url = "%s?%s=%s" % (self.fill(path), name, quote(value, safe=""))
                    st, js, out = self.send("GET", url)
                    if st >= 500:
                        bad.append("GET %s?%s=%r: %d %r" % (path, name, value[:40], st, out[:200]))
            if "{" in path:
                for value in INJECTIONS[:-3] + ["A" * 4096]:
                    url = "/".join(quote(value, safe="") if s.startswith("{") else s
                                   for s in path.split("/"))
                    st, js, out = self.send("GET", url)
                    if st >= 500:
                        bad.append("GET %s as %r: %d %r" % (path, value[:40], st, out[:200]))
        self.assertEqual(bad, [], "\n".join(bad[:40]))
        self.assertIntact()

    def test_hostile_text_is_stored_as_text(self):
        """What is valid is kept byte for byte: a family name with every SQL
        metacharacter reads back as sent, and a name search for an
        injection or a LIKE wildcard finds only the names that begin with it
        as written (the others' bodies stored some)."""
        family = "O'Brien\"; DROP TABLE patients; --"
        given = "Robert'); DELETE FROM audit_event WHERE ('1'='1"
        mrn = unique("MRN-")
        st, js, out = self.send("POST", "/api/v1/patients", {
            "mrn": mrn, "family": family, "given": given, "birth_date": "1970-01-02",
            "sex": "male"})
        self.assertEqual(st, 201, out)
        st, got, out = self.send("GET", "/api/v1/patients/" + js["id"])
        self.assertEqual((got["family"], got["given"], got["mrn"]), (family, given, mrn))
        st, found, out = self.send("GET", "/api/v1/patients?mrn=" + quote(mrn, safe=""))
        self.assertEqual([p["id"] for p in found["items"]], [js["id"]])
        for probe in ("' OR '1'='1", "%", "_", "Okafor' --", "%' OR name LIKE '%"):
            st, found, out = self.send("GET", "/api/v1/patients?name=" + quote(probe, safe=""))
            self.assertIn(st, (200, 400), out)
            if st == 200:
                for p in found["items"]:
                    self.assertTrue(p["family"].lower().startswith(probe.lower()),
                                    "a search for %r found %r" % (probe, p["family"]))
        st, found, out = self.send("GET", "/api/v1/patients?name=" + quote("O'Brien\"; DROP",
                                                                            safe=""))
        self.assertEqual([p["id"] for p in found["items"]], [js["id"]])
        self.assertIntact()

    def assertIntact(self):
        r = self.server.get("/api/v1/audit/verify", token=self.tok)
        self.assertEqual((r.status, r.json.get("ok")), (200, True), r.raw)
        r = self.server.get("/api/v1/users", token=self.tok)
        self.assertIn(ADMIN_USER, [u["username"] for u in r.json["items"]])
        r = self.server.get("/api/v1/patients/" + self.patient["id"], token=self.tok)
        self.assertEqual(r.json["family"], "Okafor")
        p = run_cli(["audit", "verify", "--db", self.server.db_url])
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)


class TestTraversalAndOversize(ServerTestCase):

    def raw(self, data, timeout=10):
        out = self.server.raw(data, timeout=timeout)
        return out, parse_raw_response(out)

    def test_static_files_stay_inside_the_assets(self):
        """The web assets are embedded in the binary and found by exact name:
        no path reaches the files around the server, not even the database
        in its working directory."""
        paths = ["/t.db", "/./t.db", "/../t.db", "/%2e/t.db", "/%2e%2e/%2e%2e/etc/passwd",
                 "/..%2f..%2f..%2f..%2fetc%2fpasswd", "/..;/..;/etc/passwd",
                 "/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd", "/%u002e%u002e/etc/passwd",
                 "//etc/passwd", "/index.html/../../../etc/passwd", "/./././etc/passwd",
                 "/app.js%2f..%2f..%2fetc%2fpasswd", "/.%00./etc/passwd",
                 "/" + "../" * 40 + "etc/passwd", "/proc/self/environ", "/proc/self/cmdline",
                 "/C:%5cwindows%5cwin.ini", "/\\..\\..\\t.db", "/server.stderr",
                 "/fhir/R4/../../t.db", "/api/v1/../../t.db"]
        for path in paths:
            with self.subTest(path=path):
                line = ("GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % path).encode()
                out, r = self.raw(line)
                self.assertNotIn(b"root:", out)
                self.assertNotIn(b"SQLite format 3", out)
                self.assertNotIn(b"PATH=", out)
                if r is not None:
                    self.assertIn(r.status, (400, 401, 403, 404, 405), out[:300])

    def test_oversize_credentials(self):
        """A 200 KB bearer token or cookie header: refused (431 by
        libmicrohttpd, or 401), and the server goes on."""
        for name in ("Authorization", "Cookie"):
            for size in (8 * 1024, 200 * 1024):
                with self.subTest(header=name, size=size):
                    value = ("Bearer " if name == "Authorization" else "bs_session=") + "a" * size
                    out, r = self.raw(("GET /api/v1/session HTTP/1.1\r\nHost: x\r\n%s: %s\r\n"
                                       "Connection: close\r\n\r\n" % (name, value)).encode())
                    if r is not None:
                        self.assertIn(r.status, (400, 401, 431), out[:300])
                    self.assertNotIn(b"aaaaaaaa", out)
        cookies = "; ".join("c%d=v" % i for i in range(3000))
        out, r = self.raw(("GET /api/v1/session HTTP/1.1\r\nHost: x\r\nCookie: %s\r\n"
                           "Connection: close\r\n\r\n" % cookies).encode())
        if r is not None:
            self.assertIn(r.status, (400, 401, 431), out[:300])
        self.assertEqual(self.server.get("/api/v1/health").status, 200)

    def test_oversize_fields_in_a_body(self):
        """A 900 KB string inside the 1 MiB body limit: refused naming the field."""
        body = {"username": "a" * (900 * 1024), "password": "whatever-123"}
        r = self.server.post("/api/v1/session", body)
        self.assertError(r, 400, "invalid", field="username")
        body = {"mrn": "M" * (900 * 1024), "family": "F", "given": "G",
                "birth_date": "1970-01-01", "sex": "male"}
        r = self.server.post("/api/v1/patients", body, token=self.server.admin())
        self.assertEqual(r.status, 400, r.raw[:300])
        self.assertEqual(r.json["error"]["field"], "mrn")


class TestSlowClients(ServerTestCase):
    """Slow clients hold connections, not the server."""

    server_args = ("--max-connections-per-address", "40")

    def open_slow(self, source, n, head):
        socks = []
        for _ in range(n):
            s = socket.create_connection((self.server.host, self.server.port), timeout=10,
                                         source_address=(source, 0))
            s.sendall(head)
            socks.append(s)
        return socks

    def served(self, source):
        st, _, js, _ = request(self.server.port, "GET", "/api/v1/health", source=source)
        return st

    def test_slowloris_headers_and_bodies(self):
        """40 connections from one address that never finish their headers,
        and 40 from another that send a body a byte at a time: a third
        address is served, signs in and writes."""
        heads = self.open_slow("127.0.0.2", 40, b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-a: ")
        bodies = self.open_slow("127.0.0.3", 40,
                                b"POST /api/v1/session HTTP/1.1\r\nHost: x\r\nContent-Type: "
                                b"application/json\r\nContent-Length: 100000\r\n\r\n{")
        try:
            for _ in range(3):
                for s in heads:
                    s.sendall(b"a")
                for s in bodies:
                    s.sendall(b" ")
                self.assertEqual(self.served("127.0.0.1"), 200)
            tok = self.server.login()
            st, _, js, out = request(self.server.port, "POST", "/api/v1/patients",
                                     {"mrn": unique("MRN-"), "family": "Slow", "given": "Loris",
                                      "birth_date": "1970-01-01", "sex": "other"},
                                     headers={"Authorization": "Bearer " + tok})
            self.assertEqual(st, 201, out)
        finally:
            for s in heads + bodies:
                s.close()

    def test_one_address_cannot_take_every_connection(self):
        """An address holding its 40 connections gets no 41st; another
        address is served meanwhile, and the first is again once it lets go.
        Each held connection has had an answer (and is kept alive), so the
        server has counted all 40 before the 41st comes."""
        held = []
        for _ in range(40):
            c = http.client.HTTPConnection(self.server.host, self.server.port, timeout=30,
                                           source_address=("127.0.0.4", 0))
            held.append(c)
            c.request("GET", "/api/v1/health")
            r = c.getresponse()
            r.read()
            self.assertEqual(r.status, 200)
        try:
            refused = False
            try:
                refused = self.served("127.0.0.4") != 200
            except (OSError, http.client.HTTPException):
                refused = True
            self.assertTrue(refused, "a 41st connection from one address was served")
            self.assertEqual(self.served("127.0.0.5"), 200)
        finally:
            for c in held:
                c.close()
        deadline = time.time() + 10
        while True:
            try:
                if self.served("127.0.0.4") == 200:
                    break
            except (OSError, http.client.HTTPException):
                pass
            self.assertLess(time.time(), deadline, "the address is still refused after closing")
            time.sleep(0.1)


class TestSessionFixation(ServerTestCase):

    def sign_in(self, headers):
        st, resp, js, out = request(self.server.port, "POST", "/api/v1/session",
                                    {"username": ADMIN_USER, "password": ADMIN_PASSWORD},
                                    headers=headers)
        self.assertEqual(st, 200, out)
        cookie = resp.getheader("Set-Cookie") or ""
        return js["token"], cookie

    def valid(self, token):
        return self.server.get("/api/v1/session", headers={"Cookie": "bs_session=" + token}).status

    def test_a_planted_token_is_not_adopted(self):
        planted = "ab" * 32
        token, cookie = self.sign_in({"Cookie": "bs_session=" + planted})
        self.assertNotEqual(token, planted)
        self.assertIn("bs_session=" + token, cookie)
        self.assertEqual(self.valid(planted), 401)
        self.assertEqual(self.valid(token), 200)
        token2, _ = self.sign_in({"Authorization": "Bearer " + planted})
        self.assertNotIn(token2, (planted, token))
        self.assertEqual(self.valid(planted), 401)

    def test_a_new_token_at_every_sign_in(self):
        """Signing in with a live session in hand gives a new token; an ended
        session is not revived by it."""
        first, _ = self.sign_in({})
        second, _ = self.sign_in({"Cookie": "bs_session=" + first})
        self.assertNotEqual(first, second)
        r = self.server.delete("/api/v1/session", token=first)
        self.assertEqual(r.status, 204)
        third, _ = self.sign_in({"Cookie": "bs_session=" + first})
        self.assertNotIn(third, (first, second))
        self.assertEqual(self.valid(first), 401)
        self.assertEqual(self.valid(third), 200)


class TestCrossSite(ServerTestCase):

    def setUp(self):
        self.tok = self.server.login()
        self.own = "http://127.0.0.1:%d" % self.server.port

    def create(self, headers):
        name = unique("cs")
        st, resp, js, out = request(self.server.port, "POST", "/api/v1/users",
                                    {"username": name, "password": "password-0001",
                                     "role": "clinician"}, headers=headers)
        exists = self.server.get("/api/v1/users?limit=200", token=self.tok).json["items"]
        return st, js, name in [u["username"] for u in exists]

    def test_cookie_needs_this_servers_origin(self):
        cookie = {"Cookie": "bs_session=" + self.tok}
        for origin in (None, "https://evil.example", "null", "http://127.0.0.1",
                       "http://127.0.0.1:%d.evil.example" % self.server.port,
                       "https://127.0.0.1:%d" % (self.server.port + 1)):
            with self.subTest(origin=origin):
                hdrs = dict(cookie, **({"Origin": origin} if origin else {}))
                st, js, made = self.create(hdrs)
                self.assertEqual(st, 403, js)
                self.assertEqual(js["error"]["code"], "forbidden")
                self.assertFalse(made, "the cross-site request created the user")
        st, js, made = self.create(dict(cookie, Origin=self.own))
        self.assertEqual((st, made), (201, True), js)

    def test_bearer_needs_no_origin(self):
        st, js, made = self.create({"Authorization": "Bearer " + self.tok})
        self.assertEqual((st, made), (201, True), js)

    def test_reads_need_no_origin(self):
        r = self.server.get("/api/v1/session", headers={"Cookie": "bs_session=" + self.tok})
        self.assertEqual(r.status, 200)

    def test_sign_in_from_another_site_is_refused(self):
        st, resp, js, out = request(self.server.port, "POST", "/api/v1/session",
                                    {"username": ADMIN_USER, "password": ADMIN_PASSWORD},
                                    headers={"Origin": "https://evil.example"})
        self.assertEqual(st, 403, out)
        self.assertIsNone(resp.getheader("Set-Cookie"))
        st, resp, js, out = request(self.server.port, "POST", "/api/v1/session",
                                    {"username": ADMIN_USER, "password": ADMIN_PASSWORD},
                                    headers={"Origin": self.own})
        self.assertEqual(st, 200, out)
        cookie = resp.getheader("Set-Cookie").lower()
        self.assertIn("samesite=strict", cookie)
        self.assertIn("httponly", cookie)

    def test_fhir_create_needs_the_origin_too(self):
        st, resp, js, out = request(self.server.port, "POST", "/fhir/R4/ServiceRequest", b"{}",
                                    headers={"Cookie": "bs_session=" + self.tok,
                                             "Origin": "https://evil.example",
                                             "Content-Type": "application/fhir+json"})
        self.assertEqual(st, 403, out)
        self.assertEqual(js["resourceType"], "OperationOutcome")


class TestOriginOption(ServerTestCase):
    """Behind a proxy that rewrites Host, --origin names what browsers see."""

    server_args = ("--origin", "https://lab.example.org")

    def test_configured_origin(self):
        tok = self.server.login()
        cookie = {"Cookie": "bs_session=" + tok}
        st, _, js, _ = request(self.server.port, "DELETE", "/api/v1/session",
                               headers=dict(cookie, Origin="http://127.0.0.1:%d"
                                            % self.server.port))
        self.assertEqual(st, 403, js)
        st, _, js, _ = request(self.server.port, "DELETE", "/api/v1/session",
                               headers=dict(cookie, Origin="https://lab.example.org"))
        self.assertEqual(st, 204, js)

    def test_bad_origin_option(self):
        for bad in ("lab.example.org", "https://lab.example.org/path", "ftp://x", "https://"):
            with self.subTest(origin=bad):
                p = run_cli(["serve", "--origin", bad, "--db", "sqlite::memory:"])
                self.assertEqual(p.returncode, 2, p.stderr)
                self.assertIn("--origin", p.stderr)


class TestBruteForce(ServerTestCase):
    """The lockout guards each account (test_api.TestSession); the limit per
    address guards them all against one address guessing across accounts."""

    # One more attempt an hour after the five: none comes back while a test runs.
    server_args = ("--sign-in-failures", "5", "--sign-in-interval-seconds", "3600",
                   "--threads", "8")

    def attempt(self, source, username, password):
        st, resp, js, out = request(self.server.port, "POST", "/api/v1/session",
                                    {"username": username, "password": password}, source=source)
        return st, resp, js

    def test_an_address_spraying_passwords_is_slowed(self):
        names = [unique("spray") for _ in range(5)]
        users = [self.server.create_user(name, "technician", "right-password-1")
                 for name in names]
        for name in names:
            st, _, js = self.attempt("127.0.0.2", name, "Winter2025!")
            self.assertEqual((st, js["error"]["code"]), (401, "bad_credentials"))
        # the sixth try, even with the right password, waits
        st, resp, js = self.attempt("127.0.0.2", ADMIN_USER, ADMIN_PASSWORD)
        self.assertEqual((st, js["error"]["code"]), (429, "rate_limited"), js)
        self.assertGreaterEqual(int(resp.getheader("Retry-After")), 3500)
        self.assertLessEqual(int(resp.getheader("Retry-After")), 3600)
        # no account was locked by it, and another address signs in
        for u in users:
            r = self.server.get("/api/v1/users/" + u["id"], token=self.server.admin())
            self.assertFalse(r.json["locked"])
        st, _, js = self.attempt("127.0.0.3", names[0], "right-password-1")
        self.assertEqual(st, 200, js)
        events = self.server.get("/api/v1/audit?action=session.fail&limit=50",
                                 token=self.server.admin()).json["items"]
        limited = [e for e in events if e["detail"].get("reason") == "rate_limited"]
        self.assertEqual([(e["source"], e["actor"]) for e in limited], [("127.0.0.2", ADMIN_USER)])

    def test_successful_sign_ins_cost_nothing(self):
        name = unique("ok")
        self.server.create_user(name, "technician", "right-password-1")
        for _ in range(12):
            st, _, js = self.attempt("127.0.0.4", name, "right-password-1")
            self.assertEqual(st, 200, js)
        for i in range(4):
            st, _, js = self.attempt("127.0.0.4", unique("nobody"), "guess-%d-guess" % i)
            self.assertEqual(st, 401, js)
        st, _, js = self.attempt("127.0.0.4", name, "right-password-1")
        self.assertEqual(st, 200, js)

    def test_attempts_sent_together_meet_the_limit(self):
        """Sixteen wrong passwords sent at once from one address: at most five
        are checked; the others are refused without a check."""
        results = []

        def worker(i):
            st, _, js = self.attempt("127.0.0.5", unique("nobody"), "guess-%d-guess" % i)
            results.append(st)
        threads = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        self.assertEqual(len(results), 16)
        self.assertEqual(set(results) - {401, 429}, set(), results)
        self.assertLessEqual(results.count(401), 5, results)
        self.assertGreaterEqual(results.count(429), 11, results)


class TestLogs(ServerTestCase):
    """The log (debug level, the most it says) holds no password, token or
    patient's name, whatever the requests carried."""

    @classmethod
    def setUpClass(cls):
        old = os.environ.get("BENCHSIDE_LOG")
        os.environ["BENCHSIDE_LOG"] = "debug"
        try:
            super().setUpClass()
        finally:
            if old is None:
                os.environ.pop("BENCHSIDE_LOG")
            else:
                os.environ["BENCHSIDE_LOG"] = old

    def test_no_secrets_or_names_in_the_log(self):
        srv = self.server
        password, wrong = "Sekrit-" + unique(), "WrongSekrit-" + unique()
        name = unique("log")
        srv.create_user(name, "admin", password)
        tok = srv.login(name, password)
        family = "Zyxwvutsrq" + unique()
        st, _, js, _ = request(srv.port, "POST", "/api/v1/patients", {
            "mrn": unique("MRN-"), "family": family, "given": "Quentin",
            "birth_date": "1971-02-03", "sex": "male"},
            headers={"Authorization": "Bearer " + tok})
        self.assertEqual(st, 201)
        srv.get("/api/v1/patients?name=" + family, token=tok)
        srv.get("/api/v1/session", headers={"Cookie": "bs_session=" + tok})
        srv.get("/fhir/R4/Patient?family=" + family, token=tok)
        srv.post("/api/v1/session", {"username": name, "password": wrong})
        srv.post("/api/v1/session/password", {"current_password": wrong,
                                              "new_password": wrong + "x"}, token=tok)
        text = srv.stderr_text()
        with open(srv.stdout_path, encoding="utf-8", errors="replace") as fh:
            text += fh.read()
        self.assertIn("/api/v1/patients", text, "the log says nothing at debug level?")
        for secret in (password, wrong, tok, tok[:16], family):
            self.assertNotIn(secret, text)


class TestInternalsNotTold(ServerTestCase):
    """A fault of the database is logged with the request id; the client is
    told that it happened, not what the SQL or the schema say."""

    server_kwargs = dict(force_sqlite=True)

    def test_a_database_fault_is_logged_not_told(self):
        with sqlite3.connect(self.server.db.path) as con:
            con.execute("DROP TABLE sign_in_throttle")
        r = self.server.post("/api/v1/session", {"username": ADMIN_USER,
                                                 "password": ADMIN_PASSWORD})
        err = self.assertError(r, 500, "database_error")
        self.assertEqual(err["message"],
                         "the server could not complete the request; it has been logged")
        for word in (b"sign_in_throttle", b"SELECT", b"INSERT", b"no such table", b"sqlite"):
            self.assertNotIn(word, r.raw)
        logged = [ln for ln in self.server.stderr_text().splitlines()
                  if err["request_id"] in ln and "sign_in_throttle" in ln]
        self.assertTrue(logged, "the fault is not in the log with its request id")


# ---------------------------------------------------------------------------
# Every read of patient data is audited


class TestPatientReadsAudited(unittest.TestCase):
    """Walk every GET route on the demo's data as one reader and watch the
    audit trail for that reader."""

    MARKERS = ("MRN-100231", "MRN-100232", "MRN-100233", "Okafor", "Lindqvist", "Adaeze",
               "Thi Lan", "1968-04-12", "1951-11-03")

    @classmethod
    def setUpClass(cls):
        require_binary()
        cls.server = Server(command="demo", create_admin=False,
                            extra_args=("--mllp", "127.0.0.1:0", "--astm", "127.0.0.1:0"))
        try:
            cls.server.start(timeout=60)
            cls.prepare()
        except BaseException:
            cls.server.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    @classmethod
    def prepare(cls):
        srv = cls.server
        cls.admin = srv.login("admin", "demo-admin-pass")
        cls.reader_name = unique("walker")
        srv.create_user(cls.reader_name, "admin", "password-0001", token=cls.admin)
        cls.reader = srv.login(cls.reader_name, "password-0001")
        with open(AUTHZ, encoding="utf-8") as fh:
            cls.decisions = json.load(fh)["routes"]
        p = run_cli(["routes", "--json"])
        cls.routes = json.loads(p.stdout)
        # the demo's analyzers journal a message or two within seconds
        deadline = time.time() + 60
        while not srv.get("/api/v1/messages?limit=1", token=cls.admin).json["items"]:
            if time.time() > deadline:
                raise AssertionError("no message was journalled by the demo's analyzers")
            time.sleep(0.5)
        cls.ids = cls.collect()

    @classmethod
    def collect(cls):
        srv, tok = cls.server, cls.admin

        def get(path):
            r = srv.get(path, token=tok)
            if r.status not in (200, 201):
                raise AssertionError("%s: %s %r" % (path, r.status, r.raw[:300]))
            return r.json
        ids = {}
        patient = get("/api/v1/patients?mrn=MRN-100231")["items"][0]
        ids["patient"] = patient["id"]
        released = get("/api/v1/worklist?stage=released")["items"]
        spec = released[0]
        ids["accession"] = spec["accession"]
        ids["result"] = spec["tests"][0]["result_id"]
        specimen = get("/api/v1/specimens/" + spec["accession"])
        ids["order"] = specimen["order_id"]
        ids["specimen"] = specimen["id"]
        ids["message"] = get("/api/v1/messages?limit=1")["items"][0]["id"]
        # a specimen stored in the refrigerator, then the refrigerator too warm
        for event in ({"event": "stored", "location": "FRIDGE-1", "temperature": "refrigerated"},):
            srv.post("/api/v1/specimens/%s/events" % spec["accession"], event, token=tok)
        now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        srv.post("/api/v1/storage-units/FRIDGE-1/readings", {"celsius": 14.5, "at": now},
                 token=tok)
        ids["alert"] = get("/api/v1/temperature/alerts?status=open")["items"][0]["id"]
        # a rejected control run on the demo's chemistry analyzer opens a lockout
        mat = srv.post("/api/v1/qc/materials", {
            "name": "Chemistry control", "manufacturer": "Acme", "lot": unique("LOT"),
            "level": "1", "expires": (datetime.date.today() + datetime.timedelta(days=90))
            .isoformat(), "targets": [{"test": "GLU", "instrument": "CHEM-1", "mean": 100,
                                       "sd": 2}]}, token=tok).json
        srv.post("/api/v1/qc/results", {"material_id": mat["id"], "test": "GLU", "value": 130,
                                        "instrument": "CHEM-1"}, token=tok)
        ids["lockout"] = get("/api/v1/qc/lockouts?open=true")["items"][0]["id"]
        # care: vitals, a procedure with a set sterilized in a load of the demo's autoclave
        srv.post("/api/v1/care/vitals", {
            "patient_id": ids["patient"], "respiration_rate": 23, "spo2": 94, "oxygen": True,
            "systolic_bp": 118, "pulse": 112, "acvpu": "A", "temperature": 37.9}, token=tok)
        tray = unique("TRAY-")
        srv.post("/api/v1/care/sterilization/sets", {"code": tray, "name": "Minor set"},
                 token=tok)
        cycle = srv.post("/api/v1/care/sterilization/cycles", {
            "sterilizer": "BME-00611", "cycle_number": 9001, "program": "prevacuum-134",
            "exposure_minutes": 3.5, "temperature": 134.4, "pressure": 304, "chemical": "pass",
            "biological": "pending", "sets": [tray]}, token=tok).json
        ids["cycle"] = cycle["id"]
        proc = srv.post("/api/v1/care/procedures", {
            "patient_id": ids["patient"], "modality": "other", "exam": "Excision of a lesion",
            "scheduled_at": now}, token=tok).json
        ids["procedure"] = proc["id"]
        srv.post("/api/v1/care/procedures/%s/sets" % proc["id"], {"set": tray}, token=tok)
        return ids

    PARAMS = {
        "/api/v1/patients/{id}": "patient", "/api/v1/orders/{id}": "order",
        "/api/v1/results/{id}": "result", "/api/v1/messages/{id}": "message",
        "/api/v1/qc/lockouts/{id}": "lockout", "/api/v1/temperature/alerts/{id}": "alert",
        "/api/v1/care/patients/{id}/vitals": "patient", "/api/v1/care/procedures/{id}":
        "procedure", "/api/v1/care/sterilization/cycles/{id}/recall": "cycle",
    }
    QUERIES = {"/api/v1/patients": "?name=Okafor"}

    def concrete(self, path):
        out = []
        for seg in path.split("/"):
            if seg == "{accession}":
                seg = self.ids["accession"]
            elif seg == "{id}" and path in self.PARAMS:
                seg = self.ids[self.PARAMS[path]]
            elif seg == "{id}" and path.startswith("/api/v1/patients/"):
                seg = self.ids["patient"]
            elif seg.startswith("{"):
                seg = "nothing"
            out.append(seg)
        return "/".join(out) + self.QUERIES.get(path, "")

    def last_seq(self):
        r = self.server.get("/api/v1/audit?limit=1&actor=" + self.reader_name, token=self.admin)
        items = r.json["items"]
        return items[0]["seq"] if items else 0

    def events_since(self, seq):
        r = self.server.get("/api/v1/audit?limit=50&actor=" + self.reader_name, token=self.admin)
        return [e for e in r.json["items"] if e["seq"] > seq]

    def fhir_read_id(self, route):
        """A read of a FHIR type the walk has no id for: the first of its search."""
        path = route["path"].rsplit("/", 1)[0]
        r = self.server.get(path + "?_count=1", token=self.admin)
        entries = r.json.get("entry") or []
        return entries[0]["resource"]["id"] if entries else "nothing"

    def test_every_read_of_patient_data_is_audited(self):
        unaudited, unmarked, unread = [], [], []
        walked = 0
        for route in self.routes:
            if route["method"] != "GET" or route["path"] == "/api/v1/events":
                continue
            decision = self.decisions.get("GET " + route["path"], {})
            path = self.concrete(route["path"])
            if route["path"].startswith("/fhir/") and route["path"].endswith("{id}"):
                path = path.rsplit("/", 1)[0] + "/" + self.fhir_read_id(route)
            before = self.last_seq()
            r = self.server.get(path, token=self.reader)
            walked += 1
            text = r.raw.decode("utf-8", "replace")
            holds = [m for m in self.MARKERS if m in text]
            events = self.events_since(before)
            reads = [e for e in events if e["action"] != "permission.denied"]
            if decision.get("patient_data"):
                if r.status != 200:
                    unread.append("%s: %d %r" % (path, r.status, r.raw[:200]))
                elif not reads:
                    unaudited.append(path)
            elif holds and r.status == 200:
                unmarked.append("%s holds %s" % (route["path"], holds))
        self.assertEqual(unread, [], "the walk could not read these patient-data routes")
        self.assertEqual(unmarked, [], "routes answering with patient data that "
                         "tests/data/authz.json does not mark patient_data")
        self.assertEqual(unaudited, [], "reads of patient data without an audit event")
        self.assertGreater(walked, 60)

    def test_biomed_reads_no_patient_results_in_a_lockout(self):
        name = unique("bio")
        self.server.create_user(name, "biomed", "password-0001", token=self.admin)
        tok = self.server.login(name, "password-0001")
        r = self.server.get("/api/v1/qc/lockouts/" + self.ids["lockout"], token=tok)
        self.assertEqual(r.status, 200, r.raw)
        self.assertNotIn("patient_results_since_last_good_qc", r.json)
        r = self.server.get("/api/v1/qc/lockouts/" + self.ids["lockout"], token=self.admin)
        self.assertIn("patient_results_since_last_good_qc", r.json)
        r = self.server.get("/api/v1/temperature/alerts/" + self.ids["alert"], token=tok)
        self.assertEqual(r.status, 200, r.raw)
        for s in r.json["stored"]["specimens"]:
            self.assertIsNone(s["patient_id"])


if __name__ == "__main__":
    unittest.main()
