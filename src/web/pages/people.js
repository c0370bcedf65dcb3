// People: the procedures in force that the signed-in user has not read yet,
// each acknowledged as read and understood with their password; the
// certifications and competency assessments of the staff that expired or
// expire soon; and the user's own competency per test system (docs/care.md).

import { get, post, query } from '../api.js';
import { badge, day, describe, field, fill, form, h, input, say, select, soon, table } from '../ui.js';

let view = null;

function when(x) {
  if (x.expired) return h('strong.late-text', `expired ${-x.days_left} day${x.days_left === -1 ? '' : 's'} ago`);
  return x.days_left === 0 ? 'today' : `in ${x.days_left} day${x.days_left === 1 ? '' : 's'}`;
}

// The documents in force whose not_read list names the user.
async function loadUnread(background = false) {
  const v = view;
  const me = v.ctx.user.username;
  const docs = (await get('/api/v1/care/documents', { background })).items.filter((d) => d.version && d.not_read_count > 0);
  const full = await Promise.all(docs.map((d) => get('/api/v1/care/documents/' + encodeURIComponent(d.code), { background })));
  if (view !== v) return;
  const mine = full.filter((d) => d.current && d.not_read.includes(me));
  fill(v.unread, mine.length
    ? [h('p', `${mine.length} procedure${mine.length === 1 ? '' : 's'} in force that you have not read yet.`),
      mine.map((d) => h('article.procedure', { 'data-code': d.code, 'aria-labelledby': 'doc-' + d.code },
        h('h3', { id: 'doc-' + d.code }, `${d.code}: ${d.title}`),
        h('p.muted', `Version ${d.current.version}, in force since ${day(d.current.effective_on)}, `
          + `approved by ${d.current.approved_by}; review due ${day(d.review_due)}.`),
        h('details', h('summary', 'Read the procedure'), h('pre.procedure-text', { tabindex: 0 }, d.current.text)),
        form({ class: 'inline', 'aria-label': `Acknowledge ${d.code}` }, [
          field('Your password (signature)', input('password', { type: 'password', autocomplete: 'current-password', required: true })),
          h('button', { type: 'submit' }, 'I have read and understood it'),
        ], async (f) => {
          await post(`/api/v1/care/documents/${encodeURIComponent(d.code)}/acknowledge`, { password: f.password ?? '' });
          say(v.status, `${d.code} version ${d.current.version}: your reading is recorded.`);
          await loadUnread();
        })))]
    : h('p.notice.ok', 'You have read every procedure in force.'));
}

async function loadDue(background = false) {
  const v = view;
  const within = new FormData(v.dueFilter).get('within') || '30';
  const data = await get('/api/v1/care/expiring' + query({ within }), { background });
  if (view !== v) return;
  const me = v.ctx.user.username;
  const rows = (type) => data.items.filter((x) => x.type === type).map((x) =>
    h('tr' + (x.expired ? '.late' : ''),
      h('td', x.user, x.user === me ? [' ', badge('you')] : null),
      h('td', x.what), h('td', day(x.date)), h('td', when(x))));
  const certs = rows('certification');
  const comps = rows('competency');
  fill(v.due,
    certs.length ? table(`Certifications expired or expiring within ${within} days`, ['Person', 'Certification', 'Valid until', 'Expires'], certs)
      : h('p.notice.ok', `No certification expires within ${within} days.`),
    comps.length ? table(`Competency assessments due within ${within} days`, ['Person', 'Test system', 'Due by', 'Due'], comps)
      : h('p.notice.ok', `No competency assessment falls due within ${within} days.`));
}

async function loadMine(background = false) {
  const v = view;
  const s = await get('/api/v1/care/staff/' + encodeURIComponent(v.ctx.user.username), { background });
  if (view !== v) return;
  fill(v.mine, s.competency.length
    ? table('Your competency today', ['Test system', 'State', 'Due by'],
      s.competency.map((c) => h('tr' + (c.competent ? '' : '.late'),
        h('td', h('strong', c.system), h('br'), h('span.muted', c.name)),
        h('td', c.competent ? badge('competent', 'good') : [badge('not competent', 'critical'), ' ', c.reason]),
        h('td', c.due_on ? day(c.due_on) : ''))))
    : h('p.empty', 'No test system of the competency program.'));
}

export default {
  id: 'people',
  title: 'People',
  perm: 'care.read',

  async mount(root, ctx) {
    view = { ctx, status: h('p.notice', { role: 'status' }), unread: h('div'), due: h('div'), mine: h('div') };
    view.dueFilter = form({ class: 'inline', 'aria-label': 'Due within' }, [
      field('Due within', select('within', [['30', '30 days'], ['60', '60 days'], ['90', '90 days'], ['180', '180 days']])),
    ], () => loadDue());
    view.dueFilter.addEventListener('change', () => loadDue().catch((e) => say(view.status, describe(e), 'error')));
    root.append(h('h1', 'People'), view.status,
      h('section', { 'aria-labelledby': 'pp-read' }, h('h2', { id: 'pp-read' }, 'Procedures to read'), view.unread),
      h('section', { 'aria-labelledby': 'pp-due' }, h('h2', { id: 'pp-due' }, 'Certifications and competency due'), view.dueFilter, view.due),
      h('section', { 'aria-labelledby': 'pp-mine' }, h('h2', { id: 'pp-mine' }, 'Your competency'), view.mine));
    await Promise.all([loadUnread(), loadDue(), loadMine()]);
  },

  onEvent(kind) {
    if (view && kind === 'reset') soon(view, () => Promise.all([loadUnread(true), loadDue(true), loadMine(true)]));
  },

  unmount() {
    clearTimeout(view?.timer);
    view = null;
  },
};
