// page_incidents.js: what the oversight layer (Paradox, Eclipse) raised: open first, with
// evidence, and Resolve for operators.
import { get, post, canWrite } from './api.js';
import { h, clear, badge, ago, short, toast, table } from './ui.js';
import { subscribe, throttled } from './live.js';

export async function render(root, args, query) {
  const open = query.get('open') ?? '1';
  const tabs = h('div', { class: 'actions' },
    h('a', { class: 'btn' + (open === '1' ? ' primary' : ''), href: '#/incidents?open=1' }, 'Open'),
    h('a', { class: 'btn' + (open === '0' ? ' primary' : ''), href: '#/incidents?open=0' }, 'Resolved'));
  const list = h('div', { id: 'incident-list' });
  root.append(h('h1', {}, 'Incidents'), tabs, list);
  async function load() {
    const r = await get(`/api/v1/incidents?open=${open}`);
    clear(list).append(table(r.incidents, [
      { label: 'Severity', get: i => badge(i.severity) },
      { label: 'Kind', get: i => i.kind },
      { label: 'Entity', get: i => i.entity_type ? `${i.entity_type} ${short(i.entity_id)}` : '' },
      { label: 'Message', get: i => h('div', {}, i.message, i.details ? h('details', {}, h('summary', {}, 'evidence'), h('pre', {}, fmt(i.details))) : null) },
      { label: 'Raised', get: i => ago(i.created_at) },
      { label: '', get: i => i.resolved_at ? `resolved ${ago(i.resolved_at)}` : canWrite() ? h('button', { class: 'resolve', dataset: { write: '1' }, onclick: async () => {
        try { await post(`/api/v1/incidents/${i.incident_id}/resolve`); toast('resolved'); load(); } catch (e) { toast(e.message, true); }
      } }, 'Resolve') : '' }], open === '1' ? 'No open incidents.' : 'None resolved yet.'));
  }
  await load();
  return subscribe(['incident'], throttled(() => load().catch(() => {}), 1000));
}

function fmt(d) { try { return JSON.stringify(typeof d === 'string' ? JSON.parse(d) : d, null, 2); } catch { return String(d); } }
