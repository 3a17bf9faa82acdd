import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as zmq from 'zeromq';
import { SeriesStore, seriesKey } from '../../src/backend/series-store.ts';
import { Receiver } from '../../src/backend/receiver.ts';
import { ZibratoError } from '../../src/errors.ts';
import { MetricKind } from '../../src/wire/constants.ts';
import { BatchWriter, encodeSeries, LEVEL_TOPICS } from '../../src/wire/index.ts';
import { LEVELS } from '../../src/levels.ts';
import { freeTcpPort } from '../helpers/ports.ts';
import { eventually } from '../helpers/processes.ts';

/** A store on a hand-driven clock. */
function storeAt(maxSeries: number, idleExpiryMs = 60_000): { store: SeriesStore; clock: { ms: number } } {
  const clock = { ms: 1_000_000 };
  return { store: new SeriesStore({ maxSeries, idleExpiryMs, now: () => clock.ms }), clock };
}

function record(store: SeriesStore, kind: MetricKind, name: string, value = 1, tags: Record<string, string> = {}): boolean {
  const e = store.resolve(kind, name, '', tags);
  if (!e) return false;
  SeriesStore.add(e, kind, value, 1);
  return true;
}

describe('series store', () => {
  test('tag sets that differ only in where an = sits are different series', () => {
    assert.notEqual(seriesKey(MetricKind.counter, 'n', '', { 'a=b': 'c' }), seriesKey(MetricKind.counter, 'n', '', { a: 'b=c' }));
    const { store } = storeAt(10);
    record(store, MetricKind.counter, 'n', 1, { 'a=b': 'c' });
    record(store, MetricKind.counter, 'n', 1, { a: 'b=c' });
    assert.equal(store.collect(10_000).length, 2);
  });

  test('idle gauges expire like every other kind, so a store full of gauges takes new series again', () => {
    const { store, clock } = storeAt(3, 60_000);
    for (const n of ['g1', 'g2', 'g3']) record(store, MetricKind.gauge, n, 5);
    store.collect(10_000);
    clock.ms += 60_000;
    store.collect(10_000);
    assert.equal(store.size, 0);
    assert.deepEqual(store.drainExpired().map((x) => `${x.type}:${x.name}`).sort(), ['gauge:g1', 'gauge:g2', 'gauge:g3']);
    assert.equal(record(store, MetricKind.counter, 'c'), true);
  });

  test('a series idle for less than the expiry is kept and reported only when touched', () => {
    const { store, clock } = storeAt(10, 60_000);
    record(store, MetricKind.counter, 'c');
    store.collect(10_000);
    clock.ms += 30_000;
    assert.deepEqual(store.collect(10_000), []);
    assert.equal(store.size, 1);
    assert.deepEqual(store.drainExpired(), []);
  });

  test('at the cap, a steady stream of new series is flushed every interval, not every other one', () => {
    const { store, clock } = storeAt(100, 3_600_000);
    const flushed: number[] = [];
    let refused = 0;
    for (let interval = 0; interval < 4; interval++) {
      for (let i = 0; i < 100; i++) if (!record(store, MetricKind.counter, `c${interval}.${i}`)) refused++;
      clock.ms += 10_000;
      flushed.push(store.collect(10_000).length);
    }
    assert.deepEqual(flushed, [100, 100, 100, 100]);
    assert.equal(refused, 0);
    assert.equal(store.evicted, 300);
    assert.equal(store.drainExpired().length, 300);
  });

  test('at the cap, a series already resolved in this interval is never evicted', () => {
    const { store } = storeAt(2);
    const a = store.resolve(MetricKind.counter, 'a', '', {})!;
    const b = store.resolve(MetricKind.counter, 'b', '', {})!;
    // A new metric at the cap gets an overflow series from the reserve, then nothing: a and b stay.
    assert.equal(store.resolve(MetricKind.counter, 'c', '', {})?.id.tags['zibrato.overflow'], 'true');
    assert.equal(store.resolve(MetricKind.counter, 'd', '', {}), undefined);
    SeriesStore.add(a, MetricKind.counter, 1, 1);
    SeriesStore.add(b, MetricKind.counter, 1, 1);
    assert.equal(store.collect(10_000).length, 2);
  });

  test('a non-positive or non-integer cap is refused with a coded error', () => {
    for (const bad of [0, -1, Number.NaN, 1.5]) {
      assert.throws(() => new SeriesStore({ maxSeries: bad }), (e: unknown) => e instanceof ZibratoError && e.code === 'ZIB_ERR_INVALID_OPTION');
    }
  });
});

