// The worklist: specimens and their tests by stage, STAT first, late ones in
// red with how late; filters by priority, specimen type, instrument and test.
// Refreshed by live events (GET /api/v1/worklist).

import { get, query } from '../api.js';
import { badge, describe, field, flagBadge, h, input, minutes, priorityBadge, select, table, time } from '../ui.js';

const STAGES = [
  ['to-collect', 'To collect'], ['to-receive', 'To receive'], ['in-progress', 'In progress'],
  ['to-review', 'To review'], ['released', 'Released (24 h)'],
];

let view = null;

async function load(background = false) {
  const v = view;
  if (!v) return;
  const f = Object.fromEntries(new FormData(v.filters).entries());
  let data;
  try {
    data = await get('/api/v1/worklist' + query({ stage: v.stage, ...f }), { background });
  } catch (e) {
    v.status.textContent = describe(e);
    v.status.className = 'notice error';
    return;
  }
  if (view !== v) return;
  v.status.textContent = '';
  v.status.className = 'notice';
  for (const [id, tab] of v.tabs) {
    tab.querySelector('.count').textContent = data.counts[id] ?? 0;
    tab.setAttribute('aria-pressed', String(id === v.stage));
  }
  const rows = data.items.map((s) => {
    const late = s.minutes_late > 0;
    return h('tr' + (late ? '.late' : ''),
      h('td', priorityBadge(s.priority)),
      h('td', h('a', { href: '#/specimen?acc=' + s.accession }, s.accession)),
      h('td', s.patient.name, h('br'), h('span.muted', s.patient.mrn)),
      h('td', s.specimen_type, h('br'), h('span.muted', s.container)),
      h('td', h('ul.chips', s.tests.map((t) => h('li', { title: `${t.name}: ${t.status}` },
        t.status === 'released' && t.result_id && v.can('results.release')
          ? h('a', { href: '#/review?correct=' + encodeURIComponent(t.result_id), title: `Correct ${t.code}` }, t.code)
          : t.code,
        ' ', flagBadge(t.flag), t.status === 'resulted' ? badge('review') : null)))),
      h('td', time(s.received_at ?? s.collected_at)),
      h('td', late ? h('strong.late-text', `Late by ${minutes(s.minutes_late)}`)
        : s.due_at ? 'due ' + time(s.due_at) : ''));
  });
  const stageName = STAGES.find(([id]) => id === v.stage)[1];
  v.list.replaceChildren(rows.length
    ? table(`${stageName}: ${data.items.length} specimen${data.items.length === 1 ? '' : 's'}`,
      ['Priority', 'Accession', 'Patient', 'Specimen', 'Tests', 'Received', 'Turnaround'], rows)
    : h('p.empty', `Nothing ${stageName.toLowerCase()}.`));
}

export default {
  id: 'worklist',
  title: 'Worklist',
  perm: 'patients.read',

  async mount(root, ctx) {
    const stage = STAGES.some(([id]) => id === ctx.params.get('stage')) ? ctx.params.get('stage') : 'in-progress';
    const filters = h('form.filters', { 'aria-label': 'Filters' },
      field('Priority', select('priority', [['', 'Any'], ['stat', 'STAT'], ['asap', 'ASAP'], ['routine', 'Routine']])),
      field('Specimen type', select('specimen_type', [['', 'Any'], 'serum', 'plasma', 'whole blood', 'urine'])),
      field('Instrument', input('instrument', { placeholder: 'e.g. CHEM-1', size: 12 })),
      field('Test', input('test', { placeholder: 'e.g. GLU', size: 8 })));
    filters.addEventListener('change', () => load());
    filters.addEventListener('submit', (e) => { e.preventDefault(); load(); });
    const tabs = new Map(STAGES.map(([id, name]) => [id, h('button.tab', {
      type: 'button', 'aria-pressed': String(id === stage),
      onclick: () => { view.stage = id; load(); },
    }, name, ' ', h('span.count', '…'))]));
    view = { stage, filters, tabs, can: ctx.can, status: h('p.notice', { role: 'status' }), list: h('div') };
    root.append(h('h1', 'Worklist'), h('div.tabs', { role: 'group', 'aria-label': 'Stage' }, [...tabs.values()]),
      filters, view.status, view.list);
    await load();
  },

  onEvent(kind) {
    if (kind.startsWith('result.') || kind.startsWith('specimen.') || kind === 'reset') {
      clearTimeout(view?.timer);
      if (view) view.timer = setTimeout(() => load(true), 300);
    }
  },

  unmount() {
    clearTimeout(view?.timer);
    view = null;
  },
};
