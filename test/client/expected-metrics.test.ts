import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Zibrato } from '../../src/client/zibrato.ts';
import type { GaugePoint, MetricPoint } from '../../src/sinks/sink.ts';
import { PrometheusExpositionSink } from '../../src/sinks/prometheus-sink.ts';
import { inProcessPipeline } from '../helpers/in-process.ts';
import { eventually, program, ROOT } from '../helpers/processes.ts';
import { promtoolCheckMetrics } from '../helpers/peers/promtool.ts';

/** The gauges, counters and timers prom-client users expect (issue 11, point 5). */
describe('metrics people expect, against a real broker and backend', () => {
  let pipe: Awaited<ReturnType<typeof inProcessPipeline>>;
  let z: Zibrato;
  const diagnostics: string[] = [];
  const prometheus = new PrometheusExpositionSink({ host: '127.0.0.1', port: 0, namespace: '', expireAfterMs: 0 });

  before(async () => {
    pipe = await inProcessPipeline(undefined, { extraSink: prometheus });
    z = new Zibrato({ broker: pipe.publish, collectIntervalMs: 100, log: (l) => diagnostics.push(l) });
    assert.equal(await z.ready({ levels: ['info'] }), true);
  });
  after(async () => {
    await z.close();
    await pipe.stop();
  });

  /** Flushes the backend until a point matching `match` has arrived, and returns it. */
  async function arrived<T extends MetricPoint>(what: string, match: (p: MetricPoint) => p is T): Promise<T> {
    const found = await eventually(async () => {
      z.flush();
      await pipe.backend.flush();
      return pipe.sink.batches.flatMap((b) => b.points).filter(match).pop();
    }, what);
    return found!;
  }
  const gaugeNamed = (name: string, value?: number) => (p: MetricPoint): p is GaugePoint => p.type === 'gauge' && p.name === name && (value === undefined || p.value === value);

  test('a gauge handle moves its gauge from the last value with inc and dec', async () => {
    const g = z.gaugeHandle({ name: 'pool.busy' });
    g.set(10);
    g.inc();
    g.inc(5);
    g.dec(2);
    g.dec();
    assert.equal((await arrived('pool.busy at 13', gaugeNamed('pool.busy', 13))).value, 13);
  });

  test('gaugeInc and gaugeDec move a gauge set with z.gauge', async () => {
    z.gauge({ name: 'queue.len', value: 3 });
    z.gaugeInc({ name: 'queue.len', value: 4 });
    z.gaugeDec({ name: 'queue.len' });
    assert.equal((await arrived('queue.len at 6', gaugeNamed('queue.len', 6))).value, 6);
  });

  test('an observable gauge is read by the client on its collect timer, with extra tags per reading', async () => {
    let reading = 41;
    const r = z.observableGauge({ name: 'conn.idle', tags: { pool: 'main' } }, (o) => {
      reading++;
      o.observe(reading);
      o.observe(7, { shard: '2' });
    });
    try {
      const p = await arrived('conn.idle read', (q): q is GaugePoint => gaugeNamed('conn.idle')(q) && q.tags.shard === undefined);
      assert.ok(p.value >= 42, String(p.value));
      assert.deepEqual(p.tags, { pool: 'main' });
      const tagged = await arrived('conn.idle shard 2', (q): q is GaugePoint => gaugeNamed('conn.idle', 7)(q) && q.tags.shard === '2');
      assert.deepEqual(tagged.tags, { pool: 'main', shard: '2' });
    } finally {
      r.unregister();
    }
  });

  test('an observable gauge is not read after unregister', async () => {
    let calls = 0;
    const r = z.observableGauge({ name: 'unregistered.reading' }, (o) => o.observe(++calls));
    await eventually(() => calls > 0, 'a first reading');
    r.unregister();
    const at = calls;
    // Two more readings of another gauge prove the collect timer kept running.
    let ticks = 0;
    const other = z.observableGauge({ name: 'still.read' }, (o) => o.observe(++ticks));
    await eventually(() => ticks >= 2, 'two more collect ticks');
    other.unregister();
    assert.equal(calls, at);
  });

  test('a throwing observable callback is counted as invalid and reported, never thrown', async () => {
    const before = z.stats().invalid;
    const r = z.observableGauge({ name: 'broken.reading' }, () => {
      throw new Error('pool is gone');
    });
    try {
      await eventually(() => z.stats().invalid > before, 'the throw counted as invalid');
      assert.ok(diagnostics.some((l) => l.includes('observable gauge "broken.reading"') && l.includes('pool is gone')), diagnostics.join('\n'));
    } finally {
      r.unregister();
    }
  });

  test('description and unit given to a call arrive with the backend’s points', async () => {
    z.gauge({ name: 'disk.free', value: 5, description: 'Free space on the data disk', unit: 'bytes' });
    const p = await arrived('disk.free', gaugeNamed('disk.free'));
    assert.equal(p.description, 'Free space on the data disk');
    assert.equal(p.unit, 'bytes');
  });

  test('collectDefaultMetrics sends every series docs/default-metrics.md lists, with its unit, and Prometheus shows the documented names', async () => {
    const doc = readFileSync(new URL('../../docs/default-metrics.md', import.meta.url), 'utf8');
    const rows = [...doc.matchAll(/^\| `([a-z_.]+)` \| (counter|gauge|timer) \| (\S*) \| `([a-z_]+)`/gm)].map((m) => ({ name: m[1]!, type: m[2]!, unit: m[3]!, prometheus: m[4]! }));
    assert.ok(rows.length >= 12, `rows of the table in docs/default-metrics.md: ${rows.length}`);
    const r = z.collectDefaultMetrics();
    assert.equal(z.collectDefaultMetrics(), r, 'a second call returns the same registration');
    try {
      // GC pauses arrive when V8 collects; allocate until it does (bounded).
      for (let i = 0; i < 200; i++) new Array(10_000).fill(i);
      for (const row of rows) {
        const p = await arrived(`default metric ${row.name}`, (q): q is MetricPoint => q.name === row.name && q.type === row.type);
        if (row.type !== 'timer') assert.equal(p.unit ?? '', row.unit === '—' ? '' : row.unit, row.name);
      }
      const text = await (await fetch(`http://127.0.0.1:${prometheus.port}/metrics`)).text();
      for (const row of rows) assert.match(text, new RegExp(`^# TYPE ${row.prometheus} `, 'm'), `${row.prometheus} in\n${text}`);
      assert.match(text, /^# HELP process_resident_memory_bytes Resident set size$/m);
      const check = promtoolCheckMetrics(text);
      assert.equal(check.status, 0, check.output);
    } finally {
      r.unregister();
    }
  });
});

test('a script with default metrics and an observable gauge that never calls close() still exits, and its readings arrive', async () => {
  const pipe = await inProcessPipeline(['info']);
  const dir = mkdtempSync(join(tmpdir(), 'zibrato-observe-exit-'));
  try {
    const script = join(dir, 'app.mts');
    writeFileSync(
      script,
      `import { Zibrato } from ${JSON.stringify(join(ROOT, 'src/index.ts'))};
const z = new Zibrato({ broker: process.argv[2], collectIntervalMs: 100 });
await z.ready({ levels: ['info'], timeoutMs: 10_000 });
z.collectDefaultMetrics();
z.observableGauge({ name: 'script.reading' }, (o) => o.observe(5));
console.log('registered');
// no close(): the records collect() writes must not look like work that keeps the process alive
`,
    );
    const p = program(process.execPath, ['--import', 'tsx', script, pipe.publish], 'unclosed observer');
    // exitWithin fails the test, with the output, if the script has not exited by itself within 15 s.
    const { code, signal } = await p.exitWithin(15_000);
    assert.equal(signal, null, p.lines.join('\n'));
    assert.equal(code, 0, p.lines.join('\n'));
    const points = await pipe.points();
    assert.ok(points.some((q) => q.name === 'script.reading' && q.type === 'gauge' && q.value === 5), JSON.stringify(points.map((q) => q.name)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await pipe.stop();
  }
});
