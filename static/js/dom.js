// Tiny DOM helpers. Text always goes in as text nodes, never parsed as markup.

/** Creates an element: h('a', {href: '#/x', class: 'btn', onclick: fn}, 'text', child). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'value') el.value = v;
    else if (k === 'checked') el.checked = Boolean(v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

/** Appends children: nodes as they are, anything else as a text node. */
export function append(el, children) {
  for (const c of [children].flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

let idCounter = 0;
export function uid(prefix = 'f') {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}

/** Formats a date (YYYY-MM-DD or ISO date-time) for display. */
export function fmtDate(value, lang) {
  if (!value) return '—';
  const d = new Date(value.length === 10 ? `${value}T00:00:00` : value);
  if (Number.isNaN(d.getTime())) return String(value);
  const opts = value.length === 10 ? { dateStyle: 'medium' } : { dateStyle: 'medium', timeStyle: 'short' };
  return new Intl.DateTimeFormat(lang === 'en' ? 'en-GB' : 'ru-RU', opts).format(d);
}

/** Whole days from today (local) to a YYYY-MM-DD date; negative when past. */
export function daysLeft(date) {
  if (!date) return null;
  const [y, m, d] = String(date).slice(0, 10).split('-').map(Number);
  const target = Date.UTC(y, m - 1, d);
  const now = new Date();
  const today = Date.UTC(now.getFullYear(), now.getMonth(), now.getDate());
  return Math.round((target - today) / 86400000);
}

/** overdue | d7 | d14 | ok, from days left. */
export function urgency(days) {
  if (days === null || days === undefined) return 'ok';
  if (days < 0) return 'overdue';
  if (days <= 7) return 'd7';
  if (days <= 14) return 'd14';
  return 'ok';
}

/** The first present value among keys (dotted paths allowed). */
export function pick(obj, ...keys) {
  for (const key of keys) {
    let v = obj;
    for (const part of key.split('.')) v = v === null || v === undefined ? undefined : v[part];
    if (v !== undefined && v !== null && v !== '') return v;
  }
  return undefined;
}
