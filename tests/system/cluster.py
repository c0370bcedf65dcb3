"""Helpers of the fault, backup and several-node tests (test_faults.py,
test_operations.py, test_nodes.py): reading the database under a server
directly (the answer the server gives is what is being tested, so the
check goes round it), specimens ready for results, and a flood of analyzer
results over MLLP whose every ACK is recorded.

Python 3 standard library only (sqlite3; psql for PostgreSQL)."""

import socket
import sqlite3
import subprocess
import threading
import time

from tests.system.test_lab import patient_body
from tests.system.test_links import MllpClient, msa, oul

ANALYZER = {"name": "HEME-1", "kind": "analyzer", "protocol": "hl7",
            "match": {"application": "SIM-HL7"}}


def sql_rows(db_url, query):
    """Rows of query on the database at db_url, as lists of text."""
    if db_url.startswith("sqlite:"):
        path = db_url[len("sqlite:"):].split("?")[0]
        con = sqlite3.connect(path, timeout=30)
        try:
            return [["" if v is None else str(v) for v in row]
                    for row in con.execute(query).fetchall()]
        finally:
            con.close()
    p = subprocess.run(["psql", db_url, "-X", "-v", "ON_ERROR_STOP=1", "-At", "-F", "\t",
                        "-c", query], capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise AssertionError("psql failed: " + p.stderr)
    return [line.split("\t") for line in p.stdout.splitlines() if line]


def sql_scalar(db_url, query):
    return int(sql_rows(db_url, query)[0][0])


def received_specimens(case, n, tests=("NA", "K"), token=Ellipsis):
    """n specimens of new patients, received, each ordered tests."""
    accs = []
    for _ in range(n):
        p = case.call("POST", "/api/v1/patients", patient_body(), status=201,
                      token=token).json
        o = case.call("POST", "/api/v1/orders", {
            "patient_id": p["id"], "tests": list(tests), "priority": "routine",
            "clinician": "Dr. Rivera", "reasons": ["E11.9"]}, status=201, token=token).json
        acc = o["specimens"][0]["accession"]
        for ev in ("collected", "received"):
            case.call("POST", "/api/v1/specimens/%s/events" % acc, {"event": ev}, token=token)
        accs.append(acc)
    return accs


def normal_results(accession, control):
    """An OUL^R22 with sodium and potassium inside their ranges."""
    return oul(accession, [("NA", "140", "mmol/L"), ("K", "4.1", "mmol/L")], control=control)


class Flood:
    """Analyzers sending messages over MLLP from several threads, each on a
    connection of its own, one message at a time, waiting for its ACK.

    messages: [(control, text)], shared out round-robin between the threads.
    A message with no ACK (the connection closed, or no answer in time) is
    sent again on a new connection after a pause, as an analyzer does, until
    stop() or until it is acknowledged. acked: the controls answered AA, in
    order; unanswered: how many sends got no answer at all."""

    def __init__(self, port, messages, threads=4, retry_pause=0.2, reply_timeout=10,
                 resend=True):
        self.port = port
        self.acked = []
        self.unanswered = 0
        self.codes = {}
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.resend = resend
        self.retry_pause = retry_pause
        self.reply_timeout = reply_timeout
        self.threads = [threading.Thread(target=self._run, args=(messages[i::threads],),
                                         daemon=True) for i in range(threads)]

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def stop(self, timeout=30):
        self.stopped.set()
        for t in self.threads:
            t.join(timeout)

    def join(self, timeout=120):
        deadline = time.time() + timeout
        for t in self.threads:
            t.join(max(0.1, deadline - time.time()))
        return not any(t.is_alive() for t in self.threads)

    def count(self):
        with self.lock:
            return len(self.acked)

    def wait_acked(self, n, timeout=60):
        deadline = time.time() + timeout
        while self.count() < n and time.time() < deadline:
            time.sleep(0.02)
        return self.count() >= n

    def _run(self, messages):
        client = None
        for control, text in messages:
            while not self.stopped.is_set():
                try:
                    if client is None:
                        client = MllpClient(self.port, timeout=self.reply_timeout)
                    code, got, _ = msa(client.send(text))
                except (OSError, ConnectionError, IndexError, ValueError):
                    with self.lock:
                        self.unanswered += 1
                    if client is not None:
                        client.close()
                        client = None
                    if not self.resend:
                        break
                    time.sleep(self.retry_pause)
                    continue
                with self.lock:
                    self.codes[control] = code
                    if code == "AA" and got == control:
                        self.acked.append(control)
                break
            if self.stopped.is_set():
                break
        if client is not None:
            client.close()


def port_open(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False
