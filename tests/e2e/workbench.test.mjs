// End-to-end tests of the web workbench (src/web/) in Debian's chromium:
// sign-in; a specimen received by typing its barcode and Enter; the analyzer
// simulator's results appearing without a reload; the critical-value banner
// staying until the call is documented, then a release signed with the
// password; the QC chart; the interfaces page with a connection open now;
// and the messages for a wrong password, an expired
// session and a refusal (403). Each test saves a screenshot.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';

import { OUT, Server, browser, contrastProblems, page, shot, signIn } from './harness.mjs';

let srv;
let chrome;

before(async () => {
  srv = await new Server(['--heartbeat-seconds', '2']).start();
  chrome = await browser();
  console.log(`# screenshots in ${OUT}`);
});

after(async () => {
  await chrome?.close();
  await srv?.stop();
});

// The demo order not yet collected: two specimens (serum for TSH, whole blood for the CBC).
async function pendingSpecimens() {
  const wl = await srv.api('tech', 'GET', '/api/v1/worklist?stage=to-collect');
  return wl.items;
}

test('sign in: the worklist, STAT first, with the role\'s pages', async () => {
  const p = await page(chrome, srv);
  await signIn(p, 'tech');
  await p.getByRole('heading', { name: 'Worklist' }).waitFor();
  assert.match(await p.locator('#who').textContent(), /Demo Medical Technologist \(technician\)/);
  const nav = await p.locator('#nav a').allTextContents();
  assert.deepEqual(nav, ['Worklist', 'Scan to receive', 'Specimen', 'Review and release', 'QC', 'Interfaces',
    'Equipment', 'Supplies', 'People']);
  // the technician has no audit page
  assert.ok(!nav.includes('Audit'));
  await p.getByRole('button', { name: /To review/ }).click();
  const first = p.getByRole('table', { name: /^To review/ }).locator('tbody tr').first();
  await first.waitFor();
  assert.match(await first.textContent(), /STAT/);
  assert.match(await p.locator('#idle').textContent(), /Idle sign-out in 1[45]:\d\d/);
  await p.locator('#live.on').waitFor();
  await p.getByRole('button', { name: /In progress/ }).click();
  await p.getByRole('table', { name: /^In progress/ }).locator('tbody tr').first().waitFor();
  await shot(p, 'worklist');
  await p.context().close();
});

test('wrong password: a clear message, and no session', async () => {
  const p = await page(chrome, srv);
  await signIn(p, 'tech', 'not-the-password');
  const msg = p.locator('#signin-error');
  await msg.getByText('Wrong username or password').waitFor();
  assert.equal(await p.locator('#page').isHidden(), true);
  await shot(p, 'wrong-password');
  await p.context().close();
});

