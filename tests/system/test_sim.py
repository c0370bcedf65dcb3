"""`benchside sim`, the virtual analyzer, against the test peers of peers.py
(independent Python implementations of the host side): ASTM over TCP and over
a pseudo-terminal, HL7 OUL^R22 and ORU^R01, the query round trip in both
protocols, injected bad checksums, dropped connections and critical values,
refusals and silence, SIGTERM, and bad arguments. Every value sent is held to
the demo catalog (src/lab/demo_catalog.json): its codes, its unit strings,
its decimals, and flags that agree with its ranges and critical limits."""

import json
import os
import re
import signal
import subprocess
import tempfile
import time
import unittest

from tests.system.harness import (REPO, bin_path, cli_env, free_port, require_binary, run_cli,
                                  sanitizer_report)
from tests.system.peers import (AstmPeer, MllpPeer, Order, astm_fields, hl7_first, hl7_get,
                                hl7_segments)

with open(REPO / "src" / "lab" / "demo_catalog.json", encoding="utf-8") as _f:
    CATALOG = {t["code"]: t for t in json.load(_f)["tests"]}

HL7_TS = re.compile(r"^\d{14}[+-]\d{4}$")
ASTM_TS = re.compile(r"^\d{14}$")


def make_order(codes, sex="F", mrn="MRN-0001"):
    return Order(mrn, "Doe", "Jane", "19800101", sex, CATALOG[codes[0]]["specimen_type"],
                 [(c, CATALOG[c]["name"]) for c in codes])


def catalog_range(code, sex):
    """(low, high) for sex F or M; the union of both otherwise."""
    def one(s):
        for r in CATALOG[code].get("ranges", []):
            if r["sex"] in ("any", s):
                return r.get("low"), r.get("high")
        return None, None
    if sex in ("female", "male"):
        return one(sex)
    (fl, fh), (ml, mh) = one("female"), one("male")
    low = None if fl is None or ml is None else min(fl, ml)
    high = None if fh is None or mh is None else max(fh, mh)
    return low, high


def limit_text(v):
    return ("%.6f" % v).rstrip("0").rstrip(".")


class SimTestCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_binary()

    def sim(self, *args, timeout=90):
        """Run benchside sim; returns (CompletedProcess, summary dict or None)."""
        r = run_cli(["sim"] + [str(a) for a in args], timeout=timeout)
        rep = sanitizer_report(r.stderr)
        self.assertIsNone(rep, rep)
        lines = r.stdout.strip().splitlines()
        summary = json.loads(lines[-1]) if lines else None
        return r, summary

    def assertAllAcknowledged(self, r, s):
        ctx = "%s\n%s" % (r.stdout, r.stderr[-3000:])
        self.assertEqual(r.returncode, 0, ctx)
        self.assertGreater(s["messages_sent"], 0, ctx)
        self.assertEqual(s["acknowledged"], s["messages_sent"], ctx)
        self.assertEqual(s["refused"], 0, ctx)
        self.assertEqual(s["unanswered"], 0, ctx)

    def assertResult(self, code, value, unit, rng, flag, sex="unknown", astm=True,
                     critical_allowed=False):
        """One result as the catalog would have it."""
        t = CATALOG[code]
        ctx = "%s %r %r %r %r" % (code, value, unit, rng, flag)
        if t["kind"] != "numeric":
            self.assertEqual(unit, "", ctx)
            normal = t["ranges"][0]["normal_text"]
            self.assertEqual(rng, normal, ctx)
            if t["kind"] == "coded":
                self.assertIn(value, t["coded_values"], ctx)
            self.assertEqual(flag, "N" if value == normal else "A", ctx)
            return
        self.assertEqual(unit, t["unit"], ctx)
        dec = t["decimals"]
        self.assertRegex(value, r"^\d+\.\d{%d}$" % dec if dec else r"^\d+$", ctx)
        v = float(value)
        self.assertGreater(v, 0, ctx)
        low, high = catalog_range(code, sex)
        if low is not None and high is not None:
            want = "%s%s%s" % (limit_text(low), " to " if astm else "-", limit_text(high))
        elif high is not None:
            want = "<" + limit_text(high)
        else:
            want = ">" + limit_text(low)
        self.assertEqual(rng, want, ctx)
        crit = t.get("critical", {})
        if "high" in crit and v > crit["high"]:
            expected = "HH"
        elif "low" in crit and v < crit["low"]:
            expected = "LL"
        elif high is not None and v > high:
            expected = "H"
        elif low is not None and v < low:
            expected = "L"
        else:
            expected = "N"
        self.assertEqual(flag, expected, ctx)
        if not critical_allowed:
            self.assertNotIn(flag, ("HH", "LL"), ctx)
            # a normal draw stays clear of the critical limits
            if "high" in crit:
                self.assertLess(v, crit["high"], ctx)
            if "low" in crit:
                self.assertGreater(v, crit["low"], ctx)

    def popen_sim(self, *args):
        return subprocess.Popen([bin_path(), "sim"] + [str(a) for a in args],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=cli_env(),
                                encoding="utf-8")

    # -- ASTM helpers
    def astm_results(self, records, sex="unknown", critical_allowed=False):
        """Check the records of one ASTM results message; returns its accession
        and [(code, value, flag)]."""
        types = [r[0] for r in records]
        self.assertEqual(types[:3], ["H", "P", "O"], records)
        self.assertEqual(records[-1], "L|1|N", records)
        h = astm_fields(records[0])
        self.assertEqual(h[1], "\\^&")
        self.assertEqual(h[4], "SIM-ASTM^1.0")
        self.assertEqual(h[11:13], ["P", "LIS2-A2"])
        self.assertRegex(h[13], ASTM_TS)
        o = astm_fields(records[2])
        self.assertEqual(o[1], "1")
        accession = o[2]
        codes = [rep.split("^")[3] for rep in o[4].split("\\")]
        out = []
        n = 0
        for i, rec in enumerate(records[3:-1], 3):
            f = astm_fields(rec)
            if f[0] == "C":
                self.assertEqual(rec, "C|1|I|simulated critical value|G")
                self.assertIn(astm_fields(records[i - 1])[6], ("HH", "LL"))
                continue
            self.assertEqual(f[0], "R", rec)
            n += 1
            self.assertEqual(f[1], str(n), rec)
            self.assertEqual(len(f), 13, rec)
            code = f[2].split("^")[3]
            self.assertEqual(f[2], "^^^" + code, rec)
            self.assertEqual(code, codes[n - 1], rec)
            self.assertEqual(f[7], "", rec)
            self.assertEqual(f[8], "F", rec)
            self.assertRegex(f[12], ASTM_TS)
            self.assertResult(code, f[3], f[4], f[5], f[6], sex=sex, astm=True,
                              critical_allowed=critical_allowed)
            out.append((code, f[3], f[6]))
        self.assertEqual(n, len(codes))
        return accession, out

    def assertCleanFrames(self, peer):
        self.assertEqual(peer.errors, [])
        for fr in peer.frames:
            self.assertTrue(fr["checksum_ok"], fr)
            self.assertTrue(fr["fn_ok"], fr)
            self.assertLessEqual(len(fr["text"]), 240, fr)


