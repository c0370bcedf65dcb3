#!/usr/bin/env python3
"""Audited reads over HTTP under load: `benchside serve` driven by wrk.

usage: bench/bench_reads.py [--build DIR] [--db URL] [--patients N] [--with-results N]
                            [--duration S] [--connections N] [--wrk-threads N]
                            [--server-threads N] [--section-out FILE]

Starts the real server (a release build: DIR/benchside) on loopback with its
instrument links off, on the database at --db (a year of data made by
bench/gen_year, say) or, without it, on a fresh SQLite file that it fills
through the API first: --patients patients, --with-results of them with an
order for a basic metabolic panel received and its glucose resulted. It adds
an administrator of its own with the CLI and signs in once (a Bearer token).

Then, for each scenario, wrk (--connections connections on --wrk-threads
threads, --duration seconds, --latency) sends GET requests whose patient is
picked at random from up to 10,000 ids read from the database, so that reads
are not one cached row:

  rest        GET /api/v1/patients/{id}
  fhir        GET /fhir/R4/Patient/{id}
  observation GET /fhir/R4/Observation?patient={id} (patients with results)
  mix         half rest, a quarter each of the two FHIR reads
  catalog     GET /api/v1/catalog/tests/GLU: signed in but not audited (the ceiling)

Reported per scenario: requests a second, latency p50/p99 (wrk's), answers
that were not 2xx (the run fails unless 0), CPU seconds of the server and of
wrk over the run, and the server's VmRSS and VmHWM before the first scenario
and after each. After each scenario the audit events the server wrote must
equal its 200 answers on that route (its /metrics, which counts the requests
wrk still had in flight when it stopped) times the events one such read
writes (measured on a few reads first), or the run fails; at the end
`benchside audit verify` must pass. Nothing is pinned: the server and wrk
share the machine's cores.

Prints one JSON object a scenario; writes its section of docs/performance.md
(or --section-out FILE, which bench/run.py uses).
"""
import argparse
import datetime
import json
import os
import platform
import random
import re
import secrets
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import http.client
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SECTION = "## Audited reads (bench/bench_reads.py)"
PASSWORD = "bench-reads-password"
SAMPLE = 10000

LUA = r"""
-- Random picks from the id files; the token from the environment.
local token = os.getenv("BENCH_TOKEN")
local function load(path)
  local t = {}
  local f = io.open(path, "r")
  if f then
    for line in f:lines() do t[#t + 1] = line end
    f:close()
  end
  return t
end
local patients, observed = {}, {}
local kind = os.getenv("BENCH_KIND")
function init(args)
  patients = load(os.getenv("BENCH_PATIENTS"))
  observed = load(os.getenv("BENCH_OBSERVED"))
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 100000)
end
local headers = {["Authorization"] = "Bearer " .. token}
local function path_of(k)
  if k == "rest" then
    return "/api/v1/patients/" .. patients[math.random(#patients)]
  elseif k == "fhir" then
    return "/fhir/R4/Patient/" .. patients[math.random(#patients)]
  elseif k == "observation" then
    return "/fhir/R4/Observation?patient=" .. observed[math.random(#observed)]
  elseif k == "catalog" then
    return "/api/v1/catalog/tests/GLU"
  end
  local r = math.random(4)
  if r <= 2 then return path_of("rest") elseif r == 3 then return path_of("fhir") end
  return path_of("observation")
end
function request()
  return wrk.format("GET", path_of(kind), headers)
end
"""

# The /metrics series (route label) each scenario's requests count under.
ROUTES = {
    "rest": ['route="/api/v1/patients/{id}"'],
    "fhir": ['route="/fhir/R4"'],
    "observation": ['route="/fhir/R4"'],
    "mix": ['route="/api/v1/patients/{id}"', 'route="/fhir/R4"'],
    "catalog": ['route="/api/v1/catalog/tests/{code}"'],
}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Client:
    """One keep-alive HTTP connection to the server."""

    def __init__(self, port, token=None):
        self.port, self.token = port, token
        self.c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def call(self, method, path, body=None):
        headers = {"Content-Type": "application/json"} if body is not None else {}
        if self.token:
            headers["Authorization"] = "Bearer " + self.token
        data = json.dumps(body).encode() if body is not None else None
        for attempt in range(2):
            try:
                self.c.request(method, path, body=data, headers=headers)
                r = self.c.getresponse()
                raw = r.read()
                return r.status, raw
            except (OSError, http.client.HTTPException):
                if attempt:
                    raise
                self.c.close()
                self.c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        return 0, b""

    def json(self, method, path, body=None, want=(200, 201)):
        status, raw = self.call(method, path, body)
        if status not in want:
            sys.exit("%s %s: %d %s" % (method, path, status, raw[:300]))
        return json.loads(raw) if raw else None


