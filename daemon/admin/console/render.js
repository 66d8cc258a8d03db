// Draws the admin API's answers into the page: keyed table rows, facts, lists, the reload plan.
// Buttons in rows call the handlers console.js registers; nothing here talks to the API.

import { $, HOUR, ago, badge, bytes, clock, clockShort, duration, el, latency, now, serviceTone, setText, sparkline, until } from './format.js';

let latest = { status: null, backups: null, migrations: null, history: null };
let handlers = { service: () => {}, probe: () => {} };

// `service(name, verb)` for restart/stop/start buttons, `probe(name)` for "Run now".
export function setHandlers(h) {
  handlers = h;
}

function probeSpark(name) {
  const buckets = (latest.history && latest.history.probes && latest.history.probes[name]) || [];
  const end = now();
  if (buckets.length === 0) return [sparkline([], [], 'no checks in the last hour'), el('span', { class: 'muted small' }, 'no data')];
  let start = Math.max(end - HOUR, buckets[0].t);
  if (end - start < 60) start = end - 60;
  const x = (t) => Math.min(1, Math.max(0, (t - start) / (end - start)));
  const points = buckets.map((b) => ({ x: x(b.t), y: b.max_seconds }));
  const marks = buckets.filter((b) => b.failures > 0).map((b) => x(b.t));
  const peak = Math.max(...buckets.map((b) => b.max_seconds));
  const span = end - start >= HOUR - 60 ? 'last hour' : 'last ' + duration(end - start);
  const failed = buckets.reduce((n, b) => n + b.failures, 0);
  const label = `${span}: peak ${latency(peak)}, ${failed} failed check(s)`;
  return [sparkline(points, marks, label), el('span', { class: 'muted small' }, span)];
}

const serviceRows = new Map();
const probeRows = new Map();

function cell(label, cls, ...children) {
  return el('td', { 'data-label': label, class: cls }, ...children);
}

function serviceRow(name) {
  const row = {
    tr: el('tr', { 'data-service': name }),
    state: cell('state', 'state'),
    pid: cell('pid', 'pid mono'),
    uptime: cell('uptime', 'uptime'),
    restarts: cell('restarts', 'restarts'),
    exit: cell('last exit', 'exit wrap'),
    restart: el('button', { type: 'button', class: 'small', 'data-action': 'restart' }, 'Restart'),
    stop: el('button', { type: 'button', class: 'small', 'data-action': 'stop' }, 'Stop'),
    start: el('button', { type: 'button', class: 'small', 'data-action': 'start' }, 'Start'),
  };
  row.restart.addEventListener('click', () => handlers.service(name, 'restart'));
  row.stop.addEventListener('click', () => handlers.service(name, 'stop'));
  row.start.addEventListener('click', () => handlers.service(name, 'start'));
  row.tr.append(cell('service', 'name', name), row.state, row.pid, row.uptime, row.restarts, row.exit,
    cell('', 'actions', row.restart, row.stop, row.start));
  return row;
}

function renderServices(list) {
  const tbody = $('services');
  const seen = new Set();
  for (const s of list) {
    seen.add(s.name);
    let row = serviceRows.get(s.name);
    if (!row) {
      row = serviceRow(s.name);
      serviceRows.set(s.name, row);
      tbody.append(row.tr);
    }
    row.tr.dataset.state = s.state;
    const text = s.crashloop ? s.state + ' · crash loop' : s.state === 'running' && !s.ready ? 'running · not ready' : s.state;
    row.state.replaceChildren(badge(text, serviceTone(s)));
    if (s.state === 'backoff' && s.next_start) row.state.append(el('span', { class: 'muted small' }, ' next start ' + until(s.next_start)));
    if (s.last_error) row.state.append(el('div', { class: 'error small' }, s.last_error));
    row.pid.textContent = s.pid === null ? '—' : String(s.pid);
    row.uptime.textContent = duration(s.uptime_seconds);
    row.restarts.textContent = String(s.restarts);
    row.exit.textContent = s.last_exit ? `${s.last_exit.description}, ${ago(s.last_exit.at)}` : '—';
    const stopped = s.state === 'stopped' || s.state === 'exited';
    row.restart.disabled = s.state === 'stopped';
    row.stop.disabled = s.state === 'stopped';
    row.start.disabled = !(stopped || s.state === 'backoff');
  }
  for (const [name, row] of serviceRows) {
    if (!seen.has(name)) {
      row.tr.remove();
      serviceRows.delete(name);
    }
  }
  $('services-empty').hidden = list.length > 0;
}

