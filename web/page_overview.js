// page_overview.js: the farm at a glance: a card per stage (ready, running, done and dead
// in the last 24 h), throughput and queue-depth charts, render time, failure rate, the
// newest clips and the open incidents; refreshed from the live event stream, no reload.
import { get } from './api.js';
import { h, clear, badge, ago, num, short } from './ui.js';
import { subscribe, throttled } from './live.js';
import { series, minutes } from './charts.js';

const STAGES = ['rescrape', 'scrape', 'fetch', 'analyze', 'select', 'edit', 'schedule', 'upload', 'retention'];

export async function render(root) {
  const cards = h('div', { class: 'cards', id: 'stage-cards' });
  const kpis = h('div', { class: 'cards', id: 'kpis' });
  const tput = h('div', { class: 'chart', id: 'chart-throughput' });
  const depth = h('div', { class: 'chart', id: 'chart-depth' });
  const newest = h('div', { id: 'newest-clips' });
  const incidents = h('div', { id: 'open-incidents' });
  const updated = h('span', { class: 'muted', id: 'overview-updated' });
  root.append(h('h1', {}, 'Overview ', updated), cards, h('h2', {}, 'Health'), kpis,
    h('div', { class: 'grid2', style: 'margin-top:12px' }, tput, depth),
    h('div', { class: 'grid2' }, h('div', {}, h('h2', {}, 'Newest clips'), newest),
      h('div', {}, h('h2', {}, 'Open incidents'), incidents)));

  let tChart = null, dChart = null, gone = false, refreshes = 0;

  async function refresh() {
    const [s, c, inc] = await Promise.all([
      get('/api/v1/stats'), get('/api/v1/clips?limit=8&sort=-created'),
      get('/api/v1/incidents?open=1')]);
    if (gone) return;
    refreshes++;
    updated.textContent = `· updated ${new Date().toLocaleTimeString()}`;
    updated.dataset.refreshes = String(refreshes);
    drawCards(cards, s);
    drawKpis(kpis, s);
    const xs = minutes(60);
    const tp = (s.throughput && s.throughput.per_minute_last_hour) || [];
    const qd = (s.queue_depth && s.queue_depth.per_minute_last_hour) || [];
    if (!tChart) tChart = series(tput, 'Throughput (jobs finished per minute)', 'jobs', xs, tp, '#1f8a4c');
    else tChart.update(xs, tp);
    if (!dChart) dChart = series(depth, 'Queue depth (jobs waiting or running)', 'jobs', xs, qd, '#6b46c1');
    else dChart.update(xs, qd);
    drawClips(clear(newest), c.clips || []);
    drawIncidents(clear(incidents), inc.incidents || []);
  }

  await refresh();
  const again = throttled(() => refresh().catch(() => {}), 800);
  const unsub = subscribe(null, again);
  const timer = setInterval(again, 15000); // the charts' minutes move on even when idle
  return () => { gone = true; unsub(); clearInterval(timer); tChart && tChart.destroy(); dChart && dChart.destroy(); };
}

function drawCards(el, s) {
  clear(el);
  const jobs = s.jobs || {}, day = s.jobs_24h || {};
  const types = [...STAGES.filter(t => jobs[t] || day[t]), ...Object.keys(jobs).filter(t => !STAGES.includes(t)).sort()];
  if (!types.length) el.append(h('p', { class: 'muted' }, 'No jobs yet: add a creator to a project and run the pipeline.'));
  for (const t of types) {
    const j = jobs[t] || {}, d = day[t] || {};
    const cell = (k, v, label) => h('div', { dataset: { k } }, h('b', {}, num(v ?? 0)), h('span', {}, label));
    el.append(h('a', { class: 'card', href: `#/jobs?type=${t}`, dataset: { stage: t }, style: 'text-decoration:none;color:inherit' },
      h('h3', {}, t),
      h('div', { class: 'nums' },
        cell('ready', (j.ready || 0) + (j.delayed || 0), 'ready'),
        cell('running', j.leased, 'running'),
        cell('done', d.done ?? j.done, 'done 24h'),
        cell('dead', d.dead ?? j.dead, 'dead 24h'))));
  }
}

function drawKpis(el, s) {
  clear(el);
  const clips = (s.stages && s.stages.clips) || {};
  const totalClips = Object.values(clips).reduce((a, b) => a + b, 0);
  const edits = (s.jobs && s.jobs.edit && s.jobs.edit.done) || 0;
  const kpi = (id, label, value, sub) => h('div', { class: 'card kpi', id }, h('h3', {}, label), h('b', {}, value), sub ? h('span', { class: 'muted' }, sub) : null);
  el.append(
    kpi('kpi-clips', 'Clips', String(totalClips), Object.entries(clips).map(([k, v]) => `${k} ${v}`).join(' · ')),
    kpi('kpi-render', 'Render time', edits ? `${num(s.render_seconds / edits, 1)} s` : '—', `${num(s.render_seconds, 0)} s over ${edits} renders`),
    kpi('kpi-failure', 'Failure rate', `${num(100 * (s.failure_rate || 0), 1)} %`, 'of jobs finished this week'),
    kpi('kpi-incidents', 'Open incidents', String(s.incidents_open || 0)),
    kpi('kpi-sources', 'Sources', String((s.stages && s.stages.videos) || 0), `${(s.stages && s.stages.creators) || 0} creators · ${(s.stages && s.stages.posts) || 0} posts`));
}

function drawClips(el, clips) {
  if (!clips.length) { el.append(h('p', { class: 'muted' }, 'No clips yet.')); return; }
  el.append(h('div', { class: 'gallery' }, clips.map(c => h('a', { class: 'tile', href: `#/clip/${c.clip_id}`, dataset: { clip: c.clip_id } },
    h('div', { class: 'thumb-wrap' }, c.render_path ? h('img', { src: `/api/v1/clips/${c.clip_id}/thumbnail`, alt: '', loading: 'lazy', onerror: (e) => e.target.remove() }) : null, badge(c.status)),
    h('div', { class: 'meta' }, h('div', {}, c.title || c.hook || short(c.clip_id)), h('div', { class: 'muted' }, `score ${num(c.confidence)} · ${ago(c.created_at)}`))))));
}

function drawIncidents(el, list) {
  if (!list.length) { el.append(h('p', { class: 'muted' }, 'No open incidents.')); return; }
  el.append(h('table', {}, h('tbody', {}, list.slice(0, 10).map(i => h('tr', {},
    h('td', {}, badge(i.severity)), h('td', {}, h('a', { href: '#/incidents' }, i.kind)), h('td', {}, i.message), h('td', { class: 'muted' }, ago(i.created_at)))))));
}
