// The store backend beside Prometheus, fed the same flushes in the same run:
// the store through StoreSink, Prometheus (--web.enable-remote-write-receiver)
// through Zibrato's prometheus-remote-write sink. Measures write cost per
// point, a 24 h one-series range query, a top-20 range query across all series
// (7 d × 1,000 series; --quick: 1 d × 200), disk bytes per point, and the time
// to store one flush of 100,000 series.
// usage: npm run build && node bench/store.mjs [--quick] [--full-precision]
import { mkdtempSync, readdirSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Child, cpuSecondsOf, emitResult, freeTcpPort, isQuick, median, pollUntil, runBench, ROOT } from './lib/common.mjs';
import { lognormalValues } from './lib/values.mjs';

const quick = isQuick();
const SERIES = quick ? 200 : 1000;
const DAYS = quick ? 1 : 7;
const INTERVAL_MS = 60_000;
const QUERY_REPEATS = quick ? 3 : 11;
const BIG_FLUSH_SERIES = 100_000;
/**
 * Gauge values as instruments report them: two decimals (a percentage, a
 * temperature, milliseconds to 10 µs), the same values to both systems.
 * `--full-precision` sends the unrounded doubles instead (53 random bits
 * of mantissa, which no sensor has: the worst case for any float codec).
 */
const FULL_PRECISION = process.argv.includes('--full-precision');
const gaugeValue = FULL_PRECISION ? (v) => v : (v) => Math.round(v * 100) / 100;
/**
 * Disk for the worst case in the same run: this many series of unrounded
 * doubles written beside the main data into a second store and a second
 * Prometheus (skipped when the main data already is full precision).
 */
const FULL_PRECISION_SERIES = quick ? 50 : 200;
/** Untimed first queries of other series (the last ones) before the first-query row is timed, in both systems (see compare). */
const COLD_WARMUP_QUERIES = 30;
/** The store's maintenance (rollups, retention, compaction of sealed days) runs once per simulated hour, as its timer would in real time. */
const FLUSHES_PER_MAINTENANCE = 60;

const { StoreSink } = await import(join(ROOT, 'dist/store/store-sink.js'));
const { prometheusRemoteWriteSinkSpec } = await import(join(ROOT, 'dist/sinks/prometheus-remote-write-sink.js'));
const { resolveSinkOptions } = await import(join(ROOT, 'dist/sinks/registry.js'));
const { TimerAggregator } = await import(join(ROOT, 'dist/backend/aggregators/timer-aggregator.js'));

function duBytes(path) {
  const s = statSync(path);
  if (!s.isDirectory()) return s.size;
  return readdirSync(path).reduce((sum, e) => sum + duBytes(join(path, e)), 0);
}

async function startPrometheus(dir) {
  const port = await freeTcpPort();
  mkdirSync(join(dir, 'data'), { recursive: true });
  // History older than the head block is accepted only within the out-of-order window.
  writeFileSync(join(dir, 'prometheus.yml'), `global:\n  scrape_interval: 1m\nscrape_configs: []\nstorage:\n  tsdb:\n    out_of_order_time_window: ${DAYS + 1}d\n`);
  const proc = new Child('/usr/bin/prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--web.enable-remote-write-receiver', '--log.level=warn'], { label: 'prometheus' });
  const url = `http://127.0.0.1:${port}`;
  await pollUntil(async () => (await fetch(`${url}/-/ready`).catch(() => undefined))?.status === 200, 30_000, 200);
  return { proc, url, dataDir: join(dir, 'data') };
}

/**
 * Median wall time, in ms, of the store's and Prometheus' version of a query,
 * and the last answer of each. The runs alternate (store, Prometheus, store…)
 * so that a burst of load on the shared machine falls on both alike; one
 * untimed run of each first (caches, lazy loading).
 */
async function timedPair(storeFn, promFn) {
  const times = { store: [], prom: [] };
  const last = { store: await storeFn(), prom: await promFn() };
  for (let i = 0; i < QUERY_REPEATS; i++) {
    for (const [k, fn] of [['store', storeFn], ['prom', promFn]]) {
      const t0 = performance.now();
      last[k] = await fn();
      times[k].push(performance.now() - t0);
    }
  }
  return { store: { ms: median(times.store), last: last.store }, prom: { ms: median(times.prom), last: last.prom } };
}