function probeRow(name) {
  const row = {
    tr: el('tr', { 'data-probe': name }),
    health: cell('health', 'health'),
    latency: cell('latency', 'latency'),
    spark: cell('recent', 'spark-cell'),
    failures: cell('failures', 'failures'),
    error: cell('last error', 'error-text wrap'),
    run: el('button', { type: 'button', class: 'small', 'data-action': 'run' }, 'Run now'),
  };
  row.run.addEventListener('click', () => handlers.probe(name));
  row.tr.append(cell('probe', 'name', name), row.health, row.latency, row.spark, row.failures, row.error, cell('', 'actions', row.run));
  return row;
}

function renderProbes(list) {
  const tbody = $('probes');
  const seen = new Set();
  for (const p of list) {
    seen.add(p.name);
    let row = probeRows.get(p.name);
    if (!row) {
      row = probeRow(p.name);
      probeRows.set(p.name, row);
      tbody.append(row.tr);
    }
    row.tr.dataset.health = p.health;
    const tone = p.health === 'up' ? 'ok' : p.health === 'down' ? 'bad' : 'muted';
    row.health.replaceChildren(badge(p.health, tone));
    if (p.since) row.health.append(el('span', { class: 'muted small', title: clock(p.since) }, ' ' + duration(now() - p.since)));
    row.latency.textContent = latency(p.last_duration_seconds);
    row.spark.replaceChildren(...probeSpark(p.name));
    row.failures.textContent = String(p.failures_total);
    row.error.textContent = p.last_error || '—';
  }
  for (const [name, row] of probeRows) {
    if (!seen.has(name)) {
      row.tr.remove();
      probeRows.delete(name);
    }
  }
  $('probes-empty').hidden = list.length > 0;
}

function facts(id, pairs) {
  const dl = $(id);
  dl.replaceChildren();
  for (const [term, value, cls] of pairs) dl.append(el('dt', null, term), el('dd', { class: cls }, value));
}

function renderBackups(b, listing) {
  const published = (listing && listing.backups) || [];
  const newest = published[0];
  const failedLast = b.last_failure && (!b.last_success || b.last_failure.at > b.last_success.at);
  const pairs = [];
  if (!b.configured) pairs.push(['backups', 'not configured (no backups section in the spec)', 'muted']);
  pairs.push(['last success', b.last_success ? `${ago(b.last_success.at)} · ${bytes(b.last_success.bytes)} in ${b.last_success.duration_seconds.toFixed(1)} s` : 'none yet']);
  if (b.last_failure) pairs.push(['last failure', `${ago(b.last_failure.at)}: ${b.last_failure.error || 'failed'}`, failedLast ? 'bad' : '']);
  if (b.running) pairs.push(['running', `a ${b.running_kind} backup`, '']);
  pairs.push(['next run', b.next_run ? `${until(b.next_run)} (${clock(b.next_run)})` : 'no schedule']);
  pairs.push(['verification', newest ? `${newest.verified} (newest backup)` : '—', newest && newest.verified === 'failed' ? 'bad' : '']);
  const drill = b.last_drill;
  if (drill && drill.at) {
    const okDrill = drill.success && (!drill.failure || drill.success.at >= drill.failure.at);
    pairs.push(['restore drill', `${okDrill ? 'passed' : 'failed'} ${ago(drill.at)}`, okDrill ? 'ok' : 'bad']);
  } else {
    pairs.push(['restore drill', b.next_drill ? `none yet, next ${until(b.next_drill)}` : b.drill_configured === false ? 'not scheduled' : 'none yet']);
  }
  pairs.push(['off-site copy', b.offsite_configured === false ? 'not configured' : b.offsite_last_success ? ago(b.offsite_last_success) : 'none yet']);
  facts('backup-facts', pairs);

  const oldestFirst = published.slice().reverse();
  const points = oldestFirst.map((x, i) => ({ x: oldestFirst.length === 1 ? 0.5 : 0.03 + (0.94 * i) / (oldestFirst.length - 1), y: x.bytes }));
  const label = published.length ? `${published.length} backup(s), newest ${bytes(newest.bytes)}` : 'no backups';
  $('backup-trend').replaceChildren(el('span', { class: 'spark-cell' }, sparkline(points, [], label, true, true), el('span', { class: 'muted small' }, label)));

  const shown = 10; // the newest; retention may keep many more (the trend above has them all)
  const rows = published.slice(0, shown).map((x) => {
    const tone = x.verified === 'failed' ? 'bad' : x.verified === 'none' ? 'muted' : 'ok';
    return el('tr', { 'data-backup': x.id },
      cell('backup', 'mono wrap', x.id),
      cell('finished', '', el('span', { title: clock(x.finished) }, ago(x.finished))),
      cell('size', '', bytes(x.bytes)),
      cell('verified', '', badge(x.verified + (x.encrypted ? ' · encrypted' : ''), tone)));
  });
  if (published.length > shown) {
    rows.push(el('tr', null, el('td', { class: 'muted', colspan: 4 }, `and ${published.length - shown} older (steward backup list)`)));
  }
  $('backups').replaceChildren(...rows);
  $('backups-empty').hidden = published.length > 0;
  const button = $('backup-now');
  button.disabled = !b.configured || b.running;
  button.textContent = b.running ? 'Backing up…' : 'Back up now';
}

