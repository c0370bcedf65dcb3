// harness.mjs - what the end-to-end tests share: a `benchside demo` server on
// loopback with a fresh database (demo accounts, catalog, workload and its
// two simulated analyzers), Debian's chromium driven by playwright-core, API
// calls made beside the browser, `benchside sim` runs, and screenshots.
//
// Environment: BENCHSIDE_BIN (default build-test/benchside), BENCHSIDE_E2E_OUT
// (where screenshots go; default a new temporary folder, printed),
// CHROMIUM (default /usr/bin/chromium).

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = resolve(ROOT, process.env.BENCHSIDE_BIN ?? 'build-test/benchside');
export const OUT = process.env.BENCHSIDE_E2E_OUT ?? mkdtempSync(join(tmpdir(), 'benchside-e2e-'));
mkdirSync(OUT, { recursive: true });

export const PASSWORDS = {
  admin: 'demo-admin-pass', supervisor: 'demo-supervisor-pass', tech: 'demo-tech-pass',
  biomed: 'demo-biomed-pass', clinician: 'demo-clinician-pass',
};

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

// The settings of tests/run.py for the sanitizers of the test build.
function sanitizerEnv() {
  return {
    ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=0:strict_string_checks=1',
    UBSAN_OPTIONS: 'halt_on_error=1:print_stacktrace=1',
    LSAN_OPTIONS: 'suppressions=' + join(ROOT, 'tests', 'lsan.supp'),
    BENCHSIDE_LOG: 'warn',
    ...process.env,
  };
}

export class Server {
  constructor(extra = []) {
    this.dir = mkdtempSync(join(tmpdir(), 'benchside-e2e-srv-'));
    this.extra = extra;
  }

  async start() {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.startOnce();
      } catch (e) {
        // another process took the port meanwhile: once more on another
        if (attempt >= 2 || !/in use/.test(e.message)) throw e;
      }
    }
  }

  async startOnce() {
    this.port = await freePort();
    this.base = `http://127.0.0.1:${this.port}`;
    this.out = '';
    this.proc = spawn(BIN, ['demo', '--db', `sqlite:${join(this.dir, 'demo.db')}`,
      '--http', `127.0.0.1:${this.port}`, '--mllp', '127.0.0.1:0', '--astm', '127.0.0.1:0',
      ...this.extra], { cwd: this.dir, env: sanitizerEnv() });
    this.proc.stdout.on('data', (b) => { this.out += b; });
    this.proc.stderr.on('data', (b) => { this.out += b; });
    const deadline = Date.now() + 30000;
    while (Date.now() < deadline) {
      if (this.proc.exitCode !== null) throw new Error('benchside demo exited:\n' + this.out);
      const m = /benchside links: mllp (\d+), astm (\d+)/.exec(this.out);
      if (m) {
        this.mllp = Number(m[1]);
        this.astm = Number(m[2]);
        try {
          if ((await fetch(this.base + '/api/v1/health')).ok) return this;
        } catch { /* not yet */ }
      }
      await sleep(100);
    }
    throw new Error('benchside demo did not start:\n' + this.out);
  }

  async stop() {
    if (this.proc && this.proc.exitCode === null) {
      const done = new Promise((r) => this.proc.once('exit', r));
      this.proc.kill('SIGTERM');
      await Promise.race([done, sleep(10000)]);
      if (this.proc.exitCode === null) this.proc.kill('SIGKILL');
    }
    rmSync(this.dir, { recursive: true, force: true });
    if (/AddressSanitizer|LeakSanitizer|runtime error:/.test(this.out)) {
      throw new Error('sanitizer report from the server:\n' + this.out.slice(-4000));
    }
  }

  // A call to the REST API as username (signed in once, then by token).
  async api(user, method, path, body) {
    this.tokens ??= {};
    if (!this.tokens[user]) {
      const r = await fetch(this.base + '/api/v1/session', {
        method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ username: user, password: PASSWORDS[user] ?? user + '-password-1' }),
      });
      if (!r.ok) throw new Error(`sign-in of ${user}: ${r.status} ${await r.text()}`);
      this.tokens[user] = (await r.json()).token;
    }
    const r = await fetch(this.base + path, {
      method,
      headers: { Authorization: 'Bearer ' + this.tokens[user], ...(body ? { 'Content-Type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await r.text();
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
    return text ? JSON.parse(text) : null;
  }

  // `benchside sim` against this server's links; its summary line.
  sim(args) {
    const p = spawnSync(BIN, ['sim', ...args], { encoding: 'utf8', timeout: 60000, env: sanitizerEnv() });
    const line = p.stdout.trim().split('\n').pop();
    if (p.status !== 0) throw new Error(`benchside sim failed (${p.status}): ${p.stdout}\n${p.stderr}`);
    return JSON.parse(line);
  }
}

// What a test file's tests share: a server (with the extra arguments) and the
// browser, started before the first test and stopped after the last; both
// are in the returned object once the tests run.
export function shared(extra = []) {
  const env = {};
  before(async () => {
    env.srv = await new Server(extra).start();
    env.chrome = await browser();
    console.log(`# screenshots in ${OUT}`);
  });
  after(async () => {
    await env.chrome?.close();
    await env.srv?.stop();
  });
  return env;
}

export async function browser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
  });
}

// A new page at 1280 x 800 (or the size given) on the server.
export async function page(b, server, size = { width: 1280, height: 800 }) {
  const ctx = await b.newContext({ viewport: size, baseURL: server.base });
  const p = await ctx.newPage();
  p.setDefaultTimeout(20000);
  await p.goto('/');
  return p;
}

export async function signIn(p, user, password = PASSWORDS[user]) {
  await p.getByLabel('Username').fill(user);
  await p.getByLabel('Password').fill(password);
  await p.getByRole('button', { name: 'Sign in' }).click();
}

export async function shot(p, name) {
  const file = join(OUT, name + '.png');
  await p.screenshot({ path: file, fullPage: false });
  return file;
}

export function readShot(file) {
  return readFileSync(file);
}

// Text on the page whose contrast with its background is below WCAG AA
// (4.5:1; 3:1 for large text: 24 px, or 18.66 px bold). The background is the
// first opaque one up the tree; text over images is not judged.
export function contrastProblems(p) {
  return p.evaluate(() => {
    const rgb = (s) => (s.match(/[\d.]+/g) ?? []).map(Number);
    const lum = ([r, g, b]) => {
      const f = (c) => {
        const x = c / 255;
        return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4;
      };
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const background = (el) => {
      for (let e = el; e; e = e.parentElement) {
        const c = rgb(getComputedStyle(e).backgroundColor);
        if (c.length === 3 || (c.length === 4 && c[3] > 0.9)) return c.slice(0, 3);
      }
      return [255, 255, 255];
    };
    const out = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const el = n.parentElement;
      if (!n.textContent.trim() || !el.offsetParent && getComputedStyle(el).position !== 'fixed') continue;
      const st = getComputedStyle(el);
      if (st.visibility === 'hidden' || el.closest('[hidden]')) continue;
      const fg = rgb(st.color).slice(0, 3);
      const bg = background(el);
      const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
      const ratio = (a + 0.05) / (b + 0.05);
      const size = parseFloat(st.fontSize);
      const large = size >= 24 || (size >= 18.66 && Number(st.fontWeight) >= 700);
      if (ratio < (large ? 3 : 4.5)) out.push(`${n.textContent.trim().slice(0, 40)}: ${ratio.toFixed(2)}`);
    }
    return out;
  });
}
