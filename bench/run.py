#!/usr/bin/env python3
"""Run the benchmarks and write their figures to docs/performance.md.

usage: bench/run.py [--build DIR] [--events N] [--hl7-mb MB] [--hl7-passes N]
                    [--ref-passes N] [--ingest-messages N] [--ingest-pg-messages N]
                    [--ingest-connections N] [--only all|year] [--year-scale F]
                    [--year-seed S] [--year-db PATH] [--year-samples N] [--year-repeat N]
The foundation and durable ingest benches run on a fresh SQLite file, and on
a throw-away PostgreSQL server when scripts/pg-test-server can start one. The HL7 bench
makes a corpus, times benchside's parser on it, then times two independent
parsers on the same file: python3-hl7 (Debian) and simple-hl7 (npm, installed
into bench/tools with npm ci when missing). A parser that cannot be run is
named in the report with the reason; it does not fail the run.

The year section loads a year of a large laboratory with gen_year (30 million
results, 1 million patients at --year-scale 1) into a SQLite file, kept
beside the build (BUILD/year-SCALE-SEED.db) and used again while the
generator's version is the one it was made by (the generator's summary is
kept beside it as .gen.json), then times the reads on it with bench_year and
the start of `benchside serve` on it. `--only year` runs that section alone
and rewrites only its part of docs/performance.md.
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


YEAR_TITLE = "## A year of data (bench/gen_year.c, bench/bench_year.c)"


def year_db(a):
    """The year's database for these options, generated when missing or stale."""
    build = os.path.join(ROOT, a.build)
    path = a.year_db or os.path.join(build, "year-%g-%d.db" % (a.year_scale, a.year_seed))
    gen = os.path.join(build, "bench", "gen_year")
    marker = path + ".gen.json"
    version = int(subprocess.run([gen, "--version"], capture_output=True, text=True,
                                 check=True).stdout.strip())
    if os.path.exists(path) and os.path.exists(marker):
        with open(marker) as fh:
            summary = json.load(fh)
        if summary.get("version") == version:
            return path, summary, True
    for sfx in ("", "-wal", "-shm", ".gen.json"):
        if os.path.exists(path + sfx):
            os.remove(path + sfx)
    p = subprocess.run([gen, "sqlite:" + path, "--scale", "%g" % a.year_scale, "--seed",
                        str(a.year_seed)], stdout=subprocess.PIPE, text=True)
    if p.returncode != 0:
        sys.exit("gen_year failed")
    summary = json.loads(p.stdout)
    with open(marker, "w") as fh:
        json.dump(summary, fh, indent=2)
    return path, summary, False


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def ensure_admin(a, path):
    """benchside serve wants an administrator: bench-admin, made once."""
    exe = os.path.join(ROOT, a.build, "benchside")
    p = subprocess.run([exe, "user", "add", "--db", "sqlite:" + path, "--username", "bench-admin",
                        "--role", "admin", "--password-stdin"], input="bench-admin-pass\n",
                       capture_output=True, text=True)
    if p.returncode != 0 and "taken" not in p.stderr and "exists" not in p.stderr:
        sys.exit("cannot add the administrator: " + p.stderr.strip())


