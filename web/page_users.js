// page_users.js: the admin's page of users (add with a role and password, change a role,
// set a new password, remove), each error shown next to the field it names.
import { get, post, patch, del, session } from './api.js';
import { h, clear, ago, toast, table } from './ui.js';

const ROLES = ['viewer', 'operator', 'admin'];

export async function render(root) {
  root.append(h('h1', {}, 'Users'));
  if (session.me.role !== 'admin') {
    root.append(h('p', { class: 'muted' }, 'Only an admin manages users.'));
    return;
  }
  const list = h('div', { id: 'user-list' });
  const err = h('div', { class: 'field-error', id: 'user-error' });
  const name = h('input', { id: 'user-name', name: 'name', required: true, autocomplete: 'off' });
  const role = h('select', { id: 'user-role', name: 'role' }, ROLES.map(r => h('option', { value: r }, r)));
  const pass = h('input', { id: 'user-password', name: 'password', type: 'password', required: true,
                            autocomplete: 'new-password' });
  const form = h('form', { class: 'stack', id: 'user-form' },
    h('h2', {}, 'Add a user'),
    h('label', { for: 'user-name' }, 'Name'), name,
    h('label', { for: 'user-role' }, 'Role'), role,
    h('label', { for: 'user-password' }, 'Password'), pass,
    err, h('p', {}, h('button', { class: 'primary', type: 'submit', id: 'user-submit' }, 'Add user')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.textContent = '';
    for (const el of [name, role, pass]) el.classList.remove('bad');
    try {
      await post('/api/v1/users', { name: name.value, role: role.value, password: pass.value });
      toast(`${name.value} added`);
      name.value = ''; pass.value = '';
      await load();
    } catch (e) {
      err.textContent = e.message;
      const el = { name, role, password: pass }[e.field];
      if (el) el.classList.add('bad');
    }
  });
  root.append(list, form);

  async function load() {
    const r = await get('/api/v1/users');
    clear(list).append(table(r.users, [
      { label: 'Name', get: u => u.name },
      { label: 'Role', get: u => {
        const sel = h('select', { class: 'role', 'aria-label': `role of ${u.name}` },
          ROLES.map(x => h('option', { value: x, selected: x === u.role }, x)));
        sel.addEventListener('change', async () => {
          try { await patch(`/api/v1/users/${encodeURIComponent(u.name)}`, { role: sel.value }); toast(`${u.name} is now ${sel.value}`); }
          catch (e) { toast(e.message, true); sel.value = u.role; }
        });
        return sel;
      } },
      { label: 'Created', get: u => ago(u.created_at) },
      { label: 'Last sign-in', get: u => ago(u.last_login_at) },
      { label: '', get: u => h('span', {},
        h('button', { class: 'passwd', onclick: async () => {
          const p = prompt(`New password for ${u.name}`);
          if (!p) return;
          try { await patch(`/api/v1/users/${encodeURIComponent(u.name)}`, { password: p }); toast(`password of ${u.name} changed; their sessions ended`); }
          catch (e) { toast(e.message, true); }
        } }, 'Set password'),
        u.name === session.me.user ? null : h('button', { class: 'remove', onclick: async () => {
          if (!confirm(`Remove ${u.name}, with their sessions and API tokens?`)) return;
          try { await del(`/api/v1/users/${encodeURIComponent(u.name)}`); toast(`${u.name} removed`); await load(); }
          catch (e) { toast(e.message, true); }
        } }, 'Remove')) }], 'No users.'));
  }
  await load();
}
