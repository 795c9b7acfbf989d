// page_tokens.js: the signed-in user's API tokens (Authorization: Bearer) for scripts:
// create (the secret is shown once), list, revoke.
import { get, post, del } from './api.js';
import { h, clear, ago, toast, table } from './ui.js';

export async function render(root) {
  const list = h('div', { id: 'token-list' });
  const shown = h('div', { id: 'token-new' });
  const label = h('input', { id: 'token-label', placeholder: 'what it is for (e.g. ci)' });
  const form = h('form', { class: 'actions', id: 'token-form' }, label,
    h('button', { class: 'primary', type: 'submit' }, 'Create token'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      const t = await post('/api/v1/tokens', { label: label.value });
      clear(shown).append(h('p', {}, 'Copy it now; it is not shown again: ', h('code', { id: 'token-secret' }, t.token)));
      label.value = '';
      await load();
    } catch (e) { toast(e.message, true); }
  });
  root.append(h('h1', {}, 'API tokens'),
    h('p', { class: 'muted' }, 'Scripts send Authorization: Bearer TOKEN; they act with your role and need no CSRF header.'),
    form, shown, list);
  async function load() {
    const r = await get('/api/v1/tokens');
    clear(list).append(table(r.tokens, [
      { label: 'Id', get: t => h('code', {}, t.id) },
      { label: 'Label', get: t => t.label },
      { label: 'Created', get: t => ago(t.created_at) },
      { label: 'Last used', get: t => ago(t.last_used_at) },
      { label: '', get: t => h('button', { class: 'revoke', onclick: async () => {
        try { await del(`/api/v1/tokens/${t.id}`); toast('revoked'); await load(); } catch (e) { toast(e.message, true); }
      } }, 'Revoke') }], 'No tokens.'));
  }
  await load();
}