function renderMigrations(m, listing) {
  const pairs = [
    ['current version', m.current_version === null ? 'none applied' : m.current_version],
    ['applied · pending · failed', `${m.applied} · ${m.pending} · ${m.failed}`, m.failed ? 'bad' : ''],
    ['last check', m.checked_at ? ago(m.checked_at) : 'not yet'],
  ];
  if (m.running) pairs.push(['running', 'applying now', '']);
  if (listing && listing.last_apply) pairs.push(['last apply', listing.last_apply]);
  if (m.error) pairs.push(['error', m.error, 'bad']);
  facts('migration-facts', pairs);
  const entries = (listing && listing.migrations) || [];
  const rows = entries.slice(-12).reverse().map((e) => {
    const tone = e.state === 'applied' || e.state === 'baseline' ? 'ok' : e.state === 'pending' ? 'warn' : 'bad';
    return el('tr', { 'data-migration': e.version || e.name },
      cell('version', 'mono', e.version || 'R'),
      cell('name', 'wrap', e.name),
      cell('state', '', badge(e.state, tone)),
      cell('applied', '', e.applied_at ? e.applied_at.replace(/\.\d+/, '') : '—'));
  });
  $('migrations').replaceChildren(...rows);
  $('migrate').disabled = m.running;
}

function renderEvents(history) {
  const events = ((history && history.events) || []).slice(-20).reverse();
  const items = events.map((e) => el('li', { 'data-kind': e.kind },
    el('time', { datetime: new Date(e.at * 1000).toISOString() }, clockShort(e.at)),
    badge(e.kind, e.ok ? 'muted' : 'bad'),
    el('span', { class: 'text' }, e.text)));
  if (items.length === 0) items.push(el('li', { class: 'muted' }, 'Nothing happened in the last hour.'));
  $('events').replaceChildren(...items);
}

