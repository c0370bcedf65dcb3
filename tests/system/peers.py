"""Test peers for `benchside sim`: the host side of its links, in Python.

They are written from the standards and from the wire contract at the top of
src/link/sim.h, independently of benchside's codecs: their own MLLP framing,
their own E1381 frame reader, checksum and frame numbering, their own record
and segment splitting. A fault in ours then shows as a disagreement here.

MllpPeer  an MLLP listener playing a LIS or EHR: records every message, answers
          AA (or AE, AR, or nothing), answers QBP^Q11 with a canned RSP^K11.
AstmPeer  an ASTM E1381 receiver and sender playing the LIS, over TCP or a
          pseudo-terminal it opens: ACKs or NAKs each frame by checksum and
          frame number, records every message and every frame, answers a Q
          record with canned H/P/O/L records.

Python 3 standard library only. Each peer runs in daemon threads; close()
stops it.
"""

import os
import select
import socket
import termios
import threading
import time
import tty

# --------------------------------------------------------------------------
# Canned orders


class Order:
    """What the host has pending for one specimen (the answer to a query)."""

    def __init__(self, mrn, family, given, dob, sex, specimen_type, tests):
        self.mrn = mrn
        self.family = family
        self.given = given
        self.dob = dob
        self.sex = sex
        self.specimen_type = specimen_type
        self.tests = list(tests)  # [(code, name)]


def now_ts():
    return time.strftime("%Y%m%d%H%M%S", time.gmtime())


# --------------------------------------------------------------------------
# HL7 over MLLP

VT, FS, CR = b"\x0b", b"\x1c", b"\x0d"


def hl7_segments(text):
    """The segments of a message: a list of field lists, numbered as HL7
    does: seg[0] is the id and seg[n] field n (in MSH, seg[1] is the field
    separator and seg[2] the encoding characters)."""
    out = []
    for line in text.split("\r"):
        if not line:
            continue
        parts = line.split("|")
        if parts[0] == "MSH":
            parts = ["MSH", "|"] + parts[1:]
        out.append(parts)
    return out


def hl7_first(segs, seg_id):
    for s in segs:
        if s[0] == seg_id:
            return s
    return None


def hl7_get(seg, n, comp=None):
    """Field n of a segment (or component comp, 1-based); '' when absent."""
    v = seg[n] if seg is not None and n < len(seg) else ""
    if comp is None:
        return v
    parts = v.split("~")[0].split("^")
    return parts[comp - 1] if comp <= len(parts) else ""


class MllpPeer:
    """An MLLP listener on 127.0.0.1 playing a LIS or EHR.

    answer:  "AA" (default), "AE", "AR", or None to say nothing at all.
    orders:  {accession: Order or None} for QBP^Q11 queries; a specimen not
             in it, or None, is answered QAK NF.
    """

    def __init__(self, answer="AA", orders=None):
        self.answer = answer
        self.orders = dict(orders or {})
        self.messages = []     # every complete message, as text, in order
        self.connections = 0   # connections accepted
        self.cut_frames = 0    # connections closed inside a frame
        self._lock = threading.Lock()
        self._closed = False
        self._conns = []
        self._srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._srv.bind(("127.0.0.1", 0))
        self._srv.listen(8)
        self.port = self._srv.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self):
        self._closed = True
        for s in [self._srv] + self._conns:
            try:
                s.close()
            except OSError:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _accept(self):
        while not self._closed:
            try:
                conn, _ = self._srv.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
                self._conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        data = b""
        while True:
            try:
                chunk = conn.recv(65536)
            except OSError:
                chunk = b""
            if not chunk:
                if VT in data:
                    with self._lock:
                        self.cut_frames += 1
                conn.close()
                return
            data += chunk
            while True:
                start = data.find(VT)
                if start < 0:
                    data = b""
                    break
                end = data.find(FS + CR, start)
                if end < 0:
                    data = data[start:]
                    break
                text = data[start + 1:end].decode("utf-8")
                data = data[end + 2:]
                with self._lock:
                    self.messages.append(text)
                reply = self._reply(text)
                if reply is not None:
                    try:
                        conn.sendall(VT + reply.encode("utf-8") + FS + CR)
                    except OSError:
                        return

    def _msh(self, msh, kind):
        return "MSH|^~\\&|benchside|LAB|%s|LAB|%s||%s|R%d|P|2.5.1" % (
            hl7_get(msh, 3), now_ts(), kind, len(self.messages))

    def _reply(self, text):
        if self.answer is None:
            return None
        segs = hl7_segments(text)
        msh = segs[0]
        ctrl = hl7_get(msh, 10)
        if hl7_get(msh, 9).startswith("QBP^Q11"):
            return self._rsp(segs, ctrl)
        lines = [self._msh(msh, "ACK^R22^ACK"), "MSA|%s|%s" % (self.answer, ctrl)]
        if self.answer != "AA":
            lines.append("ERR||||E||||refused by the test peer")
        return "\r".join(lines) + "\r"

    def _rsp(self, segs, ctrl):
        qpd = hl7_first(segs, "QPD")
        tag, accession = hl7_get(qpd, 2), hl7_get(qpd, 3)
        order = self.orders.get(accession)
        lines = [self._msh(segs[0], "RSP^K11^RSP_K11"), "MSA|AA|%s" % ctrl,
                 "QAK|%s|%s" % (tag, "OK" if order else "NF"), "|".join(qpd)]
        if order:
            lines.append("PID|1||%s^^^^MR||%s^%s||%s|%s" % (order.mrn, order.family, order.given,
                                                            order.dob, order.sex))
            lines.append("SPM|1|%s||%s" % (accession, order.specimen_type))
            for n, (code, name) in enumerate(order.tests, 1):
                lines.append("ORC|NW|%s" % accession)
                lines.append("OBR|%d|%s||%s^%s^L" % (n, accession, code, name))
        return "\r".join(lines) + "\r"