test('scan to receive, then the analyzer\'s results arrive without a reload', async () => {
  const blood = (await pendingSpecimens()).find((s) => s.specimen_type === 'whole blood');
  assert.ok(blood, 'the demo has a CBC specimen to collect');
  await srv.api('tech', 'POST', `/api/v1/specimens/${blood.accession}/events`, { event: 'collected' });

  const p = await page(chrome, srv);
  await signIn(p, 'tech');
  await p.getByRole('link', { name: 'Scan to receive' }).click();
  const scan = p.getByLabel('Accession number');
  await scan.waitFor();
  assert.equal(await scan.evaluate((el) => el === document.activeElement), true, 'the scan field has the focus');
  // a mistyped barcode: the check digit says so, loudly
  const wrong = blood.accession.slice(0, 11) + String((Number(blood.accession[11]) + 1) % 10);
  await p.keyboard.type(wrong);
  await p.keyboard.press('Enter');
  await p.locator('.scan-result.bad').getByText('Wrong accession number').waitFor();
  // the scanner types the digits and Enter
  await p.keyboard.type(blood.accession);
  await p.keyboard.press('Enter');
  await p.locator('.scan-result.good').getByText(`Received ${blood.accession}`).waitFor();
  assert.match(await p.locator('.scan-result').textContent(), /HGB/);
  assert.equal(await scan.evaluate((el) => el === document.activeElement), true);
  // again: already received
  await p.keyboard.type(blood.accession);
  await p.keyboard.press('Enter');
  await p.locator('.scan-result.bad').getByText('Already received').waitFor();
  await shot(p, 'scan-to-receive');

  // the worklist, left open: the results come over the live events
  await p.getByRole('link', { name: 'Worklist' }).click();
  await p.getByRole('button', { name: /In progress/ }).click();
  await p.getByRole('link', { name: blood.accession }).waitFor();
  await p.evaluate(() => { window.notReloaded = true; });
  const summary = srv.sim(['--protocol', 'hl7', '--connect', `127.0.0.1:${srv.mllp}`,
    '--specimen', blood.accession, '--seed', '7']);
  assert.equal(summary.results_sent, 9);
  // gone from "in progress" by itself
  await p.getByRole('link', { name: blood.accession }).waitFor({ state: 'detached' });
  await p.getByRole('button', { name: /Released/ }).click();
  await p.getByRole('link', { name: blood.accession }).waitFor();
  assert.equal(await p.evaluate(() => window.notReloaded), true, 'the page was not reloaded');
  await shot(p, 'results-arrived');
  await p.context().close();
});

test('a critical value\'s banner stays until its call is documented; release with the signature', async () => {
  const p = await page(chrome, srv);
  await signIn(p, 'tech');
  const banner = p.locator('#banner');
  await banner.getByText(/critical value/).waitFor();
  assert.match(await banner.textContent(), /Potassium 6\.8 mmol\/L \(HH\)/);
  // moving around does not clear it
  await p.getByRole('link', { name: 'QC' }).click();
  await p.getByRole('heading', { name: 'Quality control' }).waitFor();
  assert.equal(await banner.isVisible(), true);

  await banner.getByRole('link', { name: 'Document the call' }).click();
  await p.getByRole('heading', { name: 'Review and release' }).waitFor();
  const krow = p.locator('table.review tbody tr[data-id]', { hasText: 'Potassium' });
  await krow.waitFor();
  assert.equal(await krow.getAttribute('class'), 'critical');
  assert.match(await krow.textContent(), /the call to the clinician is not documented yet/);
  await shot(p, 'review');

  // release refused while the call is missing: the gate's reason is shown
  await krow.getByRole('button', { name: 'Release' }).click();
  await p.getByLabel('Your password (electronic signature)').first().fill('demo-tech-pass');
  await p.getByRole('button', { name: /Release 1 selected/ }).click();
  await p.getByText(/Nothing was released: the gate holds 1/).waitFor();
  assert.equal(await banner.isVisible(), true);

  // the call form (opened from the banner's link): read back is required
  const call = p.locator('form.call-form');
  await call.getByLabel('Given to (name and role)').fill('RN J. Doe, ward 4');
  await call.getByRole('button', { name: 'Document the call' }).click();
  await call.locator('.field-error').getByText(/must be read back/).waitFor();
  await call.getByLabel('The value was read back').check();
  await call.getByRole('button', { name: 'Document the call' }).click();
  await banner.waitFor({ state: 'hidden' });

  // wrong signature: the error sits next to the password field
  await krow.getByRole('button', { name: 'Release' }).click();
  const pw = p.locator('form.release').getByLabel('Your password (electronic signature)');
  await pw.fill('wrong-password-1');
  await p.getByRole('button', { name: /Release 1 selected/ }).click();
  await p.locator('form.release .field-error').getByText(/password/i).waitFor();
  assert.equal(await pw.getAttribute('aria-invalid'), 'true');
  await pw.fill('demo-tech-pass');
  await p.getByRole('button', { name: /Release 1 selected/ }).click();
  await p.getByText(/Released 1 result, signed by Demo Medical Technologist/).waitFor();
  await krow.waitFor({ state: 'detached' });
  await p.context().close();
});

