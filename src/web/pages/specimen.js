// A specimen: its tests, its chain of custody as a timeline, its label (ZPL
// for the printer, or a PDF), and rejection with a reason (which cancels its
// open tests and makes a recollection).

import { get, post } from '../api.js';
import { describe, field, form, h, input, priorityBadge, say, select, time } from '../ui.js';

const REASONS = ['hemolyzed', 'clotted', 'insufficient-volume', 'unlabelled', 'mislabelled',
  'wrong-container', 'stability-exceeded'];

let view = null;

function timeline(events) {
  return h('ol.timeline', { 'aria-label': 'Chain of custody' }, events.map((e) => h('li',
    h('time', { datetime: e.at }, time(e.at)), ' ',
    h('strong', e.event), ` by ${e.by}`, e.location ? ` at ${e.location}` : '',
    Object.keys(e.detail ?? {}).length
      ? h('span.muted', ' (' + Object.entries(e.detail).map(([k, v]) => `${k}: ${v}`).join(', ') + ')')
      : null)));
}

async function show(acc, ctx) {
  const out = view.out;
  out.replaceChildren();
  let s;
  try {
    s = await get('/api/v1/specimens/' + encodeURIComponent(acc));
  } catch (e) {
    out.append(h('p.notice.error', { role: 'alert' }, describe(e)));
    return;
  }
  if (view?.out !== out) return;
  const label = (fmt) => `/api/v1/specimens/${encodeURIComponent(s.accession)}/label?format=${fmt}`;
  const status = h('p.notice', { role: 'status' });
  const parts = [
    h('h2', `Specimen ${s.accession} `, priorityBadge(s.priority)),
    h('dl.facts',
      h('dt', 'Status'), h('dd', s.status + (s.rejection_reason ? ` (${s.rejection_reason})` : '')),
      h('dt', 'Type'), h('dd', `${s.specimen_type}, ${s.container}`),
      h('dt', 'Collected'), h('dd', time(s.collected_at) || 'not yet'),
      h('dt', 'Received'), h('dd', time(s.received_at) || 'not yet'),
      s.storage ? [h('dt', 'Stored'), h('dd', s.storage)] : null),
    h('h3', 'Tests'),
    h('ul.chips', s.tests.map((t) => h('li', { title: t.name }, `${t.code} · ${t.status}`))),
    h('h3', 'Label'),
    h('p.actions',
      h('a.button', { href: label('zpl'), download: `${s.accession}.zpl` }, 'Download ZPL (printer)'), ' ',
      h('a.button', { href: label('pdf'), target: '_blank', rel: 'noopener' }, 'Open the PDF label')),
    h('h3', 'Chain of custody'), timeline(s.events),
  ];
  if (ctx.can('specimens.handle') && ['collected', 'received', 'in-process', 'stored'].includes(s.status)) {
    parts.push(h('h3', 'Reject'), form({ class: 'inline', 'aria-label': 'Reject the specimen' }, [
      field('Reason', select('reason', REASONS)),
      field('Note', input('note', { maxlength: 256 })),
      h('button.danger', { type: 'submit' }, 'Reject and order a recollection'),
    ], async (v) => {
      const r = await post(`/api/v1/specimens/${encodeURIComponent(s.accession)}/reject`,
        { reason: v.reason, ...(v.note ? { note: v.note } : {}) });
      await show(s.accession, ctx);
      say(view.out.querySelector('.notice') ?? status,
        `Rejected. Recollection specimen: ${r.recollection?.accession ?? 'created'}.`);
    }));
  }
  out.append(status, ...parts);
}

export default {
  id: 'specimen',
  title: 'Specimen',
  perm: 'patients.read',

  async mount(root, ctx) {
    view = { out: h('div') };
    const acc = ctx.params.get('acc') ?? '';
    const lookup = form({ class: 'inline', 'aria-label': 'Find a specimen' }, [
      field('Accession number', input('acc', { value: acc, autocomplete: 'off', inputmode: 'numeric' })),
      h('button', { type: 'submit' }, 'Show'),
    ], async (v) => {
      const a = (v.acc ?? '').trim();
      if (a) ctx.go('#/specimen?acc=' + encodeURIComponent(a));
    });
    root.append(h('h1', 'Specimen'), lookup, view.out);
    if (acc) await show(acc, ctx);
    else lookup.querySelector('input').focus();
    view.acc = acc;
    view.ctx = ctx;
  },

  onEvent(kind, data) {
    if (!view?.acc) return;
    // Released events carry only the result's id: any may be this specimen's.
    if (data.accession === view.acc || kind === 'result.released' || kind === 'reset') {
      clearTimeout(view.timer);
      view.timer = setTimeout(() => show(view.acc, view.ctx), 300);
    }
  },

  unmount() {
    clearTimeout(view?.timer);
    view = null;
  },
};
