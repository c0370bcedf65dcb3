#!/usr/bin/env python3
"""Run the benchmarks and write their figures to docs/performance.md.

usage: bench/run.py [--build DIR] [--events N] [--hl7-mb MB] [--hl7-passes N]
                    [--ref-passes N] [--ingest-messages N] [--ingest-pg-messages N]
                    [--ingest-connections N]
The foundation and durable ingest benches run on a fresh SQLite file, and on
a throw-away PostgreSQL server when scripts/pg-test-server can start one. The HL7 bench
makes a corpus, times benchside's parser on it, then times two independent
parsers on the same file: python3-hl7 (Debian) and simple-hl7 (npm, installed
into bench/tools with npm ci when missing). A parser that cannot be run is
named in the report with the reason; it does not fail the run.
"""
import argparse
import datetime
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(exe, url, events):
    p = subprocess.run([exe, url, str(events)], capture_output=True, text=True, timeout=3600)
    if p.returncode != 0:
        sys.exit("bench failed on %s: %s" % (url, p.stderr.strip()))
    return json.loads(p.stdout)


def pinned(cmd):
    """cmd run on one core (the last this process may use), when taskset is there."""
    if shutil.which("taskset") and hasattr(os, "sched_getaffinity"):
        return ["taskset", "-c", str(max(os.sched_getaffinity(0)))] + cmd, True
    return cmd, False


def run_json(cmd, cwd=None, timeout=3600):
    """Run cmd and return (its JSON output, None) or (None, why it failed)."""
    try:
        p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, str(e)
    if p.returncode != 0:
        return None, (p.stderr.strip().splitlines() or ["exit status %d" % p.returncode])[-1]
    try:
        return json.loads(p.stdout), None
    except ValueError:
        return None, "printed no JSON"


def hl7_python():
    """An interpreter that has python3-hl7, or None."""
    for exe in ("/usr/bin/python3", sys.executable):
        if exe and os.path.exists(exe) and subprocess.run(
                [exe, "-c", "import hl7"], capture_output=True).returncode == 0:
            return exe
    return None


def npm_tools(tools):
    """Install the npm bench tools from their lock file when node_modules is
    missing or older than the lock. Returns None, or why they cannot be had."""
    if not shutil.which("node"):
        return "Node.js is not installed (scripts/install-deps installs it)"
    stamp = os.path.join(tools, "node_modules", ".package-lock.json")
    if os.path.exists(stamp) and os.path.getmtime(stamp) >= os.path.getmtime(
            os.path.join(tools, "package-lock.json")):
        return None
    if not shutil.which("npm"):
        return "npm is not installed (scripts/install-deps installs it)"
    try:
        p = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                           cwd=tools, capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as e:
        return "npm ci in bench/tools failed: %s" % e
    if p.returncode != 0:
        last = (p.stderr.strip().splitlines() or ["exit status %d" % p.returncode])[-1]
        return "npm ci in bench/tools failed: %s" % last
    return None


