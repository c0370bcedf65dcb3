#!/usr/bin/env python3
"""Run every test benchside has and print one closing line `N passed, N failed`.

1. Build with AddressSanitizer and UndefinedBehaviorSanitizer (and -Werror).
2. Run each cmocka unit-test program (tests/unit/) on SQLite.
3. Start a throw-away PostgreSQL server on loopback and run the suites that
   read BENCHSIDE_TEST_DB (storage, auth) against it too.
4. Run the system tests (tests/system/), which start the real server, on
   SQLite and on PostgreSQL, the two side by side.
5. Run the end-to-end tests of the web workbench (tests/e2e/): playwright-core
   driving Debian's chromium against `benchside demo`; screenshots go to
   <build>/e2e-screenshots.
6. Run each libFuzzer target (tests/fuzz/) for a few seconds on its seed
   corpus (scripts/fuzz, a clang build in build-fuzz; FUZZ_SECONDS, default 5).
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
             "test_events")  # run again on PostgreSQL
DB_SUITES += ("test_equip_ops",)
DB_SUITES += ("test_stock",)
DB_SUITES += ("test_care",)
DB_SUITES += ("test_scale",)
DB_SUITES += ("test_year",)
DB_SUITES += ("test_auditq",)
DB_SUITES += ("test_lookup",)

passed = 0
failed = 0
failures = []


def log(msg):
    print(msg, flush=True)


_phase = [None, 0.0]


def phase(title):
    """Begin a part of the run: say how long the one before took, then its title."""
    now = time.time()
    if _phase[0]:
        log("   (%s: %.0f s)" % (_phase[0], now - _phase[1]))
    _phase[0], _phase[1] = title, now
    if title:
        log("== " + title)


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


def start_system(env):
    """Start tests/system with unittest in the background: (process, its output file)."""
    out = tempfile.TemporaryFile(mode="w+")
    proc = subprocess.Popen([sys.executable, "-m", "unittest", "discover", "-s", "tests/system",
                             "-t", ".", "-v"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=out, text=True)
    return proc, out


def finish_system(label, started):
    """Wait for a run start_system began; count from its summary."""
    global passed, failed
    proc, fh = started
    try:
        proc.wait(timeout=1800)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    fh.seek(0)
    out = fh.read()
    fh.close()
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
    if not ran or (proc.returncode != 0 and bad == 0):
        bad = max(bad, 1)
    good = max(total - bad - skipped, 0)
    passed += good
    failed += bad
    for name in re.findall(r"^(?:FAIL|ERROR): (.*)$", out, re.M):
        failures.append("%s: %s" % (label, name))
    log("  %-32s %3d passed, %d failed, %d skipped" % (label, good, bad, skipped))
    if bad:
        sys.stdout.write(out[-20000:])


def npm_ci(folder):
    """Install the npm packages of tests/<folder> from their lock file, once."""
    where = os.path.join(ROOT, "tests", folder)
    stamp = os.path.join(where, "node_modules", ".package-lock.json")
    if os.path.exists(stamp) and os.path.getmtime(stamp) >= os.path.getmtime(
            os.path.join(where, "package-lock.json")):
        return
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=where,
                   check=True, timeout=600)


def npm_tools():
    """The npm test tools (tests/tools)."""
    npm_ci("tools")


def npm_e2e():
    """playwright-core for the end-to-end tests (tests/e2e)."""
    npm_ci("e2e")


def run_e2e(label, env, builddir):
    """Run tests/e2e with node's test runner (TAP); count from its summary."""
    global passed, failed
    chromium = env.get("CHROMIUM", "/usr/bin/chromium")
    if not os.access(chromium, os.X_OK):
        failed += 1
        failures.append("%s: %s is missing (scripts/install-deps installs chromium)"
                        % (label, chromium))
        log("  %-32s chromium missing" % label)
        return
    out_dir = os.path.join(builddir, "e2e-screenshots")
    files = sorted(glob.glob(os.path.join(ROOT, "tests", "e2e", "*.test.mjs")))
    p = subprocess.run(["node", "--test", "--test-reporter=tap"] + files, cwd=ROOT,
                       env=dict(env, BENCHSIDE_E2E_OUT=out_dir), capture_output=True, text=True,
                       timeout=600)
    m_ok = re.search(r"^# pass (\d+)$", p.stdout, re.M)
    m_bad = re.search(r"^# fail (\d+)$", p.stdout, re.M)
    good = int(m_ok.group(1)) if m_ok else 0
    bad = int(m_bad.group(1)) if m_bad else 0
    if p.returncode != 0 and bad == 0:
        bad = 1
    passed += good
    failed += bad
    for name in re.findall(r"^\s*not ok \d+ - (.*)$", p.stdout, re.M):
        failures.append("%s: %s" % (label, name))
    log("  %-32s %3d passed, %d failed  (screenshots in %s)" % (label, good, bad, out_dir))
    if bad:
        sys.stdout.write(p.stdout[-20000:])
        sys.stdout.write(p.stderr[-6000:])


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_fuzz(label, env):
    """scripts/fuzz for a few seconds a target; one test a target."""
    global passed, failed
    seconds = env.get("FUZZ_SECONDS", "5")
    p = subprocess.run([os.path.join(ROOT, "scripts", "fuzz"), seconds], cwd=ROOT,
                       env={k: v for k, v in env.items() if not k.endswith("SAN_OPTIONS")},
                       capture_output=True, text=True, timeout=3600)
    good = re.findall(r"^ok (fuzz_\w+)", p.stdout, re.M)
    bad = re.findall(r"^FAILED (fuzz_\w+)", p.stdout, re.M)
    if p.returncode != 0 and not bad:
        bad = ["scripts/fuzz exited %d" % p.returncode]
    passed += len(good)
    failed += len(bad)
    for name in bad:
        failures.append("%s: %s" % (label, name))
    log("  %-32s %3d passed, %d failed" % (label, len(good), len(bad)))
    if bad:
        sys.stdout.write(p.stdout[-8000:])
        sys.stdout.write(p.stderr[-4000:])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build-test")
    ap.add_argument("--no-pg", action="store_true", help="skip the PostgreSQL runs")
    ap.add_argument("--unit-only", action="store_true")
    a = ap.parse_args()
    builddir = os.path.join(ROOT, a.build)
    started = time.time()

    phase("build (ASan + UBSan) in %s" % a.build)
    build(builddir)
    if not a.unit_only:
        phase("npm test tools")
        npm_tools()
        npm_e2e()
    env = sanitizer_env()
    env["BENCHSIDE_BIN"] = os.path.join(builddir, "benchside")
    units = sorted(glob.glob(os.path.join(builddir, "tests", "test_*")))
    units = [u for u in units if os.access(u, os.X_OK) and not u.endswith(".p")]

    phase("unit tests (database suites on SQLite)")
    for exe in units:
        name = os.path.basename(exe)
        run_cmocka(exe, name + ("/sqlite" if name in DB_SUITES else ""), env)

    pgdir = pg_url = None
    if not a.no_pg:
        pgdir = tempfile.mkdtemp(prefix="benchside-pg-")
        port = free_port()
        phase("PostgreSQL on 127.0.0.1:%d: unit tests (database suites)" % port)
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
            pg_url = base_url
        except Exception as e:  # the PostgreSQL run itself failed: count it
            global failed
            failed += 1
            failures.append("postgresql: %s" % e)
            log("  PostgreSQL run failed: %s" % e)

    try:
        if not a.unit_only:
            # The two backends' system tests share nothing (each server has its
            # own database and ports), so they run side by side.
            phase("system tests on SQLite%s" % (" and PostgreSQL, side by side" if pg_url else ""))
            runs = [("system/sqlite", start_system(env))]
            if pg_url:
                runs.append(("system/postgresql",
                             start_system(dict(env, BENCHSIDE_TEST_PG=pg_url))))
            for label, proc in runs:
                finish_system(label, proc)
            phase("end-to-end tests in chromium")
            run_e2e("e2e/chromium", env, builddir)
    finally:
        if pgdir:
            subprocess.run([os.path.join(ROOT, "scripts", "pg-test-server"), "stop", pgdir],
                           capture_output=True, timeout=120)
            shutil.rmtree(pgdir, ignore_errors=True)

    if not a.unit_only:
        phase("fuzz targets, a few seconds each on their corpora")
        run_fuzz("fuzz", env)

    phase(None)
    log("== done in %.0f s" % (time.time() - started))
    for f in failures:
        log("FAILED: " + f)
    print("%d passed, %d failed" % (passed, failed), flush=True)
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
