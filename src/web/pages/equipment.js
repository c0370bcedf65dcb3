// Equipment: what the bench must know about its devices. The temperature
// alerts (open ones first, each with what was stored in the unit when it
// opened, closed with the action taken and the disposition), the
// maintenance, calibrations and checks due, the work orders (report a fault,
// add an entry, return to service, close), and one device's fitness with its
// tolerance-QC checks, their chart and a result entered. The device events
// (device.*) refresh what they touch; app.js says them at the top of every
// page.

import { get, post, query } from '../api.js';
import { badge, day, describe, field, fill, form, h, input, say, select, soon, svgDataUrl, table, time } from '../ui.js';

let view = null;

const SEVERITY_KIND = { critical: 'critical', high: 'critical', medium: 'abnormal' };
const DUE_KIND = { overdue: 'critical', due: 'abnormal' };

const textarea = (name, attrs = {}) => h('textarea', { name, rows: 2, maxlength: 2000, ...attrs });
const plural = (n, one, many = one + 's') => `${n} ${n === 1 ? one : many}`;

// Parts of the page to fetch again after an event, gathered over 300 ms.
function refreshSoon(...parts) {
  const v = view;
  if (!v) return;
  for (const p of parts) v.pending.add(p);
  soon(v, () => {
    const queued = [...v.pending];
    v.pending.clear();
    return Promise.all(queued.map((p) => v.loaders[p](true)));
  });
}

// ---- temperature alerts

function storedTables(stored) {
  const specimens = stored?.specimens ?? [];
  const lots = stored?.lots ?? [];
  if (!specimens.length && !lots.length) return h('p.empty', 'Nothing was stored in the unit when the alert opened.');
  return [
    specimens.length ? table(`${plural(specimens.length, 'specimen')} stored there`,
      ['Accession', 'Tests', 'Rack, position', 'Stored'],
      specimens.map((s) => h('tr',
        h('td', view.ctx.can('patients.read') ? h('a', { href: '#/specimen?acc=' + s.accession }, s.accession) : s.accession),
        h('td', (s.tests ?? []).join(', ')),
        h('td', [s.rack, s.position].filter(Boolean).join(', ')),
        h('td', time(s.stored_at))))) : null,
    lots.length ? table(`${plural(lots.length, 'lot')} of supplies stored there`,
      ['Item', 'Lot', 'Expiry', 'Quantity'],
      lots.map((l) => h('tr',
        h('td', h('strong', l.item), h('br'), h('span.muted', l.name)),
        h('td', l.lot), h('td', l.expiry),
        h('td.value', `${l.quantity} ${l.unit_of_issue}`)))) : null,
  ];
}

function closeAlertForm(a) {
  return form({ class: 'stack', 'aria-label': `Close the alert of ${a.unit}`, 'data-alert': a.id }, [
    field('Action taken', textarea('action', { required: true })),
    field('Disposition of what was stored', textarea('disposition', { required: true }),
      'e.g. moved to FRIDGE-2; reagents quarantined until verified'),
    h('button', { type: 'submit' }, 'Close the alert'),
  ], async (f) => {
    await post(`/api/v1/temperature/alerts/${encodeURIComponent(a.id)}/close`,
      { action: f.action ?? '', disposition: f.disposition ?? '' });
    say(view.status, `The alert of ${a.unit} is closed.`);
    await loadAlerts();
  });
}

function alertBox(a, kept) {
  const hid = 'alert-' + a.id;
  return h('article.device-alert', { 'data-id': a.id, 'aria-labelledby': hid },
    h('h3', { id: hid }, `${a.unit} (${a.kind}) out of range since ${time(a.first_at)}`),
    h('p', `Limits ${a.low} to ${a.high} °C; furthest reading ${a.extreme} °C at ${time(a.extreme_at)}; `
      + `${plural(a.readings, 'reading')} outside the limits.`),
    storedTables(a.stored),
    view.ctx.can('equipment.record') ? kept ?? closeAlertForm(a) : null);
}

