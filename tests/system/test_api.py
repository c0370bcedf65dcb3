"""System tests of the HTTP API: health, OpenAPI, static pages, protocol errors,
sessions, users and the audit trail."""

import datetime
import json
import time
import unittest
import urllib.parse

from tests.system import harness
from tests.system.harness import (ADMIN_PASSWORD, ADMIN_USER, HEX64_RE, ServerTestCase,
                                  unique)


# (method, path template, public?)
ROUTES = [
    ("get", "/api/v1/health", True),
    ("get", "/api/v1/openapi.json", True),
    ("post", "/api/v1/session", True),
    ("get", "/api/v1/session", False),
    ("delete", "/api/v1/session", False),
    ("post", "/api/v1/session/password", False),
    ("post", "/api/v1/users", False),
    ("get", "/api/v1/users", False),
    ("get", "/api/v1/users/{id}", False),
    ("patch", "/api/v1/users/{id}", False),
    ("post", "/api/v1/users/{id}/unlock", False),
    ("post", "/api/v1/users/{id}/password", False),
    ("get", "/api/v1/audit", False),
    ("get", "/api/v1/audit/verify", False),
]


def parse_cookie(set_cookie):
    """'bs_session=abc; HttpOnly; Path=/' -> ('bs_session', 'abc', {'httponly': '', 'path': '/'})"""
    parts = [p.strip() for p in set_cookie.split(";")]
    name, _, value = parts[0].partition("=")
    attrs = {}
    for p in parts[1:]:
        k, _, v = p.partition("=")
        attrs[k.strip().lower()] = v.strip()
    return name.strip(), value.strip(), attrs


def session_cookie(resp):
    for sc in resp.headers.get_all("Set-Cookie") or []:
        name, value, attrs = parse_cookie(sc)
        if name == "bs_session":
            return value, attrs
    return None, None


def parse_iso(s):
    if s.endswith("Z"):
        s = s[:-1] + "+00:00"
    return datetime.datetime.fromisoformat(s)


def iso(dt):
    return dt.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def about_user(events, username, user_id):
    """Events whose actor, entity or detail names the user (session.fail events
    may record the attempted user either way)."""
    out = []
    for e in events:
        d = e.get("detail") or {}
        if e.get("actor") == username or e.get("actor_id") == user_id or \
                e.get("entity_id") in (user_id, username) or d.get("username") == username:
            out.append(e)
    return out


class AuditMixin:
    def audit(self, token=None, **params):
        q = urllib.parse.urlencode(params)
        return self.server.get("/api/v1/audit" + ("?" + q if q else ""),
                               token=token or self.server.admin())

    def audit_items(self, **params):
        params.setdefault("limit", 500)
        r = self.audit(**params)
        self.assertEqual(r.status, 200, r.raw)
        return r.json["items"]


# ---------------------------------------------------------------------------


