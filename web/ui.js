// ui.js: tiny DOM helpers shared by the pages (no framework): element builder, formatting,
// status badges, toasts.

// h('div', {class: 'x', onclick: fn}, child, 'text', [more]) -> HTMLElement
export function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k in el && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, kids);
  return el;
}

function append(el, kids) {
  for (const k of kids) {
    if (k === null || k === undefined || k === false) continue;
    if (Array.isArray(k)) append(el, k);
    else el.append(k instanceof Node ? k : document.createTextNode(String(k)));
  }
}

export function clear(el) { while (el.firstChild) el.firstChild.remove(); return el; }

export function badge(s) {
  const t = String(s ?? '').toLowerCase();
  return h('span', {class: `badge b-${t}`}, t || '—');
}

export function ago(iso) {
  if (!iso) return '—';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const d = (Date.now() - t) / 1000, a = Math.abs(d), sfx = d >= 0 ? ' ago' : ' from now';
  if (a < 60) return `${Math.round(a)} s${sfx}`;
  if (a < 3600) return `${Math.round(a / 60)} min${sfx}`;
  if (a < 86400) return `${Math.round(a / 3600)} h${sfx}`;
  return `${Math.round(a / 86400)} d${sfx}`;
}

export function when(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : h('time', {datetime: iso, title: iso}, d.toLocaleString());
}

export function num(x, digits = 2) {
  if (x === null || x === undefined || x === '') return '—';
  const n = Number(x);
  return Number.isFinite(n) ? (Number.isInteger(n) ? String(n) : n.toFixed(digits)) : String(x);
}

export function short(id) { return id ? String(id).slice(0, 8) : '—'; }

export function toast(msg, err = false) {
  const box = document.getElementById('toast');
  const d = h('div', {class: err ? 'err' : ''}, msg);
  box.append(d);
  setTimeout(() => d.remove(), err ? 8000 : 3500);
}

// A table from rows and column specs [{label, get(row) -> node|text, class}]
export function table(rows, cols, empty = 'nothing here yet') {
  if (!rows.length) return h('p', {class: 'muted'}, empty);
  return h('table', {},
    h('thead', {}, h('tr', {}, cols.map(c => h('th', {class: c.class || ''}, c.label)))),
    h('tbody', {}, rows.map(r => h('tr', {dataset: r.__data || {}},
      cols.map(c => h('td', {class: c.class || ''}, c.get(r)))))));
}

export function json(v) { return h('pre', {}, JSON.stringify(v, null, 2)); }
