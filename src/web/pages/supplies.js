// Supplies: the alerts (low stock, lots expiring or expired, open vials past
// their stability, counts that went below nothing), the reorder list per
// supplier, the lots with what is on hand in each storage unit, and a
// movement recorded (receive, use, transfer, dispose, count) with the
// server's errors next to the field they name.

import { get, post, query } from '../api.js';
import { badge, describe, field, fill, form, h, input, say, select, soon, table, time } from '../ui.js';

let view = null;

const ALERT_KIND = { expired: 'critical', discrepancy: 'critical' };
const ALERT_NAME = {
  'reorder-point': 'low', expiring: 'expiring', expired: 'expired',
  'open-stability': 'open too long', discrepancy: 'count it',
};
const LOT_KIND = { quarantine: 'abnormal', disposed: 'critical', depleted: null, verified: 'good', available: 'good' };

// Each kind of movement and the fields it sends (docs/supplies.md).
const KINDS = {
  receive: ['item', 'lot', 'quantity', 'location', 'expiry', 'note'],
  use: ['item', 'lot', 'quantity', 'location', 'note'],
  transfer: ['item', 'lot', 'quantity', 'from', 'to', 'note'],
  dispose: ['item', 'lot', 'quantity', 'location', 'reason'],
  count: ['item', 'lot', 'counted', 'location', 'note'],
};
const OPTIONAL = new Set(['expiry', 'note']);

// A number typed into a field: sent as a number when it is one, else as
// typed, so that the server names the field in its refusal.
function number(text) {
  const t = (text ?? '').trim();
  return /^-?\d+(\.\d+)?$/.test(t) ? Number(t) : t;
}

async function loadAlerts(background = false) {
  const v = view;
  const data = await get('/api/v1/stock/alerts' + query({ days: 30 }), { background });
  if (view !== v) return;
  fill(v.alerts, data.items.length
    ? h('ul.stock-alerts', data.items.map((a) => h('li',
      badge(ALERT_NAME[a.kind] ?? a.kind, ALERT_KIND[a.kind] ?? 'abnormal'), ' ', a.message)))
    : h('p.notice.ok', 'No supplies alerts: nothing low, expiring within 30 days or to count.'));
}

async function loadReorder(background = false) {
  const v = view;
  const data = await get('/api/v1/stock/reorder', { background });
  if (view !== v) return;
  fill(v.reorder, data.suppliers.length
    ? data.suppliers.map((s) => table(`To order from ${s.supplier ?? 'no supplier named'}`,
      ['Item', 'Catalogue number', 'On hand', 'Reorder point', 'Order'],
      s.items.map((i) => h('tr',
        h('td', h('strong', i.item), h('br'), h('span.muted', i.name)),
        h('td', i.catalogue_number ?? ''),
        h('td.value', `${i.on_hand} ${i.unit}`),
        h('td', String(i.reorder_point)),
        h('td.value', `${i.order_quantity} ${i.unit}`)))))
    : h('p.notice.ok', 'Nothing to order: every item is above its reorder point.'));
}

async function loadLots(background = false) {
  const v = view;
  const f = Object.fromEntries(new FormData(v.lotFilter).entries());
  const data = await get('/api/v1/stock/lots' + query({ item: f.item, status: f.status }), { background });
  if (view !== v) return;
  v.lotItems = data.items;
  fill(v.lots, data.items.length
    ? table(`${data.items.length} lot${data.items.length === 1 ? '' : 's'}`,
      ['Item', 'Lot', 'Expiry', 'Status', 'On hand', 'Where'],
      data.items.map((l) => h('tr', { 'data-lot': `${l.item}/${l.lot}` },
        h('td', h('strong', l.item), h('br'), h('span.muted', l.item_name)),
        h('td', l.lot),
        h('td', l.expiry + (l.open_until ? `; open until ${time(l.open_until)}` : '')),
        h('td', badge(l.status, LOT_KIND[l.status])),
        h('td.value.on-hand', `${l.on_hand} ${l.unit}`),
        h('td', h('ul.locations', l.locations.map((x) => h('li', `${x.location}: ${x.quantity}`)))))))
    : h('p.empty', 'No lots match.'));
}