test('QC: the Levey-Jennings chart renders, with the lockout a rejection opens', async () => {
  const m = await srv.api('supervisor', 'POST', '/api/v1/qc/materials', {
    name: 'Chemistry control', manufacturer: 'Acme Diagnostics', lot: 'E2E-' + Date.now(),
    level: '2', expires: '2099-12-31', targets: [{ test: 'GLU', instrument: 'CHEM-1', mean: 100, sd: 2 }],
  });
  const values = [100.5, 98.9, 101.2, 99.4, 102.1, 100.2, 97.8, 100.9, 99.7, 101.6, 108.4];
  for (const [i, value] of values.entries()) {
    const at = new Date(Date.now() - (values.length - i) * 3600e3).toISOString();
    await srv.api('supervisor', 'POST', '/api/v1/qc/results',
      { material_id: m.id, test: 'GLU', instrument: 'CHEM-1', value, at, run: 'R' + i });
  }
  const p = await page(chrome, srv);
  await signIn(p, 'supervisor');
  await p.getByRole('link', { name: 'QC' }).click();
  await p.getByLabel('Test').fill('GLU');
  await p.getByLabel('Instrument').fill('CHEM-1');
  await p.getByRole('button', { name: 'Show' }).click();
  const img = p.getByRole('img', { name: /Levey-Jennings chart of GLU on CHEM-1/ });
  await img.waitFor();
  await p.waitForFunction(() => document.querySelector('img.chart')?.naturalWidth > 0);
  assert.ok(await img.evaluate((el) => el.naturalWidth > 200));
  await shot(p, 'qc-chart');
  await p.getByRole('heading', { name: /Locked out since/ }).waitFor();
  assert.match(await p.locator('.lockout').textContent(), /1-3s/);
  assert.match(await p.locator('table').textContent(), /rejected/);
  // the corrective action needs a passing run first: the server says so
  await p.getByLabel('Corrective action taken').fill('Recalibrated glucose');
  await p.getByLabel('Your password (signature)').fill('demo-supervisor-pass');
  await p.getByRole('button', { name: 'Close the lockout' }).click();
  await p.getByText(/no QC run has passed since the failure/i).waitFor();
  await shot(p, 'qc-lockout');
  await p.context().close();
});

test('interfaces: the node listens, and a connection open now is told with what it sent', async () => {
  const sock = connect(srv.mllp, '127.0.0.1');
  await once(sock, 'connect');
  const peer = `127.0.0.1:${sock.localPort}`;
  const p = await page(chrome, srv);
  await signIn(p, 'tech');
  await p.getByRole('heading', { name: 'Worklist' }).waitFor();
  await p.getByRole('link', { name: 'Interfaces' }).click();
  await p.getByRole('heading', { name: 'Interfaces', level: 1 }).waitFor();
  await p.getByText(`listening for HL7 over MLLP on port ${srv.mllp} and ASTM over TCP on port ${srv.astm}`).waitFor();
  const row = p.getByRole('table', { name: /Connections open now/ }).locator('tr', { hasText: peer });
  assert.match(await row.textContent(), /HL7 over mllp.*not recognised yet.*none yet/);
  await shot(p, 'interfaces');
  sock.destroy();
  await p.context().close();
});

test('403: a page and an action the role may not use say so', async () => {
  await srv.api('admin', 'POST', '/api/v1/users',
    { username: 'e2e-tech', password: 'e2e-tech-password-1', role: 'technician', display_name: 'E2E Tech' });
  const p = await page(chrome, srv);
  await signIn(p, 'e2e-tech', 'e2e-tech-password-1');
  await p.getByRole('heading', { name: 'Worklist' }).waitFor();
  // a page outside the role: refused before any request
  await p.goto('/#/audit');
  await p.getByText('Your role (technician) may not use this page: it needs the permission audit.read.').waitFor();
  // the role changes while signed in: the server refuses, and the page says why
  const users = await srv.api('admin', 'GET', '/api/v1/users?limit=200');
  const u = users.items.find((x) => x.username === 'e2e-tech');
  await srv.api('admin', 'PATCH', '/api/v1/users/' + u.id, { role: 'clinician' });
  await p.getByRole('link', { name: 'Review and release' }).click();
  await p.getByText(/Not allowed: your role \(clinician\) may not do this: it needs the permission results\.release/).waitFor();
  await shot(p, 'forbidden');
  await p.context().close();
});

