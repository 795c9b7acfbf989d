// page_schedule.js: the calendar of upcoming posts: the next 14 days, a column per day and
// a line per post (target, time in the browser's zone, clip), plus the list per target.
import { get } from './api.js';
import { h, badge, short, table, when } from './ui.js';
import { subscribe, throttled } from './live.js';

export async function render(root) {
  const r = await get('/api/v1/schedule?limit=500');
  const items = r.schedule || [];
  const days = [];
  const start = new Date(); start.setHours(0, 0, 0, 0);
  for (let i = 0; i < 14; i++) days.push(new Date(start.getTime() + i * 86400000));
  const key = (d) => `${d.getFullYear()}-${d.getMonth()}-${d.getDate()}`;
  const byDay = new Map(days.map(d => [key(d), []]));
  for (const s of items) {
    const t = new Date(s.final_scheduled_time);
    const k = key(new Date(t.getFullYear(), t.getMonth(), t.getDate()));
    if (byDay.has(k)) byDay.get(k).push(s);
  }
  const cal = h('div', { class: 'cal', id: 'calendar' }, days.map(d => h('div', { class: 'day' },
    h('h4', {}, d.toLocaleDateString(undefined, { weekday: 'short', day: 'numeric', month: 'short' })),
    byDay.get(key(d)).map(s => h('a', { class: 'post', href: `#/clip/${s.clip_id}`, style: 'display:block;color:inherit;text-decoration:none' },
      new Date(s.final_scheduled_time).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' }), ' ',
      h('b', {}, s.targets || s.target || 'export'), ' ', badge(s.status), h('div', { class: 'muted' }, short(s.clip_id)))))));
  const targets = {};
  for (const s of items) for (const t of String(s.targets || s.target || 'export').split(',')) (targets[t] = targets[t] || []).push(s);
  root.append(h('h1', {}, 'Schedule'), cal);
  for (const [t, list] of Object.entries(targets)) {
    root.append(h('h2', {}, `Target: ${t}`), table(list, [
      { label: 'When', get: s => when(s.final_scheduled_time) },
      { label: 'Recommended', get: s => when(s.recommended_time) },
      { label: 'Status', get: s => badge(s.status) },
      { label: 'Clip', get: s => h('a', { href: `#/clip/${s.clip_id}` }, short(s.clip_id)) },
      { label: 'Clip status', get: s => badge(s.clip_status) }]));
  }
  if (!items.length) root.append(h('p', { class: 'muted' }, 'Nothing scheduled.'));
  return subscribe(['publish', 'clip'], throttled(() => { location.hash = `#/schedule?t=${Date.now()}`; }, 5000));
}
