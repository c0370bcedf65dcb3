// End-to-end tests of the equipment, supplies and people pages (src/web/
// pages/equipment.js, supplies.js, people.js) in Debian's chromium: the
// equipment page shows
// what is due, and a temperature alert raised by an out-of-range reading
// arrives without a reload with what is stored in the unit, then is closed
// with its action and disposition (a missing one refused next to its field);
// the supplies page records a receipt (a bad quantity refused next to its
// field) and shows the new quantity on hand, the low-stock alert and the
// reorder line gone; the people page lists a procedure the technician has
// not read and a certification about to expire, and acknowledging the
// procedure with the password (a wrong one refused next to its field) takes
// it off the list. Each saves a screenshot.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { contrastProblems, page, shared, shot, signIn } from './harness.mjs';

const env = shared(['--heartbeat-seconds', '2']);

// A specimen of a new patient, received and stored in unit: its accession.
async function storedSpecimen(unit) {
  const p = await env.srv.api('tech', 'POST', '/api/v1/patients', {
    mrn: 'E2E-' + Date.now(), family: 'Okafor', given: 'Ada', birth_date: '1961-04-12', sex: 'female',
  });
  const o = await env.srv.api('tech', 'POST', '/api/v1/orders', {
    patient_id: p.id, tests: ['GLU'], priority: 'routine', clinician: 'Dr. Rivera', reasons: ['E11.9'],
  });
  const acc = o.specimens[0].accession;
  for (const ev of [{ event: 'collected' }, { event: 'received' },
    { event: 'stored', location: unit, rack: 'R4', position: 'C2', temperature: 'refrigerated' }]) {
    await env.srv.api('tech', 'POST', `/api/v1/specimens/${acc}/events`, ev);
  }
  return acc;
}

test('equipment: the due list, and a temperature alert arriving live with what is stored', async () => {
  const acc = await storedSpecimen('FRIDGE-1');
  const p = await page(env.chrome, env.srv);
  await signIn(p, 'tech');
  await p.getByRole('heading', { name: 'Worklist' }).waitFor();
  await p.getByRole('link', { name: 'Equipment' }).click();
  await p.getByRole('heading', { name: 'Equipment', level: 1 }).waitFor();
  // the demo's defibrillator has its daily check due, safety-critical
  const due = p.getByRole('table', { name: /due within 7 days/ });
  const defib = due.locator('tr', { hasText: 'BME-01020' });
  await defib.waitFor();
  assert.match(await defib.textContent(), /defib-daily.*safety-critical.*due/);
  await p.getByText('No open temperature alert').waitFor();
  await p.locator('#live.on').waitFor();

  // a reading of 11.2 °C in FRIDGE-1 (2 to 8 °C), posted beside the browser
  await p.evaluate(() => { window.notReloaded = true; });
  const rec = await env.srv.api('tech', 'POST', '/api/v1/storage-units/FRIDGE-1/readings', { celsius: 11.2 });
  assert.equal(rec.alert_opened, true);
  await p.locator('#toasts').getByText('Temperature alert: FRIDGE-1 is outside its limits.').waitFor();
  const box = p.locator('article.device-alert', { hasText: 'FRIDGE-1' });
  await box.getByRole('heading', { name: /FRIDGE-1 \(refrigerator\) out of range since/ }).waitFor();
  assert.match(await box.textContent(), /Limits 2 to 8 °C; furthest reading 11\.2 °C/);
  // what was in the unit: the specimen just stored there and the demo's lots
  const specimens = box.getByRole('table', { name: '1 specimen stored there' });
  assert.match(await specimens.textContent(), new RegExp(`${acc}.*GLU.*R4, C2`));
  const lots = box.getByRole('table', { name: /lots of supplies stored there/ });
  assert.match(await lots.textContent(), /CTRL-CHEM.*LQ-26051.*12 mL/);
  assert.match(await lots.textContent(), /GLU-HK.*GLU-2407/);
  assert.equal(await p.evaluate(() => window.notReloaded), true, 'the page was not reloaded');
  // the note at the top, the alert and its tables at WCAG AA contrast
  assert.deepEqual(await contrastProblems(p), []);
  await shot(p, 'equipment-alert');

  // closing it needs the disposition: said next to that field
  await box.getByLabel('Action taken').fill('Door found ajar; closed, temperature back to 5 °C in 20 min');
  await box.getByRole('button', { name: 'Close the alert' }).click();
  const disp = box.getByLabel('Disposition of what was stored');
  await box.locator('.field-error').getByText(/'disposition' must not be empty/).waitFor();
  assert.equal(await disp.getAttribute('aria-invalid'), 'true');
  await disp.fill(`Specimen ${acc} and the reagents moved to FREEZER-1 pending review`);
  await box.getByRole('button', { name: 'Close the alert' }).click();
  await p.getByText('The alert of FRIDGE-1 is closed.').waitFor();
  await p.getByText('No open temperature alert').waitFor();
  const closed = p.getByRole('table', { name: 'Recently closed' });
  assert.match(await closed.textContent(), /FRIDGE-1.*by tech.*Door found ajar/);
  await p.context().close();
});

