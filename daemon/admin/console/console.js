// The steward console: logs in with the admin token (kept in this tab's memory), polls the admin API,
// hands what it returns to render.js (text only, as DOM nodes), and posts the few actions.

import { $, HOUR, clockShort, el, now, setText } from './format.js';
import { planNodes, render, renderFindings, renderFindingsError, reset, setHandlers } from './render.js';

const TOKEN_KEY = 'steward.admin-token'; // sessionStorage, only when the user asks for it

let token = null; // the bearer token: in memory, never in a URL, a cookie or localStorage
let paused = false;
let intervalMs = 5000;
let timer = null;
let refreshing = null;
let latest = { status: null, backups: null, migrations: null, history: null };

// --- the API ----------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, code, message, detail) {
    super(message);
    this.status = status;
    this.code = code;
    this.detail = detail;
  }
}

async function api(method, path, body) {
  const headers = { Authorization: 'Bearer ' + token, Accept: 'application/json' };
  const init = { method, headers, cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer', redirect: 'error' };
  if (method === 'POST') {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body || {});
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, 'unreachable', 'cannot reach steward (' + e.message + ')');
  }
  let data = null;
  try {
    data = await response.json();
  } catch (e) {
    data = null;
  }
  if (!response.ok) {
    const err = data && data.error;
    throw new ApiError(response.status, err ? err.code : 'http_' + response.status,
      err ? err.message : 'HTTP ' + response.status, err);
  }
  return { status: response.status, data };
}

// --- log in and out ---------------------------------------------------------------------------

function showLogin(message) {
  token = null;
  clearTimeout(timer);
  $('dashboard').hidden = true;
  $('controls').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = message || '';
  $('token').focus();
}

async function login(candidate, remember) {
  token = candidate;
  $('login-button').disabled = true;
  try {
    const { data } = await api('GET', '/api/v1/status');
    latest.status = data;
  } catch (e) {
    const message = e.status === 401 ? 'steward refused this token.' : e.message;
    sessionStorage.removeItem(TOKEN_KEY);
    showLogin(message);
    return;
  } finally {
    $('login-button').disabled = false;
  }
  if (remember) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
  $('token').value = '';
  $('login').hidden = true;
  $('dashboard').hidden = false;
  $('controls').hidden = false;
  render(latest);
  loadFindings();
  refresh();
}

function logout(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  latest = { status: null, backups: null, migrations: null, history: null };
  reset();
  showLogin(message);
}

// --- polling ----------------------------------------------------------------------------------

function schedule() {
  clearTimeout(timer);
  if (token && !paused) timer = setTimeout(refresh, intervalMs);
}

async function refresh() {
  if (!token) return;
  if (refreshing) return refreshing;
  refreshing = (async () => {
    try {
      const since = Math.floor(now() - HOUR);
      const [status, backups, migrations, history] = await Promise.all([
        api('GET', '/api/v1/status'),
        api('GET', '/api/v1/backups'),
        api('GET', '/api/v1/migrations'),
        api('GET', '/api/v1/history?since=' + since),
      ]);
      latest = { status: status.data, backups: backups.data, migrations: migrations.data, history: history.data };
      render(latest);
      setText('updated', (paused ? 'paused · ' : '') + 'updated ' + clockShort(now()), 'muted small');
    } catch (e) {
      if (e.status === 401) {
        logout('steward refused the token; log in again.');
        return;
      }
      setText('updated', 'update failed: ' + e.message, 'error small');
    } finally {
      refreshing = null;
      schedule();
    }
  })();
  return refreshing;
}

async function loadFindings() {
  try {
    renderFindings((await api('GET', '/api/v1/check')).data);
  } catch (e) {
    if (e.status === 401) return logout('steward refused the token; log in again.');
    renderFindingsError(e.message);
  }
}

// --- actions ----------------------------------------------------------------------------------

let noticeTimer = null;
function notice(text, ok) {
  const n = $('notice');
  n.hidden = false;
  n.textContent = text;
  n.className = 'notice' + (ok ? '' : ' bad');
  clearTimeout(noticeTimer);
  if (ok) noticeTimer = setTimeout(() => { n.hidden = true; }, 10000); // errors stay until the next action
}

async function act(path, done) {
  try {
    const { data } = await api('POST', path);
    notice((data && data.message ? data.message : done || 'done') + (data && data.id ? ' (' + data.id + ')' : ''), true);
  } catch (e) {
    if (e.status === 401) return logout('steward refused the token; log in again.');
    notice(e.message, false);
  }
  await refresh();
}