class TestBasics(ServerTestCase):
    """Health, OpenAPI, static files, headers and request-level errors."""

    def test_health(self):
        r = self.server.get("/api/v1/health")
        self.assertEqual(r.status, 200, r.raw)
        self.assertSecurityHeaders(r, api=True)
        b = r.json
        self.assertIsInstance(b, dict, r.raw)
        self.assertEqual(b.get("status"), "ok")
        self.assertIsInstance(b.get("version"), str)
        self.assertTrue(b["version"])
        self.assertEqual(b.get("database"), harness.backend())
        self.assertISO(b.get("time"))
        t = parse_iso(b["time"])
        now = datetime.datetime.now(datetime.timezone.utc)
        self.assertLess(abs((now - t).total_seconds()), 120, "health time far from now")

    def test_health_version_matches_cli(self):
        r = self.server.get("/api/v1/health")
        v = harness.run_cli(["version"])
        self.assertEqual(v.returncode, 0, v.stderr)
        self.assertIn(r.json["version"], v.stdout)

    def test_web_page(self):
        r = self.server.get("/")
        self.assertEqual(r.status, 200)
        ct = (r.headers.get("Content-Type") or "").lower()
        self.assertTrue(ct.startswith("text/html"), ct)
        self.assertIn(b"<", r.raw)
        self.assertSecurityHeaders(r)

    def test_app_js(self):
        r = self.server.get("/app.js")
        self.assertEqual(r.status, 200)
        ct = (r.headers.get("Content-Type") or "").lower()
        self.assertTrue(ct.startswith("text/javascript"), ct)
        self.assertTrue(r.raw)
        self.assertSecurityHeaders(r)

    def test_static_not_found(self):
        r = self.server.get("/nope.html")
        self.assertEqual(r.status, 404)
        self.assertSecurityHeaders(r)

    def test_api_unknown_route(self):
        r = self.server.get("/api/v1/nope", token=self.server.admin())
        self.assertError(r, 404, "not_found")
        self.assertSecurityHeaders(r, api=True)

    def test_security_headers_on_errors(self):
        r = self.server.get("/api/v1/session")
        self.assertError(r, 401, "unauthorized")
        self.assertSecurityHeaders(r, api=True)
        r = self.server.post("/api/v1/session", {"username": "nobody-here",
                                                 "password": "wrong-password"})
        self.assertError(r, 401, "bad_credentials")
        self.assertSecurityHeaders(r, api=True)

    def test_method_not_allowed(self):
        for method, path in (("DELETE", "/api/v1/health"), ("PUT", "/api/v1/openapi.json"),
                             ("PATCH", "/api/v1/audit")):
            with self.subTest(method=method, path=path):
                body = {} if method in ("PUT", "PATCH") else None
                r = self.server.request(method, path, body=body, token=self.server.admin())
                self.assertError(r, 405, "method_not_allowed")
                allow = r.headers.get("Allow")
                self.assertIsNotNone(allow, "405 without Allow header")
                self.assertIn("GET", [a.strip().upper() for a in allow.split(",")], allow)
                self.assertSecurityHeaders(r, api=True)

    def test_method_not_allowed_allow_lists_methods(self):
        r = self.server.request("PUT", "/api/v1/session", body={}, token=self.server.admin())
        self.assertError(r, 405, "method_not_allowed")
        allow = {a.strip().upper() for a in (r.headers.get("Allow") or "").split(",")}
        for m in ("GET", "POST", "DELETE"):
            self.assertIn(m, allow)

    def test_unsupported_media_type(self):
        body = json.dumps({"username": ADMIN_USER, "password": ADMIN_PASSWORD}).encode()
        for ct in ("text/plain", "application/x-www-form-urlencoded", None,
                   "application/jsonx"):
            with self.subTest(content_type=ct):
                r = self.server.request("POST", "/api/v1/session", body=body, content_type=ct)
                self.assertError(r, 415, "unsupported_media_type")
                self.assertSecurityHeaders(r, api=True)

    def test_unsupported_media_type_patch_and_post(self):
        tok = self.server.admin()
        u = self.server.create_user(unique("mt"), "technician")
        r = self.server.request("PATCH", "/api/v1/users/" + u["id"],
                                body=b'{"display_name":"x"}', token=tok,
                                content_type="text/plain")
        self.assertError(r, 415, "unsupported_media_type")
        r = self.server.request("POST", "/api/v1/users", body=b'{}', token=tok,
                                content_type="text/json")
        self.assertError(r, 415, "unsupported_media_type")

    def test_json_with_charset_accepted(self):
        for ct in ("application/json; charset=utf-8", "application/json;charset=UTF-8",
                   "Application/JSON"):
            with self.subTest(content_type=ct):
                r = self.server.request("POST", "/api/v1/session",
                                        body={"username": ADMIN_USER,
                                              "password": ADMIN_PASSWORD},
                                        content_type=ct)
                self.assertEqual(r.status, 200, r.raw)

    def test_bad_json(self):
        r = self.server.request("POST", "/api/v1/session",
                                body=b'{"username": "a",\n "password": }')
        err = self.assertError(r, 400, "bad_json")
        self.assertEqual(err.get("line"), 2, err)
        self.assertIsInstance(err.get("column"), int, err)
        self.assertGreater(err["column"], 0)

    def test_json_not_object(self):
        for body in (b"[1,2]", b'"text"', b"42", b"null"):
            with self.subTest(body=body):
                r = self.server.request("POST", "/api/v1/session", body=body)
                self.assertError(r, 400, "bad_json")

    def test_openapi(self):
        r = self.server.get("/api/v1/openapi.json")
        self.assertEqual(r.status, 200, r.raw[:300])
        self.assertSecurityHeaders(r, api=True)
        doc = r.json
        self.assertIsInstance(doc, dict)
        self.assertIsInstance(doc.get("openapi"), str)
        self.assertRegex(doc["openapi"], r"^3\.0\.\d+$")
        self.assertIn("info", doc)
        paths = doc.get("paths")
        self.assertIsInstance(paths, dict)
        global_sec = doc.get("security")
        base = ""
        servers = doc.get("servers") or []
        if servers and isinstance(servers[0], dict):
            base = urllib.parse.urlsplit(servers[0].get("url", "")).path.rstrip("/")
        for method, path, public in ROUTES:
            with self.subTest(method=method, path=path):
                item = paths.get(path)
                if item is None and base and path.startswith(base + "/"):
                    item = paths.get(path[len(base):])
                self.assertIsNotNone(item, "path %s not in OpenAPI paths %s"
                                     % (path, sorted(paths)))
                op = item.get(method)
                self.assertIsInstance(op, dict, "no %s operation for %s" % (method, path))
                self.assertIsInstance(op.get("responses"), dict)
                self.assertTrue(op["responses"])
                sec = op.get("security", global_sec)
                if public:
                    self.assertFalse(sec, "%s %s should need no sign-in: %r"
                                     % (method, path, sec))
                else:
                    self.assertTrue(sec, "%s %s should declare a security requirement"
                                    % (method, path))
                    self.assertIsInstance(sec, list)


class TestMaxBody(ServerTestCase):
    server_args = ("--max-body", "2048")

    def test_over_limit(self):
        body = json.dumps({"username": "x" * 2100, "password": "y"}).encode()
        self.assertGreater(len(body), 2048)
        r = self.server.request("POST", "/api/v1/session", body=body)
        self.assertError(r, 413, "too_large")
        self.assertSecurityHeaders(r, api=True)

    def test_one_over_limit(self):
        body = json.dumps({"username": ADMIN_USER, "password": ADMIN_PASSWORD}).encode()
        body = body[:-1] + b" " * (2049 - len(body)) + b"}"
        r = self.server.request("POST", "/api/v1/session", body=body)
        self.assertError(r, 413, "too_large")

    def test_under_limit(self):
        body = json.dumps({"username": ADMIN_USER, "password": ADMIN_PASSWORD,
                           }).encode()
        body = body[:-1] + b" " * (2048 - len(body)) + b"}"
        self.assertEqual(len(body), 2048)
        r = self.server.request("POST", "/api/v1/session", body=body)
        self.assertEqual(r.status, 200, r.raw)


# ---------------------------------------------------------------------------