async function getJson(url) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status} ${await res.text()}`);
  return res.json();
}

/** A store and a Prometheus fed through the remote-write sink, in their own directories under `dir`. */
async function startPair(dir, { http }) {
  mkdirSync(dir, { recursive: true });
  const prom = await startPrometheus(dir);
  const store = new StoreSink({ dir: join(dir, 'store'), host: '127.0.0.1', port: 0, http, retention: { raw: '2d', m1: '30d', h1: '1y' }, log: () => undefined });
  await store.start();
  const logs = [];
  const remote = prometheusRemoteWriteSinkSpec.create(resolveSinkOptions(prometheusRemoteWriteSinkSpec, { url: `${prom.url}/api/v1/write`, spoolDir: join(dir, 'spool') }, 'bench'), { backendName: 'bench', log: (l) => logs.push(l) });
  await remote.start?.();
  const stop = async () => {
    await remote.stop().catch(() => undefined);
    await store.stop().catch(() => undefined);
    await prom.proc.stop('SIGTERM');
  };
  return { prom, store, remote, logs, stop };
}

function checkDelivered(remote, logs) {
  const rs = remote.status();
  if (rs.dropped > 0 || rs.spooled > 0) throw new Error(`remote write did not deliver everything: ${JSON.stringify(rs)} ${logs.slice(-3).join(' | ')}`);
}

async function compare() {
  const dir = mkdtempSync(join(tmpdir(), 'zibrato-bench-store-'));
  const main = await startPair(dir, { http: true });
  const { prom, store, remote, logs } = main;
  const fp = FULL_PRECISION ? undefined : await startPair(join(dir, 'full-precision'), { http: false });
  let fpPoints = 0;
  try {
    const end = Math.floor(Date.now() / INTERVAL_MS) * INTERVAL_MS;
    const start = end - DAYS * 86_400_000;
    const flushes = (end - start) / INTERVAL_MS;
    let storeMs = 0;
    let promMs = 0;
    let maintainMs = 0;
    let points = 0;
    const promCpu0 = cpuSecondsOf(prom.proc.pid);
    const values = lognormalValues(7, SERIES);
    process.stderr.write(`writing ${flushes} flushes × ${SERIES} gauge series to both (${(flushes * SERIES).toLocaleString('en-US')} points)\n`);
    const deadline = Date.now() + (quick ? 40_000 : 600_000);
    for (let f = 1; f <= flushes; f++) {
      if (Date.now() > deadline) throw new Error(`writing took longer than the bench allows (at flush ${f} of ${flushes})`);
      const timeMs = start + f * INTERVAL_MS;
      const batchPoints = new Array(SERIES);
      for (let i = 0; i < SERIES; i++) batchPoints[i] = { type: 'gauge', name: 'bench.g', source: '', tags: { i: String(i) }, value: gaugeValue(values[i] * (1 + Math.sin(f / 60 + i))) };
      const batch = { timeMs, intervalMs: INTERVAL_MS, points: batchPoints };
      let t0 = performance.now();
      await store.export(batch);
      storeMs += performance.now() - t0;
      t0 = performance.now();
      await remote.export(batch);
      promMs += performance.now() - t0;
      points += SERIES;
      if (fp) {
        // Untimed: only its disk is reported.
        const fpBatch = { timeMs, intervalMs: INTERVAL_MS, points: batchPoints.slice(0, FULL_PRECISION_SERIES).map((p, i) => ({ ...p, value: values[i] * (1 + Math.sin(f / 60 + i)) })) };
        await fp.store.export(fpBatch);
        await fp.remote.export(fpBatch);
        fpPoints += FULL_PRECISION_SERIES;
      }
      if (f % FLUSHES_PER_MAINTENANCE === 0) {
        t0 = performance.now();
        await store.maintain();
        maintainMs += performance.now() - t0;
        await fp?.store.maintain();
      }
    }
    const promCpu = cpuSecondsOf(prom.proc.pid) - promCpu0;
    checkDelivered(remote, logs);
    if (fp) {
      checkDelivered(fp.remote, fp.logs);
      await fp.store.maintain();
    }
    const t0 = performance.now();
    await store.maintain();
    const rollupMs = performance.now() - t0;
    maintainMs += rollupMs;
    const api = store.http.url.replace(/\/$/, '');

    // 24 h of one series, the same step in both: the store's automatic one, read from a first answer.
    const dayFrom = end - 86_400_000;
    const oneUrl = `${api}/api/query?name=bench.g&tag=i:7&stat=last&from=${dayFrom}&to=${end}`;
    const step = (await getJson(oneUrl)).step;
    const promName = 'bench_g';
    const pair24h = await timedPair(
      () => getJson(oneUrl),
      () => getJson(`${prom.url}/api/v1/query_range?${new URLSearchParams({ query: `${promName}{i="7"}`, start: String(dayFrom / 1000), end: String(end / 1000), step: String(step / 1000) })}`),
    );
    const [one, promOne] = [pair24h.store, pair24h.prom];
    // Where the store's time goes: the same query called in the process, without HTTP.
    const oneInProcess = await timedPair(
      () => store.store.query({ name: 'bench.g', tags: [['i', '7']], stat: 'last', fromMs: dayFrom, toMs: end, top: 20 }),
      async () => undefined,
    );
    // The first query of a series since the store opened (its rows not cached yet): a different series each run, in both systems.
    // First, untimed and alike in both, the first queries of other series: the store's first-query path is JavaScript that V8
    // optimizes only after its first few dozen runs (measured: the first dozen cost ~4× the CPU of later ones), which is the
    // process warming up, not the series' rows being read; Prometheus is compiled ahead of time.
    for (let i = 1; i <= COLD_WARMUP_QUERIES; i++) {
      await getJson(`${api}/api/query?name=bench.g&tag=i:${SERIES - i}&stat=last&from=${dayFrom}&to=${end}`);
      await getJson(`${prom.url}/api/v1/query_range?${new URLSearchParams({ query: `${promName}{i="${SERIES - i}"}`, start: String(dayFrom / 1000), end: String(end / 1000), step: String(step / 1000) })}`);
    }
    let coldSeries = 100;
    let promColdSeries = 100;
    const pairCold = await timedPair(
      () => getJson(`${api}/api/query?name=bench.g&tag=i:${coldSeries++}&stat=last&from=${dayFrom}&to=${end}`),
      () => getJson(`${prom.url}/api/v1/query_range?${new URLSearchParams({ query: `${promName}{i="${promColdSeries++}"}`, start: String(dayFrom / 1000), end: String(end / 1000), step: String(step / 1000) })}`),
    );
    const promOnePoints = promOne.last.data.result[0]?.values.length ?? 0;
    if (promOnePoints === 0) throw new Error(`prometheus has no ${promName}{i="7"}: ${JSON.stringify(promOne.last).slice(0, 300)}`);

    // Top 20 by mean over the whole range, across every series.
    const topUrl = `${api}/api/query?name=bench.g&stat=avg&from=${start}&to=${end}&top=20`;
    const topStep = (await getJson(topUrl)).step;
    const pairTop = await timedPair(
      () => getJson(topUrl),
      () => getJson(`${prom.url}/api/v1/query_range?${new URLSearchParams({ query: `${promName} and on(i) topk(20, avg_over_time(${promName}[${DAYS}d] @ ${end / 1000}))`, start: String(start / 1000), end: String(end / 1000), step: String(topStep / 1000) })}`),
    );
    const [top, promTop] = [pairTop.store, pairTop.prom];

    // Both systems are measured the same way: running, then after the same stop (SIGTERM; the sink's stop). While it runs the store's
    // file also holds free blocks (reused, never returned); a stopped store gives them back (see MetricStore.close). Prometheus is
    // not forced to compact: its head is compacted into blocks as the run goes; the WAL and head chunks hold the last hours.
    const stopBoth = async (pair) => {
      const storeRunning = await pair.store.store.stats();
      const promRunningBytes = duBytes(pair.prom.dataDir);
      await pair.remote.stop().catch(() => undefined);
      await pair.store.stop();
      await pair.prom.proc.stop('SIGTERM');
      return { storeRunning, promRunningBytes };
    };
    const running = await stopBoth(main);
    const storeBytes = duBytes(join(dir, 'store'));
    let fullPrecision;
    if (fp) {
      const fpRunning = await stopBoth(fp);
      const [sb, pb] = [duBytes(join(dir, 'full-precision', 'store')), duBytes(fp.prom.dataDir)];
      fullPrecision = { series: FULL_PRECISION_SERIES, points: fpPoints, storeBytes: sb, promBytes: pb, storeBytesPerPoint: sb / fpPoints, promBytesPerPoint: pb / fpPoints, storeRunningBytes: fpRunning.storeRunning.bytes, storeRunningFreeBytes: fpRunning.storeRunning.freeBytes, promRunningBytes: fpRunning.promRunningBytes };
    }
    const promBytes = duBytes(prom.dataDir);
    const promParts = {};
    for (const e of readdirSync(prom.dataDir)) {
      const part = /^[0-9A-Z]{26}$/.test(e) ? 'blocks' : e;
      promParts[part] = (promParts[part] ?? 0) + duBytes(join(prom.dataDir, e));
    }
    return {
      series: SERIES,
      days: DAYS,
      intervalMs: INTERVAL_MS,
      points,
      values: FULL_PRECISION ? 'full-precision' : 'two-decimals',
      write: { storeUsPerPoint: (storeMs * 1000) / points, promUsPerPoint: (promMs * 1000) / points, promCpuUsPerPoint: (promCpu * 1e6) / points, storeRollupMs: rollupMs, storeMaintainMs: maintainMs },
      query24h: { stepMs: step, storeMs: one.ms, storeInProcessMs: oneInProcess.store.ms, promMs: promOne.ms, storeColdMs: pairCold.store.ms, promColdMs: pairCold.prom.ms, coldWarmupQueries: COLD_WARMUP_QUERIES, storePoints: one.last.series[0].points.length, promPoints: promOnePoints },
      queryTop20: { stepMs: topStep, storeMs: top.ms, promMs: promTop.ms, storeSeries: top.last.series.length, promSeries: promTop.last.data.result.length },
      disk: { storeBytes, promBytes, storeBytesPerPoint: storeBytes / points, promBytesPerPoint: promBytes / points, promParts, storeRunningBytes: running.storeRunning.bytes, storeRunningFreeBytes: running.storeRunning.freeBytes, promRunningBytes: running.promRunningBytes },
      diskFullPrecision: fullPrecision,
    };
  } finally {
    await main.stop();
    await fp?.stop();
  }
}

/** One flush of 100,000 series (a quarter of each type; timers with their sketch) into a fresh store. */
async function bigFlush() {
  const dir = mkdtempSync(join(tmpdir(), 'zibrato-bench-store-big-'));
  const store = new StoreSink({ dir, host: '127.0.0.1', port: 0, http: false, retention: { raw: '2d', m1: '30d', h1: '1y' }, log: () => undefined });
  await store.start();
  try {
    const samples = lognormalValues(3, 5);
    const make = () => {
      const points = new Array(BIG_FLUSH_SERIES);
      for (let i = 0; i < BIG_FLUSH_SERIES; i++) {
        const id = { name: `big.m${i % 100}`, source: `host${i % 50}`, tags: { shard: String(i) } };
        switch (i & 3) {
          case 0:
            points[i] = { type: 'counter', ...id, value: i, rate: i / 10 };
            break;
          case 1:
            points[i] = { type: 'gauge', ...id, value: i, min: i, max: i };
            break;
          case 2: {
            const a = new TimerAggregator();
            for (const s of samples) a.add(s + (i % 7), 1);
            points[i] = a.toPoint(id);
            break;
          }
          default:
            points[i] = { type: 'set', ...id, value: i % 100 };
        }
      }
      return points;
    };
    const times = [];
    const t = Math.floor(Date.now() / 10_000) * 10_000;
    for (let f = 0; f < (quick ? 2 : 4); f++) {
      const points = make();
      const t0 = performance.now();
      await store.export({ timeMs: t + f * 10_000, intervalMs: 10_000, points });
      times.push(performance.now() - t0);
    }
    if (store.status().sent !== times.length * BIG_FLUSH_SERIES) throw new Error(`stored ${store.status().sent} points: ${JSON.stringify(store.status())}`);
    // The first flush also creates the 100,000 series; the others are the steady state.
    return { series: BIG_FLUSH_SERIES, firstMs: times[0], steadyMs: median(times.slice(1)), allMs: times };
  } finally {
    await store.stop();
  }
}

async function main() {
  const big = await bigFlush();
  process.stderr.write(`100,000 series per flush: first ${big.firstMs.toFixed(0)} ms (creates the series), then ${big.steadyMs.toFixed(0)} ms\n`);
  const cmp = await compare();
  process.stderr.write(
    `write ${cmp.write.storeUsPerPoint.toFixed(2)} µs/point (Prometheus remote write ${cmp.write.promUsPerPoint.toFixed(2)} µs); 24 h query ${cmp.query24h.storeMs.toFixed(1)} ms (Prometheus ${cmp.query24h.promMs.toFixed(1)} ms); first query of a series ${cmp.query24h.storeColdMs.toFixed(1)} ms (Prometheus ${cmp.query24h.promColdMs.toFixed(1)} ms); top-20 ${cmp.queryTop20.storeMs.toFixed(1)} ms (Prometheus ${cmp.queryTop20.promMs.toFixed(1)} ms); disk ${cmp.disk.storeBytesPerPoint.toFixed(2)} B/point (Prometheus ${cmp.disk.promBytesPerPoint.toFixed(2)})${cmp.diskFullPrecision ? `; full precision ${cmp.diskFullPrecision.storeBytesPerPoint.toFixed(2)} B/point (Prometheus ${cmp.diskFullPrecision.promBytesPerPoint.toFixed(2)})` : ''}\n`,
  );
  emitResult({ bench: 'store', quick, bigFlush: big, compare: cmp });
}

runBench('store', main);