def bench_hl7(a, tmp):
    """Run the HL7 parse benches. Returns (benchside's figures, the other
    parsers' figures, notes on parsers that could not be run, pinned)."""
    corpus = os.path.join(tmp, "hl7-corpus.txt")
    cmd, was_pinned = pinned([os.path.join(ROOT, a.build, "bench", "bench_hl7"), corpus,
                              str(a.hl7_mb), str(a.hl7_passes)])
    ours, why = run_json(cmd)
    if ours is None:
        sys.exit("bench_hl7 failed: %s" % why)
    others, notes = [], []

    exe = hl7_python()
    if exe is None:
        notes.append("python3-hl7: not run, the Debian package python3-hl7 is not installed "
                     "(scripts/install-deps installs it)")
    else:
        r, why = run_json(pinned([exe, os.path.join(ROOT, "bench", "hl7_parse_python.py"),
                                  corpus, str(a.ref_passes)])[0])
        if r is None:
            notes.append("python3-hl7: not run, %s" % why)
        else:
            others.append(r)

    tools = os.path.join(ROOT, "bench", "tools")
    why = npm_tools(tools)
    if why is None:
        r, why = run_json(pinned(["node", os.path.join(tools, "hl7_parse.mjs"), corpus,
                                  str(a.ref_passes)])[0], cwd=tools)
        if r is not None:
            others.append(r)
    if why is not None:
        notes.append("simple-hl7 (npm): not run, %s" % why)

    # Every parser read the same messages, segments and values, or its
    # figures do not compare: say so rather than print a ratio.
    for r in others:
        for k in ("messages", "message_bytes", "segments", "values"):
            if r.get(k) != ours.get(k):
                notes.append("%s: read %s %s where benchside read %s; its figures are not "
                             "comparable" % (r["parser"], r.get(k), k, ours.get(k)))
                r["mismatch"] = True
                break
    return ours, others, notes, was_pinned


INGEST_RESULTS_TARGET = 10000.0
INGEST_P99_TARGET_MS = 20.0


def run_ingest(a, url, messages):
    """bench_ingest on url: its figures, or the run stops (a bench that loses
    data or fails an ACK is not a result)."""
    r, why = run_json([os.path.join(ROOT, a.build, "bench", "bench_ingest"), url,
                       str(messages), str(a.ingest_connections)])
    if r is None:
        sys.exit("bench_ingest failed on %s: %s" % (url.split("?")[0], why))
    return r


