#!/usr/bin/env python3
"""Run every test benchside has and print one closing line `N passed, N failed`.

1. Build with AddressSanitizer and UndefinedBehaviorSanitizer (and -Werror).
2. Run each cmocka unit-test program (tests/unit/) on SQLite.
3. Start a throw-away PostgreSQL server on loopback and run the suites that
   read BENCHSIDE_TEST_DB (storage, auth) against it too.
4. Run the system tests (tests/system/), which start the real server, on
   SQLite and on PostgreSQL.
Exit status 0 only when nothing failed.
"""
import argparse
import glob
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DB_SUITES = ("test_store", "test_auth", "test_lab", "test_catalog",
             "test_results", "test_pt", "test_equip", "test_tolerance",
             "test_care")  # run again on PostgreSQL

passed = 0
failed = 0
failures = []


def log(msg):
    print(msg, flush=True)


def sanitizer_env():
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = "detect_leaks=1:abort_on_error=0:strict_string_checks=1"
    env["UBSAN_OPTIONS"] = "halt_on_error=1:print_stacktrace=1"
    env["LSAN_OPTIONS"] = "suppressions=%s" % os.path.join(ROOT, "tests", "lsan.supp")
    env["CMOCKA_MESSAGE_OUTPUT"] = "TAP"
    env.setdefault("BENCHSIDE_LOG", "warn")
    return env


def build(builddir):
    if not os.path.exists(os.path.join(builddir, "build.ninja")):
        subprocess.run(["meson", "setup", builddir, "--buildtype=debug",
                        "-Db_sanitize=address,undefined", "-Db_lundef=false", "-Dwerror=true"],
                       cwd=ROOT, check=True)
    subprocess.run(["ninja", "-C", builddir], cwd=ROOT, check=True)


def run_cmocka(exe, label, env):
    """Run one cmocka program in TAP mode; count its tests."""
    global passed, failed
    p = subprocess.run([exe], env=env, capture_output=True, text=True, timeout=600)
    ok = len(re.findall(r"^ok \d+", p.stdout, re.M))
    bad = re.findall(r"^not ok \d+ - (.*)$", p.stdout, re.M)
    passed += ok
    failed += len(bad)
    for name in bad:
        failures.append("%s: %s" % (label, name))
    if p.returncode != 0 and not bad:
        # A crash or a sanitizer report after the tests: one failure.
        failed += 1
        failures.append("%s: exited %d" % (label, p.returncode))
    status = "ok" if p.returncode == 0 else "FAILED"
    log("  %-32s %3d passed, %d failed  %s" % (label, ok, len(bad), status))
    if p.returncode != 0:
        sys.stdout.write(p.stdout[-6000:])
        sys.stdout.write(p.stderr[-6000:])


def run_system(label, env):
    """Run tests/system with unittest; count from its summary."""
    global passed, failed
    if not glob.glob(os.path.join(ROOT, "tests", "system", "test_*.py")):
        return
    p = subprocess.run([sys.executable, "-m", "unittest", "discover", "-s", "tests/system",
                        "-t", ".", "-v"], cwd=ROOT, env=env, capture_output=True, text=True,
                       timeout=1800)
    out = p.stderr
    ran = re.search(r"^Ran (\d+) tests?", out, re.M)
    total = int(ran.group(1)) if ran else 0
    m = re.search(r"^FAILED \((.*)\)$", out, re.M)
    bad = skipped = 0
    if m:
        for part in m.group(1).split(","):
            k, _, v = part.strip().partition("=")
            if k in ("failures", "errors", "unexpected successes"):
                bad += int(v)
            elif k == "skipped":
                skipped = int(v)
    else:
        m = re.search(r"^OK(?: \((.*)\))?$", out, re.M)
        if m and m.group(1):
            for part in m.group(1).split(","):
                k, _, v = part.strip().partition("=")
                if k == "skipped":
                    skipped = int(v)
    if not ran or (p.returncode != 0 and bad == 0):
        bad = max(bad, 1)
    good = max(total - bad - skipped, 0)
    passed += good
    failed += bad
    for name in re.findall(r"^(?:FAIL|ERROR): (.*)$", out, re.M):
        failures.append("%s: %s" % (label, name))
    log("  %-32s %3d passed, %d failed, %d skipped" % (label, good, bad, skipped))
    if bad:
        sys.stdout.write(out[-20000:])


def npm_tools():
    """Install the npm test tools (tests/tools) from their lock file, once."""
    tools = os.path.join(ROOT, "tests", "tools")
    stamp = os.path.join(tools, "node_modules", ".package-lock.json")
    if os.path.exists(stamp) and os.path.getmtime(stamp) >= os.path.getmtime(
            os.path.join(tools, "package-lock.json")):
        return
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=tools,
                   check=True, timeout=600)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build-test")
    ap.add_argument("--no-pg", action="store_true", help="skip the PostgreSQL runs")
    ap.add_argument("--unit-only", action="store_true")
    a = ap.parse_args()
    builddir = os.path.join(ROOT, a.build)
    started = time.time()

    log("== build (ASan + UBSan) in %s" % a.build)
    build(builddir)
    if not a.unit_only:
        log("== npm test tools")
        npm_tools()
    env = sanitizer_env()
    env["BENCHSIDE_BIN"] = os.path.join(builddir, "benchside")
    units = sorted(glob.glob(os.path.join(builddir, "tests", "test_*")))
    units = [u for u in units if os.access(u, os.X_OK) and not u.endswith(".p")]

    log("== unit tests (database suites on SQLite)")
    for exe in units:
        name = os.path.basename(exe)
        run_cmocka(exe, name + ("/sqlite" if name in DB_SUITES else ""), env)
    if not a.unit_only:
        log("== system tests on SQLite")
        run_system("system/sqlite", env)

    pgdir = None
    if not a.no_pg:
        pgdir = tempfile.mkdtemp(prefix="benchside-pg-")
        port = free_port()
        log("== PostgreSQL on 127.0.0.1:%d" % port)
        try:
            p = subprocess.run([os.path.join(ROOT, "scripts", "pg-test-server"), "start", pgdir,
                                str(port)], capture_output=True, text=True, timeout=180)
            if p.returncode != 0:
                raise RuntimeError(p.stderr.strip() or "pg-test-server failed")
            base_url = p.stdout.strip().splitlines()[-1]
            for exe in units:
                name = os.path.basename(exe)
                if name not in DB_SUITES:
                    continue
                q = subprocess.run([os.path.join(ROOT, "scripts", "pg-test-server"), "createdb",
                                    base_url, "bs_" + name], capture_output=True, text=True,
                                   timeout=60, check=True)
                pg_env = dict(env, BENCHSIDE_TEST_DB=q.stdout.strip().splitlines()[-1])
                run_cmocka(exe, name + "/postgresql", pg_env)
            if not a.unit_only:
                log("== system tests on PostgreSQL")
                run_system("system/postgresql", dict(env, BENCHSIDE_TEST_PG=base_url))
        except Exception as e:  # the PostgreSQL run itself failed: count it
            global failed
            failed += 1
            failures.append("postgresql: %s" % e)
            log("  PostgreSQL run failed: %s" % e)
        finally:
            subprocess.run([os.path.join(ROOT, "scripts", "pg-test-server"), "stop", pgdir],
                           capture_output=True, timeout=120)
            shutil.rmtree(pgdir, ignore_errors=True)

    log("== done in %.0f s" % (time.time() - started))
    for f in failures:
        log("FAILED: " + f)
    print("%d passed, %d failed" % (passed, failed), flush=True)
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
