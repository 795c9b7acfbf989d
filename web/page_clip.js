// page_clip.js: one clip's whole journey on one screen: source post -> transcript (word
// confidences) -> candidates of the same video -> committee votes and reasons -> render
// (edit plan, ffmpeg command) -> schedule -> publish result, with HaloLux's explanation and
// the Stardust ledger packets; approve / reject / re-render (operators); the rendered file
// plays in an HTML5 <video> (served with Range requests).
import { get, post, canWrite } from './api.js';
import { h, badge, ago, when, num, short, toast, table, json } from './ui.js';
import { subscribe, throttled } from './live.js';

export async function render(root, args) {
  const id = args[0];
  const c = await get(`/api/v1/clips/${encodeURIComponent(id)}`);
  const x = c.explanation || {};
  const why = x.why || {};
  const step = (title, ...kids) => h('section', { class: 'step' }, h('h2', {}, title), ...kids);

  const left = h('div', {});
  const hasFile = !!(c.render_path || (x.edit && x.edit.render));
  if (hasFile) {
    left.append(h('video', { id: 'preview', controls: true, preload: 'metadata', playsinline: true,
      src: `/api/v1/clips/${c.clip_id}/preview`, poster: c.thumbnail ? `/api/v1/clips/${c.clip_id}/thumbnail` : null }));
  } else {
    left.append(h('div', { class: 'thumb-wrap' }, h('p', { class: 'muted', style: 'color:#aaa;padding:10px' }, 'not rendered yet')));
  }
  left.append(h('p', {}, badge(c.status), ' ', h('span', { class: 'muted' }, `${num(c.start, 1)}–${num(c.end, 1)} s · ${num(c.end - c.start, 1)} s`)));
  if (canWrite()) {
    const act = (name, label, cls) => h('button', { class: cls || '', id: `clip-${name}`, dataset: { write: '1' }, onclick: async (ev) => {
      ev.target.disabled = true;
      try {
        const r = await post(`/api/v1/clips/${c.clip_id}/${name}`);
        toast(`${label}: ${r.status || 'queued'}${r.job_id ? ' (job ' + short(r.job_id) + ')' : ''}`);
        setTimeout(() => { location.hash = `#/clip/${c.clip_id}?t=${Date.now()}`; }, 300);
      } catch (e) { toast(e.message, true); ev.target.disabled = false; }
    } }, label);
    left.append(h('div', { class: 'actions' }, act('approve', 'Approve', 'primary'), act('reject', 'Reject', 'danger'), act('rerender', 'Re-render')));
  }
  left.append(h('p', { class: 'muted' }, `clip ${c.clip_id}`));

  const s = c.source || {};
  const words = c.words || [];
  const conf = (w) => { const v = Number(w.confidence ?? w.conf ?? w.p); return Number.isFinite(v) ? v : null; };
  const wordEls = words.map(w => {
    const v = conf(w);
    return h('span', { class: v === null ? '' : v >= 0.8 ? 'c-hi' : v >= 0.5 ? 'c-mid' : 'c-lo',
      title: `${num(w.start, 2)}–${num(w.end, 2)} s${v === null ? '' : ' · confidence ' + num(v, 2)}` }, (w.word ?? w.text ?? '') + ' ');
  });
  const votes = why.votes || [];
  const edit = x.edit;
  const plan = c.edit_plan;
  const sched = x.schedule || c.schedule;

  const right = h('div', {},
    step('1 · Source post',
      h('p', {}, s.post_url ? h('a', { href: s.post_url, rel: 'noreferrer' }, s.post_url) : '—'),
      h('p', { class: 'muted' }, `${s.platform || ''} ${s.username || ''} · posted ${s.posted_at ? ago(s.posted_at) : '—'} · video ${short(c.video_id)}`),
      s.title ? h('p', {}, s.title) : null),
    step('2 · Transcript', words.length ? h('p', { class: 'words', id: 'transcript' }, wordEls)
      : h('p', { class: 'muted' }, 'no words in this span'),
      h('p', { class: 'muted' }, 'green ≥ 0.8, amber ≥ 0.5, red below: the recogniser\'s confidence per word')),
    step('3 · Candidates from this video', table(c.candidates || [], [
      { label: 'Clip', get: k => k.clip_id === c.clip_id ? h('b', {}, 'this clip') : h('a', { href: `#/clip/${k.clip_id}` }, short(k.clip_id)) },
      { label: 'Span', get: k => `${num(k.start, 1)}–${num(k.end, 1)} s` },
      { label: 'Score', class: 'num', get: k => num(k.confidence) },
      { label: 'Priority', class: 'num', get: k => num(k.lattice_priority) },
      { label: 'Status', get: k => badge(k.status) }])),
    step('4 · Committee (Pantheon → Chorus → Lattice)',
      h('p', {}, h('b', {}, why.decision || '—'), why.reason ? ` — ${why.reason}` : ''),
      h('p', { class: 'muted' }, `confidence ${num(why.confidence)} · disagreement ${num(why.disagreement)} · rank ${why.rank ?? '—'}${why.veto ? ' · VETO' : ''}`),
      table(votes, [
        { label: 'Agent', get: v => v.agent },
        { label: 'Score', class: 'num', get: v => num(v.score) },
        { label: 'Weight', class: 'num', get: v => num(v.weight) },
        { label: 'Reason', get: v => h('span', {}, v.veto ? h('b', { class: 'field-error' }, 'veto ') : '', v.reason || '') }], 'no votes recorded'),
      why.analyzer ? h('p', { class: 'muted' }, `analyzer: virality ${num(why.analyzer.virality)} · relevance ${num(why.analyzer.relevance)} · energy ${num(why.analyzer.energy)} · ${num(why.analyzer.speech_rate_wpm, 0)} wpm`) : null),
    step('5 · Render',
      edit ? h('p', {}, badge(edit.status), ' ', edit.reframe ? `reframe ${edit.reframe.mode}` : '', edit.render ? h('span', { class: 'muted' }, ` · ${edit.render.path}`) : '') : h('p', { class: 'muted' }, 'no edit job yet'),
      plan ? h('details', {}, h('summary', {}, 'Edit plan'), json(plan.operations)) : null,
      c.ffmpeg_command ? h('details', { open: true }, h('summary', {}, 'ffmpeg command'), h('pre', { id: 'ffmpeg-command' }, c.ffmpeg_command)) : null,
      edit && edit.decisions ? h('details', {}, h('summary', {}, 'Editor decisions'), json(edit.decisions)) : null),
    step('6 · Schedule',
      sched ? h('div', {}, h('p', {}, badge(sched.status), ' ', when(sched.final_scheduled_time || sched.final)), sched.adjustments ? h('details', {}, h('summary', {}, 'Horizon adjustments'), json(sched.adjustments)) : null, h('details', {}, h('summary', {}, 'Oracle / Zenith'), json(sched)))
        : h('p', { class: 'muted' }, 'not scheduled')),
    step('7 · Publish', table(c.uploads || [], [
      { label: 'Target', get: u => u.target },
      { label: 'Status', get: u => badge(u.status) },
      { label: 'When', get: u => when(u.scheduled_time || u.updated_at) },
      { label: 'Result', get: u => u.yt_video_id || (u.target_state && (u.target_state.export_path || u.target_state.error)) || '' }], 'not published')),
    step('Explanation (HaloLux)', h('pre', { id: 'explanation' }, c.explanation_text || JSON.stringify(why, null, 2))),
    step('Ledger packets (Stardust)', table(x.ledger || [], [
      { label: 'Seq', class: 'num', get: p => String(p.seq ?? '') },
      { label: 'Stage', get: p => p.stage || p.kind || '' },
      { label: 'Entity', get: p => `${p.entity_type || ''} ${short(p.entity_id)}` },
      { label: 'At', get: p => ago(p.created_at) },
      { label: 'Hash', get: p => h('code', {}, String(p.hash || p.stardust_id || '').slice(0, 16)) }], 'no packets')));

  root.append(h('h1', {}, c.title || `Clip ${short(c.clip_id)}`, ' ', h('a', { class: 'muted', href: '#/clips', style: 'font-size:13px' }, '← gallery')),
    h('div', { class: 'journey' }, left, right));

  const mine = (kind, d) => JSON.stringify(d).includes(c.clip_id);
  const again = throttled(() => {
    const v = document.getElementById('preview');
    if (!v || v.paused) location.hash = `#/clip/${c.clip_id}?t=${Date.now()}`; // never under a playing preview
  }, 3000);
  return subscribe(['clip', 'publish'], (k, d) => { if (mine(k, d)) again(); });
}
