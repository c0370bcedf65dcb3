"""Hostile and malformed input over raw sockets. After each case the server must
still be running and answer GET /api/v1/health with 200."""

import select
import socket
import time
import unittest

from tests.system import harness
from tests.system.harness import ADMIN_PASSWORD, ADMIN_USER, ServerTestCase, parse_raw_response


def req(method, path, body=None, headers=None, version="HTTP/1.1", host=True):
    lines = ["%s %s %s" % (method, path, version)]
    if host:
        lines.append("Host: 127.0.0.1")
    h = dict(headers or {})
    if body is not None:
        if isinstance(body, str):
            body = body.encode()
        h.setdefault("Content-Type", "application/json")
        h.setdefault("Content-Length", str(len(body)))
    h.setdefault("Connection", "close")
    for k, v in h.items():
        lines.append("%s: %s" % (k, v))
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")


class TestRobustness(ServerTestCase):

    def setUp(self):
        self.assertTrue(self.server.alive(), "server is not running")

    def tearDown(self):
        self.assertTrue(self.server.alive(), "server died")
        r = self.server.get("/api/v1/health", timeout=15)
        self.assertEqual(r.status, 200, "health after the test: %r" % (r.raw,))

    def exchange(self, data, timeout=10):
        out = self.server.raw(data, timeout=timeout)
        return out, parse_raw_response(out)

    def assertJsonError(self, resp, status, code, field=Ellipsis):
        self.assertIsNotNone(resp, "no HTTP response")
        return self.assertError(resp, status, code, field)

    # -- JSON bodies

    def test_malformed_json_position(self):
        body = b'{"username": "a",\n "password": }'
        out, r = self.exchange(req("POST", "/api/v1/session", body))
        err = self.assertJsonError(r, 400, "bad_json")
        self.assertEqual(err.get("line"), 2, err)
        self.assertIsInstance(err.get("column"), int, err)
        self.assertGreaterEqual(err["column"], 1)
        self.assertSecurityHeaders(r, api=True)

    def test_malformed_json_variants(self):
        for body in (b'{', b'{"a":1,}', b"{'a':1}", b'{"username":"a" "password":"b"}',
                     b'\xff\xfe{}', b'{"username":"\xc3\x28","password":"x"}',
                     b'{"a":1}{"b":2}', b'', b' ', b'{"a":' + b'[' * 5000):
            with self.subTest(body=body[:40]):
                out, r = self.exchange(req("POST", "/api/v1/session", body))
                self.assertIsNotNone(r, out[:200])
                self.assertEqual(r.status, 400, out[:300])
                self.assertIn(r.json["error"]["code"], ("bad_json", "invalid"), r.json)

    def test_json_array_body(self):
        out, r = self.exchange(req("POST", "/api/v1/session", b'[{"username":"a"}]'))
        self.assertJsonError(r, 400, "bad_json")

    def test_number_for_string(self):
        out, r = self.exchange(req("POST", "/api/v1/session",
                                   b'{"username": 12345, "password": "whatever-123"}'))
        self.assertJsonError(r, 400, "invalid", field="username")
        out, r = self.exchange(req("POST", "/api/v1/session",
                                   b'{"username": "admin", "password": true}'))
        self.assertJsonError(r, 400, "invalid", field="password")

    def test_nul_in_json_string(self):
        out, r = self.exchange(req("POST", "/api/v1/session",
                                   b'{"username": "adm\\u0000in", "password": "x"}'))
        self.assertIsNotNone(r)
        self.assertIn(r.status, (400, 401), out[:300])

    # -- request line and headers

    def test_garbage_request_line(self):
        for data in (b"\x00\x01\x02garbage\r\n\r\n", b"GET\r\n\r\n", b"HELLO WORLD\r\n\r\n",
                     b"GET / HTTP/9.9\r\nHost: x\r\n\r\n", b"\r\n\r\n\r\n",
                     b"GET /api/v1/health HTTP/1.1\nHost: x\n\n" + b"\x80" * 100,
                     bytes(range(256)) * 4):
            with self.subTest(data=data[:30]):
                out = self.server.raw(data, timeout=3, shutdown_write=True)
                r = parse_raw_response(out)
                if r is not None:  # any answer is fine (a bare-LF request is valid)
                    self.assertGreaterEqual(r.status, 200, out[:300])

    def test_header_100k(self):
        # A connection's 32 KiB pool holds a request head of 24 KB; 100 KB and
        # 300 KB are refused with 431, and the server goes on serving.
        for size, statuses in ((24, (200,)), (100, (431,)), (300, (431,))):
            with self.subTest(kb=size):
                data = (b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-Big: " +
                        b"a" * size * 1024 + b"\r\nConnection: close\r\n\r\n")
                out, r = self.exchange(data)
                self.assertIsNotNone(r, out[:200])
                self.assertIn(r.status, statuses, out[:300])
        self.assertEqual(self.server.get("/api/v1/health").status, 200)

    def test_many_cookies(self):
        # Cookies too are held in the pool: 300 fit, 3000 are refused with 431.
        for n, status in ((300, 200), (3000, 431)):
            with self.subTest(cookies=n):
                cookie = "; ".join("c%d=1" % i for i in range(n))
                out, r = self.exchange(req("GET", "/api/v1/health", headers={"Cookie": cookie}))
                self.assertIsNotNone(r, out[:200])
                self.assertEqual(r.status, status, out[:300])

    def test_many_headers(self):
        hdrs = "".join("X-H%d: v\r\n" % i for i in range(5000)).encode()
        data = b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n" + hdrs + b"Connection: close\r\n\r\n"
        out, r = self.exchange(data)
        if r is not None:
            self.assertNotEqual(r.status // 100, 5, out[:300])

    def test_short_body_then_close(self):
        data = (b"POST /api/v1/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                b"\r\nContent-Length: 1000\r\n\r\n{\"username\"")
        s = socket.create_connection((self.server.host, self.server.port), timeout=5)
        s.sendall(data)
        time.sleep(0.2)
        s.close()
        s = socket.create_connection((self.server.host, self.server.port), timeout=5)
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        s.settimeout(2)
        try:
            s.recv(4096)
        except OSError:
            pass
        s.close()

    def test_bad_content_length(self):
        for cl in ("-1", "abc", "99999999999999999999999", "10, 20"):
            with self.subTest(cl=cl):
                data = (b"POST /api/v1/session HTTP/1.1\r\nHost: x\r\nContent-Type: "
                        b"application/json\r\nConnection: close\r\nContent-Length: " +
                        cl.encode() + b"\r\n\r\n{}")
                out, r = self.exchange(data, timeout=5)
                if r is not None:
                    self.assertGreaterEqual(r.status, 400, out[:300])
                    self.assertLess(r.status, 500, out[:300])

    def test_half_requests_200(self):
        socks = []
        try:
            for i in range(200):
                s = socket.create_connection((self.server.host, self.server.port), timeout=10)
                s.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                socks.append(s)
            for i in range(3):
                t0 = time.time()
                r = self.server.get("/api/v1/health", timeout=10)
                self.assertEqual(r.status, 200)
                self.assertLess(time.time() - t0, 5)
            tok = self.server.login()
            self.assertEqual(self.server.get("/api/v1/session", token=tok).status, 200)
        finally:
            for s in socks:
                s.close()

    def post_streaming(self, path, body):
        """POST body in 64 KiB pieces, stopping early if the server answers first
        (it may refuse a large body on its Content-Length alone)."""
        head = (b"POST " + path.encode() + b" HTTP/1.1\r\nHost: x\r\nContent-Type: "
                b"application/json\r\nConnection: close\r\nContent-Length: %d\r\n\r\n"
                % len(body))
        s = socket.create_connection((self.server.host, self.server.port), timeout=20)
        out = b""
        try:
            s.sendall(head)
            sent = 0
            while sent < len(body):
                rl, _, _ = select.select([s], [], [], 0)
                if rl:
                    break  # the server answered early
                try:
                    sent += s.send(body[sent:sent + 65536])
                except OSError:
                    break
            deadline = time.time() + 20
            while time.time() < deadline:
                try:
                    chunk = s.recv(65536)
                except OSError:
                    break
                if not chunk:
                    break
                out += chunk
                r = parse_raw_response(out)
                if r is not None and r.headers.get("Content-Length") and \
                        len(r.raw) >= int(r.headers.get("Content-Length")):
                    break
        finally:
            s.close()
        r = parse_raw_response(out)
        self.assertIsNotNone(r, "no response to a %d-byte body: %r" % (len(body), out[:200]))
        return r

    @staticmethod
    def padded_login(size):
        """A sign-in body of exactly size bytes (whitespace padding)."""
        body = b'{"username":"nobody-at-all","password":"wrong-password-1"}'
        return body[:-1] + b" " * (size - len(body)) + b"}"

    def test_body_2mib(self):
        r = self.post_streaming("/api/v1/session", self.padded_login(2 * 1024 * 1024))
        self.assertJsonError(r, 413, "too_large")
        self.assertSecurityHeaders(r, api=True)

    def test_body_limit_boundary(self):
        limit = 1024 * 1024
        r = self.post_streaming("/api/v1/session", self.padded_login(limit))
        self.assertJsonError(r, 401, "bad_credentials")
        r = self.post_streaming("/api/v1/session", self.padded_login(limit + 1))
        self.assertJsonError(r, 413, "too_large")

    def test_protocol_errors_are_answered(self):
        """Errors libmicrohttpd produces itself before any handler runs (header
        too big, bad Content-Length, unknown HTTP version): a 4xx/5xx and a
        closed connection. Their bodies are the library's fixed HTML, without
        our headers or JSON (docs/security.md says so); 0.9.75 also repeats the
        status line for a bad Content-Length, so only the first is read."""
        cases = [
            ("header 300 KB", b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-Big: " +
             b"a" * 300 * 1024 + b"\r\nConnection: close\r\n\r\n"),
            ("bad Content-Length", b"POST /api/v1/session HTTP/1.1\r\nHost: x\r\n"
             b"Content-Type: application/json\r\nConnection: close\r\n"
             b"Content-Length: abc\r\n\r\n{}"),
            ("HTTP/9.9", b"GET /api/v1/health HTTP/9.9\r\nHost: x\r\nConnection: close\r\n\r\n"),
        ]
        for label, data in cases:
            with self.subTest(case=label):
                out, r = self.exchange(data)
                if r is None:
                    continue  # closing without an answer is acceptable
                self.assertGreaterEqual(r.status, 400, out[:300])
                self.assertIn(r.status, (400, 413, 431, 505), out[:300])
                self.assertEqual(r.headers.get("Connection", "").lower(), "close", out[:300])
                self.assertNotIn(b"aaaaaaaa", out, "the request is echoed back")
        self.assertEqual(self.server.get("/api/v1/health").status, 200)

    # -- paths

    def test_nul_in_path(self):
        # %00 is not decoded: a path holding it matches nothing (a 200 would mean
        # the path was cut at the NUL and /app.js%00.html served /app.js).
        for path in ("/api/v1/health%00", "/%00", "/api/v1/users/%00", "/app.js%00.html",
                     "/index.html%00", "/api/v1/users%00/x", "/%00%00%00"):
            with self.subTest(path=path):
                out, r = self.exchange(req("GET", path))
                self.assertIsNotNone(r, out[:200])
                self.assertIn(r.status, (400, 401, 404), out[:300])

    def test_dot_dot(self):
        for path in ("/../../../../etc/passwd", "/app.js/../../etc/passwd",
                     "/%2e%2e/%2e%2e/%2e%2e/etc/passwd", "/..%2f..%2f..%2fetc%2fpasswd",
                     "/static/../../../../etc/passwd", "/api/v1/../../../etc/passwd",
                     "/....//....//etc/passwd", "/%252e%252e/etc/passwd",
                     "/..\\..\\..\\etc\\passwd"):
            with self.subTest(path=path):
                out, r = self.exchange(req("GET", path))
                self.assertNotIn(b"root:", out)
                if r is not None:
                    self.assertIn(r.status, (400, 401, 403, 404), out[:300])

    def test_long_path(self):
        for path in ("/" + "a" * 10240, "/api/v1/users/" + "b" * 10240,
                     "/api/v1/health?q=" + "x" * 10240, "/app.js?" + "v" * 10240):
            with self.subTest(path=path[:30]):
                out, r = self.exchange(req("GET", path))
                if r is not None:
                    self.assertLess(r.status, 500, out[:300])
                    if not path.startswith("/app.js?"):  # a static file may ignore its query
                        self.assertGreaterEqual(r.status, 400, out[:300])

    def test_long_query_many_parameters_answered(self):
        """A 10 KB request target made of many short query parameters must get an
        answer (a 4xx), not a connection left open with nothing sent."""
        for n in (1000, 2500):
            with self.subTest(parameters=n):
                t0 = time.time()
                out, r = self.exchange(req("GET", "/api/v1/health?" + "x=1&" * n), timeout=5)
                self.assertIsNotNone(r, "no answer after %.1f s to GET /api/v1/health with %d "
                                     "query parameters (%d bytes): %r"
                                     % (time.time() - t0, n, 4 * n, out[:100]))
                self.assertGreaterEqual(r.status, 400)
                self.assertLess(r.status, 500)

    def test_query_parameters_are_cut_at_64(self):
        """libmicrohttpd is given at most 64 query parameters to parse: 64 reach
        the handler (which names the first it does not know), 65 are refused
        before it, whatever their length."""
        for n, message in ((64, "unknown query parameter 'x'"),
                           (65, "a request takes at most 64 query parameters"),
                           (2500, "a request takes at most 64 query parameters")):
            with self.subTest(parameters=n):
                out, r = self.exchange(req("GET", "/api/v1/health?" + "&".join(["x=1"] * n)))
                err = self.assertJsonError(r, 400, "invalid")
                self.assertEqual(err["message"], message, err)

    def test_huge_query_harms_no_one(self):
        """An 80 KB request target is refused (414, longer than a connection
        holds) and other clients are served meanwhile."""
        s = socket.create_connection((self.server.host, self.server.port), timeout=5)
        try:
            s.sendall(req("GET", "/api/v1/health?" + "x=1&" * 20000))
            for _ in range(3):
                self.assertEqual(self.server.get("/api/v1/health").status, 200)
            s.settimeout(5)
            r = parse_raw_response(s.recv(65536))
            self.assertIsNotNone(r)
            self.assertEqual(r.status, 414)
        finally:
            s.close()

    # -- methods and versions

    def test_unknown_method(self):
        for path in ("/api/v1/health", "/api/v1/users", "/"):
            with self.subTest(path=path):
                out, r = self.exchange(req("BREW", path))
                self.assertIsNotNone(r, out[:200])
                self.assertIn(r.status, (400, 405, 501), out[:300])
                if r.status == 405:
                    if path.startswith("/api/"):
                        self.assertJsonError(r, 405, "method_not_allowed")
                    self.assertIsNotNone(r.headers.get("Allow"), "405 without Allow")

    def test_http10_without_host(self):
        out, r = self.exchange(b"GET /api/v1/health HTTP/1.0\r\n\r\n")
        self.assertIsNotNone(r, out[:200])
        self.assertEqual(r.status, 200, out[:300])
        self.assertEqual(r.json.get("status"), "ok")

    def test_http10_post(self):
        body = ('{"username":"%s","password":"%s"}' % (ADMIN_USER, ADMIN_PASSWORD)).encode()
        out, r = self.exchange(b"POST /api/v1/session HTTP/1.0\r\nContent-Type: application/json"
                               b"\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        self.assertIsNotNone(r, out[:200])
        self.assertEqual(r.status, 200, out[:300])

    def test_keep_alive_pipelined(self):
        one = b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n"
        s = socket.create_connection((self.server.host, self.server.port), timeout=5)
        out = b""
        try:
            s.sendall(one * 3)
            deadline = time.time() + 5
            while out.count(b"HTTP/1.1 200") < 3 and time.time() < deadline:
                try:
                    chunk = s.recv(65536)
                except OSError:
                    break
                if not chunk:
                    break
                out += chunk
        finally:
            s.close()
        self.assertEqual(out.count(b"HTTP/1.1 200"), 3, out[:500])

    def test_chunked_body(self):
        body = ('{"username":"%s","password":"%s"}' % (ADMIN_USER, ADMIN_PASSWORD)).encode()
        data = (b"POST /api/v1/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
                b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n")
        out, r = self.exchange(data)
        self.assertIsNotNone(r, out[:200])
        self.assertIn(r.status, (200, 411), out[:300])

    def test_chunked_body_too_large(self):
        chunk = b"a" * 65536
        n = 40  # 2.5 MiB in chunks, no Content-Length
        data = (b"POST /api/v1/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
                (b"%x\r\n" % len(chunk) + chunk + b"\r\n") * n + b"0\r\n\r\n")
        out, r = self.exchange(data, timeout=20)
        if r is not None:
            self.assertIn(r.status, (411, 413), out[:300])


if __name__ == "__main__":
    unittest.main()
