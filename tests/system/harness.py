"""Shared helpers for benchside's system tests.

The tests start the real `benchside` binary on loopback and talk to it over
HTTP(S) and raw sockets. Python 3 standard library only.

Environment:
  BENCHSIDE_BIN      path to the binary (default: build-test/benchside, relative
                     to the repository root).
  BENCHSIDE_TEST_PG  a PostgreSQL URL (postgresql://user@host:port/postgres).
                     When set, every Server gets a fresh PostgreSQL database
                     made with psql; otherwise a fresh SQLite file.
  BENCHSIDE_TEST_KEEP  when set, temporary folders are kept (for debugging).
"""

import http.client
import json
import os
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse
from email.message import Message
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

ADMIN_USER = "admin"
ADMIN_PASSWORD = "admin-password-0001"

ISO_RE = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})$")
HEX64_RE = re.compile(r"^[0-9a-f]{64}$")

ROLES = ("admin", "supervisor", "technician", "biomed", "clinician", "interface")


SANITIZER_RE = re.compile(r"ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error: |"
                          r"ThreadSanitizer|SUMMARY: UndefinedBehaviorSanitizer")


def sanitizer_report(text):
    """The first sanitizer report in text (with some context), or None."""
    m = SANITIZER_RE.search(text or "")
    if not m:
        return None
    return text[max(0, m.start() - 200):m.start() + 3000]


def bin_path():
    p = os.environ.get("BENCHSIDE_BIN") or "build-test/benchside"
    p = Path(p)
    if not p.is_absolute():
        p = REPO / p
    return str(p)


def binary_exists():
    p = bin_path()
    return os.path.isfile(p) and os.access(p, os.X_OK)


def require_binary(testcase_cls=None):
    """Skip the calling test class when the binary has not been built."""
    if not binary_exists():
        raise unittest.SkipTest("benchside binary not found at %s (set BENCHSIDE_BIN)"
                                % bin_path())


def pg_url():
    return os.environ.get("BENCHSIDE_TEST_PG") or None


def backend():
    return "postgresql" if pg_url() else "sqlite"


def cli_env(extra=None):
    env = dict(os.environ)
    # The test binary is built with sanitizers; keep their reports on stderr.
    # (the same settings as tests/run.py unless the caller set its own)
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0:strict_string_checks=1")
    env.setdefault("UBSAN_OPTIONS", "halt_on_error=1:print_stacktrace=1")
    supp = REPO / "tests" / "lsan.supp"
    if supp.exists():
        env.setdefault("LSAN_OPTIONS", "suppressions=%s" % supp)
    env.pop("BENCHSIDE_DB", None)
    if extra:
        env.update(extra)
    return env


def run_cli(args, input=None, env=None, cwd=None, timeout=60):
    """Run `benchside ARGS...`; returns subprocess.CompletedProcess with text output.

    input: str written to stdin (or None). env: extra environment variables.
    """
    return subprocess.run([bin_path()] + [str(a) for a in args], input=input,
                          capture_output=True, timeout=timeout, env=cli_env(env),
                          cwd=cwd, encoding="utf-8", errors="replace")


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


# ---------------------------------------------------------------------------
# Databases


class Database:
    """A fresh database: a SQLite file in tmpdir, or a new PostgreSQL database."""

    def __init__(self, tmpdir, force_sqlite=False, sqlite_options=""):
        self.tmpdir = tmpdir
        self.pg_name = None
        self.path = None
        base = None if force_sqlite else pg_url()
        if base:
            self.pg_name = "bs_" + secrets.token_hex(8)
            r = subprocess.run(["psql", base, "-v", "ON_ERROR_STOP=1", "-q", "-c",
                                "CREATE DATABASE %s" % self.pg_name],
                               capture_output=True, text=True, timeout=60)
            if r.returncode != 0:
                raise RuntimeError("psql CREATE DATABASE failed: %s" % r.stderr)
            u = urllib.parse.urlsplit(base)
            self.url = urllib.parse.urlunsplit(
                (u.scheme, u.netloc, "/" + self.pg_name, u.query, u.fragment))
            self._base = base
        else:
            self.path = os.path.join(tmpdir, "t.db")
            self.url = "sqlite:" + self.path + sqlite_options

    @property
    def kind(self):
        return "postgresql" if self.pg_name else "sqlite"

    def drop(self):
        if self.pg_name:
            subprocess.run(["psql", self._base, "-q", "-c",
                            "DROP DATABASE IF EXISTS %s WITH (FORCE)" % self.pg_name],
                           capture_output=True, text=True, timeout=60)
            self.pg_name = None


