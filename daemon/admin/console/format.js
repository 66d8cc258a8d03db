// Small pieces the console draws with: DOM nodes from text (never markup), formats, sparklines.

export const HOUR = 3600;

export const $ = (id) => document.getElementById(id);

// One element with attributes and children; strings become text nodes, never markup.
export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value !== undefined && value !== null && value !== false) node.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child !== undefined && child !== null) node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

export function svg(tag, attrs) {
  const node = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, String(value));
  return node;
}

export function setText(id, text, cls) {
  const node = $(id);
  node.textContent = text;
  if (cls !== undefined) node.className = cls;
}

// --- formatting -------------------------------------------------------------------------------

export const now = () => Date.now() / 1000;

export function duration(seconds) {
  if (seconds === null || seconds === undefined || !isFinite(seconds)) return '—';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return s + ' s';
  const m = Math.floor(s / 60);
  if (m < 60) return m + ' min';
  const h = Math.floor(m / 60);
  if (h < 48) return h + ' h ' + (m % 60) + ' min';
  return Math.floor(h / 24) + ' d ' + (h % 24) + ' h';
}
export const ago = (t) => (t ? duration(now() - t) + ' ago' : 'never');
export const until = (t) => (t ? (t <= now() ? 'due now' : 'in ' + duration(t - now())) : '—');
export const clock = (t) => (t ? new Date(t * 1000).toLocaleString() : '');
export const clockShort = (t) => new Date(t * 1000).toLocaleTimeString();

export function bytes(n) {
  if (n === null || n === undefined) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return (i === 0 ? v : v.toFixed(v < 10 ? 1 : 0)) + ' ' + units[i];
}

export function latency(seconds) {
  if (seconds === null || seconds === undefined) return '—';
  if (seconds < 1) return (seconds * 1000).toFixed(seconds < 0.01 ? 1 : 0) + ' ms';
  return seconds.toFixed(2) + ' s';
}

export function badge(text, tone) {
  return el('span', { class: 'badge ' + tone }, text);
}

export const serviceTone = (s) =>
  s.crashloop ? 'bad'
    : s.state === 'running' ? (s.ready ? 'ok' : 'warn')
      : s.state === 'starting' || s.state === 'stopping' ? 'warn'
        : s.state === 'stopped' ? 'muted' : 'bad';

// A sparkline of values over x in [0, 1]; `marks` are x positions drawn as red ticks (failures);
// `dots` draws each point (few points far apart: backups) instead of the area under the line.
export function sparkline(points, marks, label, wide, dots) {
  const W = 100;
  const H = 24;
  const node = svg('svg', { class: 'spark' + (wide ? ' wide' : ''), viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: 'none', role: 'img', 'aria-label': label });
  const title = svg('title');
  title.textContent = label;
  node.append(title);
  if (points.length > 0) {
    const max = Math.max(...points.map((p) => p.y)) || 1;
    const xy = points.map((p) => [p.x * W, H - 2 - (p.y / max) * (H - 4)]);
    if (xy.length === 1) xy.unshift([Math.max(0, xy[0][0] - 2), xy[0][1]]);
    const line = xy.map(([x, y]) => x.toFixed(2) + ',' + y.toFixed(2)).join(' ');
    if (!dots) node.append(svg('polygon', { class: 'area', points: `${xy[0][0].toFixed(2)},${H} ${line} ${xy[xy.length - 1][0].toFixed(2)},${H}` }));
    node.append(svg('polyline', { points: line }));
    // A zero-length path with a round cap and an unscaled stroke: a round dot in a stretched viewBox.
    if (dots) for (const [x, y] of xy) node.append(svg('path', { class: 'dot', d: `M${x.toFixed(2)} ${y.toFixed(2)}h0` }));
  }
  for (const x of marks) node.append(svg('rect', { class: 'fail', x: Math.min(W - 1.5, x * W).toFixed(2), y: H - 5, width: 1.5, height: 5 }));
  return node;
}