async function loadAlerts(background = false) {
  const v = view;
  const [open, closed] = await Promise.all([
    get('/api/v1/temperature/alerts?status=open', { background }),
    get('/api/v1/temperature/alerts?status=closed', { background }),
  ]);
  // The open ones in full (an audited read): what was stored there is what
  // someone has to move now.
  const full = await Promise.all(open.items.map((a) =>
    get('/api/v1/temperature/alerts/' + encodeURIComponent(a.id), { background })));
  if (view !== v) return;
  // A close form being filled in survives the refresh, with the focus.
  const kept = new Map([...v.alerts.querySelectorAll('form[data-alert]')].map((f) => [f.dataset.alert, f]));
  const active = document.activeElement;
  const recent = closed.items.slice(0, 5);
  fill(v.alerts,
    full.length ? full.map((a) => alertBox(a, kept.get(a.id)))
      : h('p.notice.ok', 'No open temperature alert: every storage unit is within its limits.'),
    recent.length ? table('Recently closed', ['Unit', 'Out of range', 'Closed', 'Action', 'Disposition'],
      recent.map((a) => h('tr',
        h('td', a.unit), h('td', `${time(a.first_at)} to ${time(a.last_at)}`),
        h('td', `${time(a.closed_at)} by ${a.closed_by}`), h('td', a.action), h('td', a.disposition)))) : null);
  if (active?.isConnected && active !== document.activeElement) active.focus();
}

// ---- due list

async function loadDue(background = false) {
  const v = view;
  const within = new FormData(v.dueFilter).get('within') || '7';
  const data = await get('/api/v1/equipment/due' + query({ within }), { background });
  if (view !== v) return;
  fill(v.due, data.items.length
    ? table(`${plural(data.items.length, 'item')} due within ${within} days, overdue first`,
      ['Asset', 'What', 'Due', 'State', 'Last done'],
      data.items.map((d) => h('tr' + (d.state === 'overdue' ? '.late' : ''),
        h('td', h('a', { href: '#/equipment' + query({ asset: d.asset }) }, d.asset), h('br'),
          h('span.muted', `${d.class}, ${d.location}`)),
        h('td', d.kind + (d.template ? ` (${d.template})` : ''), d.safety_critical ? [' ', badge('safety-critical')] : null),
        h('td', time(d.due_at)),
        h('td', badge(d.state, DUE_KIND[d.state])),
        h('td', d.last_done ? `${day(d.last_done)}${d.last_passed === false ? ', failed' : ''}` : 'never'))))
    : h('p.notice.ok', `Nothing due within ${within} days.`));
}

// ---- work orders

function entryText(e) {
  switch (e.kind) {
    case 'note': return e.note;
    case 'part': return `part ${e.part_number} ${e.description}, ${e.quantity} for ${(e.cost_cents / 100).toFixed(2)}`;
    case 'vendor': return `vendor ${e.vendor}, reference ${e.reference}, visit ${e.visit_date}${e.note ? ': ' + e.note : ''}`;
    case 'verification': return `verification ${e.outcome}: ${e.verified}${e.note ? ' (' + e.note + ')' : ''}`;
    default: return e.kind;
  }
}

// A money amount typed as 39.60 into whole cents; anything else is sent as
// typed, for the server to name the field.
function cents(text) {
  const t = (text ?? '').trim();
  return /^\d+(\.\d{1,2})?$/.test(t) ? Math.round(Number(t) * 100) : t;
}

