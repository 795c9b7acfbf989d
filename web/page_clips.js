// page_clips.js: the clip gallery: thumbnails (a frame taken when the clip rendered),
// status, scores; filters (project, status, creator, minimum score, sort) kept in the URL;
// cursor paging; new clips appear from the live stream.
import { get, qs } from './api.js';
import { h, clear, badge, ago, num, short } from './ui.js';
import { subscribe, throttled } from './live.js';

const STATUSES = ['', 'candidate', 'selected', 'rejected', 'rendered', 'scheduled', 'published'];

export async function render(root, args, query) {
  const f = {
    project: query.get('project') || '', status: query.get('status') || '',
    min_score: query.get('min_score') || '', sort: query.get('sort') || '-created',
    creator: query.get('creator') || '',
  };
  const projects = (await get('/api/v1/projects')).projects;
  const sel = (name, opts, val) => h('select', { name, id: `flt-${name}` }, opts.map(([v, l]) => h('option', { value: v, selected: v === val }, l)));
  const form = h('form', { class: 'filters', id: 'clip-filters' },
    h('label', {}, 'Project', sel('project', [['', 'all'], ...projects.map(p => [p.project_id, p.name])], f.project)),
    h('label', {}, 'Status', sel('status', STATUSES.map(s => [s, s || 'any']), f.status)),
    h('label', {}, 'Min score', h('input', { name: 'min_score', type: 'number', step: '0.05', min: 0, max: 1, value: f.min_score, style: 'width:90px' })),
    h('label', {}, 'Sort', sel('sort', [['-created', 'newest'], ['created', 'oldest'], ['priority', 'priority'], ['score', 'score']], f.sort)),
    h('button', { type: 'submit' }, 'Apply'));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const d = new FormData(form);
    const q = {};
    for (const [k, v] of d.entries()) if (v) q[k] = v;
    if (f.creator) q.creator = f.creator;
    location.hash = '#/clips' + qs(q);
  });
  const grid = h('div', { class: 'gallery', id: 'clip-gallery' });
  const more = h('button', { id: 'clips-more', style: 'display:none' }, 'More');
  const count = h('span', { class: 'muted', id: 'clip-count' });
  root.append(h('h1', {}, 'Clips ', count), form, grid, h('div', { class: 'pager' }, more));

  let cursor = null, shown = 0;
  async function page(reset) {
    const q = { ...f, limit: 48 };
    if (!reset && cursor) q.cursor = cursor;
    const r = await get('/api/v1/clips' + qs(q));
    if (reset) { clear(grid); shown = 0; }
    for (const c of r.clips) grid.append(tile(c));
    shown += r.clips.length;
    cursor = r.next_cursor;
    more.style.display = cursor ? '' : 'none';
    count.textContent = `· ${shown}${cursor ? '+' : ''}`;
    if (!shown) grid.append(h('p', { class: 'muted' }, 'No clips match.'));
  }
  more.onclick = () => page(false);
  await page(true);
  const again = throttled(() => page(true).catch(() => {}), 1500);
  return subscribe(['clip', 'job'], again);
}

export function tile(c) {
  return h('a', { class: 'tile', href: `#/clip/${c.clip_id}`, dataset: { clip: c.clip_id, status: c.status } },
    h('div', { class: 'thumb-wrap' },
      c.render_path ? h('img', { src: `/api/v1/clips/${c.clip_id}/thumbnail`, alt: `clip ${short(c.clip_id)}`, loading: 'lazy', onerror: (e) => e.target.remove() }) : null,
      badge(c.status)),
    h('div', { class: 'meta' },
      h('div', {}, c.title || c.hook || `clip ${short(c.clip_id)}`),
      h('div', { class: 'muted' }, `${num(c.duration, 1)} s · score ${num(c.confidence)} · viral ${num(c.virality)} · rel ${num(c.relevance)}`),
      h('div', { class: 'muted' }, c.scheduled ? `scheduled ${ago(c.scheduled)}` : ago(c.created_at))));
}
