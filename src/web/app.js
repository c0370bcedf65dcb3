// app.js - the workbench shell: sign-in and sign-out, the idle countdown, the
// navigation of the pages the signed-in role may use (pages.js), the live
// events stream (GET /api/v1/events) and the critical-value banner that
// stays until every critical value's call is documented. All data goes
// through the REST API (api.js); the server checks every permission again.

import { api, get, query, setHooks } from './api.js';
import { pages } from './pages.js';
import { describe, h, time } from './ui.js';

const $ = (id) => document.getElementById(id);

const state = {
  session: null, // {user, permissions, idle_timeout_seconds}
  perms: new Set(),
  lastActivity: Date.now(),
  page: null, // the mounted page module
  events: null, // EventSource
  criticals: [],
};

const can = (perm) => !perm || state.perms.has(perm);

// ---- sign-in, sign-out, expiry

function showSignin(message) {
  closeEvents();
  state.session = null;
  state.perms = new Set();
  unmountPage();
  $('page').hidden = true;
  $('who-box').hidden = true;
  $('nav').replaceChildren();
  $('banner').hidden = true;
  $('toasts').replaceChildren();
  $('signin').hidden = false;
  $('signin-message').textContent = message ?? '';
  $('signin-message').className = message ? 'notice warn' : 'notice';
  $('username').focus();
}

function expired(reason) {
  if (!state.session) return;
  const mins = Math.round(state.session.idle_timeout_seconds / 60);
  showSignin(reason === 'signed-out'
    ? 'You were signed out. Sign in again to go on.'
    : `Your session expired after ${mins} minutes without activity. Sign in again to go on; nothing you had not sent was saved.`);
}

setHooks({
  onActivity: () => { state.lastActivity = Date.now(); },
  onUnauthorized: () => expired(),
});

async function start() {
  try {
    const s = await get('/api/v1/session', { background: true, signin: true });
    state.session = s;
    state.perms = new Set(s.permissions);
    state.lastActivity = Date.now();
  } catch {
    showSignin();
    return;
  }
  $('signin').hidden = true;
  $('who-box').hidden = false;
  $('who').textContent = `${state.session.user.display_name} (${state.session.user.role})`;
  updateIdle();
  buildNav();
  openEvents();
  refreshCriticals();
  route();
}

$('signin-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const err = $('signin-error');
  err.textContent = '';
  try {
    await api('POST', '/api/v1/session', {
      username: $('username').value, password: $('password').value,
    }, { signin: true });
  } catch (e) {
    err.textContent = e.code === 'bad_credentials'
      ? 'Wrong username or password. Five wrong passwords in a row lock the account.'
      : e.code === 'account_locked'
        ? 'This account is locked after too many wrong passwords: an administrator can unlock it.'
        : describe(e);
    $('password').select();
    return;
  } finally {
    $('password').value = '';
  }
  $('signin-message').textContent = '';
  await start();
});

$('signout').addEventListener('click', async () => {
  try {
    await api('DELETE', '/api/v1/session');
  } catch { /* signed out either way */ }
  showSignin('You are signed out.');
});

// ---- the idle countdown (the server ends the session; this only shows when)

function updateIdle() {
  if (!state.session) return;
  const left = Math.round(state.session.idle_timeout_seconds - (Date.now() - state.lastActivity) / 1000);
  const el = $('idle');
  if (left <= 0) {
    el.textContent = '';
    // Ask the server without counting as activity: 401 shows the expiry.
    get('/api/v1/session', { background: true }).then(() => {}, () => {});
    return;
  }
  const m = Math.floor(left / 60);
  const s = String(left % 60).padStart(2, '0');
  el.textContent = `Idle sign-out in ${m}:${s}`;
  el.classList.toggle('soon', left <= 60);
}

setInterval(updateIdle, 1000);

// ---- navigation

function buildNav() {
  const nav = $('nav');
  nav.replaceChildren(h('ul', pages.filter((p) => can(p.perm)).map((p) =>
    h('li', h('a', { href: '#/' + p.id, 'data-page': p.id }, p.title)))));
}

function unmountPage() {
  state.page?.unmount?.();
  state.page = null;
}