// Shows the confirmation dialog; resolves true when the user presses the action button.
function confirmDialog(title, body, okLabel, danger) {
  const dialog = $('confirm');
  $('confirm-title').textContent = title;
  $('confirm-body').replaceChildren(...body);
  const ok = $('confirm-ok');
  ok.hidden = !okLabel;
  ok.textContent = okLabel || '';
  ok.className = danger ? 'danger' : 'primary';
  $('confirm-cancel').textContent = okLabel ? 'Cancel' : 'Close';
  return new Promise((resolve) => {
    const finish = (answer) => {
      ok.removeEventListener('click', yes);
      $('confirm-cancel').removeEventListener('click', no);
      dialog.removeEventListener('cancel', no);
      if (dialog.open) dialog.close();
      resolve(answer);
    };
    const yes = () => finish(true);
    const no = (event) => {
      if (event) event.preventDefault();
      finish(false);
    };
    ok.addEventListener('click', yes);
    $('confirm-cancel').addEventListener('click', no);
    dialog.addEventListener('cancel', no);
    dialog.showModal();
    $('confirm-cancel').focus();
  });
}

async function confirmThen(title, body, okLabel, action) {
  if (await confirmDialog(title, body, okLabel, true)) await action();
}

// Restart and stop ask first; start does not (it undoes a stop).
function serviceAction(name, verb) {
  const path = `/api/v1/services/${encodeURIComponent(name)}/${verb}`;
  if (verb === 'restart') {
    return confirmThen(`Restart ${name}?`,
      [el('p', null, `steward stops ${name} (its stop signal, then SIGKILL after the timeout) and starts it again.`)],
      'Restart', () => act(path));
  }
  if (verb === 'stop') {
    return confirmThen(`Stop ${name}?`,
      [el('p', null, `${name} stays stopped until you start it again (or steward restarts).`)],
      'Stop', () => act(path));
  }
  return act(path);
}

async function reloadSpec() {
  let plan;
  try {
    plan = (await api('POST', '/api/v1/reload?dry_run=1')).data.plan;
  } catch (e) {
    if (e.status === 401) return logout('steward refused the token; log in again.');
    const errors = e.detail && e.detail.errors && e.detail.errors.length ? e.detail.errors : [e.message];
    await confirmDialog('The spec on disk cannot be loaded', [el('p', null, 'steward keeps running with the spec it has:'),
      el('ul', null, errors.map((x) => el('li', null, x)))], null, false);
    return;
  }
  if (await confirmDialog('Reload the spec?', [el('p', { class: 'muted' }, 'What steward would do (dry run):'), ...planNodes(plan)], 'Apply reload', plan.changes)) {
    await act('/api/v1/reload', 'spec reloaded');
    loadFindings();
  }
}

async function applyMigrations() {
  const pending = ((latest.migrations && latest.migrations.migrations) || []).filter((e) => e.state === 'pending');
  const body = pending.length
    ? [el('p', null, `steward applies ${pending.length} pending migration(s), in order, under the migration lock:`),
      el('ul', null, pending.map((e) => el('li', null, `${e.version} ${e.name}`)))]
    : [el('p', null, 'No migration was pending at the last check; steward checks the folder again and applies whatever is pending now.')];
  await confirmThen('Apply pending migrations?', body, 'Apply', () => act('/api/v1/migrations/apply'));
}

// --- wiring -----------------------------------------------------------------------------------

function init() {
  setHandlers({ service: serviceAction, probe: (name) => act(`/api/v1/probes/${encodeURIComponent(name)}/run`) });
  $('login-form').addEventListener('submit', (event) => {
    event.preventDefault(); // never submitted: the token must not become a URL or a request body
    const value = $('token').value.trim();
    if (value) login(value, $('remember').checked);
  });
  $('logout').addEventListener('click', () => logout(''));
  $('refresh').addEventListener('click', () => refresh());
  $('pause').addEventListener('click', () => {
    paused = !paused;
    $('pause').textContent = paused ? 'Resume' : 'Pause';
    $('pause').setAttribute('aria-pressed', String(paused));
    setText('updated', paused ? 'paused' : 'resuming…', 'muted small');
    if (paused) clearTimeout(timer);
    else refresh();
  });
  $('interval').addEventListener('change', () => {
    intervalMs = Number($('interval').value) || 5000;
    schedule();
  });
  $('reload').addEventListener('click', reloadSpec);
  $('backup-now').addEventListener('click', () => act('/api/v1/backups'));
  $('migrate').addEventListener('click', applyMigrations);
  $('recheck').addEventListener('click', loadFindings);
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && token && !paused) refresh();
  });

  const saved = sessionStorage.getItem(TOKEN_KEY);
  if (saved) {
    $('remember').checked = true;
    login(saved, true);
  } else {
    showLogin('');
  }
}

init();