def serve_start(a, path, runs=3):
    """Seconds from exec to /api/v1/health answering, best of runs, and RSS then."""
    import urllib.request
    exe = os.path.join(ROOT, a.build, "benchside")
    best, rss = None, 0
    for _ in range(runs):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        t0 = datetime.datetime.now().timestamp()
        p = subprocess.Popen([exe, "serve", "--db", "sqlite:" + path, "--http",
                              "127.0.0.1:%d" % port, "--mllp", "off", "--astm", "off"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            while True:
                if p.poll() is not None:
                    sys.exit("benchside serve ended at start")
                try:
                    urllib.request.urlopen("http://127.0.0.1:%d/api/v1/health" % port,
                                           timeout=1).read()
                    break
                except OSError:
                    if datetime.datetime.now().timestamp() - t0 > 120:
                        sys.exit("benchside serve did not answer in 120 s")
            took = datetime.datetime.now().timestamp() - t0
            kib = rss_kib(p.pid)
            if best is None or took < best:
                best, rss = took, kib
        finally:
            p.terminate()
            p.wait(timeout=30)
    return best, rss


def bench_year(a):
    path, gen, reused = year_db(a)
    exe = os.path.join(ROOT, a.build, "bench", "bench_year")
    reads, why = run_json([exe, "sqlite:" + path, "--samples", str(a.year_samples),
                           "--repeat", str(a.year_repeat)], timeout=7200)
    if reads is None:
        sys.exit("bench_year failed: " + why)
    ensure_admin(a, path)
    start_s, rss = serve_start(a, path)
    return {"path": path, "gen": gen, "reused": reused, "reads": reads,
            "start_s": start_s, "start_rss_kib": rss}


def year_lines(a, y):
    """The year section of docs/performance.md."""
    g, r = y["gen"], y["reads"]
    rows = g["rows"]
    wl = r["worklist"]
    rep, heavy, obs = r["report_random"], r["report_heaviest"], r["fhir_observation_patient"]

    def verdict(p95, target):
        if p95 < target:
            return "met (p95 %.1f ms < %d ms)" % (p95, target)
        return "missed: p95 %.1f ms is %.1f ms over %d ms" % (p95, p95 - target, target)

    lines = [
        YEAR_TITLE,
        "",
        "A year of a large laboratory generated into one SQLite file, then the reads",
        "people wait for timed on it in one process, through the functions the HTTP",
        "handlers call, each with its audit event written as behind the API",
        "(SQLite in WAL mode, synchronous=FULL). Commands:",
        "",
        "    bench/run.py --build %s --only year --year-scale %g --year-seed %d" % (
            a.build, a.year_scale, a.year_seed),
        "    %s/bench/gen_year sqlite:%s --scale %g --seed %d" % (
            a.build, os.path.basename(y["path"]), a.year_scale, a.year_seed),
        "    %s/bench/bench_year sqlite:%s --samples %d --repeat %d" % (
            a.build, os.path.basename(y["path"]), a.year_samples, a.year_repeat),
        "",
        "### The load (gen_year)",
        "",
        "Patients with a skewed number of orders (most one or two, a few chronic and",
        "inpatients hundreds); orders of the demo catalog's panels (BMP, CBC, lipids,",
        "hepatic, coagulation, urinalysis, single tests), mostly routine, some ASAP and",
        "STAT, spread over %d days with diurnal and weekly peaks; specimens with" % g["days"],
        "accessions and their custody; results drawn around each test's reference range",
        "and flagged as result entry flags them; critical values with their call",
        "documented; a few corrected results with their history; manual releases with",
        "their signatures; part of the last day's work still open. Indexes of the",
        "filled tables are dropped for the load and made again from the migrations'",
        "text. %s" % ("This run reused the file made earlier by the same generator "
                      "version; its load figures are those of that run."
                      if y["reused"] else "Generated in this run."),
        "",
        "| table | rows |",
        "| --- | --- |",
    ]
    for k in ("patients", "orders", "specimens", "specimen_events", "order_tests", "results",
              "result_history", "critical_alerts", "signatures"):
        lines.append("| %s | %d |" % (k, rows[k]))
    lines += [
        "",
        "%d rows in %.0f s (%.0f s the rows, %d s the indexes): %.0f rows/s; the database "
        "is %.1f GB; %d specimens open at the end." % (
            g["rows_total"], g["seconds"], g["seconds_load"], g["seconds_index"],
            g["rows_per_second"], g["database_bytes"] / 1e9, g["open_specimens"]),
        "",
        "### Reads on the year (bench_year)",
        "",
        "The report and the FHIR search for %d patients drawn at random, the report also" % (
            rep["n"]),
        "for the %d patients with the most orders; each worklist page called %d times," % (
            heavy["n"], a.year_repeat),
        "at the data's own end (%s), so the released tab holds a day of work." % r["now"],
        "Targets are judged on p95.",
        "",
        "| read | p50 ms | p95 ms | p99 ms | max ms | size |",
        "| --- | --- | --- | --- | --- | --- |",
        "| cumulative report, random patients | %.1f | %.1f | %.1f | %.1f | %.0f results "
        "on average, at most %d; up to %d pages |" % (
            rep["p50_ms"], rep["p95_ms"], rep["p99_ms"], rep["max_ms"], rep["results_mean"],
            rep["results_max"], rep["pdf_pages_max"]),
        "| cumulative report, heaviest patients | %.1f | %.1f | %.1f | %.1f | %.0f results "
        "on average, at most %d; up to %d pages, %d bytes |" % (
            heavy["p50_ms"], heavy["p95_ms"], heavy["p99_ms"], heavy["max_ms"],
            heavy["results_mean"], heavy["results_max"], heavy["pdf_pages_max"],
            heavy["pdf_bytes_max"]),
        "| FHIR Observation?patient=, page of 20 and total | %.1f | %.1f | %.1f | %.1f | |" % (
            obs["p50_ms"], obs["p95_ms"], obs["p99_ms"], obs["max_ms"]),
    ]
    for name, w in wl.items():
        lines.append("| worklist, %s | %.1f | %.1f | %.1f | %.1f | %d specimens shown |" % (
            name, w["p50_ms"], w["p95_ms"], w["p99_ms"], w["max_ms"], w["items"]))
    counts = wl["default"]["counts"]
    lines += [
        "",
        "Counts of the worklist's tabs: " + ", ".join(
            "%s %d" % (k, v) for k, v in counts.items()) + ".",
        "",
        "- Cumulative report under 50 ms: random patients %s; the heaviest %s." % (
            verdict(rep["p95_ms"], 50), verdict(heavy["p95_ms"], 50)),
        "- Worklist page under 20 ms: the default page %s." % verdict(
            wl["default"]["p95_ms"], 20),
        "",
        "### Start",
        "",
        "`benchside serve` on the year (links off) from exec until GET /api/v1/health",
        "answers, best of 3: %.2f s; the server's resident memory then: %.0f MiB." % (
            y["start_s"], y["start_rss_kib"] / 1024.0),
        "",
    ]
    return lines


READS_TITLE = "## Audited reads (bench/bench_reads.py)"


def write_year_only(lines):
    """Replace the year section of docs/performance.md, keeping the others."""
    write_section_only(YEAR_TITLE, lines)


def write_section_only(title, lines):
    """Replace the section title of docs/performance.md by lines, keeping the others."""
    path = os.path.join(ROOT, "docs", "performance.md")
    lines = list(lines)
    while lines and lines[0] == "":
        lines.pop(0)
    with open(path) as fh:
        text = fh.read().split("\n")
    if title in text:
        i = text.index(title)
        j = next((k for k in range(i + 1, len(text)) if text[k].startswith("## ")), len(text))
        text = text[:i] + text[j:]
    while text and text[-1] == "":
        text.pop()
    with open(path, "w") as fh:
        fh.write("\n".join(text + [""] + lines))


def reads_lines(a, year_path=None):
    """The section of bench/bench_reads.py (wrk against the server), on the year's
    database when it is given, or why it is missing."""
    with tempfile.NamedTemporaryFile("r", suffix=".md") as out:
        cmd = [sys.executable, os.path.join(ROOT, "bench", "bench_reads.py"), "--build",
               a.build, "--duration", str(a.reads_duration), "--section-out", out.name]
        if year_path:
            cmd += ["--db", "sqlite:" + year_path]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=7200)
        if p.returncode != 0:
            why = (p.stderr.strip().splitlines() or ["exit status %d" % p.returncode])[-1]
            return [READS_TITLE, "", "Not measured: " + why, ""]
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
    ap.add_argument("--only", choices=("all", "year"), default="all",
                    help="year: run only the year section")
    ap.add_argument("--year-scale", type=float, default=1.0,
                    help="fraction of 30M results and 1M patients")
    ap.add_argument("--year-seed", type=int, default=20240101)
    ap.add_argument("--year-db", help="the year's SQLite file (default BUILD/year-SCALE-SEED.db)")
    ap.add_argument("--year-samples", type=int, default=200,
                    help="random patients for the report and the search")
    ap.add_argument("--year-repeat", type=int, default=50, help="calls of each worklist page")
    ap.add_argument("--reads-duration", type=int, default=10,
                    help="seconds of each scenario of the audited reads bench (wrk)")
    a = ap.parse_args()
    if a.only == "year":
        y = bench_year(a)
        write_year_only(year_lines(a, y))
        write_section_only(READS_TITLE, reads_lines(a, y["path"]))
        print(json.dumps({k: y[k] for k in ("gen", "reads", "start_s", "start_rss_kib")}))
        print("wrote docs/performance.md")
        return
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
        year = bench_year(a)
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
    lines += year_lines(a, year)
    lines += reads_lines(a, year["path"])
    with open(os.path.join(ROOT, "docs", "performance.md"), "w") as fh:
        fh.write("\n".join(lines))
    for r in results + [hl7[0]] + hl7[1] + ingest:
        print(json.dumps(r))
    for n in hl7[2]:
        print("not measured: " + n)
    print("wrote docs/performance.md")


if __name__ == "__main__":
    main()