async function route() {
  if (!state.session) return;
  const [id, q] = location.hash.replace(/^#\/?/, '').split('?');
  const allowed = pages.filter((p) => can(p.perm));
  let page = pages.find((p) => p.id === id);
  const root = $('page');
  unmountPage();
  root.hidden = false;
  if (page && !can(page.perm)) {
    root.replaceChildren(h('h1', page.title), h('p.notice.error', { role: 'alert' },
      `Your role (${state.session.user.role}) may not use this page: it needs the permission ${page.perm}.`));
    return;
  }
  page = page ?? allowed[0];
  if (!page) {
    root.replaceChildren(h('h1', 'Nothing to show'), h('p', 'Your role has no workbench pages.'));
    return;
  }
  for (const a of $('nav').querySelectorAll('a')) {
    if (a.dataset.page === page.id) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  document.title = `${page.title} · benchside`;
  root.replaceChildren();
  state.page = page;
  try {
    await page.mount(root, {
      params: new URLSearchParams(q ?? ''), can, user: state.session.user,
      go: (hash) => { location.hash = hash; },
    });
    // Unless the page put the focus somewhere (the scan field), it goes to
    // the page's heading, so that a screen reader says where one is.
    const active = document.activeElement;
    if (state.page === page && (!active || active === document.body || !root.contains(active))) {
      const h1 = root.querySelector('h1');
      if (h1) {
        h1.tabIndex = -1;
        h1.focus();
      }
    }
  } catch (e) {
    if (state.page === page) root.append(h('p.notice.error', { role: 'alert' }, describe(e)));
  }
}

window.addEventListener('hashchange', route);

// ---- device alerts: a note at the top of every page until dismissed

const DEVICE_KINDS = ['device.temperature.opened', 'device.temperature.closed',
  'device.work_order.reported', 'device.status', 'device.qc.lockout.opened', 'device.qc.lockout.closed'];

// What a device event says to someone on any page; null for the ones that
// only refresh the equipment page. The data carries ids, never values.
function deviceNote(kind, d) {
  switch (kind) {
    case 'device.temperature.opened': return `Temperature alert: ${d.unit} is outside its limits.`;
    case 'device.work_order.reported': return `A ${d.severity} fault was reported on ${d.asset}.`;
    case 'device.qc.lockout.opened': return `${d.device} is locked: its tolerance check ${d.code} failed.`;
    default: return null;
  }
}

function deviceToast(kind, data) {
  const text = deviceNote(kind, data);
  if (!text) return;
  const box = $('toasts');
  const note = h('div.toast', { role: 'alert' },
    h('span', `${time(data.at)} · ${text} `),
    h('a', { href: '#/equipment' + query({ asset: data.device ?? data.asset }) }, 'Open the equipment page'),
    h('button.small.quiet', { type: 'button', onclick: () => note.remove() }, 'Dismiss'));
  box.prepend(note);
  // Only the latest few: the equipment page lists them all.
  while (box.children.length > 4) box.lastElementChild.remove();
}

// ---- live events

const KINDS = ['specimen.event', 'result.entered', 'result.released', 'result.corrected',
  'critical.raised', 'critical.called', 'qc.rejected', 'qc.lockout.opened', 'qc.lockout.closed',
  'stock.movement', 'stock.verification', 'stock.reagent.in-use', 'stock.reagent.out-of-use',
  ...DEVICE_KINDS];

function live(text, kind) {
  const el = $('live');
  el.textContent = text;
  el.className = 'live ' + (kind ?? '');
}

function openEvents() {
  closeEvents();
  const es = new EventSource('/api/v1/events');
  state.events = es;
  es.onopen = () => live('Live', 'on');
  es.onerror = () => {
    if (es.readyState === EventSource.CLOSED) {
      live('Live updates stopped', 'off');
      // Refused outright: a 401 means the session is over.
      get('/api/v1/session', { background: true }).then(() => setTimeout(() => {
        if (state.events === es) openEvents();
      }, 5000), () => {});
    } else {
      live('Reconnecting…', 'off');
    }
  };
  for (const kind of KINDS) {
    es.addEventListener(kind, (ev) => {
      let data = {};
      try { data = JSON.parse(ev.data); } catch { /* keep {} */ }
      if (kind.startsWith('critical.')) refreshCriticals();
      if (kind.startsWith('device.')) deviceToast(kind, data);
      state.page?.onEvent?.(kind, data);
    });
  }
  es.addEventListener('reset', () => {
    refreshCriticals();
    state.page?.onEvent?.('reset', {});
  });
  es.addEventListener('session-ended', () => {
    closeEvents();
    expired();
  });
}

function closeEvents() {
  state.events?.close();
  state.events = null;
  live('');
}

// ---- the critical-value banner: until every call is documented

async function refreshCriticals() {
  if (!can('patients.read')) return;
  let items;
  try {
    items = (await get('/api/v1/results/critical', { background: true })).items;
  } catch {
    return;
  }
  state.criticals = items;
  const b = $('banner');
  if (!items.length) {
    b.hidden = true;
    b.replaceChildren();
    return;
  }
  b.replaceChildren(
    h('strong', `${items.length} critical value${items.length > 1 ? 's' : ''} to call`),
    h('ul', items.map((r) => h('li',
      `${r.name ?? r.code} ${r.value} ${r.unit ?? ''} (${r.flag}) on specimen ${r.accession}, since ${time(r.critical_alert?.opened_at)} `,
      can('results.release')
        ? h('a', { href: `#/review?call=${encodeURIComponent(r.id)}` }, 'Document the call')
        : null))));
  b.hidden = false;
}

fetch('/api/v1/health').then((r) => r.json()).then((d) => {
  $('health').textContent = `Server ${d.version}, database ${d.database}`;
}, () => { $('health').textContent = 'The server cannot be reached.'; });

start();
