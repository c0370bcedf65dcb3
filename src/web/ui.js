// ui.js - small DOM helpers shared by the pages: building elements, forms
// whose API errors appear next to the field they name, times and tables.

import { ApiError } from './api.js';

// h('tag.class', {attr: value, onclick: fn}, children...)
export function h(spec, attrs, ...children) {
  const [tag, ...classes] = spec.split('.');
  const el = document.createElement(tag || 'div');
  if (classes.length) el.className = classes.join(' ');
  if (attrs && (typeof attrs !== 'object' || attrs instanceof Node || Array.isArray(attrs))) {
    children.unshift(attrs);
    attrs = null;
  }
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'text') el.textContent = v;
    else if (k in el && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

let uid = 0;
export const nextId = (p) => `${p}-${++uid}`;

// A labelled control with a place for its error; the control is named name
// so that an API error whose field is name lands here.
export function field(label, control, hint) {
  const id = control.id || nextId(control.name || 'f');
  control.id = id;
  const err = h('p.field-error', { id: id + '-error', role: 'alert' });
  control.setAttribute('aria-describedby', id + '-error');
  return h('div.field', h('label', { for: id }, label), control, hint ? h('p.hint', hint) : null, err);
}

export const input = (name, attrs = {}) => h('input', { name, ...attrs });

export function select(name, options, attrs = {}) {
  return h('select', { name, ...attrs }, options.map((o) => {
    const [value, text] = Array.isArray(o) ? o : [o, o];
    return h('option', { value }, text);
  }));
}

// Clear the errors of a form, then show err: next to its field when the form
// has it, else in the form's general message.
export function clearErrors(form) {
  form.querySelectorAll('.field-error, .form-error').forEach((e) => { e.textContent = ''; });
  form.querySelectorAll('[aria-invalid]').forEach((e) => e.removeAttribute('aria-invalid'));
}

export function showError(form, err) {
  clearErrors(form);
  const msg = describe(err);
  const base = err instanceof ApiError && err.field ? err.field.replace(/\[\d+\].*$/, '') : null;
  const ctl = base ? form.querySelector(`[name="${CSS.escape(err.field)}"], [name="${CSS.escape(base)}"]`) : null;
  if (ctl) {
    ctl.setAttribute('aria-invalid', 'true');
    const slot = document.getElementById(ctl.id + '-error');
    if (slot) {
      slot.textContent = msg;
      ctl.focus();
      return;
    }
  }
  let general = form.querySelector('.form-error');
  if (!general) {
    general = h('p.form-error', { role: 'alert' });
    form.append(general);
  }
  general.textContent = msg;
}

// What to tell the user about an error, whatever it is.
export function describe(err) {
  if (!(err instanceof ApiError)) return String(err?.message ?? err);
  if (err.status === 403 && err.code === 'forbidden') return 'Not allowed: ' + err.message + '.';
  if (err.status === 503) return 'The server is busy; nothing was changed. Try again in a moment.';
  return err.message.charAt(0).toUpperCase() + err.message.slice(1);
}

// A form that calls submit(values) and shows its errors; a busy form cannot
// be sent twice.
export function form(attrs, children, submit) {
  const f = h('form', { novalidate: true, ...attrs }, children, h('p.form-error', { role: 'alert' }));
  f.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (f.dataset.busy) return;
    f.dataset.busy = '1';
    clearErrors(f);
    try {
      await submit(Object.fromEntries(new FormData(f).entries()), f);
    } catch (err) {
      showError(f, err);
    } finally {
      delete f.dataset.busy;
    }
  });
  return f;
}

export function time(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return d.toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

// A day with its year (for what may lie in another year: a last service).
// A bare date (YYYY-MM-DD) is that day wherever the browser is.
export function day(iso) {
  if (!iso) return '';
  const bare = /^\d{4}-\d\d-\d\d$/.test(iso);
  return new Date(iso).toLocaleDateString(undefined,
    { year: 'numeric', month: 'short', day: 'numeric', ...(bare ? { timeZone: 'UTC' } : {}) });
}

export function minutes(n) {
  if (n < 60) return `${n} min`;
  const hours = Math.floor(n / 60);
  if (hours < 48) return `${hours} h ${n % 60} min`;
  return `${Math.floor(hours / 24)} days`;
}

export function table(caption, headers, rows) {
  return h('table', h('caption', caption),
    h('thead', h('tr', headers.map((x) => h('th', { scope: 'col' }, x)))),
    h('tbody', rows));
}

export const badge = (text, kind) => h('span.badge' + (kind ? '.' + kind : ''), text);

export function flagBadge(flag) {
  if (!flag) return null;
  const kind = flag === 'HH' || flag === 'LL' ? 'critical' : 'abnormal';
  return badge(flag, kind);
}

export function priorityBadge(p) {
  return badge(p.toUpperCase(), p === 'stat' ? 'stat' : p === 'asap' ? 'asap' : 'routine');
}

// A message in a page's status line (success or failure).
export function say(el, text, kind = 'ok') {
  el.className = 'notice ' + kind;
  el.textContent = text;
}

// An SVG document (text, as the server's charts come) as a data: URL for an
// <img>, fetched beforehand as a background request so that a live refresh
// of a chart does not count as activity.
export function svgDataUrl(text) {
  const bytes = new TextEncoder().encode(text);
  let s = '';
  for (const x of bytes) s += String.fromCharCode(x);
  return 'data:image/svg+xml;base64,' + btoa(s);
}

// Replace el's children with parts (nested arrays flattened; null, undefined
// and false left out, as h() does).
export function fill(el, ...parts) {
  el.replaceChildren(...parts.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
}

// Run load once, 300 ms after the last call for view (a burst of live events
// costs one refresh); a failure is said in view.status.
export function soon(view, load) {
  clearTimeout(view.timer);
  view.timer = setTimeout(() => load().catch((e) => say(view.status, describe(e), 'error')), 300);
}
