#!/usr/bin/env python3
"""Run the benchmarks and write their figures to docs/performance.md.

usage: bench/run.py [--build DIR] [--events N]
Runs on a fresh SQLite file, and on a throw-away PostgreSQL server when
scripts/pg-test-server can start one.
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

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(exe, url, events):
    p = subprocess.run([exe, url, str(events)], capture_output=True, text=True, timeout=3600)
    if p.returncode != 0:
        sys.exit("bench failed on %s: %s" % (url, p.stderr.strip()))
    return json.loads(p.stdout)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--events", type=int, default=5000)
    a = ap.parse_args()
    exe = os.path.join(ROOT, a.build, "bench", "bench_foundation")
    results = []
    tmp = tempfile.mkdtemp(prefix="benchside-bench-")
    try:
        results.append(run(exe, "sqlite:" + os.path.join(tmp, "bench.db"), a.events))
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
            finally:
                subprocess.run([os.path.join(ROOT, "scripts", "pg-test-server"), "stop", pg],
                               capture_output=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    cmd = "make bench   (bench/run.py --build %s --events %d)" % (a.build, a.events)
    lines = [
        "# Performance",
        "",
        "Figures written by `make bench`; do not edit by hand. Command:",
        "",
        "    " + cmd,
        "",
        "Machine: %s, %d cores, %s; measured %s." % (
            platform.machine(), os.cpu_count() or 0, platform.platform(),
            datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")),
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
    with open(os.path.join(ROOT, "docs", "performance.md"), "w") as fh:
        fh.write("\n".join(lines))
    for r in results:
        print(json.dumps(r))
    print("wrote docs/performance.md")


if __name__ == "__main__":
    main()