class TestSessions(ServerTestCase, AuditMixin):

    def test_sign_in(self):
        r = self.server.post("/api/v1/session", {"username": ADMIN_USER,
                                                 "password": ADMIN_PASSWORD})
        self.assertEqual(r.status, 200, r.raw)
        self.assertSecurityHeaders(r, api=True)
        b = r.json
        self.assertIsInstance(b.get("token"), str)
        self.assertGreaterEqual(len(b["token"]), 16)
        self.assertUser(b.get("user"), username=ADMIN_USER, role="admin", full=False)
        self.assertIsInstance(b.get("idle_timeout_seconds"), int)
        self.assertEqual(b["idle_timeout_seconds"], 900)
        value, attrs = session_cookie(r)
        self.assertIsNotNone(value, "no bs_session cookie: %r"
                             % r.headers.get_all("Set-Cookie"))
        self.assertEqual(value, b["token"])
        self.assertIn("httponly", attrs)
        self.assertEqual(attrs.get("samesite", "").lower(), "strict")
        self.assertEqual(attrs.get("path"), "/")

    def test_bearer_and_cookie(self):
        tok = self.server.login()
        r = self.server.get("/api/v1/session", token=tok)
        self.assertEqual(r.status, 200, r.raw)
        self.assertSecurityHeaders(r, api=True)
        self.assertUser(r.json.get("user"), username=ADMIN_USER, role="admin", full=False)
        perms = r.json.get("permissions")
        self.assertIsInstance(perms, list)
        self.assertTrue(perms)
        for p in perms:
            self.assertIsInstance(p, str)
        r = self.server.get("/api/v1/session", headers={"Cookie": "bs_session=" + tok})
        self.assertEqual(r.status, 200, r.raw)
        self.assertEqual(r.json["user"]["username"], ADMIN_USER)
        r = self.server.get("/api/v1/session",
                            headers={"Cookie": "theme=dark; bs_session=%s; lang=en" % tok})
        self.assertEqual(r.status, 200, r.raw)

    def test_no_or_bad_token(self):
        for hdrs in ({}, {"Authorization": "Bearer nonsense"},
                     {"Authorization": "Bearer " + "A" * 43},
                     {"Authorization": "Basic YWRtaW46YWRtaW4="},
                     {"Cookie": "bs_session=nonsense"},
                     {"Authorization": "Bearer "}):
            with self.subTest(headers=hdrs):
                r = self.server.get("/api/v1/session", headers=hdrs)
                self.assertError(r, 401, "unauthorized")
                r = self.server.get("/api/v1/users", headers=hdrs)
                self.assertError(r, 401, "unauthorized")

    def test_bad_credentials_same_message(self):
        name = unique("bc")
        self.server.create_user(name, "technician", "right-password-1")
        r1 = self.server.post("/api/v1/session", {"username": name, "password": "wrong-pass-1"})
        e1 = self.assertError(r1, 401, "bad_credentials")
        r2 = self.server.post("/api/v1/session", {"username": unique("ghost"),
                                                  "password": "wrong-pass-1"})
        e2 = self.assertError(r2, 401, "bad_credentials")
        self.assertEqual(e1["message"], e2["message"])
        self.assertEqual(e1.get("field"), e2.get("field"))

    def test_sign_in_missing_field(self):
        r = self.server.post("/api/v1/session", {"username": ADMIN_USER})
        self.assertError(r, 400, "missing_field", field="password")

    def test_lockout_after_five(self):
        name = unique("lk")
        u = self.server.create_user(name, "technician", "right-password-1")
        for i in range(5):
            r = self.server.post("/api/v1/session", {"username": name,
                                                     "password": "wrong-pass-%d" % i})
            self.assertError(r, 401, "bad_credentials", msg="attempt %d" % (i + 1))
        r = self.server.post("/api/v1/session", {"username": name,
                                                 "password": "right-password-1"})
        self.assertError(r, 403, "account_locked")
        r = self.server.post("/api/v1/session", {"username": name,
                                                 "password": "wrong-pass-again"})
        self.assertError(r, 403, "account_locked")
        r = self.server.get("/api/v1/users/" + u["id"], token=self.server.admin())
        self.assertEqual(r.status, 200)
        self.assertIs(r.json["locked"], True)
        # user.lock audit event
        items = self.audit_items(action="user.lock", entity_id=u["id"])
        self.assertEqual(len(items), 1, items)
        self.assertEqual(items[0]["entity_type"], "user")
        fails = about_user(self.audit_items(action="session.fail"), name, u["id"])
        reasons = [e["detail"].get("reason") for e in fails]
        self.assertIn("locked", reasons)
        self.assertIn("bad_password", reasons)
        # unlock
        # a POST without a body needs no Content-Type
        r = self.server.request("POST", "/api/v1/users/%s/unlock" % u["id"],
                                token=self.server.admin())
        self.assertEqual(r.status, 200, r.raw)
        self.assertUser(r.json, username=name)
        self.assertIs(r.json["locked"], False)
        self.server.login(name, "right-password-1")
        self.assertEqual(len(self.audit_items(action="user.unlock", entity_id=u["id"])), 1)

    def test_success_resets_failure_count(self):
        name = unique("rs")
        self.server.create_user(name, "technician", "right-password-1")
        for i in range(4):
            r = self.server.post("/api/v1/session", {"username": name, "password": "bad-pw-xx"})
            self.assertError(r, 401, "bad_credentials")
        self.server.login(name, "right-password-1")
        for i in range(4):
            r = self.server.post("/api/v1/session", {"username": name, "password": "bad-pw-xx"})
            self.assertError(r, 401, "bad_credentials", msg="second run, attempt %d" % i)
        self.server.login(name, "right-password-1")

    def test_disabled_account(self):
        name = unique("ds")
        u = self.server.create_user(name, "clinician", "right-password-1")
        r = self.server.patch("/api/v1/users/" + u["id"], {"disabled": True},
                              token=self.server.admin())
        self.assertEqual(r.status, 200, r.raw)
        self.assertIs(r.json["disabled"], True)
        r = self.server.post("/api/v1/session", {"username": name,
                                                 "password": "right-password-1"})
        self.assertError(r, 403, "account_disabled")
        fails = about_user(self.audit_items(action="session.fail"), name, u["id"])
        self.assertIn("disabled", [e["detail"].get("reason") for e in fails])
        r = self.server.patch("/api/v1/users/" + u["id"], {"disabled": False},
                              token=self.server.admin())
        self.assertEqual(r.status, 200, r.raw)
        self.assertIs(r.json["disabled"], False)
        self.server.login(name, "right-password-1")

    def test_sign_out(self):
        tok = self.server.login()
        r = self.server.delete("/api/v1/session", token=tok)
        self.assertEqual(r.status, 204, r.raw)
        self.assertEqual(r.raw, b"")
        self.assertSecurityHeaders(r, api=True)
        r = self.server.get("/api/v1/session", token=tok)
        self.assertError(r, 401, "unauthorized")
        r = self.server.get("/api/v1/session", headers={"Cookie": "bs_session=" + tok})
        self.assertError(r, 401, "unauthorized")
        r = self.server.delete("/api/v1/session", token=tok)
        self.assertError(r, 401, "unauthorized")

    def test_change_own_password(self):
        name = unique("pw")
        self.server.create_user(name, "technician", "first-password-1")
        tok = self.server.login(name, "first-password-1")
        r = self.server.post("/api/v1/session/password",
                             {"current_password": "not-my-password",
                              "new_password": "second-password-2"}, token=tok)
        self.assertError(r, 400, "invalid", field="current_password")
        r = self.server.post("/api/v1/session/password",
                             {"current_password": "first-password-1",
                              "new_password": "short"}, token=tok)
        self.assertError(r, 400, "invalid", field="new_password")
        r = self.server.post("/api/v1/session/password",
                             {"current_password": "first-password-1",
                              "new_password": "123456789"}, token=tok)
        self.assertError(r, 400, "invalid", field="new_password")
        r = self.server.post("/api/v1/session/password",
                             {"current_password": "first-password-1"}, token=tok)
        self.assertError(r, 400, "missing_field", field="new_password")
        r = self.server.post("/api/v1/session/password",
                             {"current_password": "first-password-1",
                              "new_password": "second-password-2"}, token=tok)
        self.assertEqual(r.status, 204, r.raw)
        r = self.server.post("/api/v1/session", {"username": name,
                                                 "password": "first-password-1"})
        self.assertError(r, 401, "bad_credentials")
        self.server.login(name, "second-password-2")

    def test_change_password_needs_sign_in(self):
        r = self.server.post("/api/v1/session/password",
                             {"current_password": "x" * 10, "new_password": "y" * 10})
        self.assertError(r, 401, "unauthorized")