function movementForm(items, units) {
  const unitOptions = units.map((u) => [u.name, `${u.name} (${u.kind})`]);
  const lotList = h('datalist', { id: 'stock-lots' });
  const groups = {
    item: field('Item', select('item', [['', 'Choose an item'], ...items.map((i) => [i.code, `${i.code}: ${i.name} (${i.unit})`])])),
    lot: field('Lot', input('lot', { list: 'stock-lots', autocomplete: 'off', maxlength: 64 })),
    quantity: field('Quantity', input('quantity', { inputmode: 'decimal', size: 8, autocomplete: 'off' }), 'in the item\'s unit of issue'),
    counted: field('Counted', input('counted', { inputmode: 'decimal', size: 8, autocomplete: 'off' }), 'what is there now'),
    location: field('Storage unit', select('location', [['', 'Choose a unit'], ...unitOptions])),
    from: field('From', select('from', [['', 'Choose a unit'], ...unitOptions])),
    to: field('To', select('to', [['', 'Choose a unit'], ...unitOptions])),
    expiry: field('Expiry', input('expiry', { type: 'date' }), 'needed for a new lot'),
    reason: field('Reason', input('reason', { maxlength: 500 })),
    note: field('Note', input('note', { maxlength: 500 })),
  };
  const kind = select('kind', [['receive', 'Receive'], ['use', 'Use'], ['transfer', 'Transfer'], ['dispose', 'Dispose'], ['count', 'Count']]);
  const show = () => {
    for (const [name, el] of Object.entries(groups)) el.hidden = !KINDS[kind.value].includes(name);
  };
  kind.addEventListener('change', show);
  // The lots of the chosen item, to pick from.
  groups.item.querySelector('select').addEventListener('change', (ev) => {
    fill(lotList, ...(view?.lotItems ?? []).filter((l) => l.item === ev.target.value)
      .map((l) => h('option', { value: l.lot }, `expires ${l.expiry}, ${l.on_hand} on hand`)));
  });
  show();
  return form({ class: 'stack movement', 'aria-label': 'Record a movement' }, [
    field('Movement', kind), Object.values(groups), lotList,
    h('button', { type: 'submit' }, 'Record the movement'),
  ], async (f, el) => {
    const body = { kind: f.kind };
    for (const name of KINDS[f.kind]) {
      const val = f[name] ?? '';
      if (val === '' && OPTIONAL.has(name)) continue;
      body[name] = name === 'quantity' || name === 'counted' ? number(val) : val;
    }
    const r = await post('/api/v1/stock/movements', body);
    const l = r.lot;
    say(view.status, `Recorded: ${f.kind} of ${l.item} lot ${l.lot}; now ${l.on_hand} ${l.unit} on hand `
      + `(${l.locations.map((x) => `${x.location} ${x.quantity}`).join(', ') || 'nowhere'}).`);
    for (const name of ['lot', 'quantity', 'counted', 'expiry', 'reason', 'note']) el.elements[name].value = '';
    await Promise.all([loadLots(), loadAlerts(), loadReorder()]);
  });
}

export default {
  id: 'supplies',
  title: 'Supplies',
  perm: 'stock.read',

  async mount(root, ctx) {
    view = {
      ctx, status: h('p.notice', { role: 'status' }),
      alerts: h('div'), reorder: h('div'), lots: h('div'), lotItems: [],
    };
    const [items, units] = await Promise.all([
      get('/api/v1/stock/items', { background: true }),
      get('/api/v1/storage-units', { background: true }).catch(() => ({ items: [] })),
    ]);
    view.lotFilter = form({ class: 'filters', 'aria-label': 'Lot filters' }, [
      field('Item', select('item', [['', 'Any'], ...items.items.map((i) => [i.code, i.code])])),
      field('Status', select('status', [['', 'Any'], 'quarantine', 'verified', 'available', 'depleted', 'disposed'])),
    ], () => loadLots());
    view.lotFilter.addEventListener('change', () => loadLots().catch((e) => say(view.status, describe(e), 'error')));
    root.append(h('h1', 'Supplies'), view.status,
      h('section', { 'aria-labelledby': 'st-alerts' }, h('h2', { id: 'st-alerts' }, 'Alerts'), view.alerts),
      ctx.can('stock.record') ? h('section', { 'aria-labelledby': 'st-move' },
        h('h2', { id: 'st-move' }, 'Record a movement'), movementForm(items.items, units.items)) : null,
      h('section', { 'aria-labelledby': 'st-lots' }, h('h2', { id: 'st-lots' }, 'Lots on hand'), view.lotFilter, view.lots),
      h('section', { 'aria-labelledby': 'st-reorder' }, h('h2', { id: 'st-reorder' }, 'Reorder list'), view.reorder));
    await Promise.all([loadAlerts(), loadReorder(), loadLots()]);
  },

  onEvent(kind) {
    // Stock changes by results (reagent use) and by other benches.
    if (view && (kind.startsWith('stock.') || kind === 'reset' || kind === 'result.entered')) {
      soon(view, () => Promise.all([loadAlerts(true), loadReorder(true), loadLots(true)]));
    }
  },

  unmount() {
    clearTimeout(view?.timer);
    view = null;
  },
};