test('supplies: a receipt recorded shows the new quantity on hand', async () => {
  const p = await page(env.chrome, env.srv);
  await signIn(p, 'tech');
  await p.getByRole('heading', { name: 'Worklist' }).waitFor();
  await p.getByRole('link', { name: 'Supplies' }).click();
  await p.getByRole('heading', { name: 'Supplies', level: 1 }).waitFor();
  // the demo's gloves: 4 boxes, below the reorder point of 10
  const gloves = p.locator('tr[data-lot="GLOVE-M/GL-0925"]');
  await gloves.waitFor();
  assert.match(await gloves.locator('.on-hand').textContent(), /^4 box$/);
  await p.getByText(/GLOVE-M: 4 box usable on hand, at or below the reorder point of 10/).waitFor();
  assert.match(await p.getByRole('table', { name: 'To order from Medline' }).textContent(), /GLOVE-M.*20 box/);

  const f = p.getByRole('form', { name: 'Record a movement' });
  await f.getByLabel('Movement').selectOption('receive');
  // fields of other kinds are not offered
  assert.equal(await f.getByLabel('Counted').isVisible(), false);
  assert.equal(await f.getByLabel('From').isVisible(), false);
  await f.getByLabel('Item').selectOption('GLOVE-M');
  await f.getByLabel('Lot').fill('GL-0925');
  await f.getByLabel('Quantity').fill('0');
  await f.getByLabel('Storage unit').selectOption('STORE-1');
  await f.getByRole('button', { name: 'Record the movement' }).click();
  const qty = f.getByLabel('Quantity');
  await f.locator('.field-error').getByText(/quantity/i).waitFor();
  assert.equal(await qty.getAttribute('aria-invalid'), 'true');
  await qty.fill('20');
  await f.getByRole('button', { name: 'Record the movement' }).click();
  await p.getByText('Recorded: receive of GLOVE-M lot GL-0925; now 24 box on hand (STORE-1 24).').waitFor();
  await gloves.locator('.on-hand').getByText('24 box').waitFor();
  assert.match(await gloves.textContent(), /STORE-1: 24/);
  // above its reorder point now: no alert, nothing to order
  await p.getByText('Nothing to order: every item is above its reorder point.').waitFor();
  assert.equal(await p.getByText(/GLOVE-M: \d+ box usable on hand/).count(), 0);
  await gloves.scrollIntoViewIfNeeded();
  await shot(p, 'supplies-receipt');
  await p.context().close();
});

test('people: an unread procedure, acknowledged, leaves the list; a certification due', async () => {
  const code = 'SOP-E2E-' + Date.now().toString(36).toUpperCase();
  // The demo's own procedures, read first, so that the list holds this one only.
  for (const demoDoc of ['SOP-CHEM-001', 'SOP-HEME-001']) {
    await env.srv.api('tech', 'POST', `/api/v1/care/documents/${demoDoc}/acknowledge`,
      { password: 'demo-tech-pass' });
  }
  await env.srv.api('tech', 'POST', '/api/v1/care/documents', {
    code, title: 'Glucose on the AU680', text: '1. Check that QC passed before the run.\n2. Load the racks.',
  });
  const today = new Date().toISOString().slice(0, 10);
  await env.srv.api('supervisor', 'POST', `/api/v1/care/documents/${code}/versions/1/approve`,
    { effective_on: today, password: 'demo-supervisor-pass' });
  const soon = new Date(Date.now() + 12 * 86400e3).toISOString().slice(0, 10);
  await env.srv.api('supervisor', 'POST', '/api/v1/care/certifications', {
    user: 'tech', kind: 'BLS', number: 'BLS-E2E-1', issuer: 'American Heart Association',
    issued_on: '2024-12-01', expires_on: soon,
  });

  const p = await page(env.chrome, env.srv);
  await signIn(p, 'tech');
  await p.getByRole('heading', { name: 'Worklist' }).waitFor();
  await p.getByRole('link', { name: 'People' }).click();
  await p.getByRole('heading', { name: 'People', level: 1 }).waitFor();
  const doc = p.locator(`article.procedure[data-code="${code}"]`);
  await doc.getByRole('heading', { name: `${code}: Glucose on the AU680` }).waitFor();
  assert.match(await doc.textContent(), /Version 1, in force since .* approved by supervisor/);
  await doc.getByText('Read the procedure').click();
  await doc.getByText('1. Check that QC passed before the run.').waitFor();
  const certs = p.getByRole('table', { name: /Certifications expired or expiring within 30 days/ });
  assert.match(await certs.locator('tr', { hasText: 'BLS' }).textContent(), /tech\s*you\s*BLS.*in 12 days/);
  assert.match(await p.getByRole('table', { name: 'Your competency today' }).textContent(), /CHEM-1.*competent/);
  await shot(p, 'people');

  const pw = doc.getByLabel('Your password (signature)');
  await pw.fill('not-my-password');
  await doc.getByRole('button', { name: 'I have read and understood it' }).click();
  await doc.locator('.field-error').getByText(/password/i).waitFor();
  assert.equal(await pw.getAttribute('aria-invalid'), 'true');
  await pw.fill('demo-tech-pass');
  await doc.getByRole('button', { name: 'I have read and understood it' }).click();
  await p.getByText(`${code} version 1: your reading is recorded.`).waitFor();
  await doc.waitFor({ state: 'detached' });
  await p.getByText('You have read every procedure in force.').waitFor();
  const read = await env.srv.api('supervisor', 'GET', `/api/v1/care/documents/${code}`);
  assert.deepEqual(read.not_read.includes('tech'), false);
  assert.deepEqual(await contrastProblems(p), []);
  await p.context().close();
});