function entryForm(o) {
  const kinds = {
    note: ['note'],
    part: ['part_number', 'description', 'quantity', 'cost_cents'],
    vendor: ['vendor', 'reference', 'visit_date', 'note'],
  };
  const groups = {
    note: field('Note', textarea('note')),
    part_number: field('Part number', input('part_number', { maxlength: 128 })),
    description: field('Description', input('description', { maxlength: 128 })),
    quantity: field('Quantity', input('quantity', { inputmode: 'numeric', size: 6 })),
    cost_cents: field('Cost of the line', input('cost_cents', { inputmode: 'decimal', size: 10 }), 'e.g. 39.60'),
    vendor: field('Vendor', input('vendor', { maxlength: 128 })),
    reference: field('Vendor reference', input('reference', { maxlength: 128 })),
    visit_date: field('Visit date', input('visit_date', { type: 'date' })),
  };
  const kind = select('kind', [['note', 'Note'], ['part', 'Part used'], ['vendor', 'Vendor service']]);
  const show = () => {
    for (const [name, el] of Object.entries(groups)) el.hidden = !kinds[kind.value].includes(name);
  };
  kind.addEventListener('change', show);
  show();
  return form({ class: 'stack', 'aria-label': 'Add an entry' }, [
    field('Entry', kind), Object.values(groups), h('button', { type: 'submit' }, 'Add the entry'),
  ], async (f) => {
    const body = { kind: f.kind };
    for (const name of kinds[f.kind]) {
      const val = f[name] ?? '';
      if (name === 'quantity') body.quantity = /^\d+$/.test(val.trim()) ? Number(val) : val;
      else if (name === 'cost_cents') body.cost_cents = cents(val);
      else if (val !== '' || !(f.kind === 'vendor' && name === 'note')) body[name] = val;
    }
    await post(`/api/v1/work-orders/${encodeURIComponent(o.id)}/entries`, body);
    say(view.status, `Entry added to the work order of ${o.asset}.`);
    await showOrder(o.id);
  });
}

function orderForms(o) {
  const can = view.ctx.can;
  const out = [];
  if (o.status !== 'closed' && can('equipment.record')) out.push(h('h4', 'Add an entry'), entryForm(o));
  if (o.status === 'open' && can('equipment.manage')) {
    out.push(h('h4', 'Return to service'), form({ class: 'stack', 'aria-label': 'Return to service' }, [
      field('What was verified', textarea('verified', { required: true })),
      field('Outcome', select('outcome', [['pass', 'Passed: back in service'], ['fail', 'Failed: stays out of service']])),
      field('Record it rests on (calibration or check id)', input('record_id', { autocomplete: 'off' })),
      field('Note', input('note', { maxlength: 2000 })),
      h('button', { type: 'submit' }, 'Record the verification'),
    ], async (f) => {
      const body = { verified: f.verified ?? '', outcome: f.outcome };
      if (f.record_id) body.record_id = f.record_id;
      if (f.note) body.note = f.note;
      const r = await post(`/api/v1/work-orders/${encodeURIComponent(o.id)}/return-to-service`, body);
      say(view.status, r.status === 'returned'
        ? `${o.asset} passed its verification: ${r.asset_status === 'in-service' ? 'back in service' : 'still held out by another order'}.`
        : `The verification failed: ${o.asset} stays out of service.`, r.status === 'returned' ? 'ok' : 'warn');
      await Promise.all([loadOrders(), showOrder(o.id)]);
    }));
  }
  if ((o.status === 'returned' || (o.status === 'open' && !o.out_of_service)) && can('equipment.manage')) {
    out.push(h('h4', 'Close'), form({ class: 'stack', 'aria-label': 'Close the work order' }, [
      field('Resolution (what fixed it)', textarea('resolution', { required: true })),
      h('button', { type: 'submit' }, 'Close the work order'),
    ], async (f) => {
      await post(`/api/v1/work-orders/${encodeURIComponent(o.id)}/close`, { resolution: f.resolution ?? '' });
      say(view.status, `The work order of ${o.asset} is closed.`);
      await Promise.all([loadOrders(), showOrder(o.id)]);
    }));
  }
  return out;
}

