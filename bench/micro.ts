// Hot-path micro-benchmarks, Zibrato side by side with its peers in one process.
// Run by bench/run.js as: node --import tsx bench/micro.ts [--quick]
//
// TypeScript because `using` and TC39 decorators need a compiler on Node 20
// (tsx/esbuild lowers both here, as tsc does in an app).
//
// The client is really connected: a broker and a file backend subscribed to
// `info+` run as child processes, so `info` is enabled and `debug` is a level
// nobody subscribes to. Cases are interleaved round by round so background
// noise hits every case alike; each figure is the median over rounds of the
// mean ns per call (the mean keeps the amortised cost of sealing batches and GC).
// After every enabled Zibrato round the bench waits until the client buffer is
// empty, so the buffer never overflows; dropped counts are reported anyway.
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { do_not_optimize } from 'mitata';
import client from 'prom-client';
import { MeterProvider, PeriodicExportingMetricReader, InMemoryMetricExporter, AggregationTemporality } from '@opentelemetry/sdk-metrics';
import StatsD from 'hot-shots';
import { Zibrato } from '../dist/index.js';
import { measureRound, runner, warm } from './lib/measure.mjs';
import { emitResult, isQuick, median, pollUntil, sleep, startPipeline, stopAllChildren } from './lib/common.mjs';

const quick = isQuick();
const ROUNDS = quick ? 5 : 21;
/** 4096 calls per sample; 200 samples = ~0.8 M calls per round, far under the client's buffer bound. */
const CALLS_PER_SAMPLE = 4096;
const SAMPLES = quick ? 100 : 200;
/** Cases that cost microseconds (a syscall per call) take fewer, smaller samples. */
const SLOW_SAMPLES = 20;
const SLOW_CALLS_PER_SAMPLE = 256;

const TAGS = { route: '/checkout', status: '200' } as const;

interface Case {
  id: string;
  label: string;
  fn: () => unknown;
  /** A Zibrato case at an enabled level: drain the buffer after each round. */
  zibEnabled?: boolean;
  /** Slow cases get fewer samples so a round stays short. */
  slow?: boolean;
}

const dir = mkdtempSync(join(tmpdir(), 'zibrato-bench-micro-'));
const metricsFile = join(dir, 'metrics.jsonl');