class TestAstm(SimTestCase):
    def test_tcp_results_without_asking(self):
        codes = ["WBC", "HGB", "PLT", "GLU", "NA", "K", "CREA", "UCOLOR", "UPRO", "USG"]
        with AstmPeer().listen() as peer:
            r, s = self.sim("--connect", "127.0.0.1:%d" % peer.port, "--tests", ",".join(codes),
                            "--specimen", "S-1", "--specimen", "S-2", "--rate", 50, "--seed", 7)
            self.assertAllAcknowledged(r, s)
            self.assertEqual(s["protocol"], "astm")
            self.assertEqual(s["messages_sent"], 2)
            self.assertEqual(s["result_messages"], 2)
            self.assertEqual(s["results_sent"], 20)
            self.assertEqual(s["queries"], 0)
            self.assertEqual(s["naks"], 0)
            self.assertEqual(s["ack_latency_ms"]["samples"], 2)
            self.assertEqual(len(peer.messages), 2)
            self.assertCleanFrames(peer)
            self.assertEqual(peer.naks, 0)
            for acc, msg in zip(("S-1", "S-2"), peer.messages):
                self.assertEqual(msg[1], "P|1")
                self.assertEqual(msg[2].split("|")[:4], ["O", "1", acc, ""])
                got_acc, results = self.astm_results(msg)
                self.assertEqual(got_acc, acc)
                self.assertEqual([c for c, _v, _f in results], codes)

    def test_query_round_trip(self):
        cbc = ["WBC", "RBC", "HGB", "HCT", "MCV", "MCH", "MCHC", "RDW", "PLT"]
        orders = {"S-1": make_order(cbc, sex="M", mrn="MRN-0042")}
        with AstmPeer(orders=orders).listen() as peer:
            r, s = self.sim("--connect", "127.0.0.1:%d" % peer.port, "--specimen", "S-1",
                            "--specimen", "S-2", "--rate", 50)
            self.assertAllAcknowledged(r, s)
            self.assertEqual(s["queries"], 2)
            self.assertEqual(s["queries_not_found"], 1)
            self.assertEqual(s["orders_received"], 9)
            self.assertEqual(s["result_messages"], 1)
            self.assertEqual(s["messages_sent"], 3)
            self.assertEqual(peer.answers, 2)
            self.assertCleanFrames(peer)
            q1, res, q2 = peer.messages
            self.assertEqual(q1[1:], ["Q|1|^S-1||ALL||||||||O", "L|1|N"])
            self.assertEqual(q2[1:], ["Q|1|^S-2||ALL||||||||O", "L|1|N"])
            self.assertEqual(res[1], "P|1||MRN-0042")
            acc, results = self.astm_results(res, sex="male")
            self.assertEqual(acc, "S-1")
            self.assertEqual([c for c, _v, _f in results], cbc)

    def test_pty(self):
        """The host opens the simulator's pseudo-terminal as a serial port."""
        orders = {"P-1": make_order(["GLU", "K", "NA", "CREA"], sex="F", mrn="MRN-7")}
        peer = AstmPeer(orders=orders)
        p = self.popen_sim("--pty", "--specimen", "P-1", "--specimen", "P-2", "--rate", 50)
        try:
            first = json.loads(p.stdout.readline())
            self.assertEqual(list(first), ["pty"])
            self.assertTrue(first["pty"].startswith("/dev/pts/"), first)
            time.sleep(0.2)  # the simulator waits for the host
            peer.open_pty(first["pty"])
            out, err = p.communicate(timeout=60)
            done = subprocess.CompletedProcess(p.args, p.returncode, out, err)
        finally:
            if p.poll() is None:
                p.kill()
                p.communicate()
            peer.close()
        self.assertIsNone(sanitizer_report(err))
        s = json.loads(out.strip().splitlines()[-1])
        self.assertAllAcknowledged(done, s)
        self.assertEqual(s["queries"], 2)
        self.assertEqual(s["result_messages"], 1)
        self.assertCleanFrames(peer)
        self.assertEqual(len(peer.messages), 3)
        self.assertEqual(peer.messages[1][1], "P|1||MRN-7")
        acc, results = self.astm_results(peer.messages[1], sex="female")
        self.assertEqual(acc, "P-1")
        self.assertEqual([c for c, _v, _f in results], ["GLU", "K", "NA", "CREA"])

    def test_pty_closed_and_opened_again(self):
        """The host closes the terminal (a port reconfigured) and opens it again:
        the simulator waits for it and carries on."""
        p = self.popen_sim("--pty", "--tests", "GLU", "--specimen", "X-1", "--count", 4,
                           "--rate", 2)
        first, second = AstmPeer(), AstmPeer()
        try:
            path = json.loads(p.stdout.readline())["pty"]
            first.open_pty(path)
            time.sleep(0.7)
            first.close()
            time.sleep(0.5)
            second.open_pty(path)
            out, err = p.communicate(timeout=60)
        finally:
            if p.poll() is None:
                p.kill()
                p.communicate()
            first.close()
            second.close()
        self.assertIsNone(sanitizer_report(err))
        s = json.loads(out.strip().splitlines()[-1])
        self.assertAllAcknowledged(subprocess.CompletedProcess(p.args, p.returncode, out, err), s)
        self.assertEqual(s["messages_sent"], 4)
        self.assertEqual(s["reconnects"], 1)
        self.assertGreaterEqual(len(first.messages), 1)
        self.assertGreaterEqual(len(second.messages), 1)
        # A transmission whose last frame the first peer ACKed just before it
        # closed counts as sent, though the peer closed before reading its EOT.
        self.assertGreaterEqual(len(first.messages) + len(second.messages), 3)

    def test_bad_checksum_every(self):
        """Every 3rd new frame goes out first with a wrong checksum: the peer
        (its own checksum code) NAKs it and then gets the same frame right."""
        with AstmPeer().listen() as peer:
            r, s = self.sim("--connect", "127.0.0.1:%d" % peer.port, "--tests", "GLU,K,NA",
                            "--specimen", "B-1", "--specimen", "B-2", "--rate", 50,
                            "--bad-checksum-every", 3)
            self.assertAllAcknowledged(r, s)
            # 2 messages of H P O R R R L: 14 new frames, faults at 3, 6, 9, 12
            bad = [i for i, fr in enumerate(peer.frames) if not fr["checksum_ok"]]
            self.assertEqual(len(bad), 4)
            self.assertEqual(s["checksum_faults_injected"], 4)
            self.assertEqual(s["naks"], 4)
            self.assertEqual(peer.naks, 4)
            self.assertEqual(peer.errors, [])
            self.assertEqual(len(peer.frames), 18)
            for i in bad:
                wrong, right = peer.frames[i], peer.frames[i + 1]
                self.assertTrue(right["checksum_ok"])
                self.assertEqual(wrong["fn"], right["fn"])
                self.assertEqual(wrong["text"], right["text"])
                self.assertNotEqual(wrong["raw"], right["raw"])
                self.assertEqual(wrong["raw"][:-4], right["raw"][:-4])  # only C1 C2 differ
            # number the new frames (a frame after a NAKed one is its retransmission)
            ordinal, bad_ordinals, prev_bad = 0, [], False
            for fr in peer.frames:
                ordinal += 0 if prev_bad else 1
                prev_bad = not fr["checksum_ok"]
                if prev_bad:
                    bad_ordinals.append(ordinal)
            self.assertEqual(ordinal, 14)
            self.assertEqual(bad_ordinals, [3, 6, 9, 12])
            self.assertEqual(len(peer.messages), 2)
            for acc, msg in zip(("B-1", "B-2"), peer.messages):
                self.assertEqual(self.astm_results(msg)[0], acc)

    def test_drop_every(self):
        """Every 2nd message is cut off mid-way; the simulator reconnects and
        sends it again whole, so each specimen arrives exactly once."""
        specs = ["D-1", "D-2", "D-3", "D-4"]
        args = []
        for a in specs:
            args += ["--specimen", a]
        with AstmPeer().listen() as peer:
            r, s = self.sim("--connect", "127.0.0.1:%d" % peer.port, "--tests", "GLU,K", *args,
                            "--rate", 50, "--drop-every", 2)
            self.assertAllAcknowledged(r, s)
            self.assertEqual(s["messages_sent"], 4)
            self.assertEqual(s["drops"], 2)
            self.assertEqual(s["reconnects"], 2)
            self.assertEqual(peer.connections, 3)
            self.assertEqual(peer.aborted, 2)
            self.assertEqual([self.astm_results(m)[0] for m in peer.messages], specs)
            self.assertEqual(peer.errors, [])

    def test_critical_every(self):
        codes = ["WBC", "HGB", "PLT", "GLU", "NA", "K"]
        with AstmPeer().listen() as peer:
            r, s = self.sim("--connect", "127.0.0.1:%d" % peer.port, "--tests", ",".join(codes),
                            "--specimen", "C-1", "--specimen", "C-2", "--rate", 50,
                            "--critical-every", 2, "--seed", 11)
            self.assertAllAcknowledged(r, s)
            self.assertEqual(s["critical_injected"], 6)
            results = []
            for m in peer.messages:
                results += self.astm_results(m, critical_allowed=True)[1]
            self.assertEqual(len(results), 12)
            for n, (code, value, flag) in enumerate(results, 1):
                crit = CATALOG[code]["critical"]
                v = float(value)
                beyond = v > crit.get("high", float("inf")) or v < crit.get("low", float("-inf"))
                self.assertEqual(beyond, n % 2 == 0, (n, code, value, flag))
                self.assertEqual(flag in ("HH", "LL"), n % 2 == 0, (n, code, value, flag))

    def test_critical_waits_for_a_test_with_limits(self):
        """MCV has no critical limits: the critical value goes to the next
        result that has them (GLU)."""
        with AstmPeer().listen() as peer:
            r, s = self.sim("--connect", "127.0.0.1:%d" % peer.port, "--tests", "MCV,GLU",
                            "--specimen", "C-3", "--count", 3, "--rate", 100,
                            "--critical-every", 1)
            self.assertAllAcknowledged(r, s)
            self.assertEqual(s["critical_injected"], 3)
            for m in peer.messages:
                (_c1, _v1, f1), (_c2, v2, f2) = self.astm_results(m, critical_allowed=True)[1]
                self.assertNotIn(f1, ("HH", "LL"))
                self.assertIn(f2, ("HH", "LL"))

    def test_last_ack_after_storage(self):
        """The host ACKs the last frame only after storing the message: the
        latency reported is that wait."""
        with AstmPeer(last_ack_delay=0.12).listen() as peer:
            r, s = self.sim("--connect", "127.0.0.1:%d" % peer.port, "--tests", "GLU",
                            "--specimen", "L-1", "--count", 3, "--rate", 100)
            self.assertAllAcknowledged(r, s)
            self.assertEqual(s["ack_latency_ms"]["samples"], 3)
            self.assertGreaterEqual(s["ack_latency_ms"]["p50"], 120)
            self.assertLess(s["ack_latency_ms"]["p99"], 5000)

    def test_values_across_the_catalog(self):
        """Many draws of every numeric test: exact units, catalog decimals,
        flags that agree with the ranges, never a critical value unasked."""
        numeric = [c for c, t in CATALOG.items() if t["kind"] == "numeric"]
        self.assertLessEqual(len(numeric), 64)
        with AstmPeer().listen() as peer:
            r, s = self.sim("--connect", "127.0.0.1:%d" % peer.port, "--tests", ",".join(numeric),
                            "--specimen", "V-1", "--count", 15, "--rate", 1000, "--seed", 3)
            self.assertAllAcknowledged(r, s)
            flags = []
            for m in peer.messages:
                flags += [f for _c, _v, f in self.astm_results(m)[1]]
            self.assertEqual(len(flags), 15 * len(numeric))
            self.assertGreater(flags.count("N") / len(flags), 0.7, flags)

    def test_sigterm_ends_with_a_summary(self):
        with AstmPeer().listen() as peer:
            p = self.popen_sim("--connect", "127.0.0.1:%d" % peer.port, "--tests", "GLU,NA",
                               "--specimen", "T-1", "--count", 0, "--rate", 20)
            time.sleep(1.0)
            p.send_signal(signal.SIGTERM)
            out, err = p.communicate(timeout=30)
            self.assertIsNone(sanitizer_report(err))
            s = json.loads(out.strip().splitlines()[-1])
            self.assertAllAcknowledged(subprocess.CompletedProcess(p.args, p.returncode, out, err),
                                       s)
            self.assertGreaterEqual(s["messages_sent"], 5)
            self.assertEqual(len(peer.messages), s["messages_sent"])


