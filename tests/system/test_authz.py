"""The authorization matrix: every HTTP route the server has (`benchside
routes --json`: the REST route table and the FHIR routes), called as every
role and signed out, against the decisions written down and reviewed in
tests/data/authz.json.

A route without a decision fails here, naming the route, so a new route
cannot ship without someone deciding who may call it. A decision is checked
against the running server: a client that is not signed in gets 401 unless
the route is public, a role outside the decision gets 403, and a role inside
it gets neither (the request may still be refused for what it holds: 400,
404, 409 ...). Path parameters name nothing that exists and bodies are
empty, so no call changes anything."""

import http.client
import json
import unittest

from tests.system.harness import REPO, ServerTestCase, run_cli, unique

AUTHZ = REPO / "tests" / "data" / "authz.json"
ROLES = ("admin", "supervisor", "technician", "biomed", "clinician", "interface")
PRINCIPALS = ("anonymous",) + ROLES
PASSWORD = "password-0001"


def load_decisions():
    with open(AUTHZ, encoding="utf-8") as fh:
        return json.load(fh)


def route_table():
    """The server's own list of its routes."""
    p = run_cli(["routes", "--json"])
    if p.returncode != 0:
        raise AssertionError("benchside routes --json failed: %s" % p.stderr)
    return json.loads(p.stdout)


def key(route):
    return "%s %s" % (route["method"], route["path"])


def concrete(path):
    """The path with each {name} segment filled with an id nothing has."""
    out = []
    for seg in path.split("/"):
        out.append("nothing-" + seg[1:-1] if seg.startswith("{") else seg)
    return "/".join(out)


class TestDecisions(unittest.TestCase):
    """The data file and the route table agree, before any request is made."""

    @classmethod
    def setUpClass(cls):
        cls.doc = load_decisions()
        cls.routes = route_table()

    def test_every_route_has_a_decision(self):
        missing = [key(r) for r in self.routes if key(r) not in self.doc["routes"]]
        self.assertEqual(missing, [], "routes without a decision in tests/data/authz.json: %s. "
                         "Decide who may call each (the roles in 'allow', 'anonymous' when it "
                         "is public, 'patient_data' when it answers with patient data) and add "
                         "it there." % ", ".join(missing))

    def test_no_decision_for_a_route_that_is_gone(self):
        have = {key(r) for r in self.routes}
        stale = [k for k in self.doc["routes"] if k not in have]
        self.assertEqual(stale, [], "tests/data/authz.json decides routes the server does not "
                         "have: %s" % ", ".join(stale))

    def test_decisions_name_known_principals(self):
        for k, d in self.doc["routes"].items():
            with self.subTest(route=k):
                self.assertTrue(set(d["allow"]) <= set(PRINCIPALS), d)
                self.assertEqual(len(d["allow"]), len(set(d["allow"])), d)
                self.assertTrue(set(d) <= {"allow", "patient_data", "why", "note"}, d)

    def test_decisions_agree_with_permissions(self):
        """The route table's permission gives the roles a route admits; a
        decision admitting fewer says why (the handler narrows it), and one
        admitting more is a mistake either way."""
        for r in self.routes:
            k = key(r)
            d = self.doc["routes"].get(k)
            if d is None:
                continue
            with self.subTest(route=k, permission=r["permission"]):
                table = set(r["roles"]) | ({"anonymous"} if r["public"] else set())
                allow = set(d["allow"])
                self.assertTrue(allow <= table, "%s allows %s beyond its permission %s"
                                % (k, sorted(allow - table), r["permission"]))
                if allow != table:
                    self.assertTrue(d.get("why"), "%s: the permission %s admits %s; the "
                                    "decision leaves out %s without saying why"
                                    % (k, r["permission"], sorted(table),
                                       sorted(table - allow)))

    def test_patient_data_is_never_public(self):
        for k, d in self.doc["routes"].items():
            if d.get("patient_data"):
                with self.subTest(route=k):
                    self.assertNotIn("anonymous", d["allow"])


class TestMatrix(ServerTestCase):
    """Each route as each principal against the running server."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.doc = load_decisions()
        cls.routes = route_table()
        cls.names = {}
        for role in ROLES:
            name = unique(role[:4])
            cls.server.create_user(name, role, PASSWORD)
            cls.names[role] = name
        cls.tokens = {role: cls.server.login(cls.names[role], PASSWORD) for role in ROLES}

    def status_of(self, method, path, token, body):
        """The status of one request, reading no more than the head of the
        answer (GET /api/v1/events streams for ever)."""
        hdrs = {"Host": "127.0.0.1"}
        if token:
            hdrs["Authorization"] = "Bearer " + token
        data = None
        if body:
            data = b"{}"
            hdrs["Content-Type"] = ("application/fhir+json" if path.startswith("/fhir/")
                                    else "application/json")
        conn = http.client.HTTPConnection(self.server.host, self.server.port, timeout=30)
        try:
            conn.request(method, path, body=data, headers=hdrs)
            resp = conn.getresponse()
            if "event-stream" not in (resp.getheader("Content-Type") or ""):
                resp.read()
            return resp.status
        finally:
            conn.close()

    def token_for(self, principal, route):
        if principal == "anonymous":
            return None
        if key(route) == "DELETE /api/v1/session":
            # Signing out ends the session: a session of its own each time.
            return self.server.login(self.names[principal], PASSWORD)
        return self.tokens[principal]

    def test_matrix(self):
        wrong = []
        calls = 0
        for r in self.routes:
            d = self.doc["routes"].get(key(r))
            if d is None:
                continue  # TestDecisions names it
            path = concrete(r["path"])
            for principal in PRINCIPALS:
                status = self.status_of(r["method"], path, self.token_for(principal, r),
                                        r["body"])
                calls += 1
                allowed = principal in d["allow"]
                if principal == "anonymous" and not allowed:
                    ok, want = status == 401, "401"
                elif not allowed:
                    ok, want = status == 403, "403"
                else:
                    ok, want = status not in (401, 403), "neither 401 nor 403"
                if not ok:
                    wrong.append("%s %s as %s: %d, want %s" % (r["method"], path, principal,
                                                                status, want))
        self.assertEqual(wrong, [], "%d of %d calls disagree with tests/data/authz.json:\n%s"
                         % (len(wrong), calls, "\n".join(wrong)))
        self.assertGreaterEqual(calls, 7 * len(self.doc["routes"]))

    def test_refusals_are_audited(self):
        """A signed-in role refused by a route's permission leaves a
        permission.denied event naming the route."""
        before = self.server.get("/api/v1/audit?action=permission.denied&limit=500",
                                 token=self.server.admin()).json["items"]
        self.assertEqual(self.status_of("GET", "/api/v1/users", self.tokens["clinician"], False),
                         403)
        self.assertEqual(self.status_of("GET", "/fhir/R4/Patient", self.tokens["biomed"], False),
                         403)
        after = self.server.get("/api/v1/audit?action=permission.denied&limit=500",
                                token=self.server.admin()).json["items"]
        new = [(e["actor"], e["entity_id"]) for e in after[:len(after) - len(before)]]
        self.assertIn((self.names["clinician"], "/api/v1/users"), new)
        self.assertIn((self.names["biomed"], "/fhir/R4"), new)


if __name__ == "__main__":
    unittest.main()
