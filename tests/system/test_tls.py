"""HTTPS with a self-signed certificate: `serve --tls-cert C --tls-key K`."""

import os
import shutil
import subprocess
import tempfile
import unittest

from tests.system import harness
from tests.system.harness import ADMIN_PASSWORD, ADMIN_USER, ServerTestCase, parse_raw_response


class TestTLS(ServerTestCase):

    @classmethod
    def make_server_kwargs(cls):
        if not shutil.which("openssl"):
            raise unittest.SkipTest("openssl not installed")
        cls.certdir = tempfile.mkdtemp(prefix="bs-tls-")
        key = os.path.join(cls.certdir, "k.pem")
        cert = os.path.join(cls.certdir, "c.pem")
        r = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                            "-subj", "/CN=localhost", "-days", "1", "-keyout", key,
                            "-out", cert], capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError("openssl failed: " + r.stderr)
        return dict(tls_cert=cert, tls_key=key)

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        d = getattr(cls, "certdir", None)
        if d:
            shutil.rmtree(d, ignore_errors=True)

    def test_health_over_https(self):
        r = self.server.get("/api/v1/health")
        self.assertEqual(r.status, 200, r.raw)
        self.assertEqual(r.json.get("status"), "ok")
        hsts = r.headers.get("Strict-Transport-Security")
        self.assertIsNotNone(hsts, "no Strict-Transport-Security header")
        self.assertIn("max-age=", hsts)
        self.assertSecurityHeaders(r, api=True)

    def test_hsts_on_errors_and_pages(self):
        for path in ("/", "/api/v1/session", "/nope.html"):
            with self.subTest(path=path):
                r = self.server.get(path)
                self.assertIsNotNone(r.headers.get("Strict-Transport-Security"), path)

    def test_cookie_secure(self):
        r = self.server.post("/api/v1/session", {"username": ADMIN_USER,
                                                 "password": ADMIN_PASSWORD})
        self.assertEqual(r.status, 200, r.raw)
        cookies = [c for c in (r.headers.get_all("Set-Cookie") or [])
                   if c.strip().startswith("bs_session=")]
        self.assertEqual(len(cookies), 1, r.headers.get_all("Set-Cookie"))
        attrs = [a.strip().lower() for a in cookies[0].split(";")[1:]]
        self.assertIn("secure", attrs)
        self.assertIn("httponly", attrs)
        self.assertIn("samesite=strict", attrs)
        tok = r.json["token"]
        r = self.server.get("/api/v1/session", token=tok)
        self.assertEqual(r.status, 200)

    def test_plain_http_refused(self):
        out = self.server.raw(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n"
                              b"Connection: close\r\n\r\n", timeout=5)
        r = parse_raw_response(out)
        self.assertFalse(r is not None and r.status == 200,
                         "plain HTTP answered 200 on the TLS port: %r" % out[:200])
        # and the server is still fine
        self.assertEqual(self.server.get("/api/v1/health").status, 200)


if __name__ == "__main__":
    unittest.main()
