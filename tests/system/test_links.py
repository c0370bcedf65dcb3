"""System tests of the instrument and EHR links (src/link/, docs/interfaces.md).

A real server listens for MLLP and ASTM on free loopback ports. The peers are
written here and in peers.py from the standards, independently of benchside's
codecs: an EHR that places orders and receives ORU^R01 (peers.MllpPeer), HL7
analyzers that query and send results, and `benchside sim` as an ASTM
analyzer. Every message benchside sends is also read by Debian's python3-hl7.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

from tests.system.harness import ADMIN_PASSWORD, bin_path, cli_env
from tests.system.peers import AstmPeer, MllpPeer, hl7_get, hl7_segments
from tests.system.test_lab import LabTestCase

VT, FS, CR = b"\x0b", b"\x1c", b"\x0d"

HL7_CHECK = r"""
import hl7, json, sys
out = []
for text in json.load(sys.stdin):
    m = hl7.parse(text)
    out.append({"type": str(m.segment("MSH")[9]),
                "segments": [str(s[0]) for s in m]})
print(json.dumps(out))
"""


def python_hl7(messages):
    """Message types and segment ids as Debian's python3-hl7 reads them."""
    p = subprocess.run(["/usr/bin/python3", "-c", HL7_CHECK], input=json.dumps(messages),
                       capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise AssertionError("python3-hl7 could not read: " + p.stderr[-2000:])
    return json.loads(p.stdout)


class MllpClient:
    """A sender over MLLP: one connection, one message at a time."""

    def __init__(self, port, timeout=15):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def send_raw(self, data):
        self.sock.sendall(data)

    def read_reply(self):
        while FS + CR not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed before a reply")
            self.buf += chunk
        start = self.buf.index(VT)
        end = self.buf.index(FS + CR)
        text = self.buf[start + 1:end].decode("utf-8")
        self.buf = self.buf[end + 2:]
        return text

    def send(self, text):
        self.send_raw(VT + text.replace("\n", "\r").encode("utf-8") + FS + CR)
        return self.read_reply()

    def close(self):
        self.sock.close()


def msa(reply):
    segs = hl7_segments(reply)
    m = [s for s in segs if s[0] == "MSA"][0]
    err = [s for s in segs if s[0] == "ERR"]
    return hl7_get(m, 1), hl7_get(m, 2), (err[0] if err else None)


_ctl = [0]


def ctl(prefix="C"):
    _ctl[0] += 1
    return "%s%d%06d" % (prefix, os.getpid() % 1000, _ctl[0])


def msh(app, fac, mtype, control):
    return "MSH|^~\\&|%s|%s|benchside|LAB|20261121103000||%s|%s|P|2.5.1" % (
        app, fac, mtype, control)


def orm(mrn, placer, tests, control=None, order_control="NW", dg1=True, family="Doe"):
    lines = [msh("EPIC", "HOSP", "ORM^O01^ORM_O01", control or ctl("O")),
             "PID|1||%s^^^HOSP^MR||%s^Jane||19800412|F" % (mrn, family), "PV1|1|O"]
    for i, t in enumerate(tests):
        lines.append("ORC|%s|%s||||||^^^^^R||||1234^Welby^Marcus" % (order_control, placer))
        lines.append("OBR|%d|%s||%s|||||||||||||1234^Welby^Marcus" % (i + 1, placer, t))
    if dg1:
        lines.append("DG1|1||E11.9^Type 2 diabetes^I10")
    return "\r".join(lines)


def oul(accession, results, control=None, app="SIM-HL7", mrn=None):
    lines = [msh(app, "LAB", "OUL^R22^OUL_R22", control or ctl("R")),
             "PID|1||%s" % (mrn or ""), "SPM|1|%s||SER" % accession, "OBR|1|%s" % accession]
    for i, (code, value, unit) in enumerate(results):
        lines.append("OBX|%d|NM|%s^%s^L||%s|%s||N|||F" % (i + 1, code, code, value, unit))
    return "\r".join(lines)


def unique(prefix):
    return "%s%d%04d" % (prefix, os.getpid() % 10000, int(time.time() * 1000) % 10000)


class LinksTestCase(LabTestCase):
    server_args = ("--mllp", "127.0.0.1:0", "--astm", "127.0.0.1:0")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ehr = MllpPeer(answer="AA")
        cls.mllp_port, cls.astm_port = cls.server.link_ports()
        r = cls.server.request("PUT", "/api/v1/instruments", token=cls.server.admin(), body={
            "instruments": [
                {"name": "EHR-1", "kind": "ehr", "protocol": "hl7",
                 "match": {"application": "EPIC", "facility": "HOSP"},
                 "send_to": "127.0.0.1:%d" % cls.ehr.port},
                {"name": "HEME-1", "kind": "analyzer", "protocol": "hl7",
                 "match": {"application": "SIM-HL7"}, "mappings": {"Gluc": "GLU"}},
                {"name": "CHEM-1", "kind": "analyzer", "protocol": "astm",
                 "match": {"sender": "SIM-ASTM"}, "mappings": {"Glucose": "GLU"}},
                {"name": "LOCKED-1", "kind": "analyzer", "protocol": "hl7",
                 "match": {"application": "LOCKED"}, "allowed_peers": ["10.9.9.9"]},
            ]})
        if r.status != 200:
            raise AssertionError("instrument import failed: %s %r" % (r.status, r.raw[:400]))

    @classmethod
    def tearDownClass(cls):
        cls.ehr.close()
        super().tearDownClass()

    def mllp(self):
        c = MllpClient(self.mllp_port)
        self.addCleanup(c.close)
        return c

    def receive(self, acc):
        self.call("POST", "/api/v1/specimens/%s/events" % acc, {"event": "collected"})
        self.call("POST", "/api/v1/specimens/%s/events" % acc, {"event": "received"})

    def place(self, tests, mrn=None):
        """An order from the EHR over MLLP; its accession numbers."""
        mrn = mrn or unique("M")
        placer = unique("P")
        code, control, err = msa(self.mllp().send(orm(mrn, placer, tests)))
        self.assertEqual(code, "AA", err)
        m = self.journal(control_id=control)[0]
        return mrn, placer, m["summary"]["orders"][0]["accessions"]

    def journal(self, **q):
        qs = "&".join("%s=%s" % kv for kv in q.items())
        return self.call("GET", "/api/v1/messages?" + qs).json["items"]

    def wait_for(self, what, fn, timeout=15):
        deadline = time.time() + timeout
        while time.time() < deadline:
            v = fn()
            if v:
                return v
            time.sleep(0.1)
        self.fail("timed out waiting for " + what)

    def ehr_oru(self, accession):
        """ORU^R01 messages the test EHR received for a specimen."""
        return [m for m in list(self.ehr.messages)
                if "ORU^R01" in m and "|%s|" % accession in m]


class TestEhrMessages(LinksTestCase):
    def test_adt_registers_and_updates(self):
        mrn = unique("A")
        c = self.mllp()
        a04 = "\r".join([msh("EPIC", "HOSP", "ADT^A04^ADT_A01", ctl("A")), "EVN|A04",
                         "PID|1||%s^^^HOSP^MR||Moreau^Lucie||19550101|F" % mrn])
        code, _, err = msa(c.send(a04))
        self.assertEqual(code, "AA", err)
        p = self.call("GET", "/api/v1/patients?mrn=" + mrn).json["items"]
        self.assertEqual([(x["family"], x["given"], x["birth_date"], x["sex"]) for x in p],
                         [("Moreau", "Lucie", "1955-01-01", "female")])
        a08 = a04.replace("ADT^A04", "ADT^A08").replace("Moreau^Lucie", "Moreau-Blanc^Lucie")
        a08 = a08.replace(hl7_get(hl7_segments(a04)[0], 10), ctl("A"))
        self.assertEqual(msa(c.send(a08))[0], "AA")
        p = self.call("GET", "/api/v1/patients?mrn=" + mrn).json["items"]
        self.assertEqual([x["family"] for x in p], ["Moreau-Blanc"])
        # an analyzer may not register patients
        bad = a04.replace("EPIC|HOSP", "SIM-HL7|LAB").replace(hl7_get(hl7_segments(a04)[0], 10),
                                                             ctl("A"))
        code, _, err = msa(c.send(bad))
        self.assertEqual(code, "AR")
        self.assertIn("not an EHR", "|".join(err))

    def test_orders_new_duplicate_and_cancel(self):
        mrn, placer = unique("M"), unique("P")
        c = self.mllp()
        text = orm(mrn, placer, ["GLU^Glucose^L", "2951-2^Sodium^LN", "CBC^CBC^L"])
        code, control, err = msa(c.send(text))
        self.assertEqual(code, "AA", err)
        (m,) = self.journal(control_id=control)
        self.assertEqual((m["status"], m["instrument"], m["type"]),
                         ("accepted", "EHR-1", "ORM^O01"))
        order = m["summary"]["orders"][0]
        self.assertEqual(order["placer_id"], placer)
        got = self.call("GET", "/api/v1/orders/" + order["id"]).json
        codes = sorted(t["code"] for s in got["specimens"] for t in s["tests"])
        self.assertIn("GLU", codes)
        self.assertIn("NA", codes)  # from the LOINC code
        self.assertIn("HGB", codes)  # the panel expanded
        self.assertEqual(len(order["accessions"]), len(got["specimens"]))
        # the same message again: acknowledged, not stored twice
        self.assertEqual(msa(c.send(text)), ("AA", control, None))
        statuses = sorted(x["status"] for x in self.journal(control_id=control))
        self.assertEqual(statuses, ["accepted", "duplicate"])
        # a new message with the same order number is refused, naming it
        code, _, err = msa(c.send(orm(mrn, placer, ["GLU^Glucose^L"])))
        self.assertEqual(code, "AE")
        self.assertIn("placed already", "|".join(err))
        # cancel
        code, _, err = msa(c.send(orm(mrn, placer, ["GLU^Glucose^L"], order_control="CA")))
        self.assertEqual(code, "AA", err)
        got = self.call("GET", "/api/v1/orders/" + order["id"]).json
        self.assertEqual(got["status"], "cancelled")
        self.assertEqual({t["status"] for s in got["specimens"] for t in s["tests"]},
                         {"cancelled"})

    def test_bad_orders_are_refused_with_err(self):
        c = self.mllp()
        cases = [
            (orm(unique("M"), unique("P"), ["NOPE^Nothing^L"]), "AE", "OBR", "matches no test"),
            (orm(unique("M"), unique("P"), ["GLU^Glucose^L"], dg1=False), "AE", None, "DG1"),
            (orm("", unique("P"), ["GLU^Glucose^L"]), "AE", "PID", "PID-3"),
        ]
        for text, want, seg, words in cases:
            code, control, err = msa(c.send(text))
            self.assertEqual(code, want, text)
            self.assertIsNotNone(err)
            if seg:
                self.assertEqual(hl7_get(err, 2, 1), seg)
            self.assertIn(words, "|".join(err))
            (m,) = self.journal(control_id=control)
            self.assertEqual(m["status"], "error")
            self.assertIn(words, m["error"])
            self.assertEqual(m["summary"], {})
        # nothing half-written: no patient was created for the refused orders
        for text, _, _, _ in cases[:2]:
            mrn = hl7_get(hl7_segments(text)[1], 3, 1)
            self.assertEqual(self.call("GET", "/api/v1/patients?mrn=" + mrn).json["items"], [])

    def test_unknown_sender_and_peer(self):
        c = self.mllp()
        text = orm(unique("M"), unique("P"), ["GLU^Glucose^L"]).replace("EPIC|HOSP", "WHO|WHERE")
        code, control, err = msa(c.send(text))
        self.assertEqual(code, "AR")
        self.assertEqual(hl7_get(err, 3, 1), "204")
        self.assertIn("unknown sender", hl7_get(err, 8))
        (m,) = self.journal(control_id=control, status="rejected")
        self.assertIsNone(m["instrument"])
        raw = self.call("GET", "/api/v1/messages/" + m["id"]).json["raw"]
        self.assertEqual(raw, text)
        # LOCKED-1 may only send from 10.9.9.9
        code, _, err = msa(c.send(oul("263250000000", [("GLU", "90", "mg/dL")], app="LOCKED")))
        self.assertEqual(code, "AR")
        self.assertIn("may not send from 127.0.0.1", "|".join(err))


class TestLinkState(LinksTestCase):
    def test_connections_as_they_come_and_go(self):
        """GET /api/v1/links: the listeners, and each connection with the
        instrument recognised from its messages, its count of messages and of
        those not accepted; a connection closed is gone from the list."""
        def mine(port):
            conns = self.call("GET", "/api/v1/links").json["connections"]
            return [c for c in conns if c["peer"] == "127.0.0.1:%d" % port]

        state = self.call("GET", "/api/v1/links").json
        self.assertEqual((state["mllp"], state["astm"]),
                         ({"listening": True, "port": self.mllp_port},
                          {"listening": True, "port": self.astm_port}))
        ehr, stranger = self.mllp(), self.mllp()
        ehr_port, stranger_port = ehr.sock.getsockname()[1], stranger.sock.getsockname()[1]
        (c,) = self.wait_for("the connection to be told", lambda: mine(ehr_port))
        self.assertEqual((c["transport"], c["protocol"], c["instrument"], c["messages"],
                          c["not_accepted"], c["last_status"], c["last_message_at"]),
                         ("mllp", "hl7", None, 0, 0, None, None))
        a04 = "\r".join([msh("EPIC", "HOSP", "ADT^A04^ADT_A01", ctl("S")), "EVN|A04",
                         "PID|1||%s^^^HOSP^MR||Roux^Anna||19610203|F" % unique("S")])
        self.assertEqual(msa(ehr.send(a04))[0], "AA")
        text = orm(unique("M"), unique("P"), ["GLU^Glucose^L"]).replace("EPIC|HOSP", "WHO|WHERE")
        self.assertEqual(msa(stranger.send(text))[0], "AR")
        (c,) = mine(ehr_port)
        self.assertEqual((c["instrument"], c["messages"], c["not_accepted"], c["last_status"]),
                         ("EHR-1", 1, 0, "accepted"))
        self.assertIsNotNone(c["last_message_at"])
        (c,) = mine(stranger_port)
        self.assertEqual((c["instrument"], c["messages"], c["not_accepted"], c["last_status"]),
                         (None, 1, 1, "rejected"))
        ehr.close()
        self.wait_for("the closed connection to go", lambda: not mine(ehr_port))
        self.assertEqual(len(mine(stranger_port)), 1)
        # who may not read the interfaces may not read this either
        self.call("GET", "/api/v1/links", token=self.login_as("clinician"), status=403)


class TestResults(LinksTestCase):
    def test_query_results_release_and_delivery(self):
        mrn, placer, (acc,) = self.place(["GLU^Glucose^L", "K^Potassium^L"])
        c = self.mllp()
        # before receipt: the query answers the orders, results are refused
        q = "\r".join([msh("SIM-HL7", "LAB", "QBP^Q11^QBP_Q11", ctl("Q")),
                       "QPD|WOS^Work Order Step^IHE_LABTF|TAG1|%s" % acc, "RCP|I||R"])
        rsp = c.send(q)
        segs = hl7_segments(rsp)
        self.assertEqual(hl7_get(segs[0], 9), "RSP^K11^RSP_K11")
        qak = [s for s in segs if s[0] == "QAK"][0]
        self.assertEqual((hl7_get(qak, 1), hl7_get(qak, 2)), ("TAG1", "OK"))
        self.assertEqual(hl7_get([s for s in segs if s[0] == "PID"][0], 3, 1), mrn)
        codes = sorted(hl7_get(s, 4, 1) for s in segs if s[0] == "OBR")
        self.assertEqual(codes, ["Gluc", "K"])  # HEME-1 calls GLU "Gluc"
        code, control, err = msa(c.send(oul(acc, [("Gluc", "92", "mg/dL"), ("K", "4.1",
                                                                           "mmol/L")])))
        self.assertEqual(code, "AE")
        self.assertIn("received specimens", "|".join(err))
        refused = self.journal(control_id=control)[0]
        self.receive(acc)
        # replay the refused message now that the specimen is here
        rep = self.call("POST", "/api/v1/messages/%s/replay" % refused["id"]).json
        self.assertEqual((rep["status"], rep["error"]), ("accepted", None))
        self.assertEqual(msa(rep["reply"])[0], "AA")
        rep2 = self.call("POST", "/api/v1/messages/%s/replay" % refused["id"]).json
        self.assertEqual(rep2["status"], "duplicate")
        spec = self.call("GET", "/api/v1/specimens/" + acc).json
        self.assertEqual(sorted((t["code"], t["status"]) for t in spec["tests"]),
                         [("GLU", "released"), ("K", "released")])
        # both normal results go to the EHR as ORU^R01
        orus = self.wait_for("two ORU^R01", lambda: len(self.ehr_oru(acc)) >= 2 and
                             self.ehr_oru(acc))
        obx = sorted((hl7_get(s, 3, 4), hl7_get(s, 5), hl7_get(s, 11))
                     for m in orus for s in hl7_segments(m) if s[0] == "OBX")
        self.assertEqual(obx, [("GLU", "92", "F"), ("K", "4.1", "F")])
        for m in orus:
            pid = [s for s in hl7_segments(m) if s[0] == "PID"][0]
            self.assertEqual(hl7_get(pid, 3, 1), mrn)
            orc = [s for s in hl7_segments(m) if s[0] == "ORC"][0]
            self.assertEqual(hl7_get(orc, 2), placer)
        read = python_hl7(orus + [rsp])
        self.assertEqual({r["type"] for r in read}, {"ORU^R01^ORU_R01", "RSP^K11^RSP_K11"})
        outbox = self.call("GET", "/api/v1/outbox?status=delivered").json["items"]
        self.assertTrue(any(o["destination"] == "EHR-1" for o in outbox))

    def test_outbox_retries_until_aa_and_sends_corrections(self):
        mrn, placer, (acc,) = self.place(["NA^Sodium^L"])
        self.receive(acc)
        self.ehr.answer = "AE"  # the EHR refuses for a while
        try:
            code, control, err = msa(self.mllp().send(oul(acc, [("NA", "141", "mmol/L")])))
            self.assertEqual(code, "AA", err)
            rid = self.journal(control_id=control)[0]["summary"]["results"][0]
            row = self.wait_for("a refused attempt", lambda: [
                o for o in self.call("GET", "/api/v1/outbox?status=pending").json["items"]
                if o["result_id"] == rid and o["attempts"] >= 1])[0]
            self.assertIn("answered AE", row["last_error"])
        finally:
            self.ehr.answer = "AA"
        self.wait_for("delivered after the refusals", lambda: [
            o for o in self.call("GET", "/api/v1/outbox?status=delivered").json["items"]
            if o["result_id"] == rid])
        # a correction goes out too, with result status C
        self.call("POST", "/api/v1/results/%s/correct" % rid,
                  {"value": 139, "reason": "transcription checked", "password": ADMIN_PASSWORD})
        oru = self.wait_for("the corrected ORU^R01", lambda: [
            m for m in self.ehr_oru(acc)
            if [s for s in hl7_segments(m) if s[0] == "OBX" and hl7_get(s, 11) == "C"]])
        obx = [x for x in hl7_segments(oru[0]) if x[0] == "OBX"][0]
        self.assertEqual((hl7_get(obx, 5), hl7_get(obx, 11)), ("139", "C"))
        self.assertEqual(hl7_get([x for x in hl7_segments(oru[0]) if x[0] == "OBR"][0], 25), "C")

    def test_critical_waits_for_its_call(self):
        mrn, placer, (acc,) = self.place(["K^Potassium^L"])
        self.receive(acc)
        code, control, err = msa(self.mllp().send(oul(acc, [("K", "6.9", "mmol/L")], mrn=mrn)))
        self.assertEqual(code, "AA", err)
        rid = self.journal(control_id=control)[0]["summary"]["results"][0]
        time.sleep(1.5)
        self.assertEqual(self.ehr_oru(acc), [])
        r = self.call("GET", "/api/v1/results/" + rid).json
        self.assertEqual(r["status"], "review")
        self.call("POST", "/api/v1/results/%s/critical-call" % rid,
                  {"notified": "Dr. Welby", "read_back": True})
        self.call("POST", "/api/v1/results/release", {"ids": [rid], "password": ADMIN_PASSWORD})
        (oru,) = self.wait_for("the ORU^R01", lambda: self.ehr_oru(acc))
        obx = [s for s in hl7_segments(oru) if s[0] == "OBX"][0]
        self.assertEqual((hl7_get(obx, 5), hl7_get(obx, 8)), ("6.9", "HH"))

    def test_results_refused_when_wrong(self):
        mrn, placer, (acc,) = self.place(["GLU^Glucose^L"])
        self.receive(acc)
        c = self.mllp()
        cases = [
            (oul(acc, [("Gluc", "92", "mmol/L")]), "unit", "OBX^5^6"),
            (oul(acc, [("XYZ", "92", "")]), "unknown test code", "OBX^5^3"),
            (oul("263250000000", [("Gluc", "92", "")]), "not known here", None),
            (oul(acc, [("Gluc", "92", "mg/dL")], mrn="SOMEONE-ELSE"), "another patient", None),
        ]
        for text, words, loc in cases:
            code, control, err = msa(c.send(text))
            self.assertEqual(code, "AE", text)
            self.assertIn(words, "|".join(err))
            if loc:
                self.assertEqual("^".join(err[2].split("^")[:3]), loc)
        spec = self.call("GET", "/api/v1/specimens/" + acc).json
        self.assertEqual([t["status"] for t in spec["tests"]], ["ordered"])


class TestFaults(LinksTestCase):
    def test_garbage_split_frames_and_oversize(self):
        mrn, placer, (acc,) = self.place(["GLU^Glucose^L"])
        c = self.mllp()
        c.send_raw(b"garbage before any frame\r\n\x00\xff")
        text = oul(acc, [("Gluc", "92", "mg/dL")]).encode()
        framed = VT + text + FS + CR
        for b in framed:  # one byte at a time
            c.send_raw(bytes([b]))
        code, _, _ = msa(c.read_reply())
        self.assertEqual(code, "AE")  # not received yet, but read whole
        faults = self.journal(type="fault")
        self.assertTrue(any("outside" in f["error"] for f in faults), faults)
        # a frame cut short by a new start block is dropped; the next is read
        c.send_raw(VT + b"MSH|^~\\&|half" + framed)
        self.assertEqual(msa(c.read_reply())[0], "AE")
        # an oversize message: AR, and the connection goes on
        c.send_raw(VT + b"MSH|^~\\&|" + b"x" * (1100 * 1024) + FS + CR)
        code, _, err = msa(c.read_reply())
        self.assertEqual((code, hl7_get(err, 3, 1)), ("AR", "207"))
        self.assertIn("size limit", hl7_get(err, 8))
        self.assertEqual(msa(c.send(orm(unique("M"), unique("P"), ["GLU^Glucose^L"])))[0], "AA")

    def test_other_connections_unharmed(self):
        # 20 idle connections and one that stops in the middle of a frame
        idle = [socket.create_connection(("127.0.0.1", self.mllp_port)) for _ in range(20)]
        stuck = socket.create_connection(("127.0.0.1", self.mllp_port))
        stuck.sendall(VT + b"MSH|^~\\&|SIM-HL7|LAB")
        try:
            code, _, _ = msa(self.mllp().send(orm(unique("M"), unique("P"), ["GLU^Glucose^L"])))
            self.assertEqual(code, "AA")
        finally:
            for s in idle + [stuck]:
                s.close()


class TestAstmAnalyzer(LinksTestCase):
    """The issue's whole path: an EHR orders over MLLP, an ASTM analyzer
    (benchside sim) asks for the specimen's orders and sends results, over TCP
    and over a pseudo-terminal as a serial line; normal results go to the EHR
    as ORU^R01, a critical one only after its call is documented."""

    def sim(self, *args, timeout=90):
        p = subprocess.run([bin_path(), "sim"] + [str(a) for a in args], capture_output=True,
                           text=True, timeout=timeout, env=cli_env())
        lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
        self.assertTrue(lines, p.stderr[-2000:])
        return p.returncode, json.loads(lines[-1]), p.stderr

    def results_of(self, acc):
        spec = self.call("GET", "/api/v1/specimens/" + acc).json
        return {t["code"]: t["status"] for t in spec["tests"]}

    def test_tcp_query_results_and_critical(self):
        mrn, placer, (acc,) = self.place(["NA^Sodium^L", "K^Potassium^L", "CL^Chloride^L"])
        self.receive(acc)
        rc, summary, err = self.sim("--protocol", "astm", "--connect",
                                    "127.0.0.1:%d" % self.astm_port, "--specimen", acc,
                                    "--bad-checksum-every", "3", "--seed", "7")
        self.assertEqual(rc, 0, err[-3000:])
        self.assertEqual((summary["queries"], summary["orders_received"],
                          summary["results_sent"]), (1, 3, 3), summary)
        self.assertGreater(summary["naks"], 0)
        statuses = self.results_of(acc)
        self.assertEqual(set(statuses), {"NA", "K", "CL"})
        released = [c for c, st in statuses.items() if st == "released"]
        self.assertTrue(released, statuses)
        self.wait_for("ORU^R01 for every released result",
                      lambda: len(self.ehr_oru(acc)) >= len(released))
        # the journal: the query, the results and the refused frames
        msgs = self.journal(instrument="CHEM-1")
        types = {m["type"] for m in msgs if m["status"] == "accepted"}
        self.assertTrue({"astm:query", "astm:results"} <= types, msgs)
        self.assertTrue(any("checksum" in (m["error"] or "") for m in self.journal(type="fault")))

        # a critical potassium does not leave before its call
        mrn, placer, (acc2,) = self.place(["K^Potassium^L"])
        self.receive(acc2)
        rc, summary, err = self.sim("--protocol", "astm", "--connect",
                                    "127.0.0.1:%d" % self.astm_port, "--specimen", acc2,
                                    "--critical-every", "1")
        self.assertEqual((rc, summary["critical_injected"]), (0, 1), err[-2000:])
        self.assertEqual(self.results_of(acc2), {"K": "resulted"})
        time.sleep(1.5)
        self.assertEqual(self.ehr_oru(acc2), [])
        rid = [m for m in self.journal(instrument="CHEM-1", type="astm:results")
               if acc2 in json.dumps(m)][0]["summary"]["results"][0]
        self.call("POST", "/api/v1/results/%s/critical-call" % rid,
                  {"notified": "Ward 3 nurse", "read_back": True})
        self.call("POST", "/api/v1/results/release", {"ids": [rid], "password": ADMIN_PASSWORD})
        (oru,) = self.wait_for("the critical ORU^R01", lambda: self.ehr_oru(acc2))
        self.assertIn(hl7_get([s for s in hl7_segments(oru) if s[0] == "OBX"][0], 8),
                      ("HH", "LL"))

    def test_serial_line_over_a_pseudo_terminal(self):
        mrn, placer, (acc,) = self.place(["NA^Sodium^L", "CL^Chloride^L"])
        self.receive(acc)
        p = subprocess.Popen([bin_path(), "sim", "--protocol", "astm", "--pty", "--sender",
                              "ANYTHING", "--specimen", acc, "--connect-timeout", "60"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=cli_env())
        try:
            path = json.loads(p.stdout.readline())["pty"]
            self.call("PUT", "/api/v1/instruments", {"instruments": [
                {"name": "CHEM-SERIAL", "kind": "analyzer", "protocol": "astm",
                 "transport": "serial",
                 "serial": {"device": path, "baud": 9600, "parity": "none"}}]})
            out, err = p.communicate(timeout=90)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        self.assertEqual(p.returncode, 0, err[-3000:])
        summary = json.loads(out.strip().splitlines()[-1])
        self.assertEqual((summary["orders_received"], summary["results_sent"]), (2, 2))
        self.assertEqual(set(self.results_of(acc)), {"NA", "CL"})
        msgs = self.journal(instrument="CHEM-SERIAL")
        self.assertTrue(msgs)
        self.assertEqual({m["transport"] for m in msgs}, {"serial"})
        self.assertEqual({m["peer"] for m in msgs}, {path})


def astm_frame(fn, text, bad=False):
    """One E1381 frame (checksum computed here, not by benchside's code)."""
    body = (str(fn % 8) + text + "\r").encode() + b"\x03"
    cs = (sum(body) + (1 if bad else 0)) % 256
    return b"\x02" + body + ("%02X" % cs).encode() + b"\r\n"


class AstmSender:
    """An instrument sending one transmission and reading each reply."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=20)

    def reply(self):
        b = self.sock.recv(1)
        if not b:
            raise ConnectionError("closed")
        return b

    def send(self, records, bad_frame=None):
        """Send records, one frame each (frame bad_frame first with a wrong
        checksum); returns the reply byte to each frame sent."""
        self.sock.sendall(b"\x05")
        assert self.reply() == b"\x06"
        replies = []
        for i, r in enumerate(records):
            if i + 1 == bad_frame:
                self.sock.sendall(astm_frame(i + 1, r, bad=True))
                replies.append(self.reply())
            self.sock.sendall(astm_frame(i + 1, r))
            replies.append(self.reply())
        self.sock.sendall(b"\x04")
        return replies

    def close(self):
        self.sock.close()


class TestAstmRecords(LinksTestCase):
    def test_results_comments_and_refusals(self):
        mrn, placer, (acc,) = self.place(["NA^Sodium^L", "K^Potassium^L"])
        self.receive(acc)
        c = AstmSender(self.astm_port)
        self.addCleanup(c.close)
        records = ["H|\\^&|||SIM-ASTM^2.1|||||||P|LIS2-A2|20261121120000",
                   "P|1|%s" % mrn, "O|1|%s||^^^NA\\^^^K" % acc,
                   "R|1|^^^NA|140|mmol/L|136 to 145|N||F",
                   "C|1|I|Lipemic^index 2|G",
                   "R|2|^^^K|4.2|mmol/L|3.5 to 5.1|N||F", "L|1|N"]
        # frame 3 arrives first with a wrong checksum: NAK, then ACK
        replies = c.send(records, bad_frame=3)
        self.assertEqual(replies, [b"\x06", b"\x06", b"\x15"] + [b"\x06"] * 5)
        (m,) = [x for x in self.journal(instrument="CHEM-1", type="astm:results")
                if acc in x["summary"].get("specimens", [])]
        self.assertEqual(len(m["summary"]["results"]), 2)
        self.assertEqual([(k["source"], k["type"], k["text"]) for k in m["summary"]["comments"]],
                         [("I", "G", "Lipemic index 2")])
        self.assertTrue(any("checksum" in (f["error"] or "") for f in self.journal(type="fault")))
        # an unknown sender: every frame ACKed but the last, which is NAKed
        stranger = [records[0].replace("SIM-ASTM", "WHO-IS-THIS")] + records[1:]
        c2 = AstmSender(self.astm_port)
        self.addCleanup(c2.close)
        replies = c2.send(stranger)
        self.assertEqual(replies, [b"\x06"] * 6 + [b"\x15"])
        (r,) = [x for x in self.journal(status="rejected", type="astm:results")
                if "WHO-IS-THIS" in (x["error"] or "")]
        self.assertIn("unknown sender", r["error"])


class TestPushOrders(LinksTestCase):
    """Analyzers that do not ask: a received specimen's tests go to them, only
    the tests on each one's menu, in its own codes (OML^O33 over MLLP; ASTM
    records over E1381)."""

    def test_push_on_receipt(self):
        heme = MllpPeer(answer="AA")
        chem = AstmPeer().listen()
        self.addCleanup(heme.close)
        self.addCleanup(chem.close)
        self.call("PUT", "/api/v1/instruments", {"instruments": [
            {"name": "HEME-PUSH", "kind": "analyzer", "protocol": "hl7",
             "match": {"application": "HEME-PUSH"}, "send_to": "127.0.0.1:%d" % heme.port,
             "orders": {"mode": "push", "message": "oml"}, "menu": ["HGB", "WBC", "PLT"],
             "mappings": {"HB": "HGB"}},
            {"name": "CHEM-PUSH", "kind": "analyzer", "protocol": "astm",
             "match": {"sender": "CHEM-PUSH"}, "send_to": "127.0.0.1:%d" % chem.port,
             "orders": {"mode": "push"}, "menu": ["NA", "K"]}]})
        got = self.call("GET", "/api/v1/instruments/HEME-PUSH").json
        self.assertEqual((got["orders"], got["menu"], got["mappings"]),
                         ({"mode": "push", "message": "oml"}, ["HGB", "WBC", "PLT"],
                          {"HB": "HGB"}))
        mrn, placer, accs = self.place(["NA^Sodium^L", "K^Potassium^L", "GLU^Glucose^L",
                                        "CBC^CBC^L"])
        self.assertEqual(len(accs), 2)
        for acc in accs:
            self.receive(acc)
        oml = self.wait_for("the OML^O33", lambda: [m for m in heme.messages if "OML^O33" in m])
        segs = hl7_segments(oml[0])
        spm = [x for x in segs if x[0] == "SPM"][0]
        blood = hl7_get(spm, 2)
        self.assertIn(blood, accs)
        self.assertEqual(hl7_get([x for x in segs if x[0] == "PID"][0], 3, 1), mrn)
        self.assertEqual(sorted(hl7_get(x, 4, 1) for x in segs if x[0] == "OBR"),
                         ["HB", "PLT", "WBC"])
        astm = self.wait_for("the ASTM orders", lambda: list(chem.messages))
        records = astm[0]
        order = [r for r in records if r.startswith("O|")][0].split("|")
        self.assertEqual(order[2], [a for a in accs if a != blood][0])
        self.assertEqual(sorted(t.split("^")[3] for t in order[4].split("\\")), ["K", "NA"])
        self.assertTrue(records[0].startswith("H|") and records[-1].startswith("L|"))
        self.assertEqual(chem.errors, [])
        rows = self.wait_for("both rows delivered", lambda: [
            o for o in self.call("GET", "/api/v1/outbox/orders?status=delivered").json["items"]
            if o["accession"] in accs])
        self.assertEqual(sorted((o["destination"], tuple(sorted(o["tests"]))) for o in rows),
                         [("CHEM-PUSH", ("K", "NA")), ("HEME-PUSH", ("HB", "PLT", "WBC"))])


TOOLS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools")


def simple_hl7(*args):
    """tests/tools/hl7-interop.mjs (simple-hl7 from npm); its JSON output."""
    if not shutil.which("node") or not os.path.isdir(os.path.join(TOOLS, "node_modules")):
        raise AssertionError("the npm test tools are missing: run `npm ci` in tests/tools "
                             "(tests/run.py does it)")
    p = subprocess.run(["node", os.path.join(TOOLS, "hl7-interop.mjs")] + list(args),
                       capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        raise AssertionError("simple-hl7: " + p.stderr[-2000:])
    return json.loads(p.stdout)


class TestInterop(LinksTestCase):
    """Implementations nobody here wrote: simple-hl7 (npm) sends over MLLP and
    reads every message benchside sends; python3-hl7 (Debian) reads them too."""

    def write_json(self, data):
        fd, path = tempfile.mkstemp(suffix=".json")
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh)
        self.addCleanup(os.unlink, path)
        return path

    def test_npm_client_sends_and_gets_acks(self):
        mrn, placer = unique("M"), unique("P")
        good = orm(mrn, placer, ["GLU^Glucose^L"])
        adt = "\r".join([msh("EPIC", "HOSP", "ADT^A08^ADT_A01", ctl("A")),
                         "PID|1||%s^^^HOSP^MR||Doe^Janet||19800412|F" % mrn])
        stranger = good.replace("EPIC|HOSP", "NOBODY|NOWHERE")
        sent = [good, adt, stranger, good]
        acks = simple_hl7("send", "127.0.0.1", str(self.mllp_port), self.write_json(sent))
        controls = [hl7_get(hl7_segments(m)[0], 10) for m in sent]
        self.assertEqual([(a["code"], a["control"]) for a in acks],
                         [("AA", controls[0]), ("AA", controls[1]), ("AR", controls[2]),
                          ("AA", controls[3])])
        self.assertIn("unknown sender", acks[2]["error"])
        # the stranger used the same control id: its own sender, refused
        self.assertEqual([(x["status"], x["instrument"])
                          for x in self.journal(control_id=controls[0])],
                         [("duplicate", "EHR-1"), ("rejected", None), ("accepted", "EHR-1")])
        self.assertEqual([p["given"] for p in self.call(
            "GET", "/api/v1/patients?mrn=" + mrn).json["items"]], ["Janet"])

    def test_everything_sent_is_read_by_other_parsers(self):
        mrn, placer, (acc,) = self.place(["NA^Sodium^L", "CL^Chloride^L"])
        self.receive(acc)
        c = self.mllp()
        sent = [
            c.send("\r".join([msh("SIM-HL7", "LAB", "QBP^Q11^QBP_Q11", ctl("Q")),
                              "QPD|WOS^Work Order Step^IHE_LABTF|T9|%s" % acc, "RCP|I||R"])),
            c.send(oul(acc, [("NA", "141", "mmol/L"), ("CL", "101", "mmol/L")])),
            c.send(oul(acc, [("NA", "x", "mmol/L")])),
            c.send(orm("", unique("P"), ["GLU^Glucose^L"])),
        ]
        sent += self.wait_for("two ORU^R01", lambda: len(self.ehr_oru(acc)) >= 2 and
                              self.ehr_oru(acc))
        ours = [[seg[0] for seg in hl7_segments(m)] for m in sent]
        npm = simple_hl7("parse", self.write_json(sent))
        self.assertEqual([[s[0] for s in m["segments"]] for m in npm], ours)
        self.assertEqual([m["control"] for m in npm],
                         [hl7_get(hl7_segments(m)[0], 10) for m in sent])
        self.assertEqual([m["type"] for m in npm],
                         ["RSP^K11", "ACK^R22", "ACK^R22", "ACK^O01", "ORU^R01", "ORU^R01"])
        deb = python_hl7(sent)
        self.assertEqual([m["segments"] for m in deb], ours)


class TestCrash(LabTestCase):
    """SIGKILL during a flood: every acknowledged message is stored once."""

    server_args = ("--mllp", "127.0.0.1:0")

    def test_sigkill_mid_flood(self):
        mllp_port = self.server.link_ports()[0]
        r = self.server.request("PUT", "/api/v1/instruments", token=self.server.admin(), body={
            "instruments": [{"name": "EHR-1", "kind": "ehr", "protocol": "hl7",
                             "match": {"application": "EPIC"}, "send_to": "127.0.0.1:9"}]})
        self.assertEqual(r.status, 200, r.raw)
        acked, lock, stop = [], threading.Lock(), threading.Event()

        def flood(n):
            try:
                c = MllpClient(mllp_port, timeout=5)
                while not stop.is_set():
                    control = ctl("K%d" % n)
                    text = "\r".join([msh("EPIC", "HOSP", "ADT^A04^ADT_A01", control),
                                      "PID|1||%s^^^HOSP^MR||Flood^Case||19700101|U" % control])
                    code, got, _ = msa(c.send(text))
                    if code == "AA" and got == control:
                        with lock:
                            acked.append(control)
            except (OSError, ConnectionError, IndexError):
                return

        threads = [threading.Thread(target=flood, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        self.wait_for_count(acked, 50)
        os.kill(self.server.proc.pid, signal.SIGKILL)
        stop.set()
        for t in threads:
            t.join(10)
        self.server.proc.wait(10)
        self.server.proc = None
        self.server.start()
        with lock:
            done = list(acked)
        self.assertGreaterEqual(len(done), 50)
        for control in done:
            items = self.call("GET", "/api/v1/messages?control_id=%s&status=accepted"
                              % control).json["items"]
            self.assertEqual(len(items), 1, control)
            pats = self.call("GET", "/api/v1/patients?mrn=" + control).json["items"]
            self.assertEqual(len(pats), 1, control)

    def wait_for_count(self, items, n, timeout=30):
        deadline = time.time() + timeout
        while len(items) < n and time.time() < deadline:
            time.sleep(0.05)
