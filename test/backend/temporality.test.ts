import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { Backend } from '../../src/backend/backend.ts';
import { CumulativeState } from '../../src/backend/temporality.ts';
import { Broker } from '../../src/broker/broker.ts';
import { Zibrato } from '../../src/index.ts';
import { MemorySink } from '../../src/sinks/memory-sink.ts';
import type { CounterPoint, FlushBatch, TimerPoint } from '../../src/sinks/sink.ts';
import { TimerSketch } from '../../src/backend/aggregators/timer-aggregator.ts';
import { tcpBrokerEndpoints } from '../helpers/ports.ts';
import { eventually } from '../helpers/processes.ts';
import { batchAt, counter, timer } from '../sinks/fixtures.ts';

const T = 1_700_000_010_000;

describe('cumulative state', () => {
  test('counter and timer points get running totals since the interval their series started', () => {
    const state = new CumulativeState();
    state.apply(batchAt([counter('c', 2), timer('t', { count: 1, sum: 4 })], T));
    const b = state.apply(batchAt([counter('c', 3), timer('t', { count: 2, sum: 6 })], T + 10_000));
    assert.deepEqual(
      b.points.map((p) => (p.type === 'counter' || p.type === 'timer' ? p.cumulative : undefined)),
      [
        { startMs: T - 10_000, value: 5 },
        { startMs: T - 10_000, count: 3, sum: 10 },
      ],
    );
  });

  test('with histograms, a timer also gets its merged sketch since its start; a series that comes back starts a new one', () => {
    const state = new CumulativeState(true);
    const sketchOf = (values: number[]): TimerSketch => {
      const s = new TimerSketch();
      for (const v of values) s.accept(v);
      return s;
    };
    state.apply(batchAt([timer('t', { count: 2, sum: 3, sketch: sketchOf([1, 2]) })], T));
    const second = state.apply(batchAt([timer('t', { count: 1, sum: 500, sketch: sketchOf([500]) })], T + 10_000)).points[0] as TimerPoint;
    const h = second.cumulative!.histogram!;
    assert.equal(h.count, 3);
    assert.deepEqual([...h.positive.entries()], [...sketchOf([1, 2, 500]).positive.entries()]);
    state.apply({ ...batchAt([], T + 20_000), expired: [{ type: 'timer', name: 't', source: '', tags: {} }] });
    const back = state.apply(batchAt([timer('t', { count: 1, sum: 7, sketch: sketchOf([7]) })], T + 30_000)).points[0] as TimerPoint;
    assert.equal(back.cumulative!.histogram!.count, 1);
  });

  test('without histograms a timer gets no merged sketch (nothing kept per series beyond count and sum)', () => {
    const state = new CumulativeState();
    const s = new TimerSketch();
    s.accept(1);
    const p = state.apply(batchAt([timer('t', { count: 1, sum: 1, sketch: s })], T)).points[0] as TimerPoint;
    assert.equal(p.cumulative!.histogram, undefined);
  });

  test('a series the backend forgot starts again from zero with a new start, and its state is freed', () => {
    const state = new CumulativeState();
    state.apply(batchAt([counter('c', 2), counter('kept', 1)], T));
    const later: FlushBatch = { ...batchAt([counter('c', 7)], T + 30_000), expired: [{ type: 'counter', name: 'c', source: '', tags: {} }] };
    assert.equal(state.size, 2);
    state.apply({ ...batchAt([], T + 20_000), expired: [{ type: 'counter', name: 'c', source: '', tags: {} }] });
    assert.equal(state.size, 1);
    const p = state.apply(later).points[0] as CounterPoint;
    assert.deepEqual(p.cumulative, { startMs: T + 20_000, value: 7 });
  });

  test('a non-finite interval value gets no totals and leaves them intact', () => {
    const state = new CumulativeState();
    state.apply(batchAt([counter('c', 2)], T));
    const bad = state.apply(batchAt([counter('c', Number.NaN)], T + 10_000)).points[0] as CounterPoint;
    assert.equal(bad.cumulative, undefined);
    const good = state.apply(batchAt([counter('c', 1)], T + 20_000)).points[0] as CounterPoint;
    assert.equal(good.cumulative?.value, 3);
  });
});