async function showOrder(id) {
  const v = view;
  const o = await get('/api/v1/work-orders/' + encodeURIComponent(id));
  if (view !== v) return;
  v.orderId = id;
  fill(v.order,
    h('h3', { tabindex: -1 }, `Work order: ${o.asset}, ${o.fault}`),
    h('dl.facts',
      h('dt', 'Severity'), h('dd', badge(o.severity, SEVERITY_KIND[o.severity])),
      h('dt', 'Status'), h('dd', o.status + (o.out_of_service ? ', took the device out of service' : '')),
      h('dt', 'Device now'), h('dd', o.asset_status),
      h('dt', 'Reported'), h('dd', `${time(o.reported_at)} by ${o.reported_by}`),
      o.returned_at ? [h('dt', 'Back in service'), h('dd', `${time(o.returned_at)} by ${o.returned_by}`)] : null,
      o.closed_at ? [h('dt', 'Closed'), h('dd', `${time(o.closed_at)} by ${o.closed_by}: ${o.resolution}`)] : null,
      h('dt', 'Downtime'), h('dd', `${Math.round(o.downtime_seconds / 360) / 10} h`),
      h('dt', 'Parts'), h('dd', (o.parts_cost_cents / 100).toFixed(2))),
    o.entries.length ? h('ol.timeline', { 'aria-label': 'Entries' }, o.entries.map((e) => h('li',
      h('time', { datetime: e.at }, time(e.at)), ' ', h('strong', e.by), ' ', entryText(e))))
      : h('p.empty', 'No entries yet.'),
    orderForms(o));
  v.order.hidden = false;
}

async function loadOrders(background = false) {
  const v = view;
  const [open, returned] = await Promise.all([
    get('/api/v1/work-orders?status=open', { background }),
    get('/api/v1/work-orders?status=returned', { background }),
  ]);
  if (view !== v) return;
  const items = [...open.items, ...returned.items].sort((a, b) => b.reported_at.localeCompare(a.reported_at));
  fill(v.orders, items.length
    ? table(`${plural(items.length, 'work order')} not closed`, ['Asset', 'Fault', 'Severity', 'Status', 'Reported', ''],
      items.map((o) => h('tr' + (o.severity === 'critical' ? '.late' : ''),
        h('td', h('strong', o.asset), h('br'), h('span.muted', o.asset_status)),
        h('td', o.fault),
        h('td', badge(o.severity, SEVERITY_KIND[o.severity])),
        h('td', o.status),
        h('td', `${time(o.reported_at)} by ${o.reported_by}`),
        h('td', h('button.small', {
          type: 'button', 'aria-label': `Open the work order of ${o.asset}`,
          onclick: async () => {
            await showOrder(o.id).catch((e) => say(v.status, describe(e), 'error'));
            v.order.querySelector('h3')?.focus();
          },
        }, 'Open')))))
    : h('p.notice.ok', 'No open work orders.'));
}

function reportForm() {
  return form({ class: 'stack', 'aria-label': 'Report a fault' }, [
    field('Asset tag', input('asset', { list: 'equip-assets', autocomplete: 'off', required: true, size: 14 })),
    field('Fault', textarea('fault', { required: true })),
    field('Severity', select('severity', [['low', 'Low'], ['medium', 'Medium'], ['high', 'High'], ['critical', 'Critical']])),
    field('Out of service', select('out_of_service', [['', 'As the severity says (high and critical: yes)'], ['true', 'Yes'], ['false', 'No']])),
    h('button', { type: 'submit' }, 'Report the fault'),
  ], async (f, el) => {
    const body = { asset: (f.asset ?? '').trim(), fault: f.fault ?? '', severity: f.severity };
    if (f.out_of_service) body.out_of_service = f.out_of_service === 'true';
    const o = await post('/api/v1/work-orders', body);
    el.reset();
    say(view.status, `Fault reported on ${o.asset}${o.out_of_service ? ': the device is out of service' : ''}.`,
      o.out_of_service ? 'warn' : 'ok');
    await Promise.all([loadOrders(), showOrder(o.id)]);
  });
}