class Database:
    """What the bench reads from the database directly: ids and the audit head."""

    def __init__(self, url):
        self.url = url
        self.path = url[len("sqlite:"):].split("?")[0] if url.startswith("sqlite:") else None

    def rows(self, sql):
        if self.path:
            c = sqlite3.connect("file:%s?mode=ro" % self.path, uri=True, timeout=30)
            try:
                return [r[0] for r in c.execute(sql)]
            finally:
                c.close()
        p = subprocess.run(["psql", self.url, "-At", "-v", "ON_ERROR_STOP=1", "-c", sql],
                           capture_output=True, text=True, timeout=600)
        if p.returncode:
            sys.exit("psql: " + p.stderr.strip())
        return [x for x in p.stdout.splitlines() if x]

    def audit_seq(self):
        return int(self.rows("SELECT seq FROM audit_head WHERE id = 1")[0])


def cli(build, args, stdin=None):
    p = subprocess.run([os.path.join(build, "benchside")] + args, input=stdin,
                       capture_output=True, text=True, timeout=3600)
    if p.returncode:
        sys.exit("benchside %s: %s" % (" ".join(args[:2]), (p.stderr or p.stdout).strip()))
    return p.stdout


def fill(port, token, patients, with_results):
    """Patients through the API, some with a received BMP and its glucose."""
    local = threading.local()

    def client():
        if not hasattr(local, "c"):
            local.c = Client(port, token)
        return local.c

    def one(i):
        c = client()
        body = {"mrn": "BR%08d" % i, "family": "Reads%s" % secrets.token_hex(4),
                "given": "Bench", "birth_date": "19%02d-%02d-%02d" % (30 + i % 60, 1 + i % 12,
                                                                      1 + i % 28),
                "sex": ("female", "male", "other")[i % 3]}
        p = c.json("POST", "/api/v1/patients", body)
        if i < with_results:
            o = c.json("POST", "/api/v1/orders", {
                "patient_id": p["id"], "tests": ["BMP"], "priority": "routine",
                "clinician": "Dr. Bench", "reasons": ["E11.9"]})
            acc = o["specimens"][0]["accession"]
            c.json("POST", "/api/v1/specimens/%s/events" % acc, {"event": "collected"})
            c.json("POST", "/api/v1/specimens/%s/events" % acc, {"event": "received"})
            c.json("POST", "/api/v1/specimens/%s/results" % acc,
                   {"results": [{"code": "GLU", "value": 70 + i % 60},
                                {"code": "NA", "value": 138 + i % 4}]})

    with ThreadPoolExecutor(8) as ex:
        list(ex.map(one, range(patients)))