describe('receiver at the series limit', () => {
  test('legacy records past the limit and its overflow reserve are dropped with a ZIB_SERIES_LIMIT log line', async () => {
    const port = await freeTcpPort();
    const pub = new zmq.Publisher();
    await pub.bind(`tcp://127.0.0.1:${port}`);
    const lines: string[] = [];
    const receiver = new Receiver(new SeriesStore({ maxSeries: 1 }), `tcp://127.0.0.1:${port}`, ['info'], (l) => lines.push(l));
    receiver.start();
    try {
      // The first records may be lost while the subscription travels; send until one lands.
      await eventually(async () => {
        await pub.send('info|c|first|1');
        return receiver.stats.received > 0 || undefined;
      }, 'first legacy record received');
      await eventually(async () => {
        // The second metric takes the one overflow slot past the cap; the third has no room.
        await pub.send('info|c|second|1');
        await pub.send('info|c|third|1');
        return receiver.stats.dropped > 0 || undefined;
      }, 'third legacy series dropped');
      assert.ok(lines.some((l) => l.startsWith('ZIB_SERIES_LIMIT')), lines.join('\n'));
    } finally {
      await receiver.drainAndClose(0, 0);
      pub.close();
    }
  });

  test('records of a native batch past the limit and its overflow reserve are counted as dropped', async () => {
    const port = await freeTcpPort();
    const pub = new zmq.Publisher();
    await pub.bind(`tcp://127.0.0.1:${port}`);
    const lines: string[] = [];
    const receiver = new Receiver(new SeriesStore({ maxSeries: 1 }), `tcp://127.0.0.1:${port}`, ['info'], (l) => lines.push(l));
    receiver.start();
    try {
      // The first records may be lost while the subscription travels; send until one lands. It takes the one series.
      await eventually(async () => {
        await pub.send('info|c|first|1');
        return receiver.stats.received > 0 || undefined;
      }, 'first legacy record received');
      const w = new BatchWriter();
      // The second metric takes the one overflow slot past the cap; the third has no room.
      w.append(w.addSeries(encodeSeries(MetricKind.counter, 'second', '', undefined)), 1);
      w.append(w.addSeries(encodeSeries(MetricKind.counter, 'third', '', undefined)), 1);
      await pub.send([LEVEL_TOPICS[LEVELS.indexOf('info')]!, w.seal(Date.now())]);
      await eventually(() => receiver.stats.dropped > 0 || undefined, 'the record of the third series counted as dropped');
      assert.equal(receiver.stats.dropped, 1, 'only the third series has no room');
      assert.equal(receiver.stats.invalid, 0);
      assert.ok(lines.some((l) => l.startsWith('ZIB_SERIES_LIMIT')), lines.join('\n'));
    } finally {
      await receiver.drainAndClose(0, 0);
      pub.close();
    }
  });
});

