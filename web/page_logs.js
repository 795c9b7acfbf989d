// page_logs.js: the structured log (the `logs` table every process writes): search by job,
// project, level and text, newest first, paged by a cursor (GET /api/v1/logs).
import { get, qs } from './api.js';
import { h, clear, badge, ago, short, table } from './ui.js';

export async function render(root, args, query) {
  const f = { job: query.get('job') || '', project: query.get('project') || '', level: query.get('level') || '', q: query.get('q') || '' };
  const projects = (await get('/api/v1/projects')).projects;
  const form = h('form', { class: 'filters', id: 'log-filters' },
    h('label', {}, 'Text', h('input', { name: 'q', value: f.q, placeholder: 'words in the message' })),
    h('label', {}, 'Job id', h('input', { name: 'job', value: f.job, size: 36 })),
    h('label', {}, 'Project', h('select', { name: 'project' }, h('option', { value: '' }, 'all'), projects.map(p => h('option', { value: p.project_id, selected: p.project_id === f.project }, p.name)))),
    h('label', {}, 'Level', h('select', { name: 'level' }, ['', 'debug', 'info', 'warn', 'error', 'fatal'].map(l => h('option', { value: l, selected: l === f.level }, l || 'any')))),
    h('button', { type: 'submit' }, 'Search'));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const q = {};
    for (const [k, v] of new FormData(form).entries()) if (v) q[k] = v;
    location.hash = '#/logs' + qs(q);
  });
  const list = h('div', { id: 'log-list' });
  const more = h('button', { id: 'logs-more', style: 'display:none' }, 'Older');
  root.append(h('h1', {}, 'Logs'), form, list, h('div', { class: 'pager' }, more));
  let cursor = null;
  const rows = [];
  async function load(reset) {
    const r = await get('/api/v1/logs' + qs({ ...f, limit: 100, before: reset ? '' : cursor }));
    if (reset) rows.length = 0;
    rows.push(...r.logs);
    cursor = r.next_before;
    more.style.display = cursor ? '' : 'none';
    clear(list).append(table(rows, [
      { label: 'At', get: l => h('span', { title: l.created_at }, ago(l.created_at)) },
      { label: 'Level', get: l => badge(l.level) },
      { label: 'Source', get: l => l.source },
      { label: 'Message', get: l => l.message },
      { label: 'Job', get: l => l.job_id ? h('a', { href: `#/jobs/${l.job_id}` }, short(l.job_id)) : '' },
      { label: 'Project', get: l => l.project_id ? short(l.project_id) : '' }], 'No log lines match.'));
  }
  more.onclick = () => load(false);
  await load(true);
  return null;
}