class TestHl7(SimTestCase):
    def hl7_results(self, text, kind="OUL", sex="unknown"):
        """Check one HL7 results message; returns (accession, control id,
        [(code, value, flag)])."""
        segs = hl7_segments(text)
        msh = segs[0]
        self.assertEqual(msh[2], "^~\\&")
        self.assertEqual(hl7_get(msh, 3), "SIM-HL7")
        self.assertEqual(hl7_get(msh, 4), "LAB")
        self.assertEqual(hl7_get(msh, 5), "benchside")
        self.assertEqual(hl7_get(msh, 6), "LAB")
        self.assertRegex(hl7_get(msh, 7), HL7_TS)
        self.assertEqual(hl7_get(msh, 9),
                         "OUL^R22^OUL_R22" if kind == "OUL" else "ORU^R01^ORU_R01")
        self.assertEqual(hl7_get(msh, 11), "P")
        self.assertEqual(hl7_get(msh, 12), "2.5.1")
        ids = [s[0] for s in segs]
        head = ["MSH", "PID", "SPM", "OBR"] if kind == "OUL" else ["MSH", "PID", "OBR"]
        self.assertEqual(ids[:len(head)], head)
        self.assertEqual(set(ids[len(head):]), {"OBX"})
        obr = hl7_first(segs, "OBR")
        self.assertEqual(hl7_get(obr, 1), "1")
        acc = hl7_get(obr, 2)
        if kind == "OUL":
            spm = hl7_first(segs, "SPM")
            self.assertEqual(hl7_get(spm, 2), acc)
            self.assertIn(hl7_get(spm, 4), ("whole blood", "serum", "plasma", "urine"))
        else:
            self.assertEqual(hl7_get(obr, 3), acc)
        out = []
        for n, obx in enumerate((s for s in segs if s[0] == "OBX"), 1):
            self.assertEqual(hl7_get(obx, 1), str(n))
            code = hl7_get(obx, 3, 1)
            self.assertEqual(hl7_get(obx, 3), "%s^%s^L" % (code, CATALOG[code]["name"]))
            numeric = CATALOG[code]["kind"] == "numeric"
            self.assertEqual(hl7_get(obx, 2), "NM" if numeric else "ST")
            self.assertEqual(hl7_get(obx, 4), "")
            self.assertEqual(hl7_get(obx, 11), "F")
            self.assertRegex(hl7_get(obx, 14), HL7_TS)
            self.assertEqual(len(obx), 15)
            self.assertResult(code, hl7_get(obx, 5), hl7_get(obx, 6), hl7_get(obx, 7),
                              hl7_get(obx, 8), sex=sex, astm=False)
            out.append((code, hl7_get(obx, 5), hl7_get(obx, 8)))
        return acc, hl7_get(msh, 10), out

    def test_oul(self):
        codes = ["GLU", "K", "NA", "UPRO", "UCOLOR"]
        with MllpPeer() as peer:
            r, s = self.sim("--protocol", "hl7", "--connect", "127.0.0.1:%d" % peer.port,
                            "--tests", ",".join(codes), "--specimen", "A-1", "--specimen", "A-2",
                            "--count", 4, "--rate", 50)
            self.assertAllAcknowledged(r, s)
            self.assertEqual(s["protocol"], "hl7")
            self.assertEqual(s["messages_sent"], 4)
            self.assertEqual(s["results_sent"], 20)
            self.assertEqual(len(peer.messages), 4)
            seen = [self.hl7_results(m) for m in peer.messages]
            self.assertEqual([a for a, _c, _r in seen], ["A-1", "A-2", "A-1", "A-2"])
            self.assertEqual(len({c for _a, c, _r in seen}), 4)  # MSH-10 unique
            for _a, _c, results in seen:
                self.assertEqual([c for c, _v, _f in results], codes)
            pid = hl7_first(hl7_segments(peer.messages[0]), "PID")
            self.assertEqual(pid, ["PID", "1"])

    def test_oru(self):
        with MllpPeer() as peer:
            r, s = self.sim("--protocol", "hl7", "--hl7-message", "oru",
                            "--connect", "127.0.0.1:%d" % peer.port, "--tests", "TSH,FERR",
                            "--specimen", "O-1", "--rate", 50)
            self.assertAllAcknowledged(r, s)
            self.assertEqual(len(peer.messages), 1)
            acc, _ctrl, results = self.hl7_results(peer.messages[0], kind="ORU")
            self.assertEqual(acc, "O-1")
            self.assertEqual([c for c, _v, _f in results], ["TSH", "FERR"])

    def test_query_round_trip(self):
        bmp = ["GLU", "BUN", "CREA", "NA", "K", "CL", "CO2", "CA"]
        orders = {"Q-1": make_order(bmp, sex="F", mrn="MRN-0100")}
        with MllpPeer(orders=orders) as peer:
            r, s = self.sim("--protocol", "hl7", "--connect", "127.0.0.1:%d" % peer.port,
                            "--specimen", "Q-1", "--specimen", "Q-2", "--rate", 50)
            self.assertAllAcknowledged(r, s)
            self.assertEqual(s["queries"], 2)
            self.assertEqual(s["queries_not_found"], 1)
            self.assertEqual(s["orders_received"], 8)
            self.assertEqual(s["messages_sent"], 3)
            self.assertEqual(len(peer.messages), 3)
            for text, acc in ((peer.messages[0], "Q-1"), (peer.messages[2], "Q-2")):
                segs = hl7_segments(text)
                self.assertEqual([x[0] for x in segs], ["MSH", "QPD", "RCP"])
                self.assertEqual(hl7_get(segs[0], 9), "QBP^Q11^QBP_Q11")
                self.assertEqual(hl7_get(segs[0], 3), "SIM-HL7")
                self.assertEqual(hl7_get(segs[1], 1), "WOS^Work Order Step^IHE_LABTF")
                self.assertTrue(hl7_get(segs[1], 2))
                self.assertEqual(hl7_get(segs[1], 3), acc)
                self.assertEqual(segs[2], ["RCP", "I", "", "R"])
            acc, _ctrl, results = self.hl7_results(peer.messages[1], sex="female")
            self.assertEqual(acc, "Q-1")
            self.assertEqual([c for c, _v, _f in results], bmp)
            segs = hl7_segments(peer.messages[1])
            self.assertEqual(hl7_get(hl7_first(segs, "PID"), 3), "MRN-0100^^^^MR")
            self.assertEqual(hl7_get(hl7_first(segs, "SPM"), 4), "serum")

    def test_refused(self):
        with MllpPeer(answer="AE") as peer:
            r, s = self.sim("--protocol", "hl7", "--connect", "127.0.0.1:%d" % peer.port,
                            "--tests", "GLU", "--specimen", "R-1", "--specimen", "R-2",
                            "--rate", 50)
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertEqual(s["messages_sent"], 2)
            self.assertEqual(s["refused"], 2)
            self.assertEqual(s["acknowledged"], 0)
            self.assertIn("refused", r.stderr)

    def test_no_answer(self):
        with MllpPeer(answer=None) as peer:
            t0 = time.monotonic()
            r, s = self.sim("--protocol", "hl7", "--connect", "127.0.0.1:%d" % peer.port,
                            "--tests", "GLU", "--specimen", "N-1", "--reply-timeout", 0.5)
            self.assertLess(time.monotonic() - t0, 10)
            self.assertEqual(r.returncode, 1)
            self.assertEqual(s["unanswered"], 1)
            self.assertEqual(len(peer.messages), 1)

    def test_drop_every(self):
        specs = ["H-1", "H-2", "H-3", "H-4", "H-5", "H-6"]
        args = []
        for a in specs:
            args += ["--specimen", a]
        with MllpPeer() as peer:
            r, s = self.sim("--protocol", "hl7", "--connect", "127.0.0.1:%d" % peer.port,
                            "--tests", "HGB,PLT", *args, "--rate", 50, "--drop-every", 3)
            self.assertAllAcknowledged(r, s)
            self.assertEqual(s["drops"], 2)
            self.assertEqual(s["reconnects"], 2)
            self.assertEqual(peer.connections, 3)
            self.assertEqual(peer.cut_frames, 2)
            seen = [self.hl7_results(m) for m in peer.messages]
            self.assertEqual([a for a, _c, _r in seen], specs)
            self.assertEqual(len({c for _a, c, _r in seen}), 6)


