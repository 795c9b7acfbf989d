// app.js: the dashboard's entry module: who is signed in (/api/v1/me), the sign-in and
// first set-up screens, hash routing (#/overview, #/clip/ID, ...) to the page modules, and
// the live event stream. Each page module exports render(root, params) and may return a
// cleanup function, called when the operator leaves the page.
import { api, get, session, ApiError } from './api.js';
import { h, clear, toast } from './ui.js';
import * as live from './live.js';
import * as overview from './page_overview.js';
import * as projects from './page_projects.js';
import * as clips from './page_clips.js';
import * as clip from './page_clip.js';
import * as schedule from './page_schedule.js';
import * as jobs from './page_jobs.js';
import * as incidents from './page_incidents.js';
import * as logs from './page_logs.js';
import * as users from './page_users.js';
import * as settings from './page_settings.js';
import * as tokens from './page_tokens.js';

const routes = {
  overview, projects, clips, clip, schedule, jobs, incidents, logs, users, settings, tokens,
};

let cleanup = null;

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path, query] = raw.split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  return { name: parts[0] || 'overview', args: parts.slice(1), query: new URLSearchParams(query || '') };
}

async function route() {
  const main = document.getElementById('main');
  if (cleanup) { try { cleanup(); } catch { /* page gone */ } cleanup = null; }
  if (!session.me) return;
  const { name, args, query } = parseHash();
  const page = routes[name] || overview;
  for (const a of document.querySelectorAll('#nav a'))
    a.classList.toggle('active', a.getAttribute('href') === '#/' + (name === 'clip' ? 'clips' : name));
  clear(main);
  document.body.dataset.page = name;
  try {
    cleanup = (await page.render(main, args, query)) || null;
  } catch (e) {
    main.append(h('p', { class: 'field-error' }, e.message || String(e)));
  }
}

function showWho() {
  const who = clear(document.getElementById('who'));
  if (!session.me) return;
  who.append(`${session.me.user} · ${session.me.role}`);
  if (session.me.accounts && !session.me.via_token)
    who.append(h('button', { id: 'logout', onclick: async () => {
      try { await api('POST', '/api/v1/logout', {}); } catch { /* gone anyway */ }
      session.me = null; session.csrf = ''; live.stop(); signIn();
    } }, 'Sign out'));
}

// The sign-in form; when no user exists yet (fresh workspace, loopback), the set-up form.
function signIn(message) {
  document.body.dataset.page = 'login';
  const main = clear(document.getElementById('main'));
  const err = h('div', { class: 'field-error', id: 'login-error' }, message || '');
  const user = h('input', { id: 'login-user', name: 'user', autocomplete: 'username', required: true });
  const pass = h('input', { id: 'login-password', name: 'password', type: 'password',
                            autocomplete: 'current-password', required: true });
  const form = h('form', { class: 'stack login', id: 'login-form' },
    h('h1', {}, 'Sign in to Omniva'),
    h('label', { for: 'login-user' }, 'User'), user,
    h('label', { for: 'login-password' }, 'Password'), pass,
    err,
    h('p', {}, h('button', { class: 'primary', type: 'submit', id: 'login-submit' }, 'Sign in')),
    h('details', { id: 'setup' }, h('summary', {}, 'First start: create the admin'),
      h('p', { class: 'muted' }, 'A fresh workspace has no users. From this machine (loopback) ' +
        'you can create the first admin with the name and password above.'),
      h('button', { type: 'button', id: 'setup-submit', onclick: async () => {
        err.textContent = '';
        try {
          await api('POST', '/api/v1/setup', { user: user.value, password: pass.value });
          toast('admin created; signing in');
          await login(user.value, pass.value);
        } catch (e) { err.textContent = e.message; }
      } }, 'Create admin')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.textContent = '';
    try { await login(user.value, pass.value); } catch (e) { err.textContent = e.message; }
  });
  main.append(form);
  user.focus();
}

async function login(user, password) {
  const r = await api('POST', '/api/v1/login', { user, password });
  session.csrf = r.csrf || '';
  await boot();
}

async function boot() {
  try {
    session.me = await get('/api/v1/me');
    if (session.me.csrf) session.csrf = session.me.csrf;
  } catch (e) {
    session.me = null;
    if (e instanceof ApiError && e.status === 401) { showWho(); signIn(); return; }
    clear(document.getElementById('main')).append(h('p', { class: 'field-error' }, e.message));
    return;
  }
  document.body.dataset.role = session.me.role;
  showWho();
  live.start();
  await route();
}

window.addEventListener('hashchange', route);
window.addEventListener('omniva:signed-out', () => {
  if (!session.me) return;
  session.me = null; session.csrf = ''; live.stop(); showWho();
  signIn('Your session ended; sign in again.');
});
boot();
