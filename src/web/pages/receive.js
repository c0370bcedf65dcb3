// Scan to receive: one field always focused that takes a barcode scanner's
// keystrokes ending with Enter, receives the specimen in the laboratory and
// shows its tests, or the problem loudly: a wrong check digit, a specimen not
// collected or received already, or one collected longer ago than its tests
// are stable.

import { ApiError, get, post } from '../api.js';
import { describe, h, minutes, priorityBadge, time } from '../ui.js';

const catalog = new Map(); // code -> catalog test, as read
let view = null;

async function stabilityProblems(spec) {
  if (!spec.collected_at) return [];
  const hours = (Date.now() - new Date(spec.collected_at)) / 3600000;
  const out = [];
  for (const t of spec.tests) {
    if (!catalog.has(t.code)) {
      try {
        catalog.set(t.code, await get('/api/v1/catalog/tests/' + encodeURIComponent(t.code), { background: true }));
      } catch {
        catalog.set(t.code, null);
      }
    }
    const room = catalog.get(t.code)?.stability_hours?.room;
    if (room && hours > room) out.push(`${t.code} is stable ${room} h at room temperature; collected ${minutes(Math.round(hours * 60))} ago`);
  }
  return out;
}

function show(kind, title, body) {
  view.result.className = 'scan-result ' + kind;
  view.result.replaceChildren(h('h2', title), ...body.filter(Boolean));
}

async function receive(acc) {
  view.log.prepend(h('li', `${new Date().toLocaleTimeString()} ${acc}`));
  let spec;
  try {
    spec = await post(`/api/v1/specimens/${encodeURIComponent(acc)}/events`, { event: 'received' });
  } catch (e) {
    let title = 'Not received';
    let detail = describe(e);
    if (e instanceof ApiError && e.field === 'accession' && e.status === 400) {
      title = 'Wrong accession number';
      detail += '. Check the label: the last digit is a check digit.';
    } else if (e instanceof ApiError && e.status === 404) {
      title = 'Unknown specimen';
    } else if (e instanceof ApiError && e.field === 'event') {
      try {
        const s = await get('/api/v1/specimens/' + encodeURIComponent(acc));
        if (s.received_at) {
          title = 'Already received';
          detail = `Specimen ${acc} was received at ${time(s.received_at)}; it is ${s.status}.`;
        } else if (s.status === 'pending') {
          title = 'Not collected yet';
          detail = `Specimen ${acc} has no collection recorded: record it first.`;
        }
      } catch { /* keep the API's message */ }
    }
    show('bad', title, [h('p', detail)]);
    return;
  }
  const problems = await stabilityProblems(spec);
  show(problems.length ? 'warn' : 'good',
    problems.length ? `Received ${spec.accession}: stability exceeded` : `Received ${spec.accession}`, [
      h('p', priorityBadge(spec.priority), ` ${spec.specimen_type}, ${spec.container}`),
      problems.length ? h('ul.problems', problems.map((p) => h('li', p))) : null,
      h('ul.chips', spec.tests.map((t) => h('li', { title: t.name }, t.code))),
      h('p', h('a', { href: '#/specimen?acc=' + spec.accession }, 'Open the specimen')),
    ]);
}

export default {
  id: 'receive',
  title: 'Scan to receive',
  perm: 'specimens.handle',

  async mount(root) {
    const scan = h('input.scan', {
      id: 'scan', name: 'accession', autocomplete: 'off', inputmode: 'numeric',
      'aria-describedby': 'scan-hint', spellcheck: 'false',
    });
    const formEl = h('form.scan-form', { novalidate: true },
      h('label', { for: 'scan' }, 'Accession number'), scan,
      h('p.hint', { id: 'scan-hint' }, 'Scan the label or type the 12 digits, then Enter.'));
    view = {
      scan,
      result: h('div.scan-result', { role: 'alert', 'aria-live': 'assertive' }),
      log: h('ol.scan-log', { 'aria-label': 'Scanned in this session' }),
    };
    formEl.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const acc = scan.value.replace(/\s+/g, '');
      scan.value = '';
      if (acc) await receive(acc);
      scan.focus();
    });
    // Keep the scanner's field focused: a scan must never go elsewhere.
    view.refocus = (ev) => {
      if (!ev.target.closest('a, button, input, select, textarea')) scan.focus();
    };
    root.addEventListener('click', view.refocus);
    root.append(h('h1', 'Scan to receive'), formEl, view.result,
      h('h2.small', 'Scanned here'), view.log);
    scan.focus();
  },

  unmount() {
    view = null;
  },
};
