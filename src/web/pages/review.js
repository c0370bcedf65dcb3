// Review and release: the results waiting for a person, with their flags,
// reference ranges, delta against the previous value and the gate's reasons
// for holding them; release of one or many with the password entered again
// (the electronic signature); the critical-value call (whom, when, read back);
// the correction of a released result with its reason.

import { ApiError, get, post } from '../api.js';
import { badge, clearErrors, describe, field, flagBadge, form, h, input, priorityBadge, say, showError, time } from '../ui.js';

let view = null;

function range(r) {
  const ref = r.reference ?? {};
  if (ref.text) return ref.text;
  if (ref.low != null && ref.high != null) return `${ref.low}–${ref.high}`;
  if (ref.low != null) return `≥ ${ref.low}`;
  if (ref.high != null) return `≤ ${ref.high}`;
  return '';
}

function callForm(r) {
  return form({ class: 'call-form', 'aria-label': `Critical call for ${r.code} on ${r.accession}` }, [
    h('p', h('strong', `Critical ${r.code} ${r.value} ${r.unit ?? ''} (${r.flag})`), ` on ${r.accession}`),
    field('Given to (name and role)', input('notified', { required: true, maxlength: 128, placeholder: 'e.g. RN J. Doe, ward 4' })),
    field('When', input('at', { type: 'datetime-local' }), 'Leave empty for now.'),
    h('div.field.check', h('input', { type: 'checkbox', name: 'read_back', id: 'rb-' + r.id, value: 'yes', 'aria-describedby': 'rb-' + r.id + '-error' }),
      h('label', { for: 'rb-' + r.id }, 'The value was read back')),
    h('p.field-error', { id: 'rb-' + r.id + '-error', role: 'alert' }),
    h('button', { type: 'submit' }, 'Document the call'),
  ], async (v) => {
    const body = { notified: v.notified ?? '', read_back: v.read_back === 'yes' };
    if (v.at) body.at = new Date(v.at).toISOString();
    await post(`/api/v1/results/${encodeURIComponent(r.id)}/critical-call`, body);
    say(view.status, `Call for ${r.code} on ${r.accession} documented.`);
    await load(true);
  });
}

function row(r) {
  const box = h('input', { type: 'checkbox', name: 'ids', value: r.id, 'aria-label': `Select ${r.code} on ${r.accession}` });
  const open = r.critical_alert && !r.critical_alert.closed_at;
  const tr = h('tr' + (open ? '.critical' : ''), { 'data-id': r.id },
    h('td', box),
    h('td', h('strong', r.code), h('br'), h('span.muted', r.name)),
    h('td.value', `${r.value} ${r.unit ?? ''}`),
    h('td', flagBadge(r.flag), r.critical ? badge('critical', 'critical') : null),
    h('td', range(r)),
    h('td', r.delta_failed ? h('span.warn-text', `Δ check failed; previous ${r.delta_previous}`) : 'ok'),
    h('td', h('ul.reasons', (r.holds ?? []).map((x) => h('li', { 'data-code': x.code }, x.message)))),
    h('td', h('a', { href: '#/specimen?acc=' + r.accession }, r.accession), h('br'),
      h('span.muted', `${time(r.resulted_at)}${r.instrument ? ' · ' + r.instrument : ''}`)),
    h('td.actions',
      h('button.small', { type: 'button', onclick: () => { releaseOnly(r.id); } }, 'Release'),
      open ? h('button.small.danger', { type: 'button', onclick: () => toggleCall(r, tr) }, 'Call') : null));
  return tr;
}

function toggleCall(r, tr) {
  const next = tr.nextElementSibling;
  if (next?.classList.contains('call-row')) {
    next.remove();
    return;
  }
  const f = callForm(r);
  tr.after(h('tr.call-row', { 'data-for': r.id }, h('td', { colspan: 9 }, f)));
  f.querySelector('input[name="notified"]').focus();
}

function releaseOnly(id) {
  for (const b of view.table.querySelectorAll('input[name="ids"]')) b.checked = b.value === id;
  updateCount();
  view.release.querySelector('input[name="password"]').focus();
}

function updateCount() {
  const n = view.table.querySelectorAll('input[name="ids"]:checked').length;
  view.releaseButton.textContent = n ? `Release ${n} selected` : 'Release selected';
}

