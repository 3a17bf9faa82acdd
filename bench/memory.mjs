// Backend memory while 10 M timer samples arrive (1 M with --quick), all in
// one flush interval: Zibrato's backend keeps an exponential histogram per timer (memory
// bounded by the value range), statsd keeps every sample until its flush.
// Reports RSS over the load and Zibrato's p50/p90/p99 against the exact values.
// usage: node bench/memory.mjs [--quick]
import { emitResult, isQuick, rssOf, sleep, runBench } from './lib/common.mjs';
import { StatsdSystem, ZibratoSystem } from './lib/systems.mjs';
import { lognormalValues } from './lib/values.mjs';

const quick = isQuick();
const SAMPLES = quick ? 1_000_000 : 10_000_000;
const PUBLISHERS = 2;
const ZIB_RATE = quick ? 1_000_000 : 2_000_000;
const STATSD_RATE = quick ? 100_000 : 200_000;

/** Samples RSS of `pid` every 100 ms until stopped. */
function rssSampler(pid) {
  const t0 = Date.now();
  const points = [];
  const timer = setInterval(() => {
    const rss = rssOf(pid);
    if (rss > 0) points.push({ ms: Date.now() - t0, rss });
  }, 100);
  return { points, stop: () => clearInterval(timer) };
}

function summarise(points, loadStartMs, loadEndMs) {
  const during = points.filter((p) => p.ms >= loadStartMs && p.ms <= loadEndMs);
  const before = points.filter((p) => p.ms < loadStartMs).at(-1)?.rss ?? points[0]?.rss ?? 0;
  const max = Math.max(...during.map((p) => p.rss), before);
  // Growth over the second half of the load: ~0 when memory is flat.
  const mid = (loadStartMs + loadEndMs) / 2;
  const atMid = during.find((p) => p.ms >= mid)?.rss ?? max;
  const atEnd = during.at(-1)?.rss ?? max;
  return { rssBeforeBytes: before, rssMaxBytes: max, rssAtMidLoadBytes: atMid, rssAtEndOfLoadBytes: atEnd, samples: during.length };
}

function exactQuantiles(n, publishers) {
  const per = Math.round(n / publishers);
  const all = new Float64Array(per * publishers);
  for (let i = 0; i < publishers; i++) all.set(lognormalValues(1 + i, per), i * per);
  all.sort();
  const q = (x) => all[Math.floor(x * (all.length - 1))];
  return { count: all.length, p50: q(0.5), p90: q(0.9), p99: q(0.99) };
}

async function zibrato() {
  const sys = new ZibratoSystem({ flush: '24h' });
  await sys.start();
  try {
    const rss = rssSampler(sys.backendPid);
    await sleep(500);
    const loadStart = 500 + 1500; // publishers start 1.5 s after launch
    const r = await sys.trial({ name: 'bench.mem', rate: ZIB_RATE, durationMs: (SAMPLES / ZIB_RATE) * 1000, publishers: PUBLISHERS, kind: 'timer' });
    await sleep(1000);
    const loadEnd = rss.points.at(-1)?.ms ?? 0;
    rss.stop();
    await sys.pipe.backend.stop('SIGTERM'); // final flush: one row with every sample
    const rows = sys.timerRows('bench.mem');
    const exact = exactQuantiles(SAMPLES, PUBLISHERS);
    const row = rows.length === 1 ? rows[0] : null;
    const err = (k) => (row ? Math.abs(row[k] - exact[k]) / exact[k] : null);
    return {
      system: 'zibrato',
      made: r.made,
      clientDropped: r.dropped,
      received: rows.reduce((a, x) => a + x.count, 0),
      rows: rows.length,
      quantiles: row ? { p50: row.p50, p90: row.p90, p99: row.p99 } : null,
      exact,
      relativeError: { p50: err('p50'), p90: err('p90'), p99: err('p99') },
      ...summarise(rss.points, loadStart, loadEnd),
      rssTrace: rss.points.filter((_, i) => i % 5 === 0),
    };
  } finally {
    await sys.stop();
  }
}

async function statsd() {
  const loadMs = (SAMPLES / STATSD_RATE) * 1000;
  // One flush, after the load: statsd holds every sample of the interval until then.
  const sys = new StatsdSystem({ flushIntervalMs: Math.round(loadMs + 8000), maxBufferSize: 1400 }); // hot-shots buffered, so most samples arrive
  await sys.start();
  try {
    const rss = rssSampler(sys.backendPid);
    await sleep(500);
    const loadStart = 500 + 1500;
    const r = await sys.trial({ name: 'bench.mem', rate: STATSD_RATE, durationMs: loadMs, publishers: PUBLISHERS, kind: 'timer' });
    await sleep(1000);
    const loadEnd = rss.points.at(-1)?.ms ?? 0;
    // Wait for the flush to learn how many samples statsd received (sorting 10 M samples takes statsd a while).
    let received = 0;
    const until = Date.now() + 90_000;
    while (Date.now() < until && (received = sys.timerSamples('bench.mem')) === 0) await sleep(250);
    rss.stop();
    return { system: 'statsd', made: r.made, received, ...summarise(rss.points, loadStart, loadEnd), rssTrace: rss.points.filter((_, i) => i % 5 === 0) };
  } finally {
    await sys.stop();
  }
}

async function main() {
  const z = await zibrato();
  process.stderr.write(`memory zibrato: ${z.received} samples, RSS ${Math.round(z.rssBeforeBytes / 2 ** 20)} → max ${Math.round(z.rssMaxBytes / 2 ** 20)} MiB, p99 error ${z.relativeError.p99}\n`);
  const s = await statsd();
  process.stderr.write(`memory statsd: ${s.received} samples, RSS ${Math.round(s.rssBeforeBytes / 2 ** 20)} → max ${Math.round(s.rssMaxBytes / 2 ** 20)} MiB\n`);
  emitResult({ bench: 'memory', samples: SAMPLES, zibrato: z, statsd: s, rates: { zibrato: ZIB_RATE, statsd: STATSD_RATE } });
}

runBench('memory', main);