// ---- one device: fitness and tolerance QC

function checkBox(c) {
  const can = view.ctx.can;
  const chart = h('div.chart-box');
  get(`/api/v1/qc/checks/${encodeURIComponent(c.id)}/chart?format=svg`, { background: true }).then((svg) => {
    fill(chart, h('img.chart', {
      src: svgDataUrl(svg),
      alt: `Chart of ${c.code} on ${c.device}: results against ${c.target} ± ${c.tolerance} ${c.unit}`,
    }));
  }, (e) => fill(chart, h('p.notice.error', describe(e))));
  const status = c.lockout ? badge('locked', 'critical') : c.overdue ? badge('overdue', 'critical') : badge('passing', 'good');
  return h('article.check', { 'data-check': c.id },
    h('h4', `${c.code}: ${c.name} `, status),
    h('p', `Target ${c.target} ± ${c.tolerance} ${c.unit}, every ${c.frequency}; `
      + (c.last_passed_at ? `last passed ${time(c.last_passed_at)}, due ${time(c.due_at)}.` : 'never passed.')),
    c.lockout ? h('div.lockout', { role: 'alert' },
      h('p', h('strong', 'Locked: '), c.lockout.reason),
      can('qc.manage') ? form({ class: 'stack', 'aria-label': `Corrective action for ${c.code}` }, [
        field('Corrective action taken', textarea('corrective_action', { required: true })),
        field('Your password (signature)', input('password', { type: 'password', autocomplete: 'current-password', required: true })),
        h('button', { type: 'submit' }, 'Close the lockout'),
      ], async (f) => {
        const r = await post(`/api/v1/qc/check-lockouts/${encodeURIComponent(c.lockout.id)}/close`,
          { corrective_action: f.corrective_action ?? '', password: f.password ?? '' });
        say(view.status, `Lockout of ${c.code} closed; ${plural(r.released?.length ?? 0, 'held result')} released.`);
        await loadDevice();
      }) : h('p.muted', 'A supervisor closes it with the corrective action, after a passing result.')) : null,
    chart,
    can('qc.enter') && c.active ? form({ class: 'inline', 'aria-label': `Result of ${c.code}` }, [
      field(`Result (${c.unit})`, input('value', { inputmode: 'decimal', size: 8, autocomplete: 'off', required: true })),
      field('Note', input('note', { maxlength: 2000 })),
      h('button', { type: 'submit' }, 'Record the result'),
    ], async (f) => {
      const body = { value: (f.value ?? '').trim() };
      if (f.note) body.note = f.note;
      const r = await post(`/api/v1/qc/checks/${encodeURIComponent(c.id)}/results`, body);
      say(view.status, r.passed ? `${c.code}: ${r.value} ${c.unit} passed.`
        : `${c.code}: ${r.value} ${c.unit} is out of tolerance; ${c.device} is locked.`, r.passed ? 'ok' : 'error');
      await loadDevice();
    }) : null);
}

async function loadDevice(background = false) {
  const v = view;
  const tag = v.asset;
  if (!tag) {
    fill(v.device, h('p.empty', 'Choose a device to see its fitness and its tolerance checks.'));
    return;
  }
  const [fit, checks] = await Promise.all([
    get(`/api/v1/assets/${encodeURIComponent(tag)}/fitness`, { background }),
    v.ctx.can('qc.read') ? get('/api/v1/qc/checks' + query({ device: tag }), { background }) : { items: [] },
  ]);
  if (view !== v || v.asset !== tag) return;
  fill(v.device,
    h('h3', `${fit.asset}${fit.instrument ? ' (' + fit.instrument + ')' : ''} `,
      fit.fit ? badge('fit for use', 'good') : badge('not fit for use', 'critical')),
    fit.reasons.length ? h('ul.reasons', { 'aria-label': 'Why not fit' }, fit.reasons.map((r) => h('li.held', r))) : null,
    fit.schedules.length ? table('Schedules', ['What', 'State', 'Due', 'Last done'],
      fit.schedules.map((s) => h('tr',
        h('td', s.kind + (s.template ? ` (${s.template})` : '')),
        h('td', badge(s.state, DUE_KIND[s.state])),
        h('td', time(s.due_at)),
        h('td', s.last_done ? day(s.last_done) : 'never')))) : null,
    v.ctx.can('qc.read') ? [h('h3', 'Tolerance QC'), checks.items.length ? checks.items.map(checkBox)
      : h('p.empty', 'No tolerance checks for this device.')] : null);
}