function renderSummary(st) {
  setText('deployment', st.name);
  const env = $('environment');
  env.hidden = false;
  env.textContent = st.environment;
  env.className = 'badge ' + (st.environment === 'production' ? 'bad' : 'muted');
  document.title = `${st.name} · steward`;

  setText('sum-version', st.version);
  setText('sum-uptime', `up ${duration(st.uptime_seconds)} · ${st.phase}`);

  const running = st.services.filter((s) => s.state === 'running').length;
  const loops = st.services.filter((s) => s.crashloop).map((s) => s.name);
  setText('sum-services', st.services.length ? `${running}/${st.services.length} running` : 'none',
    'value ' + (loops.length ? 'bad' : running === st.services.length ? 'ok' : 'warn'));
  setText('sum-services-sub', loops.length ? 'crash loop: ' + loops.join(', ')
    : st.services.reduce((n, s) => n + s.restarts, 0) + ' restart(s)');

  const up = st.probes.filter((p) => p.health === 'up').length;
  const down = st.probes.filter((p) => p.health === 'down').map((p) => p.name);
  setText('sum-probes', st.probes.length ? `${up}/${st.probes.length} up` : 'none',
    'value ' + (down.length ? 'bad' : up === st.probes.length ? 'ok' : 'warn'));
  setText('sum-probes-sub', down.length ? 'down: ' + down.join(', ') : 'all answering');

  const b = st.backups;
  const failedLast = b.last_failure && (!b.last_success || b.last_failure.at > b.last_success.at);
  setText('sum-backup', b.last_success ? ago(b.last_success.at) : b.configured ? 'none yet' : 'not configured',
    'value ' + (failedLast ? 'bad' : b.last_success ? 'ok' : 'warn'));
  setText('sum-backup-sub', failedLast ? 'the last attempt failed' : b.last_success ? bytes(b.last_success.bytes) + ' · ' + b.count + ' kept' : '');

  const m = st.migrations;
  setText('sum-migrations', m.current_version === null ? 'none' : 'v' + m.current_version,
    'value ' + (m.failed || m.error ? 'bad' : m.pending ? 'warn' : 'ok'));
  setText('sum-migrations-sub', m.failed ? m.failed + ' failed' : m.pending + ' pending');

  const g = st.gate;
  setText('sum-gate', `${g.errors} error${g.errors === 1 ? '' : 's'}`, 'value ' + (g.errors ? 'bad' : g.warnings ? 'warn' : 'ok'));
  setText('sum-gate-sub', `${g.warnings} warning(s) · ${g.info} info`);
}

// Draws the answers of one poll: {status, backups, migrations, history}.
export function render(data) {
  latest = data;
  const st = latest.status;
  if (!st) return;
  renderSummary(st);
  renderServices(st.services);
  renderProbes(st.probes);
  renderBackups(st.backups, latest.backups);
  renderMigrations(st.migrations, latest.migrations);
  renderEvents(latest.history);
}

// Draws the gate's findings (GET /api/v1/check), errors first.
export function renderFindings(data) {
  const order = { error: 0, warning: 1, info: 2 };
  const findings = data.findings.slice().sort((a, b) => order[a.severity] - order[b.severity]);
  const items = findings.map((f) => el('li', { 'data-finding': f.id },
    badge(f.severity, f.severity === 'error' ? 'bad' : f.severity === 'warning' ? 'warn' : 'muted'),
    el('span', { class: 'text' }, el('span', { class: 'mono' }, f.path + ' '), f.message,
      f.hint ? el('span', { class: 'hint' }, f.hint) : null)));
  if (items.length === 0) items.push(el('li', { class: 'muted' }, 'No findings: the running spec passes every rule.'));
  $('findings').replaceChildren(...items);
}

export function renderFindingsError(message) {
  $('findings').replaceChildren(el('li', { class: 'error' }, 'could not run the gate: ' + message));
}

// Forgets the rows of the last login.
export function reset() {
  latest = { status: null, backups: null, migrations: null, history: null };
  serviceRows.clear();
  probeRows.clear();
  $('services').replaceChildren();
  $('probes').replaceChildren();
}

// The dry-run plan of a reload as paragraphs and lists.
export function planNodes(plan) {
  const nodes = [];
  const section = (label, items) => {
    if (!items || items.length === 0) return;
    nodes.push(el('p', null, el('strong', null, label)));
    nodes.push(el('ul', null, items.map((item) => el('li', null, item))));
  };
  if (!plan.changes && plan.restart_required.length === 0) {
    nodes.push(el('p', { 'data-plan': 'empty' }, 'Nothing to change: the spec on disk matches what runs.'));
  }
  section('Services to start', plan.services.added);
  section('Services to stop', plan.services.removed);
  section('Services to restart', plan.services.changed.map((c) => `${c.name}: ${c.reasons.join(', ')}`));
  section('Services left running (same pid)', plan.services.unchanged);
  section('Probes added', plan.probes.added);
  section('Probes removed', plan.probes.removed);
  section('Probes changed', plan.probes.changed);
  section('Settings applied in place', plan.settings_changed);
  section('Keep their old value until steward restarts', plan.restart_required);
  return nodes;
}