async function main(): Promise<void> {
  const pipe = await startPipeline({ sink: 'file', levels: 'info+', flush: '1s', path: metricsFile });
  const z = new Zibrato({ broker: pipe.pub, source: 'bench', maxBufferedRecords: 8_000_000, log: (l) => process.stderr.write(`[client] ${l}\n`) });
  if (!(await z.ready({ levels: ['info'], timeoutMs: 10_000 }))) throw new Error('client not connected to the broker');
  await sleep(400); // past the unsubscribe settle delay: the mask is exactly info+
  if (z.isEnabled('debug') || !z.isEnabled('info')) throw new Error('expected info enabled and debug unsubscribed');

  // ── peers ──
  const registry = new client.Registry();
  const promCounter = new client.Counter({ name: 'bench_requests', help: 'requests', labelNames: ['route', 'status'], registers: [registry] });
  const promChild = promCounter.labels(TAGS.route, TAGS.status);
  const promHist = new client.Histogram({ name: 'bench_block_seconds', help: 'block', registers: [registry] });

  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000 });
  const provider = new MeterProvider({ readers: [reader] });
  const otelCounter = provider.getMeter('bench').createCounter('bench.requests');
  const ATTRS = { route: TAGS.route, status: TAGS.status };

  const udp = createSocket('udp4');
  let udpReceived = 0;
  udp.on('message', () => udpReceived++);
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', () => r()));
  const udpPort = udp.address().port;
  const hs = new StatsD({ host: '127.0.0.1', port: udpPort, errorHandler: () => undefined });
  const hsBuffered = new StatsD({ host: '127.0.0.1', port: udpPort, maxBufferSize: 1400, bufferFlushInterval: 10, errorHandler: () => undefined });
  hs.increment('warmup', 1);
  hsBuffered.increment('warmup', 1);
  await sleep(100); // the dgram socket binds on first send

  // ── Zibrato subjects ──
  const handle = z.counterHandle({ name: 'bench.requests', tags: TAGS });
  const debugHandle = z.counterHandle({ name: 'bench.debug', level: 'debug', tags: TAGS });
  const timerHandle = z.timerHandle({ name: 'bench.block.handle' });

  class Service {
    @z.timeMe({ name: 'bench.method' })
    timed(x: number): number {
      return x + 1;
    }
    plain(x: number): number {
      return x + 1;
    }
  }
  const svc = new Service();
  function empty(): void {}

  // Floors: the pieces an options-object call cannot avoid, measured alone.
  const names = new Map<string, number>();
  for (let i = 0; i < 1000; i++) names.set(`metric.${i}`, i);
  names.set('bench.requests', 1);
  const bigKeys = Array.from({ length: 100_000 }, (_, i) => `user-${i}`);
  const bigMap = new Map(bigKeys.map((key, i) => [key, { i }]));
  let m100 = 0;
  const storedKeys = ['route', 'status'];
  const storedValues = ['/checkout', '200'];
  const forInCompare = (tags: Record<string, string>): boolean => {
    let n = 0;
    for (const key in tags) {
      if (n >= storedKeys.length || storedKeys[n] !== key || storedValues[n] !== tags[key]) return false;
      n++;
    }
    return n === storedKeys.length;
  };

  // Many tag sets under one name (per-user, per-URL tags): each case cycles
  // through N distinct values with a fresh literal per call, as an app does.
  // One client per case, so a case's handles never crowd another's out of the
  // handle cache (it holds 100,000). Stepping by a prime breaks runs of the
  // same tag set, so the "same call again" shortcut never answers. Their own
  // broker and backend (flushing once a minute to a file nobody reads) keep
  // 100,000 series a second out of the file the totals are checked in.
  const tagPipe = await startPipeline({ sink: 'file', levels: 'info+', flush: '60s', path: join(dir, 'tagsets.jsonl') });
  const TAG_SET_COUNTS = [10, 1_000, 10_000, 100_000];
  const tagClients: Zibrato[] = [];
  const tagSetCases: Case[] = TAG_SET_COUNTS.map((n) => {
    const zc = new Zibrato({ broker: tagPipe.pub, source: 'bench', maxBufferedRecords: 8_000_000, log: (l) => process.stderr.write(`[client ${n}] ${l}\n`) });
    tagClients.push(zc);
    const users = Array.from({ length: n }, (_, i) => `user-${i}`);
    let j = 0;
    return {
      id: `zib.count.tagsets.${n}`,
      label: `Zibrato \`z.count({ name, tags: { user } })\` cycling through ${n.toLocaleString('en-US')} tag sets under one name`,
      fn: () => {
        j = (j + 7919) % n;
        zc.count({ name: 'bench.tagsets', tags: { user: users[j]! } });
      },
      zibEnabled: true,
    };
  });
  // What one request of bench/app's service pays in the client (the real-service headline):
  // two in-flight gauge sets, a timing tagged route/method/status (two routes in turn), the
  // request counter and a count tagged with one of 10,000 users, each in a fresh literal.
  const appClient = new Zibrato({ broker: tagPipe.pub, source: 'bench', maxBufferedRecords: 8_000_000, log: (l) => process.stderr.write(`[client app] ${l}\n`) });
  tagClients.push(appClient);
  const appRequests = appClient.counterHandle({ name: 'bench.app.requests' });
  const appInflight = appClient.gaugeHandle({ name: 'bench.app.inflight' });
  const appUsers = Array.from({ length: 10_000 }, (_, i) => `u${i}`);
  const appRoutes = ['/json', '/db'];
  let appInFlight = 0;
  /**
   * `fresh`: the strings a service has, the user id and the status built per request (from
   * the URL, from the status code), so each lookup compares a fresh string with the stored
   * one instead of finding the very same string object.
   */
  const appRequest = (id: string, label: string, fresh: boolean): Case => {
    let seq = 0;
    return {
      id,
      label,
      fn: () => {
        const i = seq++;
        const u = (i * 7919) % 10_000;
        appInflight.set(++appInFlight);
        appInflight.set(--appInFlight);
        appClient.timing({ name: 'bench.app.request', tags: { route: appRoutes[i & 1]!, method: 'GET', status: fresh ? String(200) : '200' }, ms: 0.5 });
        appRequests.inc();
        appClient.count({ name: 'bench.app.user.requests', tags: { user: fresh ? `u${u}` : appUsers[u]! } });
      },
      zibEnabled: true,
    };
  };
  const appRequestCase = appRequest('zib.request.app', 'Zibrato: the five calls of one bench/app request (2 gauge sets, a timing with 3 tags, a handle `inc()`, a count over 10,000 users)', false);
  const appRequestFreshCase = appRequest('zib.request.app.fresh', 'Zibrato: the same five calls, with the user id and status built per request (as in a service)', true);
  for (const zc of tagClients) if (!(await zc.ready({ levels: ['info'], timeoutMs: 10_000 }))) throw new Error('tag-set client not connected to the broker');

  let k = 0;
  const cases: Case[] = [
    // enabled counter, tags
    { id: 'zib.handle', label: 'Zibrato `c.inc()` (held handle, tags)', fn: () => handle.inc(), zibEnabled: true },
    { id: 'zib.count', label: 'Zibrato `z.count({ name, tags })` (tags literal)', fn: () => z.count({ name: 'bench.requests', tags: { route: '/checkout', status: '200' } }), zibEnabled: true },
    { id: 'zib.count.consttags', label: 'Zibrato `z.count({ name, tags: TAGS })` (tags constant)', fn: () => z.count({ name: 'bench.requests', tags: TAGS }), zibEnabled: true },
    { id: 'zib.count.notags', label: 'Zibrato `z.count({ name })` (no tags)', fn: () => z.count({ name: 'bench.jobs' }), zibEnabled: true },
    ...tagSetCases,
    appRequestCase,
    appRequestFreshCase,
    { id: 'prom.child', label: 'prom-client `counter.labels(...)` child `.inc()`', fn: () => promChild.inc() },
    { id: 'prom.labels', label: 'prom-client `counter.inc(labels)`', fn: () => promCounter.inc(ATTRS) },
    { id: 'otel.add', label: 'OpenTelemetry `counter.add(1, attrs)`', fn: () => otelCounter.add(1, ATTRS) },
    { id: 'hotshots', label: 'hot-shots `increment(name, 1, tags)` (UDP, default: a datagram per call)', fn: () => hs.increment('bench.requests', 1, TAGS), slow: true },
    { id: 'hotshots.buffered', label: 'hot-shots `increment` with maxBufferSize 1400', fn: () => hsBuffered.increment('bench.requests', 1, TAGS), slow: true },
    // floors of the options-object path
    { id: 'floor.mapget', label: 'floor: one `Map.get(name)` probe (1,000 names)', fn: () => do_not_optimize(names.get('bench.requests')) },
    { id: 'floor.forin', label: 'floor: for-in compare of a fresh `{ route, status }` literal with stored tags', fn: () => do_not_optimize(forInCompare({ route: '/checkout', status: '200' })) },
    // What any hash lookup costs when 100,000 keys are visited in no order: mostly cache misses.
    {
      id: 'floor.mapget.100000',
      label: 'floor: one `Map.get(key)` cycling through 100,000 string keys',
      fn: () => {
        m100 = (m100 + 7919) % 100_000;
        return do_not_optimize(bigMap.get(bigKeys[m100]!));
      },
    },
    { id: 'floor.alloc', label: 'floor: allocating a `{ name, tags: { route, status } }` options object', fn: () => do_not_optimize({ name: 'bench.requests', tags: { route: '/checkout', status: '200' } }) },
    // unsubscribed level
    { id: 'empty', label: 'empty function call', fn: () => empty() },
    { id: 'zib.off.handle', label: 'Zibrato `c.inc()` at an unsubscribed level', fn: () => debugHandle.inc() },
    { id: 'zib.off.count', label: "Zibrato `z.count({ level: 'debug', name, tags })`", fn: () => z.count({ level: 'debug', name: 'bench.debug', tags: { route: '/checkout', status: '200' } }) },
    {
      id: 'zib.off.timer',
      label: "Zibrato `using t = z.timer({ level: 'debug', name })`",
      fn: () => {
        using t = z.timer({ level: 'debug', name: 'bench.debug.block' });
      },
    },
    // timers
    {
      id: 'hrtime',
      label: 'bare `process.hrtime.bigint()` pair',
      fn: () => {
        const s = process.hrtime.bigint();
        do_not_optimize(process.hrtime.bigint() - s);
      },
    },
    {
      id: 'perfnow',
      label: 'bare `performance.now()` pair',
      fn: () => {
        const s = performance.now();
        do_not_optimize(performance.now() - s);
      },
    },
    {
      id: 'zib.using',
      label: 'Zibrato `using t = z.timer({ name })` (empty block)',
      fn: () => {
        using t = z.timer({ name: 'bench.block' });
      },
      zibEnabled: true,
    },
    {
      id: 'zib.tryfinally',
      label: 'Zibrato `z.timer({ name })` + try/finally dispose (what native `using` does)',
      fn: () => {
        const t = z.timer({ name: 'bench.block' });
        try {
          k++;
        } finally {
          t[Symbol.dispose]();
        }
      },
      zibEnabled: true,
    },
    {
      id: 'zib.handle.start',
      label: 'Zibrato `using t = timerHandle.start()`',
      fn: () => {
        using t = timerHandle.start();
      },
      zibEnabled: true,
    },
    {
      id: 'zib.handle.start.tryfinally',
      label: 'Zibrato `timerHandle.start()` + try/finally dispose',
      fn: () => {
        const t = timerHandle.start();
        try {
          k++;
        } finally {
          t[Symbol.dispose]();
        }
      },
      zibEnabled: true,
    },
    { id: 'zib.timeMe', label: 'Zibrato `@z.timeMe` method call', fn: () => svc.timed(k++), zibEnabled: true },
    { id: 'plain.method', label: 'the same method undecorated', fn: () => svc.plain(k++) },
    {
      id: 'prom.startTimer',
      label: 'prom-client `const end = histogram.startTimer(); end()`',
      fn: () => {
        const end = promHist.startTimer();
        end();
      },
    },
  ];

  const filter = process.env.ZIBRATO_BENCH_FILTER ? new RegExp(process.env.ZIBRATO_BENCH_FILTER) : null;
  const selected = filter ? cases.filter((c) => filter.test(c.id)) : cases;
  const perRound = new Map<string, number[]>(selected.map((c) => [c.id, []]));
  const dropped = new Map<string, number>(selected.map((c) => [c.id, 0]));

  const clients = [z, ...tagClients];
  const drain = async (): Promise<boolean> => {
    for (const c of clients) c.flush();
    return pollUntil(() => clients.every((c) => (c.flush(), c.stats().buffered === 0)), 30_000, 5);
  };

  // Warm-up: every case, uncounted, so the JIT has optimised all of them before round 1.
  const runners = new Map(selected.map((c) => [c.id, runner(c.fn)]));
  for (const c of selected) {
    warm(runners.get(c.id), c.slow ? 4 * SLOW_CALLS_PER_SAMPLE : 400_000, c.slow ? SLOW_CALLS_PER_SAMPLE : CALLS_PER_SAMPLE);
    if (c.zibEnabled) await drain();
    if (c.slow) await sleep(20);
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (const c of selected) {
      const before = clients.reduce((n, cl) => n + cl.stats().dropped, 0);
      const stats = c.slow ? measureRound(runners.get(c.id), SLOW_SAMPLES, SLOW_CALLS_PER_SAMPLE) : measureRound(runners.get(c.id), SAMPLES, CALLS_PER_SAMPLE);
      perRound.get(c.id)!.push(stats.mean);
      if (c.zibEnabled && !(await drain())) process.stderr.write(`micro: buffer did not drain after ${c.id}\n`);
      dropped.set(c.id, dropped.get(c.id)! + clients.reduce((n, cl) => n + cl.stats().dropped, 0) - before);
      if (c.slow) await sleep(20); // let the UDP receiver and hot-shots callbacks catch up
    }
    process.stderr.write(`micro: round ${round + 1}/${ROUNDS} done\n`);
  }

  // Every record the client sent must arrive: compare with the backend's counter totals.
  await drain();
  for (const zc of tagClients) await zc.close({ timeoutMs: 10_000 });
  await z.close({ timeoutMs: 10_000 });
  const stats = z.stats();
  const expectRequests = await pollUntil(() => {
    const total = counterTotal(metricsFile, 'bench.requests');
    return total > 0 && total === lastTotal ? total : ((lastTotal = total), 0);
  }, 30_000, 1200);
  const received = counterTotal(metricsFile, 'bench.requests') + counterTotal(metricsFile, 'bench.jobs') + timerCount(metricsFile);

  const results = selected.map((c) => {
    const rounds = perRound.get(c.id)!;
    return { id: c.id, label: c.label, ns: median(rounds), nsMin: Math.min(...rounds), rounds: rounds.length, dropped: dropped.get(c.id) };
  });
  emitResult({
    bench: 'micro',
    rounds: ROUNDS,
    callsPerRound: SAMPLES * CALLS_PER_SAMPLE,
    cases: results,
    client: stats,
    backendReceived: received,
    backendRequests: expectRequests,
    debugEnabled: z.isEnabled('debug'),
    udpDatagramsReceived: udpReceived,
  });
  hs.close();
  hsBuffered.close();
  udp.close();
  await provider.shutdown();
  await pipe.backend.stop('SIGTERM');
  await pipe.broker.stop('SIGTERM');
  await tagPipe.backend.stop('SIGTERM');
  await tagPipe.broker.stop('SIGTERM');
}

let lastTotal = -1;

function rows(file: string): Record<string, unknown>[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
function counterTotal(file: string, name: string): number {
  let n = 0;
  for (const r of rows(file)) if (r.name === name && r.type === 'counter') n += r.value as number;
  return n;
}
function timerCount(file: string): number {
  let n = 0;
  for (const r of rows(file)) if (r.type === 'timer' && typeof r.name === 'string' && r.name.startsWith('bench.')) n += r.count as number;
  return n;
}

main()
  .catch((err) => {
    process.stderr.write(`micro: ${(err as Error).stack ?? err}\n`);
    process.exitCode = 1;
  })
  .finally(async () => {
    await stopAllChildren();
    setTimeout(() => process.exit(), 200).unref();
  });