export default {
  id: 'equipment',
  title: 'Equipment',
  perm: 'equipment.read',

  async mount(root, ctx) {
    const asset = (ctx.params.get('asset') ?? '').trim();
    view = {
      ctx, asset, pending: new Set(),
      status: h('p.notice', { role: 'status' }),
      alerts: h('div'), due: h('div'), orders: h('div'),
      order: h('section.detail', { hidden: true, 'aria-label': 'Work order' }),
      device: h('div'),
    };
    view.loaders = { alerts: loadAlerts, due: loadDue, orders: loadOrders, device: loadDevice };
    view.dueFilter = form({ class: 'inline', 'aria-label': 'Due within' }, [
      field('Due within', select('within', [['7', '7 days'], ['30', '30 days'], ['90', '90 days']])),
    ], () => loadDue());
    view.dueFilter.addEventListener('change', () => loadDue().catch((e) => say(view.status, describe(e), 'error')));
    const assets = h('datalist', { id: 'equip-assets' });
    const pick = form({ class: 'inline', 'aria-label': 'Choose a device' }, [
      field('Device (asset tag)', input('asset', { value: asset, list: 'equip-assets', autocomplete: 'off', size: 14 })),
      h('button', { type: 'submit' }, 'Show'),
    ], async (f) => ctx.go('#/equipment' + query({ asset: (f.asset ?? '').trim() })));
    root.append(h('h1', 'Equipment'), view.status,
      h('section', { 'aria-labelledby': 'eq-alerts' }, h('h2', { id: 'eq-alerts' }, 'Temperature alerts'), view.alerts),
      h('section', { 'aria-labelledby': 'eq-due' }, h('h2', { id: 'eq-due' }, 'Due'), view.dueFilter, view.due),
      h('section', { 'aria-labelledby': 'eq-orders' }, h('h2', { id: 'eq-orders' }, 'Work orders'), view.orders, view.order,
        ctx.can('equipment.record') ? h('details', h('summary', 'Report a fault'), reportForm()) : null),
      h('section', { 'aria-labelledby': 'eq-device' }, h('h2', { id: 'eq-device' }, 'Device fitness and tolerance QC'), pick, view.device),
      assets);
    get('/api/v1/assets?limit=200', { background: true }).then((r) => {
      fill(assets, ...r.items.filter((a) => a.status !== 'retired').map((a) =>
        h('option', { value: a.tag }, `${a.class}, ${a.location}`)));
    }, () => {});
    await Promise.all([loadAlerts(), loadDue(), loadOrders(), loadDevice()]);
  },

  onEvent(kind, data) {
    if (!view) return;
    if (kind === 'reset') refreshSoon('alerts', 'due', 'orders', 'device');
    else if (kind.startsWith('device.temperature.')) refreshSoon('alerts');
    else if (kind === 'device.work_order.reported' || kind === 'device.status') {
      refreshSoon('orders', 'due');
      if (data.asset === view.asset) refreshSoon('device');
    } else if (kind.startsWith('device.qc.') && data.device === view.asset) refreshSoon('device');
  },

  unmount() {
    clearTimeout(view?.timer);
    view = null;
  },
};
