// The overview's bar chart (SVG): deadlines per week for the next 12 weeks, overdue apart.

import { fmtDate } from './dom.js';
import { getLang, t } from './i18n.js';

const NS = 'http://www.w3.org/2000/svg';
function s(tag, attrs, text) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = String(text);
  return el;
}

/** weeks: [{start: 'YYYY-MM-DD', count}], overdue: number. */
export function weeksChart(weeks, overdue) {
  const bars = [{ label: t('chart_overdue'), count: overdue || 0, overdue: true }].concat(
    weeks.map((w) => ({ label: fmtDate(w.start, getLang()).replace(/\s?\d{4}.*$/, ''), title: t('chart_week', { d: fmtDate(w.start, getLang()), n: w.count }), count: w.count })),
  );
  const W = 720;
  const H = 250;
  const pad = { l: 64, r: 8, t: 16, b: 56 };
  const max = Math.max(1, ...bars.map((b) => b.count));
  const step = (W - pad.l - pad.r) / bars.length;
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-label': t('chart_title') });
  const plotH = H - pad.t - pad.b;
  const ticks = new Set([0, 1, 2, 3, 4].map((i) => Math.round((max * i) / 4)));
  for (const v of ticks) {
    const y = pad.t + plotH - (plotH * v) / max;
    svg.append(s('line', { x1: pad.l, x2: W - pad.r, y1: y, y2: y, class: 'chart-grid' }));
    svg.append(s('text', { x: pad.l - 6, y: y + 4, class: 'chart-axis', 'text-anchor': 'end' }, v));
  }
  bars.forEach((b, i) => {
    const x = pad.l + i * step + step * 0.15;
    const hgt = (plotH * b.count) / max;
    const y = pad.t + plotH - hgt;
    const g = s('g', { class: b.overdue ? 'bar bar-overdue' : 'bar', 'data-count': b.count });
    g.append(s('title', {}, b.title || `${b.label}: ${b.count}`));
    g.append(s('rect', { x, y, width: step * 0.7, height: Math.max(hgt, b.count ? 1 : 0), rx: 2 }));
    g.append(s('text', { x: x + step * 0.35, y: y - 4, class: 'chart-value', 'text-anchor': 'middle' }, b.count));
    const lx = x + step * 0.35;
    const ly = H - pad.b + 14;
    g.append(s('text', { x: lx, y: ly, class: 'chart-label', 'text-anchor': 'end', transform: `rotate(-40 ${lx} ${ly})` }, b.label));
    svg.append(g);
    if (b.overdue) {
      const sx = pad.l + step;
      svg.append(s('line', { x1: sx, x2: sx, y1: pad.t, y2: H - pad.b, class: 'chart-sep' }));
    }
  });
  return svg;
}