test('an expired session says so and asks to sign in again', async () => {
  const short = await new Server(['--session-idle-seconds', '3', '--heartbeat-seconds', '1']).start();
  try {
    const p = await page(chrome, short);
    await signIn(p, 'tech');
    await p.getByRole('heading', { name: 'Worklist' }).waitFor();
    // nothing done: the live stream and the idle countdown see the end
    await p.getByText(/Your session expired after 0 minutes without activity|Your session expired after \d+ minutes? without activity/).waitFor({ timeout: 20000 });
    assert.equal(await p.getByLabel('Username').isVisible(), true);
    await shot(p, 'session-expired');
    // signing in again goes on
    await signIn(p, 'tech');
    await p.getByRole('heading', { name: 'Worklist' }).waitFor();
    await p.context().close();
  } finally {
    await short.stop();
  }
});

test('on a tablet (768 x 1024) the worklist and the scan field fit', async () => {
  const p = await page(chrome, srv, { width: 768, height: 1024 });
  await signIn(p, 'tech');
  await p.getByRole('heading', { name: 'Worklist' }).waitFor();
  const wide = await p.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(wide <= 800, `the page is ${wide} px wide`);
  await p.getByRole('link', { name: 'Scan to receive' }).click();
  const box = await p.getByLabel('Accession number').boundingBox();
  assert.ok(box.height >= 44, 'a gloved finger can hit the field');
  await shot(p, 'tablet');
  await p.context().close();
});

test('keyboard alone, and every text at WCAG AA contrast', async () => {
  const p = await page(chrome, srv);
  // the username field has the focus from the start
  await p.waitForFunction(() => document.activeElement?.id === 'username');
  await p.keyboard.type('supervisor');
  await p.keyboard.press('Tab');
  await p.keyboard.type('demo-supervisor-pass');
  await p.keyboard.press('Enter');
  await p.getByRole('heading', { name: 'Worklist' }).waitFor();
  assert.deepEqual(await contrastProblems(p), []);
  // the focus is on the page's heading once the page has loaded
  await p.waitForFunction(() => document.activeElement?.tagName === 'H1');
  assert.equal(await p.evaluate(() => document.activeElement.textContent), 'Worklist');
  // from the top of the document: the skip link, then the pages
  await p.evaluate(() => {
    document.body.tabIndex = -1;
    document.body.focus();
    document.body.removeAttribute('tabindex');
  });
  await p.keyboard.press('Tab');
  assert.equal(await p.evaluate(() => document.activeElement.textContent), 'Skip to the page');
  await p.keyboard.press('Tab');
  await p.keyboard.press('Tab');
  assert.equal(await p.evaluate(() => document.activeElement.textContent), 'Scan to receive');
  await p.keyboard.press('Enter');
  await p.getByRole('heading', { name: 'Scan to receive' }).waitFor();
  assert.equal(await p.evaluate(() => document.activeElement.id), 'scan');
  await p.keyboard.type('263250000000');
  await p.keyboard.press('Enter');
  await p.locator('.scan-result.bad').waitFor();
  assert.deepEqual(await contrastProblems(p), []);
  for (const name of ['Review and release', 'QC', 'Interfaces', 'Audit', 'Equipment', 'Supplies', 'People']) {
    await p.getByRole('link', { name }).click();
    await p.getByRole('heading', { level: 1 }).filter({ hasText: name === 'QC' ? 'Quality control' : name === 'Audit' ? 'Audit trail' : name }).waitFor();
    await p.waitForLoadState('networkidle');
    assert.deepEqual(await contrastProblems(p), [], name);
  }
  await shot(p, 'keyboard');
  await p.context().close();
});
