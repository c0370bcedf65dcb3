"""Several nodes on one PostgreSQL database (issue 10, item 6; PostgreSQL
pass only): two `benchside serve` processes share a database, both take
analyzer results over MLLP and requests over HTTP; a fake EHR (peers.py)
counts the ORU^R01 it receives, and each released result reaches it exactly
once although both nodes' outbox workers poll the same outbox; an event
made on one node reaches a browser's live-event stream on the other
(LISTEN/NOTIFY)."""

import time
import unittest

from tests.system.cluster import ANALYZER, Flood, normal_results, received_specimens, sql_rows
from tests.system.harness import Server, pg_url, sanitizer_report
from tests.system.peers import MllpPeer, hl7_get, hl7_segments
from tests.system.test_events import Stream
from tests.system.test_lab import load_demo


@unittest.skipUnless(pg_url(), "PostgreSQL pass only (BENCHSIDE_TEST_PG)")
class TestTwoNodes(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.nodes = []
        cls.ehr = MllpPeer(answer="AA")
        a = Server(extra_args=("--mllp", "127.0.0.1:0", "--node", "node-a"))
        cls.nodes.append(a)
        cls.nodes.append(Server(db_url=a.db_url, create_admin=False,
                                extra_args=("--mllp", "127.0.0.1:0", "--node", "node-b")))
        try:
            for n in cls.nodes:
                n.start()
        except BaseException:
            cls.tearDownClass()
            raise
        cls.token = a.login()  # sessions are in the database: good on either node

    @classmethod
    def tearDownClass(cls):
        cls.ehr.close()
        problems = []
        for n in reversed(cls.nodes):
            rc = n.stop()
            text = n.stderr_text()
            if n is cls.nodes[0]:
                for other in cls.nodes[1:]:
                    other.cleanup()
            n.cleanup()
            if sanitizer_report(text) or rc != 0:
                problems.append("node exited %s: %s" % (rc, (sanitizer_report(text) or
                                                              text[-2000:])))
        cls.nodes = []
        if problems:
            raise AssertionError("\n".join(problems))

    def call(self, method, path, body=None, token=Ellipsis, status=200, node=0):
        r = self.nodes[node].request(method, path, body=body,
                                     token=self.token if token is Ellipsis else token)
        self.assertEqual(r.status, status, "%s %s: %r" % (method, path, r.raw[:300]))
        return r

    def oru_keys(self):
        """(accession, test code) of every OBX the EHR received."""
        keys = []
        for m in list(self.ehr.messages):
            segs = hl7_segments(m)
            if hl7_get(segs[0], 9).startswith("ORU^R01"):
                obr = [s for s in segs if s[0] == "OBR"][0]
                for obx in (s for s in segs if s[0] == "OBX"):
                    keys.append((hl7_get(obr, 3), hl7_get(obx, 3, 4)))
        return keys

    def test_1_each_result_reaches_the_ehr_once(self):
        self.call("PUT", "/api/v1/catalog", load_demo())
        self.call("PUT", "/api/v1/instruments", {"instruments": [
            ANALYZER, {"name": "EHR-1", "kind": "ehr", "protocol": "hl7",
                       "match": {"application": "EPIC"},
                       "send_to": "127.0.0.1:%d" % self.ehr.port}]}, node=1)
        accs = received_specimens(self, 30)
        msgs = [("N" + acc, normal_results(acc, "N" + acc)) for acc in accs]
        # half the analyzers talk to node A, half to node B, at once
        floods = [Flood(self.nodes[i].link_ports()[0], msgs[i::2], threads=2).start()
                  for i in (0, 1)]
        for f in floods:
            self.assertTrue(f.join(120))
        self.assertEqual(sorted(floods[0].acked + floods[1].acked), sorted(c for c, _ in msgs))
        want = sorted((acc, code) for acc in accs for code in ("NA", "K"))
        deadline = time.time() + 60
        while len(self.oru_keys()) < len(want) and time.time() < deadline:
            time.sleep(0.1)
        # both workers keep polling a while longer: a second delivery would show now
        time.sleep(1.5)
        self.assertEqual(sorted(self.oru_keys()), want)
        rows = sql_rows(self.nodes[0].db_url,
                        "SELECT status, COUNT(*), COUNT(DISTINCT control_id),"
                        " SUM(CASE WHEN claimed_by IS NULL THEN 0 ELSE 1 END)"
                        " FROM outbox GROUP BY status")
        self.assertEqual(rows, [["delivered", str(len(want)), str(len(want)), "0"]])
        # the deliveries each node counted add up to one per result
        sent = [self.delivered(i) for i in (0, 1)]
        self.assertEqual(sum(sent), len(want), sent)

    def delivered(self, node):
        """The node's count of results delivered, from its /metrics."""
        text = self.call("GET", "/metrics", node=node).raw.decode()
        key = 'benchside_messages_out_total{kind="result",outcome="delivered"} '
        lines = [ln for ln in text.splitlines() if ln.startswith(key)]
        return int(lines[0][len(key):]) if lines else 0

    def test_2_an_event_on_one_node_reaches_a_browser_on_the_other(self):
        stream = Stream(self.nodes[1], self.token)
        self.addCleanup(stream.close)
        self.assertEqual(stream.resp.status, 200)
        # a result entered on node A (held for review: sodium 151 is high) ...
        acc = received_specimens(self, 1, tests=("NA",))[0]
        out = self.call("POST", "/api/v1/specimens/%s/results" % acc,
                        {"results": [{"code": "NA", "value": 151}]}).json["results"]
        # ... is seen by the browser on node B
        ev = stream.next("result.entered", timeout=30)
        self.assertEqual(ev["data"]["result_id"], out[0]["id"])
        self.assertEqual(ev["data"]["accession"], acc)
        # and the other way round: released on node B, seen on node A
        back = Stream(self.nodes[0], self.token)
        self.addCleanup(back.close)
        self.assertEqual(back.resp.status, 200)
        acc2 = received_specimens(self, 1, tests=("K",))[0]
        out2 = self.call("POST", "/api/v1/specimens/%s/results" % acc2,
                         {"results": [{"code": "K", "value": 4.2}]}, node=1).json["results"]
        ev = back.next("result.released", timeout=30)
        self.assertEqual(ev["data"]["result_id"], out2[0]["id"])

if __name__ == "__main__":
    unittest.main()