class TestLockoutRace(ServerTestCase, AuditMixin):
    """Sign-in attempts that arrive together (16 server threads, so they really
    run at the same time)."""
    server_args = ("--threads", "16")

    def test_lockout_concurrent(self):
        """Wrong passwords sent at once still lock the account, and the lock is
        recorded once."""
        import threading
        name = unique("cl")
        u = self.server.create_user(name, "technician", "right-password-1")
        statuses = []

        def worker(i):
            r = self.server.post("/api/v1/session", {"username": name,
                                                     "password": "wrong-pass-%d" % i})
            statuses.append((r.status, (r.json or {}).get("error", {}).get("code")))
        threads = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        for st in statuses:
            self.assertIn(st, ((401, "bad_credentials"), (403, "account_locked")), statuses)
        r = self.server.post("/api/v1/session", {"username": name,
                                                 "password": "right-password-1"})
        self.assertError(r, 403, "account_locked")
        locks = self.audit_items(action="user.lock", entity_id=u["id"])
        with self.subTest(check="at most five wrong passwords judged"):
            # the others must meet the lock, or parallel guessing beats the limit
            judged = [st for st in statuses if st[0] == 401]
            self.assertLessEqual(len(judged), 5, "%d of 16 concurrent wrong passwords were "
                                 "checked (401) instead of meeting the lock (403)"
                                 % len(judged))
        with self.subTest(check="one user.lock event"):
            self.assertEqual(len(locks), 1, "one lockout, %d user.lock events: %s"
                             % (len(locks), [(e["seq"], e["detail"]) for e in locks]))



class TestIdleTimeout(ServerTestCase):
    server_args = ("--session-idle-seconds", "2")

    def test_idle_expiry(self):
        r = self.server.post("/api/v1/session", {"username": ADMIN_USER,
                                                 "password": ADMIN_PASSWORD})
        self.assertEqual(r.status, 200, r.raw)
        self.assertEqual(r.json.get("idle_timeout_seconds"), 2)
        tok = r.json["token"]
        self.assertEqual(self.server.get("/api/v1/session", token=tok).status, 200)
        time.sleep(3.2)
        r = self.server.get("/api/v1/session", token=tok)
        self.assertError(r, 401, "unauthorized")

    def test_activity_keeps_alive(self):
        tok = self.server.login()
        start = time.time()
        n = 0
        while time.time() - start < 4.5:
            time.sleep(1)
            r = self.server.get("/api/v1/session", token=tok)
            n += 1
            self.assertEqual(r.status, 200, "request %d after %.1fs: %r"
                             % (n, time.time() - start, r.raw))
        self.assertGreater(time.time() - start, 3)


# ---------------------------------------------------------------------------


