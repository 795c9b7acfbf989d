// page_projects.js: projects and their brands: a list, a form to create a project or edit
// its brand (the server validates; an error names the field and the form marks it), and the
// selected project's creators with their last scrape and its error, plus "add a creator"
// (a feed, channel, media URL or a local folder).
import { get, post, patch, del, canWrite, ApiError } from './api.js';
import { h, clear, ago, toast, table, short } from './ui.js';

// form field name -> how it is read from / written into the brand JSON
const FIELDS = [
  { name: 'keywords', label: 'Keywords (comma-separated)', path: ['keywords'], list: true },
  { name: 'brief', label: 'Brief (what the brand is about)', path: ['brief'], area: true },
  { name: 'banned_words', label: 'Banned words (comma-separated; a veto)', path: ['banned_words'], list: true },
  { name: 'caption.color', label: 'Caption colour (#RRGGBB)', path: ['caption', 'color'] },
  { name: 'caption.highlight_color', label: 'Caption highlight colour (#RRGGBB)', path: ['caption', 'highlight_color'] },
  { name: 'clip_min_s', label: 'Shortest clip (s)', path: ['clip_min_s'], number: true },
  { name: 'clip_max_s', label: 'Longest clip (s)', path: ['clip_max_s'], number: true },
  { name: 'clips_per_video', label: 'Clips per source video', path: ['clips_per_video'], number: true },
  { name: 'posts_per_day', label: 'Posts per day', path: ['posts_per_day'], number: true },
  { name: 'timezone', label: 'Time zone (IANA, e.g. Europe/Paris)', path: ['timezone'] },
];

function dig(o, path) { return path.reduce((a, k) => (a && typeof a === 'object' ? a[k] : undefined), o); }
function put(o, path, v) {
  let cur = o;
  for (const k of path.slice(0, -1)) cur = cur[k] = cur[k] || {};
  cur[path[path.length - 1]] = v;
}

export async function render(root, args) {
  const selected = args[0] || null;
  const list = await get('/api/v1/projects');
  const left = h('div', { id: 'project-list' });
  const right = h('div', { id: 'project-detail' });
  root.append(h('h1', {}, 'Projects'), h('div', { class: 'grid2' }, left, right));
  left.append(table(list.projects, [
    { label: 'Name', get: p => h('a', { href: `#/projects/${p.project_id}`, class: 'project-link' }, p.name) },
    { label: 'Keywords', get: p => ((p.brand && p.brand.keywords) || []).join(', ') },
    { label: 'Created', get: p => ago(p.created_at) },
  ], 'No projects yet.'));
  if (canWrite())
    left.append(h('p', {}, h('a', { class: 'btn', href: '#/projects/new', id: 'new-project' }, 'New project')));

  if (selected === 'new') {
    if (canWrite()) right.append(brandForm(null));
  } else if (selected) {
    const p = await get(`/api/v1/projects/${encodeURIComponent(selected)}`);
    right.append(h('h2', {}, p.name, ' ', h('span', { class: 'muted' }, short(p.project_id))));
    if (canWrite()) right.append(brandForm(p));
    else right.append(h('pre', {}, JSON.stringify(p.brand, null, 2)));
    right.append(await creators(p));
  } else {
    right.append(h('p', { class: 'muted' }, list.projects.length ? 'Pick a project.' : ''));
  }
}

function brandForm(p) {
  const brand = (p && p.brand) || {};
  const inputs = {};
  const errors = {};
  const general = h('div', { class: 'field-error', id: 'form-error' });
  const kids = [];
  if (!p) {
    inputs.name = h('input', { name: 'name', id: 'f-name', required: true, placeholder: 'my-brand' });
    errors.name = h('div', { class: 'field-error', dataset: { for: 'name' } });
    kids.push(h('label', { for: 'f-name' }, 'Name'), inputs.name, errors.name);
  }
  for (const f of FIELDS) {
    const v = dig(brand, f.path);
    const val = v === undefined || v === null ? '' : f.list ? v.join(', ') : String(v);
    const id = 'f-' + f.name.replace(/\./g, '-');
    inputs[f.name] = f.area ? h('textarea', { name: f.name, id, rows: 3 }, val)
                            : h('input', { name: f.name, id, value: val });
    errors[f.name] = h('div', { class: 'field-error', dataset: { for: f.name } });
    kids.push(h('label', { for: id }, f.label), inputs[f.name], errors[f.name]);
  }
  const form = h('form', { class: 'stack', id: 'brand-form' },
    h('h2', {}, p ? 'Brand' : 'New project'), ...kids, general,
    h('p', {}, h('button', { class: 'primary', type: 'submit', id: 'brand-save' }, p ? 'Save brand' : 'Create project')));

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    general.textContent = '';
    for (const [k, e] of Object.entries(errors)) { e.textContent = ''; inputs[k].classList.remove('invalid'); }
    const b = {};
    for (const f of FIELDS) {
      const raw = inputs[f.name].value.trim();
      const before = dig(brand, f.path);
      if (raw === '' && (before === undefined || before === null)) continue;
      let v = raw;
      if (f.list) v = raw ? raw.split(',').map(s => s.trim()).filter(Boolean) : [];
      else if (f.number) v = raw === '' ? null : Number(raw);
      put(b, f.path, v);
    }
    try {
      if (p) {
        await patch(`/api/v1/projects/${p.project_id}`, { brand: b });
        toast('brand saved');
        location.hash = `#/projects/${p.project_id}?saved=${Date.now()}`;
      } else {
        const made = await post('/api/v1/projects', { name: inputs.name.value.trim(), brand: b });
        toast(`project ${made.name} created`);
        location.hash = `#/projects/${made.project_id}`;
      }
    } catch (e) {
      showError(e, inputs, errors, general);
    }
  });
  return form;
}