def ingest_lines(a, runs):
    """The durable ingest section of docs/performance.md."""
    first = runs[0]
    lines = [
        "## Durable ingest (bench/bench_ingest.c)",
        "",
        "One process: a fresh database with the demo catalog, an analyzer HEME-1 (HL7, MSH-3 "
        "BENCH) and one received specimen per message, each ordered a basic metabolic panel "
        "with albumin and total protein (10 numeric tests, one SST tube). The MLLP listener "
        "runs in the same process on loopback; %d client threads, each with its own TCP "
        "connection, send OUL^R22 messages of %d OBX (values inside the reference ranges) "
        "and wait for each ACK before sending the next. Every result goes the whole way: "
        "the ingest writer's group commit, result entry with its audit events, the release "
        "gate (all auto-released here), the raw message journalled in the same transaction, "
        "and the ACK (MSA-1 AA, MSA-2 the control id sent, checked) only after the commit is "
        "durable. %d messages a connection are sent first as warm-up and not timed; latency "
        "runs from the first byte sent to the whole ACK read. Afterwards the database is read "
        "back: results stored must be %d times the messages acknowledged and the audit chain "
        "must verify, or the run fails." % (
            first["connections"], first["results_per_message"],
            first["warmup_messages"] // max(first["connections"], 1),
            first["results_per_message"]),
        "",
        "SQLite runs in WAL mode with synchronous=FULL (each commit is on disk before its "
        "ACKs leave). The PostgreSQL figure is from the throw-away test server, which runs "
        "with fsync off on the same 2 cores, so it measures CPU and protocol, not disks. "
        "CPU is the bench process's (the links, the ingest writer, its checkpointer and the "
        "client threads) "
        "over the timed run, in cores; the PostgreSQL server's own processes are not in it. "
        "The last column counts the warm-up too.",
        "",
        "| backend | connections | timed messages | results | results/s | ACK p50 ms | "
        "ACK p99 ms | ACK max ms | CPU cores busy | CPU µs a result | results stored = "
        "10 × ACKed |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in runs:
        lines.append("| %s | %d | %d | %d | %.0f | %.1f | %.1f | %.1f | %.2f | %.0f | %s (%d of "
                     "%d) |" % (
                         r["backend"], r["connections"], r["messages"], r["results"],
                         r["results_per_s"], r["ack_ms_p50"], r["ack_ms_p99"], r["ack_ms_max"],
                         r["cpu_cores"], r["cpu_us_per_result"],
                         "yes" if r["complete"] else "NO", r["stored_results"],
                         r["acked_total"] * r["results_per_message"]))
    sq = next((r for r in runs if r["backend"] == "sqlite"), None)
    if sq is not None:
        rate_met = sq["results_per_s"] >= INGEST_RESULTS_TARGET
        p99_met = sq["ack_ms_p99"] < INGEST_P99_TARGET_MS
        need = sq["connections"] * 1000.0 / INGEST_P99_TARGET_MS
        lines += [
            "",
            "Targets (the durable ingest issue), on the SQLite default on 2 cores: at least "
            "%s results/s, and ACK latency under %.0f ms at the 99th percentile. Measured: "
            "%.0f results/s, the throughput target is %s; p99 %.1f ms, the latency target is "
            "%s." % ("{:,}".format(int(INGEST_RESULTS_TARGET)), INGEST_P99_TARGET_MS,
                     sq["results_per_s"], "met" if rate_met else "not met", sq["ack_ms_p99"],
                     "met" if p99_met else "not met"),
            "",
            "With every connection waiting for its ACK before it sends again, the mean latency "
            "is the number of connections over the messages a second (Little's law): %d "
            "connections at %.0f messages a second wait %.1f ms on average. A p99 under %.0f ms "
            "needs more than %.0f messages (%.0f results) a second, whatever the commit "
            "does." % (sq["connections"], sq["messages_per_s"],
                       sq["connections"] * 1000.0 / sq["messages_per_s"]
                       if sq["messages_per_s"] else 0.0,
                       INGEST_P99_TARGET_MS, need, need * sq["results_per_message"]),
            "",
            "What bounds it: the ingest writer is one thread (SQLite lets one connection write "
            "at a time), so the throughput is what one core does for each result, inside the "
            "batch's transaction: about 17 SQL statements (the catalog and the open test looked "
            "up, the result row with its 4 indexes and 4 foreign keys, the gate's read, the "
            "release with the test's status, the outbox destinations, and two hash-chained audit "
            "events of 7 b-trees each), plus its share of the message's journal entry and of "
            "the commit's log writes. The other core runs the event loop, the client threads "
            "and the checkpointer, which copies the log into the database file after the "
            "writer's commits; it is mostly idle.",
        ]
    lines.append("")
    out = []
    for line in lines:
        out += [line] if line.startswith(("|", "-", "#")) or not line else textwrap.wrap(
            line, 80, break_long_words=False, break_on_hyphens=False)
    return out


def hl7_lines(a, ours, others, notes, was_pinned):
    """The HL7 section of docs/performance.md."""
    full, index = ours["full"], ours["index_only"]
    target = 500.0
    met = full["median_mb_per_s"] >= target
    lines = [
        "## HL7 parse (bench/bench_hl7.c)",
        "",
        "Corpus: %d messages made by bench_hl7 from seed %d: %d ORU^R01 (v2.5.1 results) "
        "and %d OUL^R22 (IHE LAW results from analysers), %.1f MB of message text, %d to %d "
        "bytes a message, %d segments; some text holds escape sequences (`\\F\\` `\\S\\` `\\T\\` "
        "`\\R\\` `\\E\\` `\\X0D\\`) and UTF-8 names. Every parser reads the same file, one message "
        "per line (format in bench_hl7.c), and reads every value of every message: segment "
        "ids, MSH-1, MSH-2 and every sub-component, %d values, the same count for each "
        "parser. None of them unescapes text." % (
            ours["messages"], ours["seed"], ours["oru_r01"], ours["oul_r22"],
            ours["message_bytes"] / 1e6, ours["min_message_bytes"], ours["max_message_bytes"],
            ours["segments"], ours["values"]),
        "",
        "MB is 10^6 bytes of message text. The parsers run one after another, each %s; one "
        "warm-up pass, "
        "then benchside %d passes and the others %d, best and median reported. The ratio is "
        "benchside's best (parse + every value) over that parser's best." % (
            "pinned to the same core with taskset" if was_pinned else "unpinned (no taskset)",
            ours["passes"], a.ref_passes),
        "",
        "| parser | MB/s, best | MB/s, median | messages/s, best | messages/s, median | "
        "benchside ÷ it |",
        "| --- | --- | --- | --- | --- | --- |",
        "| benchside: hl7_parse + every value with the cursor | %.1f | %.1f | %.0f | %.0f | "
        "1.0 |" % (full["best_mb_per_s"], full["median_mb_per_s"],
                   full["best_messages_per_s"], full["median_messages_per_s"]),
        "| benchside: hl7_parse only (segment index, no field split) | %.1f | %.1f | %.0f | "
        "%.0f | (not the same work) |" % (
            index["best_mb_per_s"], index["median_mb_per_s"], index["best_messages_per_s"],
            index["median_messages_per_s"]),
    ]
    for r in others:
        name, version = r["parser"].rsplit("@", 1)
        ratio = "(not comparable)" if r.get("mismatch") else "%.1f" % (
            full["best_mb_per_s"] / r["mb_per_s"] if r["mb_per_s"] else 0.0)
        lines.append("| %s %s (%s) | %.1f | %.1f | %.0f | %.0f | %s |" % (
            name, version, r.get("runtime", ""), r["mb_per_s"], r["median_mb_per_s"],
            r["messages_per_s"], r["median_messages_per_s"], ratio))
    lines += [
        "",
        "Target (the HL7 parse issue): at least %.0f MB/s on one core, parse + every value. "
        "Measured: %.1f MB/s best, %.1f MB/s median; judged on the median, the target is %s." % (
            target, full["best_mb_per_s"], full["median_mb_per_s"],
            "met" if met else "not met"),
    ]
    if full["median_mb_per_s"] < 0.9 * full["best_mb_per_s"]:
        lines += [
            "",
            "The median is more than 10% under the best pass: other work shared the machine "
            "during some passes, so the median understates the parser; run again on a quiet "
            "machine for steadier figures.",
        ]
    if notes:
        lines += ["", "Not measured in this run:", ""] + ["- " + n for n in notes]
    lines.append("")
    # Prose wrapped as the rest of the page is; table rows and list items kept whole.
    out = []
    for line in lines:
        out += [line] if line.startswith(("|", "-", "#")) or not line else textwrap.wrap(
            line, 80, break_long_words=False, break_on_hyphens=False)
    return out


def reads_lines(a):
    """The section of bench/bench_reads.py (wrk against the server), or why it is missing."""
    with tempfile.NamedTemporaryFile("r", suffix=".md") as out:
        p = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "bench_reads.py"),
                            "--build", a.build, "--duration", str(a.reads_duration),
                            "--section-out", out.name], capture_output=True, text=True,
                           timeout=7200)
        if p.returncode != 0:
            why = (p.stderr.strip().splitlines() or ["exit status %d" % p.returncode])[-1]
            return ["## Audited reads (bench/bench_reads.py)", "", "Not measured: " + why, ""]
        print(p.stdout, end="")
        return [""] + out.read().splitlines()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--events", type=int, default=5000)
    ap.add_argument("--hl7-mb", type=int, default=64, help="HL7 corpus size, MB")
    ap.add_argument("--hl7-passes", type=int, default=15, help="timed passes of benchside")
    ap.add_argument("--ref-passes", type=int, default=3,
                    help="timed passes of the other HL7 parsers")
    ap.add_argument("--ingest-messages", type=int, default=20000,
                    help="timed messages of the durable ingest bench (10 results each)")
    ap.add_argument("--ingest-pg-messages", type=int, default=2000,
                    help="the same on PostgreSQL (a statement is a round trip there: fewer)")
    ap.add_argument("--ingest-connections", type=int, default=32,
                    help="concurrent MLLP connections of the durable ingest bench")
    ap.add_argument("--reads-duration", type=int, default=10,
                    help="seconds of each scenario of the audited reads bench (wrk)")
    a = ap.parse_args()
    exe = os.path.join(ROOT, a.build, "bench", "bench_foundation")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    results, ingest = [], []
    tmp = tempfile.mkdtemp(prefix="benchside-bench-")
    try:
        results.append(run(exe, "sqlite:" + os.path.join(tmp, "bench.db"), a.events))
        ingest.append(run_ingest(a, "sqlite:" + os.path.join(tmp, "ingest.db"),
                                 a.ingest_messages))
        # Its own folder: the server may run as another user, who cannot enter tmp.
        pg = tempfile.mkdtemp(prefix="benchside-bench-pg-")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        p = subprocess.run([os.path.join(ROOT, "scripts", "pg-test-server"), "start", pg,
                            str(port)], capture_output=True, text=True)
        if p.returncode == 0:
            try:
                base = p.stdout.strip().splitlines()[-1]
                q = subprocess.run([os.path.join(ROOT, "scripts", "pg-test-server"), "createdb",
                                    base, "bench"], capture_output=True, text=True, check=True)
                results.append(run(exe, q.stdout.strip().splitlines()[-1], a.events))
                q = subprocess.run([os.path.join(ROOT, "scripts", "pg-test-server"), "createdb",
                                    base, "ingest"], capture_output=True, text=True, check=True)
                ingest.append(run_ingest(a, q.stdout.strip().splitlines()[-1],
                                         a.ingest_pg_messages))
            finally:
                subprocess.run([os.path.join(ROOT, "scripts", "pg-test-server"), "stop", pg],
                               capture_output=True)
        hl7 = bench_hl7(a, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    cmd = ("make bench   (bench/run.py --build %s --events %d --hl7-mb %d --hl7-passes %d "
           "--ref-passes %d --ingest-messages %d --ingest-pg-messages %d "
           "--ingest-connections %d)" % (
               a.build, a.events, a.hl7_mb, a.hl7_passes, a.ref_passes, a.ingest_messages,
               a.ingest_pg_messages, a.ingest_connections))
    lines = [
        "# Performance",
        "",
        "Figures written by `make bench`; do not edit by hand. Command:",
        "",
        "    " + cmd,
        "",
        "Machine: %s, %d cores, %s; measured %s; load average %.2f when it began "
        "(other work on the machine slows every figure)." % (
            platform.machine(), os.cpu_count() or 0, platform.platform(),
            datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), load),
        "",
        "## Foundation (bench/bench_foundation.c)",
        "",
        "Each audit event is hash-chained (BLAKE2b) and written durably: SQLite in WAL",
        "mode with synchronous=FULL; the PostgreSQL figure is from the throw-away test",
        "server, which runs with fsync off, so it measures CPU and protocol, not disks.",
        "",
        "| backend | audit events/s, one commit each | audit events/s, 100 per commit | "
        "chain verified, events/s | session look-ups/s |",
        "| --- | --- | --- | --- | --- |",
    ]
    for r in results:
        lines.append("| %s | %.0f | %.0f | %.0f | %.0f |" % (
            r["backend"], r["audit_single_per_s"], r["audit_batch100_per_s"],
            r["audit_verify_per_s"], r["session_lookups_per_s"]))
    lines.append("")
    lines += hl7_lines(a, *hl7)
    lines += ingest_lines(a, ingest)
    lines += reads_lines(a)
    with open(os.path.join(ROOT, "docs", "performance.md"), "w") as fh:
        fh.write("\n".join(lines))
    for r in results + [hl7[0]] + hl7[1] + ingest:
        print(json.dumps(r))
    for n in hl7[2]:
        print("not measured: " + n)
    print("wrote docs/performance.md")


if __name__ == "__main__":
    main()