describe('receiver frame size', () => {
  test('a frame over the receiver maximum is skipped and counted with ZIB_ERR_FRAME_TOO_LARGE; one at the maximum is received', async () => {
    const port = await freeTcpPort();
    const pub = new zmq.Publisher();
    await pub.bind(`tcp://127.0.0.1:${port}`);
    const lines: string[] = [];
    const maxFrameBytes = 64;
    const receiver = new Receiver(new SeriesStore({ maxSeries: 10 }), `tcp://127.0.0.1:${port}`, ['info'], (l) => lines.push(l), maxFrameBytes);
    receiver.start();
    /** A legacy text record of exactly `bytes` bytes. */
    const legacy = (bytes: number) => `info|c|${'n'.repeat(bytes - 'info|c||1'.length)}|1`;
    try {
      // The control, a frame of exactly the maximum; the first may be lost while the subscription travels, so send until one lands.
      await eventually(async () => {
        await pub.send(legacy(maxFrameBytes));
        return receiver.stats.received > 0 || undefined;
      }, 'a frame at the maximum received');
      assert.equal(receiver.stats.invalid, 0, lines.join('\n'));
      await pub.send(legacy(maxFrameBytes + 1));
      await eventually(() => receiver.stats.invalid === 1 || undefined, 'the frame over the maximum counted as invalid');
      assert.ok(lines.some((l) => l.startsWith('ZIB_ERR_FRAME_TOO_LARGE') && l.includes(`frame of ${maxFrameBytes + 1} bytes exceeds the ${maxFrameBytes}-byte maximum`)), lines.join('\n'));
    } finally {
      await receiver.drainAndClose(0, 0);
      pub.close();
    }
  });
});

describe('series store: overflow series', () => {
  test('past the per-metric cap new series fold into one overflow series, so the metric total stays exact', () => {
    const store = new SeriesStore({ maxSeries: 1000, maxSeriesPerMetric: 10 });
    for (let i = 0; i < 100; i++) record(store, MetricKind.counter, 'requests', i + 1, { user: `u${i}` });
    const points = store.collect(10_000).filter((p) => p.name === 'requests');
    assert.equal(points.length, 11);
    assert.equal(points.reduce((a, p) => a + (p.type === 'counter' ? p.value : 0), 0), (100 * 101) / 2);
    const overflow = points.filter((p) => p.tags['zibrato.overflow'] === 'true');
    assert.equal(overflow.length, 1);
    assert.equal(store.overflowed, 90);
  });

  test('one metric past its cap leaves other metrics their own series', () => {
    const store = new SeriesStore({ maxSeries: 1000, maxSeriesPerMetric: 2 });
    for (let i = 0; i < 5; i++) record(store, MetricKind.counter, 'busy', 1, { k: `${i}` });
    record(store, MetricKind.counter, 'quiet', 1, { k: 'a' });
    const quiet = store.collect(10_000).filter((p) => p.name === 'quiet');
    assert.deepEqual(quiet.map((p) => p.tags), [{ k: 'a' }]);
  });

  test('at the store cap with every series active, new series fold into their metric overflow series instead of being refused', () => {
    const store = new SeriesStore({ maxSeries: 5, maxSeriesPerMetric: 100 });
    let refused = 0;
    for (let i = 0; i < 50; i++) if (!record(store, MetricKind.counter, 'c', 1, { i: `${i}` })) refused++;
    assert.ok(store.size <= 5 + store.overflowReserve);
    assert.equal(refused, 0);
    const total = store.collect(10_000).reduce((a, p) => a + (p.type === 'counter' ? p.value : 0), 0);
    assert.equal(total, 50);
  });

  test('an expired overflow series makes room for a new one later', () => {
    const clock = { ms: 1_000_000 };
    const capped = new SeriesStore({ maxSeries: 100, maxSeriesPerMetric: 1, idleExpiryMs: 60_000, now: () => clock.ms });
    record(capped, MetricKind.counter, 'c', 1, { a: '1' });
    record(capped, MetricKind.counter, 'c', 1, { a: '2' });
    // The control: the metric is at its cap, so the second tag set went to the overflow series.
    assert.deepEqual(capped.collect(10_000).map((p) => p.tags), [{ a: '1' }, { 'zibrato.overflow': 'true' }]);
    clock.ms += 60_000;
    capped.collect(10_000);
    assert.equal(capped.size, 0);
    record(capped, MetricKind.counter, 'c', 1, { a: '3' });
    assert.deepEqual(capped.collect(10_000).map((p) => p.tags), [{ a: '3' }]);
  });
});