# --------------------------------------------------------------------------
# ASTM E1381 / E1394

STX, ETX, EOT, ENQ, ACK, LF, NAK, ETB = 0x02, 0x03, 0x04, 0x05, 0x06, 0x0A, 0x15, 0x17


def astm_checksum(body):
    """Two upper-case hex digits of the sum modulo 256 of body (the bytes
    from the frame number through ETB or ETX)."""
    return ("%02X" % (sum(body) % 256)).encode("ascii")


def astm_frame(fn, text, last=True):
    body = bytes([0x30 + fn % 8]) + text.encode("utf-8") + bytes([ETX if last else ETB])
    return bytes([STX]) + body + astm_checksum(body) + b"\r\n"


def astm_fields(record):
    return record.split("|")


class _Io:
    """Bytes one at a time from a socket or a terminal, with timeouts."""

    def __init__(self, sock=None, fd=None):
        self.sock = sock
        self.fd = fd
        self.buf = b""
        self.eof = False

    def fileno(self):
        return self.sock.fileno() if self.sock is not None else self.fd

    def byte(self, timeout):
        """The next byte (an int), None after timeout seconds; sets eof when
        the other side has gone."""
        deadline = time.monotonic() + timeout
        while not self.buf:
            if self.eof:
                return None
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                r, _, _ = select.select([self.fileno()], [], [], min(left, 0.2))
            except (OSError, ValueError):
                self.eof = True
                return None
            if not r:
                continue
            try:
                chunk = self.sock.recv(4096) if self.sock is not None else os.read(self.fd, 4096)
            except OSError:
                chunk = b""
            if not chunk:
                self.eof = True
                return None
            self.buf += chunk
        b, self.buf = self.buf[0], self.buf[1:]
        return b

    def write(self, data):
        try:
            if self.sock is not None:
                self.sock.sendall(data)
            else:
                while data:
                    n = os.write(self.fd, data)
                    data = data[n:]
        except OSError:
            self.eof = True

    def close(self):
        try:
            if self.sock is not None:
                self.sock.close()
            elif self.fd is not None:
                os.close(self.fd)
        except OSError:
            pass