class TestUsers(ServerTestCase, AuditMixin):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tokens = {}
        for role in ("technician", "supervisor", "clinician", "biomed", "interface"):
            name = "role-" + role
            cls.server.create_user(name, role, "password-" + role)
            cls.tokens[role] = cls.server.login(name, "password-" + role)

    def post_user(self, body, token=None):
        return self.server.post("/api/v1/users", body, token=token or self.server.admin())

    def test_create(self):
        name = unique("cr")
        r = self.post_user({"username": name, "password": "password-123",
                            "role": "technician", "display_name": "Ada Lovelace"})
        self.assertEqual(r.status, 201, r.raw)
        self.assertSecurityHeaders(r, api=True)
        u = r.json
        self.assertUser(u, username=name, role="technician")
        self.assertEqual(u["display_name"], "Ada Lovelace")
        self.assertIs(u["locked"], False)
        self.assertIs(u["disabled"], False)
        self.assertNotIn("password", u)
        self.assertNotIn("password_hash", u)
        r = self.server.get("/api/v1/users/" + u["id"], token=self.server.admin())
        self.assertEqual(r.status, 200, r.raw)
        self.assertEqual(r.json, u)
        self.server.login(name, "password-123")

    def test_unicode_display_name(self):
        u = self.server.create_user(unique("un"), "technician",
                                    display_name="Zoë Ünal 山田")
        self.assertEqual(u["display_name"], "Zoë Ünal 山田")
        r = self.server.get("/api/v1/users/" + u["id"], token=self.server.admin())
        self.assertEqual(r.json["display_name"], "Zoë Ünal 山田")

    def test_list_pagination(self):
        tok = self.server.admin()
        for i in range(3):
            self.server.create_user(unique("pg"), "technician")
        full = self.server.get("/api/v1/users?limit=200", token=tok).json["items"]
        seen, cursor, pages = [], None, 0
        while True:
            r = self.server.get("/api/v1/users?limit=2" +
                                ("&cursor=" + urllib.parse.quote(cursor) if cursor else ""),
                                token=tok)
            self.assertEqual(r.status, 200, r.raw)
            self.assertLessEqual(len(r.json["items"]), 2)
            seen += [u["id"] for u in r.json["items"]]
            cursor = r.json["next"]
            pages += 1
            self.assertLess(pages, 500)
            if cursor is None:
                break
        self.assertEqual(len(seen), len(set(seen)), "pages overlap")
        self.assertEqual(set(seen), {u["id"] for u in full})
        r = self.server.get("/api/v1/users?limit=0", token=tok)
        self.assertError(r, 400, "invalid", field="limit")

    def test_create_without_display_name(self):
        name = unique("nd")
        r = self.post_user({"username": name, "password": "password-123", "role": "biomed"})
        self.assertEqual(r.status, 201, r.raw)
        self.assertUser(r.json, username=name, role="biomed")

    def test_all_roles(self):
        for role in harness.ROLES:
            with self.subTest(role=role):
                r = self.post_user({"username": unique(role[:4]), "password": "password-123",
                                    "role": role})
                self.assertEqual(r.status, 201, r.raw)
                self.assertEqual(r.json["role"], role)

    def test_username_rules(self):
        for bad in ("ab", "Alice", "bad name", "x" * 65, "ünïcode", "a/b", "a@b", "",
                    "abc\n", "tab\tname"):
            with self.subTest(username=bad):
                r = self.post_user({"username": bad, "password": "password-123",
                                    "role": "technician"})
                self.assertError(r, 400, "invalid", field="username")
        for good in ("abc", "a.b_c-9", "z" * 64, "0" + unique("")[:5]):
            with self.subTest(username=good):
                r = self.post_user({"username": good, "password": "password-123",
                                    "role": "technician"})
                self.assertEqual(r.status, 201, r.raw)

    def test_password_rules(self):
        r = self.post_user({"username": unique("pr"), "password": "123456789",
                            "role": "technician"})
        self.assertError(r, 400, "invalid", field="password")
        r = self.post_user({"username": unique("pr"), "password": "",
                            "role": "technician"})
        self.assertError(r, 400, "invalid", field="password")
        r = self.post_user({"username": unique("pr"), "password": "1234567890",
                            "role": "technician"})
        self.assertEqual(r.status, 201, r.raw)

    def test_role_rules(self):
        for bad in ("root", "Admin", "", "technicians"):
            with self.subTest(role=bad):
                r = self.post_user({"username": unique("rr"), "password": "password-123",
                                    "role": bad})
                self.assertError(r, 400, "invalid", field="role")

    def test_duplicate(self):
        name = unique("dup")
        self.assertEqual(self.post_user({"username": name, "password": "password-123",
                                         "role": "technician"}).status, 201)
        r = self.post_user({"username": name, "password": "password-456",
                            "role": "supervisor"})
        self.assertError(r, 409, "conflict", field="username")
        r = self.post_user({"username": ADMIN_USER, "password": "password-456",
                            "role": "admin"})
        self.assertError(r, 409, "conflict", field="username")

    def test_unknown_and_missing_fields(self):
        r = self.post_user({"username": unique("uf"), "password": "password-123",
                            "role": "technician", "colour": "blue"})
        self.assertError(r, 400, "unknown_field", field="colour")
        r = self.post_user({"password": "password-123", "role": "technician"})
        self.assertError(r, 400, "missing_field", field="username")
        r = self.post_user({"username": unique("mf"), "role": "technician"})
        self.assertError(r, 400, "missing_field", field="password")
        r = self.post_user({"username": unique("mf"), "password": "password-123"})
        self.assertError(r, 400, "missing_field", field="role")

    def test_wrong_types(self):
        r = self.post_user({"username": 123, "password": "password-123", "role": "technician"})
        self.assertError(r, 400, "invalid", field="username")
        r = self.post_user({"username": unique("wt"), "password": ["x"], "role": "technician"})
        self.assertError(r, 400, "invalid", field="password")
        r = self.post_user({"username": unique("wt"), "password": "password-123",
                            "role": "technician", "display_name": 5})
        self.assertError(r, 400, "invalid", field="display_name")

    def test_forbidden_for_non_admins(self):
        for role, tok in self.tokens.items():
            with self.subTest(role=role):
                r = self.post_user({"username": unique("fb"), "password": "password-123",
                                    "role": "admin"}, token=tok)
                self.assertError(r, 403, "forbidden")
                self.assertSecurityHeaders(r, api=True)
                r = self.server.get("/api/v1/users", token=tok)
                self.assertError(r, 403, "forbidden")

    def test_forbidden_other_admin_routes(self):
        tok = self.tokens["technician"]
        admin_id = self.server.get("/api/v1/session", token=self.server.admin()).json["user"]["id"]
        for method, path, body in (
                ("GET", "/api/v1/users/" + admin_id, None),
                ("PATCH", "/api/v1/users/" + admin_id, {"role": "technician"}),
                ("POST", "/api/v1/users/%s/unlock" % admin_id, {}),
                ("POST", "/api/v1/users/%s/password" % admin_id, {"password": "hijacked-pw-1"}),
                ("GET", "/api/v1/audit/verify", None)):
            with self.subTest(method=method, path=path):
                r = self.server.request(method, path, body=body, token=tok)
                self.assertError(r, 403, "forbidden")
        # nothing changed
        self.server.login()

    def test_concurrent_duplicate(self):
        import threading
        name = unique("race")
        results = []

        def worker():
            r = self.post_user({"username": name, "password": "password-123",
                                "role": "technician"})
            results.append((r.status, r.json))
        threads = [threading.Thread(target=worker) for _ in range(10)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        statuses = sorted(s for s, _ in results)
        self.assertEqual(statuses.count(201), 1, results)
        for st, body in results:
            if st != 201:
                self.assertEqual(st, 409, body)
                self.assertEqual(body["error"]["code"], "conflict")
        r = self.server.get("/api/v1/users?limit=200", token=self.server.admin())
        self.assertEqual([u["username"] for u in r.json["items"]].count(name), 1)

    def test_list(self):
        name = unique("ls")
        u = self.server.create_user(name, "supervisor")
        r = self.server.get("/api/v1/users", token=self.server.admin())
        self.assertEqual(r.status, 200, r.raw)
        self.assertSecurityHeaders(r, api=True)
        self.assertIn("items", r.json)
        self.assertIn("next", r.json)
        self.assertTrue(r.json["next"] is None or isinstance(r.json["next"], str))
        items = r.json["items"]
        self.assertIsInstance(items, list)
        for it in items:
            self.assertUser(it)
        by_id = {it["id"]: it for it in items}
        self.assertIn(u["id"], by_id)
        self.assertEqual(by_id[u["id"]]["username"], name)
        self.assertIn(ADMIN_USER, [it["username"] for it in items])

    def test_get_unknown(self):
        for uid in ("does-not-exist", "00000000000000000000000000000000", "1"):
            with self.subTest(id=uid):
                r = self.server.get("/api/v1/users/" + uid, token=self.server.admin())
                self.assertError(r, 404, "not_found")
        r = self.server.patch("/api/v1/users/does-not-exist", {"display_name": "x"},
                              token=self.server.admin())
        self.assertError(r, 404, "not_found")
        r = self.server.post("/api/v1/users/does-not-exist/unlock", {},
                             token=self.server.admin())
        self.assertError(r, 404, "not_found")
        r = self.server.post("/api/v1/users/does-not-exist/password",
                             {"password": "password-123"}, token=self.server.admin())
        self.assertError(r, 404, "not_found")

    def test_patch(self):
        name = unique("pa")
        u = self.server.create_user(name, "technician", display_name="Before")
        tok = self.server.admin()
        path = "/api/v1/users/" + u["id"]
        r = self.server.patch(path, {"display_name": "After"}, token=tok)
        self.assertEqual(r.status, 200, r.raw)
        self.assertUser(r.json, username=name, role="technician")
        self.assertEqual(r.json["display_name"], "After")
        r = self.server.patch(path, {"role": "supervisor"}, token=tok)
        self.assertEqual(r.status, 200, r.raw)
        self.assertEqual(r.json["role"], "supervisor")
        self.assertEqual(r.json["display_name"], "After")
        r = self.server.get(path, token=tok)
        self.assertEqual((r.json["role"], r.json["display_name"]), ("supervisor", "After"))
        r = self.server.patch(path, {"role": "wizard"}, token=tok)
        self.assertError(r, 400, "invalid", field="role")
        r = self.server.patch(path, {"disabled": "yes"}, token=tok)
        self.assertError(r, 400, "invalid", field="disabled")
        r = self.server.patch(path, {"username": "renamed"}, token=tok)
        self.assertError(r, 400, "unknown_field", field="username")
        r = self.server.get(path, token=tok)
        self.assertEqual(r.json["role"], "supervisor")
        ev = self.audit_items(action="user.update", entity_id=u["id"])
        self.assertGreaterEqual(len(ev), 2)

    def test_admin_sets_password(self):
        name = unique("ap")
        u = self.server.create_user(name, "technician", "old-password-1")
        path = "/api/v1/users/%s/password" % u["id"]
        r = self.server.post(path, {"password": "short"}, token=self.server.admin())
        self.assertError(r, 400, "invalid", field="password")
        r = self.server.post(path, {"password": "new-password-2", "x": 1},
                             token=self.server.admin())
        self.assertError(r, 400, "unknown_field", field="x")
        r = self.server.post(path, {"password": "new-password-2"}, token=self.server.admin())
        self.assertEqual(r.status, 204, r.raw)
        r = self.server.post("/api/v1/session", {"username": name,
                                                 "password": "old-password-1"})
        self.assertError(r, 401, "bad_credentials")
        self.server.login(name, "new-password-2")
        ev = self.audit_items(action="user.password", entity_id=u["id"])
        self.assertEqual(len(ev), 1, ev)
        self.assertNotIn("new-password-2", json.dumps(ev))


# ---------------------------------------------------------------------------


class TestAudit(ServerTestCase, AuditMixin):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        s = cls.server
        s.create_user("tech1", "technician", "tech-password-1")
        s.create_user("super1", "supervisor", "super-password-1")
        cls.tech = s.login("tech1", "tech-password-1")
        cls.sup = s.login("super1", "super-password-1")
        cls.tech_id = s.get("/api/v1/session", token=cls.tech).json["user"]["id"]

    def check_event(self, e):
        for k in ("seq", "id", "at", "actor", "actor_id", "action", "entity_type",
                  "entity_id", "source", "outcome", "detail", "hash"):
            self.assertIn(k, e, repr(e))
        self.assertIsInstance(e["seq"], int)
        self.assertNotIsInstance(e["seq"], bool)
        self.assertIsInstance(e["id"], str)
        self.assertISO(e["at"])
        self.assertIsInstance(e["actor"], str)
        self.assertTrue(e["actor_id"] is None or isinstance(e["actor_id"], str))
        for k in ("action", "entity_type", "entity_id", "source", "outcome"):
            self.assertIsInstance(e[k], str, k)
        self.assertIsInstance(e["detail"], dict)
        self.assertRegex(e["hash"], HEX64_RE)

    def test_shape_and_order(self):
        r = self.audit(limit=500)
        self.assertEqual(r.status, 200, r.raw)
        self.assertSecurityHeaders(r, api=True)
        self.assertIn("next", r.json)
        items = r.json["items"]
        self.assertGreater(len(items), 3)
        for e in items:
            self.check_event(e)
        seqs = [e["seq"] for e in items]
        self.assertEqual(seqs, sorted(seqs, reverse=True), "not newest first")
        self.assertEqual(len(set(seqs)), len(seqs))
        self.assertEqual(len({e["id"] for e in items}), len(items))
        ats = [parse_iso(e["at"]) for e in items]
        self.assertEqual(ats, sorted(ats, reverse=True))

    def test_permission_denied_event(self):
        r = self.server.post("/api/v1/users", {"username": unique("pd"),
                                               "password": "password-123",
                                               "role": "admin"}, token=self.tech)
        self.assertError(r, 403, "forbidden")
        items = self.audit_items(action="permission.denied", actor="tech1")
        self.assertTrue(items, "no permission.denied event for tech1")
        e = items[0]
        self.check_event(e)
        self.assertEqual(e["actor"], "tech1")
        self.assertEqual(e["actor_id"], self.tech_id)
        self.assertEqual(e["outcome"], "denied")
        self.assertEqual(e["source"], "127.0.0.1")
        self.assertEqual(e["detail"].get("method"), "POST")
        self.assertEqual(e["detail"].get("path"), "/api/v1/users")

    def test_session_fail_events(self):
        self.server.post("/api/v1/session", {"username": "tech1", "password": "wrong-wrong"})
        items = self.audit_items(action="session.fail")
        mine = [e for e in about_user(items, "tech1", self.tech_id)
                if e["detail"].get("reason") == "bad_password"]
        self.assertTrue(mine, items[:5])
        e = mine[0]
        self.assertEqual(e["outcome"], "failed")
        self.assertEqual(e["source"], "127.0.0.1")
        self.assertNotIn("wrong-wrong", json.dumps(items))
        ghost = unique("ghost")
        self.server.post("/api/v1/session", {"username": ghost, "password": "wrong-wrong"})
        items = self.audit_items(action="session.fail")
        self.assertEqual(items[0]["detail"].get("reason"), "unknown_user", items[0])
        self.assertEqual(items[0]["outcome"], "failed")
        for e in items:
            self.assertIn(e["detail"].get("reason"),
                          ("bad_password", "unknown_user", "locked", "disabled"))
        # the session.fail after a locked account is covered in TestSessions

    def test_session_create_and_delete_events(self):
        tok = self.server.login("super1", "super-password-1")
        items = self.audit_items(action="session.create", actor="super1")
        self.assertTrue(items)
        self.assertEqual(items[0]["outcome"], "ok")
        self.assertEqual(items[0]["source"], "127.0.0.1")
        self.assertNotIn(tok, json.dumps(items))
        self.assertEqual(self.server.delete("/api/v1/session", token=tok).status, 204)
        items = self.audit_items(action="session.delete", actor="super1")
        self.assertTrue(items)

    def test_user_create_event(self):
        u = self.server.create_user(unique("ev"), "biomed")
        items = self.audit_items(action="user.create", entity_id=u["id"])
        self.assertEqual(len(items), 1, items)
        e = items[0]
        self.assertEqual(e["entity_type"], "user")
        self.assertEqual(e["entity_id"], u["id"])
        self.assertEqual(e["actor"], ADMIN_USER)
        self.assertEqual(e["outcome"], "ok")
        self.assertEqual(e["source"], "127.0.0.1")
        items = self.audit_items(entity_type="user", entity_id=u["id"])
        self.assertIn("user.create", [x["action"] for x in items])
        for x in items:
            self.assertEqual((x["entity_type"], x["entity_id"]), ("user", u["id"]))

    def test_filters(self):
        self.server.get("/api/v1/users", token=self.tech)  # a denied event
        for key, value in (("action", "permission.denied"), ("actor", "tech1"),
                           ("outcome", "denied"), ("entity_type", "user")):
            with self.subTest(key=key):
                items = self.audit_items(**{key: value})
                self.assertTrue(items, key)
                for e in items:
                    self.assertEqual(e[key], value)
        items = self.audit_items(action="no.such.action")
        self.assertEqual(items, [])

    def test_time_range(self):
        items = self.audit_items()
        e = items[len(items) // 2]
        at = parse_iso(e["at"])
        sel = self.audit_items(**{"from": iso(at - datetime.timedelta(seconds=1)),
                                  "to": iso(at + datetime.timedelta(seconds=1))})
        self.assertIn(e["seq"], [x["seq"] for x in sel])
        for x in sel:
            t = parse_iso(x["at"])
            self.assertGreaterEqual(t, at - datetime.timedelta(seconds=1))
            self.assertLessEqual(t, at + datetime.timedelta(seconds=1))
        self.assertEqual(self.audit_items(**{"from": "2999-01-01T00:00:00Z"}), [])
        self.assertEqual(self.audit_items(to="1999-01-01T00:00:00Z"), [])

    def test_bad_parameters(self):
        for params, field in (({"limit": "0"}, "limit"), ({"limit": "501"}, "limit"),
                              ({"limit": "abc"}, "limit"), ({"limit": "-1"}, "limit"),
                              ({"limit": "10x"}, "limit"),
                              ({"from": "yesterday"}, "from"), ({"to": "2024-13-45"}, "to"),
                              ({"from": "2024-01-01T25:00:00Z"}, "from")):
            with self.subTest(params=params):
                r = self.audit(**params)
                self.assertError(r, 400, "invalid", field=field)
        r = self.audit(limit=1)
        self.assertEqual(r.status, 200)
        self.assertEqual(len(r.json["items"]), 1)
        r = self.audit(limit=500)
        self.assertEqual(r.status, 200)

    def test_pagination(self):
        for _ in range(12):
            self.server.get("/api/v1/audit/verify", token=self.tech)  # denied events
        full = self.audit_items(limit=500)
        self.assertGreater(len(full), 12)
        seen = []
        cursor = None
        pages = 0
        while True:
            params = {"limit": 5}
            if cursor:
                params["cursor"] = cursor
            r = self.audit(**params)
            self.assertEqual(r.status, 200, r.raw)
            page = r.json["items"]
            self.assertLessEqual(len(page), 5)
            seen += [e["seq"] for e in page]
            cursor = r.json["next"]
            pages += 1
            self.assertLess(pages, 200, "pagination does not end")
            if cursor is None:
                break
            self.assertIsInstance(cursor, str)
            self.assertEqual(len(page), 5)
        self.assertEqual(len(seen), len(set(seen)), "pages overlap")
        self.assertEqual(seen, sorted(seen, reverse=True))
        missing = {e["seq"] for e in full} - set(seen)
        self.assertFalse(missing, "events skipped by pagination: %s" % sorted(missing))
        r = self.audit(cursor="not-a-cursor!!")
        self.assertError(r, 400, "invalid")

    def test_default_limit(self):
        for _ in range(105):
            self.server.get("/api/v1/users", token=self.tech)
        r = self.audit()
        self.assertEqual(r.status, 200)
        self.assertEqual(len(r.json["items"]), 100)
        self.assertIsInstance(r.json["next"], str)
        r2 = self.audit(cursor=r.json["next"])
        self.assertEqual(r2.status, 200)
        self.assertLess(r2.json["items"][0]["seq"], r.json["items"][-1]["seq"])

    def test_access(self):
        r = self.audit(token=self.sup, limit=5)
        self.assertEqual(r.status, 200, r.raw)
        r = self.audit(token=self.tech, limit=5)
        self.assertError(r, 403, "forbidden")
        r = self.server.get("/api/v1/audit")
        self.assertError(r, 401, "unauthorized")
        r = self.server.get("/api/v1/audit/verify", token=self.sup)
        self.assertError(r, 403, "forbidden")
        r = self.server.get("/api/v1/audit/verify")
        self.assertError(r, 401, "unauthorized")

    def test_concurrent_writes_keep_chain(self):
        import threading
        errors = []

        def worker(i):
            try:
                for j in range(5):
                    r = self.server.get("/api/v1/users", token=self.tech)
                    if r.status != 403:
                        errors.append((i, j, r.status, r.raw[:200]))
            except Exception as e:  # pragma: no cover
                errors.append((i, repr(e)))
        threads = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(errors, [])
        items = self.audit_items(limit=500)
        seqs = [e["seq"] for e in items]
        self.assertEqual(seqs, list(range(seqs[0], seqs[0] - len(seqs), -1)),
                         "audit seq numbers are not contiguous")
        r = self.server.get("/api/v1/audit/verify", token=self.server.admin())
        self.assertEqual(r.status, 200, r.raw)
        self.assertIs(r.json.get("ok"), True, r.json)

    def test_source_ignores_forwarding_headers(self):
        r = self.server.get("/api/v1/users", token=self.tech,
                            headers={"X-Forwarded-For": "6.6.6.6", "X-Real-IP": "7.7.7.7",
                                     "Forwarded": "for=8.8.8.8"})
        self.assertError(r, 403, "forbidden")
        e = self.audit_items(action="permission.denied", actor="tech1", limit=1)[0]
        self.assertEqual(e["source"], "127.0.0.1")

    def test_role_change_applies_to_open_sessions(self):
        name = unique("demo")
        u = self.server.create_user(name, "supervisor", "super-password-2")
        tok = self.server.login(name, "super-password-2")
        self.assertEqual(self.audit(token=tok, limit=1).status, 200)
        r = self.server.patch("/api/v1/users/" + u["id"], {"role": "technician"},
                              token=self.server.admin())
        self.assertEqual(r.status, 200, r.raw)
        self.assertError(self.audit(token=tok, limit=1), 403, "forbidden")

    def test_verify(self):
        top = self.audit_items(limit=1)[0]["seq"]
        r = self.server.get("/api/v1/audit/verify", token=self.server.admin())
        self.assertEqual(r.status, 200, r.raw)
        self.assertSecurityHeaders(r, api=True)
        self.assertIs(r.json.get("ok"), True, r.json)
        self.assertIsInstance(r.json.get("events"), int)
        self.assertGreaterEqual(r.json["events"], top)


if __name__ == "__main__":
    unittest.main()