test('a backend gives a sink that wants cumulative values running totals, and a delta sink none', async () => {
  const ep = await tcpBrokerEndpoints();
  const broker = new Broker({ publishEndpoints: [ep.publish], subscribeEndpoints: [ep.subscribe], selfMetricsIntervalMs: 0 });
  const cumulativeSink = Object.assign(new MemorySink(), { temporality: 'cumulative' as const });
  const deltaSink = new MemorySink();
  const backends = [cumulativeSink, deltaSink].map((sink, i) => new Backend({ name: `b${i}`, broker: ep.subscribe, levels: ['info'], flushIntervalMs: 60_000, sink, selfMetrics: false, log: () => undefined }));
  const z = new Zibrato({ broker: ep.publish, source: 'temporality', log: () => undefined });
  try {
    await broker.start();
    for (const b of backends) await b.start();
    assert.ok(await z.ready({ levels: ['info'], timeoutMs: 15_000 }));
    for (const [n, total] of [[2, 2], [3, 5]] as const) {
      z.count({ name: 'hits', value: n });
      z.flush();
      await eventually(() => backends.every((b) => b.status().received === (total === 2 ? 1 : 2)), 'records at both backends');
      for (const b of backends) await b.flush();
    }
    const values = (sink: MemorySink) => sink.batches.flatMap((b) => b.points).filter((p): p is CounterPoint => p.type === 'counter' && p.name === 'hits');
    assert.deepEqual(values(cumulativeSink).map((p) => [p.value, p.cumulative?.value]), [[2, 2], [3, 5]]);
    assert.deepEqual(values(deltaSink).map((p) => [p.value, p.cumulative]), [[2, undefined], [3, undefined]]);
  } finally {
    await z.close({ timeoutMs: 1000 });
    for (const b of backends) await b.stop();
    await broker.stop();
  }
});

test('a backend keeps the merged histogram of each timer for a sink that asks for cumulative histograms', async () => {
  const ep = await tcpBrokerEndpoints();
  const broker = new Broker({ publishEndpoints: [ep.publish], subscribeEndpoints: [ep.subscribe], selfMetricsIntervalMs: 0 });
  const sink = Object.assign(new MemorySink(), { temporality: 'cumulative' as const, cumulativeHistograms: true });
  const backend = new Backend({ name: 'hist', broker: ep.subscribe, levels: ['info'], flushIntervalMs: 60_000, sink, selfMetrics: false, log: () => undefined });
  const z = new Zibrato({ broker: ep.publish, source: 'temporality', log: () => undefined });
  try {
    await broker.start();
    await backend.start();
    assert.ok(await z.ready({ levels: ['info'], timeoutMs: 15_000 }));
    const lat = (): TimerPoint => sink.batches.at(-1)!.points.find((p): p is TimerPoint => p.type === 'timer' && p.name === 'lat')!;
    // The histogram is the backend's own, updated at each flush: read it at the flush that handed it over.
    const counts: number[] = [];
    for (const [values, received] of [[[1, 2], 2], [[500], 3]] as const) {
      for (const ms of values) z.timing({ name: 'lat', ms });
      z.flush();
      await eventually(() => backend.status().received === received, 'records at the backend');
      await backend.flush();
      counts.push(lat().cumulative!.histogram!.count);
    }
    assert.deepEqual(counts, [2, 3]);
    const all = new TimerSketch();
    for (const v of [1, 2, 500]) all.accept(v);
    assert.deepEqual([...lat().cumulative!.histogram!.positive.entries()], [...all.positive.entries()]);
  } finally {
    await z.close({ timeoutMs: 1000 });
    await backend.stop();
    await broker.stop();
  }
});