# ---------------------------------------------------------------------------
# HTTP


class Response:
    """status, headers (email.message.Message: case-insensitive .get, .get_all),
    json (parsed body or None), raw (bytes). Unpacks as a 4-tuple."""

    def __init__(self, status, headers, body_json, raw, reason=""):
        self.status = status
        self.headers = headers
        self.json = body_json
        self.raw = raw
        self.reason = reason

    def __iter__(self):
        return iter((self.status, self.headers, self.json, self.raw))

    def __repr__(self):
        return "<Response %s %r>" % (self.status, self.raw[:300])


def _parse_json(raw):
    if not raw:
        return None
    try:
        return json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None


def _headers_from_list(pairs):
    m = Message()
    for k, v in pairs:
        m[k] = v
    return m


def http_request(host, port, method, path, body=None, headers=None, token=None,
                 tls=False, timeout=30, content_type="application/json"):
    """One request on a fresh connection.

    body: dict/list (sent as JSON), bytes/str (sent raw) or None.
    content_type: used when a body is given (None: no Content-Type header).
    """
    hdrs = {}
    data = None
    if body is not None:
        if isinstance(body, (bytes, bytearray)):
            data = bytes(body)
        elif isinstance(body, str):
            data = body.encode("utf-8")
        else:
            data = json.dumps(body).encode("utf-8")
        if content_type is not None:
            hdrs["Content-Type"] = content_type
    if token:
        hdrs["Authorization"] = "Bearer " + token
    if headers:
        hdrs.update(headers)
    if tls:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        conn = http.client.HTTPSConnection(host, port, timeout=timeout, context=ctx)
    else:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request(method, path, body=data, headers=hdrs)
        r = conn.getresponse()
        raw = r.read()
        return Response(r.status, _headers_from_list(r.getheaders()), _parse_json(raw),
                        raw, r.reason)
    finally:
        conn.close()


def parse_raw_response(data):
    """Parse the first HTTP response in data -> Response or None."""
    if not data:
        return None
    head, sep, rest = data.partition(b"\r\n\r\n")
    if not sep:
        head, sep, rest = data.partition(b"\n\n")
    lines = head.split(b"\r\n") if b"\r\n" in head else head.split(b"\n")
    m = re.match(rb"^HTTP/\d\.\d (\d{3})(?: (.*))?$", lines[0])
    if not m:
        return None
    pairs = []
    for ln in lines[1:]:
        if b":" in ln:
            k, v = ln.split(b":", 1)
            pairs.append((k.decode("latin-1").strip(), v.decode("latin-1").strip()))
    hdrs = _headers_from_list(pairs)
    body = rest
    cl = hdrs.get("Content-Length")
    if cl is not None and cl.isdigit():
        body = rest[:int(cl)]
    return Response(int(m.group(1)), hdrs, _parse_json(body), body,
                    (m.group(2) or b"").decode("latin-1"))


def raw_exchange(port, data, host="127.0.0.1", timeout=10, shutdown_write=False):
    """Send bytes on a new TCP connection and read until the server closes or
    `timeout` seconds pass. Errors while sending (the server may close early)
    are ignored. Returns the bytes received (possibly b"")."""
    s = socket.create_connection((host, port), timeout=timeout)
    out = b""
    try:
        try:
            s.sendall(data)
            if shutdown_write:
                s.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            except OSError:
                break
            if not chunk:
                break
            out += chunk
            r = parse_raw_response(out)
            if r is not None:
                cl = r.headers.get("Content-Length")
                head_len = out.find(b"\r\n\r\n")
                if cl is not None and cl.isdigit() and head_len >= 0 and \
                        len(out) >= head_len + 4 + int(cl):
                    break
    finally:
        s.close()
    return out