async function load(background = false) {
  const v = view;
  let data;
  try {
    data = await get('/api/v1/results/review?limit=200', { background });
  } catch (e) {
    say(v.status, describe(e), 'error');
    return;
  }
  if (view !== v) return;
  const checked = new Set([...v.table.querySelectorAll('input[name="ids"]:checked')].map((b) => b.value));
  // A call form being filled in survives the refresh, with what was typed
  // and the focus: results arrive while someone is on the phone.
  const calls = [...v.table.querySelectorAll('tr.call-row')];
  const active = document.activeElement;
  const rows = data.items.map(row);
  v.table.querySelector('tbody').replaceChildren(...rows);
  for (const b of v.table.querySelectorAll('input[name="ids"]')) b.checked = checked.has(b.value);
  for (const c of calls) {
    const tr = v.table.querySelector(`tr[data-id="${CSS.escape(c.dataset.for)}"]`);
    if (tr?.classList.contains('critical')) tr.after(c);
  }
  if (active?.isConnected && active !== document.activeElement) active.focus();
  v.count.textContent = `${data.items.length} result${data.items.length === 1 ? '' : 's'} waiting`;
  v.table.hidden = !data.items.length;
  updateCount();
  if (v.callId) {
    const r = data.items.find((x) => x.id === v.callId);
    const tr = r && v.table.querySelector(`tr[data-id="${CSS.escape(r.id)}"]`);
    v.callId = null;
    if (tr && r.critical_alert && !r.critical_alert.closed_at) toggleCall(r, tr);
  }
}

function showHeld(held) {
  for (const x of held) {
    const tr = view.table.querySelector(`tr[data-id="${CSS.escape(x.id)}"]`);
    const cell = tr?.querySelector('.reasons');
    if (cell) {
      cell.replaceChildren(...x.reasons.map((m) => h('li.held', m.message)));
      tr.classList.add('held');
    }
  }
}

export default {
  id: 'review',
  title: 'Review and release',
  perm: 'results.release',

  async mount(root, ctx) {
    view = { status: h('p.notice', { role: 'status' }), count: h('p.muted'), callId: ctx.params.get('call') };
    view.table = h('table.review', h('caption', 'Results waiting for review, STAT first'),
      h('thead', h('tr', ['', 'Test', 'Value', 'Flag', 'Reference', 'Delta', 'Held because', 'Specimen', ''].map((x, i) =>
        h('th', { scope: 'col' }, i === 0 ? h('span.visually-hidden', 'Select') : x)))),
      h('tbody'));
    view.table.addEventListener('change', updateCount);
    view.releaseButton = h('button', { type: 'submit' }, 'Release selected');
    view.release = form({ class: 'inline release', 'aria-label': 'Release with signature' }, [
      field('Your password (electronic signature)', input('password', { type: 'password', autocomplete: 'current-password', required: true })),
      view.releaseButton,
    ], async (v, f) => {
      const ids = [...view.table.querySelectorAll('input[name="ids"]:checked')].map((b) => b.value);
      if (!ids.length) {
        showError(f, new Error('Select the results to release first.'));
        return;
      }
      try {
        await post('/api/v1/results/release', { ids, password: v.password ?? '' });
      } catch (e) {
        f.querySelector('input[name="password"]').value = '';
        if (e instanceof ApiError && e.status === 409 && e.body?.held) {
          showHeld(e.body.held);
          throw new Error('Nothing was released: the gate holds ' + e.body.held.length
            + ' of them (reasons shown in their rows).');
        }
        throw e;
      }
      f.querySelector('input[name="password"]').value = '';
      clearErrors(f);
      say(view.status, `Released ${ids.length} result${ids.length === 1 ? '' : 's'}, signed by ${ctx.user.display_name}.`);
      await load();
    });
    const corrId = ctx.params.get('correct') ?? '';
    const correct = form({ class: 'stack', 'aria-label': 'Correct a released result' }, [
      field('Result id', input('id', { value: corrId, required: true, autocomplete: 'off' })),
      field('Corrected value', input('value', { required: true, autocomplete: 'off' })),
      field('Reason', input('reason', { required: true, maxlength: 256 })),
      field('Your password (electronic signature)', input('password', { type: 'password', autocomplete: 'current-password', required: true })),
      h('button', { type: 'submit' }, 'Correct the result'),
    ], async (v, f) => {
      const r = await post(`/api/v1/results/${encodeURIComponent(v.id ?? '')}/correct`,
        { value: v.value ?? '', reason: v.reason ?? '', password: v.password ?? '' });
      f.reset();
      say(view.status, `Corrected ${r.code} on ${r.accession}: now ${r.value} ${r.unit ?? ''}, version ${r.version}.`);
    });
    root.append(h('h1', 'Review and release'), view.status, view.count, view.table, view.release,
      h('details', { open: !!corrId }, h('summary', 'Correct a released result'), correct));
    await load();
    if (corrId) correct.querySelector('input[name="value"]').focus();
  },

  onEvent(kind) {
    if (kind.startsWith('result.') || kind.startsWith('critical.') || kind === 'reset') {
      clearTimeout(view?.timer);
      if (view) view.timer = setTimeout(() => load(true), 300);
    }
  },

  unmount() {
    clearTimeout(view?.timer);
    view = null;
  },
};
