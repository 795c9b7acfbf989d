// page_jobs.js: the queue by state (Sidekiq/Oban style tabs with counts), filtered by type;
// a job's error history; dead letters with Retry, and Retry all for the filter (bulk).
import { get, post, canWrite, qs } from './api.js';
import { h, clear, badge, ago, short, toast, table, json } from './ui.js';
import { subscribe, throttled } from './live.js';

const STATES = ['ready', 'delayed', 'leased', 'done', 'dead'];

export async function render(root, args, query) {
  if (args[0]) return detail(root, args[0]);
  const state = query.get('state') || 'dead';
  const type = query.get('type') || '';
  const stats = await get('/api/v1/stats');
  const types = Object.keys(stats.jobs || {}).sort();
  const totals = Object.fromEntries(STATES.map(s => [s, types.reduce((a, t) => a + ((!type || t === type) ? (stats.jobs[t][s] || 0) : 0), 0)]));
  const tabs = h('div', { class: 'actions', id: 'job-tabs' }, STATES.map(s => h('a', {
    class: 'btn' + (s === state ? ' primary' : ''), href: '#/jobs' + qs({ state: s, type }), dataset: { state: s } },
    `${s} (${totals[s]})`)));
  const typeSel = h('select', { id: 'job-type', onchange: (e) => { location.hash = '#/jobs' + qs({ state, type: e.target.value }); } },
    h('option', { value: '' }, 'all types'), types.map(t => h('option', { value: t, selected: t === type }, t)));
  const list = h('div', { id: 'job-list' });
  const tools = h('div', { class: 'actions' }, h('label', {}, 'Type ', typeSel));
  if (state === 'dead' && canWrite())
    tools.append(h('button', { class: 'primary', id: 'retry-all', dataset: { write: '1' }, onclick: async () => {
      if (!confirm(`Retry every dead ${type || ''} job?`)) return;
      try { const r = await post('/api/v1/jobs/retry', type ? { state: 'dead', type } : { state: 'dead' }); toast(`${r.retried} jobs back to ready`); load(); }
      catch (e) { toast(e.message, true); }
    } }, 'Retry all'));
  root.append(h('h1', {}, 'Jobs'), tabs, tools, list);

  async function load() {
    const r = await get('/api/v1/jobs' + qs({ state, type, limit: 200 }));
    clear(list).append(table(r.jobs, [
      { label: 'Job', get: j => h('a', { href: `#/jobs/${j.job_id}`, class: 'job-link' }, short(j.job_id)) },
      { label: 'Type', get: j => j.type },
      { label: 'State', get: j => badge(j.state) },
      { label: 'Attempt', class: 'num', get: j => `${j.attempt}/${j.max_attempts}` },
      { label: 'Last error', get: j => h('span', { class: 'field-error' }, lastError(j)) },
      { label: 'Updated', get: j => ago(j.updated_at || j.created_at) },
      { label: '', get: j => j.state === 'dead' && canWrite() ? h('button', { class: 'retry', dataset: { job: j.job_id, write: '1' }, onclick: async (ev) => {
        ev.target.disabled = true;
        try { await post(`/api/v1/jobs/${j.job_id}/retry`); toast(`job ${short(j.job_id)} back to ready`); load(); }
        catch (e) { toast(e.message, true); ev.target.disabled = false; }
      } }, 'Retry') : '' }], `No ${state} jobs.`));
  }
  await load();
  return subscribe(['job'], throttled(() => load().catch(() => {}), 1000));
}

function lastError(j) {
  const e = j.errors || [];
  const last = e[e.length - 1];
  return last ? (last.message || last.error || JSON.stringify(last)) : '';
}

async function detail(root, id) {
  const j = await get(`/api/v1/jobs/${encodeURIComponent(id)}`);
  root.append(h('h1', {}, `Job ${short(j.job_id)} `, badge(j.state), ' ', h('a', { class: 'muted', href: '#/jobs' + qs({ state: j.state, type: j.type }), style: 'font-size:13px' }, '← jobs')));
  if (j.state === 'dead' && canWrite())
    root.append(h('div', { class: 'actions' }, h('button', { class: 'primary', id: 'job-retry', dataset: { write: '1' }, onclick: async () => {
      try { await post(`/api/v1/jobs/${j.job_id}/retry`); toast('back to ready'); location.hash = `#/jobs/${j.job_id}?t=${Date.now()}`; }
      catch (e) { toast(e.message, true); }
    } }, 'Retry')));
  root.append(h('p', {}, `${j.type} · attempt ${j.attempt}/${j.max_attempts} · priority ${j.priority} · created ${ago(j.created_at)}`),
    h('h2', {}, 'Error history'), table(j.errors || [], [
      { label: 'Attempt', class: 'num', get: e => String(e.attempt ?? '') },
      { label: 'At', get: e => ago(e.at || e.created_at) },
      { label: 'Error', get: e => h('span', { class: 'field-error' }, e.message || e.error || JSON.stringify(e)) }], 'no errors'),
    h('h2', {}, 'Events'), table(j.events || [], [
      { label: 'At', get: e => ago(e.created_at || e.at) },
      { label: 'State', get: e => badge(e.state) },
      { label: 'Level', get: e => e.level || '' },
      { label: 'Message', get: e => e.message || '' }], 'no events'),
    h('h2', {}, 'Payload'), json(j.payload));
  return null;
}