class AstmPeer:
    """The LIS side of an ASTM E1381 link.

    orders:          {accession: Order or None} answered to Q records; others
                     are answered H and L|1|I.
    last_ack_delay:  seconds to wait before ACKing the frame that carries the
                     L record (the host stores the message durably first).

    Recorded: messages (each a list of records without CR, one per
    transmission ended by EOT), frames (dicts: fn, text, checksum_ok, fn_ok,
    raw), naks, connections, aborted (transmissions cut off by a closed link),
    answers (query answers sent).
    """

    def __init__(self, orders=None, last_ack_delay=0.0):
        self.orders = dict(orders or {})
        self.last_ack_delay = last_ack_delay
        self.messages = []
        self.frames = []
        self.naks = 0
        self.connections = 0
        self.aborted = 0
        self.answers = 0
        self.errors = []  # things a conforming sender never does
        self._lock = threading.Lock()
        self._closed = False
        self._ios = []
        self._srv = None
        self.port = None

    # -- transports
    def listen(self):
        self._srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._srv.bind(("127.0.0.1", 0))
        self._srv.listen(8)
        self.port = self._srv.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def open_pty(self, path):
        """Open the simulator's terminal as a serial port, raw."""
        fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
        tty.setraw(fd, termios.TCSANOW)
        io = _Io(fd=fd)
        with self._lock:
            self.connections += 1
            self._ios.append(io)
        threading.Thread(target=self._session, args=(io,), daemon=True).start()
        return self

    def close(self):
        self._closed = True
        if self._srv is not None:
            try:
                self._srv.close()
            except OSError:
                pass
        for io in self._ios:
            io.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _accept(self):
        while not self._closed:
            try:
                conn, _ = self._srv.accept()
            except OSError:
                return
            io = _Io(sock=conn)
            with self._lock:
                self.connections += 1
                self._ios.append(io)
            threading.Thread(target=self._session, args=(io,), daemon=True).start()

    # -- the protocol
    def _session(self, io):
        while not self._closed and not io.eof:
            b = io.byte(0.5)
            if b is None:
                continue
            if b != ENQ:
                continue  # neutral line: anything but ENQ means nothing
            records = self._receive(io)
            if records is None:
                continue
            with self._lock:
                self.messages.append(records)
            q = [r for r in records if r.startswith("Q|")]
            if q:
                self._answer(io, q[0])
        io.close()

    def _read_frame(self, io):
        """The bytes after STX up to and including LF, or None."""
        raw = b""
        while True:
            b = io.byte(30)
            if b is None:
                return None
            raw += bytes([b])
            if b == LF:
                return raw

    def _receive(self, io):
        """A transmission after its ENQ: the records, or None when cut off."""
        io.write(bytes([ACK]))
        expected = 1
        text = ""
        while True:
            b = io.byte(30)
            if b is None:
                with self._lock:
                    self.aborted += 1
                return None
            if b == EOT:
                break
            if b != STX:
                continue
            raw = self._read_frame(io)
            if raw is None:
                with self._lock:
                    self.aborted += 1
                return None
            term = max(raw.rfind(bytes([ETX])), raw.rfind(bytes([ETB])))
            frame = {"raw": bytes([STX]) + raw, "fn": None, "text": "", "checksum_ok": False,
                     "fn_ok": False, "last": False}
            if term >= 1 and len(raw) >= term + 5 and raw[term + 3:term + 5] == b"\r\n":
                body = raw[:term + 1]
                frame["fn"] = body[0] - 0x30
                frame["text"] = body[1:-1].decode("utf-8", "replace")
                frame["last"] = raw[term] == ETX
                frame["checksum_ok"] = raw[term + 1:term + 3] == astm_checksum(body)
                frame["fn_ok"] = frame["fn"] == expected % 8
            with self._lock:
                self.frames.append(frame)
            if frame["checksum_ok"] and frame["fn_ok"]:
                text += frame["text"]
                if frame["last"] and frame["text"].startswith("L|") and self.last_ack_delay:
                    time.sleep(self.last_ack_delay)
                expected += 1
                io.write(bytes([ACK]))
            else:
                with self._lock:
                    self.naks += 1
                    if frame["checksum_ok"]:
                        self.errors.append("frame number %r, expected %d"
                                           % (frame["fn"], expected % 8))
                io.write(bytes([NAK]))
        return [r for r in text.split("\r") if r]

    def _send(self, io, records):
        """One transmission of records as the sender."""
        for attempt in range(7):
            io.write(bytes([ENQ]))
            b = io.byte(15)
            if b == ACK:
                break
            if b is None:
                return False
            time.sleep(0.2)
        else:
            return False
        for fn, rec in enumerate(records, 1):
            frame = astm_frame(fn, rec + "\r")
            for attempt in range(7):
                io.write(frame)
                b = io.byte(15)
                if b in (ACK, EOT):
                    break
                if b is None:
                    return False
            else:
                io.write(bytes([EOT]))
                return False
        io.write(bytes([EOT]))
        return True

    def _answer(self, io, q):
        f = astm_fields(q)
        spec = f[2].split("^") if len(f) > 2 else []
        accession = spec[1] if len(spec) > 1 else ""
        order = self.orders.get(accession)
        header = "H|\\^&|||benchside^1.0|||||||P|LIS2-A2|%s" % now_ts()
        if order:
            tests = "\\".join("^^^" + code for code, _name in order.tests)
            records = [header,
                       "P|1||%s||%s^%s||%s|%s" % (order.mrn, order.family, order.given,
                                                  order.dob, order.sex),
                       "O|1|%s||%s|R||||||N||||%s" % (accession, tests, order.specimen_type),
                       "L|1|F"]
        else:
            records = [header, "L|1|I"]
        if self._send(io, records):
            with self._lock:
                self.answers += 1
