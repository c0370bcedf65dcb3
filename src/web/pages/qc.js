// QC: the Levey-Jennings chart (the server's SVG) of a test on an instrument,
// its recent control results with the Westgard violations, the lockout state,
// and the corrective action that closes a lockout (signed with the password).

import { get, post, query } from '../api.js';
import { badge, describe, field, form, h, input, say, svgDataUrl, table, time } from '../ui.js';

let view = null;

async function chart(test, inst) {
  const box = view.chart;
  try {
    const svg = await get('/api/v1/qc/chart' + query({ test, instrument: inst, format: 'svg' }), { background: true });
    const img = h('img.chart', {
      src: svgDataUrl(svg),
      alt: `Levey-Jennings chart of ${test}${inst ? ' on ' + inst : ''}: control values against the mean and 1, 2 and 3 SD`,
    });
    box.replaceChildren(img);
  } catch (e) {
    box.replaceChildren(h('p.notice.error', describe(e)));
  }
}

async function show(test, inst, ctx) {
  const v = view;
  v.test = test;
  v.inst = inst;
  v.body.replaceChildren(v.chart);
  if (!test) {
    v.chart.replaceChildren(h('p.empty', 'Choose a test (and its instrument) to see its chart.'));
    return;
  }
  const [results, locks] = await Promise.all([
    get('/api/v1/qc/results' + query({ test, instrument: inst }), { background: true }),
    get('/api/v1/qc/lockouts?open=true', { background: true }),
  ]);
  if (view !== v) return;
  await chart(test, inst);
  const mine = locks.items.filter((l) => l.test === test && (l.instrument ?? '') === (inst ?? ''));
  const lockBox = h('section.lockouts', { 'aria-label': 'Lockout state' });
  if (!mine.length) {
    lockBox.append(h('p.notice.ok', `No lockout: patient results of ${test}${inst ? ' on ' + inst : ''} may be released.`));
  }
  for (const l of mine) {
    lockBox.append(h('div.lockout', { role: 'alert' },
      h('h2', `Locked out since ${time(l.opened_at)}`),
      h('p', l.reason),
      h('p.muted', 'Patient results of this test on this instrument are held until a passing run and a corrective action.'),
      ctx.can('qc.manage') ? form({ class: 'stack', 'aria-label': 'Corrective action' }, [
        field('Corrective action taken', h('textarea', { name: 'corrective_action', rows: 3, maxlength: 2000, required: true })),
        field('Your password (signature)', input('password', { type: 'password', autocomplete: 'current-password', required: true })),
        h('button', { type: 'submit' }, 'Close the lockout'),
      ], async (f) => {
        const r = await post(`/api/v1/qc/lockouts/${encodeURIComponent(l.id)}/close`,
          { corrective_action: f.corrective_action ?? '', password: f.password ?? '' });
        say(v.status, `Lockout closed; ${r.released?.length ?? 0} held result(s) released.`);
        await show(test, inst, ctx);
      }) : h('p.muted', 'A supervisor closes it with the corrective action.')));
  }
  const recent = results.items.slice(-20).reverse();
  v.body.append(lockBox, recent.length ? table(`Last ${recent.length} control results`,
    ['Time', 'Lot (level)', 'Value', 'z', 'Status', 'Violations'],
    recent.map((r) => h('tr' + (r.status === 'rejected' ? '.late' : ''),
      h('td', time(r.at)), h('td', `${r.lot} (${r.level})`), h('td.value', r.value),
      h('td', r.z == null ? '' : r.z.toFixed(2)),
      h('td', badge(r.status, r.status === 'rejected' ? 'critical' : r.status === 'warning' ? 'abnormal' : null)),
      h('td', r.violations.map((x) => `${x.rule} (${x.action})`).join(', ')))))
    : h('p.empty', 'No control results yet.'));
}

export default {
  id: 'qc',
  title: 'QC',
  perm: 'qc.read',

  async mount(root, ctx) {
    view = { status: h('p.notice', { role: 'status' }), chart: h('div.chart-box'), body: h('div') };
    const [settings, locks] = await Promise.all([
      get('/api/v1/qc/settings', { background: true }).catch(() => ({ items: [] })),
      get('/api/v1/qc/lockouts?open=true', { background: true }).catch(() => ({ items: [] })),
    ]);
    const combos = [...locks.items, ...settings.items];
    const test = ctx.params.get('test') ?? combos[0]?.test ?? '';
    const inst = ctx.params.get('instrument') ?? (ctx.params.get('test') ? '' : combos[0]?.instrument ?? '');
    const tests = h('datalist', { id: 'qc-tests' }, [...new Set(combos.map((c) => c.test))].map((t) => h('option', { value: t })));
    const insts = h('datalist', { id: 'qc-insts' }, [...new Set(combos.map((c) => c.instrument).filter(Boolean))].map((t) => h('option', { value: t })));
    const pick = form({ class: 'inline', 'aria-label': 'Chart of' }, [
      field('Test', input('test', { value: test, list: 'qc-tests', size: 8, autocomplete: 'off' })),
      field('Instrument', input('instrument', { value: inst, list: 'qc-insts', size: 12, autocomplete: 'off' })),
      h('button', { type: 'submit' }, 'Show'), tests, insts,
    ], async (f) => ctx.go('#/qc' + query({ test: (f.test ?? '').trim().toUpperCase(), instrument: (f.instrument ?? '').trim() })));
    view.ctx = ctx;
    root.append(h('h1', 'Quality control'), pick, view.status, view.body);
    await show(test, inst, ctx);
  },

  onEvent(kind) {
    if (view && (kind.startsWith('qc.') || kind === 'reset')) {
      clearTimeout(view.timer);
      view.timer = setTimeout(() => show(view.test, view.inst, view.ctx).catch(() => {}), 300);
    }
  },

  unmount() {
    clearTimeout(view?.timer);
    view = null;
  },
};
