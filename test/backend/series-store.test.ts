import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SeriesStore, seriesKey } from '../../src/backend/series-store.ts';
import { ZibratoError } from '../../src/errors.ts';
import { MetricKind } from '../../src/wire/constants.ts';

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
