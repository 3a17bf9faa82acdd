// Long-range queries of the store: 30 days of one-minute gauges (two
// decimals) written into a fresh store by the code under <root> (default:
// this repository), then the median of 7 runs of a 30 d and a 1 y query (one
// series, and top-20 of all) in the store's process. Hours are rolled up only
// as their minutes leave 1-minute retention (docs/sinks.md, store), so these
// queries read their last 30 days from the minutes: run it against a build of
// an earlier version to compare (`git worktree`/`git archive` + `tsc`).
// usage: npm run build && node bench/store-long-range.mjs [root] [series]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, median } from './lib/common.mjs';

const root = process.argv[2] ?? ROOT;
const SERIES = Number(process.argv[3] ?? 200);
const DAY_MS = 86_400_000;
const REPEATS = 7;
const { StoreSink } = await import(join(root, 'dist/store/store-sink.js'));
const end = Math.floor(Date.now() / 60_000) * 60_000;
const dir = mkdtempSync(join(tmpdir(), 'zibrato-bench-long-range-'));
const store = new StoreSink({ dir, host: '127.0.0.1', port: 0, http: false, retention: { raw: '2d', m1: '30d', h1: '1y' }, log: () => undefined, now: () => end + 60_000 });
await store.start();
try {
  const t0 = performance.now();
  for (let t = end - 30 * DAY_MS + 60_000; t <= end; t += 60_000) {
    const points = new Array(SERIES);
    for (let i = 0; i < SERIES; i++) points[i] = { type: 'gauge', name: 'g', source: '', tags: { i: String(i) }, value: Math.round(Math.sin(t / 1e7 + i) * 100_000) / 100 };
    await store.export({ timeMs: t, intervalMs: 60_000, points });
    // Maintenance once per simulated hour, as its timer would run in real time.
    if (t % 3_600_000 === 0) await store.maintain();
  }
  await store.maintain();
  process.stderr.write(`wrote 30 days × ${SERIES} series in ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
  const from30d = end - 30 * DAY_MS + 3_600_000;
  const queries = [
    ['30 d, one series, avg', { fromMs: from30d, tags: [['i', '7']] }],
    ['30 d, top-20 of all, avg', { fromMs: from30d, tags: [] }],
    ['1 y, one series, avg', { fromMs: end - 365 * DAY_MS, tags: [['i', '7']] }],
    ['1 y, top-20 of all, avg', { fromMs: end - 365 * DAY_MS, tags: [] }],
  ];
  for (const [label, q] of queries) {
    const times = [];
    let step = 0;
    for (let k = 0; k < REPEATS; k++) {
      const t = performance.now();
      step = (await store.store.query({ name: 'g', stat: 'avg', toMs: end, top: 20, ...q })).step;
      times.push(performance.now() - t);
    }
    console.log(`${label} (step ${step / 60_000} min): ${median(times).toFixed(1)} ms`);
  }
} finally {
  await store.stop();
  rmSync(dir, { recursive: true, force: true });
}
