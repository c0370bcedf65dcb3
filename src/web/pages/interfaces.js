// Interfaces: each instrument link's state (connected now, as the node's
// links tell, and the last message with its status and the errors of the
// last day, as the journal tells), the connections open now with what each
// has sent, the journal with its filters, one message's raw text and error,
// and replay. The state is read again every 15 seconds.

import { get, post, query } from '../api.js';
import { badge, describe, field, form, h, input, say, select, table, time } from '../ui.js';

let view = null;
const DAY = 24 * 3600 * 1000;

const REFRESH_MS = 15000;

function connections(state) {
  const listening = ['mllp', 'astm'].filter((k) => state[k].listening)
    .map((k) => `${k === 'mllp' ? 'HL7 over MLLP' : 'ASTM over TCP'} on port ${state[k].port}`);
  view.listening.textContent = `Node ${state.node}: ${listening.length ? 'listening for ' + listening.join(' and ') : 'not listening on the network'}.`;
  view.connections.replaceChildren(state.connections.length ? table('Connections open now, newest first',
    ['Peer', 'Instrument', 'Connected since', 'Last message', 'Messages', 'Not accepted'],
    state.connections.map((c) => h('tr' + (c.not_accepted ? '.late' : ''),
      h('td', c.peer, h('br'), h('span.muted', `${c.protocol.toUpperCase()} over ${c.transport}`)),
      h('td', c.instrument ?? h('span.muted', 'not recognised yet')),
      h('td', time(c.connected_at)),
      h('td', c.last_message_at ? [time(c.last_message_at), ' ', badge(c.last_status, c.last_status === 'accepted' ? 'good' : c.last_status === 'duplicate' ? null : 'critical')] : 'none yet'),
      h('td', String(c.messages)),
      h('td', c.not_accepted ? badge(String(c.not_accepted), 'critical') : '0'))))
    : h('p.empty', 'No instrument is connected to this node.'));
}

async function links() {
  const [insts, state] = await Promise.all([
    get('/api/v1/instruments', { background: true }).then((x) => x.items),
    get('/api/v1/links', { background: true }).catch(() => null),
  ]);
  if (!view) return;
  if (state) connections(state);
  const connected = new Set((state?.connections ?? []).map((c) => c.instrument).filter(Boolean));
  const since = new Date(Date.now() - DAY).toISOString();
  const rows = await Promise.all(insts.map(async (i) => {
    const [last, bad] = await Promise.all([
      get('/api/v1/messages' + query({ instrument: i.name, limit: 1 }), { background: true }),
      get('/api/v1/messages' + query({ instrument: i.name, from: since, status: 'rejected', limit: 100 }), { background: true }),
    ]);
    const m = last.items[0];
    const failed = m && m.status !== 'accepted' && m.status !== 'duplicate';
    const st = !i.enabled ? ['disabled', null] : failed ? ['last message failed', 'critical']
      : connected.has(i.name) ? ['connected', 'good'] : !m ? ['no messages yet', null] : ['working', 'good'];
    return h('tr',
      h('td', h('strong', i.name), h('br'), h('span.muted', `${i.kind}, ${i.protocol} over ${i.transport}`)),
      h('td', badge(st[0], st[1])),
      h('td', m ? `${time(m.received_at)} ${m.type ?? ''}` : ''),
      h('td', bad.items.length ? badge(`${bad.items.length}${bad.next ? '+' : ''} refused`, 'critical') : '0'),
      h('td', h('button.small', { type: 'button', onclick: () => { view.filters.instrument.value = i.name; journal(); } }, 'Journal')));
  }));
  if (!view) return;
  view.links.replaceChildren(rows.length
    ? table('Links', ['Instrument', 'State', 'Last message', 'Refused (24 h)', ''], rows)
    : h('p.empty', 'No instruments registered.'));
}

async function journal() {
  const f = Object.fromEntries(new FormData(view.filters).entries());
  let data;
  try {
    data = await get('/api/v1/messages' + query({ ...f, limit: 50 }));
  } catch (e) {
    say(view.status, describe(e), 'error');
    return;
  }
  view.journal.replaceChildren(data.items.length ? table('Message journal, newest first',
    ['Received', 'Instrument', 'Type', 'Status', 'Error', ''],
    data.items.map((m) => h('tr' + (m.status === 'rejected' || m.status === 'error' ? '.late' : ''),
      h('td', time(m.received_at)), h('td', m.instrument ?? m.peer), h('td', m.type ?? ''),
      h('td', badge(m.status, m.status === 'accepted' ? 'good' : m.status === 'duplicate' ? null : 'critical')),
      h('td', m.error ?? ''),
      h('td', h('button.small', { type: 'button', onclick: () => message(m.id) }, 'Open')))))
    : h('p.empty', 'No messages match.'));
}

async function message(id) {
  const m = await get('/api/v1/messages/' + encodeURIComponent(id));
  const raw = m.raw ?? (m.raw_base64 ? `(binary, base64) ${m.raw_base64}` : '');
  view.detail.replaceChildren(...[
    h('h2', `${m.type ?? 'Message'} from ${m.instrument ?? m.peer}`),
    h('p', `Received ${time(m.received_at)}, status `, badge(m.status), m.ack ? ` (answered ${m.ack})` : ''),
    m.error ? h('p.notice.error', `Error${m.error_field ? ' in ' + m.error_field : ''}: ${m.error}`) : null,
    h('pre.raw', { tabindex: 0, 'aria-label': 'Raw message' }, raw.replace(/\r/g, '\n')),
    view.ctx.can('interfaces.manage') ? h('button', {
      type: 'button',
      onclick: async () => {
        try {
          const r = await post(`/api/v1/messages/${encodeURIComponent(id)}/replay`);
          say(view.status, `Replayed: ${r.status ?? 'done'}.`);
          await journal();
        } catch (e) {
          say(view.status, describe(e), 'error');
        }
      },
    }, 'Replay this message') : null].filter(Boolean));
  view.detail.hidden = false;
  view.detail.querySelector('h2').focus?.();
}

export default {
  id: 'interfaces',
  title: 'Interfaces',
  perm: 'interfaces.read',

  async mount(root, ctx) {
    view = { ctx, status: h('p.notice', { role: 'status' }), links: h('div'), listening: h('p.muted'), connections: h('div'), journal: h('div'), detail: h('section.detail', { hidden: true, 'aria-label': 'Message' }) };
    view.filters = form({ class: 'filters', 'aria-label': 'Journal filters' }, [
      field('Instrument', input('instrument', { size: 12 })),
      field('Status', select('status', [['', 'Any'], 'accepted', 'duplicate', 'rejected', 'error'])),
      field('Control id', input('control_id', { size: 14 })),
      h('button', { type: 'submit' }, 'Search'),
    ], () => journal());
    root.append(h('h1', 'Interfaces'), view.status, view.links, h('h2', 'Connections'), view.listening, view.connections,
      h('h2', 'Message journal'), view.filters, view.journal, view.detail);
    await Promise.all([links(), journal()]);
    view.timer = setInterval(() => links().catch(() => {}), REFRESH_MS);
  },

  unmount() {
    clearInterval(view?.timer);
    view = null;
  },
};
