import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CounterAggregator } from '../../src/backend/aggregators/counter-aggregator.ts';
import { GaugeAggregator } from '../../src/backend/aggregators/gauge-aggregator.ts';
import { SetAggregator, SET_EXACT_CAP } from '../../src/backend/aggregators/set-aggregator.ts';
import { TimerAggregator } from '../../src/backend/aggregators/timer-aggregator.ts';
import { hashSetMember } from '../../src/wire/set-member.ts';

const id = { name: 'x', source: '', tags: {} };

describe('counter', () => {
  test('sums increments and gives the per-second rate over the interval', () => {
    const c = new CounterAggregator();
    c.add(5, 1);
    c.add(3, 1);
    assert.deepEqual(c.toPoint(id, 2000), { type: 'counter', ...id, value: 8, rate: 4 });
  });
  test('a sampled increment counts 1/rate times', () => {
    const c = new CounterAggregator();
    c.add(1, 1 / 0.1);
    assert.equal(c.toPoint(id, 1000).value, 10);
  });
  test('merge adds, reset starts over', () => {
    const a = new CounterAggregator();
    const b = new CounterAggregator();
    a.add(1, 1);
    b.add(2, 1);
    a.merge(b);
    assert.equal(a.sum, 3);
    a.reset();
    assert.equal(a.touched, false);
    assert.equal(a.sum, 0);
  });
});

describe('gauge', () => {
  test('keeps the last value, and deltas apply to it across flushes', () => {
    const g = new GaugeAggregator();
    g.add(10);
    g.add(7);
    assert.equal(g.toPoint(id).value, 7);
    g.reset();
    g.addDelta(+3);
    g.addDelta(-1);
    assert.equal(g.toPoint(id).value, 9);
  });
});

describe('timer', () => {
  test('a timer given both a huge and a tiny value keeps exact min and max and does not throw', () => {
    const a = new TimerAggregator();
    a.add(1e308, 1);
    a.add(1e-300, 1);
    a.add(5, 1);
    const p = a.toPoint({ name: 't', source: '', tags: {} });
    assert.equal(p.count, 3);
    assert.equal(p.min, 1e-300);
    assert.equal(p.max, 1e308);
  });

  function exact(sorted: number[], q: number): number {
    return sorted[Math.floor(q * (sorted.length - 1))]!;
  }
  test('exact count/sum/min/max/mean/stddev and percentiles within 1 % on 100,000 samples', () => {
    const t = new TimerAggregator();
    let seed = 7;
    const values: number[] = [];
    for (let i = 0; i < 100_000; i++) {
      seed = (seed * 16807) % 2147483647;
      const v = 0.1 + (seed / 2147483647) ** 3 * 5000; // heavy right tail
      values.push(v);
      t.add(v, 1);
    }
    const p = t.toPoint(id);
    const sorted = [...values].sort((a, b) => a - b);
    const sum = values.reduce((a, b) => a + b, 0);
    const mean = sum / values.length;
    const sd = Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / values.length);
    assert.equal(p.count, 100_000);
    assert.ok(Math.abs(p.sum - sum) / sum < 1e-9);
    assert.equal(p.min, sorted[0]);
    assert.equal(p.max, sorted.at(-1));
    assert.ok(Math.abs(p.mean - mean) / mean < 1e-9);
    assert.ok(Math.abs(p.stddev - sd) / sd < 1e-6);
    for (const [q, got] of [[0.5, p.p50], [0.9, p.p90], [0.95, p.p95], [0.99, p.p99]] as const) {
      const want = exact(sorted, q);
      assert.ok(Math.abs(got - want) / want <= 0.01, `q${q}: ${got} vs ${want}`);
    }
  });
  test('memory does not grow with the number of samples (sketch bins depend on the value range)', () => {
    const t = new TimerAggregator();
    const bins = () => t.sketch.positive.counts.length;
    for (let i = 0; i < 10_000; i++) t.add(1 + (i % 1000), 1);
    const after10k = bins();
    for (let i = 0; i < 1_000_000; i++) t.add(1 + (i % 1000), 1);
    assert.equal(bins(), after10k);
  });
  test('merging two halves gives the same statistics as one accumulation', () => {
    const whole = new TimerAggregator();
    const a = new TimerAggregator();
    const b = new TimerAggregator();
    for (let i = 1; i <= 2000; i++) {
      whole.add(i, 1);
      (i % 2 ? a : b).add(i, 1);
    }
    a.merge(b);
    assert.deepEqual(a.toPoint(id), whole.toPoint(id));
  });
  test('a sampled timer weighs each sample 1/rate', () => {
    const t = new TimerAggregator();
    t.add(10, 4);
    assert.equal(t.toPoint(id).count, 4);
    assert.equal(t.toPoint(id).sum, 40);
  });
});

describe('set', () => {
  test('counts distinct members exactly up to the cap', () => {
    const s = new SetAggregator();
    for (let i = 0; i < 1000; i++) s.add(hashSetMember(`user-${i % 250}`));
    assert.equal(s.toPoint(id).value, 250);
  });
  test('past the cap it estimates within 3 % with bounded memory', () => {
    const s = new SetAggregator();
    const n = SET_EXACT_CAP * 5;
    for (let i = 0; i < n; i++) s.add(hashSetMember(`member-${i}`));
    assert.equal(s.members, undefined, 'switched to the sketch');
    const est = s.toPoint(id).value;
    assert.ok(Math.abs(est - n) / n < 0.03, `estimate ${est} for ${n}`);
  });
});