class TestUsage(SimTestCase):
    def test_bad_arguments(self):
        cases = [
            (["--protocol", "dicom", "--specimen", "A"], "--protocol"),
            (["--connect", "localhost", "--specimen", "A"], "--connect"),
            (["--connect", "127.0.0.1:70000", "--specimen", "A"], "--connect"),
            (["--connect", ":5000", "--specimen", "A"], "--connect"),
            (["--pty", "--connect", "127.0.0.1:5000", "--specimen", "A"], "--pty"),
            (["--rate", "0", "--specimen", "A"], "--rate"),
            (["--rate", "fast", "--specimen", "A"], "--rate"),
            (["--count", "-1", "--specimen", "A"], "--count"),
            (["--critical-every", "0", "--specimen", "A"], "--critical-every"),
            (["--bad-checksum-every", "2", "--protocol", "hl7", "--specimen", "A"],
             "--bad-checksum-every"),
            (["--drop-every", "2", "--pty", "--specimen", "A"], "--drop-every"),
            (["--drop-every", "x", "--specimen", "A"], "--drop-every"),
            (["--hl7-message", "adt", "--protocol", "hl7", "--specimen", "A"], "--hl7-message"),
            (["--hl7-message", "oru", "--specimen", "A"], "--hl7-message"),
            (["--tests", "WBC,NOPE", "--specimen", "A"], "--tests"),
            (["--tests", ",", "--specimen", "A"], "--tests"),
            (["--no-query", "--specimen", "A"], "--no-query"),
            (["--tests", "WBC"], "--specimen"),
            (["--sender", "", "--specimen", "A"], "--sender"),
            (["--seed", "x", "--specimen", "A"], "--seed"),
            (["--reply-timeout", "0", "--specimen", "A"], "--reply-timeout"),
            (["--connect-timeout", "-3", "--specimen", "A"], "--connect-timeout"),
            (["--specimen", "A", "surplus"], "unexpected argument"),
            (["--frobnicate"], "unknown"),
        ]
        for args, name in cases:
            with self.subTest(args=args):
                r = run_cli(["sim"] + args)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn(name, r.stderr)
                self.assertIn("usage: benchside sim", r.stderr)
                self.assertEqual(r.stdout, "")
        r = run_cli(["sim", "--tests", "WBC,NOPE", "--specimen", "A"])
        self.assertIn("NOPE", r.stderr)

    def test_help(self):
        r = run_cli(["sim", "--help"])
        self.assertEqual(r.returncode, 0)
        self.assertIn("usage: benchside sim", r.stdout)
        self.assertIn("--bad-checksum-every", r.stdout)
        r = run_cli(["help"])
        self.assertIn("sim", r.stdout)

    def test_nothing_listening(self):
        port = free_port()
        r, s = self.sim("--connect", "127.0.0.1:%d" % port, "--specimen", "A", "--tests", "GLU",
                        "--connect-timeout", 0.3)
        self.assertEqual(r.returncode, 1)
        self.assertIn("cannot connect to 127.0.0.1 port %d" % port, r.stderr)
        self.assertEqual(s["messages_sent"], 0)

    def test_specimens_file(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "specimens.txt")
            with open(path, "w", encoding="utf-8") as f:
                f.write("# today's rack\nF-1\n\n  F-2  \r\nF-3\n")
            with AstmPeer().listen() as peer:
                r, s = self.sim("--connect", "127.0.0.1:%d" % peer.port, "--tests", "K",
                                "--specimen", "F-0", "--specimens", path, "--rate", 100)
                self.assertAllAcknowledged(r, s)
                self.assertEqual([self.astm_results(m)[0] for m in peer.messages],
                                 ["F-0", "F-1", "F-2", "F-3"])
            r, s = self.sim("--tests", "K", "--specimens", os.path.join(d, "missing.txt"))
            self.assertEqual(r.returncode, 1)
            self.assertIn("missing.txt", r.stderr)


if __name__ == "__main__":
    unittest.main()