# ---------------------------------------------------------------------------
# The server


class ServerError(RuntimeError):
    pass


class Server:
    """A `benchside serve` process on a free loopback port with a fresh database
    and an admin user (ADMIN_USER / ADMIN_PASSWORD). command="demo" runs
    `benchside demo` instead (with create_admin=False: the demo makes its
    own accounts and data)."""

    def __init__(self, extra_args=(), tls_cert=None, tls_key=None, db_url=None,
                 sqlite_options="", force_sqlite=False, create_admin=True, command="serve"):
        require_binary()
        self.command = command
        self.tmpdir = tempfile.mkdtemp(prefix="bs-sys-")
        self.extra_args = list(extra_args)
        self.tls = bool(tls_cert)
        self.tls_cert = tls_cert
        self.tls_key = tls_key
        self.host = "127.0.0.1"
        self.port = None
        self.proc = None
        self.stderr_path = os.path.join(self.tmpdir, "server.stderr")
        self.stdout_path = os.path.join(self.tmpdir, "server.stdout")
        self.db = None
        if db_url:
            self.db_url = db_url
        else:
            self.db = Database(self.tmpdir, force_sqlite=force_sqlite,
                               sqlite_options=sqlite_options)
            self.db_url = self.db.url
        self.admin_token = None
        self._stderr_mark = 0
        if create_admin:
            self.add_user_cli(ADMIN_USER, "admin", ADMIN_PASSWORD)

    # -- CLI against this server's database
    def add_user_cli(self, username, role, password):
        r = run_cli(["user", "add", "--db", self.db_url, "--username", username,
                     "--role", role, "--password-stdin"], input=password + "\n")
        if r.returncode != 0:
            raise ServerError("benchside user add failed (%d): %s %s"
                              % (r.returncode, r.stdout, r.stderr))
        return r

    # -- lifecycle
    def start(self, timeout=30):
        last_err = None
        for _attempt in range(3):
            self.port = free_port()
            args = [bin_path(), self.command, "--db", self.db_url,
                    "--http", "%s:%d" % (self.host, self.port)]
            if self.tls:
                args += ["--tls-cert", self.tls_cert, "--tls-key", self.tls_key]
            args += self.extra_args
            # Instrument links only when a test asks for them (ADDR:0 picks free ports).
            if "--mllp" not in self.extra_args:
                args += ["--mllp", "off"]
            if "--astm" not in self.extra_args:
                args += ["--astm", "off"]
            self._err_f = open(self.stderr_path, "ab")
            self._out_f = open(self.stdout_path, "ab")
            self._out_start = self._out_f.tell()
            self.proc = subprocess.Popen(args, stdout=self._out_f, stderr=self._err_f,
                                         stdin=subprocess.DEVNULL, env=cli_env(),
                                         cwd=self.tmpdir)
            try:
                self._wait_ready(timeout)
                return self
            except ServerError as e:
                last_err = e
                self._kill()
                # retry only when another process took the port meanwhile
                if "exited" not in str(e) or "in use" not in str(e).lower():
                    break
        raise last_err

    def _wait_ready(self, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline:
            rc = self.proc.poll()
            if rc is not None:
                raise ServerError("benchside serve exited with %s before it was ready:\n%s"
                                  % (rc, self.stderr_text()[-4000:]))
            try:
                r = self.request("GET", "/api/v1/health", timeout=2)
                if r.status == 200 and self.link_ports() is not None:
                    return
            except (OSError, http.client.HTTPException, ssl.SSLError):
                pass
            time.sleep(0.1)
        raise ServerError("benchside serve not ready after %ss:\n%s"
                          % (timeout, self.stderr_text()[-4000:]))

    def link_ports(self):
        """(mllp, astm) ports from the start-up line (0 for a listener that is off),
        or None before the links have started."""
        try:
            with open(self.stdout_path, "rb") as f:
                f.seek(getattr(self, "_out_start", 0))
                text = f.read().decode("utf-8", "replace")
        except OSError:
            return None
        m = re.findall(r"benchside links: mllp (\d+), astm (\d+)", text)
        return (int(m[-1][0]), int(m[-1][1])) if m else None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def _kill(self):
        if self.proc is None:
            return None
        rc = self.proc.poll()
        if rc is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                rc = self.proc.wait(10)
        for f in (self._err_f, self._out_f):
            try:
                f.close()
            except Exception:
                pass
        self.proc = None
        return rc

    def stop(self):
        """SIGTERM (SIGKILL after 10 s). Returns the exit status."""
        return self._kill()

    def cleanup(self):
        self.stop()
        if self.db is not None:
            self.db.drop()
        if not os.environ.get("BENCHSIDE_TEST_KEEP"):
            shutil.rmtree(self.tmpdir, ignore_errors=True)

    def stderr_text(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def stderr_size(self):
        try:
            return os.path.getsize(self.stderr_path)
        except OSError:
            return 0

    # -- HTTP
    def request(self, method, path, body=None, headers=None, token=None, timeout=30,
                content_type="application/json"):
        return http_request(self.host, self.port, method, path, body=body, headers=headers,
                            token=token, tls=self.tls, timeout=timeout,
                            content_type=content_type)

    def get(self, path, token=None, **kw):
        return self.request("GET", path, token=token, **kw)

    def post(self, path, body=None, token=None, **kw):
        return self.request("POST", path, body=body if body is not None else {},
                            token=token, **kw)

    def patch(self, path, body, token=None, **kw):
        return self.request("PATCH", path, body=body, token=token, **kw)

    def delete(self, path, token=None, **kw):
        return self.request("DELETE", path, token=token, **kw)

    def login(self, username=ADMIN_USER, password=ADMIN_PASSWORD):
        """Sign in; returns the token (raises AssertionError on failure)."""
        r = self.post("/api/v1/session", {"username": username, "password": password})
        if r.status != 200 or not isinstance(r.json, dict) or "token" not in r.json:
            raise AssertionError("sign-in as %s failed: %s %r" % (username, r.status, r.raw))
        return r.json["token"]

    def admin(self):
        if self.admin_token is None:
            self.admin_token = self.login()
        return self.admin_token

    def create_user(self, username, role, password="password-0001", display_name=None,
                    token=None):
        body = {"username": username, "password": password, "role": role}
        if display_name is not None:
            body["display_name"] = display_name
        r = self.post("/api/v1/users", body, token=token or self.admin())
        if r.status != 201:
            raise AssertionError("create user %s failed: %s %r" % (username, r.status, r.raw))
        return r.json

    def raw(self, data, timeout=10, shutdown_write=False):
        return raw_exchange(self.port, data, host=self.host, timeout=timeout,
                            shutdown_write=shutdown_write)


def unique(prefix="u"):
    return "%s%s" % (prefix, secrets.token_hex(4))


# ---------------------------------------------------------------------------
# Test case base classes


class ServerTestCase(unittest.TestCase):
    """One server per test class. Subclasses set server_args / server_kwargs.
    When a test fails, the server's stderr written during that test is printed."""

    server_args = ()
    server_kwargs = {}
    server = None

    @classmethod
    def setUpClass(cls):
        require_binary()
        cls.server = Server(extra_args=cls.server_args, **cls.make_server_kwargs())
        try:
            cls.server.start()
        except BaseException:
            cls.server.cleanup()
            cls.server = None
            raise

    @classmethod
    def make_server_kwargs(cls):
        return dict(cls.server_kwargs)

    @classmethod
    def tearDownClass(cls):
        if cls.server is not None:
            srv = cls.server
            cls.server = None
            rc = srv.stop()
            text = srv.stderr_text()
            srv.cleanup()
            rep = sanitizer_report(text)
            if rep:
                raise AssertionError("sanitizer report in server stderr:\n" + rep)
            if rc != 0:
                raise AssertionError("server exited with %s after SIGTERM (want 0):\n%s"
                                     % (rc, text[-3000:]))

    def run(self, result=None):
        if result is None:
            return super().run(result)
        before = len(result.failures) + len(result.errors)
        srv = type(self).server
        mark = srv.stderr_size() if srv is not None else 0
        out = super().run(result)
        srv = type(self).server
        if srv is not None and len(result.failures) + len(result.errors) > before:
            text = srv.stderr_text()
            part = text[mark:] if mark <= len(text) else text
            sys.stderr.write("\n----- server stderr during %s (last 6000 chars) -----\n%s\n"
                             "----- end server stderr -----\n"
                             % (self.id(), part[-6000:]))
        return out

    # -- assertions shared by the suites
    def assertError(self, resp, status, code, field=Ellipsis, msg=None):
        """Assert an error response: status, body {"error":{"code","message","field"}}.
        field=Ellipsis: do not check its value (but it must be a string or null)."""
        ctx = "%s %r" % (resp.status, resp.raw[:500])
        if msg:
            ctx = msg + ": " + ctx
        self.assertEqual(resp.status, status, ctx)
        self.assertIsInstance(resp.json, dict, ctx)
        self.assertIn("error", resp.json, ctx)
        err = resp.json["error"]
        self.assertIsInstance(err, dict, ctx)
        self.assertEqual(err.get("code"), code, ctx)
        self.assertIsInstance(err.get("message"), str, ctx)
        self.assertTrue(err.get("message"), ctx)
        self.assertIn("field", err, ctx)
        self.assertTrue(err["field"] is None or isinstance(err["field"], str), ctx)
        if field is not Ellipsis:
            self.assertEqual(err["field"], field, ctx)
        return err

    def assertSecurityHeaders(self, resp, api=None):
        h = resp.headers
        ctx = "%s %r" % (resp.status, list(h.items()))
        csp = h.get("Content-Security-Policy")
        self.assertIsNotNone(csp, "Content-Security-Policy missing: " + ctx)
        self.assertIn("default-src 'self'", csp, ctx)
        self.assertIn("frame-ancestors 'none'", csp, ctx)
        self.assertEqual((h.get("X-Content-Type-Options") or "").lower(), "nosniff", ctx)
        self.assertEqual((h.get("X-Frame-Options") or "").upper(), "DENY", ctx)
        self.assertEqual((h.get("Referrer-Policy") or "").lower(), "no-referrer", ctx)
        if api:
            self.assertIn("no-store", (h.get("Cache-Control") or "").lower(), ctx)
            if resp.status != 204:
                ct = (h.get("Content-Type") or "").lower()
                self.assertTrue(ct.split(";")[0].strip() == "application/json", ctx)

    def assertISO(self, value, msg=None):
        self.assertIsInstance(value, str, msg)
        self.assertRegex(value, ISO_RE, msg)

    def assertUser(self, u, username=None, role=None, full=True):
        self.assertIsInstance(u, dict)
        for k in ("id", "username", "display_name", "role"):
            self.assertIn(k, u, repr(u))
        self.assertIsInstance(u["id"], str)
        self.assertTrue(u["id"])
        self.assertIsInstance(u["username"], str)
        self.assertIsInstance(u["display_name"], str)
        self.assertIn(u["role"], ROLES)
        if username is not None:
            self.assertEqual(u["username"], username)
        if role is not None:
            self.assertEqual(u["role"], role)
        if full:
            for k in ("locked", "disabled", "created_at"):
                self.assertIn(k, u, repr(u))
            self.assertIsInstance(u["locked"], bool)
            self.assertIsInstance(u["disabled"], bool)
            self.assertISO(u["created_at"])
