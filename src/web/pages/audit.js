// Audit (admin, supervisor): the audit trail searched by user, by patient
// (an MRN, looked up first: that look-up is itself audited) and by date.

import { ApiError, get, query } from '../api.js';
import { field, form, h, input, table, time } from '../ui.js';

const day = (d, end) => (d ? new Date(d + (end ? 'T23:59:59.999Z' : 'T00:00:00Z')).toISOString() : '');

export default {
  id: 'audit',
  title: 'Audit',
  perm: 'audit.read',

  async mount(root) {
    const out = h('div');
    const search = form({ class: 'filters', 'aria-label': 'Search the audit trail' }, [
      field('User', input('actor', { size: 14, autocomplete: 'off' })),
      field('Patient MRN', input('mrn', { size: 14, autocomplete: 'off' })),
      field('Action', input('action', { size: 16, placeholder: 'e.g. result.release' })),
      field('From', input('from', { type: 'date' })),
      field('To', input('to', { type: 'date' })),
      h('button', { type: 'submit' }, 'Search'),
    ], async (v) => {
      const q = { actor: v.actor, action: v.action, from: day(v.from, false), to: day(v.to, true), limit: 200 };
      if (v.mrn) {
        const p = (await get('/api/v1/patients' + query({ mrn: v.mrn.trim() }))).items[0];
        if (!p) throw new ApiError(400, { error: { code: 'invalid', field: 'mrn', message: `no patient has MRN ${v.mrn.trim()}` } });
        Object.assign(q, { entity_type: 'patient', entity_id: p.id });
      }
      const data = await get('/api/v1/audit' + query(q));
      out.replaceChildren(data.items.length ? table(`${data.items.length} event${data.items.length === 1 ? '' : 's'}, newest first`,
        ['When', 'Who', 'Action', 'Record', 'Outcome', 'From', 'Detail'],
        data.items.map((e) => h('tr' + (e.outcome === 'ok' ? '' : '.late'),
          h('td', time(e.at)), h('td', e.actor), h('td', e.action),
          h('td', `${e.entity_type} ${e.entity_id}`), h('td', e.outcome), h('td', e.source),
          h('td.detail', JSON.stringify(e.detail)))))
        : h('p.empty', 'No events match.'));
    });
    root.append(h('h1', 'Audit trail'), search, out);
    search.requestSubmit();
  },
};
