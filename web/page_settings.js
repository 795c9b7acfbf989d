// page_settings.js: the admin's view of every setting (value, where it came from, default,
// doc; secrets as ***), with a filter, and a change written to the workspace's omniva.conf
// (the API validates it against the settings table; a restart applies it).
import { get, patch, session } from './api.js';
import { h, clear, toast } from './ui.js';

export async function render(root) {
  root.append(h('h1', {}, 'Settings'));
  if (session.me.role !== 'admin') {
    root.append(h('p', { class: 'muted' }, 'Only an admin sees and changes settings.'));
    return;
  }
  const r = await get('/api/v1/settings');
  const filter = h('input', { id: 'settings-filter', type: 'search', placeholder: 'filter: editor, youtube.chunk…' });
  const list = h('div', { id: 'settings-list' });
  root.append(h('p', { class: 'muted' }, `Workspace ${r.home}. Changes go to omniva.conf; restart omniva serve and the workers to apply them.`),
    filter, list);
  function show() {
    const f = filter.value.trim().toLowerCase();
    const rows = r.settings.filter(s => !f || s.key.includes(f) || (s.doc || '').toLowerCase().includes(f));
    clear(list).append(h('table', {},
      h('thead', {}, h('tr', {}, ['Setting', 'Value', 'From', 'Default', ''].map(t => h('th', {}, t)))),
      h('tbody', {}, rows.map(row))));
  }
  function row(s) {
    const input = h('input', { class: 'setting-value', value: String(s.value ?? ''), 'aria-label': s.key });
    const err = h('div', { class: 'field-error' });
    async function save(value) {
      err.textContent = '';
      try {
        const res = await patch('/api/v1/settings', { [s.key]: value });
        Object.assign(s, res.changed[0]);
        toast(`${s.key} saved; restart to apply`);
        show();
      } catch (e) { err.textContent = e.message; input.classList.add('bad'); }
    }
    return h('tr', { dataset: { key: s.key } },
      h('td', {}, h('code', {}, s.key), h('div', { class: 'muted' }, s.doc)),
      h('td', {}, input, err),
      h('td', {}, s.origin),
      h('td', {}, h('code', {}, s.default)),
      h('td', {}, h('button', { class: 'save', onclick: () => save(input.value) }, 'Save'),
        s.origin === 'file' ? h('button', { class: 'reset', onclick: () => save(null) }, 'Default') : null));
  }
  filter.addEventListener('input', show);
  show();
}