// Marks the field the server named ("brand.caption.color", "name", ...) or shows the
// message under the form.
function showError(e, inputs, errors, general) {
  const msg = e.message || String(e);
  let key = e instanceof ApiError && e.field ? e.field.replace(/^brand\./, '') : null;
  if (key && !inputs[key]) {
    const hit = Object.keys(inputs).find(k => msg.includes(k));
    key = hit || null;
  }
  if (!key) {
    const hit = Object.keys(inputs).filter(k => msg.startsWith(k + ':') || msg.includes(' ' + k + ':') || msg.includes('brand.' + k)).sort((a, b) => b.length - a.length)[0];
    key = hit || null;
  }
  if (key && inputs[key]) {
    errors[key].textContent = msg;
    inputs[key].classList.add('invalid');
    inputs[key].focus();
  } else {
    general.textContent = msg;
  }
}

async function creators(p) {
  const box = h('div', { id: 'creators' }, h('h2', {}, 'Creators'));
  const r = await get(`/api/v1/projects/${p.project_id}/creators`);
  box.append(table(r.creators, [
    { label: 'Creator', get: c => h('span', {}, h('b', {}, c.username), ' ', h('span', { class: 'muted' }, c.platform)) },
    { label: 'Posts', class: 'num', get: c => String(c.posts) },
    { label: 'Videos', class: 'num', get: c => String(c.videos) },
    { label: 'Last scrape', get: c => c.last_scrape ? h('span', {}, ago(c.last_scrape.at), ' ', h('span', { class: `badge b-${c.last_scrape.state}` }, c.last_scrape.state)) : h('span', { class: 'muted' }, 'never') },
    { label: 'Error', get: c => h('span', { class: 'field-error creator-error' }, (c.last_scrape && c.last_scrape.error) || c.breaker_error || '') },
    { label: '', get: c => canWrite() ? h('button', { class: 'danger', onclick: async () => {
      if (!confirm(`Stop following ${c.username}?`)) return;
      try { await del(`/api/v1/projects/${p.project_id}/creators/${c.creator_id}`); toast('removed'); location.hash = `#/projects/${p.project_id}?r=${Date.now()}`; }
      catch (e) { toast(e.message, true); }
    } }, 'Remove') : '' },
  ], 'No creators yet.'));
  if (canWrite()) {
    const url = h('input', { name: 'url', id: 'creator-url', placeholder: 'https://… feed or channel, or a folder: /srv/videos or file:///srv/videos', style: 'width:100%;max-width:520px' });
    const err = h('div', { class: 'field-error', id: 'creator-error' });
    const form = h('form', { class: 'stack', id: 'creator-form' },
      h('label', { for: 'creator-url' }, 'Add a creator (TikTok, Instagram, YouTube, RSS/Atom, media URL, local folder)'),
      url, err, h('p', {}, h('button', { class: 'primary', type: 'submit', id: 'creator-add' }, 'Add creator')));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      err.textContent = '';
      let u = url.value.trim();
      if (u.startsWith('/')) u = 'file://' + u;
      try {
        const c = await post(`/api/v1/projects/${p.project_id}/creators`, { url: u });
        toast(`following ${c.username || u}`);
        location.hash = `#/projects/${p.project_id}?added=${Date.now()}`;
      } catch (e) { err.textContent = e.message; url.classList.add('invalid'); }
    });
    box.append(form);
  }
  return box;
}
