// charts.js: small wrappers over uPlot (from npm, embedded like every other file) for the
// overview's time series: one series per chart, x in Unix seconds, resized with the page.
import uPlot from './uPlot.esm.js';

export function series(el, title, label, xs, ys, color) {
  const width = Math.max(280, el.clientWidth - 16);
  const opts = {
    title, width, height: 200,
    scales: { x: { time: true } },
    axes: [{}, { size: 40 }],
    series: [{}, { label, stroke: color || '#2f6fde', width: 2, fill: (color || '#2f6fde') + '22' }],
  };
  const plot = new uPlot(opts, [xs, ys], el);
  const ro = new ResizeObserver(() => plot.setSize({ width: Math.max(280, el.clientWidth - 16), height: 200 }));
  ro.observe(el);
  return {
    update(nx, ny) { plot.setData([nx, ny]); },
    destroy() { ro.disconnect(); plot.destroy(); },
  };
}

// The last `n` minutes as Unix seconds, oldest first (the API's per-minute buckets).
export function minutes(n) {
  const now = Math.floor(Date.now() / 60000) * 60;
  return Array.from({ length: n }, (_, i) => now - (n - 1 - i) * 60);
}
