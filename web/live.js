// live.js: one EventSource on /api/v1/events shared by every page. The browser resends
// Last-Event-ID itself when it reconnects, so no event is lost across a blip. Pages
// subscribe to event names (job, clip, publish, incident, log) and get {id, data}.

const subs = new Set();
let es = null;

function setState(on) {
  const el = document.getElementById('live');
  if (!el) return;
  el.className = 'live ' + (on ? 'on' : 'off');
  el.textContent = on ? 'live' : 'offline';
}

function dispatch(kind, ev) {
  let data = null;
  try { data = JSON.parse(ev.data); } catch { return; }
  for (const s of subs) if (!s.kinds || s.kinds.includes(kind)) s.fn(kind, data, ev.lastEventId);
}

export function start() {
  if (es) return;
  es = new EventSource('/api/v1/events');
  es.onopen = () => setState(true);
  es.onerror = () => setState(es && es.readyState === EventSource.OPEN);
  for (const k of ['job', 'clip', 'publish', 'incident', 'log'])
    es.addEventListener(k, (ev) => dispatch(k, ev));
}

export function stop() {
  if (es) es.close();
  es = null;
  setState(false);
}

// subscribe(['job', 'clip'], fn) -> unsubscribe function; kinds null means all
export function subscribe(kinds, fn) {
  const s = { kinds, fn };
  subs.add(s);
  return () => subs.delete(s);
}

// Calls fn at most once per `ms` while events arrive (coalesces bursts).
export function throttled(fn, ms = 700) {
  let t = null, pending = false;
  return () => {
    if (t) { pending = true; return; }
    fn();
    t = setTimeout(() => { t = null; if (pending) { pending = false; fn(); } }, ms);
  };
}