def proc_status(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                out[k] = int(v.split()[0]) // 1024  # MiB
    return out


def proc_cpu(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def metrics_count(client, routes):
    """200 answers to GET on the given routes, and the audit writer's commits, from /metrics."""
    status, raw = client.call("GET", "/metrics")
    if status != 200:
        sys.exit("/metrics: %d" % status)
    n = commits = 0
    for line in raw.decode().splitlines():
        if line.startswith("benchside_http_requests_total{") and 'method="GET"' in line \
                and 'status="200"' in line and any(r in line for r in routes):
            n += int(float(line.rsplit(" ", 1)[1]))
        if line.startswith('benchside_audit_read_commits_total{outcome="ok"}'):
            commits = int(float(line.rsplit(" ", 1)[1]))
    return n, commits


def ms(text):
    m = re.match(r"([\d.]+)(us|ms|s)$", text)
    if not m:
        return None
    v = float(m.group(1))
    return v / 1000 if m.group(2) == "us" else v * 1000 if m.group(2) == "s" else v


def run_wrk(a, port, lua, env):
    cmd = ["wrk", "-t%d" % a.wrk_threads, "-c%d" % a.connections, "-d%ds" % a.duration,
           "--latency", "-s", lua, "http://127.0.0.1:%d" % port]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    out, err = p.communicate()
    if p.returncode:
        sys.exit("wrk failed: " + err.strip())
    r = {"wrk_output": out}
    m = re.search(r"(\d+) requests in ([\d.]+)(\w+)", out)
    r["requests"] = int(m.group(1))
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    r["per_s"] = float(m.group(1))
    for pct in ("50", "99"):
        m = re.search(r"^\s+%s(?:\.000)?%%\s+(\S+)" % pct, out, re.M)
        r["p%s_ms" % pct] = ms(m.group(1)) if m else None
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    r["non_2xx"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    r["socket_errors"] = sum(int(x) for x in m.groups()) if m else 0
    return r


def wrk_cpu_wrapped(a, port, lua, env):
    """run_wrk with the CPU time wrk used (children's rusage, before and after)."""
    before = os.times()
    r = run_wrk(a, port, lua, env)
    after = os.times()
    r["wrk_cpu_s"] = (after.children_user - before.children_user) + \
        (after.children_system - before.children_system)
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build-o2")
    ap.add_argument("--db", help="database URL (default: a fresh SQLite file filled here)")
    ap.add_argument("--patients", type=int, default=10000)
    ap.add_argument("--with-results", type=int, default=2000)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--wrk-threads", type=int, default=2)
    ap.add_argument("--server-threads", type=int, default=0, help="--threads of serve (0: its default)")
    ap.add_argument("--scenarios", default="catalog,rest,fhir,observation,mix")
    ap.add_argument("--section-out", help="write the docs section here instead of the docs")
    a = ap.parse_args()
    build = os.path.join(ROOT, a.build) if not os.path.isabs(a.build) else a.build
    if not shutil.which("wrk"):
        sys.exit("wrk is missing: scripts/install-deps installs it")
    tmp = tempfile.mkdtemp(prefix="benchside-reads-")
    url = a.db or "sqlite:" + os.path.join(tmp, "reads.db")
    made_here = not a.db
    dbq = Database(url)
    load = os.getloadavg()[0]
    if made_here:
        cli(build, ["migrate", "--db", url])
    admin = "bench-reads-" + secrets.token_hex(3)
    cli(build, ["user", "add", "--db", url, "--username", admin, "--role", "admin",
                "--password-stdin"], stdin=PASSWORD + "\n")
    port = free_port()
    args = [os.path.join(build, "benchside"), "serve", "--db", url, "--http",
            "127.0.0.1:%d" % port, "--mllp", "off", "--astm", "off"]
    if a.server_threads:
        args += ["--threads", str(a.server_threads)]
    env = dict(os.environ, BENCHSIDE_LOG="warn")
    log = open(os.path.join(tmp, "server.log"), "wb")
    srv = subprocess.Popen(args, stdout=log, stderr=log, env=env)
    results = []
    try:
        for _ in range(300):
            try:
                if Client(port).call("GET", "/api/v1/health")[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        c = Client(port)
        token = c.json("POST", "/api/v1/session", {"username": admin, "password": PASSWORD})["token"]
        c.token = token
        if made_here:
            demo = json.load(open(os.path.join(ROOT, "src", "lab", "demo_catalog.json")))
            c.json("PUT", "/api/v1/catalog", demo)
            t0 = time.time()
            fill(port, token, a.patients, min(a.with_results, a.patients))
            print("filled %d patients (%d with results) in %.0f s" % (
                a.patients, min(a.with_results, a.patients), time.time() - t0), file=sys.stderr)
        patients = dbq.rows("SELECT id FROM patients ORDER BY id")
        observed = dbq.rows("SELECT DISTINCT s.patient_id FROM specimens s"
                            " JOIN results r ON r.specimen_id = s.id")
        total_patients = len(patients)
        rnd = random.Random(20260101)
        patients = rnd.sample(patients, min(SAMPLE, len(patients)))
        observed = rnd.sample(observed, min(SAMPLE, len(observed)))
        if not patients or not observed:
            sys.exit("the database has no patients, or none with results")
        files = {}
        for name, ids in (("patients", patients), ("observed", observed)):
            files[name] = os.path.join(tmp, name + ".txt")
            with open(files[name], "w") as f:
                f.write("\n".join(ids) + "\n")
        lua = os.path.join(tmp, "reads.lua")
        with open(lua, "w") as f:
            f.write(LUA)
        mem_start = proc_status(srv.pid)
        for kind in a.scenarios.split(","):
            wenv = dict(os.environ, BENCH_TOKEN=token, BENCH_KIND=kind,
                        BENCH_PATIENTS=files["patients"], BENCH_OBSERVED=files["observed"])
            # The audit events one read of this kind writes, on a few reads.
            probe = {"rest": ["/api/v1/patients/" + patients[0]],
                     "fhir": ["/fhir/R4/Patient/" + patients[0]],
                     "observation": ["/fhir/R4/Observation?patient=" + observed[0]],
                     "catalog": ["/api/v1/catalog/tests/GLU"]}
            per = {}
            for k in ([kind] if kind != "mix" else ["rest", "fhir", "observation"]):
                s0 = dbq.audit_seq()
                for _ in range(5):
                    st, raw = c.call("GET", probe[k][0])
                    if st != 200:
                        sys.exit("probe %s: %d %s" % (probe[k][0], st, raw[:200]))
                per[k] = (dbq.audit_seq() - s0) / 5
            if len(set(per.values())) != 1 or any(v != int(v) for v in per.values()):
                sys.exit("reads of %s write %r events each: not one number" % (kind, per))
            per_read = int(next(iter(per.values())))
            seq0 = dbq.audit_seq()
            served0, commits0 = metrics_count(c, ROUTES[kind])
            cpu0 = proc_cpu(srv.pid)
            w = wrk_cpu_wrapped(a, port, lua, wenv)
            cpu1 = proc_cpu(srv.pid)
            time.sleep(0.5)  # the answers wrk abandoned at its end are written too
            served, commits = metrics_count(c, ROUTES[kind])
            served, commits = served - served0, commits - commits0
            events = dbq.audit_seq() - seq0
            mem = proc_status(srv.pid)
            r = {"scenario": kind, "backend": "sqlite" if dbq.path else "postgresql",
                 "patients": total_patients, "connections": a.connections,
                 "duration_s": a.duration, "requests": w["requests"], "per_s": w["per_s"],
                 "p50_ms": w["p50_ms"], "p99_ms": w["p99_ms"], "non_2xx": w["non_2xx"],
                 "socket_errors": w["socket_errors"], "server_cpu_s": round(cpu1 - cpu0, 2),
                 "wrk_cpu_s": round(w["wrk_cpu_s"], 2), "served": served,
                 "events_per_read": per_read, "events": events, "commits": commits,
                 "rss_start_mib": mem_start["VmRSS"], "rss_end_mib": mem["VmRSS"],
                 "hwm_end_mib": mem["VmHWM"]}
            r["events_ok"] = events == served * per_read
            print(json.dumps(r))
            results.append(r)
            if w["non_2xx"] or not r["events_ok"]:
                sys.stderr.write(w["wrk_output"])
                sys.exit("%s: %d answers not 2xx; %d audit events for %d reads served x %d" % (
                    kind, w["non_2xx"], events, served, per_read))
    finally:
        srv.terminate()
        try:
            srv.wait(30)
        except subprocess.TimeoutExpired:
            srv.kill()
        log.close()
    verify = cli(build, ["audit", "verify", "--db", url]).strip()
    lines = section(a, results, verify, load, made_here)
    if a.section_out:
        with open(a.section_out, "w") as f:
            f.write("\n".join(lines) + "\n")
    else:
        splice(lines)
    shutil.rmtree(tmp, ignore_errors=True)


def section(a, results, verify, load, made_here):
    cmd = "bench/bench_reads.py --build %s%s --duration %d --connections %d --wrk-threads %d" % (
        a.build, "" if made_here else " --db URL", a.duration, a.connections, a.wrk_threads)
    if made_here:
        cmd += " --patients %d --with-results %d" % (a.patients, a.with_results)
    r0 = results[0] if results else {}
    lines = [
        SECTION,
        "",
        "    " + cmd,
        "",
        "Measured %s on %s, %d cores, load average %.2f when it began. `benchside serve` (release "
        "build, default threads) on loopback, %s with %d patients; wrk %s (%d threads, %d "
        "connections, %d s a scenario, --latency) picks the patient of each request at random "
        "from %d of them. Nothing is pinned: the server and wrk share the cores, so wrk's CPU "
        "is taken from the server's. Every read of patient data writes its audit event, "
        "durable (SQLite synchronous=FULL) before its answer is sent; the audit writer commits "
        "the events of all reads waiting at once." % (
            datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            platform.machine(), os.cpu_count() or 0, load, r0.get("backend", "?"),
            r0.get("patients", 0), wrk_version(), a.wrk_threads, a.connections, a.duration,
            min(SAMPLE, r0.get("patients", 0))),
        "",
        "| scenario | requests/s | p50 ms | p99 ms | non-2xx | server CPU s | wrk CPU s | "
        "server CPU µs a read | audit events = reads served × events a read | events a commit | "
        "RSS MiB before → after (peak) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        lines.append("| %s | %.0f | %.2f | %.2f | %d | %.1f | %.1f | %.0f | %s (%d = %d × %d) | "
                     "%s | %d → %d (%d) |" % (
                         r["scenario"], r["per_s"], r["p50_ms"], r["p99_ms"], r["non_2xx"],
                         r["server_cpu_s"], r["wrk_cpu_s"],
                         r["server_cpu_s"] * 1e6 / max(r["served"], 1),
                         "yes" if r["events_ok"] else "NO", r["events"], r["served"],
                         r["events_per_read"],
                         "%.1f" % (r["events"] / r["commits"]) if r.get("commits") else "-",
                         r["rss_start_mib"], r["rss_end_mib"],
                         r["hwm_end_mib"]))
    lines += ["", "After the run: `benchside audit verify`: %s." % verify, ""]
    lines += limits(results)
    return lines


def limits(results):
    """What the figures say about the target, from the figures themselves."""
    by = {r["scenario"]: r for r in results}

    def cpu_us(k):
        r = by[k]
        return r["server_cpu_s"] * 1e6 / max(r["served"], 1)

    out = ["Target (the issue): 20,000 authenticated REST and FHIR reads a second on 2 "
           "cores. Best audited figure here: %.0f reads/s (%s), so the target is %s." % (
               max(r["per_s"] for r in results if r["events_per_read"]),
               max((r for r in results if r["events_per_read"]), key=lambda r: r["per_s"])[
                   "scenario"],
               "met" if min(r["per_s"] for r in results if r["events_per_read"]) >= 20000
               else "not met"), ""]
    if "catalog" in by and "rest" in by:
        c, r = by["catalog"], by["rest"]
        commits_s = r["commits"] / max(r["duration_s"], 1)
        per_commit = r["events"] / max(r["commits"], 1)
        out += [
            "What limits it, from these figures. CPU first: the signed-in read with no audit "
            "(catalog) costs the server %.0f µs a request, %.1f cores at 20,000 a second; the "
            "audited REST read costs %.0f µs (the session look-up, the patient, the JSON, the "
            "event held, and its share of the audit writer's work), %.1f cores at 20,000 a "
            "second: more than the machine has with wrk beside it, so with this code the "
            "target cannot be met on 2 cores however the commits are grouped. The server was "
            "busy %.2f cores during the REST run, wrk %.2f, and other work had the rest. The "
            "audit writer made %.0f commits a second of %.1f events each (%.1f ms a commit), "
            "and each read waits for the next one, which sets the latency more than the "
            "rate. Each event adds a row to the audit table and its four indexes; the index "
            "by entity (the patient) puts the events of reads of different patients on "
            "different pages, so a commit writes and syncs about one 4 KiB page of log an "
            "event." % (
                cpu_us("catalog"), 20000 * cpu_us("catalog") / 1e6, cpu_us("rest"),
                20000 * cpu_us("rest") / 1e6, r["server_cpu_s"] / max(r["duration_s"], 1),
                r["wrk_cpu_s"] / max(r["duration_s"], 1), commits_s, per_commit,
                1000.0 / max(commits_s, 0.001)), ""]
    if "fhir" in by:
        out += [
            "The FHIR Patient read costs %.0f µs of CPU a read with %d patients, %.1f times "
            "the REST read of the same patient: it runs the FHIR search statement with `_id` "
            "(lab/lookup.c), prepared for the filters given, so that the id goes straight to "
            "the patient's key, and maps the row to a FHIR resource. The Observation search "
            "by patient costs %.0f µs a read: the keys of the patient's results and vital "
            "signs, read from the patient's indexes, sorted and cut to a page of 20, then "
            "only those rows joined and mapped, and their total counted on the indexes; the "
            "Bundle's JSON costs more than the statements (docs/performance.md, the FHIR "
            "Observation search)."
            % (
                cpu_us("fhir"), by["fhir"]["patients"], cpu_us("fhir") / max(cpu_us("rest"), 1)
                if "rest" in by else 0, cpu_us("observation") if "observation" in by else 0),
            ""]
    return out


def wrk_version():
    p = subprocess.run(["wrk", "--version"], capture_output=True, text=True)
    m = re.search(r"wrk (?:debian/)?([\d.]+)", p.stdout + p.stderr)
    return m.group(1) if m else "?"


def splice(lines):
    """Put the section into docs/performance.md, in place of the one there."""
    path = os.path.join(ROOT, "docs", "performance.md")
    text = open(path).read()
    start = text.find(SECTION)
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + "\n".join(lines)
    else:
        end = text.find("\n## ", start + len(SECTION))
        text = text[:start] + "\n".join(lines) + (text[end + 1:] if end >= 0 else "")
    with open(path, "w") as f:
        f.write(text if text.endswith("\n") else text + "\n")


if __name__ == "__main__":
    main()
