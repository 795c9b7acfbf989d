// bullmq.js: BullMQ's side of bench/queue/peers (run.sh): enqueue one at a time, enqueue in
// bulk (addBulk of 50), drain with one Worker (concurrency 1, no-op processor), against the
// Redis server at URL. Prints RESULT lines (see run.sh).
//   node bullmq.js REDIS_URL N
'use strict';
const { Queue, Worker } = require('bullmq');
const IORedis = require('ioredis');

const url = new URL(process.argv[2]);
const n = parseInt(process.argv[3] || '5000', 10);
const conn = { host: url.hostname, port: parseInt(url.port, 10), maxRetriesPerRequest: null };
const payload = { video_id: '5f0c8e43-6a1b-4d7e-9a53-0e1f2b3c4d5e',
                  project_id: '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
                  trace_id: '6c2a9b1e-3d4f-4e5a-9b6c-7d8e9f0a1b2c' };
const info = new IORedis(conn);

async function stats() {
  const c = await info.info('commandstats'), cpu = await info.info('cpu');
  let calls = 0;
  for (const m of c.matchAll(/cmdstat_([a-z|_]+):calls=(\d+)/g))
    if (m[1] !== 'info') calls += parseInt(m[2], 10);
  const u = /used_cpu_user:([\d.]+)/.exec(cpu), s = /used_cpu_sys:([\d.]+)/.exec(cpu);
  return { calls, srv: parseFloat(u[1]) + parseFloat(s[1]) };
}
function cpuNow() { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; }
async function measure(phase, fn) {
  const s0 = await stats(), c0 = cpuNow(), t0 = process.hrtime.bigint();
  await fn();
  const dt = Number(process.hrtime.bigint() - t0) / 1e9, c1 = cpuNow(), s1 = await stats();
  console.log(`RESULT bullmq ${phase} ${(n / dt).toFixed(0)} ${((c1 - c0) * 1e6 / n).toFixed(1)} ` +
              `${((s1.srv - s0.srv) * 1e6 / n).toFixed(1)} ${((s1.calls - s0.calls - 2) / n).toFixed(2)}`);
}
async function drain(q) {
  let done = 0, resolve;
  const finished = new Promise((r) => { resolve = r; });
  const w = new Worker(q.name, async () => {}, { connection: conn, concurrency: 1,
                                                 removeOnComplete: { count: 0 } });
  w.on('completed', () => { if (++done === n) resolve(); });
  await finished;
  await w.close();
}
(async () => {
  await info.flushall();
  const q = new Queue('bench', { connection: conn });
  await q.waitUntilReady();
  const opts = { removeOnComplete: true };
  await measure('enq1', async () => { for (let i = 0; i < n; i++) await q.add('noop', payload, opts); });
  await measure('drain1', () => drain(q));
  await measure('enqbulk', async () => {
    for (let i = 0; i < n; i += 50) {
      const b = [];
      for (let k = 0; k < 50; k++) b.push({ name: 'noop', data: payload, opts });
      await q.addBulk(b);
    }
  });
  await q.obliterate({ force: true });
  await q.close();
  await info.quit();
})().catch((e) => { console.error(e); process.exit(1); });
